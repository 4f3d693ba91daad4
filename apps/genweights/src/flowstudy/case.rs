//! One toy of the flow study, as a user would run it with files: truth events written to a
//! table, `genweights flow train` on them, `flow sample`, then `genweights run` of fresh truth
//! events against the flow's sample. Only after the run are the exact densities used: the exact
//! ln w = ln p_truth − ln p_flow of every event (p_flow exact from the flow itself) goes into the
//! files' `log_w_true`, which the run reads for its evaluation alone, and into the KL and the
//! findings.

use super::findings::{findings, Events};
use super::kl::kl_estimates;
use super::summary::FlowCase;
use super::toys::FlowToy;
use crate::error::{invalid, Result};
use crate::flow::{log_density, sample, train, FlowModel, FlowTrainConfig};
use crate::io::table::{write, write_with, Table};
use crate::io::Kind;
use crate::model::ClassifierConfig;
use crate::study::run::{run, RunOptions};
use sigmagrad::{Device, Rng};
use std::path::Path;
use std::time::Instant;

/// What one case runs with.
pub struct CaseSettings<'a> {
    pub toy: FlowToy,
    pub name: String,
    /// Events the flow trains on; events per sample of the classifier run.
    pub train_events: usize,
    pub events: usize,
    pub flow: FlowTrainConfig,
    pub classifier: ClassifierConfig,
    pub seed: u64,
    pub device: &'a Device,
    pub progress: bool,
}

/// The exact ln w = ln p_truth − ln p_flow of rows with their flow densities.
fn exact_log_w(toy: FlowToy, rows: &[f64], flow_log_p: &[f64]) -> Vec<f64> {
    let d = toy.dims();
    rows.chunks(d).zip(flow_log_p).map(|(x, f)| toy.log_p(x) - f).collect()
}

/// Trains the flow of `s` in `dir/flow` on fresh truth events and loads it back.
fn train_flow(
    s: &CaseSettings,
    dir: &Path,
    say: &dyn Fn(&str),
) -> Result<(FlowModel, crate::flow::FlowTrained, Vec<f64>)> {
    let columns = s.toy.columns();
    let stream = |k: u64| Rng::new(s.seed).fork(k).seed();
    let training = s.toy.sample(s.train_events, stream(1));
    let path = dir.join("flow-train.h5");
    write(&path, &Table { n: s.train_events, columns, values: training.clone() }, None)?;
    say(&format!("{}: training a flow on {} events\n", s.name, s.train_events));
    let trained = train(&path, Some(Kind::Table), &dir.join("flow"), &s.flow, s.device)?;
    say(&format!(
        "{}: {}, {} epochs in {:.1} s, best validation −ln p {}\n",
        s.name,
        trained.model,
        trained.epochs_run,
        trained.train_seconds,
        trained.best_val_nll.map_or("n/a".into(), |v| format!("{v:.4}"))
    ));
    Ok((FlowModel::load(&dir.join("flow"), s.device)?, trained, training))
}

/// Runs one case in `dir` (created afresh: the case's own directory under the study's --out).
pub fn run_case(s: &CaseSettings, dir: &Path, say: &dyn Fn(&str)) -> Result<FlowCase> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| invalid(format!("{}: cannot clear it: {e}", dir.display())))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| invalid(format!("{}: cannot create it: {e}", dir.display())))?;
    let (model, trained, training) = train_flow(s, dir, say)?;
    let start = Instant::now();
    let drawn = sample(&model, s.events, Rng::new(s.seed).fork(2).seed(), s.device)?;
    let sample_seconds = start.elapsed().as_secs_f64();
    let truth_rows = s.toy.sample(s.events, Rng::new(s.seed).fork(3).seed());
    let truth_flow = log_density(&model, &truth_rows, s.device)?;
    let (truth_exact, gen_exact) =
        (exact_log_w(s.toy, &truth_rows, &truth_flow.log_p), exact_log_w(s.toy, &drawn.values, &drawn.density.log_p));
    let columns = s.toy.columns();
    let (truth, generated) = (dir.join("truth.h5"), dir.join("generated.h5"));
    let table = |values: &[f64]| Table { n: s.events, columns: columns.clone(), values: values.to_vec() };
    write(&truth, &table(&truth_rows), Some(&truth_exact))?;
    write_with(&generated, &table(&drawn.values), Some(&gen_exact), &drawn.density.columns(s.events))?;
    let mut ro = RunOptions::new(truth.clone(), generated.clone(), dir.to_path_buf(), s.device.clone());
    ro.kind = Some(Kind::Table);
    ro.classifier = s.classifier.clone();
    ro.progress = s.progress;
    ro.plot = Some(columns.iter().take(2).cloned().collect());
    ro.lower_thresholds = vec![0.5];
    ro.upper_thresholds = vec![1.5];
    // A flow has full support, so truth has no event of w = ∞; flow events beyond truth's
    // support (w = 0) lower E_truth[1/w] to 1 − P_flow(w = 0), estimated from the sample.
    let zero = gen_exact.iter().filter(|l| **l == f64::NEG_INFINITY).count() as f64 / s.events as f64;
    ro.expected_truth_mean_inverse_w = 1.0 - zero;
    ro.name = s.name.clone();
    ro.description = format!("{}. Exact ln w = ln p_truth − ln p_flow, both exact.", s.toy.description());
    let result = run(&ro, &|m| say(&format!("  {m}")))?;
    let weights = dir.join("weights.h5");
    let found = findings(
        s.toy,
        &Events::read(&weights, "truth", &truth_rows, &truth_exact)?,
        &Events::read(&weights, "generated", &drawn.values, &gen_exact)?,
    )?;
    let truth_log_p: Vec<f64> = truth_rows.chunks(s.toy.dims()).map(|x| s.toy.log_p(x)).collect();
    Ok(FlowCase {
        name: s.name.clone(),
        toy: s.toy,
        description: s.toy.description().to_string(),
        kl: kl_estimates(&truth_rows, s.toy.dims(), &truth_log_p, &truth_flow.log_p, &training),
        flow: trained,
        sample_seconds,
        findings: found,
        run: result.metrics,
    })
}
