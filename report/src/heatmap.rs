//! 2-D histograms drawn as coloured cells, with a colour scale bar beside the plot area.
//!
//! The colour map runs from dark purple through blue-green to yellow, sampled from the
//! perceptually uniform "viridis" map: its lightness rises monotonically, so it reads in greyscale
//! and for colour-blind readers, and empty cells (left white) stand apart from the lowest counts.

use std::fmt::Write as _;

use crate::axis::ticks::{self, AxisTicks};
use crate::axis::{resolvable, Axis};
use crate::frame::{Frame, Ink, Rect};
use crate::palette::Colour;
use crate::svg::{self, Anchor};
use crate::text::Font;
use crate::xml::P;

/// Sample points of the colour map, evenly spaced from the lowest value to the highest.
const MAP: [Colour; 9] = [
    Colour(0x44, 0x01, 0x54),
    Colour(0x47, 0x2D, 0x7B),
    Colour(0x3B, 0x52, 0x8B),
    Colour(0x2C, 0x72, 0x8E),
    Colour(0x21, 0x91, 0x8C),
    Colour(0x28, 0xAE, 0x80),
    Colour(0x5E, 0xC9, 0x62),
    Colour(0xAD, 0xDC, 0x30),
    Colour(0xFD, 0xE7, 0x25),
];

/// The colour at `t` in [0, 1] along the map.
pub fn colour_at(t: f64) -> Colour {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let pos = t * (MAP.len() - 1) as f64;
    let i = (pos.floor() as usize).min(MAP.len() - 2);
    MAP[i].mix(MAP[i + 1], pos - i as f64)
}

/// A 2-D histogram: bin edges along x and y, and one value per cell, x-major (cell (ix, iy) at
/// `values[ix * ny + iy]`, ny = `y_edges.len() - 1`). Zero and non-finite cells are left blank, and
/// so are cells that cannot be placed (non-positive on a log axis or colour scale).
#[derive(Clone, Debug)]
pub struct Heatmap {
    pub(crate) x_edges: Vec<f64>,
    pub(crate) y_edges: Vec<f64>,
    pub(crate) values: Vec<f64>,
    pub(crate) log: bool,
    pub(crate) label: String,
    pub(crate) range: Option<(f64, f64)>,
}

impl Heatmap {
    /// Cells beyond `values.len()` are empty; extra values are ignored.
    pub fn new(x_edges: &[f64], y_edges: &[f64], values: &[f64]) -> Heatmap {
        let cells = x_edges.len().saturating_sub(1) * y_edges.len().saturating_sub(1);
        let mut v = values[..values.len().min(cells)].to_vec();
        v.resize(cells, 0.0);
        Heatmap {
            x_edges: x_edges.to_vec(),
            y_edges: y_edges.to_vec(),
            values: v,
            log: false,
            label: String::new(),
            range: None,
        }
    }
    /// The 2-D histogram of the points (x[i], y[i]) on the given edges.
    pub fn from_points(x: &[f64], y: &[f64], x_edges: &[f64], y_edges: &[f64]) -> Heatmap {
        Heatmap::new(x_edges, y_edges, &crate::bins::histogram_2d(x, y, x_edges, y_edges))
    }
    /// A logarithmic colour scale: for counts spanning decades.
    pub fn log(self, on: bool) -> Heatmap {
        Heatmap { log: on, ..self }
    }
    /// The label of the colour scale bar, e.g. "clusters".
    pub fn label(self, s: &str) -> Heatmap {
        Heatmap { label: s.to_string(), ..self }
    }
    /// A fixed colour range; values outside take the end colours. Unusable ranges are ignored.
    pub fn range(self, lo: f64, hi: f64) -> Heatmap {
        Heatmap { range: Some((lo, hi)), ..self }
    }

    fn ny(&self) -> usize {
        self.y_edges.len().saturating_sub(1)
    }

    /// Whether a cell value is drawn at all.
    fn shown(&self, v: f64) -> bool {
        v.is_finite() && v != 0.0 && (!self.log || v > 0.0)
    }

