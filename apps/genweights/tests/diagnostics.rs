//! The diagnostics on inputs whose answers are known.

use genweights::metrics::calibration::WeightCalibration;
use genweights::metrics::clustering::paper_quantiles;
use genweights::metrics::roc::trapezoid_area;
use genweights::metrics::*;
use genweights::special::{chi2_cdf, chi2_sf};
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use stats::Binning;

fn normals(n: usize, mean: f64, seed: u64) -> Vec<f64> {
    let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(&mut r);
            mean + z
        })
        .collect()
}

#[test]
fn auc_of_identical_samples_is_one_half_and_of_separated_ones_one() {
    let a = normals(1000, 0.0, 1);
    assert_eq!(auc(&a, &a).unwrap(), 0.5);
    let constant = vec![0.3; 50];
    assert_eq!(auc(&constant, &constant[..20]).unwrap(), 0.5);
    let b: Vec<f64> = a.iter().map(|x| x + 100.0).collect();
    assert_eq!(auc(&b, &a).unwrap(), 1.0);
    assert_eq!(auc(&a, &b).unwrap(), 0.0);
    // Infinite truth weights rank at the top; ties among them count ½.
    let truth = [f64::INFINITY, f64::INFINITY, 0.0, 0.0];
    assert_eq!(auc(&truth, &[0.0, 0.0]).unwrap(), 0.75);
    assert_eq!(auc(&[f64::INFINITY], &[f64::INFINITY, 1.0]).unwrap(), 0.75);
    assert!(auc(&[f64::NAN], &[1.0]).is_err());
}

#[test]
fn auc_of_two_unit_gaussians_matches_the_closed_form_and_the_roc_area() {
    // Shift 1: AUC = Φ(1/√2) = 0.760249.
    let (t, g) = (normals(20_000, 1.0, 2), normals(20_000, 0.0, 3));
    let a = auc(&t, &g).unwrap();
    assert!((a - 0.760_249).abs() < 0.01, "{a}");
    let roc = roc_curve(&t, &g, usize::MAX).unwrap();
    assert!((trapezoid_area(&roc) - a).abs() < 1e-12);
    assert_eq!((roc.false_positive[0], *roc.true_positive.last().unwrap()), (0.0, 1.0));
    let thin = roc_curve(&t, &g, 100).unwrap();
    assert!(thin.false_positive.len() <= 101 && (trapezoid_area(&thin) - a).abs() < 2e-3);
}

#[test]
fn pav_solves_a_known_sequence() {
    // Textbook: [1, 3, 2, 4, 3, 5] → [1, 2.5, 2.5, 3.5, 3.5, 5].
    assert_eq!(pav(&[1.0, 3.0, 2.0, 4.0, 3.0, 5.0], &[1.0; 6]), vec![1.0, 2.5, 2.5, 3.5, 3.5, 5.0]);
    // A decreasing run pools to its weighted mean.
    assert_eq!(pav(&[3.0, 2.0, 1.0], &[1.0, 1.0, 2.0]), vec![1.75, 1.75, 1.75]);
    let y = [0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0];
    let fit = pav(&y, &[1.0; 8]);
    assert!(fit.windows(2).all(|w| w[0] <= w[1]));
    assert!((fit.iter().sum::<f64>() - y.iter().sum::<f64>()).abs() < 1e-12, "PAV keeps the mean");
}

#[test]
fn isotonic_recalibration_undoes_a_monotone_distortion() {
    // Scores that are 3 × the true log w: recalibrated, they come back close to the truth.
    let (t, g) = (normals(40_000, 0.5, 4), normals(40_000, -0.5, 5));
    // For N(±½, 1), the exact log w is x.
    let scaled = |v: &[f64]| v.iter().map(|x| 3.0 * x).collect::<Vec<_>>();
    let cal = IsotonicCalibration::fit(&scaled(&t), &scaled(&g)).unwrap();
    for x in [-1.0, 0.0, 0.7] {
        let got = cal.calibrated_log_w(3.0 * x);
        assert!((got - x).abs() < 0.12, "log w({x}) recalibrated to {got}");
    }
    assert!(cal.calibrated_d(f64::INFINITY) <= 1.0 - 1e-6 && cal.calibrated_d(-1e9) >= 1e-6);
}

#[test]
fn chi2_cdf_matches_tabulated_critical_values() {
    for (x, k, p) in [
        (3.841_458_820_694_124, 1.0, 0.95),
        (6.634_896_601_021_214, 1.0, 0.99),
        (5.991_464_547_107_979, 2.0, 0.95),
        (18.307_038_053_275_146, 10.0, 0.95),
        (43.772_971_825_742_18, 30.0, 0.95),
        (0.454_936_423_119_572_7, 1.0, 0.5),
    ] {
        assert!((chi2_cdf(x, k) - p).abs() < 1e-12, "cdf({x}; {k}) = {}", chi2_cdf(x, k));
    }
    // e^{-50} Σ_{j<25} 50^j/j!, evaluated in exact rationals.
    assert!((chi2_sf(100.0, 50.0) / 3.454_931_382_984_864e-5 - 1.0).abs() < 1e-12);
}

