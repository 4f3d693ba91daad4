//! Which features, and which ranges of them, separate the flagged clusters from the others.
//!
//! Each *view* is a feature as stored (`identity`) or a derived view of it (`abs`: |clusterEta|,
//! because a detector region sits at both signs of η). For each view:
//!
//! - the **score** is the Kolmogorov–Smirnov distance between the flagged and the other
//!   clusters' distributions: the largest gap between their cumulative distributions, in [0, 1].
//!   It is unchanged by any monotonic transform, so a log-distributed feature needs no log, and
//!   it is 0 when the flagged clusters are distributed as the others;
//! - the **enriched ranges**: the view is cut into bins of equal count over all clusters
//!   ([`range_bins`] of them). A bin is enriched when its flagged count f is at least
//!   [`MIN_ENRICHMENT`] times the count e = F·n/N it would hold if flags were blind to the view
//!   (F flagged of N clusters, n in the bin) and the excess is significant,
//!   f − e ≥ [`MIN_SIGNIFICANCE`]·√e. Adjacent enriched bins are merged into one range, and each
//!   range is a finding with enrichment = (flagged share in it) / (share of all clusters in it).
//!
//! Findings are sorted by their view's score, then by enrichment. Nothing here knows where any
//! generator puts anything: the ranges come from the quantiles of the data.

use crate::columns::CLUSTER_ETA;
use serde::{Deserialize, Serialize};

/// The least enrichment a bin needs to be part of a finding.
pub const MIN_ENRICHMENT: f64 = 1.5;
/// The least excess of flagged clusters in a bin, in Poisson standard deviations of the count
/// expected without enrichment: with 16 views of up to 50 bins, 4σ keeps chance findings out.
pub const MIN_SIGNIFICANCE: f64 = 4.0;
/// Flagged clusters per range bin on average, and the bounds on the number of bins.
const FLAGGED_PER_BIN: usize = 25;
const RANGE_BINS: (usize, usize) = (4, 50);

/// How a view is made from its feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ViewTransform {
    Identity,
    Abs,
}

impl ViewTransform {
    pub fn name(self) -> &'static str {
        match self {
            ViewTransform::Identity => "identity",
            ViewTransform::Abs => "abs",
        }
    }
}

/// One view of a feature: its values for every cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub feature: String,
    pub transform: ViewTransform,
    pub values: Vec<f64>,
}

impl View {
    /// "clusterEta" or "|clusterEta|".
    pub fn name(&self) -> String {
        view_name(&self.feature, self.transform)
    }
}

/// The name of a view: the feature, in bars for `abs`.
pub fn view_name(feature: &str, transform: ViewTransform) -> String {
    match transform {
        ViewTransform::Identity => feature.to_string(),
        ViewTransform::Abs => format!("|{feature}|"),
    }
}

/// Every feature as stored, and |clusterEta| after clusterEta.
pub fn views(features: &[(&str, &[f64])]) -> Vec<View> {
    let mut out = Vec::new();
    for (name, values) in features {
        out.push(View { feature: name.to_string(), transform: ViewTransform::Identity, values: values.to_vec() });
        if *name == CLUSTER_ETA {
            let abs = values.iter().map(|v| v.abs()).collect();
            out.push(View { feature: name.to_string(), transform: ViewTransform::Abs, values: abs });
        }
    }
    out
}

/// One enriched range of one view, as `findings.json` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub feature: String,
    pub transform: ViewTransform,
    /// The range in the feature's own units, after the transform.
    pub low: f64,
    pub high: f64,
    /// Share of the flagged clusters in the range, and of all clusters.
    pub flagged_share: f64,
    pub overall_share: f64,
    pub enrichment: f64,
    /// The view's score (Kolmogorov–Smirnov distance of flagged against the others).
    pub score: f64,
}

impl Finding {
    /// The |η|-like range a finding covers: an `abs` range as it is; an `identity` range on one
    /// side of 0 mirrored to positive values, one across 0 as [0, its largest |value|]. The
    /// acceptance compares clusterEta findings of both views with a window in |η| this way.
    pub fn abs_range(&self) -> (f64, f64) {
        match self.transform {
            ViewTransform::Abs => (self.low, self.high),
            ViewTransform::Identity if self.low >= 0.0 => (self.low, self.high),
            ViewTransform::Identity if self.high <= 0.0 => (-self.high, -self.low),
            ViewTransform::Identity => (0.0, self.low.abs().max(self.high.abs())),
        }
    }
}

/// The score of one view, whether or not it has an enriched range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewScore {
    pub feature: String,
    pub transform: ViewTransform,
    pub score: f64,
}

/// The Kolmogorov–Smirnov distance sup |F_a − F_b| of two samples sorted ascending (ties
/// stepped together); 0 when either is empty.
pub fn ks_distance(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0usize, 0usize, 0.0f64);
    while i < a.len() && j < b.len() {
        let v = a[i].min(b[j]);
        while i < a.len() && a[i] <= v {
            i += 1;
        }
        while j < b.len() && b[j] <= v {
            j += 1;
        }
        d = d.max((i as f64 / na - j as f64 / nb).abs());
    }
    d
}

/// The number of equal-count bins a view is cut into to look for enriched ranges: about
/// [`FLAGGED_PER_BIN`] flagged clusters per bin, within [`RANGE_BINS`].
pub fn range_bins(flagged: usize) -> usize {
    (flagged / FLAGGED_PER_BIN).clamp(RANGE_BINS.0, RANGE_BINS.1)
}

