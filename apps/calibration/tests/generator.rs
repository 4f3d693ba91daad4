//! The generator self-check and reference numbers of docs/calibration-generator.md §11.

use calibration::cuts::apply_cuts;
use calibration::generator::{generate, generate_cluster, generate_clusters, GeneratorConfig, Sample};
use calibration::metrics::modes::gap_modes;
use calibration::table::ClusterTable;
use stats::phi;
use stats::{quantile_sorted, sorted_finite};
use std::sync::OnceLock;

const N: usize = 300_000;

/// The selected clusters of one pile-up sample, shared by the tests of this file.
fn selected() -> &'static (ClusterTable, f64) {
    static SAMPLE: OnceLock<(ClusterTable, f64)> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let table = generate(&GeneratorConfig::new(N, 2024, Sample::PileUp), false).unwrap();
        let (sel, report) = apply_cuts(&table).unwrap();
        (sel, report.acceptance())
    })
}

fn col<'a>(t: &'a ClusterTable, name: &str) -> &'a [f64] {
    t.column(name).unwrap()
}

const E_EM_BINS: [f64; 9] = [0.03, 0.3, 0.6, 1.0, 2.0, 5.0, 10.0, 30.0, 2000.0];

#[test]
fn truth_pulls_are_standard_in_every_bin_of_observed_energy() {
    let (t, _) = selected();
    let (e, dep) = (col(t, "clusterE"), col(t, "cluster_ENG_CALIB_TOT"));
    let (mean, sd, median) = (col(t, "truth_R_mean"), col(t, "truth_R_sd"), col(t, "truth_R_median"));
    for w in E_EM_BINS.windows(2) {
        let idx: Vec<usize> = (0..t.len()).filter(|&i| e[i] >= w[0] && e[i] < w[1]).collect();
        assert!(idx.len() > 5000, "bin {w:?} has only {}", idx.len());
        let pulls: Vec<f64> = idx.iter().map(|&i| (e[i] / dep[i] - mean[i]) / sd[i]).collect();
        let n = pulls.len() as f64;
        let m = pulls.iter().sum::<f64>() / n;
        let s = (pulls.iter().map(|p| (p - m).powi(2)).sum::<f64>() / n).sqrt();
        assert!(m.abs() < 0.02, "E_EM {w:?}: pull mean {m}");
        assert!((s - 1.0).abs() < 0.02, "E_EM {w:?}: pull width {s}");
        // median* is the median of each cluster's selected distribution, so half of the
        // clusters of any bin lie below it (binomial error 0.5/sqrt(n) < 0.007).
        let below = idx.iter().filter(|&&i| e[i] / dep[i] < median[i]).count() as f64 / n;
        assert!((below - 0.5).abs() < 0.02, "E_EM {w:?}: {below} of R below median*");
        // and the binned median of R is the median the truth predicts for the bin's mixture.
        let r_median = quantile_sorted(&sorted_finite(idx.iter().map(|&i| e[i] / dep[i])), 0.5).unwrap();
        let predicted = mixture_median(t, &idx);
        assert!((r_median / predicted - 1.0).abs() < 0.01, "E_EM {w:?}: median R {r_median}, truth {predicted}");
    }
}

/// The M with mean_i P(R < M | x_i, selected) = 1/2 over the clusters `idx` (every k-th, at most
/// 20000 of them), from each cluster's truncated log-normal.
fn mixture_median(t: &ClusterTable, idx: &[usize]) -> f64 {
    let (e, m, s) = (col(t, "clusterE"), col(t, "truth_m"), col(t, "truth_s_ln"));
    let step = idx.len().div_ceil(20_000);
    let sub: Vec<usize> = idx.iter().step_by(step).copied().collect();
    let cdf = |r: f64| {
        sub.iter()
            .map(|&i| {
                let (za, zb) = ((0.1f64.ln() - m[i].ln()) / s[i], ((e[i] / 0.3).ln() - m[i].ln()) / s[i]);
                let z = ((r.ln() - m[i].ln()) / s[i]).min(zb);
                ((phi(z) - phi(za)) / (phi(zb) - phi(za))).max(0.0)
            })
            .sum::<f64>()
            / sub.len() as f64
    };
    let (mut lo, mut hi) = (0.1f64, 20.0f64);
    for _ in 0..40 {
        let mid = (lo * hi).sqrt();
        if cdf(mid) < 0.5 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo * hi).sqrt()
}

