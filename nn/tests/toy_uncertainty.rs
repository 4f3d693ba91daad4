//! The uncertainty criteria on the 1-D toy of `nn::teaching::toy` (heteroscedastic noise, no training data
//! in the gap (1, 2)), sized for CI: 10^4 training points, the recipes of `nn::teaching::toy` with 6000
//! updates for the BNN and 3000 for the 16-member repulsive ensemble (each update moves 16
//! networks), the lengths of `cargo run --release -p nn --example bnn_reference`.
//!
//! - the median of sigma_syst / true sigma is within 1 +- 0.1 and the pull width within
//!   [0.9, 1.15], for the BNN and the ensemble (within 20% of each other);
//! - the ensemble's sigma_stat in the gap is at least 3 times its bulk value;
//! - the mean-field BNN's is above 1.2 times: it does not reach 3 (docs/bnn-loss.md, sections 17
//!   and 19: the known in-between weakness of mean-field VI);
//! - sigma_stat shrinks with N like sqrt(N) up to a stated margin, and sigma_syst sits at the
//!   per-draw optimum of the likelihood rather than at the true noise;
//! - in the gap, the pulls and the mean's actual error against sigma_stat are what they were
//!   measured to be (the calibration there is not what it is in the bulk).
//!
//! Every number quoted below was measured with seeds 0-4 of the same recipe (only seed 0 runs
//! here), so the margins are set against the spread over seeds, not against one lucky run.

use nn::teaching::toy::{self, Calibration, Recipe};
use std::sync::OnceLock;

const N_TRAIN: usize = 10_000;
const TEST_POINTS: usize = 10_000;
const DRAWS: usize = 50;
const MEMBERS: usize = 16;

fn test_data() -> nn::Dataset {
    toy::heteroscedastic(TEST_POINTS, 1_000_001)
}

fn bnn_on(n: usize, data_seed: u64) -> Calibration {
    let dev = backend_cpu::device();
    let recipe = Recipe { steps: 6000, ..Recipe::default() };
    let (model, _) = toy::fit_bnn(&toy::heteroscedastic_gap(n, data_seed), &recipe, &dev).unwrap();
    let c = toy::calibration(&model, &test_data(), DRAWS, &dev).unwrap();
    eprintln!("BNN, N = {n}: {c:?}, sigma_stat gap/bulk {:.2}", c.stat_gap_over_bulk());
    c
}

/// Trained once per test binary, shared by the tests that need it (they run in parallel, so
/// the three models train at the same time on two cores).
fn bnn() -> &'static Calibration {
    static BNN: OnceLock<Calibration> = OnceLock::new();
    BNN.get_or_init(|| bnn_on(N_TRAIN, 11))
}

/// The same recipe (the same 6000 updates) on ten times fewer points.
fn bnn_small() -> &'static Calibration {
    static SMALL: OnceLock<Calibration> = OnceLock::new();
    SMALL.get_or_init(|| bnn_on(N_TRAIN / 10, 12))
}

fn ensemble() -> &'static Calibration {
    static RE: OnceLock<Calibration> = OnceLock::new();
    RE.get_or_init(|| {
        let dev = backend_cpu::device();
        let recipe = Recipe { steps: 3000, ..Recipe::default() };
        let (model, _) =
            toy::fit_repulsive(&toy::heteroscedastic_gap(N_TRAIN, 11), MEMBERS, 1.0, &recipe, &dev).unwrap();
        let c = toy::calibration(&model, &test_data(), MEMBERS, &dev).unwrap();
        eprintln!("RE16: {c:?}, sigma_stat gap/bulk {:.2}", c.stat_gap_over_bulk());
        c
    })
}

fn assert_syst_and_pulls(name: &str, c: &Calibration) {
    assert!(
        (c.syst_over_true - 1.0).abs() <= 0.1,
        "{name}: median sigma_syst / true sigma = {:.3}, outside 1 +- 0.1",
        c.syst_over_true
    );
    assert!((0.9..=1.15).contains(&c.pull_width), "{name}: pull width {:.3} outside [0.9, 1.15]", c.pull_width);
}

