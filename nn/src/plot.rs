//! Dependency-free SVG plots, so that a training run or a calibration study can leave figures
//! next to its numbers without Python. The output is self-contained SVG text: it can be saved as
//! a file, or inlined into an HTML report (ids are derived from the content and the position in a
//! grid, so several figures on one page do not clash).
//!
//! Data are never a reason to fail: non-finite points, and non-positive points on a log axis, are
//! skipped (a line is broken there); slices of different lengths are truncated to the shortest.

use std::fmt::{self, Write as _};
use std::path::Path;

/// Okabe-Ito colours: distinguishable under the common colour-vision deficiencies and in
/// greyscale print. Yellow is left out: it vanishes on white.
const PALETTE: [&str; 7] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
const FONT: &str = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\"";
/// Approximate advance of one character at the tick font size, for layout without font metrics.
const CHAR_W: f64 = 6.6;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Line,
    Dashed,
    Points,
    Band,
    ErrorBars,
    Histogram,
}

#[derive(Debug, Clone)]
struct Series {
    label: String,
    kind: Kind,
    /// x, or the bin edges of a histogram.
    x: Vec<f64>,
    /// y, or the lower edge of a band.
    y: Vec<f64>,
    /// The upper edge of a band, or the error of error bars; empty otherwise.
    z: Vec<f64>,
}

/// Where the legend goes. `Auto` (the default) takes the corner of the plot area that hides the
/// least data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legend {
    Auto,
    TopRight,
    TopLeft,
    BottomRight,
    BottomLeft,
    Off,
}

/// A figure, built by chaining; nothing is computed until [`Figure::to_svg`].
#[derive(Debug, Clone)]
pub struct Figure {
    title: String,
    x_label: String,
    y_label: String,
    log_x: bool,
    log_y: bool,
    x_range: Option<(f64, f64)>,
    y_range: Option<(f64, f64)>,
    series: Vec<Series>,
    hlines: Vec<f64>,
    vlines: Vec<f64>,
    width: u32,
    height: u32,
    legend: Legend,
}

impl Figure {
    pub fn new(title: &str) -> Figure {
        Figure {
            title: title.to_string(),
            x_label: String::new(),
            y_label: String::new(),
            log_x: false,
            log_y: false,
            x_range: None,
            y_range: None,
            series: Vec::new(),
            hlines: Vec::new(),
            vlines: Vec::new(),
            width: 640,
            height: 420,
            legend: Legend::Auto,
        }
    }
    /// Sizes below 160 x 120 leave no room for the plot area and are raised to that.
    pub fn size(self, width: u32, height: u32) -> Figure {
        Figure { width: width.max(160), height: height.max(120), ..self }
    }
    pub fn x_label(self, s: &str) -> Figure {
        Figure { x_label: s.to_string(), ..self }
    }
    pub fn y_label(self, s: &str) -> Figure {
        Figure { y_label: s.to_string(), ..self }
    }
    pub fn log_x(self, on: bool) -> Figure {
        Figure { log_x: on, ..self }
    }
    pub fn log_y(self, on: bool) -> Figure {
        Figure { log_y: on, ..self }
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
    fn push(mut self, label: &str, kind: Kind, x: &[f64], y: &[f64], z: Option<&[f64]>) -> Figure {
        let n = x.len().min(y.len()).min(z.map_or(usize::MAX, |z| z.len()));
        let z = z.map_or(Vec::new(), |z| z[..n].to_vec());
        self.series.push(Series { label: label.to_string(), kind, x: x[..n].to_vec(), y: y[..n].to_vec(), z });
        self
    }
    /// A solid polyline; here and in the other series, slices of unequal length are truncated to
    /// the shortest.
    pub fn line(self, label: &str, x: &[f64], y: &[f64]) -> Figure {
        self.push(label, Kind::Line, x, y, None)
    }
    pub fn dashed(self, label: &str, x: &[f64], y: &[f64]) -> Figure {
        self.push(label, Kind::Dashed, x, y, None)
    }
    pub fn points(self, label: &str, x: &[f64], y: &[f64]) -> Figure {
        self.push(label, Kind::Points, x, y, None)
    }
    /// A semi-transparent filled region between `lo` and `hi`, drawn under the other series.
    pub fn band(self, label: &str, x: &[f64], lo: &[f64], hi: &[f64]) -> Figure {
        self.push(label, Kind::Band, x, lo, Some(hi))
    }
    /// Markers at (x, y) with symmetric vertical bars of half-length `err`.
    pub fn error_bars(self, label: &str, x: &[f64], y: &[f64], err: &[f64]) -> Figure {
        self.push(label, Kind::ErrorBars, x, y, Some(err))
    }
    /// A step outline over bins; `edges` should have one more entry than `counts`, otherwise the
    /// longer one is truncated to match.
    pub fn histogram(mut self, label: &str, edges: &[f64], counts: &[f64]) -> Figure {
        let n = counts.len().min(edges.len().saturating_sub(1));
        let (x, y) = (edges[..edges.len().min(n + 1)].to_vec(), counts[..n].to_vec());
        self.series.push(Series { label: label.to_string(), kind: Kind::Histogram, x, y, z: Vec::new() });
        self
    }
    pub fn hline(mut self, y: f64) -> Figure {
        self.hlines.push(y);
        self
    }
    pub fn vline(mut self, x: f64) -> Figure {
        self.vlines.push(x);
        self
    }

    pub fn to_svg(&self) -> String {
        let (w, h) = (self.width, self.height);
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n"
        );
        self.render(&mut s, 0);
        s.push_str("</svg>\n");
        s
    }

