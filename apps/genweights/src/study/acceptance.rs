//! The study's acceptance tests (issue 13): per case, the rows the page's table shows and the
//! study passes or fails on, computed from a run's metrics alone.

use crate::evaluate::{ExactAnalysis, RunMetrics};
use crate::generator::Case;
use serde::{Deserialize, Serialize};

/// The largest median |learned − exact| ln w over the bulk (|exact| < 1) a toy passes with.
pub const BULK_RESIDUAL_LIMIT: f64 = 0.05;
/// The smallest skill over a random selection the top-1 % test passes with.
pub const TOP_SKILL_THRESHOLD: f64 = 0.5;

/// One acceptance test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptanceRow {
    pub case: String,
    pub test: String,
    pub value: String,
    pub threshold: String,
    /// None: not applicable (or only reported).
    pub passed: Option<bool>,
}

/// The clustering thresholds of each case (docs/genweights-method.md §5.7, after the paper's per-study choices).
pub fn thresholds(case: Case) -> (Vec<f64>, Vec<f64>) {
    match case {
        Case::Tailcut => (vec![0.9], vec![1.05, 2.0]),
        Case::Smeared | Case::Shifted => (vec![0.9], vec![1.1]),
        Case::Null | Case::NullCalo | Case::NullEvents => (vec![0.99], vec![1.01]),
        Case::LayerFractions | Case::MissingMode | Case::Noise => (vec![0.1, 0.5], vec![2.0]),
        Case::Masspeak | Case::Binn => (vec![0.5, 0.9], vec![1.1]),
    }
}

fn is_null(case: Case) -> bool {
    matches!(case, Case::Null | Case::NullCalo | Case::NullEvents)
}

/// The acceptance rows of one case.
pub fn acceptance(case: Case, m: &RunMetrics) -> Vec<AcceptanceRow> {
    let a = &m.analysis;
    let name = case.name().to_string();
    let row = |test: &str, value: String, threshold: &str, passed: Option<bool>| AcceptanceRow {
        case: name.clone(),
        test: test.into(),
        value,
        threshold: threshold.into(),
        passed,
    };
    let mut rows = Vec::new();
    let Some(e) = &a.exact else {
        rows.push(row("exact weights", "none in the files".into(), "–", Some(false)));
        return rows;
    };
    let med = e.comparison.bulk_median_abs_residual;
    rows.push(row(
        "median |learned − exact| ln w, |exact| < 1",
        med.map_or("n/a".into(), |v| format!("{v:.4} ({} events)", e.comparison.bulk_events)),
        &format!("< {BULK_RESIDUAL_LIMIT}"),
        Some(med.is_some_and(|v| v < BULK_RESIDUAL_LIMIT)),
    ));
    rows.push(top_row(&name, e));
    if case == Case::Tailcut {
        let d = (a.summary.roc.auc - e.comparison.optimal_auc).abs();
        rows.push(row(
            "AUC against the exact AUC",
            format!("{:.4} vs {:.4} (|Δ| {d:.4})", a.summary.roc.auc, e.comparison.optimal_auc),
            "|Δ| < 0.01",
            Some(d < 0.01),
        ));
    }
    let id = |i: &crate::evaluate::IdentityCheck| {
        format!(
            "{} ± {} vs {:.5} (pull {})",
            i.estimate.map_or("n/a".into(), |v| format!("{v:.5}")),
            i.error.map_or("n/a".into(), |v| format!("{v:.5}")),
            i.expected,
            i.pull.map_or("n/a".into(), |v| format!("{v:.2}"))
        )
    };
    rows.push(row("E_{gen}[w]", id(&a.gen_mean_w), "|pull| ≤ 3", Some(a.gen_mean_w.holds_within(3.0))));
    rows.push(row(
        "E_{truth}[1/w]",
        id(&a.truth_mean_inverse_w),
        "|pull| ≤ 3",
        Some(a.truth_mean_inverse_w.holds_within(3.0)),
    ));
    if is_null(case) {
        let s = &a.summary.spread;
        rows.push(row(
            "null width of ln w: (q84 − q16)/2, std",
            format!(
                "{} , {} (mean {})",
                s.half_width_68.map_or("n/a".into(), |v| format!("{v:.4}")),
                s.std.map_or("n/a".into(), |v| format!("{v:.4}")),
                s.mean.map_or("n/a".into(), |v| format!("{v:.4}"))
            ),
            "reported",
            None,
        ));
    }
    rows
}

/// The top-1 % row: passed or failed on the skill of [`crate::evaluate::top_within_resolution`],
/// with the overlap (ties at the cut only) beside it.
fn top_row(case: &str, e: &ExactAnalysis) -> AcceptanceRow {
    let test = "top-1 % truth by exact w: learned top 1 % within τ of the exact cut, skill over chance";
    let row = |value: String, passed: Option<bool>| AcceptanceRow {
        case: case.into(),
        test: test.into(),
        value,
        threshold: format!("skill ≥ {TOP_SKILL_THRESHOLD}"),
        passed,
    };
    let overlap = e.top_percent_overlap.map_or("n/a".into(), |o| format!("{o:.3}"));
    let flat = match (e.top_percent_exact_span, e.top_percent_exact_gap) {
        (Some(s), Some(g)) => {
            format!("; exact ln w spans {s:.4} over the exact top 1 %, the learned top 1 % is lower by {g:.4} in mean")
        }
        _ => String::new(),
    };
    match &e.top_within {
        Some(t) => row(
            format!(
                "skill {:.3} (score {:.3}, chance {:.3}, τ {:.4}); overlap as in issue 13 {overlap}{flat}",
                t.skill, t.score, t.chance, t.tolerance
            ),
            Some(t.skill >= TOP_SKILL_THRESHOLD),
        ),
        None => row("n/a: every truth event within τ of the exact cut, no selection can fail".into(), None),
    }
}