fn assert_gap(name: &str, c: &Calibration, factor: f64) {
    assert!(
        c.stat_gap_over_bulk() >= factor,
        "{name}: sigma_stat in the gap {:.4} is only {:.2} times the bulk's {:.4}, not {factor}",
        c.stat_gap,
        c.stat_gap_over_bulk(),
        c.stat_bulk
    );
}

/// Measured over seeds 0-4: sigma_syst / true 1.012-1.031, pull width 0.965-0.981.
#[test]
fn bnn_sigma_syst_follows_the_true_noise_and_the_pulls_are_calibrated() {
    assert_syst_and_pulls("BNN", bnn());
}

/// The mean-field BNN's in-between uncertainty: its gap/bulk sigma_stat ratio over seeds 0-4 is
/// 1.24-1.72 (seed 0: 1.63; at 3000 updates it was 0.97-1.33, so the recipe's length matters),
/// against 4.5-6.0 for the ensemble. Mean-field posteriors are known to miss this uncertainty
/// (Foong et al. 2019, arXiv:1906.11537; proven for one hidden layer in arXiv:1909.00719, observed
/// here with two). The assertion is what the method does reach, with a margin below the
/// smallest seed's value, so that a regression that flattens sigma_stat shows.
#[test]
fn bnn_sigma_stat_in_the_gap_is_above_the_bulk() {
    assert_gap("BNN", bnn(), 1.2);
}

/// The ensemble meets the criteria above, its sigma_stat in the gap is at least 3 times the
/// bulk's (measured over seeds 0-4: 4.5-6.0; at 1500 updates one seed gave 2.86), and its
/// sigma_syst ratio and pull width are within 20% of the BNN's.
#[test]
fn repulsive_ensemble_of_16_gives_the_same_within_20_percent() {
    let re = ensemble();
    assert_syst_and_pulls("RE16", re);
    assert_gap("RE16", re, 3.0);
    let b = bnn();
    for (what, r, b) in
        [("sigma_syst / true", re.syst_over_true, b.syst_over_true), ("pull width", re.pull_width, b.pull_width)]
    {
        assert!((r / b - 1.0).abs() <= 0.2, "{what}: RE16 {r:.3} vs BNN {b:.3}, more than 20% apart");
    }
}

/// sigma_stat is the uncertainty from finite training data. For the exact posterior of a regular
/// model in the asymptotic regime it falls as 1/sqrt(N): ten times the data shrinks it by
/// sqrt(10) = 3.16 (exactly so in the worked example, `one_weight_sigma_stat_shrinks_as_one_over_sqrt_n`).
/// Same recipe, same 6000 updates, 10^3 against 10^4 points: the BNN's bulk median falls by
/// 1.75-2.69 over seeds 0-4 (seed 0, which runs here: 2.69), short of sqrt(10): at 10^3 points the
/// mean-field BNN is far from the exact posterior (its bulk sigma_stat is four times HMC's, and
/// sigma_syst 22% above the true noise: docs/bnn-loss.md, sections 7 and 18), so the fall
/// measures the approximation's change of regime as much as the data's. The test asserts the
/// fall within a factor 2 of sqrt(10), [1.58, 6.32], which every seed meets, and that sigma_syst
/// moves towards the true noise as sigma_stat falls. A sigma_stat that does not shrink (a KL
/// weighted by 1/|B|, a prior that dominates) fails it.
#[test]
fn bnn_sigma_stat_shrinks_as_the_training_set_grows() {
    let (small, large) = (bnn_small(), bnn());
    let fall = small.stat_bulk / large.stat_bulk;
    let theory = 10f64.sqrt();
    assert!(
        (theory / 2.0..=theory * 2.0).contains(&fall),
        "sigma_stat in the bulk: {:.4} at N = {}, {:.4} at N = {N_TRAIN}: a fall of {fall:.2}, not within a factor \
         2 of sqrt(10)",
        small.stat_bulk,
        N_TRAIN / 10,
        large.stat_bulk
    );
    assert!(small.syst_over_true > large.syst_over_true, "{small:?} vs {large:?}");
}

