//! `genweights flow-study`: flows trained in sigmagrad on toys whose truth density is known in
//! closed form, then judged by the classifier weights against their exact ln w = ln p_truth −
//! ln p_flow (docs/genweights-method.md §11.5). Per toy ([`toys`]) a flow trains on truth
//! events, is sampled, and `genweights run` compares fresh truth events with the sample
//! ([`mod@case`]); the page shows what the weights found in each flow ([`findings`]), and one
//! Bayesian INN's uncertainty against the weights. One metrics.json, one page, the acceptance
//! rows of [`mod@acceptance`].
//!
//! Layout of `--out`: `cases/NAME/` holds `flow-train.h5` and `flow/` (the flow's training
//! events and model directory), `truth.h5` and `generated.h5` (with `log_w_true`, and the
//! sample's `log_p`/`log_p_draws`), and the run's `weights.h5`, `metrics.json`, `index.html`,
//! `model/`; `metrics.json` and `index.html` of the study at the top.

pub mod acceptance;
pub mod case;
pub mod findings;
pub mod kl;
pub mod summary;
pub mod toys;

pub use acceptance::flow_acceptance;
pub use summary::{FlowCase, FlowStudyMetrics};
pub use toys::FlowToy;

use crate::error::{invalid, Result};
use crate::flow::FlowTrainConfig;
use crate::io::write_text;
use crate::model::ClassifierConfig;
use case::{run_case, CaseSettings};
use report::meta::{machine, today};
use sigmagrad::Device;
use std::path::PathBuf;
use std::time::Instant;

/// How large a flow study runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// 10⁵ training events per flow, 10⁵ events per sample for the classifier, the app's
    /// default flow and classifier: a few minutes on 2 cores.
    Quick,
    /// Seconds: 2000 events, tiny networks, a few epochs (CI).
    Tiny,
}

impl std::str::FromStr for Preset {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "quick" => Ok(Preset::Quick),
            "tiny" => Ok(Preset::Tiny),
            _ => Err(format!("'{s}': the presets are quick and tiny")),
        }
    }
}

impl Preset {
    pub fn name(self) -> &'static str {
        match self {
            Preset::Quick => "quick",
            Preset::Tiny => "tiny",
        }
    }
}

/// What the flow study runs.
#[derive(Debug, Clone)]
pub struct FlowStudyOptions {
    pub out: PathBuf,
    pub preset: Preset,
    pub toys: Vec<FlowToy>,
    /// The toy the Bayesian INN is trained on (None: no Bayesian INN).
    pub bayesian_toy: Option<FlowToy>,
    pub train_events: usize,
    pub events: usize,
    pub flow: FlowTrainConfig,
    pub classifier: ClassifierConfig,
    pub seed: u64,
    pub device: Device,
    pub progress: bool,
    pub command: String,
    /// How many cases run at once (None: one per core; see `rundir::parallel`).
    pub jobs: Option<usize>,
}

impl FlowStudyOptions {
    /// The preset's sizes and networks.
    pub fn new(out: PathBuf, preset: Preset, device: Device) -> FlowStudyOptions {
        let (train_events, events, flow, classifier) = match preset {
            Preset::Quick => (100_000, 100_000, FlowTrainConfig::default(), ClassifierConfig::default()),
            Preset::Tiny => (
                2000,
                2000,
                FlowTrainConfig {
                    blocks: 2,
                    hidden: vec![16],
                    epochs: 3,
                    batch_size: 256,
                    draws: 4,
                    ..FlowTrainConfig::default()
                },
                ClassifierConfig { members: 1, hidden: vec![16], epochs: 3, batch_size: 256, ..Default::default() },
            ),
        };
        FlowStudyOptions {
            out,
            preset,
            toys: FlowToy::ALL.to_vec(),
            bayesian_toy: Some(FlowToy::EdgeBanana),
            train_events,
            events,
            flow,
            classifier,
            seed: 1,
            device,
            progress: true,
            command: "genweights flow-study".into(),
            jobs: None,
        }
    }

    /// The cases: every toy's flow, then the Bayesian INN.
    fn cases(&self) -> Vec<(FlowToy, String, FlowTrainConfig)> {
        let mut out: Vec<_> = self.toys.iter().map(|&t| (t, t.name().to_string(), self.flow.clone())).collect();
        if let Some(t) = self.bayesian_toy {
            out.push((t, format!("{}-binn", t.name()), FlowTrainConfig { bayesian: true, ..self.flow.clone() }));
        }
        out
    }
}