    pub fn save(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.to_svg())
    }

    /// Every coordinate the automatic range must show, per axis.
    fn extent(&self) -> (Vec<f64>, Vec<f64>) {
        let (mut xs, mut ys) = (self.vlines.clone(), self.hlines.clone());
        for s in &self.series {
            xs.extend(&s.x);
            match s.kind {
                Kind::Band => ys.extend(s.y.iter().chain(&s.z)),
                Kind::ErrorBars => ys.extend(s.y.iter().zip(&s.z).flat_map(|(y, e)| [y - e.abs(), y + e.abs()])),
                Kind::Histogram => ys.extend(s.y.iter().chain(if self.log_y { None } else { Some(&0.0) })),
                _ => ys.extend(&s.y),
            }
        }
        (xs, ys)
    }

    /// Draws the figure into `out` in its own coordinates; `index` keeps ids unique in a grid.
    fn render(&self, out: &mut String, index: usize) {
        let (xs, ys) = self.extent();
        let (x, y) = (Axis::new(&xs, self.x_range, self.log_x), Axis::new(&ys, self.y_range, self.log_y));
        let (w, h) = (self.width as f64, self.height as f64);
        let y_ticks = y.ticks(((h - 90.0) / 45.0).clamp(2.0, 10.0) as usize);
        let y_labels = y.labels(&y_ticks);
        let widest = y_labels.iter().map(|l| visible_len(l)).max().unwrap_or(1) as f64;
        // The left margin makes room for the widest tick label, so the axis label never overlaps.
        let left = 12.0 + if self.y_label.is_empty() { 0.0 } else { 18.0 } + widest * CHAR_W;
        let top = if self.title.is_empty() { 14.0 } else { 34.0 };
        let bottom = if self.x_label.is_empty() { 30.0 } else { 50.0 };
        let f = Frame { x, y, left, top, w: (w - left - 16.0).max(10.0), h: (h - top - bottom).max(10.0) };
        let x_ticks = f.x.ticks((f.w / 90.0).clamp(2.0, 10.0) as usize);
        let (right, base) = (left + f.w, top + f.h);
        let id = format!("sg{:016x}-{index}", self.fingerprint());
        let area = format!("x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"", P(left), P(top), P(f.w), P(f.h));
        let _ = writeln!(out, "<g class=\"figure\" {FONT}>\n<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>");
        let _ = writeln!(out, "<clipPath id=\"{id}\"><rect {area}/></clipPath>");

        // Light grid lines under the data; the frame and ticks go on top.
        let mut grid = String::new();
        for &t in &x_ticks {
            let _ = write!(grid, "M{} {}V{}", P(f.px(t)), P(top), P(base));
        }
        for &t in &y_ticks {
            let _ = write!(grid, "M{} {}H{}", P(left), P(f.py(t)), P(right));
        }
        let _ = writeln!(out, "<path class=\"grid\" d=\"{grid}\" stroke=\"#e6e6e6\" fill=\"none\"/>");
        let _ = writeln!(out, "<g clip-path=\"url(#{id})\">");
        let mut ink = Vec::new();
        // Bands first so that they never hide a line.
        let series = self.series.iter().enumerate();
        let (bands, others): (Vec<_>, Vec<_>) = series.partition(|(_, s)| s.kind == Kind::Band);
        for (i, s) in bands.into_iter().chain(others) {
            draw_series(out, s, PALETTE[i % PALETTE.len()], &f, &mut ink);
        }
        let mut refs = String::new();
        for &v in self.hlines.iter().filter(|&&v| f.y.ok(v)) {
            let _ = write!(refs, "M{} {}H{}", P(left), P(f.py(v)), P(right));
        }
        for &v in self.vlines.iter().filter(|&&v| f.x.ok(v)) {
            let _ = write!(refs, "M{} {}V{}", P(f.px(v)), P(top), P(base));
        }
        if !refs.is_empty() {
            let _ = writeln!(
                out,
                "<path class=\"ref\" d=\"{refs}\" stroke=\"#555555\" stroke-dasharray=\"4 3\" fill=\"none\"/>"
            );
        }
        let _ = writeln!(out, "</g>\n<rect class=\"plot-area\" {area} fill=\"none\" stroke=\"#222222\"/>");

        // Major ticks with labels; unlabelled minor ticks at 2..9 x 10^k on log axes.
        let mut marks = String::new();
        for (&t, label) in x_ticks.iter().zip(f.x.labels(&x_ticks)) {
            let _ = write!(marks, "M{} {}v5", P(f.px(t)), P(base));
            text(out, f.px(t), base + 17.0, "font-size=\"11\" text-anchor=\"middle\"", &label);
        }
        for (&t, label) in y_ticks.iter().zip(&y_labels) {
            let _ = write!(marks, "M{} {}h-5", P(left), P(f.py(t)));
            text(out, left - 8.0, f.py(t) + 4.0, "font-size=\"11\" text-anchor=\"end\"", label);
        }
        for t in f.x.minor() {
            let _ = write!(marks, "M{} {}v3", P(f.px(t)), P(base));
        }
        for t in f.y.minor() {
            let _ = write!(marks, "M{} {}h-3", P(left), P(f.py(t)));
        }
        let _ = writeln!(out, "<path class=\"ticks\" d=\"{marks}\" stroke=\"#222222\" fill=\"none\"/>");

        let centre = left + f.w / 2.0;
        let bold = "font-size=\"14\" font-weight=\"bold\" text-anchor=\"middle\"";
        for (label, x, y, attrs) in [
            (&self.title, centre, 22.0, bold.to_string()),
            (&self.x_label, centre, h - 12.0, "font-size=\"12\" text-anchor=\"middle\"".to_string()),
            (
                &self.y_label,
                14.0,
                top + f.h / 2.0,
                format!("font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 {})\"", P(top + f.h / 2.0)),
            ),
        ] {
            if !label.is_empty() {
                text(out, x, y, &attrs, &escape(label));
            }
        }
        self.draw_legend(out, &f, &ink);
        out.push_str("</g>\n");
    }

    fn draw_legend(&self, out: &mut String, f: &Frame, ink: &[(f64, f64)]) {
        let entries: Vec<(usize, &Series)> =
            self.series.iter().enumerate().filter(|(_, s)| !s.label.is_empty()).collect();
        if entries.is_empty() || self.legend == Legend::Off {
            return;
        }
        let widest = entries.iter().map(|(_, s)| s.label.chars().count()).max().unwrap_or(0) as f64;
        let (bw, bh) = (widest * CHAR_W + 40.0, entries.len() as f64 * 17.0 + 8.0);
        let corner = |at: Legend| {
            let bx =
                if matches!(at, Legend::TopLeft | Legend::BottomLeft) { f.left + 8.0 } else { f.left + f.w - bw - 8.0 };
            let by = if matches!(at, Legend::BottomLeft | Legend::BottomRight) {
                f.top + f.h - bh - 8.0
            } else {
                f.top + 8.0
            };
            (bx, by)
        };
        let hidden = |at: Legend| {
            let (bx, by) = corner(at);
            ink.iter()
                .filter(|(x, y)| *x >= bx - 4.0 && *x <= bx + bw + 4.0 && *y >= by - 4.0 && *y <= by + bh + 4.0)
                .count()
        };
        let corners = [Legend::TopRight, Legend::TopLeft, Legend::BottomRight, Legend::BottomLeft];
        // min_by_key keeps the first of equals: top right when nothing is hidden anywhere.
        let at = if self.legend == Legend::Auto {
            corners.into_iter().min_by_key(|&c| hidden(c)).unwrap_or(Legend::TopRight)
        } else {
            self.legend
        };
        let (bx, by) = corner(at);
        let _ = writeln!(out, "<g class=\"legend\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#bbbbbb\"/>", P(bx), P(by), P(bw), P(bh));
        for (row, (i, s)) in entries.iter().enumerate() {
            let c = PALETTE[i % PALETTE.len()];
            let (gx, gy) = (bx + 8.0, by + 12.5 + row as f64 * 17.0);
            let (mx, my) = (P(gx + 10.0), P(gy));
            let line = format!("<path d=\"M{} {my}h20\" stroke=\"{c}\" stroke-width=\"2\"", P(gx));
            let glyph = match s.kind {
                Kind::Line | Kind::Histogram => format!("{line}/>"),
                Kind::Dashed => format!("{line} stroke-dasharray=\"5 3\"/>"),
                Kind::Points => format!("<circle cx=\"{mx}\" cy=\"{my}\" r=\"3\" fill=\"{c}\"/>"),
                Kind::Band => format!("<rect x=\"{}\" y=\"{}\" width=\"20\" height=\"10\" fill=\"{c}\" fill-opacity=\"0.3\"/>", P(gx), P(gy - 5.0)),
                Kind::ErrorBars => format!("<path d=\"M{mx} {}v12\" stroke=\"{c}\" stroke-width=\"1.5\"/><circle cx=\"{mx}\" cy=\"{my}\" r=\"3\" fill=\"{c}\"/>", P(gy - 6.0)),
            };
            out.push_str(&glyph);
            text(out, gx + 28.0, gy + 4.0, "font-size=\"11\"", &escape(&s.label));
        }
        out.push_str("</g>\n");
    }

    /// A content hash (FNV-1a), so that clip-path ids differ between figures inlined in one page
    /// yet the output of a figure stays deterministic.
    fn fingerprint(&self) -> u64 {
        let mut h: u64 = 0xcbf29ce484222325;
        let mut eat = |bytes: &[u8]| bytes.iter().for_each(|&b| h = (h ^ b as u64).wrapping_mul(0x100000001b3));
        eat(self.title.as_bytes());
        eat(&[self.width.to_le_bytes(), self.height.to_le_bytes()].concat());
        for s in &self.series {
            eat(s.label.as_bytes());
            s.x.iter().chain(&s.y).chain(&s.z).for_each(|v| eat(&v.to_bits().to_le_bytes()));
        }
        h
    }
}

