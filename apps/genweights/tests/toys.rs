//! The toys' exact weights, checked with no network (docs/genweights-method.md §8): the normalisation identities
//! within 3σ of their expectations, the binned truth/gen ratio against the mean exact w in bins
//! of w, and the tailcut AUC against ½ + (1 − F)/2.

use genweights::generator::{self, Case};
use genweights::metrics::{auc, normalisation_identities, weight_calibration};
use indicatif::ProgressBar;
use stats::Binning;

fn toy(case: Case, n: usize) -> generator::Toy {
    generator::generate(case, n, 2026, &ProgressBar::hidden()).unwrap()
}

/// E_gen[w] and E_truth[1/w] within 3σ of the toy's exact expectations.
fn identities_hold(t: &generator::Toy) {
    let id = normalisation_identities(&t.truth_log_w, &t.generated_log_w).unwrap();
    for (name, got, expected) in [
        ("E_gen[w]", &id.gen_mean_w, t.info.expected_gen_mean_w),
        ("E_truth[1/w]", &id.truth_mean_inverse_w, t.info.expected_truth_mean_inverse_w),
    ] {
        let (m, e) = (got.estimate.unwrap(), got.error.unwrap());
        assert!((m - expected).abs() <= 3.0 * e + 1e-12, "{}: {name} = {m} ± {e}, expected {expected}", t.info.case);
    }
}

/// N_truth/N_gen in bins of w equals the mean generated w of the bin within 4σ, in every bin
/// with at least 200 generated and 200 truth events.
fn calibration_holds(t: &generator::Toy) -> usize {
    // Bins at the 2, 11.6, …, 98 % quantiles of the generated weights: all well populated.
    let w: Vec<f64> = t.generated_log_w.iter().map(|l| l.exp()).collect();
    let edges = (0..=10).map(|i| stats::quantile(&w, 0.02 + 0.096 * i as f64).unwrap()).collect();
    let binning = &Binning::from_edges(edges).unwrap();
    let c = weight_calibration(&t.truth_log_w, &t.generated_log_w, binning).unwrap();
    let mut checked = 0;
    for b in c.bins.iter().filter(|b| b.n_gen >= 200 && b.n_truth >= 200) {
        let (r, e, w) = (b.ratio.unwrap(), b.error.unwrap(), b.mean_gen_w.unwrap());
        assert!((r - w).abs() < 4.0 * e, "{}: bin [{}, {}]: ratio {r} ± {e}, mean w {w}", t.info.case, b.lo, b.hi);
        checked += 1;
    }
    checked
}

#[test]
fn jet_toys_satisfy_the_identities_and_the_calibration() {
    for case in [Case::Smeared, Case::Shifted, Case::Tailcut, Case::Null] {
        let t = toy(case, 60_000);
        identities_hold(&t);
        if matches!(case, Case::Smeared | Case::Shifted) {
            assert!(calibration_holds(&t) >= 9, "{case}");
        }
    }
}

#[test]
fn tailcut_auc_is_one_half_plus_half_the_missing_fraction() {
    let t = toy(Case::Tailcut, 100_000);
    let f = generator::jets::tailcut_fraction();
    assert!((f - 0.9953).abs() < 1e-3, "F = {f}");
    let a = auc(&t.truth_log_w, &t.generated_log_w).unwrap();
    let expected = 0.5 + (1.0 - f) / 2.0;
    // The truth fraction above the cut is binomial: σ(AUC) = √(F(1−F)/N)/2.
    let sigma = (f * (1.0 - f) / 100_000.0).sqrt() / 2.0;
    assert!((a - expected).abs() < 4.0 * sigma, "AUC {a}, expected {expected} ± {sigma}");
    // Every generated jet sits at w = F, the truth tail at w = ∞.
    assert!(t.generated_log_w.iter().all(|&l| (l - f.ln()).abs() < 1e-15));
    assert!(t.truth_log_w.iter().any(|l| l.is_infinite()));
}

#[test]
fn the_jet_files_carry_no_latent_mass() {
    let t = toy(Case::Smeared, 2_000);
    let genweights::io::Sample::Jets(j) = &t.generated else { panic!() };
    // What the file says of a jet's mass is what its constituents give, not the latent m that
    // the exact weight depends on (which would hand the classifier the answer).
    let obs = genweights::features::observables(&t.generated, &Default::default()).unwrap();
    let (mc, mf) = (obs.column_named("m_rel").unwrap(), obs.column_named("m_rel_file").unwrap());
    for i in 0..j.n {
        assert!((mc[i] - mf[i]).abs() < 1e-9 * mc[i].max(1.0), "jet {i}: file {} vs constituents {}", mf[i], mc[i]);
    }
    // The constituents still follow the latent mass closely (the soft ones add a little), so
    // the exact weight at the observed mass stays near the latent one.
    let exact_at_observed: Vec<f64> =
        (0..j.n).map(|i| (generator::jets::exact_log_w(Case::Smeared, mc[i]) - t.generated_log_w[i]).abs()).collect();
    let median = stats::quantile(&exact_at_observed, 0.5).unwrap();
    assert!(median > 1e-6 && median < 0.02, "median |w(observed m) − w(latent m)| in ln w: {median}");
}

