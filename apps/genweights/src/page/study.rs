//! `genweights study`'s page: the acceptance table, the overview and every case's section.

use super::fmt;
use super::pair::pair_section;
use crate::evaluate::TOP_TOLERANCE_CAP;
use crate::study::acceptance::TOP_SKILL_THRESHOLD;
use crate::study::summary::StudyMetrics;
use report::{Cell, Page, Section, Table, Verdict};

/// The study's acceptance table.
fn acceptance_table(m: &StudyMetrics) -> Table {
    let mut t = Table::new(&["case", "test", "value", "threshold", "result"]);
    for r in &m.acceptance {
        let verdict = match r.passed {
            Some(p) => Cell::from(Verdict::from_bool(p)),
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
    let mut page = Page::new("Classifier weights on toys with exact answers: the genweights study")
        .intro(&format!(
            "The toys of docs/genweights-method.md §4 run here — {} — each written to files, read back and passed \
             through genweights run: a {} trained on the classifier inputs, whose logit is ln w (a null case draws \
             both samples from truth). The exact ln w of every event is known, and is read only after training for \
             the comparisons here. All numbers use each pair's test split. {} events per sample ({} for showers, {} \
             for Z→μμ+jets), seed {}; run on {} ({}), {}; the whole study took {:.0} s{}.",
            case_list(m),
            m.model,
            m.events,
            m.shower_events,
            m.zjets_events,
            m.seed,
            m.machine,
            m.device,
            m.date,
            m.seconds,
            if m.reused_cases > 0 {
                format!(" (this run reused {} of its {} cases from an earlier run)", m.reused_cases, m.cases.len())
            } else {
                String::new()
            }
        ))
        .section(
            Section::new("Acceptance tests")
                .paragraph(&format!(
                    "{pass} pass, {fail} fail, {} not applicable. The identities are tested against their exact \
                     expectations (E_gen[w] = 1 − P_truth(w = ∞), E_truth[1/w] = 1 − P_gen(w = 0)) with the learned \
                     weights' standard errors. The top-1 % test counts a learned top-1 % truth event as found when its \
                     exact ln w lies above the exact 1 % cut, or within τ of it (τ: the pair's median |learned − \
                     exact|, at most {TOP_TOLERANCE_CAP}), and passes at a skill (score − chance)/(1 − chance) ≥ \
                     {TOP_SKILL_THRESHOLD} over a random selection; the plain overlap of issue 13 (ties at the cut \
                     only) is shown beside it. Not applicable where a random selection already scores 1.",
                    m.acceptance.len() - pass - fail
                ))
                .table(acceptance_table(m)),
        )
        .section(Section::new("Overview").table(overview_table(m)));
    for c in &m.cases {
        page = page.section(pair_section(&c.metrics.analysis, &format!("{} ({})", c.case, c.metrics.analysis.kind)));
    }
    page.footer(&format!("Written by genweights study ({}), sigmagrad {}.", m.command, m.version))
}