#[test]
fn weight_histograms_clip_normalise_and_band() {
    let t = vec![0.0, 0.1, f64::INFINITY, -0.2, 0.5];
    let g = vec![0.0, f64::NEG_INFINITY, -0.1, 0.2, 0.05];
    for axis in WeightAxis::paper_variants() {
        let h = weight_histograms(&t, &g, &WeightHistOptions::new(axis)).unwrap();
        assert!((h.truth.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{axis:?}");
        assert!((h.generated.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{axis:?}");
        assert!(h.clip_low > 0.0 && h.clip_high < f64::INFINITY);
    }
    // The infinite truth weight is clipped to the largest finite weight, into the last bin.
    let h = weight_histograms(&t, &g, &WeightHistOptions::new(WeightAxis::LogClipped { bins: 10 })).unwrap();
    assert!((h.truth[9] - 2.0 / 5.0).abs() < 1e-12, "{:?}", h.truth);
    // Ensemble band: identical members give a zero-width band.
    let e = ensemble_weight_histograms(
        &[t.clone(), t.clone()],
        &[g.clone(), g.clone()],
        &WeightHistOptions::new(WeightAxis::LogClipped { bins: 10 }),
    )
    .unwrap();
    assert_eq!(e.truth.low, e.truth.high);
    assert_eq!(e.truth.median, h.truth);
}

#[test]
fn calibrated_weights_lie_on_the_diagonal() {
    // Truth N(½, 1) against generated N(−½, 1): ln w = x exactly.
    let (t, g) = (normals(100_000, 0.5, 6), normals(100_000, -0.5, 7));
    let c = weight_calibration(&t, &g, &WeightCalibration::paper_binning()).unwrap();
    let mut checked = 0;
    for b in c.bins.iter().filter(|b| b.n_truth > 500 && b.n_gen > 500) {
        let (r, e, w) = (b.ratio.unwrap(), b.error.unwrap(), b.mean_gen_w.unwrap());
        assert!((r - w).abs() < 4.0 * e, "bin {}: {r} ± {e} vs {w}", b.centre);
        checked += 1;
    }
    assert!(checked >= 8, "{checked}");
    let rel = reliability_curve(&t, &g, 20).unwrap();
    for b in rel.bins.iter().filter(|b| b.count > 1000) {
        assert!((b.fraction_positive - b.mean_predicted).abs() < 4.0 * b.error + 1e-3, "{b:?}");
    }
    let id = normalisation_identities(&t, &g).unwrap();
    assert!(id.gen_mean_w.holds_within(3.0) && id.truth_mean_inverse_w.holds_within(3.0), "{id:?}");
    // A miscalibrated classifier (ln w doubled) fails the identity.
    let d: Vec<f64> = g.iter().map(|x| 2.0 * x).collect();
    assert!(!normalisation_identities(&t, &d).unwrap().gen_mean_w.holds_within(3.0));
}

#[test]
fn threshold_and_quantile_clustering_select_the_tails() {
    // A toy where the weight is the observable: truth N(½,1), generated N(−½,1), ln w = x.
    let (t, g) = (normals(20_000, 0.5, 8), normals(20_000, -0.5, 9));
    let b = Binning::linear(-4.0, 4.0, 40);
    let c = threshold_clusters(&t, &g, &t, &g, &[0.5], &[2.0], &b).unwrap();
    assert!(c.lower[0].events.iter().all(|&i| g[i] < 0.5f64.ln()));
    assert!(c.upper[0].events.iter().all(|&i| t[i] > 2f64.ln()));
    assert_eq!(c.upper[0].events.len(), t.iter().filter(|&&x| x > 2f64.ln()).count());
    let q = quantile_clusters(&t, &g, &t, &g, &paper_quantiles(), &b).unwrap();
    assert_eq!(q.len(), 20);
    // Beyond a threshold the truth tail is the generated one tilted by w, so the shapes differ
    // and the far tails give tiny p-values.
    assert!(q[5].high_tail.p_value.unwrap() < 1e-3 && q[5].low_tail.p_value.unwrap() < 1e-3, "{:?}", q[5]);
    // Two samples of one distribution, scored by x: the tails agree (4 of 40 allowed below 1 %).
    let h = normals(20_000, -0.5, 14);
    let q = quantile_clusters(&g, &h, &g, &h, &paper_quantiles(), &b).unwrap();
    let small =
        q.iter().flat_map(|p| [p.low_tail.p_value, p.high_tail.p_value]).flatten().filter(|&p| p < 0.01).count();
    assert!(small <= 4, "{small} tiny p-values in a null comparison");
    // Identical histograms: χ² = 0 and p = 1; disjoint ones: p ≈ 0.
    let same = chi2_compare(&[10.0, 20.0, 30.0], &[20.0, 40.0, 60.0]);
    assert_eq!((same.chi2, same.dof, same.p_value), (0.0, 2, Some(1.0)));
    assert!(chi2_compare(&[100.0, 0.0], &[0.0, 100.0]).p_value.unwrap() < 1e-20);
}

#[test]
fn exact_weights_reweight_generated_to_truth() {
    let (t, g) = (normals(50_000, 0.5, 10), normals(50_000, -0.5, 11));
    let b = Binning::linear(-3.0, 3.0, 12);
    let r = reweighted_observable(&t, &g, &g, &b).unwrap();
    for i in 0..12 {
        let (rw, tr) = (r.reweighted[i], r.truth[i]);
        let err = (r.reweighted_error[i].powi(2) + r.truth_error[i].powi(2)).sqrt();
        assert!((rw - tr).abs() < 4.0 * err, "bin {i}: {rw} vs {tr} ± {err}");
        let centre = b.centres()[i];
        assert!((r.mean_weight[i].unwrap().ln() - centre).abs() < 0.1, "⟨w⟩ in bin {i}");
    }
}

#[test]
fn learned_against_exact_and_ensembles() {
    let (t, g) = (normals(10_000, 0.5, 12), normals(10_000, -0.5, 13));
    let noisy = |v: &[f64], s: u64| {
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(s);
        v.iter().map(|x| x + 0.02 * (r.random::<f64>() - 0.5)).collect::<Vec<_>>()
    };
    let c = compare_to_exact(&noisy(&t, 1), &noisy(&g, 2), &t, &g).unwrap();
    assert!(c.bulk_median_abs_residual.unwrap() < 0.01 && c.top_percent_overlap.unwrap() > 0.8, "{c:?}");
    assert!((c.learned_auc - c.optimal_auc).abs() < 0.005 && c.learned_bce >= c.optimal_bce - 1e-4);
    // For equal samples the optimal BCE is ln 2.
    assert!((bce(&[0.0; 4], &[0.0; 4]).unwrap() - 2f64.ln()).abs() < 1e-15);
    // Averaging D: members ±a combine to ln w = 0; one member is itself.
    let m = combine_members(&[vec![1.0, 30.0], vec![-1.0, 30.0]]).unwrap();
    assert!(m.log_w[0].abs() < 1e-15 && (m.log_w[1] - 30.0).abs() < 1e-12 && m.std_log_w[1] == 0.0);
    assert!((log_w_from_logit(0.0, 200, 100) - 2f64.ln()).abs() < 1e-15);
}

#[test]
fn summaries_serialise_without_nan() {
    let t = vec![0.0, 0.3, f64::INFINITY, -0.1];
    let g = vec![0.0, f64::NEG_INFINITY, -0.4, 0.2];
    let s = WeightSummary::compute(&t, &g).unwrap();
    // serde_json writes a NaN as null, so nulls may only be the Options of undefined numbers.
    let value = serde_json::to_value(&s).unwrap();
    fn walk(v: &serde_json::Value, key: &str, bad: &mut Vec<String>) {
        match v {
            serde_json::Value::Null if !["ratio", "error", "mean_gen_w"].contains(&key) => bad.push(key.to_string()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, key, bad)),
            serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| walk(x, k, bad)),
            _ => {}
        }
    }
    let mut bad = Vec::new();
    walk(&value, "", &mut bad);
    assert!(bad.is_empty(), "null (NaN?) under {bad:?}");
    let spread = log_weight_spread(&[0.0; 10], &[0.0; 10]).unwrap();
    assert_eq!(spread.half_width_68, Some(0.0));
}

#[test]
fn the_top_percent_within_resolution_passes_exact_weights_and_fails_wrong_ones() {
    use genweights::metrics::top::{top_fraction_overlap_ties, top_within_resolution};
    // A flat maximum, as in the smeared toy: exact ln w = 0.3 − x² with x ~ N(0, 1), so the exact
    // top 1 % lies within |x| < 0.0125 and spans 1.6e-4 in ln w.
    let x = normals(20_000, 0.0, 11);
    let exact: Vec<f64> = x.iter().map(|x| 0.3 - x * x).collect();
    let noise = normals(20_000, 0.0, 12);
    // A good classifier: exact + N(0, 0.02²); τ is its median |residual| (0.6745 σ).
    let tau = 0.6745 * 0.02;
    let good: Vec<f64> = exact.iter().zip(&noise).map(|(e, z)| e + 0.02 * z).collect();
    // The overlap cannot tell it from a bad one here: far below 0.5.
    assert!(top_fraction_overlap_ties(&good, &exact, 0.01).unwrap() < 0.2);
    let at = |learned: &[f64]| top_within_resolution(learned, &exact, 0.01, tau).unwrap();
    let exact_top = at(&exact);
    assert_eq!((exact_top.score, exact_top.skill), (1.0, 1.0));
    // A random 1 % has |x| < 0.12 (within τ of the cut) about 9 % of the time.
    assert!(exact_top.chance > 0.05 && exact_top.chance < 0.15, "chance {}", exact_top.chance);
    assert!(at(&good).skill >= 0.5, "good: {:?}", at(&good));
    // Reversed, random and a classifier 10 times noisier fail.
    let reversed: Vec<f64> = exact.iter().map(|e| -e).collect();
    assert!(at(&reversed).skill < 0.0, "{:?}", at(&reversed));
    assert!(at(&noise).skill.abs() < 0.1, "random: {:?}", at(&noise));
    let noisy: Vec<f64> = exact.iter().zip(&noise).map(|(e, z)| e + 0.2 * z).collect();
    assert!(at(&noisy).skill < 0.5, "noisy: {:?}", at(&noisy));
    // Where every truth event is within τ of the cut, no selection can fail: not applicable.
    assert!(top_within_resolution(&good, &vec![0.0; 20_000], 0.01, tau).is_none());
    assert!(top_within_resolution(&good, &exact, 0.01, f64::NAN).is_none());
    // A tie at an infinite cut (the tailcut's w = ∞ above a tie at F): the infinite events must
    // be found; the places left may go to any tied event.
    let mut steps = vec![-0.005; 1000];
    steps[..6].iter_mut().for_each(|e| *e = f64::INFINITY);
    let finds = |top: &[usize]| -> Vec<f64> { (0..1000).map(|i| if top.contains(&i) { 1.0 } else { 0.0 }).collect() };
    let found = top_within_resolution(&finds(&[0, 1, 2, 3, 4, 5, 500, 600, 700, 800]), &steps, 0.01, 0.01).unwrap();
    assert_eq!((found.clear, found.score, found.skill), (6, 1.0, 1.0));
    // More than 1 % of truth at w = ∞: the cut is infinite, and metrics.json reads back.
    let mut infinite = vec![0.0; 1000];
    infinite[..20].iter_mut().for_each(|e| *e = f64::INFINITY);
    let all = top_within_resolution(&infinite, &infinite, 0.01, 0.01).unwrap();
    assert_eq!((all.cut, all.near, all.skill), (None, 20, 1.0));
    let json = serde_json::to_string(&all).unwrap();
    assert_eq!(serde_json::from_str::<genweights::metrics::top::TopWithinResolution>(&json).unwrap(), all);
    let missed = top_within_resolution(&finds(&[500, 501, 502, 503, 504, 505, 506, 507, 508, 509]), &steps, 0.01, 0.01);
    assert!(missed.as_ref().unwrap().skill < 0.0, "{missed:?}");
}

/// E_gen[w·1(w < c)] = P_truth(w < c) holds for exact weights at every c and fails for weights
/// off by a factor (miscalibrated): the data-only identity needs no exact weights to say so.
#[test]
fn the_truncated_identity_holds_for_exact_weights_and_not_for_scaled_ones() {
    // Truth N(0, 1), generated N(0.5, 1): ln w(x) = 0.125 − 0.5 x.
    let log_w = |x: &[f64], scale: f64| -> Vec<f64> { x.iter().map(|x| 0.125 - 0.5 * x + scale.ln()).collect() };
    let (t, g) = (normals(40_000, 0.0, 1), normals(40_000, 0.5, 2));
    let cuts = [0.7, 1.0, 1.4];
    let exact = truncated_identities(&log_w(&t, 1.0), &log_w(&g, 1.0), &cuts, 0.0).unwrap();
    for i in &exact {
        assert!(i.pull.unwrap().abs() < 4.0, "{i:?}");
        assert!(i.truth_fraction_below > 0.1 && i.truth_fraction_below < 0.9, "{i:?}");
    }
    let scaled = truncated_identities(&log_w(&t, 1.2), &log_w(&g, 1.2), &cuts, 0.0).unwrap();
    assert!(scaled.iter().any(|i| i.pull.unwrap().abs() > 10.0), "{scaled:?}");
    // A shared offset's error widens the left side's error.
    let wide = truncated_identities(&log_w(&t, 1.0), &log_w(&g, 1.0), &cuts, 0.1).unwrap();
    assert!(wide[1].gen_error > 5.0 * exact[1].gen_error);
}
