//! Calibration diagnostics on synthetic Gaussian data with known truth.

use autodiff::DType;
use nn::diagnostics::{
    core_fit_density, coverage, equal_count_edges, gauss_core_fit, gauss_core_fit_window, histogram, normal_mass,
    pull_density, pull_report, pulls, truncated_variance, BinStats, GaussFit, CORE_WINDOW,
};
use nn::Prediction;

const N: usize = 50_000;

fn normal(seed: u64, n: usize) -> Vec<f64> {
    autodiff::Rng::new(seed).normal(&[n], DType::F64, &backend_cpu::device()).unwrap().to_vec_f64().unwrap()
}

fn uniform(seed: u64, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    autodiff::Rng::new(seed).uniform(lo, hi, &[n], DType::F64, &backend_cpu::device()).unwrap().to_vec_f64().unwrap()
}

/// Targets drawn around a known mean with per-entry true sigmas in [0.5, 2].
fn truth(seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mean = uniform(seed, N, -3.0, 3.0);
    let sigma = uniform(seed + 1, N, 0.5, 2.0);
    let target = normal(seed + 2, N).iter().zip(&mean).zip(&sigma).map(|((z, m), s)| m + s * z).collect();
    (target, mean, sigma)
}

fn std(v: &[f64]) -> f64 {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
}

#[test]
fn calibrated_errors_give_unit_pulls() {
    let (target, mean, sigma) = truth(1);
    let p = pulls(&target, &mean, &sigma);
    assert_eq!(p.len(), N);
    let fit = gauss_core_fit(&p);
    assert!((fit.sigma - 1.0).abs() < 0.02, "{fit:?}");
    assert!(fit.mean.abs() < 0.02, "{fit:?}");
    assert!(fit.n > (0.93 * N as f64) as usize && fit.n < (0.97 * N as f64) as usize, "about 95% in the core");
    assert!((coverage(&p, 1.0) - 0.683).abs() < 0.01);
    assert!((coverage(&p, 2.0) - 0.954).abs() < 0.01);
}

#[test]
fn overestimated_errors_give_narrow_pulls() {
    let (target, mean, sigma) = truth(10);
    let inflated: Vec<f64> = sigma.iter().map(|s| 1.2 * s).collect();
    let fit = gauss_core_fit(&pulls(&target, &mean, &inflated));
    assert!((fit.sigma - 1.0 / 1.2).abs() < 0.02, "{fit:?}");
}

#[test]
fn core_fit_ignores_outliers() {
    let mut v = normal(20, N);
    // Every tenth entry is an outlier, alternately at +20 and -20.
    for (i, x) in v.iter_mut().step_by(10).enumerate() {
        *x = [20.0, -20.0][i % 2] + 0.1 * *x;
    }
    let fit = gauss_core_fit(&v);
    assert!((fit.sigma - 1.0).abs() < 0.03, "{fit:?}");
    assert!(fit.mean.abs() < 0.03, "{fit:?}");
    assert!(std(&v) > 5.0, "the plain std is dominated by the tails: {}", std(&v));
}

#[test]
fn truncation_correction_is_right() {
    assert!((truncated_variance(2.0) - 0.7737).abs() < 1e-4);
    assert!((normal_mass(1.0) - 0.682_689_492_137).abs() < 1e-10);
    assert!((normal_mass(2.0) - 0.954_499_736_104).abs() < 1e-10);
    let v: Vec<f64> = normal(30, N).iter().map(|z| 3.0 + 2.0 * z).collect();
    let fit = gauss_core_fit(&v);
    assert!((fit.sigma - 2.0).abs() < 0.04, "{fit:?}");
    assert!((fit.mean - 3.0).abs() < 0.04, "{fit:?}");
    // Without the correction the window's RMS would be sqrt(0.7737) * 2 = 1.76.
}

