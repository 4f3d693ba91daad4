//! `calibration explain`: where the network is unsure, and what those clusters have in common,
//! without the truth (docs/calibration-method.md §5.11).
//!
//! It reads a cluster file's 15 features (never a `truth_*` column, nor the target beyond the
//! selection cuts) and a prediction file for it, flags the clusters whose σ_tot/R_pred is
//! unusually high for their energy ([`select`]), and finds the features and the ranges of them
//! where the flagged clusters gather ([`findings`]). The outputs, written as one set
//! ([`output`]): `findings.json`, `flags.h5` and the page `index.html`.
//!
//! The rule and the ranges are made from the data alone, so the same command makes on real
//! ntuples the discovery the paper made: that the uncertainty points at a detector region.

pub mod findings;
pub mod output;
pub mod profiles;
pub mod select;

use crate::columns::{CLUSTER_E, FEATURES};
use crate::cuts::{read_selected, CutReport};
use crate::error::{Error, Result};
use crate::evaluate::align;
use crate::io::predictions::Predictions;
use crate::io::{ClusterTable, DataSource, TargetPolicy};
use findings::{find, view_name, views, Finding, ViewScore, ViewTransform};
use profiles::{distributions, profiles, Distribution, Profile};
use select::{flag_clusters, Selection};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The quantile of `--quantile` and of the study: a cluster in the top 5 % of its energy bin.
pub const DEFAULT_QUANTILE: f64 = 0.95;

/// What to explain.
#[derive(Debug, Clone)]
pub struct ExplainOptions {
    pub data: DataSource,
    pub predictions: PathBuf,
    /// A cluster is flagged above this quantile of σ_tot/R_pred in its energy bin.
    pub quantile: f64,
}

/// `findings.json`: the rule, the findings sorted by score, and every view's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Findings {
    pub selection: Selection,
    pub findings: Vec<Finding>,
    /// The score of each view, highest first, including those without an enriched range.
    pub scores: Vec<ViewScore>,
}

impl Findings {
    /// The top finding in one sentence, or what explains that there is none.
    pub fn sentence(&self) -> String {
        let s = &self.selection;
        match self.findings.first() {
            _ if s.flagged == 0 => format!("No cluster was flagged among the {} (the rule: {}).", s.total, s.rule),
            None => format!(
                "The {} flagged clusters are distributed like the others in every feature: no range holds \
                 {:.1} times their share.",
                s.flagged,
                findings::MIN_ENRICHMENT
            ),
            Some(f) => finding_sentence(f),
        }
    }

    /// The sentence of the first finding on `feature` (either view), if it has one.
    pub fn sentence_on(&self, feature: &str) -> Option<String> {
        self.findings.iter().find(|f| f.feature == feature).map(finding_sentence)
    }
}

/// "Clusters with 1.34 < |η| < 1.75 hold 63 % of the flagged and 12 % of all clusters
/// (enrichment 5.3)."
pub fn finding_sentence(f: &Finding) -> String {
    format!(
        "Clusters with {} < {} < {} hold {:.0} % of the flagged and {:.0} % of all clusters (enrichment {:.1}).",
        short(f.low),
        symbol(&f.feature, f.transform),
        short(f.high),
        100.0 * f.flagged_share,
        100.0 * f.overall_share,
        f.enrichment
    )
}

/// A view's symbol for sentences: η for clusterEta, the branch name otherwise.
pub fn symbol(feature: &str, transform: ViewTransform) -> String {
    let base = if feature == crate::columns::CLUSTER_ETA { "η" } else { feature };
    view_name(base, transform)
}

/// A number with three significant digits, without a trailing exponent for ordinary values.
pub fn short(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        format!("{v}")
    } else if v.abs() >= 1e4 || v.abs() < 1e-3 {
        format!("{v:.2e}")
    } else {
        let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
        format!("{v:.digits$}")
    }
}

/// Everything explain computed: the findings, the flags and the figures' numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub findings: Findings,
    /// One flag per selected cluster, with its row in the input file.
    pub flagged: Vec<bool>,
    pub input_index: Vec<u64>,
    pub profiles: Vec<Profile>,
    pub distributions: Vec<Distribution>,
    /// Where the inputs came from, for the page and `flags.h5`.
    pub data: String,
    pub predictions: String,
    pub cuts: CutReport,
}

/// The part of an explanation the study page shows: the findings and the |η| distributions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainSummary {
    pub findings: Findings,
    pub abs_eta: Option<Distribution>,
}

impl Explanation {
    pub fn summary(&self) -> ExplainSummary {
        let abs_eta = self
            .distributions
            .iter()
            .find(|d| d.feature == crate::columns::CLUSTER_ETA && d.transform == ViewTransform::Abs)
            .cloned();
        ExplainSummary { findings: self.findings.clone(), abs_eta }
    }
}