/// docs/calibration-method.md §6.1 with the study's own mode finder (`metrics::modes`), so the truth and the methods
/// are judged by one test: the spectrum of sd*/mean* above 1 GeV has a bulk mode below 0.3 and a
/// secondary one in (0.4, 0.8) that removing the gap clusters (g > 0.5) removes.
#[test]
fn the_truth_uncertainty_spectrum_above_1_gev_has_a_second_mode_made_of_gap_clusters() {
    let (t, _) = selected();
    let (e, mean, sd, gap) = (col(t, "clusterE"), col(t, "truth_R_mean"), col(t, "truth_R_sd"), col(t, "truth_gap"));
    let rel: Vec<f64> = sd.iter().zip(mean).map(|(s, m)| s / m).collect();
    let m = gap_modes(&rel, |i| e[i] > 1.0, |i| gap[i] > 0.5);
    let g = m.gap_mode.unwrap_or_else(|| panic!("no gap mode: {m:?}"));
    assert!(g > 0.4 && g < 0.8, "secondary mode at {g}: {m:?}");
    assert!(m.with_gap.iter().any(|&v| v < 0.3), "no bulk mode: {m:?}");
    assert!(m.without_gap.iter().all(|&v| v < 0.4), "without the gap clusters there is still a mode above 0.4: {m:?}");
}

#[test]
fn the_sample_matches_the_prototype_numbers_of_spec_7_6b() {
    let (t, acceptance) = selected();
    assert!((acceptance - 0.74).abs() < 0.04, "acceptance {acceptance}");
    let gap = col(t, "truth_gap").iter().filter(|&&g| g > 0.5).count() as f64 / t.len() as f64;
    assert!((gap - 0.057).abs() < 0.008, "gap fraction {gap}");
    // (column, log10?, 1%, 50%, 99%, relative tolerance)
    let expected = [
        ("clusterE", false, 0.12, 0.75, 125.0, 0.12),
        ("cluster_CENTER_LAMBDA", false, 74.0, 202.0, 565.0, 0.05),
        ("cluster_FIRST_ENG_DENS", true, -9.1, -7.7, -5.1, 0.02),
        ("cluster_LATERAL", false, 0.07, 0.51, 0.88, 0.08),
        ("cluster_PTD", false, 0.14, 0.32, 0.73, 0.05),
        ("cluster_SIGNIFICANCE", false, 0.9, 6.5, 430.0, 0.1),
        ("nPrimVtx", false, 6.0, 22.0, 44.0, 0.1),
        ("avgMu", false, 11.0, 35.0, 63.0, 0.05),
    ];
    for (name, log, q1, q50, q99, tol) in expected {
        let v = sorted_finite(col(t, name).iter().map(|&x| if log { x.log10() } else { x }));
        for (q, want) in [(0.01, q1), (0.5, q50), (0.99, q99)] {
            let got = quantile_sorted(&v, q).unwrap();
            assert!(((got - want) / want).abs() < tol, "{name} quantile {q}: {got}, prototype {want}");
        }
    }
}

#[test]
fn a_smaller_sample_is_a_prefix_of_a_larger_one_and_threads_do_not_matter() {
    let config = GeneratorConfig::new(20_000, 99, Sample::PileUp);
    let big = generate_clusters(&config, false);
    let small = generate_clusters(&GeneratorConfig { n: 5_000, ..config }, false);
    assert_eq!(&big[..5_000], &small[..]);
    for i in [0usize, 17, 8191, 8192, 19_999] {
        assert_eq!(big[i], generate_cluster(&config, i as u64), "cluster {i}");
    }
    let other_seed = generate_clusters(&GeneratorConfig { n: 5_000, seed: 100, ..config }, false);
    assert_ne!(other_seed[0], small[0]);
    let pu0 = generate_clusters(&GeneratorConfig { n: 5_000, sample: Sample::Pu0, ..config }, false);
    assert_ne!(pu0[0].features[0], small[0].features[0]);
}

#[test]
fn the_pu0_sample_has_no_pile_up_and_log_uniform_energies() {
    let table = generate(&GeneratorConfig::new(50_000, 5, Sample::Pu0), false).unwrap();
    assert!(col(&table, "avgMu").iter().all(|&m| m == 0.0));
    assert!(col(&table, "nPrimVtx").iter().all(|&n| n == 1.0));
    assert!(col(&table, "truth_tau").iter().all(|&t| t == 0.0));
    // log10(E_s / 0.25) ~ U(0, 3.6): a quarter of the clusters in each 0.9-wide quarter.
    let t: Vec<f64> = col(&table, "truth_Es").iter().map(|e| (e / 0.25).log10()).collect();
    for k in 0..4 {
        let frac =
            t.iter().filter(|&&x| x >= 0.9 * k as f64 && x < 0.9 * (k + 1) as f64).count() as f64 / t.len() as f64;
        assert!((frac - 0.25).abs() < 0.01, "quarter {k}: {frac}");
    }
    assert!(col(&table, "clusterE").iter().all(|&e| e > 0.0));
}

#[test]
fn generating_a_million_clusters_takes_seconds() {
    // A loose bound for a shared CI machine; the README records the measured time.
    let start = std::time::Instant::now();
    let clusters = generate_clusters(&GeneratorConfig::new(1_000_000, 3, Sample::PileUp), false);
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(clusters.len(), 1_000_000);
    assert!(secs < 30.0, "10^6 clusters took {secs:.1} s");
}
