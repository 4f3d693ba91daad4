//! Metrics on hand-made inputs with known answers, and prediction files.

mod common;

use calibration::io::predictions::Predictions;
use calibration::metrics::binned::response_in_bins;
use calibration::metrics::bootstrap::resolution_differences;
use calibration::metrics::{compare, method_metrics, Binning, EvalData, Method, Sigmas, Truth};
use common::temp_dir;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// n clusters with E_EM spread over 0.5-50 GeV, mu over 10-70, a response R_EM = `r(i)`.
fn data(n: usize, r: impl Fn(usize) -> f64, truth: Option<Truth>) -> EvalData {
    let e_em: Vec<f64> = (0..n).map(|i| 0.5 * 100f64.powf(i as f64 / n as f64)).collect();
    EvalData {
        e_dep: e_em.iter().enumerate().map(|(i, e)| e / r(i)).collect(),
        e_em,
        mu: (0..n).map(|i| 10.0 + 60.0 * ((i * 7919) % n) as f64 / n as f64).collect(),
        n_pv: (0..n).map(|i| 1.0 + (i % 50) as f64).collect(),
        abs_eta: (0..n).map(|i| 3.0 * ((i * 104_729) % n) as f64 / n as f64).collect(),
        truth,
        weights: None,
    }
}

#[test]
fn a_perfect_calibration_has_linearity_one_and_zero_resolution_everywhere() {
    let d = data(20_000, |i| 0.5 + (i % 10) as f64 / 10.0, None);
    let r_em = d.r_em();
    let m = Method { name: "perfect".into(), source: "test".into(), r_pred: r_em, sigmas: None };
    let got = method_metrics(&m, &d, &Binning::default());
    let all = [
        &got.response.by_e_dep,
        &got.response.by_e_em,
        &got.response.by_mu,
        &got.response.by_n_pv,
        &got.response.by_abs_eta,
    ];
    let mut filled = 0;
    for bins in all {
        for b in bins.iter().filter(|b| b.n >= 50) {
            assert!((b.median.unwrap() - 1.0).abs() < 1e-12 && b.resolution.unwrap().abs() < 1e-12, "{b:?}");
            filled += 1;
        }
        for b in bins.iter().filter(|b| b.n < 50) {
            assert!(b.median.is_none() && b.resolution.is_none(), "a thin bin must be empty: {b:?}");
        }
    }
    assert!(filled > 20);
    assert!(got.mu_dependence.change_over_range.unwrap().abs() < 1e-12);
    assert!(got.closure_by_e_em.is_none() && got.pulls.is_none());
}

#[test]
fn the_resolution_of_a_gaussian_response_is_its_relative_width() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let r: Vec<f64> = (0..200_000).map(|_| 1.0 + 0.1 * rng.sample::<f64, _>(StandardNormal)).collect();
    let var = vec![1.0; r.len()];
    let bins = response_in_bins(&r, &var, &[0.0, 2.0], 50);
    // (Q84 - Q16)/2 of N(1, 0.1^2) is 0.1 x 0.99446 (the 84.13% point is 1 sigma; 84% is 0.99446).
    assert!((bins[0].median.unwrap() - 1.0).abs() < 1e-3);
    assert!((bins[0].resolution.unwrap() - 0.099446).abs() < 1e-3, "{:?}", bins[0]);
}

