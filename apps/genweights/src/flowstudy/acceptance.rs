//! The flow study's acceptance rows (docs/genweights-method.md §11.5): per case, the learned
//! ln w against the exact one; for the 5-D mixture, the flow's KL against one Gaussian's; and,
//! reported without a verdict, the KL of the other toys, the classifier's detection power, what
//! the weights found, and a Bayesian INN's uncertainty against the weights.

use super::summary::FlowCase;
use super::toys::FlowToy;
use crate::page::fmt;
use crate::study::AcceptanceRow;

/// The largest median |learned − exact| ln w over events with |exact ln w| < 1 a case passes with.
pub const FLOW_BULK_LIMIT: f64 = 0.1;
/// "Well below one Gaussian's": the flow's KL plus three standard errors is at most this share
/// of the Gaussian's.
pub const KL_SHARE_LIMIT: f64 = 0.25;

fn row(case: &FlowCase, test: &str, value: String, threshold: &str, passed: Option<bool>) -> AcceptanceRow {
    AcceptanceRow { case: case.name.clone(), test: test.into(), value, threshold: threshold.into(), passed }
}

/// The rows of one case.
pub fn flow_acceptance(case: &FlowCase) -> Vec<AcceptanceRow> {
    let a = &case.run.analysis;
    let mut rows = Vec::new();
    let bulk = a.exact.as_ref().map(|e| (e.comparison.bulk_median_abs_residual, e.comparison.bulk_events));
    rows.push(row(
        case,
        "median |learned − exact| ln w, |exact| < 1 (test events)",
        match bulk {
            Some((Some(m), n)) => format!("{m:.4} ({n} events)"),
            _ => "n/a: no event with |exact ln w| < 1".into(),
        },
        &format!("< {FLOW_BULK_LIMIT}"),
        Some(matches!(bulk, Some((Some(m), _)) if m < FLOW_BULK_LIMIT)),
    ));
    let kl = case.kl.map(|k| {
        format!(
            "flow {:.4} ± {:.4}, one Gaussian {:.4} ± {:.4}",
            k.flow.mean, k.flow.error, k.gaussian.mean, k.gaussian.error
        )
    });
    let kl_value = kl.unwrap_or_else(|| "n/a: the Gaussian fit or the estimate failed".into());
    if case.toy == FlowToy::NarrowMode && !case.flow.config.bayesian {
        let pass = case.kl.is_some_and(|k| k.flow.mean + 3.0 * k.flow.error <= KL_SHARE_LIMIT * k.gaussian.mean);
        let threshold = format!("flow + 3σ ≤ {KL_SHARE_LIMIT} × Gaussian");
        rows.push(row(
            case,
            "KL(truth ‖ flow) against KL(truth ‖ one fitted Gaussian)",
            kl_value,
            &threshold,
            Some(pass),
        ));
    } else {
        rows.push(row(case, "KL(truth ‖ flow) against KL(truth ‖ one fitted Gaussian)", kl_value, "reported", None));
    }
    if let Some(e) = &a.exact {
        let c = &e.comparison;
        let power = crate::study::acceptance::detection_power(c.learned_auc, c.optimal_auc);
        rows.push(row(
            case,
            "detection power (AUC − ½)/(AUC_exact − ½): the share of the flow's difference from truth the classifier sees",
            format!("{} (AUC {:.4} vs exact {:.4})", fmt(power, 3), c.learned_auc, c.optimal_auc),
            "reported",
            None,
        ));
    }
    rows.push(row(case, "what the weights found", case.findings.sentence.clone(), "reported", None));
    if let Some(p) = &a.generator_pulls {
        let pull = |s: &crate::metrics::PullSummary| {
            format!("median {}, half-width {}", fmt(s.median, 3), fmt(s.half_width_68, 3))
        };
        rows.push(row(
            case,
            "Bayesian INN: median σ/μ of p over draws; pulls μ(w − 1)/σ learned and exact",
            format!(
                "{} draws, median σ/μ {}; learned: {}; exact: {}",
                p.draws,
                fmt(p.median_relative_uncertainty, 4),
                pull(&p.learned),
                p.exact.as_ref().map_or("n/a".into(), pull)
            ),
            "reported",
            None,
        ));
    }
    rows
}
