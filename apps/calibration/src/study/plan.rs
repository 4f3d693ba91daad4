//! The steps of a study that run side by side ([`rundir::Steps::run_each`]): the trainings, the
//! samples and tables that no training reads, and every network's predictions, each after its
//! training and its test sample. The costliest ready step starts first, so a lane with no
//! training left makes the samples and predicts with the networks that are done while the
//! longest training still runs, and little is left for after it (benches/README.md, "Where the
//! step goes, and trainings side by side").

use super::steps::{
    predict_job, say_to, train_job, Made, ScanNetwork, ScanPoint, ScanRun, StepJob, StudyOptions, TrainPlan, Trained,
};
use crate::error::{Error, Result};
use crate::explain::ExplainSummary;
use crate::io::DataSource;
use crate::model::train::TrainSummary;
use rundir::Steps;
use std::path::{Path, PathBuf};

/// A set of steps to run side by side, each after the steps whose outputs it reads.
pub(super) struct SidePlan<'a> {
    jobs: Vec<StepJob<'a>>,
    /// One step at a time (`--jobs 1` or one core): a training may print its own lines.
    alone: bool,
}

/// A step in a [`SidePlan`]: where its result will be, and its key (for the keys of the steps
/// that read its outputs).
#[derive(Debug, Clone)]
pub(super) struct Planned {
    index: usize,
    pub(super) key: String,
}

/// A training in a [`SidePlan`], with its plan.
pub(super) struct PlannedTraining {
    pub(super) plan: TrainPlan,
    pub(super) step: Planned,
}

impl<'a> SidePlan<'a> {
    pub(super) fn new(opts: &StudyOptions) -> Self {
        SidePlan { jobs: Vec::new(), alone: rundir::lane_plan(usize::MAX, opts.jobs).0 == 1 }
    }

    /// Adds `job`, to start once the steps `after` have finished.
    pub(super) fn add(&mut self, mut job: StepJob<'a>, after: &[&Planned]) -> Planned {
        job.after = after.iter().map(|p| p.index).collect();
        let key = job.key.clone();
        self.jobs.push(job);
        Planned { index: self.jobs.len() - 1, key }
    }

    /// Adds the training of `plan` on `data` (whose step key is `data_key`, and which holds at
    /// most `rows` clusters when that is known).
    pub(super) fn add_training(
        &mut self,
        plan: TrainPlan,
        data: (&DataSource, &str, Option<usize>),
        opts: &StudyOptions,
    ) -> Result<PlannedTraining> {
        let step = self.add(train_job(&plan, data, opts, self.alone)?, &[]);
        Ok(PlannedTraining { plan, step })
    }

    /// Adds the prediction of `test` (whose step key is `test_key`; `sample` is the step that
    /// makes it, if any) with the network of `network` into `out`.
    pub(super) fn add_prediction(
        &mut self,
        (name, what): (String, String),
        network: &PlannedTraining,
        (test, test_key, sample): (&DataSource, &str, Option<&Planned>),
        out: &Path,
        opts: &StudyOptions,
    ) -> Result<Planned> {
        let model = (network.plan.dir.as_path(), network.step.key.as_str());
        let job = predict_job((name, what), model, (test, test_key), out, opts)?;
        let mut after = vec![&network.step];
        after.extend(sample);
        Ok(self.add(job, &after))
    }

    /// Adds the predictions of a training-size scan of `network` on `test` (as in
    /// [`SidePlan::add_prediction`]): one per size, with its training (from [`scan_trainings`]).
    pub(super) fn add_scan(
        &mut self,
        network: ScanNetwork,
        points: &[(usize, ScanTraining)],
        test: (&DataSource, &str, Option<&Planned>),
        opts: &StudyOptions,
    ) -> Result<Vec<PlannedScanRun>> {
        let (tag, label) = (network.tag(), network.label());
        let mut runs = Vec::new();
        for (n, training) in points {
            let (n, (training, is_main)) = (*n, training.get());
            if is_main {
                say_to(opts, &format!("      {tag}: N = {n} is the main {label} ({})\n", training.plan.dir.display()));
            }
            let path = opts.out.join("predictions").join(format!("{tag}-{n}.h5"));
            let names = (format!("predict-{tag}-{n}"), format!("{tag}: predict with the N = {n} {label}"));
            let step = self.add_prediction(names, training, test, &path, opts)?;
            runs.push(PlannedScanRun { n, training: training.step.clone(), predictions: (step, path) });
        }
        Ok(runs)
    }