#[test]
fn pulls_of_honest_sigmas_have_unit_width_and_gaussian_coverage() {
    let n = 100_000;
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let noise: Vec<f64> = (0..n).map(|_| rng.sample::<f64, _>(StandardNormal)).collect();
    // R_EM = R_pred + sigma eps with sigma = 0.05 + 0.1 (i mod 3): pulls are N(0, 1) exactly.
    let sigma: Vec<f64> = (0..n).map(|i| 0.05 + 0.1 * (i % 3) as f64).collect();
    let r_pred: Vec<f64> = (0..n).map(|i| 1.0 + 0.3 * (i % 5) as f64).collect();
    let truth = Truth {
        r_mean: r_pred.clone(),
        r_sd: sigma.iter().map(|s| s / 1.0).collect(),
        r_median: r_pred.clone(),
        gap: (0..n).map(|i| if i % 10 == 0 { 1.0 } else { 0.0 }).collect(),
    };
    let d = data(n, |i| r_pred[i] + sigma[i] * noise[i], Some(truth));
    let stat: Vec<f64> = sigma.iter().map(|s| s * 0.6).collect();
    let syst: Vec<f64> = sigma.iter().map(|s| s * 0.8).collect();
    let m = Method {
        name: "honest".into(),
        source: "test".into(),
        r_pred: r_pred.clone(),
        sigmas: Some(Sigmas { tot: sigma.clone(), stat, syst }),
    };
    let got = method_metrics(&m, &d, &Binning::default());
    let p = got.pulls.as_ref().unwrap();
    let core = p.overall.tot.core.unwrap();
    assert!((core.sigma - 1.0).abs() < 0.02 && core.mean.abs() < 0.02, "{core:?}");
    assert!((p.overall.tot.coverage_1sigma.unwrap() - 0.6827).abs() < 0.01);
    assert!((p.overall.tot.coverage_2sigma.unwrap() - 0.9545).abs() < 0.01);
    assert!((p.overall.syst.core.unwrap().sigma - 1.25).abs() < 0.03, "sigma_syst is 0.8 of the truth");
    for b in p.by_e_em.iter().filter(|b| b.n >= 1000) {
        assert!((b.tot.core.unwrap().sigma - 1.0).abs() < 0.05, "{b:?}");
    }
    let over = got.sigma_syst_over_truth_sd.as_ref().unwrap();
    assert!((over.median.unwrap() - 0.8).abs() < 1e-12 && (over.median_gap.unwrap() - 0.8).abs() < 1e-12);
    let closure = got.closure_by_e_em.as_ref().unwrap();
    assert!(closure.iter().filter_map(|b| b.median).all(|c| (c - 1.0).abs() < 1e-12));
    // The gap ratio: sigma/R_pred of gap clusters (every 10th) over the others, E_EM > 1 GeV;
    // the model's sigma is the truth's, so the model reaches exactly the truth's ratio.
    let gap = got.gap_ratio.as_ref().unwrap();
    assert!(gap.n_gap > 5000 && gap.n_other > 40_000, "{gap:?}");
    assert!((gap.fraction_of_truth.unwrap() - 1.0).abs() < 1e-12, "{gap:?}");
    let json = serde_json::to_string(&got).unwrap();
    assert!(!json.contains("NaN") && !json.contains("inf"));
}

#[test]
fn two_methods_with_proportional_sigmas_agree_fully_in_log() {
    let n = 1000;
    let s: Vec<f64> = (0..n).map(|i| 0.01 + i as f64 / 1000.0).collect();
    let a = Method {
        name: "bnn".into(),
        source: "".into(),
        r_pred: vec![1.0; n],
        sigmas: Some(Sigmas { tot: s.clone(), stat: s.clone(), syst: s.clone() }),
    };
    let twice: Vec<f64> = s.iter().map(|x| 2.0 * x).collect();
    let b = Method {
        name: "re".into(),
        source: "".into(),
        r_pred: vec![1.0; n],
        sigmas: Some(Sigmas { tot: twice.clone(), stat: twice.clone(), syst: twice }),
    };
    let c = compare(&a, &b).unwrap();
    assert!((c.tot.pearson_log.unwrap() - 1.0).abs() < 1e-12 && c.tot.median_ratio == Some(2.0));
    assert!(compare(&a, &Method { sigmas: None, ..b }).is_none());
}

