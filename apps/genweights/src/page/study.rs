//! `genweights study`'s page: the acceptance table, the overview and every case's section.

use super::fmt;
use super::pair::pair_section;
use crate::evaluate::TOP_TOLERANCE_CAP;
use crate::study::acceptance::{
    literal_top_overlap_count, DETECTION_POWER_THRESHOLD, INCONCLUSIVE_ERROR, LITERAL_OVERLAP_THRESHOLD, TOP_GATE,
    TOP_SKILL_THRESHOLD,
};
use crate::study::summary::StudyMetrics;
use crate::study::AcceptanceRow;
use report::{Cell, Page, Section, Table, Verdict};

/// A study's acceptance table.
pub(super) fn acceptance_table(rows: &[AcceptanceRow]) -> Table {
    let mut t = Table::new(&["case", "test", "value", "threshold", "result"]);
    for r in rows {
        let verdict = match r.passed {
            Some(p) => Cell::from(Verdict::from_bool(p)),
            None if r.value.starts_with("inconclusive") => Cell::from("inconclusive"),
            None => Cell::from(if r.threshold == "reported" { "reported" } else { "n/a" }),
        };
        t = t.row([
            Cell::from(r.case.as_str()),
            Cell::from(r.test.as_str()),
            Cell::from(r.value.as_str()),
            Cell::from(r.threshold.as_str()),
            verdict,
        ]);
    }
    t
}

fn overview_table(m: &StudyMetrics) -> Table {
    let mut t = Table::new(&[
        "case",
        "events (test)",
        "AUC learned",
        "AUC exact",
        "median |Δ ln w|",
        "top-1 % skill",
        "top-1 % overlap",
        "ln w half-width",
        "epochs",
        "train s",
    ]);
    for c in &m.cases {
        let a = &c.metrics.analysis;
        let e = a.exact.as_ref();
        t = t.row([
            Cell::from(c.case.as_str()),
            Cell::from(format!("{} + {}", a.truth_test_events, a.generated_test_events)),
            Cell::num(a.summary.roc.auc, 4),
            Cell::from(e.map_or("–".into(), |e| format!("{:.4}", e.comparison.optimal_auc))),
            Cell::from(fmt(e.and_then(|e| e.comparison.bulk_median_abs_residual), 4)),
            Cell::from(fmt(e.and_then(|e| e.top_within.as_ref()).map(|w| w.skill), 3)),
            Cell::from(fmt(e.and_then(|e| e.top_percent_overlap), 3)),
            Cell::from(fmt(a.summary.spread.half_width_68, 4)),
            Cell::from(a.training.epochs_run.to_string()),
            Cell::num(a.training.train_seconds, 1),
        ]);
    }
    t
}

/// The cases that ran, with their layouts: "tailcut (jets), null-calo (calo), …".
fn case_list(m: &StudyMetrics) -> String {
    let names: Vec<String> = m.cases.iter().map(|c| format!("{} ({})", c.case, c.metrics.analysis.kind)).collect();
    names.join(", ")
}

/// `genweights study`'s page.
pub fn study_page(m: &StudyMetrics) -> Page {
    let pass = m.acceptance.iter().filter(|r| r.passed == Some(true)).count();
    let fail = m.acceptance.iter().filter(|r| r.passed == Some(false)).count();
    let inconclusive =
        m.acceptance.iter().filter(|r| r.passed.is_none() && r.value.starts_with("inconclusive")).count();
    let overlaps: Vec<(String, Option<f64>)> = m
        .cases
        .iter()
        .map(|c| (c.case.clone(), c.metrics.analysis.exact.as_ref().and_then(|e| e.top_percent_overlap)))
        .collect();
    let (literal_pass, literal_defined) = literal_top_overlap_count(&overlaps);
    let mut page = Page::new("Classifier weights on toys with exact answers: the genweights study")
        .intro(&format!(
            "The toys of docs/genweights-method.md §4 run here — {} — each written to files, read back and passed \
             through genweights run: a {} trained on the classifier inputs, whose logit is ln w (a null case draws \
             both samples from truth). The exact ln w of every event is known, and is read only after training for \
             the comparisons here. All numbers use each pair's test split. {} events per sample ({} for showers, {} \
             for Z→μμ+jets), seed {}; run on {} ({}), {}; {}.",
            case_list(m),
            m.model,
            m.events,
            m.shower_events,
            m.zjets_events,
            m.seed,
            m.machine,
            m.device,
            m.date,
            if m.reused_cases > 0 {
                // The cases' own times add up to more than the study's wall time: they run side by side.
                format!(
                    "its cases took {:.0} s together when they ran (side by side, so less on the clock); this run \
                     reused {} of its {} cases from an earlier run",
                    m.seconds,
                    m.reused_cases,
                    m.cases.len()
                )
            } else {
                format!("the whole study took {:.0} s", m.seconds)
            }
        ))
        .section(
            Section::new("Acceptance tests")
                .paragraph(&format!(
                    "{pass} pass, {fail} fail, {inconclusive} inconclusive, {} not applicable or reported. The \
                     identities are tested against their exact expectations (E_gen[w] = 1 − P_truth(w = ∞), \
                     E_truth[1/w] = 1 − P_gen(w = 0)) with the learned weights' standard errors (the mean's and the \
                     refitted offset's): at |pull| ≤ 3 where the supports agree, and in [F − 3σ, 1 + 3σ] where they \
                     differ (expected F < 1), since finite learned weights cannot carry w = ∞; an identity whose error \
                     exceeds {INCONCLUSIVE_ERROR} is inconclusive. The top-1 % test applies where the exact ln w spreads \
                     over truth, (q84 − q16)/2, by at least {TOP_GATE}τ (τ: the pair's median |learned − exact|, at \
                     most {TOP_TOLERANCE_CAP}): a learned top-1 % truth event counts as found when its exact ln w lies \
                     above the exact 1 % cut or within τ of it, and the case passes at a skill (score − chance)/(1 − \
                     chance) ≥ {TOP_SKILL_THRESHOLD}. Below that gate it passes on its detection power (AUC − ½)/(AUC_exact \
                     − ½) ≥ {DETECTION_POWER_THRESHOLD}. Under issue 13's literal criterion (top-1 % overlap ≥ \
                     {LITERAL_OVERLAP_THRESHOLD}, ties at the cut only), {literal_pass} of the {literal_defined} cases \
                     where it is defined pass. The data-only identity E_gen[w·1(w < c)] = P_truth(w < c) needs no exact \
                     weights and is reported for every case.",
                    m.acceptance.len() - pass - fail - inconclusive
                ))
                .table(acceptance_table(&m.acceptance)),
        )
        .section(Section::new("Overview").table(overview_table(m)));
    for c in &m.cases {
        page = page.section(pair_section(&c.metrics.analysis, &format!("{} ({})", c.case, c.metrics.analysis.kind)));
    }
    page.footer(&format!("Written by genweights study ({}), sigmagrad {}.", m.command, m.version))
}