#[test]
fn core_fit_degenerate_inputs() {
    assert_eq!(gauss_core_fit(&[]), GaussFit::EMPTY);
    assert_eq!(gauss_core_fit(&[f64::NAN, f64::INFINITY]), GaussFit::EMPTY);
    assert_eq!(gauss_core_fit(&[2.5]), GaussFit { mean: 2.5, sigma: 0.0, n: 1 });
    assert_eq!(gauss_core_fit(&[4.0; 10]), GaussFit { mean: 4.0, sigma: 0.0, n: 10 });
    // Mostly identical values (MAD = 0) still give a finite fit.
    let f = gauss_core_fit(&[1.0, 1.0, 1.0, 1.0, 2.0, 0.0]);
    assert!(f.mean.is_finite() && f.sigma.is_finite(), "{f:?}");
    for extreme in [vec![f64::MAX, f64::MAX, -f64::MAX], vec![f64::MAX, -f64::MAX, 1.0, 2.0]] {
        let f = gauss_core_fit(&extreme);
        assert!(f.mean.is_finite() && f.sigma.is_finite(), "{f:?}");
    }
    let f = gauss_core_fit(&[1.0, 2.0]);
    assert!(f.sigma.is_finite() && f.sigma > 0.0, "{f:?}");
}

#[test]
fn pulls_skip_unusable_entries() {
    let t = [1.0, 2.0, 3.0, 4.0, f64::NAN, 6.0, 7.0];
    let m = [0.0, 0.0, 0.0, 0.0, 0.0, f64::INFINITY, 0.0];
    let s = [1.0, 0.0, -1.0, f64::NAN, 1.0, 1.0, 2.0];
    assert_eq!(pulls(&t, &m, &s), vec![1.0, 3.5]);
    assert_eq!(pulls(&[1.0, 2.0], &[0.0], &[1.0, 1.0]), vec![1.0], "truncated to the shortest");
}

#[test]
fn coverage_counts_inside() {
    assert_eq!(coverage(&[0.5, -0.5, 1.5, -3.0], 1.0), 0.5);
    assert_eq!(coverage(&[0.5, f64::NAN], 1.0), 1.0);
    assert_eq!(coverage(&[], 1.0), 0.0);
}

#[test]
fn histogram_counts_in_range_entries() {
    let v = uniform(40, 10_000, -1.0, 11.0);
    let edges: Vec<f64> = (0..=10).map(|i| i as f64).collect();
    let h = histogram(&v, &edges);
    assert_eq!(h.len(), 10);
    let in_range = v.iter().filter(|&&x| (0.0..=10.0).contains(&x)).count();
    assert_eq!(h.iter().sum::<f64>(), in_range as f64);
    // Bins are [lo, hi), the last one closed; overflow and NaN go nowhere.
    assert_eq!(histogram(&[0.0, 1.0, 1.5, 2.0, -0.1, 2.1, f64::NAN], &[0.0, 1.0, 2.0]), vec![1.0, 3.0]);
    assert!(histogram(&[1.0], &[0.0]).is_empty());
}

#[test]
fn equal_count_edges_split_evenly() {
    let v: Vec<f64> = (0..1000).rev().map(|i| i as f64).collect();
    let e = equal_count_edges(&v, 4);
    assert_eq!(e.len(), 5);
    assert_eq!((e[0], e[4]), (0.0, 999.0));
    assert_eq!(histogram(&v, &e), vec![250.0; 4]);
    let skewed: Vec<f64> = uniform(41, 9_999, 0.0, 1.0).iter().map(|u| (8.0 * u).exp()).collect();
    let e = equal_count_edges(&skewed, 3);
    assert_eq!(histogram(&skewed, &e), vec![3333.0; 3]);
    // Ties merge edges rather than making empty bins.
    assert_eq!(equal_count_edges(&[1.0; 10], 5), vec![1.0]);
    assert!(equal_count_edges(&[], 3).is_empty() && equal_count_edges(&[1.0], 0).is_empty());
}

