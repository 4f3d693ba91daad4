//! Section 7 of docs/bnn-loss.md: where the learned sigma_syst settles, and what that does to the
//! pulls. Training minimises the NLL averaged over the training set, whose residuals are smaller
//! than fresh data's because the mean has fitted part of their noise; eq. (6c) is that optimum,
//! and (6d) the pull width it gives. The worked example has one input value, so every quantity has
//! a closed form: the ELBO's optimum is sigma_syst^2 = n S^2 / (n - 1) (S^2 the training set's
//! mean squared deviation) and sigma_stat^2 = sigma_syst^2 / n, which is exactly calibrated, where
//! eq. (6b) (the optimum over the true distribution of y) predicts sigma^2 (1 + 1/n).

use super::*;
use autodiff::rng::{normal_f64, words};
use nn::{Adam, Control, Dataset, Param, Schedule, TrainConfig, Trainer};

const POINTS: usize = 10;
const NOISE: f64 = 0.2;

/// The worked example's data: n = 10 points at x = 1, y = 0.5 + 0.2 z.
fn one_input_data() -> Dataset {
    let y: Vec<f64> = (0..POINTS as u64).map(|i| 0.5 + NOISE * normal_f64(words(71, i))).collect();
    Dataset::new(vec![1.0; POINTS], 1, y, 1).unwrap()
}

/// Eq. (6c) on the worked example, with the library's layer, NLL, KL and trainer: the mean is one
/// variational weight w with q = N(mu, tau^2) (bias held at 0, x = 1), the log variance one
/// deterministic parameter l (like the BNN's biases), the prior so wide (sigma_p = 1000) that it
/// drops out. The ELBO's optimum is then, in closed form,
///     mu = ybar,   tau^2 = e^l / n,   e^l = S^2 + tau^2 = n S^2 / (n - 1):
/// the expected NLL over q of the *training* points is (S^2 + tau^2) e^-l / 2 + l / 2 per point.
/// The trained values land within 4.5% of these (the optimiser's noise is 1-2%). Over data sets
/// E[e^l] = sigma^2 exactly, where eq. (6b) says sigma^2 (1 + 2/n): the next test checks that.
#[test]
fn sigma_syst_is_the_training_set_optimum_in_the_worked_example() {
    let d = one_input_data();
    let n = POINTS as f64;
    let ybar = d.y().iter().sum::<f64>() / n;
    let s2 = d.y().iter().map(|y| (y - ybar).powi(2)).sum::<f64>() / n;
    let (syst2, stat2) = (n * s2 / (n - 1.0), s2 / (n - 1.0));
    let cfg = VariationalConfig { prior_sigma: 1000.0, ..VariationalConfig::default() };
    let layer = VariationalLinear::new(1, 1, cfg, F64, &dev(), &mut Rng::new(1), Rng::new(72)).unwrap();
    layer.bias.set(&Tensor::zeros(&[1], F64, &dev()).unwrap()).unwrap();
    let logvar = Var::new(&Tensor::zeros(&[1], F64, &dev()).unwrap()).unwrap();
    let (steps, lr) = (4000, 0.02);
    let params = vec![Param::new("mu", &layer.mu), Param::new("logsig2", &layer.logsig2), Param::new("l", &logvar)];
    let mut opt = Adam::new(params, lr);
    let cfg = TrainConfig {
        epochs: steps,
        batch_size: POINTS,
        seed: 73,
        keep_best: false,
        progress: false,
        dtype: F64,
        schedule: Schedule::Cosine { total: steps as u64, min_lr: lr / 100.0 },
        ..TrainConfig::default()
    };
    let loss = |m: &VariationalLinear, b: &Batch, n_train: usize| -> Result<Tensor> {
        let rows = b.len();
        let mean = m.forward(&b.x)?.reshape(&[rows])?;
        let l = logvar.tensor().broadcast_to(&[rows])?;
        elbo_loss(&gaussian_nll_terms(&mean, &l, &b.y.reshape(&[rows])?)?.mean_all()?, m, n_train)
    };
    Trainer::new(cfg, &dev()).fit(&layer, &mut opt, &d, None, &loss, |_| Control::Continue).unwrap();
    let mu = layer.mu.tensor().to_scalar().unwrap();
    let tau2 = layer.logsig2.tensor().to_scalar().unwrap().exp();
    let learned = logvar.tensor().to_vec_f64().unwrap()[0].exp();
    eprintln!("mu {mu:.4} (ybar {ybar:.4}), tau^2 {tau2:.5} (exact {stat2:.5}), e^l {learned:.5} (exact {syst2:.5})");
    assert!((mu - ybar).abs() < 0.15 * stat2.sqrt(), "mu {mu} vs ybar {ybar}");
    assert!((tau2 / stat2 - 1.0).abs() < 0.045, "sigma_stat^2 {tau2} vs the exact {stat2}");
    assert!((learned / syst2 - 1.0).abs() < 0.045, "sigma_syst^2 {learned} vs the exact {syst2}");
}