fn text(out: &mut String, x: f64, y: f64, attrs: &str, body: &str) {
    let _ = writeln!(out, "<text x=\"{}\" y=\"{}\" {attrs}>{body}</text>", P(x), P(y));
}

/// A coordinate printed with at most two decimals; anything non-finite prints as 0 so that no
/// "NaN" ever reaches the SVG (callers pass finite values; this is the last line of defence).
struct P(f64);

impl fmt::Display for P {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = format!("{:.2}", if self.0.is_finite() { self.0 } else { 0.0 });
        match s.trim_end_matches('0').trim_end_matches('.') {
            "-0" | "" => f.write_str("0"),
            t => f.write_str(t),
        }
    }
}

/// The plot area: data coordinates to pixels.
struct Frame {
    x: Axis,
    y: Axis,
    left: f64,
    top: f64,
    w: f64,
    h: f64,
}

impl Frame {
    fn px(&self, v: f64) -> f64 {
        self.left + self.x.frac(v) * self.w
    }
    fn py(&self, v: f64) -> f64 {
        self.top + (1.0 - self.y.frac(v)) * self.h
    }
    /// The pixel position of a point that can be shown, else None.
    fn at(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        (self.x.ok(x) && self.y.ok(y)).then(|| (self.px(x), self.py(y)))
    }
}