    /// The colour axis: exactly the shown values' range (no margin), or the fixed range.
    pub(crate) fn colour_axis(&self) -> Axis {
        let usable = |v: f64| v.is_finite() && (!self.log || v > 0.0);
        if let Some((lo, hi)) = self.range.filter(|&(lo, hi)| usable(lo) && usable(hi) && resolvable(lo, hi)) {
            return Axis { lo, hi, log: self.log };
        }
        let (lo, hi) = self
            .values
            .iter()
            .filter(|&&v| self.shown(v))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        // Values that differ only by rounding are one value: a colour scale across 1 ± 1e-14 would
        // have no ticks to show.
        match (lo.is_finite(), resolvable(lo, hi)) {
            (true, true) => Axis { lo, hi, log: self.log },
            // One value: a factor of two, or half its size, either side (the ends kept finite, and
            // positive on a log scale).
            (true, false) if self.log => {
                Axis { lo: (lo / 2.0).max(lo.min(f64::MIN_POSITIVE)), hi: (lo * 2.0).min(f64::MAX), log: true }
            }
            (true, false) => {
                let pad = lo.abs().max(0.5) * 0.5;
                Axis { lo: (lo - pad).max(-f64::MAX), hi: (lo + pad).min(f64::MAX), log: false }
            }
            _ if self.log => Axis { lo: 1.0, hi: 10.0, log: true },
            _ => Axis { lo: 0.0, hi: 1.0, log: false },
        }
    }

    /// The x and y extents: the finite edges.
    pub(crate) fn extent(&self) -> (Vec<f64>, Vec<f64>) {
        let finite = |e: &[f64]| e.iter().copied().filter(|v| v.is_finite()).collect::<Vec<_>>();
        (finite(&self.x_edges), finite(&self.y_edges))
    }

    /// Draws the shown cells, returning how many were drawn.
    pub(crate) fn draw(&self, out: &mut String, f: &Frame, ink: &mut Ink) -> usize {
        let colours = self.colour_axis();
        let ny = self.ny();
        let mut cells = String::new();
        let mut drawn = 0;
        for (i, &v) in self.values.iter().enumerate() {
            let (ix, iy) = (i / ny.max(1), i % ny.max(1));
            let (x0, x1, y0, y1) = (self.x_edges[ix], self.x_edges[ix + 1], self.y_edges[iy], self.y_edges[iy + 1]);
            if !self.shown(v) || ![x0, x1].iter().all(|&e| f.x.ok(e)) || ![y0, y1].iter().all(|&e| f.y.ok(e)) {
                continue;
            }
            let (a, b) = (f.px(x0).min(f.px(x1)), f.px(x0).max(f.px(x1)));
            let (c, d) = (f.py(y0).min(f.py(y1)), f.py(y0).max(f.py(y1)));
            // Cells entirely outside the plot area are clipped anyway: leave them out of the file.
            let cell = Rect { x: a, y: c, w: b - a, h: d - c };
            if !cell.overlaps(&f.area, 0.0) {
                continue;
            }
            let colour = if colours.ok(v) { colour_at(colours.frac(v)) } else { colour_at(0.0) };
            let _ = write!(
                cells,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{colour}\"/>",
                P(a),
                P(c),
                P(cell.w),
                P(cell.h)
            );
            ink.rect(cell);
            drawn += 1;
        }
        if drawn > 0 {
            let _ = writeln!(out, "<g class=\"data heatmap\" shape-rendering=\"crispEdges\">{cells}</g>");
        }
        drawn
    }
}

/// The colour scale bar's geometry: a bar of this width, its tick labels and its label.
const BAR_GAP: f64 = 14.0;
const BAR_WIDTH: f64 = 14.0;

/// The ticks of the colour bar for a plot area `height` pixels tall.
pub(crate) fn bar_ticks(map: &Heatmap, height: f64) -> AxisTicks {
    ticks::fit(&map.colour_axis(), height, false)
}

