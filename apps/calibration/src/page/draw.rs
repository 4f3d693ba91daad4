//! The small pieces every section draws with: bin centres and values, checks that a figure has
//! something to show, heat maps, and the page's way of writing counts, numbers and durations.

use crate::metrics::binned::BinSummary;
use crate::study::summary::Scatter;
use report::{Cell, Figure, Heatmap, RatioFigure, Section};

/// A figure with panels underneath, or one without when there is nothing to put under it.
/// (Built and consumed at once, so the size difference of the variants costs nothing.)
#[allow(clippy::large_enum_variant)]
pub(super) enum Plot {
    Ratio(RatioFigure),
    Single(Figure),
}

impl Plot {
    pub(super) fn add_to(self, s: Section, caption: &str) -> Section {
        match self {
            Plot::Ratio(f) => s.figure(f, caption),
            Plot::Single(f) => s.figure(f, caption),
        }
    }
}

/// A 2-D histogram of a [`Scatter`] with a log colour scale, its correlation and median ratio
/// written on it; None when it holds no counts.
pub(super) fn heatmap_figure(sc: &Scatter, title: &str, diagonal: bool) -> Option<Figure> {
    let h = &sc.hist;
    let usable = |e: &[f64], log: bool| e.len() >= 2 && e.iter().all(|v| v.is_finite() && (!log || *v > 0.0));
    let any = h.counts.iter().any(|c| c.is_finite() && *c > 0.0);
    if !any || !usable(&h.x_edges, sc.log_x) || !usable(&h.y_edges, sc.log_y) {
        return None;
    }
    let map = Heatmap::new(&h.x_edges, &h.y_edges, &h.counts).log(true).label("clusters per bin");
    let mut f =
        Figure::new(title).x_label(&sc.x_label).y_label(&sc.y_label).log_x(sc.log_x).log_y(sc.log_y).heatmap(map);
    if diagonal {
        f = f.diagonal();
    }
    if let Some(r) = sc.correlation {
        let what = if sc.log_x && sc.log_y { "correlation of logs" } else { "correlation" };
        f = f.note(&format!("{what}: {r:.3}"));
    }
    if let Some(m) = sc.median_ratio {
        f = f.note(&format!("median y/x: {m:.3}"));
    }
    Some(f)
}

/// The centre of a bin: geometric on a log axis.
pub(super) fn centre(lo: f64, hi: f64, log: bool) -> f64 {
    if log && lo > 0.0 && hi > 0.0 {
        (lo * hi).sqrt()
    } else {
        0.5 * (lo + hi)
    }
}

pub(super) fn edge_centres(edges: &[f64], log: bool) -> Vec<f64> {
    edges.windows(2).map(|w| centre(w[0], w[1], log)).collect()
}

/// Bin centres and one value per bin; an empty bin is NaN, which the figure skips.
pub(super) fn bin_points(
    bins: &[BinSummary],
    log: bool,
    value: impl Fn(&BinSummary) -> Option<f64>,
) -> (Vec<f64>, Vec<f64>) {
    bins.iter().map(|b| (centre(b.lo, b.hi, log), value(b).unwrap_or(f64::NAN))).unzip()
}

/// A method's resolution over LCW-like's in the bins both have.
pub(super) fn ratio_points(bins: &[BinSummary], lcw: &[BinSummary], log: bool) -> (Vec<f64>, Vec<f64>) {
    bins.iter()
        .map(|b| {
            let base = lcw.iter().find(|l| l.lo == b.lo && l.hi == b.hi).and_then(|l| l.resolution);
            let r = match (b.resolution, base) {
                (Some(a), Some(c)) if c > 0.0 => a / c,
                _ => f64::NAN,
            };
            (centre(b.lo, b.hi, log), r)
        })
        .unzip()
}

pub(super) fn unwrap_nan(v: &[Option<f64>]) -> Vec<f64> {
    v.iter().map(|x| x.unwrap_or(f64::NAN)).collect()
}

/// Whether at least one point can be drawn on these axes.
pub(super) fn has_data(x: &[f64], y: &[f64], log_x: bool, log_y: bool) -> bool {
    let ok = |v: f64, log: bool| v.is_finite() && (!log || v > 0.0);
    x.iter().zip(y).any(|(&a, &b)| ok(a, log_x) && ok(b, log_y))
}

/// Whether a histogram has a finite positive bin on usable edges.
pub(super) fn has_hist(edges: &[f64], counts: &[f64]) -> bool {
    has_hist_scaled(edges, counts, false)
}

pub(super) fn has_hist_scaled(edges: &[f64], counts: &[f64], log_x: bool) -> bool {
    edges.len() >= 2
        && edges.iter().all(|e| e.is_finite() && (!log_x || *e > 0.0))
        && counts.iter().take(edges.len() - 1).any(|c| c.is_finite() && *c > 0.0)
}

/// `share` times the normal density N(x; mean, sigma²).
pub(super) fn gauss(x: f64, mean: f64, sigma: f64, share: f64) -> f64 {
    let z = (x - mean) / sigma;
    share * (-0.5 * z * z).exp() / (sigma * (2.0 * std::f64::consts::PI).sqrt())
}

pub(super) fn opt_cell(v: Option<f64>, decimals: usize) -> Cell {
    v.map_or_else(|| Cell::from("–"), |x| Cell::num(x, decimals))
}

/// A count with thin spaces between groups of three digits: 766 417.
pub(super) fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

/// A bin edge without trailing zeros: 0.3, 2, 100.
pub(super) fn num(v: f64) -> String {
    if v.is_finite() && v == v.round() && v.abs() < 1e9 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Seconds as "2 h 5 min", "4 min 12 s" or "38 s".
pub(super) fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "an unknown time".to_string();
    }
    let s = seconds.round() as u64;
    match s {
        0..=59 => format!("{:.0} s", seconds),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_durations_read_well() {
        assert_eq!(count(766417), "766\u{2009}417");
        assert_eq!(count(12), "12");
        assert_eq!(count(1_000_000), "1\u{2009}000\u{2009}000");
        assert_eq!(duration(38.2), "38 s");
        assert_eq!(duration(252.0), "4 min 12 s");
        assert_eq!(duration(7500.0), "2 h 5 min");
        assert_eq!(duration(f64::NAN), "an unknown time");
        assert_eq!(num(0.3), "0.3");
        assert_eq!(num(100.0), "100");
    }

    #[test]
    fn ratios_match_bins_and_skip_empty_ones() {
        let b = |lo: f64, hi: f64, r: Option<f64>| BinSummary {
            lo,
            hi,
            n: 100,
            median: Some(1.0),
            q16: None,
            q84: None,
            resolution: r,
        };
        let m = [b(0.3, 0.6, Some(0.3)), b(0.6, 1.0, None), b(1.0, 2.0, Some(0.2))];
        let lcw = [b(0.3, 0.6, Some(0.4)), b(0.6, 1.0, Some(0.3))];
        let (x, y) = ratio_points(&m, &lcw, true);
        assert!((x[0] - (0.18f64).sqrt()).abs() < 1e-12);
        assert!((y[0] - 0.75).abs() < 1e-12);
        assert!(y[1].is_nan() && y[2].is_nan());
    }
}
