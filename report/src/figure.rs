//! [`Figure`]: one plot panel, built by chaining. Nothing is computed until it is drawn, so a
//! figure can be cloned, restyled and placed in a [`crate::Grid`] or above a ratio panel.
//!
//! Data are never a reason to fail: non-finite points, and non-positive points on a log axis, are
//! skipped (a line is broken there); slices of different lengths are truncated to the shortest;
//! a figure with nothing to draw says "no data".

use crate::axis::{Axis, Scale};
use crate::chart::Chart;
use crate::heatmap::Heatmap;
use crate::palette::Style;
use crate::series::{Kind, Series};

/// Where the legend goes. `Auto` (the default) takes a corner of the plot area that hides no data
/// (top right first), and moves outside to the right of the plot area when every corner would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Legend {
    #[default]
    Auto,
    TopRight,
    TopLeft,
    BottomRight,
    BottomLeft,
    /// Outside the plot area, to its right.
    Right,
    /// Outside the plot area, under the x-axis label, in as many columns as fit.
    Below,
    Off,
}

/// A shaded x interval, e.g. a detector region or a gap in the training data.
#[derive(Clone, Debug)]
pub(crate) struct Span {
    pub lo: f64,
    pub hi: f64,
    pub label: String,
}

/// Text at a data position.
#[derive(Clone, Debug)]
pub(crate) struct Label {
    pub x: f64,
    pub y: f64,
    pub text: String,
}

/// One plot panel. See the crate documentation for an example.
#[derive(Debug, Clone)]
pub struct Figure {
    pub(crate) title: String,
    pub(crate) x_label: String,
    pub(crate) y_label: String,
    pub(crate) x_scale: Scale,
    pub(crate) y_scale: Scale,
    pub(crate) x_range: Option<(f64, f64)>,
    pub(crate) y_range: Option<(f64, f64)>,
    pub(crate) series: Vec<Series>,
    pub(crate) hlines: Vec<f64>,
    pub(crate) vlines: Vec<f64>,
    pub(crate) spans: Vec<Span>,
    pub(crate) diagonal: bool,
    pub(crate) heatmap: Option<Heatmap>,
    pub(crate) notes: Vec<String>,
    pub(crate) labels: Vec<Label>,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) legend: Legend,
}

impl Figure {
    /// An empty 640 x 420 figure. Titles, labels and legend entries take label markup:
    /// `E^{EM}_{clus} [GeV]` writes a superscript and a subscript.
    pub fn new(title: &str) -> Figure {
        Figure {
            title: title.to_string(),
            x_label: String::new(),
            y_label: String::new(),
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            x_range: None,
            y_range: None,
            series: Vec::new(),
            hlines: Vec::new(),
            vlines: Vec::new(),
            spans: Vec::new(),
            diagonal: false,
            heatmap: None,
            notes: Vec::new(),
            labels: Vec::new(),
            width: 640,
            height: 420,
            legend: Legend::Auto,
        }
    }
    /// Sizes below 200 x 150 leave no room for the plot area and are raised to that.
    pub fn size(self, width: u32, height: u32) -> Figure {
        Figure { width: width.max(200), height: height.max(150), ..self }
    }
    /// The x-axis label, with its unit in brackets by convention: "E_{dep} [GeV]".
    pub fn x_label(self, s: &str) -> Figure {
        Figure { x_label: s.to_string(), ..self }
    }
    pub fn y_label(self, s: &str) -> Figure {
        Figure { y_label: s.to_string(), ..self }
    }
    pub fn log_x(self, on: bool) -> Figure {
        Figure { x_scale: if on { Scale::Log } else { Scale::Linear }, ..self }
    }
    pub fn log_y(self, on: bool) -> Figure {
        Figure { y_scale: if on { Scale::Log } else { Scale::Linear }, ..self }
    }
    /// A fixed range; an unusable one (not finite, empty, or not positive on a log axis) is
    /// ignored in favour of the automatic range. Data outside are clipped.
    pub fn x_range(self, lo: f64, hi: f64) -> Figure {
        Figure { x_range: Some((lo, hi)), ..self }
    }
    pub fn y_range(self, lo: f64, hi: f64) -> Figure {
        Figure { y_range: Some((lo, hi)), ..self }
    }
    pub fn legend(self, at: Legend) -> Figure {
        Figure { legend: at, ..self }
    }

