//! The study's loop: every case's toy written to files, run through [`super::run::run`] as a
//! user would run it, checked against its exact weights, and one page for all.

use super::acceptance::{acceptance, thresholds};
use super::run::{run, RunOptions};
use super::summary::{CaseResult, StudyMetrics};
use crate::error::{invalid, Result};
use crate::evaluate::RunMetrics;
use crate::generator::{self, Case, ToyInfo};
use crate::io::write_text;
use crate::model::ClassifierConfig;
use report::meta::{machine, today};
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
            command: "genweights study".into(),
            fresh: false,
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

/// Runs the study and writes its page; returns the page's path and the metrics.
pub fn study(opts: &StudyOptions, say: &dyn Fn(&str)) -> Result<(PathBuf, StudyMetrics)> {
    let start = Instant::now();
    if opts.cases.is_empty() {
        return Err(invalid("no cases to run"));
    }
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| invalid(format!("{}: cannot create the directory: {e}", opts.out.display())))?;
    let mut cases = Vec::new();
    let mut rows = Vec::new();
    let mut reused_seconds = Vec::new();
    for (i, &case) in opts.cases.iter().enumerate() {
        let dir = opts.out.join("cases").join(case.name());
        let n = opts.events_of(case);
        let config = ClassifierConfig { seed: opts.classifier.seed.wrapping_add(i as u64), ..opts.classifier.clone() };
        if !opts.fresh {
            if let Some((toy, metrics)) = finished(&dir, case, n, opts.seed, &config) {
                say(&format!(
                    "[{}/{}] {case}: reusing the finished run in {}\n",
                    i + 1,
                    opts.cases.len(),
                    dir.display()
                ));
                rows.extend(acceptance(case, &metrics));
                reused_seconds.push(metrics.seconds);
                cases.push(CaseResult { case: case.name().into(), toy, metrics });
                continue;
            }
        }
        say(&format!("[{}/{}] {case}: {n} events per sample\n", i + 1, opts.cases.len()));
        let bar = if opts.progress {
            generator::progress_bar(2 * n as u64, &format!("toy {case}"))
        } else {
            indicatif::ProgressBar::hidden()
        };
        let toy = generator::generate(case, n, opts.seed, &bar)?;
        bar.finish_and_clear();
        let files = generator::write(&dir, &toy)?;
        let (lower, upper) = thresholds(case);
        let mut ro = RunOptions::new(files.truth.clone(), files.generated.clone(), dir.clone(), opts.device.clone());
        ro.classifier =
            ClassifierConfig { seed: opts.classifier.seed.wrapping_add(i as u64), ..opts.classifier.clone() };
        ro.progress = opts.progress;
        ro.plot = Some(vec![toy.info.distorted_observable.clone()]);
        ro.lower_thresholds = lower;
        ro.upper_thresholds = upper;
        ro.expected_gen_mean_w = toy.info.expected_gen_mean_w;
        ro.expected_truth_mean_inverse_w = toy.info.expected_truth_mean_inverse_w;
        ro.name = case.name().into();
        ro.description = format!("{}. Exact weight: {}.", toy.info.description, toy.info.exact_weight);
        let r = run(&ro, &|s| say(&format!("  {s}")))?;
        let case_rows = acceptance(case, &r.metrics);
        for row in &case_rows {
            say(&format!(
                "  {}: {} ({}) {}\n",
                row.test,
                row.value,
                row.threshold,
                match row.passed {
                    Some(true) => "pass",
                    Some(false) => "FAIL",
                    None => "",
                }
            ));
        }
        rows.extend(case_rows);
        cases.push(CaseResult { case: case.name().into(), toy: toy.info, metrics: r.metrics });
    }
    let metrics = StudyMetrics {
        command: opts.command.clone(),
        version: env!("CARGO_PKG_VERSION").into(),
        machine: machine(),
        device: opts.device.backend().name(),
        date: today(),
        seconds: start.elapsed().as_secs_f64() + reused_seconds.iter().sum::<f64>(),
        reused_cases: reused_seconds.len(),
        events: opts.events,
        shower_events: opts.shower_events,
        zjets_events: opts.events_of(Case::Masspeak),
        seed: opts.seed,
        model: opts.classifier.model_spec(1).describe().replace(" 1-", " D-"),
        acceptance: rows,
        cases,
    };
    let json = serde_json::to_string_pretty(&metrics).map_err(|e| invalid(format!("metrics.json: {e}")))?;
    write_text(&opts.out.join("metrics.json"), &(json + "\n"))?;
    let page = write_page(&metrics, &opts.out)?;
    Ok((page, metrics))
}

/// A finished run of this toy and configuration in `dir` (toy.json and metrics.json agree), to
/// reuse instead of training again.
fn finished(dir: &Path, case: Case, n: usize, seed: u64, config: &ClassifierConfig) -> Option<(ToyInfo, RunMetrics)> {
    let toy: ToyInfo = serde_json::from_str(&std::fs::read_to_string(dir.join("toy.json")).ok()?).ok()?;
    let metrics: RunMetrics = serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).ok()?).ok()?;
    let same = toy.case == case && toy.events == n && toy.seed == seed && metrics.analysis.training.config == *config;
    same.then_some((toy, metrics))
}

/// Writes the study page from its metrics.
pub fn write_page(metrics: &StudyMetrics, dir: &Path) -> Result<PathBuf> {
    let page = dir.join("index.html");
    write_text(&page, &crate::page::study_page(metrics).to_html())?;
    Ok(page)
}
