//! The study's loop: every case's toy written to files, run through [`super::run::run`] as a
//! user would run it, checked against its exact weights, and one page for all.

use super::acceptance::{acceptance, thresholds, AcceptanceRow};
use super::run::{check_classifier, run, RunOptions};
use super::summary::{CaseResult, StudyMetrics};
use crate::error::{invalid, Result};
use crate::generator::{self, Case};
use crate::io::write_text;
use crate::model::ClassifierConfig;
use report::meta::{machine, today};
use rundir::Steps;
use sigmagrad::Device;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What the study runs.
#[derive(Debug, Clone)]
pub struct StudyOptions {
    pub out: PathBuf,
    pub cases: Vec<Case>,
    /// Events per sample for jets.
    pub events: usize,
    /// Events per sample for showers.
    pub shower_events: usize,
    /// Events per sample for the Z→μμ+jets toys; None: twice `events`. Their 21 inputs carry w
    /// in one of them (M_μμ): with 6·10⁴ training events per class the classifier's error,
    /// shared by its members, is larger than the mass peak's structure.
    pub zjets_events: Option<usize>,
    pub seed: u64,
    pub classifier: ClassifierConfig,
    pub device: Device,
    pub progress: bool,
    /// The command line, for the page's footer.
    pub command: String,
    /// Rerun every case even where `cases/NAME/` holds a finished run of the same toy and
    /// classifier configuration.
    pub fresh: bool,
    /// The Z→μμ+jets cases with one classifier per jet multiplicity (`--split-by njets`).
    pub split_by_njets: bool,
    /// How many cases run at once (None: one per core; see `rundir::parallel`).
    pub jobs: Option<usize>,
}

impl StudyOptions {
    pub fn new(out: PathBuf, device: Device) -> StudyOptions {
        StudyOptions {
            out,
            cases: Case::ALL.to_vec(),
            events: 100_000,
            shower_events: 50_000,
            zjets_events: None,
            seed: 1,
            classifier: ClassifierConfig::default(),
            device,
            progress: true,
            jobs: None,
            command: "genweights study".into(),
            fresh: false,
            split_by_njets: false,
        }
    }

    /// Events per sample of `case`'s toy.
    pub fn events_of(&self, case: Case) -> usize {
        match case.kind() {
            crate::io::Kind::Calo => self.shower_events,
            crate::io::Kind::Events => self.zjets_events.unwrap_or(2 * self.events),
            _ => self.events,
        }
    }
}

/// Runs the study and writes its page; returns the page's path and the metrics. The cases are
/// independent, so they run side by side on the cores (`rundir::parallel`; their numbers do not
/// depend on it); with more than one at a time their own messages and bars are left out.
pub fn study(opts: &StudyOptions, say: &(dyn Fn(&str) + Sync)) -> Result<(PathBuf, StudyMetrics)> {
    let start = Instant::now();
    if opts.cases.is_empty() {
        return Err(invalid("--cases: no cases to run; name some of the toys, or leave --cases out for all"));
    }
    check_classifier(&opts.classifier)?;
    crate::io::create_out_dir(&opts.out)?;
    let _lock = rundir::RunLock::acquire(&opts.out)?;
    let lanes = rundir::lane_plan(opts.cases.len(), opts.jobs);
    let mut steps = Steps::new(&opts.out, opts.fresh, opts.cases.len(), lanes.0 == 1 || !opts.progress)?;
    let jobs = opts
        .cases
        .iter()
        .enumerate()
        .map(|(i, &case)| case_job(opts, i, case, lanes.0 == 1, say))
        .collect::<Result<Vec<_>>>()?;
    let results = steps.run_each(jobs, lanes)?;
    let mut cases = Vec::new();
    for (i, (&case, result)) in opts.cases.iter().zip(results).enumerate() {
        let acceptance = acceptance(case, &result.metrics);
        let counter = format!("[{}/{}] {case}", i + 1, opts.cases.len());
        match steps.reports.iter().find(|r| r.name == case.name()) {
            Some(r) if r.reused => say(&format!(
                "{counter}: reusing the finished run in {} ({:.0} s when it ran)\n",
                opts.out.join("cases").join(case.name()).display(),
                r.seconds
            )),
            _ => {
                say(&format!("{counter}:\n"));
                say_rows(&acceptance, say)
            }
        }
        cases.push(CaseOutcome { result, acceptance });
    }
    let reused: Vec<f64> = steps.reports.iter().filter(|r| r.reused).map(|r| r.seconds).collect();
    let metrics = StudyMetrics {
        command: opts.command.clone(),
        version: env!("CARGO_PKG_VERSION").into(),
        machine: machine(),
        device: opts.device.backend().name(),
        date: today(),
        seconds: start.elapsed().as_secs_f64() + reused.iter().sum::<f64>(),
        reused_cases: reused.len(),
        events: opts.events,
        shower_events: opts.shower_events,
        zjets_events: opts.events_of(Case::Masspeak),
        seed: opts.seed,
        model: opts.classifier.model_spec(1).describe().replace(" 1-", " D-"),
        acceptance: cases.iter().flat_map(|c| c.acceptance.clone()).collect(),
        cases: cases.into_iter().map(|c| c.result).collect(),
    };
    let json = serde_json::to_string_pretty(&metrics).map_err(|e| invalid(format!("metrics.json: {e}")))?;
    write_text(&opts.out.join("metrics.json"), &(json + "\n"))?;
    let page = write_page(&metrics, &opts.out)?;
    Ok((page, metrics))
}

