//! Prediction: every event's logit per member (or weight draw), shifted to ln w, each member's
//! output offset refitted on the validation split ([`fit_offset`]).

use super::{model_error, ClassifierConfig, PairSplit, TrainTarget, Trained};
use crate::error::{invalid, Result};
use crate::features::FeatureMatrix;
use nn::{predict_rows, PerDraw, PredictOptions};
use std::time::Instant;

/// Both samples' ln w per member, `truth[k][i]` of member k and event i.
pub struct Predicted {
    pub truth: Vec<Vec<f64>>,
    pub generated: Vec<Vec<f64>>,
    /// Per member, the offset refitted on the validation split (0 without `offset_fit`), and
    /// its standard error.
    pub member_offsets: Vec<f64>,
    pub offset_errors: Vec<f64>,
    pub predict_seconds: f64,
}

/// One sample's ln w per member; refuses a non-finite logit (a diverged network).
fn predict_members(
    trained: &Trained,
    m: &FeatureMatrix,
    config: &ClassifierConfig,
    target: &TrainTarget,
) -> Result<Vec<Vec<f64>>> {
    let popts = PredictOptions { draws: config.draws, batch_size: 16384, progress: target.progress };
    let zs = trained.standardizer.transform_rows(&m.values).map_err(|e| model_error("standardizing", e))?;
    let mut per = PerDraw::default();
    predict_rows(trained.model.as_ref(), &zs, m.width(), &popts, &target.device, &mut per)
        .map_err(|e| model_error("predicting", e))?;
    let offset = trained.log_w_offset;
    let members: Vec<Vec<f64>> =
        (0..per.draws).map(|k| per.draw(k).into_iter().map(|f| f + offset).collect()).collect();
    if let Some((k, i)) =
        members.iter().enumerate().find_map(|(k, v)| v.iter().position(|x| !x.is_finite()).map(|i| (k, i)))
    {
        return Err(invalid(format!(
            "member {k} predicts a non-finite logit for event {} (the network diverged): lower --lr or train fewer \
             --epochs",
            m.sample_rows.get(i).copied().unwrap_or(i)
        )));
    }
    Ok(members)
}

/// Predicts ln w of every event of both samples, with the members' offsets refitted when
/// `config.offset_fit`.
pub fn predict(
    truth: &FeatureMatrix,
    generated: &FeatureMatrix,
    split: &PairSplit,
    trained: &Trained,
    config: &ClassifierConfig,
    target: &TrainTarget,
) -> Result<Predicted> {
    let start = Instant::now();
    let (mut mt, mut mg) =
        (predict_members(trained, truth, config, target)?, predict_members(trained, generated, config, target)?);
    let mut member_offsets = vec![0.0; mt.len()];
    let mut offset_errors = vec![0.0; mt.len()];
    if config.offset_fit {
        let v = |m: &[f64], r: &[usize]| -> Vec<f64> { r.iter().map(|&i| m[i]).collect() };
        for k in 0..mt.len() {
            let (c, e) = fit_offset(&v(&mt[k], &split.truth_val), &v(&mg[k], &split.generated_val));
            mt[k].iter_mut().chain(mg[k].iter_mut()).for_each(|f| *f += c);
            member_offsets[k] = c;
            offset_errors[k] = e;
        }
    }
    let predict_seconds = start.elapsed().as_secs_f64();
    Ok(Predicted { truth: mt, generated: mg, member_offsets, offset_errors, predict_seconds })
}

/// The constant c minimising the balanced BCE ½ `E_T[softplus(−(f + c))]` + ½ `E_M[softplus(f + c)]`
/// of held-out log weights f (Newton's method; the loss is convex in c). Its optimum makes
/// `E_T[1 − D]` = `E_M[D]` on those events. The loss barely notices an offset (0.01 in ln w costs
/// ~1e-5 in BCE, below the noise of the validation loss that chooses the epoch), while the
/// normalisation identities `E_gen[w]` = 1 and `E_truth[1/w]` = 1 see it at once; refitting this one
/// parameter on the validation split removes the offset that minibatch noise leaves in the
/// output bias. Returns c and its standard error, √(Var_T(D)/N_T + Var_M(D)/N_M)/h with h the
/// loss's curvature at c (the sandwich estimate of an M-estimator).
pub fn fit_offset(truth: &[f64], generated: &[f64]) -> (f64, f64) {
    use crate::special::sigmoid;
    if truth.is_empty() || generated.is_empty() {
        return (0.0, 0.0);
    }
    let (nt, ng) = (truth.len() as f64, generated.len() as f64);
    let mut c = 0.0;
    for _ in 0..50 {
        let (mut g, mut h) = (0.0, 0.0);
        for &f in truth {
            let s = sigmoid(f + c);
            g -= (1.0 - s) / nt;
            h += s * (1.0 - s) / nt;
        }
        for &f in generated {
            let s = sigmoid(f + c);
            g += s / ng;
            h += s * (1.0 - s) / ng;
        }
        if h.is_nan() || h <= 0.0 {
            break;
        }
        let step = (g / h).clamp(-1.0, 1.0);
        c -= step;
        if step.abs() < 1e-12 {
            break;
        }
    }
    if !c.is_finite() {
        return (0.0, 0.0);
    }
    let moments = |v: &[f64]| -> (f64, f64) {
        let n = v.len() as f64;
        let s: Vec<f64> = v.iter().map(|&f| sigmoid(f + c)).collect();
        let mean = s.iter().sum::<f64>() / n;
        let var = s.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        (var, s.iter().map(|x| x * (1.0 - x)).sum::<f64>() / n)
    };
    let ((vt, ht), (vg, hg)) = (moments(truth), moments(generated));
    let h = ht + hg;
    let err = if h > 0.0 { (vt / nt + vg / ng).sqrt() / h } else { 0.0 };
    (c, if err.is_finite() { err } else { 0.0 })
}
