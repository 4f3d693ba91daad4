//! The data of one series as the figure keeps it: coordinates copied from the caller's slices,
//! truncated to a common length, with error bounds stored as absolute values.

use crate::palette::Style;

/// What a series is drawn as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Line,
    Dashed,
    Points,
    /// A filled region between `lo` and `hi` at each x.
    Band,
    /// Markers at y with bars from `lo` to `hi`.
    ErrorBars,
    /// A step outline over bins; `x` holds the edges, `lo`/`hi` optional error bounds per bin.
    Histogram,
    /// A filled step region between `lo` and `hi` per bin; `x` holds the edges.
    StepBand,
}

impl Kind {
    /// Bands go under everything else, so that they never hide a line.
    pub fn is_fill(self) -> bool {
        matches!(self, Kind::Band | Kind::StepBand)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Series {
    pub label: String,
    pub kind: Kind,
    /// x, or the bin edges of histograms and step bands.
    pub x: Vec<f64>,
    /// y or counts; empty for bands.
    pub y: Vec<f64>,
    /// Lower and upper bounds (bands, error bars); empty when there are none.
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    /// None: the figure assigns the next free style of the cycle.
    pub style: Option<Style>,
}

impl Series {
    /// A series over points: every slice given is truncated to the shortest of them.
    pub fn points(label: &str, kind: Kind, x: &[f64], y: &[f64], lo: Option<&[f64]>, hi: Option<&[f64]>) -> Series {
        let n = [Some(x), Some(y), lo, hi].iter().flatten().map(|s| s.len()).min().unwrap_or(0);
        let cut = |s: Option<&[f64]>| s.map_or(Vec::new(), |s| s[..n].to_vec());
        Series {
            label: label.to_string(),
            kind,
            x: x[..n].to_vec(),
            y: y[..n].to_vec(),
            lo: cut(lo),
            hi: cut(hi),
            style: None,
        }
    }

    /// A series over bins: `edges` has one entry more than the per-bin slices, which are truncated
    /// to the shortest of them and to the number of bins the edges allow.
    pub fn bins(label: &str, kind: Kind, edges: &[f64], per_bin: &[&[f64]]) -> Series {
        let n = per_bin.iter().map(|s| s.len()).min().unwrap_or(0).min(edges.len().saturating_sub(1));
        let x = edges[..if n == 0 { 0 } else { n + 1 }].to_vec();
        let cut = |i: usize| per_bin.get(i).map_or(Vec::new(), |s| s[..n].to_vec());
        let (y, lo, hi) = match kind {
            Kind::StepBand => (Vec::new(), cut(0), cut(1)),
            _ => (cut(0), cut(1), cut(2)),
        };
        Series { label: label.to_string(), kind, x, y, lo, hi, style: None }
    }

    /// Every x coordinate the automatic range must show.
    pub fn xs(&self) -> impl Iterator<Item = f64> + '_ {
        self.x.iter().copied()
    }

    /// Every y coordinate the automatic range must show; histograms include their baseline 0 on a
    /// linear axis.
    pub fn ys(&self, log_y: bool) -> Vec<f64> {
        let mut v: Vec<f64> = self.y.iter().chain(&self.lo).chain(&self.hi).copied().collect();
        if self.kind == Kind::Histogram && !log_y && !v.is_empty() {
            v.push(0.0);
        }
        v
    }
}