/// Path data for polylines broken at `None`, recording the pixels it covers ("ink") for the
/// legend placement.
struct Pen<'a> {
    d: String,
    last: Option<(f64, f64)>,
    ink: &'a mut Vec<(f64, f64)>,
}

impl Pen<'_> {
    fn to(&mut self, p: Option<(f64, f64)>) {
        if let Some((x, y)) = p {
            let _ = write!(self.d, "{}{} {}", if self.last.is_some() { 'L' } else { 'M' }, P(x), P(y));
            let (x0, y0) = self.last.unwrap_or((x, y));
            let steps = ((x - x0).hypot(y - y0) / 4.0).ceil().clamp(1.0, 400.0) as usize;
            self.ink.extend(
                (1..=steps).map(|k| (x0 + (x - x0) * k as f64 / steps as f64, y0 + (y - y0) * k as f64 / steps as f64)),
            );
        }
        self.last = p;
    }
}

fn draw_series(out: &mut String, s: &Series, c: &str, f: &Frame, ink: &mut Vec<(f64, f64)>) {
    let n = s.y.len();
    let mut pen = Pen { d: String::new(), last: None, ink };
    match s.kind {
        Kind::Line | Kind::Dashed => {
            (0..n).for_each(|i| pen.to(f.at(s.x[i], s.y[i])));
            let dash = if s.kind == Kind::Dashed { " stroke-dasharray=\"6 4\"" } else { "" };
            let _ = writeln!(out, "<path class=\"series\" d=\"{}\" stroke=\"{c}\" stroke-width=\"2\" fill=\"none\" stroke-linejoin=\"round\"{dash}/>", pen.d);
        }
        Kind::Points | Kind::ErrorBars => {
            let _ = write!(out, "<g class=\"series\" fill=\"{c}\">");
            for (i, (x, y)) in (0..n).filter_map(|i| Some((i, f.at(s.x[i], s.y[i])?))) {
                if s.kind == Kind::ErrorBars && s.z[i].is_finite() {
                    // On a log axis a bar reaching zero or below is cut at the axis.
                    let lo = if f.y.ok(s.y[i] - s.z[i].abs()) { f.py(s.y[i] - s.z[i].abs()) } else { f.top + f.h };
                    pen.to(Some((x, lo)));
                    pen.to(Some((x, f.py(s.y[i] + s.z[i].abs()))));
                    pen.to(None);
                }
                pen.ink.push((x, y));
                let _ = write!(out, "<circle cx=\"{}\" cy=\"{}\" r=\"3\"/>", P(x), P(y));
            }
            if !pen.d.is_empty() {
                let _ = write!(out, "<path d=\"{}\" stroke=\"{c}\" stroke-width=\"1.5\" fill=\"none\"/>", pen.d);
            }
            out.push_str("</g>\n");
        }
        Kind::Band => {
            // Each run of valid points becomes one closed polygon: along hi, back along lo.
            let mut run: Vec<(f64, f64, f64)> = Vec::new();
            for i in 0..=n {
                if let Some(((x, lo), (_, hi))) =
                    (i < n).then(|| f.at(s.x[i], s.y[i]).zip(f.at(s.x[i], s.z[i]))).flatten()
                {
                    run.push((x, lo, hi));
                    continue;
                }
                if run.len() >= 2 {
                    run.iter().for_each(|&(x, _, hi)| pen.to(Some((x, hi))));
                    run.iter().rev().for_each(|&(x, lo, _)| pen.to(Some((x, lo))));
                    pen.d.push('Z');
                    // The inside counts as ink too: sample each vertical cut.
                    for &(x, lo, hi) in &run {
                        let steps = ((lo - hi).abs() / 6.0).ceil().clamp(1.0, 200.0) as usize;
                        pen.ink.extend((0..=steps).map(|k| (x, hi + (lo - hi) * k as f64 / steps as f64)));
                    }
                }
                pen.to(None);
                run.clear();
            }
            let _ = writeln!(
                out,
                "<path class=\"series\" d=\"{}\" fill=\"{c}\" fill-opacity=\"0.3\" stroke=\"none\"/>",
                pen.d
            );
        }
        Kind::Histogram => {
            // A step outline rising from the baseline at the first bin and falling back to it after
            // the last one; a count that cannot be shown (zero on a log axis) sits on the baseline.
            let base = if f.y.log { f.y.lo } else { 0.0 };
            for i in 0..n {
                let (a, b) = (s.x[i], s.x[i + 1]);
                if !(f.x.ok(a) && f.x.ok(b)) {
                    pen.to(None);
                    continue;
                }
                let v = if f.y.ok(s.y[i]) { s.y[i] } else { base };
                if pen.last.is_none() {
                    pen.to(f.at(a, base));
                }
                pen.to(f.at(a, v));
                pen.to(f.at(b, v));
                if i + 1 == n || !f.x.ok(s.x[i + 2]) {
                    pen.to(f.at(b, base));
                }
            }
            let _ = writeln!(
                out,
                "<path class=\"series\" d=\"{}\" stroke=\"{c}\" stroke-width=\"1.8\" fill=\"none\"/>",
                pen.d
            );
        }
    }
}