fn prediction(mean: &[f64], stat: &[f64], syst: &[f64]) -> Prediction {
    let sq = |v: &[f64]| v.iter().map(|s| s * s).collect::<Vec<f64>>();
    Prediction {
        mean: mean.to_vec(),
        sigma_stat2: sq(stat),
        sigma_syst2: sq(syst),
        sigma_tot2: stat.iter().zip(syst).map(|(a, b)| a * a + b * b).collect(),
        draws: 1,
    }
}

#[test]
fn pull_report_bins_and_fits() {
    // Binning variable in [0, 1): calibrated; in [2, 3): total sigma overestimated by 20%; [1, 2)
    // is empty. The true sigma is split 0.6 : 0.8 between stat and syst.
    let (target, mean, sigma) = truth(50);
    let bin_var: Vec<f64> = (0..N).map(|i| [0.5, 2.5][i % 2]).collect();
    let scale = |i: usize| [1.0, 1.2][i % 2];
    let stat: Vec<f64> = sigma.iter().enumerate().map(|(i, s)| 0.6 * s * scale(i)).collect();
    let syst: Vec<f64> = sigma.iter().enumerate().map(|(i, s)| 0.8 * s * scale(i)).collect();
    let pred = prediction(&mean, &stat, &syst);
    let report = pull_report(&target, &pred, &bin_var, &[0.0, 1.0, 2.0, 3.0]);
    assert_eq!(report.len(), 3);
    assert_eq!(
        report.iter().map(|b| (b.lo, b.hi, b.n)).collect::<Vec<_>>(),
        [(0.0, 1.0, N / 2), (1.0, 2.0, 0), (2.0, 3.0, N / 2)]
    );
    let (cal, empty, over) = (&report[0], &report[1], &report[2]);
    assert!((cal.pull_tot.sigma - 1.0).abs() < 0.03, "{cal:?}");
    assert!((cal.pull_stat.sigma - 1.0 / 0.6).abs() < 0.05, "{cal:?}");
    assert!((cal.pull_syst.sigma - 1.0 / 0.8).abs() < 0.04, "{cal:?}");
    assert!((cal.coverage1 - 0.683).abs() < 0.015 && (cal.coverage2 - 0.954).abs() < 0.01, "{cal:?}");
    assert!((over.pull_tot.sigma - 1.0 / 1.2).abs() < 0.03, "{over:?}");
    assert!(over.coverage1 > 0.75, "{over:?}");
    // Mean sigma: E[s] = 1.25 for s uniform in [0.5, 2].
    assert!((cal.mean_sigma_tot - 1.25).abs() < 0.02 && (over.mean_sigma_tot - 1.5).abs() < 0.03, "{cal:?}");
    assert!((cal.mean_sigma_stat - 0.75).abs() < 0.02 && (cal.mean_sigma_syst - 1.0).abs() < 0.02);
    // The empty bin is all zeros, and the report survives JSON (which has no NaN).
    let zero = BinStats {
        lo: 1.0,
        hi: 2.0,
        n: 0,
        pull_tot: GaussFit::EMPTY,
        pull_stat: GaussFit::EMPTY,
        pull_syst: GaussFit::EMPTY,
        coverage1: 0.0,
        coverage2: 0.0,
        mean_sigma_tot: 0.0,
        mean_sigma_stat: 0.0,
        mean_sigma_syst: 0.0,
    };
    assert_eq!(*empty, zero);
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("null"), "{json}");
    let back: Vec<BinStats> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn pull_report_puts_entries_in_the_right_bins() {
    let bin_var = [0.1, 0.9, 1.0, 1.5, 2.0, 3.0, -1.0, f64::NAN];
    let n = bin_var.len();
    let pred = prediction(&vec![0.0; n], &vec![0.0; n], &vec![1.0; n]);
    let target: Vec<f64> = (0..n).map(|i| i as f64 * 0.1).collect();
    let report = pull_report(&target, &pred, &bin_var, &[0.0, 1.0, 2.0]);
    assert_eq!(report.iter().map(|b| b.n).collect::<Vec<_>>(), [2, 3]);
    // A deterministic model (sigma_stat = 0) has no stat pulls, and that is not an error.
    assert_eq!(report[0].pull_stat, GaussFit::EMPTY);
    assert_eq!(report[0].mean_sigma_stat, 0.0);
    // The bin's pulls are those of its own entries: targets 0.0 and 0.1 with sigma 1.
    assert!((report[0].pull_syst.mean - 0.05).abs() < 1e-12, "{:?}", report[0]);
    assert!(pull_report(&target, &pred, &bin_var, &[]).is_empty());
    // Inputs of different lengths are truncated, not indexed out of range.
    assert_eq!(pull_report(&target[..3], &pred, &bin_var, &[0.0, 1.0, 2.0])[1].n, 1);
}