/// Reads the data and the predictions and explains them (writes nothing; see [`output::write`]).
pub fn explain(opts: &ExplainOptions) -> Result<Explanation> {
    select::check_quantile(opts.quantile)?;
    let (table, cuts) = read_selected(&opts.data, TargetPolicy::IfPresent)?;
    if table.is_empty() {
        return Err(Error::invalid(format!(
            "{}: no cluster passes the selection cuts ({} rows read), so there is nothing to explain",
            opts.data.display(),
            cuts.input
        )));
    }
    let p = Predictions::read(&opts.predictions)?;
    let aligned = align(&table, "--pred", &opts.predictions, &p)?;
    let sigmas = aligned.sigmas.ok_or_else(|| Error::invalid("internal: aligned predictions without sigmas"))?;
    let relative: Vec<f64> = sigmas.tot.iter().zip(&aligned.r_pred).map(|(s, r)| s / r).collect();
    let mut explanation = explain_columns(&features_of(&table)?, &relative, opts.quantile)?;
    explanation.input_index = table.input_index.clone();
    explanation.data = opts.data.display();
    explanation.predictions = opts.predictions.display().to_string();
    explanation.cuts = cuts;
    Ok(explanation)
}

/// The 15 feature columns of the table, and nothing else of it.
fn features_of(table: &ClusterTable) -> Result<Vec<(&'static str, &[f64])>> {
    FEATURES.iter().map(|&n| Ok((n, table.require(n)?))).collect()
}

/// Explains per-cluster `relative` uncertainties (σ_tot/R_pred) by the `features` columns, which
/// must include clusterE. The input rows are 0..n; the sources are left empty.
pub fn explain_columns(features: &[(&str, &[f64])], relative: &[f64], quantile: f64) -> Result<Explanation> {
    let energy = features
        .iter()
        .find(|(n, _)| *n == CLUSTER_E)
        .map(|(_, v)| *v)
        .ok_or_else(|| Error::invalid(format!("explain: the column '{CLUSTER_E}' is needed to bin by energy")))?;
    if let Some(first) = relative.iter().position(|r| !(r.is_finite() && *r >= 0.0)) {
        let bad = relative.iter().filter(|r| !(r.is_finite() && **r >= 0.0)).count();
        return Err(Error::invalid(format!(
            "explain: sigma_tot/R_pred is not a finite non-negative number for {bad} of {} clusters (the first, \
             cluster {first}, is {})",
            relative.len(),
            relative[first]
        )));
    }
    let flagging = flag_clusters(energy, relative, quantile)?;
    let views = views(features);
    let (found, scores) = find(&views, &flagging.flagged);
    Ok(Explanation {
        findings: Findings { selection: flagging.selection, findings: found, scores },
        profiles: profiles(&views, relative),
        distributions: distributions(&views, &flagging.flagged),
        input_index: (0..relative.len() as u64).collect(),
        flagged: flagging.flagged,
        data: String::new(),
        predictions: String::new(),
        cuts: CutReport {
            source: String::new(),
            input: relative.len(),
            passed: relative.len(),
            cuts: Vec::new(),
            target_cuts_applied: false,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_sentences_are_short() {
        assert_eq!(short(1.4), "1.40");
        assert_eq!(short(0.0123), "0.0123");
        assert_eq!(short(132.4), "132");
        assert_eq!(short(2.5e-9), "2.50e-9");
        assert_eq!(short(0.0), "0");
        assert_eq!(symbol("clusterEta", ViewTransform::Abs), "|η|");
    }

    /// A uniform number in [0, 1) from cluster `i` and a salt (the SplitMix64 finaliser), so
    /// that the columns of the test are independent without a random stream.
    fn uniform(i: usize, salt: u64) -> f64 {
        let mut z = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xD1B5_4A32_D192_ED03);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn a_planted_eta_region_is_the_top_finding_and_nan_is_refused() {
        let n = 30_000;
        let energy: Vec<f64> = (0..n).map(|i| 0.1 * 1000f64.powf(uniform(i, 1))).collect();
        let eta: Vec<f64> = (0..n).map(|i| 6.0 * uniform(i, 2) - 3.0).collect();
        let ptd: Vec<f64> = (0..n).map(|i| uniform(i, 3)).collect();
        let mut relative: Vec<f64> = (0..n)
            .map(|i| {
                let planted = (0.5..0.7).contains(&eta[i].abs());
                (0.3 / energy[i].sqrt()) * (1.0 + uniform(i, 4)) * if planted { 2.5 } else { 1.0 }
            })
            .collect();
        let columns = [(CLUSTER_E, &energy[..]), ("clusterEta", &eta[..]), ("cluster_PTD", &ptd[..])];
        let e = explain_columns(&columns, &relative, 0.95).unwrap();
        let top = &e.findings.findings[0];
        assert_eq!((top.feature.as_str(), top.transform), ("clusterEta", ViewTransform::Abs), "{top:?}");
        assert!(top.low > 0.4 && top.low < 0.55 && top.high > 0.65 && top.high < 0.8, "{top:?}");
        assert!(top.enrichment > 5.0, "{top:?}");
        assert!(e.findings.findings.iter().all(|f| f.feature == "clusterEta"), "{:?}", e.findings.findings);
        assert!(e.findings.sentence().contains("< |η| <"), "{}", e.findings.sentence());
        assert_eq!(e.profiles.len(), 4);
        relative[7] = f64::NAN;
        let err = explain_columns(&columns, &relative, 0.95).unwrap_err().to_string();
        assert!(err.contains("sigma_tot/R_pred") && err.contains("cluster 7"), "{err}");
        let err = explain_columns(&columns[1..], &relative, 0.95).unwrap_err().to_string();
        assert!(err.contains("clusterE"), "{err}");
    }
}