/// One axis: its range, and whether it is logarithmic.
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Axis {
    fn new(values: &[f64], fixed: Option<(f64, f64)>, log: bool) -> Axis {
        let usable = |v: f64| v.is_finite() && (!log || v > 0.0);
        if let Some((lo, hi)) = fixed.filter(|&(lo, hi)| usable(lo) && usable(hi) && lo < hi) {
            return Axis { lo, hi, log };
        }
        let t = |v: f64| if log { v.log10() } else { v };
        let (mut lo, mut hi) = values
            .iter()
            .filter(|&&v| usable(v))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(t(v)), b.max(t(v))));
        if lo > hi {
            (lo, hi) = (0.0, 1.0);
        } else if lo == hi {
            let pad = if log { 0.5 } else { (lo.abs() * 0.1).max(0.5) };
            (lo, hi) = (lo - pad, hi + pad);
        } else {
            // A 5% margin, except below a data minimum of exactly zero (counts, fractions).
            let pad = 0.05 * hi - 0.05 * lo;
            (lo, hi) = (if !log && lo == 0.0 { 0.0 } else { lo - pad }, hi + pad);
        }
        // Keep the ends finite, and positive on a log axis (10^-330 would underflow to 0).
        let (lo, hi) = if log {
            (lo.clamp(-307.0, 307.0), hi.clamp(-306.0, 308.0))
        } else {
            (lo.max(-f64::MAX), hi.min(f64::MAX))
        };
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else if log {
            (lo, lo + 1.0)
        } else {
            (0.0, 1.0)
        };
        let back = |v: f64| if log { 10f64.powf(v) } else { v };
        Axis { lo: back(lo), hi: back(hi), log }
    }
    fn ok(&self, v: f64) -> bool {
        v.is_finite() && (!self.log || v > 0.0)
    }
    /// Position in [0, 1] across the axis, limited to far outside so SVG numbers stay sane.
    fn frac(&self, v: f64) -> f64 {
        let f = if self.log {
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            // Halved so that a range of +-f64::MAX does not overflow.
            (0.5 * v - 0.5 * self.lo) / (0.5 * self.hi - 0.5 * self.lo)
        };
        f.clamp(-1e4, 1e4)
    }
    fn ticks(&self, target: usize) -> Vec<f64> {
        if self.log {
            log_ticks(self.lo, self.hi)
        } else {
            nice_ticks(self.lo, self.hi, target)
        }
    }
    fn labels(&self, ticks: &[f64]) -> Vec<String> {
        if self.log && ticks.iter().all(|&t| is_decade(t)) {
            ticks.iter().map(|&t| decade_label(t)).collect()
        } else {
            format_ticks(ticks)
        }
    }
    /// 2..9 x 10^k on a log axis of at most six decades (beyond that they are clutter).
    fn minor(&self) -> Vec<f64> {
        if !self.log || self.hi / self.lo > 1e6 {
            return Vec::new();
        }
        let (a, b) = (self.lo.log10().floor() as i32, self.hi.log10().ceil() as i32);
        let all = (a..b).flat_map(|k| (2..10).map(move |m| m as f64 * 10f64.powi(k)));
        all.filter(|&v| v >= self.lo && v <= self.hi).collect()
    }
}