#[test]
fn pull_densities_keep_the_tails_as_missing_area() {
    let p = normal(60, 10_000);
    let edges: Vec<f64> = (0..=50).map(|i| -5.0 + 0.2 * i as f64).collect();
    let density = pull_density(&p, &edges);
    assert_eq!(density.len(), 50);
    let area: f64 = density.iter().map(|d| d * 0.2).sum();
    let inside = p.iter().filter(|v| v.abs() <= 5.0).count() as f64 / p.len() as f64;
    assert!((area - inside).abs() < 1e-12, "area {area} = the fraction inside the edges {inside}");
    // Near the centre the density of unit-Gaussian pulls is the unit Gaussian's, 0.399.
    assert!((density[25] - 0.3989).abs() < 0.03, "{}", density[25]);
    // Pulls beyond the edges lower the density instead of being renormalised away; unequal bins
    // are divided by their own width; non-finite pulls are not counted at all.
    let mut wide = p.clone();
    wide.extend(std::iter::repeat_n(50.0, 10_000));
    let halved = pull_density(&wide, &edges);
    assert!((halved[25] - 0.5 * density[25]).abs() < 1e-12);
    let with_nan: Vec<f64> = p.iter().copied().chain([f64::NAN, f64::INFINITY]).collect();
    assert_eq!(pull_density(&with_nan, &edges), density);
    let uneven = pull_density(&[0.5, 1.5, 1.5], &[0.0, 1.0, 3.0]);
    assert!((uneven[0] - 1.0 / 3.0).abs() < 1e-12 && (uneven[1] - 1.0 / 3.0).abs() < 1e-12, "{uneven:?}");
    assert_eq!(pull_density(&[], &edges), vec![0.0; 50]);
    assert_eq!(pull_density(&[1.0], &[1.0, 1.0]), vec![0.0], "a zero-width bin");
    assert!(pull_density(&p, &[0.0]).is_empty());
}

