//! The numbers of explain's figures, computed once: σ_tot/R_pred against every view (its 2-D
//! histogram, with the median and the central 68 % in bins of the view), and the distributions
//! of the flagged clusters and of all clusters in each view.
//!
//! Every axis spans the central 99 % of the data (0.5 % to 99.5 % quantiles), log-spaced where
//! the network takes the feature's logarithm, so that a few far outliers do not squeeze the
//! figure; the ranges come from the data, like everything explain does.

use super::findings::{View, ViewTransform};
use crate::columns::transform_of;
use crate::metrics::binned::response_in_bins;
use nn::Transform;
use serde::{Deserialize, Serialize};

const PROFILE_BINS: usize = 40;
const DISTRIBUTION_BINS: usize = 50;
/// A profile bin needs this many clusters for its median and band.
const MIN_PER_PROFILE_BIN: usize = 20;

/// σ_tot/R_pred against one view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub feature: String,
    pub transform: ViewTransform,
    pub log_x: bool,
    pub x_edges: Vec<f64>,
    pub y_edges: Vec<f64>,
    /// Clusters per cell, x-major (`counts[ix * ny + iy]`).
    pub counts: Vec<f64>,
    /// Per x bin: the median of σ_tot/R_pred and its 16 % and 84 % quantiles.
    pub median: Vec<Option<f64>>,
    pub q16: Vec<Option<f64>>,
    pub q84: Vec<Option<f64>>,
}

/// One view's histogram for the flagged clusters and for all clusters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    pub feature: String,
    pub transform: ViewTransform,
    pub log_x: bool,
    pub edges: Vec<f64>,
    pub flagged: Vec<f64>,
    pub all: Vec<f64>,
}

/// Whether a view is drawn on a log axis: the features the network takes the log of, when all
/// their values are positive.
fn log_axis(view: &View) -> bool {
    view.transform == ViewTransform::Identity
        && transform_of(&view.feature) == Some(Transform::Log)
        && view.values.iter().all(|&v| v > 0.0)
}

/// `bins` edges over the central 99 % of `values` (log-spaced when `log`); a unit range around
/// a constant.
fn central_edges(values: &[f64], bins: usize, log: bool) -> Vec<f64> {
    let sorted = stats::sorted_finite(values.iter().copied());
    let lo = stats::quantile_sorted(&sorted, 0.005).unwrap_or(0.0);
    let hi = stats::quantile_sorted(&sorted, 0.995).unwrap_or(1.0);
    let edges = if log { stats::log_edges(lo, hi, bins) } else { stats::linear_edges(lo, hi, bins) };
    if edges.len() >= 2 {
        edges
    } else {
        stats::Binning::linear(lo - 0.5, lo + 0.5, 1).edges
    }
}

/// σ/R against each view.
pub fn profiles(views: &[View], relative: &[f64]) -> Vec<Profile> {
    let y_edges = central_edges(relative, PROFILE_BINS, relative.iter().all(|&r| r > 0.0));
    views
        .iter()
        .map(|view| {
            let log_x = log_axis(view);
            let x_edges = central_edges(&view.values, PROFILE_BINS, log_x);
            let bins = response_in_bins(relative, &view.values, &x_edges, MIN_PER_PROFILE_BIN);
            Profile {
                feature: view.feature.clone(),
                transform: view.transform,
                log_x,
                counts: stats::histogram_2d(&view.values, relative, &x_edges, &y_edges),
                x_edges,
                y_edges: y_edges.clone(),
                median: bins.iter().map(|b| b.median).collect(),
                q16: bins.iter().map(|b| b.q16).collect(),
                q84: bins.iter().map(|b| b.q84).collect(),
            }
        })
        .collect()
}

/// The flagged and all clusters' histograms of each view.
pub fn distributions(views: &[View], flagged: &[bool]) -> Vec<Distribution> {
    views
        .iter()
        .map(|view| {
            let log_x = log_axis(view);
            let edges = central_edges(&view.values, DISTRIBUTION_BINS, log_x);
            let picked: Vec<f64> = view.values.iter().zip(flagged).filter(|(_, &f)| f).map(|(v, _)| *v).collect();
            Distribution {
                feature: view.feature.clone(),
                transform: view.transform,
                log_x,
                flagged: stats::histogram(&picked, None, &edges),
                all: stats::histogram(&view.values, None, &edges),
                edges,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::findings::views;

    #[test]
    fn a_profile_follows_its_view() {
        let x: Vec<f64> = (0..4000).map(|i| 1.0 + i as f64 / 1000.0).collect();
        let rel: Vec<f64> = x.iter().map(|v| 0.1 * v).collect();
        let p = &profiles(&views(&[("cluster_PTD", &x)]), &rel)[0];
        assert!(!p.log_x);
        let (first, last) = (p.median[0].unwrap(), p.median[PROFILE_BINS - 1].unwrap());
        assert!(first < 0.11 && last > 0.49, "{first} {last}");
        let inside: f64 = p.counts.iter().sum();
        assert!((3900.0..=4000.0).contains(&inside), "the central 99 % of x and of σ/R: {inside}");
        let d = &distributions(&views(&[("clusterE", &x)]), &vec![true; 4000])[0];
        assert!(d.log_x && d.flagged == d.all);
    }
}