fn is_decade(v: f64) -> bool {
    (v.log10() - v.log10().round()).abs() < 1e-9
}

/// Decades as 0.01 ... 1000 inside that span, and as 10 with a superscript exponent outside it.
fn decade_label(v: f64) -> String {
    let k = v.log10().round() as i32;
    if (-2..=3).contains(&k) {
        format_ticks(&[v]).pop().unwrap_or_default()
    } else {
        format!("10<tspan dy=\"-5\" font-size=\"9\">{k}</tspan>")
    }
}

/// Round tick values ("1, 2, 5 x 10^k" steps) inside [lo, hi], about `target` of them.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return if lo.is_finite() && lo == hi { vec![lo] } else { Vec::new() };
    }
    if !(hi - lo).is_finite() {
        return vec![lo, hi];
    }
    // Candidate steps m x 10^k around the raw step; the one whose tick count is nearest the
    // target wins (ties to the coarser), as long as it gives at least two ticks.
    let k0 = ((hi - lo) / target.max(1) as f64).log10().floor().clamp(-400.0, 400.0) as i32;
    let candidates = (k0 - 1..=k0 + 1).flat_map(|k| [1.0, 2.0, 5.0].map(|m| (m, k)));
    let best = candidates
        .map(|(m, k)| {
            let t = ticks_with_step(lo, hi, m, k);
            (t.len().abs_diff(target.max(2)), std::cmp::Reverse(k * 10 + m as i32), t)
        })
        .filter(|(_, _, t)| t.len() >= 2)
        .min_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    best.map(|(_, _, t)| t).unwrap_or_else(|| vec![lo, hi])
}

