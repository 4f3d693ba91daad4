//! Which clusters `explain` flags: those whose relative uncertainty σ_tot/R_pred is unusually
//! high *for their energy*.
//!
//! σ/R falls steeply with E^EM (the stochastic term goes as 1/√E), so a single cut over the whole
//! sample would flag the softest clusters and nothing else. The rule compares each cluster with
//! the clusters of about its own energy instead: the selected clusters are split into bins of
//! equal count in clusterE (each holding at least [`MIN_CLUSTERS_PER_ENERGY_BIN`] clusters, at
//! most [`MAX_ENERGY_BINS`] bins), and a cluster is flagged when its σ_tot/R_pred is above the
//! `quantile` (type-7, `stats::quantile_sorted`) of its bin. Equal-count bins come from the data
//! alone, adapt to any energy spectrum and give every threshold the same statistics.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The fewest clusters an energy bin holds: its 95 % quantile then rests on 100 clusters above it.
pub const MIN_CLUSTERS_PER_ENERGY_BIN: usize = 2000;
/// The most energy bins: enough to follow σ/R across four decades of E^EM.
pub const MAX_ENERGY_BINS: usize = 20;

/// The flagging rule and its counts, as `findings.json` states them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// The rule in words, with its numbers.
    pub rule: String,
    pub quantile: f64,
    pub flagged: usize,
    pub total: usize,
}

/// The rule applied: one flag per cluster, with the energy bins and their thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct Flagging {
    pub selection: Selection,
    pub flagged: Vec<bool>,
    /// The clusterE bin edges (GeV).
    pub energy_edges: Vec<f64>,
    /// The σ_tot/R_pred threshold of each energy bin.
    pub thresholds: Vec<f64>,
}

/// Refuses a quantile outside (0, 1), naming `--quantile`.
pub fn check_quantile(quantile: f64) -> Result<()> {
    if quantile > 0.0 && quantile < 1.0 {
        return Ok(());
    }
    Err(Error::invalid(format!("--quantile {quantile}: give a quantile between 0 and 1, e.g. 0.95")))
}

/// Flags the clusters whose `relative` uncertainty is above the `quantile` of their clusterE
/// bin (see the module documentation). Every value must be finite; `quantile` in (0, 1).
pub fn flag_clusters(energy: &[f64], relative: &[f64], quantile: f64) -> Result<Flagging> {
    check_quantile(quantile)?;
    if energy.len() != relative.len() {
        return Err(Error::invalid(format!(
            "explain: {} energies and {} uncertainties; they must be equal",
            energy.len(),
            relative.len()
        )));
    }
    if energy.is_empty() {
        return Err(Error::invalid("explain: no clusters to flag"));
    }
    let bins = (energy.len() / MIN_CLUSTERS_PER_ENERGY_BIN).clamp(1, MAX_ENERGY_BINS);
    let mut energy_edges = stats::equal_count_edges(energy, bins);
    if energy_edges.len() < 2 {
        // All clusters at one energy: one bin around it.
        let e = energy[0];
        energy_edges = vec![e, e];
    }
    let bin_of = |e: f64| stats::bin_index(&energy_edges, e).unwrap_or(0);
    let n_bins = energy_edges.len() - 1;
    let mut members = vec![Vec::new(); n_bins];
    for (&e, &r) in energy.iter().zip(relative) {
        members[bin_of(e).min(n_bins - 1)].push(r);
    }
    let thresholds: Vec<f64> = members
        .iter()
        .map(|m| stats::quantile_sorted(&stats::sorted_finite(m.iter().copied()), quantile).unwrap_or(f64::INFINITY))
        .collect();
    let flagged: Vec<bool> =
        energy.iter().zip(relative).map(|(&e, &r)| r > thresholds[bin_of(e).min(thresholds.len() - 1)]).collect();
    let count = flagged.iter().filter(|&&f| f).count();
    let rule = format!(
        "sigma_tot/R_pred above the {quantile} quantile of its clusterE bin ({} bins of equal count, at least {} \
         clusters each where the sample allows)",
        thresholds.len(),
        MIN_CLUSTERS_PER_ENERGY_BIN
    );
    Ok(Flagging {
        selection: Selection { rule, quantile, flagged: count, total: energy.len() },
        flagged,
        energy_edges,
        thresholds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_energy_bin_flags_its_own_top_share() {
        // σ/R falls as 1/√E: a global cut would flag only the softest clusters.
        let n = 40_000;
        let energy: Vec<f64> = (0..n).map(|i| 0.1 * 1000f64.powf(i as f64 / n as f64)).collect();
        let relative: Vec<f64> = energy
            .iter()
            .enumerate()
            .map(|(i, e)| (1.0 + 0.5 * ((i * 7919) % 101) as f64 / 101.0) / e.sqrt())
            .collect();
        let f = flag_clusters(&energy, &relative, 0.9).unwrap();
        assert_eq!(f.thresholds.len(), MAX_ENERGY_BINS);
        let share = f.selection.flagged as f64 / n as f64;
        assert!((share - 0.1).abs() < 0.01, "{share}");
        let hard = f.flagged[n / 2..].iter().filter(|&&x| x).count() as f64 / (n / 2) as f64;
        assert!((hard - 0.1).abs() < 0.02, "the harder half keeps its share of flags: {hard}");
    }

    #[test]
    fn a_constant_uncertainty_flags_nothing_and_bad_arguments_are_named() {
        let e = vec![1.0, 2.0, 3.0, 4.0];
        assert_eq!(flag_clusters(&e, &[0.1; 4], 0.95).unwrap().selection.flagged, 0);
        let err = flag_clusters(&e, &[0.1; 4], 1.5).unwrap_err().to_string();
        assert!(err.contains("--quantile"), "{err}");
        assert!(flag_clusters(&[], &[], 0.9).unwrap_err().to_string().contains("no clusters"));
        assert_eq!(flag_clusters(&[2.0; 5], &[0.1, 0.1, 0.1, 0.1, 0.9], 0.5).unwrap().selection.flagged, 1);
    }
}