    /// Runs every step, side by side; returns what each made, by [`Planned`].
    pub(super) fn run(self, steps: &mut Steps, opts: &StudyOptions) -> Result<SideResults> {
        let names = self.jobs.iter().map(|j| j.name.clone()).collect();
        let lanes = rundir::lane_plan(self.jobs.len(), opts.jobs);
        Ok(SideResults { made: steps.run_each(self.jobs, lanes)?, names, out: opts.out.clone() })
    }
}

/// A scan point in a [`SidePlan`]: its size, its training and its prediction step and file.
pub(super) struct PlannedScanRun {
    n: usize,
    training: Planned,
    predictions: (Planned, PathBuf),
}

/// What the steps of a [`SidePlan`] made.
pub(super) struct SideResults {
    made: Vec<Made>,
    names: Vec<String>,
    out: PathBuf,
}

impl SideResults {
    /// The record of `step` is not of its kind: a record written by another version, or edited.
    fn not_its_kind(&self, step: &Planned, kind: &str) -> Error {
        let name = &self.names[step.index];
        Error::invalid(format!(
            "{}: the record of step {name} does not hold {kind}: run the study again with --fresh",
            self.out.join("steps").join(format!("{name}.json")).display()
        ))
    }

    /// The summary of the training `step`.
    fn summary(&self, step: &Planned) -> Result<&TrainSummary> {
        match &self.made[step.index] {
            Made::Trained(summary) => Ok(summary),
            _ => Err(self.not_its_kind(step, "a training's summary")),
        }
    }

    /// The trained network of `training`.
    pub(super) fn trained(&self, training: &PlannedTraining) -> Result<Trained> {
        Ok(Trained {
            config: training.plan.config.clone(),
            dir: training.plan.dir.clone(),
            summary: self.summary(&training.step)?.clone(),
        })
    }

    /// The number of draws of the prediction `step`.
    pub(super) fn draws(&self, step: &Planned) -> Result<usize> {
        match &self.made[step.index] {
            Made::Predicted(draws) => Ok(*draws),
            _ => Err(self.not_its_kind(step, "a prediction's number of draws")),
        }
    }

    /// What the page shows of the explanation `step`.
    pub(super) fn explained(&self, step: &Planned) -> Result<ExplainSummary> {
        match &self.made[step.index] {
            Made::Explained(summary) => Ok((**summary).clone()),
            _ => Err(self.not_its_kind(step, "an explanation's summary")),
        }
    }

    /// The scan's points, once their trainings and predictions are done.
    pub(super) fn scan_runs(&self, runs: &[PlannedScanRun]) -> Result<Vec<ScanRun>> {
        runs.iter()
            .map(|r| {
                self.draws(&r.predictions.0)?;
                let summary = self.summary(&r.training)?;
                Ok(ScanRun {
                    n: r.n,
                    predictions: r.predictions.1.clone(),
                    seconds: summary.seconds,
                    n_train: summary.n_train,
                })
            })
            .collect()
    }
}

/// The scan of `network` over `points` (from [`super::steps::scan_plans`]): each size with its
/// own training, added to `plan`, or the main network's.
pub(super) fn scan_trainings<'t>(
    plan: &mut SidePlan,
    points: Vec<ScanPoint>,
    main: Option<&'t PlannedTraining>,
    data: (&DataSource, &str, Option<usize>),
    opts: &StudyOptions,
) -> Result<Vec<(usize, ScanTraining<'t>)>> {
    points
        .into_iter()
        .map(|point| match point {
            ScanPoint::Own(n, own) => Ok((n, ScanTraining::Own(Box::new(plan.add_training(*own, data, opts)?)))),
            ScanPoint::Main(n) => main
                .map(|m| (n, ScanTraining::Main(m)))
                .ok_or_else(|| Error::invalid("a scan point is the main network, which the study does not train")),
        })
        .collect()
}

/// The training of a scan point: its own, or the main network's.
pub(super) enum ScanTraining<'t> {
    Own(Box<PlannedTraining>),
    Main(&'t PlannedTraining),
}

impl ScanTraining<'_> {
    pub(super) fn get(&self) -> (&PlannedTraining, bool) {
        match self {
            ScanTraining::Own(t) => (t, false),
            ScanTraining::Main(t) => (t, true),
        }
    }
}