/// The multiples of m x 10^k inside [lo, hi], computed as i x m / 10^-k for negative k so that
/// e.g. 0.3 comes out as the double nearest 0.3.
fn ticks_with_step(lo: f64, hi: f64, m: f64, k: i32) -> Vec<f64> {
    let value = |i: f64| if k < 0 { i * m / 10f64.powi(-k) } else { i * m * 10f64.powi(k) };
    let step = value(1.0);
    let (first, last) = ((lo / step - 1e-9).ceil(), (hi / step + 1e-9).floor());
    // NaN (a zero or infinite step) and absurd counts both give nothing.
    if (last - first).is_nan() || last - first >= 1000.0 {
        return Vec::new();
    }
    let mut ticks = Vec::new();
    let mut i = first;
    while i <= last {
        ticks.push(if i == 0.0 { 0.0 } else { value(i) });
        i += 1.0;
    }
    ticks
}

/// Ticks for a log axis: the decades inside [lo, hi] (every n-th one when there are many); when
/// the range holds fewer than two decades, 1, 2, 5 x 10^k, and failing those, linear round ticks.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return Vec::new();
    }
    let (a, b) = ((lo.log10() - 1e-9).ceil() as i32, (hi.log10() + 1e-9).floor() as i32);
    let every = ((b - a) / 8 + 1).max(1);
    let decades: Vec<f64> = (a..=b).filter(|k| k.rem_euclid(every) == 0).map(|k| 10f64.powi(k)).collect();
    if decades.len() >= 2 {
        return decades;
    }
    let k0 = lo.log10().floor() as i32;
    let dense: Vec<f64> = (k0..=b + 1)
        .flat_map(|k| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(k)))
        .filter(|&v| v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9))
        .collect();
    if dense.len() >= 2 {
        dense
    } else {
        nice_ticks(lo, hi, 4)
    }
}