/// The width the colour bar takes to the right of the plot area.
pub(crate) fn bar_width(map: &Heatmap, height: f64) -> f64 {
    let label = if map.label.is_empty() { 0.0 } else { Font::LABEL.line_height() + 4.0 };
    BAR_GAP + BAR_WIDTH + 6.0 + bar_ticks(map, height).widest() + 8.0 + label
}

/// Draws the colour bar beside `area`; `id` must be unique in the document (the gradient's id).
pub(crate) fn draw_bar(out: &mut String, map: &Heatmap, area: &Rect, id: &str) {
    let axis = map.colour_axis();
    let x0 = area.right() + BAR_GAP;
    let mut stops = String::new();
    for k in 0..MAP.len() {
        let t = k as f64 / (MAP.len() - 1) as f64;
        let _ = write!(stops, "<stop offset=\"{}\" stop-color=\"{}\"/>", P(t), colour_at(t));
    }
    let _ = writeln!(
        out,
        "<g class=\"colour-bar\"><defs><linearGradient id=\"{id}\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">{stops}</linearGradient></defs>\n\
         <rect x=\"{}\" y=\"{}\" width=\"{BAR_WIDTH}\" height=\"{}\" fill=\"url(#{id})\" stroke=\"#222222\" stroke-width=\"0.8\"/>",
        P(x0),
        P(area.y),
        P(area.h)
    );
    let t = bar_ticks(map, area.h);
    let mut marks = String::new();
    let y_of = |v: f64| area.y + (1.0 - axis.frac(v)) * area.h;
    for tick in &t.major {
        let y = y_of(tick.value);
        let _ = write!(marks, "M{} {}h4", P(x0 + BAR_WIDTH), P(y));
        svg::text(
            out,
            x0 + BAR_WIDTH + 6.0,
            y + 4.0,
            Font::TICK,
            Anchor::Start,
            &tick.label,
            " class=\"tick-label colour\"",
        );
    }
    for &v in &t.minor {
        let _ = write!(marks, "M{} {}h2", P(x0 + BAR_WIDTH), P(y_of(v)));
    }
    let _ = writeln!(out, "<path d=\"{marks}\" stroke=\"#222222\" fill=\"none\"/>");
    if let Some(k) = t.exponent {
        let label = format!("\u{d7}10^{{{k}}}");
        svg::text(out, x0, area.y - 6.0, Font::TICK, Anchor::Start, &label, "");
    }
    if !map.label.is_empty() {
        let x = x0 + BAR_WIDTH + 6.0 + t.widest() + 8.0 + Font::LABEL.size * 0.8;
        svg::vertical_text(out, x, area.y + area.h / 2.0, Font::LABEL, &map.label);
    }
    out.push_str("</g>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_colour_map_gets_lighter() {
        let lightness = |c: Colour| 0.2126 * c.0 as f64 + 0.7152 * c.1 as f64 + 0.0722 * c.2 as f64;
        let mut last = -1.0;
        for k in 0..=50 {
            let l = lightness(colour_at(k as f64 / 50.0));
            assert!(l > last, "not monotonic at {k}");
            last = l;
        }
        assert_eq!(colour_at(f64::NAN), MAP[0]);
    }

    #[test]
    fn colour_axis_spans_the_shown_values() {
        let h = Heatmap::new(&[0.0, 1.0, 2.0], &[0.0, 1.0], &[0.0, 5.0]);
        assert_eq!(h.colour_axis(), Axis { lo: 2.5, hi: 7.5, log: false });
        let h = Heatmap::new(&[0.0, 1.0, 2.0], &[0.0, 1.0], &[2.0, 200.0]).log(true);
        assert_eq!(h.colour_axis(), Axis { lo: 2.0, hi: 200.0, log: true });
        let empty = Heatmap::new(&[0.0, 1.0], &[0.0, 1.0], &[]);
        assert_eq!(empty.values, [0.0]);
        assert_eq!(empty.colour_axis(), Axis { lo: 0.0, hi: 1.0, log: false });
    }
}