/// Section 7 of docs/bnn-loss.md. Where sigma_stat is much larger than the mean's real error,
/// as for this BNN at 10^3 points (its bulk sigma_stat 0.08 against the exact posterior's 0.02),
/// the training-set optimum (6c) is eq. (6b), sigma_syst^2 ~ sigma^2 + sigma_stat^2 + bias^2, and
/// sigma_stat is counted twice in sigma_tot. Each hypothesis predicts its ratio to be 1, or up
/// to e^(Var l / 2) ~ 1.06 with the draws' scatter of the log variance (section 7):
/// - sigma_syst / sqrt(sigma^2 + sigma_stat^2 + bias^2), eq. (6b): measured 1.034-1.075 over
///   seeds 0-2 on the example's training set, 1.124 on this test's (seed 12);
/// - sigma_syst / sqrt(sigma^2 + bias^2), no sigma_stat in sigma_syst: 1.167-1.179 on the
///   example's set, 1.205 on this test's.
///
/// The test asserts the first within [0.98, 1.16] and the second above 1.15: a sigma_syst
/// without the sigma_stat term fails it. The margins are set by the spread over seeds and
/// training sets, not by the hypotheses' distance, which is what makes the second assertion
/// possible only at 10^3 points. At 10^4 points sigma_stat^2 is 2% of sigma^2 and the two
/// ratios differ by about 1.5%, twice the seeds' spread; the test only checks sigma_syst within
/// 3% of (6b) there (measured 0.996-1.009), which the other hypothesis meets as well.
#[test]
fn bnn_sigma_syst_sits_at_the_per_draw_optimum() {
    let (small, large) = (bnn_small(), bnn());
    assert!(
        (0.98..=1.16).contains(&small.syst_over_expected),
        "N = {}: sigma_syst / sqrt(sigma^2 + stat^2 + bias^2) = {:.3}: {small:?}",
        N_TRAIN / 10,
        small.syst_over_expected
    );
    assert!(
        small.syst_over_noise_and_bias > 1.15,
        "N = {}: sigma_syst / sqrt(sigma^2 + bias^2) = {:.3}: {small:?}",
        N_TRAIN / 10,
        small.syst_over_noise_and_bias
    );
    assert!((large.syst_over_expected - 1.0).abs() < 0.03, "N = {N_TRAIN}: {large:?}");
}

/// The pulls exclude the gap (they are computed on points drawn like the training data), so this
/// checks the gap separately, with what was measured there over seeds 0-4 at 10^4 points:
/// - the pull width (y - mean) / sigma_tot in the gap is below 1: sigma_tot there is too large
///   by 5-20% (BNN 0.83-0.92, RE16 0.94-0.96), as sigma_syst extrapolates the noise;
/// - the root mean square of the mean's actual error over sigma_stat (the truth sin x is known)
///   is 0.39-1.12 for the BNN and 0.65-0.90 for RE16: their sigma_stat in the gap is of the size
///   of the error they make there, though it is four times smaller for the ensemble.
///
/// One training set gives one smooth error curve over the gap, so this ratio is not a pull
/// distribution: it tells whether sigma_stat has the right size, within a factor of about 2.
#[test]
fn sigma_stat_in_the_gap_is_the_size_of_the_mean_error() {
    let (b, re) = (bnn(), ensemble());
    assert!((0.8..=1.0).contains(&b.gap_pull_width), "BNN gap pull width {:.3}", b.gap_pull_width);
    assert!((0.85..=1.05).contains(&re.gap_pull_width), "RE16 gap pull width {:.3}", re.gap_pull_width);
    assert!((0.3..=2.0).contains(&b.gap_mean_error), "BNN gap error / sigma_stat {:.2}", b.gap_mean_error);
    assert!((0.4..=1.5).contains(&re.gap_mean_error), "RE16 gap error / sigma_stat {:.2}", re.gap_mean_error);
}