/// Labels for a set of ticks with one shared style: scientific ("2.5e6") when the magnitudes are
/// very large or very small, otherwise fixed with just enough decimals to tell the ticks apart.
pub fn format_ticks(ticks: &[f64]) -> Vec<String> {
    let biggest = ticks.iter().fold(0.0f64, |m, t| m.max(t.abs()));
    if biggest >= 1e5 || (biggest > 0.0 && biggest < 1e-3) {
        return ticks.iter().map(|&t| if t == 0.0 { "0".to_string() } else { format!("{t:e}") }).collect();
    }
    // Fewest decimals (up to 8) for which every tick prints exactly as its short form.
    let decimals = (0..=8)
        .find(|&d| {
            ticks.iter().all(|t| {
                (format!("{t:.d$}").parse::<f64>().unwrap_or(f64::NAN) - t).abs() <= 1e-9 * biggest.max(1e-300)
            })
        })
        .unwrap_or(8);
    ticks.iter().map(|&t| if t == 0.0 { "0".to_string() } else { format!("{t:.decimals$}") }).collect()
}

/// Several figures in a grid of `columns` (at least one), row by row, as one SVG; each cell is as
/// large as the largest figure.
pub fn grid(figures: &[Figure], columns: usize) -> String {
    let columns = columns.clamp(1, figures.len().max(1));
    let rows = figures.len().div_ceil(columns);
    let cw = figures.iter().map(|f| f.width).max().unwrap_or(0);
    let ch = figures.iter().map(|f| f.height).max().unwrap_or(0);
    let (w, h) = (cw * columns as u32, ch * rows as u32);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n"
    );
    for (i, f) in figures.iter().enumerate() {
        let (x, y) = ((i % columns) as u32 * cw, (i / columns) as u32 * ch);
        let _ = writeln!(s, "<svg x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{}\">", f.width, f.height);
        f.render(&mut s, i);
        s.push_str("</svg>\n");
    }
    s.push_str("</svg>\n");
    s
}

/// Characters a label shows, not counting markup such as a superscript's tspan.
fn visible_len(s: &str) -> usize {
    let mut inside = false;
    s.chars()
        .filter(|&c| {
            inside = (inside || c == '<') && c != '>';
            !inside && c != '>'
        })
        .count()
}

/// Escapes text for XML character data and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
