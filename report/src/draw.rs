//! Draws one series into a plot area: SVG elements marked `class="data ..."` (what
//! [`crate::check`] counts) and the ink they leave, for legend placement. Points that cannot be
//! shown (non-finite, or non-positive on a log axis) are skipped and break a line there.

use std::fmt::Write as _;

use crate::frame::{Frame, Ink};
use crate::palette::{Dash, Style};
use crate::series::{Kind, Series};
use crate::xml::P;

/// The radius of point markers, in pixels.
pub(crate) const MARKER_R: f64 = 3.2;

/// Path data for polylines broken wherever a point is missing.
struct Pen<'a> {
    d: String,
    last: Option<(f64, f64)>,
    ink: &'a mut Ink,
}

impl<'a> Pen<'a> {
    fn new(ink: &'a mut Ink) -> Pen<'a> {
        Pen { d: String::new(), last: None, ink }
    }
    fn to(&mut self, p: Option<(f64, f64)>) {
        self.step(p, false);
    }
    /// Like [`Pen::to`], but skips a point within half a pixel of the last one drawn: the line
    /// then passes within half a pixel of it anyway, and a curve of 10^5 points stays a path of
    /// a few thousand.
    fn near(&mut self, p: Option<(f64, f64)>) {
        self.step(p, true);
    }
    fn step(&mut self, p: Option<(f64, f64)>, thin: bool) {
        if let (true, Some((x, y)), Some((lx, ly))) = (thin, p, self.last) {
            if (x - lx).abs() < 0.5 && (y - ly).abs() < 0.5 {
                return;
            }
        }
        if let Some((x, y)) = p {
            let _ = write!(self.d, "{}{} {}", if self.last.is_some() { 'L' } else { 'M' }, P(x), P(y));
            self.ink.segment(self.last.unwrap_or((x, y)), (x, y));
        }
        self.last = p;
    }
    fn lift(&mut self) {
        self.last = None;
    }
    fn close(&mut self) {
        self.d.push('Z');
        self.last = None;
    }
}

fn dash_attr(dash: Dash) -> String {
    dash.dasharray().map_or(String::new(), |d| format!(" stroke-dasharray=\"{d}\""))
}

/// Draws `s` in `style`; returns whether anything was drawn.
pub(crate) fn series(out: &mut String, s: &Series, style: Style, f: &Frame, ink: &mut Ink) -> bool {
    let c = style.colour;
    match s.kind {
        Kind::Line | Kind::Dashed => {
            let mut pen = Pen::new(ink);
            (0..s.y.len()).for_each(|i| pen.near(f.at(s.x[i], s.y[i])));
            let dash = if s.kind == Kind::Dashed { Dash::Dashed } else { style.dash };
            emit(out, &pen.d, &format!(
                "<path class=\"data line\" d=\"{}\" stroke=\"{c}\" stroke-width=\"2\" fill=\"none\" stroke-linejoin=\"round\"{}/>",
                pen.d,
                dash_attr(dash)
            ))
        }
        Kind::Points | Kind::ErrorBars => points(out, s, style, f, ink),
        Kind::Band => {
            let mut pen = Pen::new(ink);
            let n = s.lo.len();
            // Each run of valid points becomes one closed polygon: along hi, back along lo.
            let mut run: Vec<(f64, f64, f64)> = Vec::new();
            for i in 0..=n {
                if let Some(((x, lo), (_, hi))) =
                    (i < n).then(|| f.at(s.x[i], s.lo[i]).zip(f.at(s.x[i], s.hi[i]))).flatten()
                {
                    run.push((x, lo, hi));
                    continue;
                }
                polygon(&mut pen, &run);
                run.clear();
            }
            emit(
                out,
                &pen.d,
                &format!(
                    "<path class=\"data band\" d=\"{}\" fill=\"{c}\" fill-opacity=\"0.25\" stroke=\"none\"/>",
                    pen.d
                ),
            )
        }
        Kind::StepBand => {
            let mut pen = Pen::new(ink);
            let mut run: Vec<(f64, f64, f64)> = Vec::new();
            let floor = f.y.lo;
            for i in 0..=s.lo.len() {
                let bin = (i < s.lo.len()).then(|| (s.x[i], s.x[i + 1], s.lo[i], s.hi[i]));
                let usable = bin.filter(|&(a, b, _, hi)| f.x.ok(a) && f.x.ok(b) && f.y.ok(hi));
                if let Some((a, b, lo, hi)) = usable {
                    // A lower edge that cannot be shown (zero on a log axis) sits on the axis.
                    let lo = if f.y.ok(lo) { lo } else { floor };
                    let (plo, phi) = (f.py(lo), f.py(hi));
                    run.push((f.px(a), plo, phi));
                    run.push((f.px(b), plo, phi));
                    continue;
                }
                polygon(&mut pen, &run);
                run.clear();
            }
            emit(
                out,
                &pen.d,
                &format!(
                    "<path class=\"data band\" d=\"{}\" fill=\"{c}\" fill-opacity=\"0.25\" stroke=\"none\"/>",
                    pen.d
                ),
            )
        }
        Kind::Histogram => histogram(out, s, style, f, ink),
    }
}

/// Writes `element` when the path it draws is not empty.
fn emit(out: &mut String, d: &str, element: &str) -> bool {
    if d.is_empty() {
        return false;
    }
    out.push_str(element);
    out.push('\n');
    true
}

/// One closed polygon over a run of (x, lo, hi) pixels, its inside recorded as ink.
fn polygon(pen: &mut Pen, run: &[(f64, f64, f64)]) {
    if run.len() < 2 {
        return;
    }
    // Columns within half a pixel of the last one kept add nothing visible.
    let mut kept: Vec<(f64, f64, f64)> = Vec::with_capacity(run.len().min(4096));
    for (i, &p) in run.iter().enumerate() {
        let close = kept.last().is_some_and(|k: &(f64, f64, f64)| {
            (p.0 - k.0).abs() < 0.5 && (p.1 - k.1).abs() < 0.5 && (p.2 - k.2).abs() < 0.5
        });
        if !close || i + 1 == run.len() {
            kept.push(p);
        }
    }
    let run = &kept[..];
    run.iter().for_each(|&(x, _, hi)| pen.to(Some((x, hi))));
    run.iter().rev().for_each(|&(x, lo, _)| pen.to(Some((x, lo))));
    pen.close();
    for &(x, lo, hi) in run {
        pen.ink.segment((x, hi), (x, lo));
    }
    pen.lift();
}

fn points(out: &mut String, s: &Series, style: Style, f: &Frame, ink: &mut Ink) -> bool {
    let c = style.colour;
    let mut markers = String::new();
    let mut pen = Pen::new(ink);
    // A marker on the same half-pixel as one already drawn would look identical: leave it out.
    let mut seen = std::collections::HashSet::new();
    for i in 0..s.y.len() {
        let Some((x, y)) = f.at(s.x[i], s.y[i]) else { continue };
        if s.kind == Kind::Points && !seen.insert(((2.0 * x).round() as i64, (2.0 * y).round() as i64)) {
            continue;
        }
        if s.kind == Kind::ErrorBars {
            bar(&mut pen, f, x, s.lo[i], s.hi[i]);
        }
        pen.ink.point(x, y);
        markers.push_str(&style.marker.path(x, y, MARKER_R));
    }
    if markers.is_empty() {
        return false;
    }
    let class = if s.kind == Kind::ErrorBars { "errorbars" } else { "points" };
    let _ = write!(out, "<g class=\"data {class}\">");
    if !pen.d.is_empty() {
        let _ = write!(out, "<path d=\"{}\" stroke=\"{c}\" stroke-width=\"1.5\" fill=\"none\"/>", pen.d);
    }
    let paint = if style.marker.is_stroke() {
        format!("stroke=\"{c}\" stroke-width=\"1.6\" fill=\"none\"")
    } else {
        format!("fill=\"{c}\" stroke=\"white\" stroke-width=\"0.6\"")
    };
    let _ = writeln!(out, "<path d=\"{markers}\" {paint}/></g>");
    true
}

/// A vertical error bar at pixel x from `lo` to `hi` (data units); an end that cannot be shown
/// (at or below zero on a log axis) is cut at the bottom of the plot area.
fn bar(pen: &mut Pen, f: &Frame, x: f64, lo: f64, hi: f64) {
    if !(lo.is_finite() && hi.is_finite() && f.y.ok(hi)) {
        return;
    }
    let bottom = if f.y.ok(lo) { f.py(lo) } else { f.base() };
    pen.to(Some((x, bottom)));
    pen.to(Some((x, f.py(hi))));
    pen.lift();
}

fn histogram(out: &mut String, s: &Series, style: Style, f: &Frame, ink: &mut Ink) -> bool {
    let c = style.colour;
    let n = s.y.len();
    // A step outline rising from the baseline at the first bin and falling back to it after the
    // last one; a count that cannot be shown (zero on a log axis) sits on the baseline.
    let base = if f.y.log { f.y.lo } else { 0.0 };
    let mut bar_ink = Ink::default();
    let mut bars = Pen::new(&mut bar_ink);
    let mut pen = Pen::new(ink);
    let mut any = false;
    for i in 0..n {
        let (a, b) = (s.x[i], s.x[i + 1]);
        if !(f.x.ok(a) && f.x.ok(b)) {
            pen.lift();
            continue;
        }
        if f.y.log && !f.y.ok(s.y[i]) {
            // An empty bin on a log axis: down to the axis and a gap, not a line along it.
            if pen.last.is_some() {
                pen.to(f.at(a, base));
            }
            pen.lift();
            continue;
        }
        let v = if f.y.ok(s.y[i]) { s.y[i] } else { base };
        any |= f.y.ok(s.y[i]);
        if pen.last.is_none() {
            pen.to(f.at(a, base));
        }
        pen.to(f.at(a, v));
        pen.to(f.at(b, v));
        if i + 1 == n || !f.x.ok(s.x[i + 2]) {
            pen.to(f.at(b, base));
        }
        if !s.lo.is_empty() && f.y.ok(s.y[i]) {
            let centre = if f.x.log { (a * b).sqrt() } else { 0.5 * a + 0.5 * b };
            bar(&mut bars, f, f.px(centre), s.lo[i], s.hi[i]);
        }
    }
    if !any && f.y.log {
        return false;
    }
    let drawn = emit(
        out,
        &pen.d,
        &format!(
            "<path class=\"data histogram\" d=\"{}\" stroke=\"{c}\" stroke-width=\"1.8\" fill=\"none\"{}/>",
            pen.d,
            dash_attr(style.dash)
        ),
    );
    if drawn && !bars.d.is_empty() {
        let _ = writeln!(
            out,
            "<path class=\"errors\" d=\"{}\" stroke=\"{c}\" stroke-width=\"1.3\" fill=\"none\"/>",
            bars.d
        );
        ink.extend(bar_ink);
    }
    drawn
}
