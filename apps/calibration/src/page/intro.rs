//! The text at the top of the page (what was run, what the figures show) and the acceptance
//! table that opens it.

use super::draw::{count, duration};
use super::{not_run, Ctx};
use crate::study::summary::Acceptance;
use report::{Cell, Section, Table, Verdict};

impl Ctx<'_> {
    /// What was run, on what, on which machine and for how long.
    pub(super) fn run_text(&self) -> String {
        let d = &self.s.description;
        let seeds = &d.seeds;
        let nets: Vec<String> = d
            .models
            .iter()
            .map(|m| {
                let draws = if m.draws > 1 { format!(", {} draws per prediction", m.draws) } else { String::new() };
                format!("{} ({}, {} epochs{draws})", m.label, m.network, m.epochs)
            })
            .collect();
        let nets = if nets.is_empty() { "no networks".to_string() } else { nets.join("; ") };
        format!(
            "The {} preset of calibration study reproduces the ATLAS calibration of calorimeter topo-clusters with a \
             Bayesian neural network (arXiv:2412.04370) on synthetic clusters whose conditional response p(R | x) is \
             known exactly. It generated {} pile-up clusters for training (seed {}), {} for testing (seed {}) and {} \
             without pile-up for the LCW-like tables (seed {}); after the selection cuts the networks trained on {} \
             clusters, validated on {}{} and were tested on {}. Networks (seed {}): {}. Run on {}, {}, sigmagrad {}; \
             {}.",
            d.preset,
            count(d.generated_train),
            seeds.train,
            count(d.generated_test),
            seeds.test,
            count(d.generated_pu0),
            seeds.pu0,
            count(d.n_train),
            count(d.n_val),
            if d.split.is_empty() { String::new() } else { format!(" (held out {})", d.split) },
            count(d.n_test),
            seeds.networks,
            nets,
            d.machine,
            d.date,
            d.version,
            if d.reused_steps > 0 {
                // The steps' own times add up to more than a study's wall time: its trainings run
                // side by side.
                format!(
                    "its steps took {} together when they ran (the trainings side by side, so less on the clock); \
                     this run reused {} of its {} steps and took {}",
                    duration(d.seconds),
                    d.reused_steps,
                    d.steps,
                    duration(d.run_seconds)
                )
            } else {
                format!("the whole study took {}", duration(d.run_seconds))
            }
        )
    }

    /// What the figures show, in reading order.
    pub(super) fn figures_text(&self) -> String {
        "The table gives the acceptance tests of docs/calibration-method.md §6. The figures then show the inputs; the \
         response linearity and resolution of every calibration (the EM scale, the LCW-like look-up tables, a DNN \
         trained with MSE, the DNN-LGK that learns the mode, the BNN, the repulsive ensemble RE, and the oracle that \
         applies the true median response and so bounds what any calibration can reach) against energy, pile-up and \
         |η|; how well the predicted response and its density match the truth; whether the predicted uncertainties \
         are calibrated (pulls, coverage); the spectrum of relative uncertainties with its secondary maximum from the \
         tile-gap clusters; the uncertainties against the exact truth and between BNN and RE; the training-size scan; \
         and the training curves. All energies are in GeV; all test-sample figures use the held-out test clusters."
            .to_string()
    }

    pub(super) fn acceptance_section(&self) -> Section {
        let s = Section::new("Acceptance tests");
        let rows = &self.s.acceptance;
        if rows.is_empty() {
            return not_run(s, "the acceptance tests");
        }
        let pass = rows.iter().filter(|a| a.passed == Some(true)).count();
        let fail = rows.iter().filter(|a| a.passed == Some(false)).count();
        let shown = rows.len() - pass - fail;
        s.paragraph(&format!(
            "{pass} of {} tests pass, {fail} fail (a test whose numbers the study did not produce fails and says \
             \"not computed\"); {shown} more {} shown as information, without a pass mark.",
            pass + fail,
            if shown == 1 { "row is" } else { "rows are" }
        ))
        .table(acceptance_table(rows))
    }
}

fn acceptance_table(rows: &[Acceptance]) -> Table {
    let mut t = Table::new(&["item", "test", "value", "threshold", "result"]).caption(
        "Each acceptance test of docs/calibration-method.md §6 with its measured value and threshold; a row marked \
         \"information\" is a number shown beside the tests, or a test that issue 24 replaced, and is not judged.",
    );
    for a in rows {
        let verdict = match a.passed {
            Some(p) => Cell::from(Verdict::from_bool(p)),
            None => Cell::from("information"),
        };
        t = t.row([
            Cell::from(a.item.as_str()),
            Cell::from(a.what.as_str()),
            Cell::from(a.value.as_str()),
            Cell::from(a.threshold.as_str()),
            verdict,
        ]);
    }
    t
}