#[test]
fn prediction_files_round_trip_and_refuse_bad_contents() {
    let d = temp_dir("predictions");
    let e = vec![1.0, 2.0, 4.0];
    let p = Predictions::from_response(
        &e,
        vec![0, 5, 9],
        vec![0.5, 1.0, 2.0],
        vec![0.03, 0.04, 0.0],
        vec![0.04, 0.03, 0.1],
        "bnn",
        "out/bnn",
        "test.h5",
    )
    .unwrap();
    assert_eq!(p.e_calib, vec![2.0, 2.0, 2.0]);
    assert!((p.sigma_tot[0] - 0.05).abs() < 1e-15);
    assert!((p.sigma_e[0] - 2.0 * 0.05 / 0.5).abs() < 1e-12);
    let path = d.join("pred.h5");
    p.write(&path).unwrap();
    assert_eq!(Predictions::read(&path).unwrap(), p);

    let mut bad = p.clone();
    bad.r_pred[1] = -1.0;
    let msg = bad.write(&d.join("bad.h5")).unwrap_err().to_string();
    assert!(msg.contains("'R_pred'") && msg.contains("1 of 3") && !d.join("bad.h5").exists(), "{msg}");
    let mut twice = p.clone();
    twice.input_index = vec![0, 0, 9];
    assert!(twice.validate(&path).unwrap_err().to_string().contains("repeat"));
    let err = Predictions::from_response(&e, vec![0, 1], vec![1.0; 3], vec![0.0; 3], vec![0.0; 3], "x", "y", "z");
    assert!(err.is_err());
    // A file of another kind is not read as predictions.
    let other = d.join("other.h5");
    nn::io::create_h5(&other)
        .unwrap()
        .new_dataset::<f64>()
        .shape([3])
        .create("R_pred")
        .unwrap()
        .write_raw(&[1.0; 3])
        .unwrap();
    let msg = Predictions::read(&other).unwrap_err().to_string();
    assert!(msg.contains("other.h5") && msg.contains("attribute 'format'"), "{msg}");
}

#[test]
fn the_bootstrap_error_of_a_resolution_difference_has_its_known_size() {
    // Two calibrations of the same 20 000 clusters with independent Gaussian responses of width
    // 0.1, and a third that is the first rescaled (the same resolution exactly). For a Gaussian
    // sample the half width (Q84 − Q16)/2 has variance 0.919 σ²/n (the quantiles' asymptotic
    // covariance) and the median 1.571 σ²/n, which enters multiplied by the squared half width
    // (0.0995²): a resolution has an error of 0.9667 σ/√n, and a difference of two independent
    // ones √2 times that: 9.67e-4 here.
    let n = 20_000;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut draw = || -> Vec<f64> { (0..n).map(|_| 1.0 + 0.1 * rng.sample::<f64, _>(StandardNormal)).collect() };
    let (a, b) = (draw(), draw());
    let scaled: Vec<f64> = a.iter().map(|x| 1.05 * x).collect();
    let e_dep = vec![1.0; n];
    let responses = [("a", a.as_slice()), ("b", b.as_slice()), ("scaled", scaled.as_slice())];
    let d = resolution_differences(&responses, &e_dep, &[0.3, 2.0], 50, 400, 3);
    let pair = |x: &str, y: &str| d.iter().find(|p| p.a == x && p.b == y).unwrap().by_e_dep[0].clone();
    let ab = pair("a", "b");
    let se = ab.difference_se.unwrap();
    assert!((se / 9.67e-4 - 1.0).abs() < 0.2, "bootstrap error {se}, expected about 9.67e-4");
    assert!(ab.difference.unwrap().abs() < 4.0 * se);
    assert!((ab.ratio_se.unwrap() - se / 0.0995).abs() < 0.3 * se / 0.0995, "{ab:?}");
    // The same resolution on every resample: the difference and its error vanish.
    let same = pair("a", "scaled");
    assert!(same.difference.unwrap().abs() < 1e-12 && same.difference_se.unwrap() < 1e-12, "{same:?}");
    assert_eq!(same.n, n);
    // Reproducible from its seed.
    assert_eq!(resolution_differences(&responses, &e_dep, &[0.3, 2.0], 50, 400, 3), d);
}