#[test]
fn shower_toys_satisfy_the_identities() {
    for case in [Case::LayerFractions, Case::MissingMode, Case::Noise, Case::NullCalo] {
        let t = toy(case, 20_000);
        identities_hold(&t);
        if case == Case::LayerFractions {
            assert!(calibration_holds(&t) >= 9);
        }
    }
    // Missing mode: the infinite truth weights are exactly the showers with an empty last layer.
    let t = toy(Case::MissingMode, 5_000);
    let obs = genweights::features::observables(&t.truth, &Default::default()).unwrap();
    let e2 = obs.column_named("E_2").unwrap();
    for (w, e) in t.truth_log_w.iter().zip(&e2) {
        assert_eq!(w.is_infinite(), *e == 0.0);
    }
    let frac = t.truth_log_w.iter().filter(|w| w.is_infinite()).count() as f64 / 5_000.0;
    let p = generator::calo::mean_empty_probability();
    assert!((frac - p).abs() < 4.0 * (p * (1.0 - p) / 5_000.0).sqrt(), "empty fraction {frac} vs {p}");
    // Noise: the zero weights are exactly the generated showers with voxels outside the support,
    // and about e^-0.3 of them have none.
    let t = toy(Case::Noise, 5_000);
    let free = t.generated_log_w.iter().filter(|w| w.is_finite()).count() as f64 / 5_000.0;
    assert!((free - (-0.3f64).exp()).abs() < 0.03, "noise-free fraction {free}");
    let sparsity = genweights::features::observables(&t.generated, &Default::default()).unwrap();
    let truth_sparsity = genweights::features::observables(&t.truth, &Default::default()).unwrap();
    let min_truth = truth_sparsity.column_named("sparsity_0").unwrap().iter().cloned().fold(1.0, f64::min);
    let noisy_less_sparse = sparsity
        .column_named("sparsity_0")
        .unwrap()
        .iter()
        .zip(&t.generated_log_w)
        .filter(|(s, w)| w.is_finite() && **s < min_truth)
        .count();
    assert_eq!(noisy_less_sparse, 0, "a noise-free generated shower is less sparse than every truth one");
}

#[test]
fn event_toys_satisfy_the_identities_and_the_calibration() {
    for case in [Case::Masspeak, Case::Binn, Case::NullEvents] {
        let t = toy(case, 40_000);
        identities_hold(&t);
        if case == Case::Masspeak {
            assert!(calibration_holds(&t) >= 9);
        }
    }
}

#[test]
fn the_smeared_peak_density_is_exact_to_about_1e_10() {
    use generator::events::{SmearedPeak, M_HI, M_LO};
    let (p, fine) = (SmearedPeak::new(1.0), SmearedPeak::with_resolution(1.0, 20, 16.0));
    assert!((p.acceptance - fine.acceptance).abs() < 1e-13, "{} vs {}", p.acceptance, fine.acceptance);
    for y in [70.0, 75.3, 88.0, 91.1876, 92.5, 109.99, 110.0] {
        let (a, b) = (p.density(y), fine.density(y));
        assert!(((a - b) / b).abs() < 1e-10, "p_M({y}): {a} vs {b}");
    }
    // p_M integrates to one over [70, 110], and the weight exceeds 1 at the peak only.
    let rule = genweights::quadrature::GaussLegendre::new(12);
    let total = rule.integrate(|y| p.density(y), M_LO, M_HI, 400);
    assert!((total - 1.0).abs() < 1e-10, "∫ p_M = {total}");
    assert!(p.log_w(91.1876) > 0.3 && p.log_w(85.0) < 0.0 && p.log_w(97.0) < 0.0);
}

#[test]
fn the_same_seed_gives_the_same_toy_and_another_seed_another() {
    let (a, b) = (toy(Case::Masspeak, 300), toy(Case::Masspeak, 300));
    assert_eq!(a, b);
    let c = generator::generate(Case::Masspeak, 300, 7, &ProgressBar::hidden()).unwrap();
    assert_ne!(a.truth, c.truth);
    // Truth and generated never share their random stream.
    let n = toy(Case::Null, 100);
    assert_ne!(n.truth, n.generated);
}