/// One case's result with its acceptance rows.
struct CaseOutcome {
    result: CaseResult,
    acceptance: Vec<AcceptanceRow>,
}

/// The files a finished case leaves in its directory: with its step record, enough to reuse it.
const CASE_FILES: [&str; 6] = ["truth.h5", "generated.h5", "toy.json", "weights.h5", "metrics.json", "index.html"];

/// One case as a step of [`Steps`]: keyed by everything its run depends on (the toy, its
/// events and seed, the classifier configuration and the clustering thresholds), reused when a
/// finished run with the same key left its files in `cases/NAME/`. `alone`: no other case runs
/// beside it, so it may talk and draw its bars.
fn case_job<'a>(
    opts: &'a StudyOptions,
    i: usize,
    case: Case,
    alone: bool,
    say: &'a (dyn Fn(&str) + Sync),
) -> Result<rundir::Job<'a, CaseResult, crate::error::Error>> {
    let dir = opts.out.join("cases").join(case.name());
    let n = opts.events_of(case);
    let config = ClassifierConfig { seed: opts.classifier.seed.wrapping_add(i as u64), ..opts.classifier.clone() };
    let split_by_njets = opts.split_by_njets && case.kind() == crate::io::Kind::Events;
    let key = rundir::key_of(&(case.name(), n, opts.seed, &config, thresholds(case), split_by_njets))
        .ok_or_else(|| invalid(format!("cannot encode the key of case {case} (a bug: please report it)")))?;
    let outputs: Vec<PathBuf> = CASE_FILES.iter().map(|f| dir.join(f)).collect();
    let counter = format!("[{}/{}] {case}", i + 1, opts.cases.len());
    let silent = |_: &str| {};
    Ok(rundir::Job {
        name: case.name().into(),
        what: format!("{case}: {n} events per sample"),
        key,
        outputs,
        // Events per sample: the cases' classifiers have the same size.
        cost: n as f64,
        after: Vec::new(),
        work: Box::new(move || {
            let say: &(dyn Fn(&str) + Sync) = if alone { say } else { &silent };
            say(&format!("{counter}: {n} events per sample\n"));
            run_toy(opts, case, n, config, &dir, (opts.progress && alone, say))
        }),
    })
}

/// Writes `case`'s toy into `dir` and runs it as `genweights run` would.
fn run_toy(
    opts: &StudyOptions,
    case: Case,
    n: usize,
    config: ClassifierConfig,
    dir: &Path,
    (progress, say): (bool, &(dyn Fn(&str) + Sync)),
) -> Result<CaseResult> {
    let bar = nn::progress::bar_if(progress, 2 * n as u64, &format!("toy {case}"));
    let toy = generator::generate(case, n, opts.seed, &bar)?;
    bar.finish_and_clear();
    let files = generator::write(dir, &toy)?;
    let (lower, upper) = thresholds(case);
    let mut ro = RunOptions::new(files.truth.clone(), files.generated.clone(), dir.to_path_buf(), opts.device.clone());
    ro.classifier = config;
    ro.progress = progress;
    ro.plot = Some(vec![toy.info.distorted_observable.clone()]);
    ro.lower_thresholds = lower;
    ro.upper_thresholds = upper;
    ro.expected_gen_mean_w = toy.info.expected_gen_mean_w;
    ro.expected_truth_mean_inverse_w = toy.info.expected_truth_mean_inverse_w;
    ro.name = case.name().into();
    ro.split_by_njets = opts.split_by_njets && case.kind() == crate::io::Kind::Events;
    ro.description = format!("{}. Exact weight: {}.", toy.info.description, toy.info.exact_weight);
    let r = run(&ro, &|s| say(&format!("  {s}")))?;
    Ok(CaseResult { case: case.name().into(), toy: toy.info, metrics: r.metrics })
}

/// The acceptance rows of a case just run, one line each.
fn say_rows(rows: &[AcceptanceRow], say: &dyn Fn(&str)) {
    for row in rows {
        let verdict = match row.passed {
            Some(true) => "pass",
            Some(false) => "FAIL",
            None => "",
        };
        say(&format!("  {}: {} ({}) {verdict}\n", row.test, row.value, row.threshold));
    }
}

/// Writes the study page from its metrics.
pub fn write_page(metrics: &StudyMetrics, dir: &Path) -> Result<PathBuf> {
    let page = dir.join("index.html");
    write_text(&page, &crate::page::study_page(metrics).to_html())?;
    Ok(page)
}