    fn push(mut self, s: Series) -> Figure {
        self.series.push(s);
        self
    }
    /// A polyline, stroked in its style's dash pattern (solid for the first style of the cycle).
    /// Here and in the other series, slices of unequal length are truncated to the shortest, and
    /// an empty label leaves the series out of the legend.
    pub fn line(self, label: &str, x: &[f64], y: &[f64]) -> Figure {
        self.push(Series::points(label, Kind::Line, x, y, None, None))
    }
    /// A polyline that is always dashed, whatever its style: for a second quantity of one method.
    pub fn dashed(self, label: &str, x: &[f64], y: &[f64]) -> Figure {
        self.push(Series::points(label, Kind::Dashed, x, y, None, None))
    }
    /// Markers in the style's shape.
    pub fn points(self, label: &str, x: &[f64], y: &[f64]) -> Figure {
        self.push(Series::points(label, Kind::Points, x, y, None, None))
    }
    /// A semi-transparent filled region between `lo` and `hi`, drawn under the other series.
    pub fn band(self, label: &str, x: &[f64], lo: &[f64], hi: &[f64]) -> Figure {
        let mut s = Series::points(label, Kind::Band, x, lo, Some(lo), Some(hi));
        s.y.clear();
        self.push(s)
    }
    /// Markers at (x, y) with symmetric vertical bars of half-length `err`.
    pub fn error_bars(self, label: &str, x: &[f64], y: &[f64], err: &[f64]) -> Figure {
        let n = y.len().min(err.len());
        let lo: Vec<f64> = (0..n).map(|i| y[i] - err[i].abs()).collect();
        let hi: Vec<f64> = (0..n).map(|i| y[i] + err[i].abs()).collect();
        self.push(Series::points(label, Kind::ErrorBars, x, y, Some(&lo), Some(&hi)))
    }
    /// Markers at (x, y) with bars down by `down` and up by `up`.
    pub fn error_bars_asymmetric(self, label: &str, x: &[f64], y: &[f64], down: &[f64], up: &[f64]) -> Figure {
        let n = y.len().min(down.len()).min(up.len());
        let lo: Vec<f64> = (0..n).map(|i| y[i] - down[i].abs()).collect();
        let hi: Vec<f64> = (0..n).map(|i| y[i] + up[i].abs()).collect();
        self.push(Series::points(label, Kind::ErrorBars, x, y, Some(&lo), Some(&hi)))
    }
    /// A step outline over bins; `edges` should have one more entry than `counts`, otherwise the
    /// longer one is truncated to match.
    pub fn histogram(self, label: &str, edges: &[f64], counts: &[f64]) -> Figure {
        self.push(Series::bins(label, Kind::Histogram, edges, &[counts]))
    }
    /// A step outline with a vertical error bar of half-length `err` at each bin centre.
    pub fn histogram_with_errors(self, label: &str, edges: &[f64], counts: &[f64], err: &[f64]) -> Figure {
        let n = counts.len().min(err.len());
        let lo: Vec<f64> = (0..n).map(|i| counts[i] - err[i].abs()).collect();
        let hi: Vec<f64> = (0..n).map(|i| counts[i] + err[i].abs()).collect();
        self.push(Series::bins(label, Kind::Histogram, edges, &[&counts[..n], &lo, &hi]))
    }
    /// A filled band between `lo` and `hi` per bin, in steps: e.g. the 16-84% quantiles of an
    /// ensemble's histograms around their median.
    pub fn histogram_band(self, label: &str, edges: &[f64], lo: &[f64], hi: &[f64]) -> Figure {
        self.push(Series::bins(label, Kind::StepBand, edges, &[lo, hi]))
    }
    /// The style of the series added last (by default each series takes the next style of the
    /// cycle that no explicitly styled series of the figure uses).
    pub fn style(mut self, style: Style) -> Figure {
        if let Some(s) = self.series.last_mut() {
            s.style = Some(style);
        }
        self
    }
    /// The style [`Style::for_method`] gives `method` (a slot from a hash of the name), for the
    /// series added last; an app that wants its methods apart registers them in a
    /// [`Palette`](crate::Palette) and passes `.style(palette.style(method))` instead.
    pub fn method(self, method: &str) -> Figure {
        self.style(Style::for_method(method))
    }
    /// A horizontal reference line (grey, dashed) across the plot area.
    pub fn hline(mut self, y: f64) -> Figure {
        self.hlines.push(y);
        self
    }
    /// A vertical reference line (grey, dashed).
    pub fn vline(mut self, x: f64) -> Figure {
        self.vlines.push(x);
        self
    }
    /// A lightly shaded x interval, labelled in the legend when `label` is not empty.
    pub fn shade_x(mut self, lo: f64, hi: f64, label: &str) -> Figure {
        self.spans.push(Span { lo: lo.min(hi), hi: hi.max(lo), label: label.to_string() });
        self
    }
    /// The line y = x across the plot area (dashed), as on calibration and prediction-vs-truth
    /// plots; it bends when only one axis is logarithmic, as y = x does.
    pub fn diagonal(self) -> Figure {
        Figure { diagonal: true, ..self }
    }
    /// A 2-D histogram under the other series, with its colour scale bar to the right of the plot
    /// area. Without a fixed range the axes span the histogram's edges exactly. One per figure: a
    /// second replaces the first.
    pub fn heatmap(self, map: Heatmap) -> Figure {
        Figure { heatmap: Some(map), ..self }
    }
    /// A line of text in a box inside the plot area, in a corner that hides no data (outside to
    /// the right when there is none): "Gaussian core fit: mean 0.01, width 0.98". Notes stack.
    pub fn note(mut self, text: &str) -> Figure {
        self.notes.push(text.to_string());
        self
    }
    /// Text whose start sits at the data position (x, y); it is not moved out of the way of data.
    pub fn text(mut self, x: f64, y: f64, text: &str) -> Figure {
        self.labels.push(Label { x, y, text: text.to_string() });
        self
    }

