//! One classifier per group of events (`--split-by njets`, docs/genweights-method.md §1.7): the
//! paper trains its Z+jets classifier per jet multiplicity, each on the inputs that multiplicity
//! has (no zero-padded absent jets), and reads each event's weight from its own group's
//! classifier.

use super::crossfit::part_target;
use super::{train_and_predict, Assembled, ClassifierConfig, ClassifierOutput, TrainTarget};
use crate::error::{invalid, Result};
use crate::features::FeatureMatrix;
use std::collections::HashMap;

/// One group's events of both samples, as the group's own classifier inputs; each matrix's
/// `sample_rows` name the events.
pub struct Group {
    /// For the run directory (`model/NAME/`) and the page.
    pub name: String,
    pub truth: FeatureMatrix,
    pub generated: FeatureMatrix,
}

/// Where each `sample_rows` entry of `part` sits among `all_rows` (the full input matrix's).
fn positions(part: &FeatureMatrix, index: &HashMap<usize, usize>) -> Vec<(usize, usize)> {
    part.sample_rows.iter().enumerate().filter_map(|(r, e)| index.get(e).map(|&d| (r, d))).collect()
}

/// Trains one classifier per group and assembles every event's weight from its group's, row-
/// aligned with the full inputs whose events are `truth_rows` and `generated_rows`. Refuses
/// events that no group holds (they would have no weight). The summary is the first group's,
/// with the training counts, times and offsets of all; the offset error is the event-weighted
/// combination √(Σ (n_g σ_g)²)/N of the groups' independent offsets.
pub fn fit_groups(
    groups: &[Group],
    truth_rows: &[usize],
    generated_rows: &[usize],
    config: &ClassifierConfig,
    target: &TrainTarget,
) -> Result<ClassifierOutput> {
    let index = |rows: &[usize]| -> HashMap<usize, usize> { rows.iter().enumerate().map(|(d, &e)| (e, d)).collect() };
    let (it, ig) = (index(truth_rows), index(generated_rows));
    let covered =
        groups.iter().map(|g| g.truth.rows).sum::<usize>() + groups.iter().map(|g| g.generated.rows).sum::<usize>();
    if covered != truth_rows.len() + generated_rows.len() {
        return Err(invalid(format!(
            "the groups ({}) hold {covered} of the {} events: every event must fall into one group",
            groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join(", "),
            truth_rows.len() + generated_rows.len()
        )));
    }
    let m = config.prediction_members();
    let (mut at, mut ag) = (Assembled::new(truth_rows.len(), m), Assembled::new(generated_rows.len(), m));
    let mut first: Option<ClassifierOutput> = None;
    let (mut offsets, mut weighted_variance, mut train_s, mut predict_s) = (Vec::new(), 0.0, 0.0, 0.0);
    let mut counts = [0usize; 6];
    let mut models = Vec::new();
    for g in groups {
        let out = train_and_predict(&g.truth, &g.generated, config, &part_target(target, g.name.replace(' ', "_")))?;
        at.take(&out.truth, &positions(&g.truth, &it), None);
        ag.take(&out.generated, &positions(&g.generated, &ig), None);
        let s = &out.summary;
        models.push(format!("{}: {}", g.name, s.model));
        offsets.extend_from_slice(&s.member_offsets);
        weighted_variance += ((g.truth.rows + g.generated.rows) as f64 * s.offset_error).powi(2);
        (train_s, predict_s) = (train_s + s.train_seconds, predict_s + s.predict_seconds);
        let c = [s.truth_train, s.generated_train, s.truth_val, s.generated_val, s.truth_test, s.generated_test];
        counts.iter_mut().zip(c).for_each(|(a, b)| *a += b);
        first.get_or_insert(out);
    }
    let Some(mut out) = first else { return Err(invalid("no groups of events to train on")) };
    let s = &mut out.summary;
    s.member_offsets = offsets;
    s.offset_error = weighted_variance.sqrt() / covered as f64;
    (s.train_seconds, s.predict_seconds) = (train_s, predict_s);
    [s.truth_train, s.generated_train, s.truth_val, s.generated_val, s.truth_test, s.generated_test] = counts;
    s.model = format!("one classifier per group: {}", models.join("; "));
    out.truth = at.finish();
    out.generated = ag.finish();
    Ok(out)
}