/// Eqs. (6c)-(6d) over many data sets of the worked example, with the closed forms of the test
/// above (no training): for each data set ybar, S^2 and a fresh y, with sigma_stat^2 = c sigma^2/n,
/// c times the variance of ybar's real error, and sigma_syst^2 at its training-set optimum
/// S^2 + sigma_stat^2. Ratios of means over 200 000 data sets, n = 10, sigma = 1:
/// - c = 1, the ELBO's own answer: E[sigma_syst^2] = sigma^2 (eq. 6b, sigma^2 + sigma_stat^2 +
///   bias^2 with E bias^2 = sigma^2/n, says 1.2) and E[(y - ybar)^2] / E[sigma_tot^2] = 1 (eq. 6b
///   says 1.1 / 1.3);
/// - c = 16, a sigma_stat four times the real error as on the toy: the ratio is
///   (sigma^2 + V) / (sigma^2 - V + 2 c V) with V = sigma^2/n, 0.268 (eq. 6d), where eq. (6b) says
///   (sigma^2 + V) / (sigma^2 + V + 2 c V) = 0.256. The squared pull width is this ratio.
#[test]
fn pulls_follow_the_training_set_optimum_of_sigma_syst() {
    let (n, sets) = (POINTS as f64, 200_000u64);
    let v = 1.0 / n;
    for c in [1.0, 16.0] {
        let (mut residual2, mut tot2, mut syst2) = (Vec::new(), Vec::new(), Vec::new());
        for k in 0..sets {
            let y: Vec<f64> = (0..=POINTS as u64).map(|i| normal_f64(words(74 + k, i))).collect();
            let (train, fresh) = (&y[..POINTS], y[POINTS]);
            let ybar = train.iter().sum::<f64>() / n;
            let s2 = train.iter().map(|y| (y - ybar).powi(2)).sum::<f64>() / n;
            let (stat2, syst) = (c * v, s2 + c * v);
            residual2.push((fresh - ybar).powi(2));
            tot2.push(syst + stat2);
            syst2.push(syst);
        }
        let (ratio, se) = ratio_of_means(&residual2, &tot2);
        let want = (1.0 + v) / (1.0 - v + 2.0 * c * v);
        let double_count = (1.0 + v) / (1.0 + v + 2.0 * c * v);
        eprintln!("c = {c}: E[r^2] / E[sigma_tot^2] = {ratio:.4} +- {se:.4}, (6d) {want:.4}, (6b) {double_count:.4}");
        assert!((ratio - want).abs() < 4.0 * se, "c = {c}: {ratio} +- {se} vs (6d) {want}");
        assert!((ratio - double_count).abs() > 8.0 * se, "c = {c}: (6b) {double_count} is not rejected");
        if c == 1.0 {
            let (syst, se_syst) = mean_and_se(&syst2);
            assert!((syst - 1.0).abs() < 4.0 * se_syst, "E[sigma_syst^2] = {syst} +- {se_syst}, want sigma^2 = 1");
            assert!((syst - (1.0 + 2.0 * v)).abs() > 8.0 * se_syst, "(6b)'s sigma^2 (1 + 2/n) is not rejected");
        }
    }
}

/// E[a] / E[b] from paired samples, with its standard error by the delta method.
fn ratio_of_means(a: &[f64], b: &[f64]) -> (f64, f64) {
    let (ma, _) = mean_and_se(a);
    let (mb, _) = mean_and_se(b);
    let r = ma / mb;
    let (_, se) = mean_and_se(&a.iter().zip(b).map(|(x, y)| x - r * y).collect::<Vec<_>>());
    (r, se / mb)
}