/// Clusters and flagged clusters in a range of a view.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Counts {
    all: f64,
    flagged: f64,
}

/// The enriched ranges of one view (see the module documentation) as (low, high, counts).
fn enriched_ranges(values: &[f64], flagged: &[bool], total_flagged: usize) -> Vec<(f64, f64, Counts)> {
    let edges = stats::equal_count_edges(values, range_bins(total_flagged));
    if edges.len() < 2 {
        return Vec::new();
    }
    let mut bins = vec![Counts { all: 0.0, flagged: 0.0 }; edges.len() - 1];
    let mut total = 0.0f64;
    for (&v, &f) in values.iter().zip(flagged) {
        if let Some(b) = stats::bin_index(&edges, v) {
            bins[b].all += 1.0;
            bins[b].flagged += if f { 1.0 } else { 0.0 };
            total += 1.0;
        }
    }
    let share = total_flagged as f64 / total.max(1.0);
    let enriched = |c: &Counts| {
        let expected = share * c.all;
        expected > 0.0
            && c.flagged >= MIN_ENRICHMENT * expected
            && c.flagged - expected >= MIN_SIGNIFICANCE * expected.sqrt()
    };
    let mut out: Vec<(f64, f64, Counts)> = Vec::new();
    let mut open = false;
    for (b, c) in bins.iter().enumerate() {
        if !enriched(c) {
            open = false;
            continue;
        }
        match out.last_mut() {
            Some(last) if open => {
                last.1 = edges[b + 1];
                last.2.all += c.all;
                last.2.flagged += c.flagged;
            }
            _ => out.push((edges[b], edges[b + 1], *c)),
        }
        open = true;
    }
    out.into_iter()
        .map(|(lo, hi, c)| (lo, hi, Counts { all: c.all / total.max(1.0), flagged: c.flagged / total_flagged as f64 }))
        .collect()
}

/// The findings and the score of every view, given one flag per cluster.
pub fn find(views: &[View], flagged: &[bool]) -> (Vec<Finding>, Vec<ViewScore>) {
    let total_flagged = flagged.iter().filter(|&&f| f).count();
    let mut findings = Vec::new();
    let mut scores = Vec::new();
    for view in views {
        let split = |want: bool| {
            stats::sorted_finite(view.values.iter().zip(flagged).filter(|(_, &f)| f == want).map(|(v, _)| *v))
        };
        let score = ks_distance(&split(true), &split(false));
        scores.push(ViewScore { feature: view.feature.clone(), transform: view.transform, score });
        if total_flagged == 0 {
            continue;
        }
        for (low, high, shares) in enriched_ranges(&view.values, flagged, total_flagged) {
            findings.push(Finding {
                feature: view.feature.clone(),
                transform: view.transform,
                low,
                high,
                flagged_share: shares.flagged,
                overall_share: shares.all,
                enrichment: shares.flagged / shares.all,
                score,
            });
        }
    }
    let by_score = |a: f64, b: f64| b.total_cmp(&a);
    findings.sort_by(|a, b| by_score(a.score, b.score).then(by_score(a.enrichment, b.enrichment)));
    scores.sort_by(|a, b| by_score(a.score, b.score));
    (findings, scores)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ks_distance_of_known_samples() {
        assert_eq!(ks_distance(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), 0.0);
        assert_eq!(ks_distance(&[1.0, 2.0], &[3.0, 4.0]), 1.0);
        // F_a jumps to 1/2 at 1 and 1 at 3; F_b to 1/4 at 1, 1/2 at 2, 1 at 3.
        assert!((ks_distance(&[1.0, 3.0], &[1.0, 2.0, 3.0, 3.0]) - 0.25).abs() < 1e-12);
        assert_eq!(ks_distance(&[], &[1.0]), 0.0);
    }

    #[test]
    fn a_planted_window_is_one_merged_range_and_a_blind_flag_gives_none() {
        let n = 20_000;
        let x: Vec<f64> = (0..n).map(|i| i as f64 / n as f64 * 10.0).collect();
        // Flag every 5th cluster in [6, 7) and every 50th elsewhere.
        let flagged: Vec<bool> = x
            .iter()
            .enumerate()
            .map(|(i, &v)| if (6.0..7.0).contains(&v) { i % 5 == 0 } else { i % 50 == 0 })
            .collect();
        let v = views(&[("x", &x)]);
        let (findings, scores) = find(&v, &flagged);
        assert_eq!(findings.len(), 1, "{findings:?}");
        let f = &findings[0];
        assert!((f.low - 6.0).abs() < 0.11 && (f.high - 7.0).abs() < 0.11, "{f:?}");
        assert!(f.enrichment > 4.0 && f.flagged_share > 0.5, "{f:?}");
        // F_flagged(6) = 240/760 against F_other(6) = 11760/19240: a distance of 0.295.
        assert!((scores[0].score - 0.295).abs() < 0.01, "{scores:?}");
        let blind: Vec<bool> = (0..n).map(|i| i % 20 == 0).collect();
        assert!(find(&v, &blind).0.is_empty());
        assert!(find(&v, &vec![false; n]).0.is_empty());
    }

    #[test]
    fn eta_gets_an_abs_view() {
        let eta = [-1.5, 0.2, 1.5];
        let v = views(&[(CLUSTER_ETA, &eta)]);
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].values, vec![1.5, 0.2, 1.5]);
        assert_eq!(v[1].name(), "|clusterEta|");
    }
}
