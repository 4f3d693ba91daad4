//! Figures (SVG) and self-contained HTML pages shared by the study apps.
//!
//! Plain slices of `f64` go in, SVG and HTML text comes out; nothing here knows about tensors or
//! networks. A figure is built by chaining and drawn only when asked:
//!
//! ```
//! use report::{Chart, Figure, Palette};
//!
//! let pal = Palette::new().slot("BNN", 0).slot("LCW-like", 1);
//! let e = [0.2, 1.0, 5.0, 25.0, 125.0];
//! let bnn = [0.96, 0.99, 1.0, 1.0, 1.0];
//! let lcw = [0.85, 0.92, 0.97, 0.99, 1.0];
//! let fig = Figure::new("Response linearity")
//!     .x_label("E_{dep} [GeV]")
//!     .y_label("median E/E_{dep}")
//!     .log_x(true)
//!     .line("BNN", &e, &bnn).style(pal.style("BNN"))
//!     .line("LCW-like", &e, &lcw).style(pal.style("LCW-like"))
//!     .hline(1.0);
//! let svg = fig.to_svg();
//! assert!(report::check::check_svg(&svg).data_elements == 2);
//! ```
//!
//! Modules: [`figure`] (one panel), [`ratio`] (panels sharing x), [`grid`] (panels in rows and
//! columns), [`heatmap`] (2-D histograms), [`palette`] (colours per method), [`page`] (HTML
//! reports), [`check`] (the validator for CI), [`bins`] (histogramming helpers) and [`axis`]
//! (ranges and ticks).

pub mod axis;
pub mod bins;
mod chart;
pub mod check;
mod draw;
pub mod figure;
mod frame;
pub mod grid;
pub mod heatmap;
mod layout;
mod legend;
pub mod meta;
pub mod page;
pub mod palette;
mod panel;
mod placed;
pub mod ratio;
mod render;
mod series;
mod svg;
mod text;
mod xml;

pub use axis::ticks::{format_ticks, log_ticks, nice_ticks};
pub use axis::Scale;
pub use chart::Chart;
pub use figure::{Figure, Legend};
pub use grid::{grid, Grid};
pub use heatmap::Heatmap;
pub use page::{Cell, Page, Section, Table, Verdict};
pub use palette::{Colour, Dash, Marker, Palette, Style};
pub use ratio::RatioFigure;
pub use text::plain as plain_text;
pub use xml::escape;

/// The README's examples, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