/// Runs the flow study and writes its page; returns the page's path and the metrics. The cases
/// are independent, so they run side by side on the cores (`rundir::parallel`; their numbers do
/// not depend on it); with more than one at a time their own messages and bars are left out
/// and each case's rows are printed when all are done.
pub fn flow_study(opts: &FlowStudyOptions, say: &(dyn Fn(&str) + Sync)) -> Result<(PathBuf, FlowStudyMetrics)> {
    let start = Instant::now();
    opts.flow.validate()?;
    crate::study::run::check_classifier(&opts.classifier)?;
    if opts.events < 100 || opts.train_events < 100 {
        return Err(invalid("the flow study needs at least 100 events per sample and 100 to train on"));
    }
    crate::io::create_out_dir(&opts.out)?;
    let _lock = rundir::RunLock::acquire(&opts.out)?;
    let plan = opts.cases();
    let lanes = rundir::lane_plan(plan.len(), opts.jobs);
    let alone = lanes.0 == 1;
    let silent = |_: &str| {};
    let tasks = plan
        .iter()
        .enumerate()
        .map(|(i, (toy, name, flow))| {
            let settings = CaseSettings {
                toy: *toy,
                name: name.clone(),
                train_events: opts.train_events,
                events: opts.events,
                flow: FlowTrainConfig { seed: opts.flow.seed.wrapping_add(i as u64), ..flow.clone() },
                classifier: ClassifierConfig {
                    seed: opts.classifier.seed.wrapping_add(i as u64),
                    ..opts.classifier.clone()
                },
                seed: sigmagrad::Rng::new(opts.seed).fork(i as u64).seed(),
                device: &opts.device,
                progress: opts.progress && alone,
            };
            let heading = format!("[{}/{}] {name}: {}\n", i + 1, plan.len(), toy.description());
            if !alone {
                say(&heading);
            }
            let dir = opts.out.join("cases").join(name);
            // A Bayesian flow draws several flows: it costs about twice a plain one.
            let cost = if flow.bayesian { 2.0 } else { 1.0 };
            rundir::Task::<FlowCase, crate::error::Error>::new(cost, move || {
                let say: &(dyn Fn(&str) + Sync) = if alone { say } else { &silent };
                say(&heading);
                let case = run_case(&settings, &dir, say)?;
                if alone {
                    say_rows(&case, say);
                }
                Ok(case)
            })
        })
        .collect();
    let cases = rundir::side_by_side(tasks, lanes)?;
    if !alone {
        for (name, case) in plan.iter().map(|p| &p.1).zip(&cases) {
            say(&format!("{name}:\n"));
            say_rows(case, say);
        }
    }
    let metrics = FlowStudyMetrics {
        command: opts.command.clone(),
        version: env!("CARGO_PKG_VERSION").into(),
        machine: machine(),
        device: opts.device.backend().name(),
        date: today(),
        preset: opts.preset.name().into(),
        seed: opts.seed,
        train_events: opts.train_events,
        events: opts.events,
        seconds: start.elapsed().as_secs_f64(),
        acceptance: cases.iter().flat_map(flow_acceptance).collect(),
        cases,
    };
    let json = serde_json::to_string_pretty(&metrics).map_err(|e| invalid(format!("metrics.json: {e}")))?;
    write_text(&opts.out.join("metrics.json"), &(json + "\n"))?;
    Ok((write_page(&metrics, &opts.out)?, metrics))
}

/// A case's acceptance rows, one line each.
fn say_rows(case: &FlowCase, say: &dyn Fn(&str)) {
    for r in flow_acceptance(case) {
        let verdict = r.passed.map_or("", |p| if p { " pass" } else { " FAIL" });
        say(&format!("  {}: {} ({}){verdict}\n", r.test, r.value, r.threshold));
    }
}

/// Writes the flow study's page into `dir` from its metrics.
pub fn write_page(metrics: &FlowStudyMetrics, dir: &std::path::Path) -> Result<PathBuf> {
    let page = dir.join("index.html");
    write_text(&page, &crate::page::flow_study_page(metrics).to_html())?;
    Ok(page)
}