    /// The figure as a standalone SVG document (see [`Chart::to_svg`]).
    pub fn to_svg(&self) -> String {
        Chart::to_svg(self)
    }
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        Chart::save(self, path.as_ref())
    }

    pub(crate) fn log_x_on(&self) -> bool {
        self.x_scale == Scale::Log
    }
    pub(crate) fn log_y_on(&self) -> bool {
        self.y_scale == Scale::Log
    }

    /// Every coordinate the automatic ranges must show, per axis.
    pub(crate) fn extent(&self) -> (Vec<f64>, Vec<f64>) {
        let (mut xs, mut ys) = (self.vlines.clone(), self.hlines.clone());
        for s in &self.series {
            xs.extend(s.xs());
            ys.extend(s.ys(self.log_y_on()));
        }
        xs.extend(self.spans.iter().flat_map(|s| [s.lo, s.hi]));
        xs.extend(self.labels.iter().map(|l| l.x));
        ys.extend(self.labels.iter().map(|l| l.y));
        (xs, ys)
    }

    /// The x axis this figure would have on its own.
    pub(crate) fn own_x_axis(&self) -> Axis {
        match (&self.heatmap, self.x_range) {
            (Some(map), None) => exact(&map.extent().0, self.log_x_on()),
            _ => Axis::new(&self.extent().0, self.x_range, self.log_x_on()),
        }
    }
    /// The y axis this figure would have on its own.
    pub(crate) fn own_y_axis(&self) -> Axis {
        match (&self.heatmap, self.y_range) {
            (Some(map), None) => exact(&map.extent().1, self.log_y_on()),
            _ => Axis::new(&self.extent().1, self.y_range, self.log_y_on()),
        }
    }

    /// The style of every series: explicit ones as given, the others the next slots of the cycle
    /// that no explicit style uses.
    pub(crate) fn styles(&self) -> Vec<Style> {
        let taken: Vec<Style> = self.series.iter().filter_map(|s| s.style).collect();
        let free: Vec<Style> =
            (0..Style::CYCLE).map(Style::nth).filter(|st| !taken.iter().any(|t| t.colour == st.colour)).collect();
        let mut next = 0;
        self.series
            .iter()
            .map(|s| {
                s.style.unwrap_or_else(|| {
                    let st = if free.is_empty() { Style::nth(next) } else { free[next % free.len()] };
                    next += 1;
                    st
                })
            })
            .collect()
    }
}

/// The exact range of the usable values (the edges of a heatmap), without a margin.
fn exact(values: &[f64], log: bool) -> Axis {
    let usable: Vec<f64> = values.iter().copied().filter(|&v| v.is_finite() && (!log || v > 0.0)).collect();
    let (lo, hi) = usable.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    Axis::new(&usable, (lo < hi).then_some((lo, hi)), log)
}
