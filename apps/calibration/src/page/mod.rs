//! The study page, drawn from a [`StudySummary`] alone: no file is read and nothing is computed
//! beyond ratios and normalisations, so a change to the page re-renders in a second.
//!
//! One [`Palette`] styles every method on every figure (EM scale, LCW-like, DNN, DNN-LGK, BNN,
//! RE, oracle, truth). Anything a preset did not produce (an empty list, a `None`, a method that
//! was not run) gives a "not run in this preset" line instead of a figure, because a figure
//! without data fails `report::check` and says nothing to the reader.
//!
//! Each section of the page is drawn by a file of its own, in page order: [`intro`] (the text at
//! the top and the acceptance table), [`inputs`], [`response`], [`prediction`], [`pulls`],
//! [`spectrum`], [`truth`], [`scan`] and [`training`]; [`draw`] holds what they share.

mod draw;
mod explain;
mod inputs;
mod intro;
mod prediction;
mod pulls;
mod response;
mod scan;
mod spectrum;
mod training;
mod truth;

use crate::error::{Error, Result};
use crate::metrics::MethodMetrics;
use crate::study::summary::{Scan, StudySummary};
use draw::count;
pub use explain::explain_page;
use report::{Figure, Page, Palette, Section, Style};
use scan::scan_section;
use std::path::{Path, PathBuf};

/// Every method the page draws, in the order of legends and of the palette's registration.
const METHODS: [&str; 8] = ["EM scale", "LCW-like", "DNN", "DNN-LGK", "BNN", "RE", "oracle", "truth"];

/// The look of every method the page draws, one slot of the style cycle each; "LCW" and "EM"
/// are the baselines' short names.
pub fn palette() -> Palette {
    Palette::new()
        .slot("BNN", 0)
        .slot("LCW-like", 1)
        .slot("LCW", 1)
        .slot("DNN", 2)
        .slot("RE", 3)
        .slot("oracle", 4)
        .slot("DNN-LGK", 5)
        .slot("truth", 6)
        .slot("EM scale", 7)
        .slot("EM", 7)
}

/// The label a figure shows for a name of the summary when `description.models` does not say.
const DEFAULT_LABELS: [(&str, &str); 5] =
    [("dnn", "DNN"), ("dnn-lgk", "DNN-LGK"), ("bnn", "BNN"), ("re", "RE"), ("lcw", "LCW-like")];

/// The kinds of uncertainty, in the order of the panels.
const KINDS: [&str; 3] = ["tot", "stat", "syst"];

/// Writes the page to `dir/index.html` atomically (a reader never sees half a page) and returns
/// its path; the directory is created when missing.
pub fn write(summary: &StudySummary, dir: &Path) -> Result<PathBuf> {
    write_page(&page(summary), dir)
}

fn write_page(page: &Page, dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::invalid(format!("{}: cannot create the directory: {e}", dir.display())))?;
    let path = dir.join("index.html");
    let html = page.to_html();
    nn::io::write_atomically(&path, |tmp| std::fs::write(tmp, html.as_bytes()).map_err(|e| e.to_string()))?;
    Ok(path)
}

/// `calibration scan`'s page: the scan's figure and table alone, written to `dir/index.html`.
pub fn write_scan(scan: &Scan, data: &str, dir: &Path) -> Result<PathBuf> {
    let pal = palette();
    let page = Page::new("Topo-cluster calibration: the training-size scan")
        .intro(&format!(
            "BNNs trained on the first N clusters of {data}, for N = {}; every network predicts the same test clusters.",
            scan.points.iter().map(|p| count(p.n_train)).collect::<Vec<_>>().join(", ")
        ))
        .section(scan_section(&pal, Some(scan)))
        .footer(&format!("Written by calibration scan, sigmagrad {}.", env!("CARGO_PKG_VERSION")));
    write_page(&page, dir)
}

/// The whole page: the opening text, the acceptance table and one section per topic.
pub fn page(summary: &StudySummary) -> Page {
    let ctx = Ctx::new(summary);
    let d = &summary.description;
    let mut page = Page::new(&format!("Topo-cluster calibration with uncertainties: the {} study", d.preset))
        .intro(&ctx.run_text())
        .intro(&ctx.figures_text())
        .section(ctx.acceptance_section())
        .section(ctx.inputs_section())
        .section(ctx.response_section())
        .section(ctx.prediction_section())
        .section(ctx.calibration_section())
        .section(ctx.spectrum_section())
        .section(ctx.truth_section())
        .section(ctx.scan_section())
        .section(ctx.training_section());
    if !summary.evaluation.notes.is_empty() {
        page = page.section(Section::new("Notes of the evaluation").list(&summary.evaluation.notes));
    }
    page.footer(&format!(
        "Written by calibration study from metrics.json: preset {}, sigmagrad {}, {}.",
        d.preset, d.version, d.date
    ))
}

/// The summary and the one palette of the page.
struct Ctx<'a> {
    s: &'a StudySummary,
    pal: Palette,
}

impl<'a> Ctx<'a> {
    fn new(s: &'a StudySummary) -> Ctx<'a> {
        Ctx { s, pal: palette() }
    }

    /// The label of a method: the summary's models map prediction names ("bnn") to labels
    /// ("BNN"); labels and baseline names pass through.
    fn label(&self, name: &str) -> String {
        let key = name.trim();
        let models = &self.s.description.models;
        if let Some(m) = models.iter().find(|m| m.method.eq_ignore_ascii_case(key) || m.label.eq_ignore_ascii_case(key))
        {
            return m.label.clone();
        }
        if let Some((_, l)) = DEFAULT_LABELS.iter().find(|(n, _)| n.eq_ignore_ascii_case(key)) {
            return l.to_string();
        }
        METHODS.iter().find(|m| m.eq_ignore_ascii_case(key)).map_or_else(|| key.to_string(), |m| m.to_string())
    }

    fn style(&self, name: &str) -> Style {
        self.pal.style(&self.label(name))
    }

    /// The evaluated methods in legend order (known methods first, in [`METHODS`] order).
    fn methods(&self) -> Vec<&'a MethodMetrics> {
        let mut m: Vec<&MethodMetrics> = self.s.evaluation.methods.iter().collect();
        m.sort_by_key(|x| order(&self.label(&x.name)));
        m
    }

    /// A line through binned values with a marker at each, one legend entry (empty label: none).
    fn line_points(&self, f: Figure, name: &str, x: &[f64], y: &[f64]) -> Figure {
        let (label, style) = (if name.is_empty() { String::new() } else { self.label(name) }, self.style(name));
        f.line(&label, x, y).style(style).points(&label, x, y).style(style)
    }
}

/// A line saying that a part of the study did not run, in place of its figure.
fn not_run(s: Section, what: &str) -> Section {
    s.paragraph(&format!("Not run in this preset: {what}."))
}

/// The position of a method in legends: the known ones in [`METHODS`] order, others after.
fn order(label: &str) -> usize {
    METHODS.iter().position(|m| m.eq_ignore_ascii_case(label)).unwrap_or(METHODS.len())
}

fn sorted<T>(items: &[T], key: impl Fn(&T) -> usize) -> Vec<&T> {
    let mut v: Vec<&T> = items.iter().collect();
    v.sort_by_key(|t| key(t));
    v
}
