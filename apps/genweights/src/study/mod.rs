//! `genweights study`: every toy case (and the null tests) written to files, run through
//! [`crate::study::run::run`] as a user would run them, and compared with the exact weights; one page
//! and one metrics.json for all, with the acceptance table of issue 13:
//!
//! - per toy, median |learned − exact| ln w < 0.05 over the events with |exact ln w| < 1;
//! - per toy, the learned top 1 % of truth finds the exact top 1 %, exact ln w within the
//!   classifier's resolution τ of the exact cut counting as tied, with a skill over a random
//!   selection ≥ 0.5 ([`crate::evaluate::top_within_resolution`]; the plain overlap is
//!   reported beside it);
//! - the tailcut AUC within 0.01 of the exact AUC;
//! - the normalisation identities within 3 standard errors of their exact expectations;
//! - the null tests' width of ln w (reported).
//!
//! Layout of the output directory: `cases/NAME/` holds each toy's `truth.h5`, `generated.h5`,
//! `toy.json` and the run's `weights.h5`, `metrics.json`, `index.html` and `model/`; the study's
//! `index.html` and `metrics.json` sit at the top.

use crate::error::{invalid, Result};
pub mod run;

use crate::evaluate::ExactAnalysis;
use crate::generator::{self, Case, ToyInfo};
use crate::model::ClassifierConfig;
use crate::study::run::{run, write_text, RunMetrics, RunOptions};
use serde::{Deserialize, Serialize};
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

/// One case of the study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    pub case: String,
    pub toy: ToyInfo,
    pub metrics: RunMetrics,
}

/// The study's metrics.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyMetrics {
    pub command: String,
    pub version: String,
    pub machine: String,
    pub device: String,
    pub date: String,
    /// The study's wall time: this run's, plus the recorded time of every case it reused, so a
    /// re-run still says how long the study takes.
    pub seconds: f64,
    /// Cases taken from an earlier run's directory instead of trained again.
    #[serde(default)]
    pub reused_cases: usize,
    pub events: usize,
    pub shower_events: usize,
    #[serde(default)]
    pub zjets_events: usize,
    pub seed: u64,
    pub model: String,
    pub acceptance: Vec<AcceptanceRow>,
    pub cases: Vec<CaseResult>,
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

pub use report::meta::{machine, today};

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
        "< 0.05",
        Some(med.is_some_and(|v| v < 0.05)),
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
        threshold: "skill ≥ 0.5".into(),
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
            Some(t.skill >= 0.5),
        ),
        None => row("n/a: every truth event within τ of the exact cut, no selection can fail".into(), None),
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
            crate::cli::progress_bar(2 * n as u64, &format!("toy {case}"))
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