#[test]
fn the_core_fit_curve_lies_on_the_core() {
    // Errors 20% too large, and every 20th pull an outlier six times as large: the fitted curve
    // must match the histogram in the core, not the unit Gaussian and not the tails' RMS.
    let mut p: Vec<f64> = normal(61, 50_000).iter().map(|z| z / 1.2).collect();
    p.iter_mut().step_by(20).for_each(|x| *x *= 6.0);
    let fit = gauss_core_fit(&p);
    let edges: Vec<f64> = (0..=40).map(|i| -2.0 + 0.1 * i as f64).collect();
    let centres: Vec<f64> = edges.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
    let hist = pull_density(&p, &edges);
    let curve = core_fit_density(&fit, CORE_WINDOW, p.len(), &centres);
    for (i, (h, c)) in hist.iter().zip(&curve).enumerate().filter(|(i, _)| (10..30).contains(i)) {
        assert!((h - c).abs() < 0.06 * c, "bin {i} at {}: histogram {h}, curve {c}", centres[i]);
    }
    // Its mass inside the window is the fraction of pulls the fit used.
    let (lo, hi) = (fit.mean - CORE_WINDOW * fit.sigma, fit.mean + CORE_WINDOW * fit.sigma);
    let steps = 4000;
    let xs: Vec<f64> = (0..=steps).map(|i| lo + (hi - lo) * i as f64 / steps as f64).collect();
    let ys = core_fit_density(&fit, CORE_WINDOW, p.len(), &xs);
    let mass = (hi - lo) / steps as f64 * (ys.iter().sum::<f64>() - 0.5 * (ys[0] + ys[steps]));
    assert!((mass - fit.n as f64 / p.len() as f64).abs() < 1e-6, "{mass} against {}", fit.n as f64 / p.len() as f64);
    // Another window scales by its own mass.
    let fit3 = gauss_core_fit_window(&p, 3.0);
    let at0 = core_fit_density(&fit3, 3.0, p.len(), &[fit3.mean])[0];
    let expected =
        fit3.n as f64 / p.len() as f64 / normal_mass(3.0) / (fit3.sigma * (2.0 * std::f64::consts::PI).sqrt());
    assert!((at0 - expected).abs() < 1e-12 * expected);
    // Nothing to draw gives zeros, never NaN.
    assert_eq!(core_fit_density(&GaussFit::EMPTY, CORE_WINDOW, 0, &[0.0, 1.0]), [0.0, 0.0]);
    assert_eq!(core_fit_density(&gauss_core_fit(&[2.0, 2.0]), CORE_WINDOW, 2, &[2.0]), [0.0]);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the values, the fit is finite (it goes into JSON) and uses at most all of them.
        #[test]
        fn core_fit_is_always_finite(v in prop::collection::vec(prop::num::f64::ANY, 0..40)) {
            let f = gauss_core_fit(&v);
            prop_assert!(f.mean.is_finite() && f.sigma.is_finite() && f.sigma >= 0.0, "{:?}", f);
            prop_assert!(f.n <= v.len());
        }

        /// Bins never lose or invent entries: counts sum to the values inside the edges.
        #[test]
        fn histogram_conserves_entries(v in prop::collection::vec(-10.0..10.0f64, 0..200), bins in 1usize..8) {
            let edges = equal_count_edges(&v, bins);
            let total: f64 = histogram(&v, &edges).iter().sum();
            prop_assert_eq!(total as usize, if edges.len() >= 2 { v.len() } else { 0 });
        }
    }
}

/// Eq. (10) the other way round, and the arithmetic section 7 uses: errors claimed too small give
/// pulls wider than 1, and for Gaussian residuals of width s claimed as sigma the pull width is
/// s / sigma. With sigma_tot^2 = s^2 + 2 sigma_stat^2 (sigma_stat counted twice, once inside
/// sigma_syst) the width is s / sqrt(s^2 + 2 sigma_stat^2): 0.82 for sigma_stat = 0.49 s.
#[test]
fn pull_width_is_the_true_over_the_claimed_sigma() {
    let (target, mean, sigma) = truth(80);
    let under: Vec<f64> = sigma.iter().map(|s| 0.8 * s).collect();
    let fit = gauss_core_fit(&pulls(&target, &mean, &under));
    assert!((fit.sigma - 1.25).abs() < 0.025, "errors 20% too small: {fit:?}");
    let stat: f64 = 0.49;
    let twice: Vec<f64> = sigma.iter().map(|s| s * (1.0 + 2.0 * stat * stat).sqrt()).collect();
    let width = std(&pulls(&target, &mean, &twice));
    let want = 1.0 / (1.0f64 + 2.0 * stat * stat).sqrt();
    assert!((width - want).abs() < 0.01 && (want - 0.82).abs() < 0.005, "sigma_stat counted twice: {width} vs {want}");
}
