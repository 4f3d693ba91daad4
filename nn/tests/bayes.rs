//! The Bayesian-network loss, checked equation by equation (docs/bnn-loss.md cites each test
//! by name), plus the gradient checks and the behaviour of the variational layers, the
//! predictive moments and the repulsive ensembles.
//!
//! Statistical tests compare a Monte-Carlo estimate with the exact value within a few standard
//! errors that the test estimates from its own draws, and also check that the standard error
//! is small enough for the comparison to mean something. Seeds are fixed, so a pass is
//! reproducible; the tolerances are what make it a fair test rather than a tuned one.

use autodiff::check::{check_grads, CheckOptions};
use autodiff::{no_grad, DType, Device, Result, Rng, Tensor, TensorId, Var};
use nn::ensemble::{rbf_repulsion, EnsembleMlp, RepulsionSpace};
use nn::loss::{gaussian_nll, gaussian_nll_terms, split_mean_logvar};
use nn::mlp::MlpSpec;
use nn::predictive::{predict, Prediction};
use nn::teaching::toy;
use nn::variational::{elbo_loss, Estimator, VariationalConfig, VariationalLinear, VariationalMlp};
use nn::{Activation, Batch, Head, Init, Likelihood, Mode, ModelSpec, Module, Objective, Regulariser, Sampling};

const F64: DType = DType::F64;
const ESTIMATORS: [Estimator; 3] =
    [Estimator::LocalReparameterization, Estimator::Reparameterization, Estimator::Flipout];

fn dev() -> Device {
    backend_cpu::device()
}

fn t(v: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_f64s(v, shape, F64, &dev()).unwrap()
}

fn host(x: &Tensor) -> Vec<f64> {
    x.to_vec_f64().unwrap()
}

fn normals(seed: u64, n: usize) -> Vec<f64> {
    host(&Rng::new(seed).normal(&[n], F64, &dev()).unwrap())
}

fn uniforms(seed: u64, lo: f64, hi: f64, n: usize) -> Vec<f64> {
    host(&Rng::new(seed).uniform(lo, hi, &[n], F64, &dev()).unwrap())
}

fn mean_and_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

fn assert_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + x.abs().max(y.abs())), "{what}[{i}]: {x} vs {y}");
    }
}

/// The BNN of these tests: the papers' N(0, 1/fan_in) means, a Gaussian head.
fn bnn(spec: &MlpSpec, cfg: VariationalConfig, seed: u64) -> VariationalMlp {
    let spec = ModelSpec::variational(spec.clone().init(Init::NormalFanIn), cfg, Head::Gaussian);
    VariationalMlp::new(&spec, F64, &dev(), seed).unwrap()
}

fn ensemble(spec: &MlpSpec, members: usize, seed: u64) -> EnsembleMlp {
    EnsembleMlp::new(&ModelSpec::ensemble(spec.clone(), members, Head::Gaussian), F64, &dev(), seed).unwrap()
}

fn members_of(model: &EnsembleMlp) -> usize {
    match model.sampling() {
        Sampling::Members(m) => m,
        other => panic!("not an ensemble: {other:?}"),
    }
}

/// The repulsive-ensemble loss through the trainer's objective: Gaussian NLL summed over members,
/// beta times the kernel term / N, and the weight prior.
fn re_loss(
    model: &EnsembleMlp,
    x: &Tensor,
    y: &Tensor,
    beta: f64,
    space: RepulsionSpace,
    prior_sigma: Option<f64>,
    n: usize,
) -> Result<Tensor> {
    let objective = Objective::new(Likelihood::Gaussian, Regulariser::Repulsion { beta, space, prior_sigma });
    objective.loss(model, &Batch { x: x.clone(), y: y.clone(), w: None }, n)
}

fn vars_of(m: &dyn Module) -> Vec<Var> {
    m.params().into_iter().map(|p| p.var).collect()
}

/// A custom op whose value is `value` and whose backward is the reverse pass of `graph` to the
/// leaves `ids`, one per input. With `graph` computed from the inputs (or from parameters that
/// hold their values) at the point the checker differentiates at, this lets `autodiff::check`
/// compare autodiff's gradient of `graph` with finite differences of `value`.
fn with_gradient_of(value: &Tensor, graph: &Tensor, ids: Vec<TensorId>, xs: &[Tensor]) -> Result<Tensor> {
    let graph = graph.clone();
    let inputs: Vec<&Tensor> = xs.iter().collect();
    Tensor::custom_op("with_gradient_of", value, &inputs, move |ins, _, g| {
        let grads = graph.backward_with(&g.reshape(graph.shape())?)?;
        ids.iter()
            .zip(ins)
            .map(|(id, x)| match grads.get_id(*id) {
                Some(g) => Ok(g.clone()),
                None => x.zeros_like(),
            })
            .collect()
    })
}

/// `f()` as a function of the inputs `xs`, with parameter `vars[i]` holding `xs[i]`: the
/// gradient the checker sees is autodiff's gradient with respect to the module's parameters.
fn through_params(vars: &[Var], xs: &[Tensor], f: impl FnOnce() -> Result<Tensor>) -> Result<Tensor> {
    for (v, x) in vars.iter().zip(xs) {
        v.set(&x.detach())?;
    }
    let out = f()?;
    with_gradient_of(&out.detach(), &out, vars.iter().map(|v| v.id()).collect(), xs)
}

fn assert_passes(report: autodiff::Result<autodiff::check::GradReport>) {
    let report = report.expect("the check ran");
    assert!(report.passed(), "{report}");
}

/// A 3 -> 2 layer with spread-out means, widths (log sigma^2 in [-2.5, 0]) and biases.
fn layer(estimator: Estimator, prior_sigma: f64, noise_seed: u64) -> VariationalLinear {
    let cfg = VariationalConfig { estimator, prior_sigma, ..VariationalConfig::default() };
    let l = VariationalLinear::new(3, 2, cfg, F64, &dev(), &mut Rng::new(1), Rng::new(noise_seed)).unwrap();
    l.mu.set(&t(&normals(10, 6), &[3, 2])).unwrap();
    l.logsig2.set(&t(&uniforms(11, -2.5, 0.0, 6), &[3, 2])).unwrap();
    l.bias.set(&t(&[0.3, -0.2], &[2])).unwrap();
    l
}

/// x mu + b and x^2 sigma^2 by hand, for x [b, 3] and the layer's parameters.
fn layer_moments(x: &[f64], l: &VariationalLinear) -> (Vec<f64>, Vec<f64>) {
    let (mu, ls, b) = (host(&l.mu.tensor()), host(&l.logsig2.tensor()), host(&l.bias.tensor()));
    let rows = x.len() / 3;
    let (mut mean, mut var) = (vec![0.0; rows * 2], vec![0.0; rows * 2]);
    for r in 0..rows {
        for j in 0..2 {
            mean[r * 2 + j] = b[j] + (0..3).map(|i| x[r * 3 + i] * mu[i * 2 + j]).sum::<f64>();
            var[r * 2 + j] = (0..3).map(|i| x[r * 3 + i].powi(2) * ls[i * 2 + j].exp()).sum::<f64>();
        }
    }
    (mean, var)
}

// ----- the derivation, equation by equation ------------------------------------------------

/// Eq. (4): KL[N(mu, s^2) || N(0, sp^2)] = 1/2 [(s^2 + mu^2)/sp^2 - 1 - ln s^2 + ln sp^2],
/// against its definition E_q[ln q(w) - ln p(w)] estimated with draws w = mu + s xi.
#[test]
fn kl_closed_form_matches_monte_carlo() {
    let sp = 0.7;
    let l = layer(Estimator::LocalReparameterization, sp, 0);
    let closed = l.kl_divergence().unwrap().to_scalar().unwrap();
    let (mu, ls) = (host(&l.mu.tensor()), host(&l.logsig2.tensor()));
    let draws = 20_000;
    let xi = normals(12, draws * mu.len());
    let ln_normal =
        |w: f64, m: f64, s2: f64| -0.5 * (2.0 * std::f64::consts::PI * s2).ln() - (w - m).powi(2) / (2.0 * s2);
    let per_draw: Vec<f64> = xi
        .chunks(mu.len())
        .map(|xi| {
            (0..mu.len())
                .map(|k| {
                    let s2 = ls[k].exp();
                    let w = mu[k] + s2.sqrt() * xi[k];
                    ln_normal(w, mu[k], s2) - ln_normal(w, 0.0, sp * sp)
                })
                .sum()
        })
        .collect();
    let (mc, se) = mean_and_se(&per_draw);
    assert!(se < 0.01 * closed, "the Monte-Carlo estimate is too noisy to test anything: {mc} +- {se}");
    assert!((mc - closed).abs() < 4.0 * se, "closed form {closed} vs Monte Carlo {mc} +- {se}");
}

/// Eq. (5), eq. (4) differentiated: dKL/dmu = mu / sp^2 and dKL/dl = (e^l / sp^2 - 1) / 2 for
/// l = ln s^2, and zero where l is clamped.
#[test]
fn kl_gradient_matches_closed_form() {
    let sp = 1.3;
    let l = layer(Estimator::LocalReparameterization, sp, 0);
    let mut ls = host(&l.logsig2.tensor());
    ls[4] = 12.0; // above the clamp at 11: no gradient
    l.logsig2.set(&t(&ls, &[3, 2])).unwrap();
    let g = l.kl_divergence().unwrap().backward().unwrap();
    let mu = host(&l.mu.tensor());
    let want_mu: Vec<f64> = mu.iter().map(|m| m / (sp * sp)).collect();
    let want_ls: Vec<f64> =
        ls.iter().map(|&v| if v > 11.0 { 0.0 } else { 0.5 * (v.exp() / (sp * sp) - 1.0) }).collect();
    assert_close(&host(g.get_id(l.mu.id()).unwrap()), &want_mu, 1e-12, "dKL/dmu");
    assert_close(&host(g.get_id(l.logsig2.id()).unwrap()), &want_ls, 1e-12, "dKL/dlogsig2");
}

/// Eq. (6): the heteroscedastic NLL L = r^2 e^-l / 2 + l / 2 (r = y - mu) has
/// dL/dmu = -r e^-l and dL/dl = 1/2 - r^2 e^-l / 2 per sample (divided by B for the batch mean).
#[test]
fn heteroscedastic_nll_gradient_matches_closed_form() {
    let (mu, lv, y) = (normals(20, 5), uniforms(21, -2.0, 1.0, 5), normals(22, 5));
    let out_v: Vec<f64> = mu.iter().zip(&lv).flat_map(|(&m, &l)| [m, l]).collect();
    let out = t(&out_v, &[5, 2]).requires_grad();
    let loss = gaussian_nll(&out, &t(&y, &[5])).unwrap();
    let value: f64 = (0..5).map(|i| 0.5 * ((y[i] - mu[i]).powi(2) * (-lv[i]).exp() + lv[i])).sum::<f64>() / 5.0;
    assert!((loss.to_scalar().unwrap() - value).abs() < 1e-12);
    let g = host(loss.backward().unwrap().get(&out).unwrap());
    for i in 0..5 {
        let r = y[i] - mu[i];
        let (dmu, dl) = (-r * (-lv[i]).exp() / 5.0, (0.5 - 0.5 * r * r * (-lv[i]).exp()) / 5.0);
        assert_close(&g[2 * i..2 * i + 2], &[dmu, dl], 1e-12, "dL/d(mu, l)");
    }
}

/// Eq. (3): N times the per-batch loss (batch-mean NLL + KL / N) is an unbiased estimate of
/// the negative ELBO, sum_n E_q[-ln p(y_n | x_n, theta)] + KL[q || p] (both without the
/// constant N ln(2 pi) / 2), for every estimator. The direct estimate draws whole networks
/// theta ~ q and evaluates the full data set with each.
#[test]
fn batch_loss_times_n_estimates_the_negative_elbo() {
    let data = toy::heteroscedastic_gap(64, 5);
    let n = data.len();
    let (x, y) = data.tensors(F64, &dev()).unwrap();
    let y = y.reshape(&[n]).unwrap();
    let spec = MlpSpec::new(1, &[8], 2).activation(Activation::Tanh);
    for estimator in ESTIMATORS {
        let cfg = VariationalConfig { estimator, ..VariationalConfig::default() };
        let model = bnn(&spec, cfg, 7);
        // A wide posterior, so that the expectation over q is far from a single network.
        for l in &model.layers {
            l.logsig2.set(&l.logsig2.tensor().full_like(-2.5).unwrap()).unwrap();
        }
        let kl = model.kl().unwrap().unwrap().to_scalar().unwrap();

        let direct: Vec<f64> = no_grad(|| {
            (0..3000)
                .map(|k| {
                    model.set_mode(Mode::Eval { draw: k });
                    let (mu, lv) = split_mean_logvar(&model.forward(&x)?)?;
                    Ok(gaussian_nll_terms(&mu, &lv, &y)?.sum_all()?.to_scalar()? + kl)
                })
                .collect::<Result<Vec<f64>>>()
        })
        .unwrap();
        let (neg_elbo, se_direct) = mean_and_se(&direct);

        model.set_mode(Mode::Train);
        let (batch, epochs) = (16, 750);
        let mut per_batch = Vec::new();
        let mut wrong = Vec::new(); // the KL divided by the batch size instead of N
        no_grad(|| {
            for e in 0..epochs {
                for b in data.batches(batch, Some(&mut Rng::new(99).fork(e)), false, F64, &dev()) {
                    let Batch { x: xb, y: yb, .. } = b?;
                    let nll = gaussian_nll(&model.forward(&xb)?, &yb.reshape(&[batch])?)?;
                    per_batch.push(n as f64 * elbo_loss(&nll, &model, n)?.to_scalar()?);
                    wrong.push(n as f64 * elbo_loss(&nll, &model, batch)?.to_scalar()?);
                }
            }
            Ok::<(), autodiff::Error>(())
        })
        .unwrap();
        let (estimate, se_batch) = mean_and_se(&per_batch);
        let se = (se_direct.powi(2) + se_batch.powi(2)).sqrt();
        assert!(
            (estimate - neg_elbo).abs() < 4.0 * se,
            "{estimator:?}: N * loss = {estimate} +- {se_batch}, direct -ELBO = {neg_elbo} +- {se_direct}"
        );
        // The comparison has the power to see the classic mistake.
        let (wrong, _) = mean_and_se(&wrong);
        assert!((wrong - neg_elbo).abs() > 20.0 * se, "{estimator:?}: KL/B {wrong} is not told apart from {neg_elbo}");
    }
}

/// Eq. (8)-(9): the moments of the mixture (1/M) sum_m N(mu_m, s_m^2), drawn by hand, are
/// the prediction <mu> and sigma_tot^2 = <s^2> + Var(mu) = sigma_syst^2 + sigma_stat^2.
#[test]
fn predictive_moments_obey_the_law_of_total_variance() {
    let means = vec![vec![0.0, 1.0, -2.0], vec![0.5, 1.0, -1.0], vec![-0.3, 1.0, 0.0], vec![0.1, 1.0, 3.0]];
    let logvars = vec![vec![-2.0, 0.0, -1.0], vec![-1.0, 0.0, 0.5], vec![-3.0, 0.0, -4.0], vec![-1.5, 0.0, 0.0]];
    let p = Prediction::from_draws(&means, &logvars).unwrap();
    let m = means.len();
    assert_eq!(p.draws, m);
    for i in 0..3 {
        // The exact pieces: Var(mu) with 1/M, <s^2>, and their sum.
        let mean = means.iter().map(|d| d[i]).sum::<f64>() / m as f64;
        let stat = means.iter().map(|d| (d[i] - mean).powi(2)).sum::<f64>() / m as f64;
        let syst = logvars.iter().map(|d| d[i].exp()).sum::<f64>() / m as f64;
        assert_close(&[p.mean[i], p.sigma_stat2[i], p.sigma_syst2[i]], &[mean, stat, syst], 1e-12, "moments");
        assert!((p.sigma_tot2[i] - (stat + syst)).abs() < 1e-12);

        // The mixture itself: pick a draw uniformly, then y ~ N(mu_m, s_m^2).
        let k = 400_000;
        let pick = uniforms(30 + i as u64, 0.0, m as f64, k);
        let z = normals(40 + i as u64, k);
        let ys: Vec<f64> = pick
            .iter()
            .zip(&z)
            .map(|(&u, &z)| {
                let c = (u as usize).min(m - 1);
                means[c][i] + (0.5 * logvars[c][i]).exp() * z
            })
            .collect();
        let (ym, yse) = mean_and_se(&ys);
        let var = ys.iter().map(|y| (y - ym).powi(2)).sum::<f64>() / (k as f64 - 1.0);
        let m4 = ys.iter().map(|y| (y - ym).powi(4)).sum::<f64>() / k as f64;
        let var_se = ((m4 - var * var) / k as f64).sqrt();
        assert!((ym - p.mean[i]).abs() < 4.0 * yse, "input {i}: mixture mean {ym} +- {yse} vs {}", p.mean[i]);
        assert!(
            (var - p.sigma_tot2[i]).abs() < 4.0 * var_se,
            "input {i}: mixture variance {var} +- {var_se} vs sigma_tot^2 {}",
            p.sigma_tot2[i]
        );
        assert!(var_se < 0.02 * var, "too few mixture draws to test the variance");
    }
}

/// Eq. (12)-(13): the gradient of the repulsion term with respect to particle i is
/// beta/N sum_j grad_i k(f_i, f_j) / sum_j k(f_i, f_j) = -beta/N sum_j k_ij (f_i - f_j) / h / sum_j k_ij,
/// the kernel-density estimate of grad ln rho(f_i), with k_ij = exp(-|f_i - f_j|^2 / 2h) and
/// h = median_ij |f_i - f_j|^2 / (2 ln(M + 1)). The term itself is zero: only its gradient acts.
#[test]
fn repulsion_gradient_is_the_kde_update() {
    let (m, d, beta, n) = (5, 3, 2.0, 40);
    let fv = normals(50, m * d);
    let f = t(&fv, &[m, d]).requires_grad();
    let rep = rbf_repulsion(&f, beta, n).unwrap();
    assert!(rep.to_scalar().unwrap().abs() < 1e-12, "the repulsion term's value is {}", rep.to_scalar().unwrap());
    let got = host(rep.backward().unwrap().get(&f).unwrap());

    let row = |i: usize| &fv[i * d..(i + 1) * d];
    let d2 = |i: usize, j: usize| row(i).iter().zip(row(j)).map(|(a, b)| (a - b).powi(2)).sum::<f64>();
    let h = median_h(&fv, d);
    let mut want = vec![0.0; m * d];
    for i in 0..m {
        let k: Vec<f64> = (0..m).map(|j| (-d2(i, j) / (2.0 * h)).exp()).collect();
        let ksum: f64 = k.iter().sum();
        for c in 0..d {
            let grad_k: f64 = (0..m).map(|j| -k[j] * (row(i)[c] - row(j)[c]) / h).sum();
            want[i * d + c] = beta / n as f64 * grad_k / ksum;
        }
    }
    assert_close(&got, &want, 1e-12, "repulsion gradient");

    // Gradient descent on the term pushes two particles apart: the update is a repulsion.
    let pair = t(&[0.0, 0.3], &[2, 1]).requires_grad();
    let g = host(rbf_repulsion(&pair, 1.0, 1).unwrap().backward().unwrap().get(&pair).unwrap());
    assert!(g[0] > 0.0 && g[1] < 0.0, "descent -g moves 0 down and 0.3 up: g = {g:?}");
}

// ----- gradient checks (f64, autodiff::check) -----------------------------------------------

fn opts() -> CheckOptions {
    CheckOptions::default()
}

#[test]
fn gradcheck_kl_term() {
    for sp in [1.0, 0.6] {
        let l = layer(Estimator::LocalReparameterization, sp, 0);
        let inputs = [l.mu.tensor().detach(), l.logsig2.tensor().detach()];
        let f = |xs: &[Tensor]| through_params(&[l.mu.clone(), l.logsig2.clone()], xs, || l.kl_divergence());
        assert_passes(check_grads(f, &inputs, &opts()));
    }
}

/// The training forward pass of each estimator, and MAP mode, with the noise held fixed: the
/// layer is rebuilt with the same noise seed for every evaluation, so each sees the same draws.
#[test]
fn gradcheck_variational_forward_each_estimator() {
    let x0 = t(&normals(60, 12), &[4, 3]);
    for estimator in ESTIMATORS {
        for map in [false, true] {
            let f = |xs: &[Tensor]| {
                let l = layer(estimator, 1.0, 77);
                if map {
                    l.set_mode(Mode::Map);
                }
                let input = Var::new(&xs[0])?;
                let vars = [input.clone(), l.mu.clone(), l.logsig2.clone(), l.bias.clone()];
                through_params(&vars, xs, || l.forward(&input.tensor()))
            };
            let base = layer(estimator, 1.0, 77);
            let inputs = [x0.clone(), base.mu.tensor(), base.logsig2.tensor(), base.bias.tensor()];
            let (a, b) = no_grad(|| (f(&inputs), f(&inputs)));
            assert_eq!(host(&a.unwrap()), host(&b.unwrap()), "{estimator:?}: the noise is not held fixed");
            let report = check_grads(f, &inputs, &opts()).unwrap();
            assert!(report.passed(), "{estimator:?}, map {map}: {report}");
        }
    }
}

/// The whole BNN loss, NLL + KL / N, with respect to every parameter, for each estimator.
#[test]
fn gradcheck_elbo_loss() {
    let data = toy::heteroscedastic_gap(6, 8);
    let (x, y) = data.tensors(F64, &dev()).unwrap();
    let y = y.reshape(&[6]).unwrap();
    let spec = MlpSpec::new(1, &[3], 2).activation(Activation::Tanh);
    for estimator in ESTIMATORS {
        let cfg = VariationalConfig { estimator, ..VariationalConfig::default() };
        let build = || {
            let m = bnn(&spec, cfg, 9);
            for (i, l) in m.layers.iter().enumerate() {
                l.logsig2.set(&t(&uniforms(70 + i as u64, -3.0, -0.5, l.mu.tensor().numel()), &l.mu.shape())).unwrap();
            }
            m
        };
        let inputs: Vec<Tensor> = build().params().iter().map(|p| p.var.tensor().detach()).collect();
        let f = |xs: &[Tensor]| {
            let model = build();
            through_params(&vars_of(&model), xs, || elbo_loss(&gaussian_nll(&model.forward(&x)?, &y)?, &model, 50))
        };
        let report = check_grads(f, &inputs, &opts()).unwrap();
        assert!(report.passed(), "{estimator:?}: {report}");
    }
}

/// The potential whose gradient the repulsion term has: beta/N sum_i ln sum_j k(f_i, c_j),
/// with the centres c and the bandwidth h held at their values at the checked point.
fn kde_potential(f: &[f64], centres: &[f64], d: usize, h: f64, beta: f64, n: usize) -> f64 {
    let m = f.len() / d;
    let d2 = |i: usize, j: usize| (0..d).map(|c| (f[i * d + c] - centres[j * d + c]).powi(2)).sum::<f64>();
    beta / n as f64 * (0..m).map(|i| (0..m).map(|j| (-d2(i, j) / (2.0 * h)).exp()).sum::<f64>().ln()).sum::<f64>()
}

fn median_h(f: &[f64], d: usize) -> f64 {
    let m = f.len() / d;
    let mut all: Vec<f64> = (0..m)
        .flat_map(|i| (0..m).map(move |j| (0..d).map(|c| (f[i * d + c] - f[j * d + c]).powi(2)).sum::<f64>()))
        .collect();
    all.sort_by(f64::total_cmp);
    let k = all.len();
    let med = if k % 2 == 1 { all[k / 2] } else { 0.5 * (all[k / 2 - 1] + all[k / 2]) };
    med / (2.0 * ((m + 1) as f64).ln())
}

/// The repulsion term's value is identically zero (sum_j k / sg(sum_j k) - 1), so finite
/// differences of it say nothing; its gradient is checked instead against finite differences of
/// the KDE potential it stands for, with the bandwidth a constant as the method treats it.
#[test]
fn gradcheck_rbf_repulsion() {
    let (m, d, beta, n) = (4, 3, 1.5, 20);
    let f0 = normals(80, m * d);
    let h0 = median_h(&f0, d);
    let f = |xs: &[Tensor]| {
        let value = kde_potential(&host(&xs[0]), &f0, d, h0, beta, n);
        let graph = rbf_repulsion(&xs[0], beta, n)?;
        with_gradient_of(&Tensor::scalar(value, F64, &dev())?, &graph, vec![xs[0].id()], xs)
    };
    assert_passes(check_grads(f, &[t(&f0, &[m, d])], &opts()));
}

/// The particles a repulsive ensemble compares, computed here from the model by hand.
fn particles(model: &EnsembleMlp, x: &Tensor, y: &Tensor, space: RepulsionSpace) -> Vec<f64> {
    no_grad(|| {
        let (mu, lv) = split_mean_logvar(&model.forward(x)?)?;
        let yb = y.broadcast_to(mu.shape())?;
        match space {
            RepulsionSpace::Losses => gaussian_nll_terms(&mu, &lv, &yb)?.to_vec_f64(),
            RepulsionSpace::Predictions => mu.to_vec_f64(),
            RepulsionSpace::Weights => {
                let members = members_of(model);
                Ok((0..members)
                    .flat_map(|i| {
                        model.params().into_iter().flat_map(move |p| {
                            let w = host(&p.var.tensor());
                            let per = w.len() / members;
                            w[i * per..(i + 1) * per].to_vec()
                        })
                    })
                    .collect())
            }
        }
    })
    .unwrap()
}

/// The whole repulsive-ensemble loss with respect to every parameter, in each repulsion space:
/// autodiff's gradient against finite differences of NLL + prior + the KDE potential of the
/// particles (bandwidth and centres held at the checked point).
#[test]
fn gradcheck_repulsive_loss() {
    let (members, batch, n) = (3, 5, 30);
    let spec = MlpSpec::new(1, &[4], 2).activation(Activation::Tanh);
    let data = toy::heteroscedastic_gap(batch, 9);
    let (x, y) = data.tensors(F64, &dev()).unwrap();
    let y = y.reshape(&[batch]).unwrap();
    for space in [RepulsionSpace::Losses, RepulsionSpace::Predictions, RepulsionSpace::Weights] {
        let (beta, prior) = (1.0, Some(0.8));
        let model = ensemble(&spec, members, 4);
        let vars = vars_of(&model);
        let inputs: Vec<Tensor> = vars.iter().map(|v| v.tensor().detach()).collect();
        let p0 = particles(&model, &x, &y, space);
        let d = p0.len() / members;
        let h0 = median_h(&p0, d);
        let f = |xs: &[Tensor]| {
            for (v, xi) in vars.iter().zip(xs) {
                v.set(&xi.detach())?;
            }
            let value = no_grad(|| re_loss(&model, &x, &y, 0.0, space, prior, n))?.to_scalar()?
                + kde_potential(&particles(&model, &x, &y, space), &p0, d, h0, beta, n);
            let graph = re_loss(&model, &x, &y, beta, space, prior, n)?;
            with_gradient_of(&Tensor::scalar(value, F64, &dev())?, &graph, vars.iter().map(|v| v.id()).collect(), xs)
        };
        let report = check_grads(f, &inputs, &opts()).unwrap();
        assert!(report.passed(), "{space:?}: {report}");
    }
}

// ----- behaviour -----------------------------------------------------------------------------

#[test]
fn eval_draw_k_is_one_fixed_weight_sample() {
    let l = layer(Estimator::LocalReparameterization, 1.0, 5);
    let x = t(&normals(90, 12), &[4, 3]);
    l.set_mode(Mode::Eval { draw: 0 });
    let a = host(&l.forward(&x).unwrap());
    let b = host(&l.forward(&x).unwrap());
    assert_eq!(a, b, "two evaluations in eval mode drew different weights");
    // One weight matrix for every input: the identity rows read it out, W + b.
    let w_plus_b = host(&l.forward(&t(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0], &[3, 3])).unwrap());
    let bias = host(&l.bias.tensor());
    let xv = host(&x);
    for r in 0..4 {
        for j in 0..2 {
            let by_hand = bias[j] + (0..3).map(|i| xv[r * 3 + i] * (w_plus_b[i * 2 + j] - bias[j])).sum::<f64>();
            assert!((by_hand - a[r * 2 + j]).abs() < 1e-12, "row {r}: not one coherent weight sample");
        }
    }
    l.set_mode(Mode::Eval { draw: 1 });
    let c = host(&l.forward(&x).unwrap());
    assert!(a.iter().zip(&c).all(|(u, v)| u != v), "draw 1 is the same network as draw 0");
    assert_eq!(c, host(&l.forward(&x).unwrap()));
    // Draw 0 again is the network of draw 0: draws are a function of their number, not of
    // how many were made before (so a prediction in batches uses the same network per draw).
    l.set_mode(Mode::Eval { draw: 0 });
    assert_eq!(a, host(&l.forward(&x).unwrap()));
    // A training step that changes the parameters changes the draw's weights too.
    l.mu.set(&l.mu.tensor().affine(1.0, 0.5).unwrap()).unwrap();
    assert_ne!(a, host(&l.forward(&x).unwrap()), "a stale cached weight sample was used");
    // The same holds for a whole network, and going back to training draws per batch again.
    let net = bnn(&MlpSpec::new(3, &[5], 2), VariationalConfig::default(), 1);
    for layer in &net.layers {
        layer.logsig2.set(&layer.logsig2.tensor().full_like(-2.0).unwrap()).unwrap();
    }
    net.set_mode(Mode::Eval { draw: 3 });
    let y1 = host(&net.forward(&x).unwrap());
    assert_eq!(y1, host(&net.forward(&x).unwrap()));
    net.set_mode(Mode::Eval { draw: 4 });
    assert_ne!(y1, host(&net.forward(&x).unwrap()));
    net.set_mode(Mode::Train);
    assert_ne!(host(&net.forward(&x).unwrap()), host(&net.forward(&x).unwrap()));
}

#[test]
fn map_mode_uses_the_means() {
    let x = t(&normals(91, 15), &[5, 3]);
    for estimator in ESTIMATORS {
        let l = layer(estimator, 1.0, 6);
        let (want, _) = layer_moments(&host(&x), &l);
        l.set_mode(Mode::Map);
        assert_close(&host(&l.forward(&x).unwrap()), &want, 1e-12, "MAP output");
        assert_close(&host(&l.forward(&x).unwrap()), &want, 1e-12, "MAP output, twice");
        l.set_mode(Mode::Train);
        let sampled = host(&l.forward(&x).unwrap());
        assert!(sampled.iter().zip(&want).all(|(a, b)| (a - b).abs() > 1e-9), "{estimator:?}: sampling is off");
    }
}

/// Eq. (7): every estimator samples the pre-activation x W + b with mean x mu + b and variance
/// x^2 sigma^2 (local reparameterization adds its 1e-8); they differ only in how the noise is
/// shared across a batch (next test).
#[test]
fn estimators_agree_in_expectation() {
    let rows = 6;
    let xv = normals(92, rows * 3);
    let x = t(&xv, &[rows, 3]);
    let draws = 4000;
    for estimator in ESTIMATORS {
        let l = layer(estimator, 1.0, 7);
        let (mean, var) = layer_moments(&xv, &l);
        let outs: Vec<Vec<f64>> =
            no_grad(|| (0..draws).map(|_| l.forward(&x)?.to_vec_f64()).collect::<Result<Vec<_>>>()).unwrap();
        for k in 0..rows * 2 {
            let v: Vec<f64> = outs.iter().map(|o| o[k]).collect();
            let (m, se) = mean_and_se(&v);
            let s2 = v.iter().map(|y| (y - m).powi(2)).sum::<f64>() / (draws as f64 - 1.0);
            assert!((m - mean[k]).abs() < 4.5 * se, "{estimator:?} output {k}: mean {m} +- {se} vs {}", mean[k]);
            let var_se = var[k] * (2.0 / (draws as f64 - 1.0)).sqrt();
            assert!((s2 - var[k]).abs() < 4.5 * var_se, "{estimator:?} output {k}: variance {s2} vs {}", var[k]);
        }
    }
}

#[test]
fn estimators_differ_in_batch_correlation() {
    // Two identical rows: one shared weight draw makes their outputs identical; local
    // reparameterization and flipout make them (nearly) independent.
    let row = normals(93, 3);
    let x = t(&[row.clone(), row].concat(), &[2, 3]);
    let draws = 3000;
    for estimator in ESTIMATORS {
        let l = layer(estimator, 1.0, 8);
        let outs: Vec<Vec<f64>> =
            no_grad(|| (0..draws).map(|_| l.forward(&x)?.to_vec_f64()).collect::<Result<Vec<_>>>()).unwrap();
        let (a, b): (Vec<f64>, Vec<f64>) = outs.iter().map(|o| (o[0], o[2])).unzip();
        let (ma, _) = mean_and_se(&a);
        let (mb, _) = mean_and_se(&b);
        let cov: f64 = a.iter().zip(&b).map(|(u, v)| (u - ma) * (v - mb)).sum();
        let corr = cov
            / (a.iter().map(|u| (u - ma).powi(2)).sum::<f64>() * b.iter().map(|v| (v - mb).powi(2)).sum::<f64>())
                .sqrt();
        match estimator {
            Estimator::Reparameterization => assert!(corr > 0.999, "shared weights, corr {corr}"),
            _ => assert!(corr.abs() < 0.1, "{estimator:?}: per-sample noise, corr {corr}"),
        }
    }
}

#[test]
fn deterministic_mlp_has_zero_sigma_stat() {
    let mlp = MlpSpec::new(1, &[8], 2).activation(Activation::Tanh).build(F64, &dev(), 3).unwrap();
    let x = t(&[-2.0, -0.5, 0.0, 1.5], &[4, 1]);
    let p = predict(&mlp, &x, 50).unwrap();
    assert_eq!(p.draws, 1);
    assert!(p.sigma_stat2.iter().all(|&s| s == 0.0), "{:?}", p.sigma_stat2);
    let (mu, lv) = split_mean_logvar(&mlp.forward(&x).unwrap()).unwrap();
    assert_eq!(p.mean, host(&mu));
    let syst: Vec<f64> = host(&lv).iter().map(|l| l.exp()).collect();
    assert_close(&p.sigma_syst2, &syst, 1e-15, "sigma_syst^2");
    assert_eq!(p.sigma_tot2, p.sigma_syst2);
}

/// predict() draws `draws` coherent networks: the same as resampling and evaluating by hand.
#[test]
fn predict_averages_weight_draws() {
    let spec = MlpSpec::new(1, &[6], 2).activation(Activation::Tanh);
    let x = t(&[-1.0, 0.5, 2.5], &[3, 1]); // not 0: the biases start at 0, so x = 0 gives 0 in every draw
    let build = || {
        let m = bnn(&spec, VariationalConfig::default(), 12);
        for l in &m.layers {
            l.logsig2.set(&l.logsig2.tensor().full_like(-3.0).unwrap()).unwrap();
        }
        m
    };
    let p = predict(&build(), &x, 20).unwrap();
    let model = build();
    let (mut means, mut logvars) = (vec![], vec![]);
    for k in 0..20 {
        model.set_mode(Mode::Eval { draw: k });
        let (mu, lv) = split_mean_logvar(&model.forward(&x).unwrap()).unwrap();
        means.push(host(&mu));
        logvars.push(host(&lv));
    }
    let by_hand = Prediction::from_draws(&means, &logvars).unwrap();
    assert_eq!(p, by_hand);
    assert!(p.sigma_stat2.iter().all(|&s| s > 0.0), "{p:?}");
}

fn member_mlp(ens: &EnsembleMlp, m: usize) -> nn::Mlp {
    let mlp = ens.model_spec().mlp.build(F64, &dev(), 0).unwrap();
    for (l, lin) in mlp.layers.iter().enumerate() {
        let (fan_in, fan_out) = (lin.fan_in(), lin.fan_out());
        let w = &ens.layers[l].weight;
        lin.weight.set(&w.tensor().narrow(0, m, 1).unwrap().reshape(&[fan_in, fan_out]).unwrap()).unwrap();
        let b = ens.layers[l].bias.tensor().narrow(0, m, 1).unwrap().reshape(&[fan_out]).unwrap();
        lin.bias.as_ref().unwrap().set(&b).unwrap();
    }
    mlp
}

#[test]
fn ensemble_equals_separate_member_forwards() {
    let spec = MlpSpec::new(2, &[5, 4], 2).activation(Activation::Tanh);
    let members = 4;
    let ens = ensemble(&spec, members, 11);
    let x = t(&normals(94, 14), &[7, 2]);
    let out = ens.forward(&x).unwrap();
    assert_eq!(out.shape(), &[members, 7, 2]);
    let per_member_x = t(&normals(95, members * 14), &[members, 7, 2]);
    let out_each = ens.forward(&per_member_x).unwrap();
    let mut firsts = vec![];
    for m in 0..members {
        let mlp = member_mlp(&ens, m);
        let slice = |o: &Tensor| host(&o.narrow(0, m, 1).unwrap().reshape(&[7, 2]).unwrap());
        assert_close(&slice(&out), &host(&mlp.forward(&x).unwrap()), 1e-12, "shared input");
        let xm = per_member_x.narrow(0, m, 1).unwrap().reshape(&[7, 2]).unwrap();
        assert_close(&slice(&out_each), &host(&mlp.forward(&xm).unwrap()), 1e-12, "own input");
        firsts.push(slice(&out)[0]);
    }
    assert!(firsts.windows(2).all(|w| w[0] != w[1]), "members share an initialisation: {firsts:?}");
}

/// With beta = 0 the loss is the sum of the members' own NLLs (plus the Gaussian prior when one
/// is set): a plain deep ensemble, each member's gradient its own.
#[test]
fn beta_zero_is_the_deep_ensemble_loss() {
    let spec = MlpSpec::new(1, &[6], 2).activation(Activation::Tanh);
    let (members, n) = (3, 200);
    let ens = ensemble(&spec, members, 13);
    let data = toy::heteroscedastic_gap(9, 10);
    let (x, y) = data.tensors(F64, &dev()).unwrap();
    let y1 = y.reshape(&[9]).unwrap();
    for space in [RepulsionSpace::Losses, RepulsionSpace::Predictions, RepulsionSpace::Weights] {
        let loss = re_loss(&ens, &x, &y, 0.0, space, None, n).unwrap();
        let grads = loss.backward().unwrap();
        let mut total = 0.0;
        for m in 0..members {
            let mlp = member_mlp(&ens, m);
            let own = gaussian_nll(&mlp.forward(&x).unwrap(), &y1).unwrap();
            total += own.to_scalar().unwrap();
            let own_grads = own.backward().unwrap();
            for (l, lin) in mlp.layers.iter().enumerate() {
                let g = grads.get_id(ens.layers[l].weight.id()).unwrap().narrow(0, m, 1).unwrap();
                assert_close(&host(&g), &host(own_grads.get_id(lin.weight.id()).unwrap()), 1e-12, "weight grad");
                let g = grads.get_id(ens.layers[l].bias.id()).unwrap().narrow(0, m, 1).unwrap();
                let gb = own_grads.get_id(lin.bias.as_ref().unwrap().id()).unwrap();
                assert_close(&host(&g), &host(gb), 1e-12, "bias grad");
            }
        }
        assert!(
            (loss.to_scalar().unwrap() - total).abs() < 1e-12,
            "{space:?}: {} vs {total}",
            loss.to_scalar().unwrap()
        );
    }
    // The prior adds sum |theta|^2 / (2 N sigma_p^2) and nothing else.
    let sp = 0.5;
    let losses = RepulsionSpace::Losses;
    let sq: f64 = ens.params().iter().map(|p| host(&p.var.tensor()).iter().map(|v| v * v).sum::<f64>()).sum();
    let diff = re_loss(&ens, &x, &y, 0.0, losses, Some(sp), n).unwrap().to_scalar().unwrap()
        - re_loss(&ens, &x, &y, 0.0, losses, None, n).unwrap().to_scalar().unwrap();
    assert!((diff - sq / (2.0 * n as f64 * sp * sp)).abs() < 1e-12);
    // With beta > 0 the value is the same (the repulsion term is zero-valued), the gradient not.
    let (a, b) =
        (re_loss(&ens, &x, &y, 1.0, losses, None, n).unwrap(), re_loss(&ens, &x, &y, 0.0, losses, None, n).unwrap());
    assert!((a.to_scalar().unwrap() - b.to_scalar().unwrap()).abs() < 1e-12);
    let (ga, gb) = (a.backward().unwrap(), b.backward().unwrap());
    let id = ens.layers[0].weight.id();
    assert_ne!(host(ga.get_id(id).unwrap()), host(gb.get_id(id).unwrap()));
}

#[test]
fn predict_on_an_ensemble_uses_the_members_as_draws() {
    let spec = MlpSpec::new(1, &[6], 2).activation(Activation::Tanh);
    let ens = ensemble(&spec, 5, 14);
    let x = t(&[-2.0, 0.0, 1.5], &[3, 1]);
    let p = predict(&ens, &x, 50).unwrap();
    assert_eq!(p.draws, 5);
    let (mut means, mut logvars) = (vec![], vec![]);
    for m in 0..5 {
        let (mu, lv) = split_mean_logvar(&member_mlp(&ens, m).forward(&x).unwrap()).unwrap();
        means.push(host(&mu));
        logvars.push(host(&lv));
    }
    let by_hand = Prediction::from_draws(&means, &logvars).unwrap();
    assert_close(&p.mean, &by_hand.mean, 1e-12, "mean");
    assert_close(&p.sigma_stat2, &by_hand.sigma_stat2, 1e-12, "sigma_stat^2");
    assert_close(&p.sigma_syst2, &by_hand.sigma_syst2, 1e-12, "sigma_syst^2");
}

#[test]
fn elbo_loss_needs_the_training_set_size_and_ignores_deterministic_models() {
    let mlp = MlpSpec::new(1, &[4], 2).build(F64, &dev(), 1).unwrap();
    let nll = t(&[0.7], &[]);
    assert_eq!(elbo_loss(&nll, &mlp, 100).unwrap().to_scalar().unwrap(), 0.7);
    let bnn = bnn(&MlpSpec::new(1, &[4], 2), VariationalConfig::default(), 1);
    assert!(elbo_loss(&nll, &bnn, 0).is_err());
    let kl = bnn.kl().unwrap().unwrap().to_scalar().unwrap();
    let want = 0.7 + kl / 100.0;
    assert!((elbo_loss(&nll, &bnn, 100).unwrap().to_scalar().unwrap() - want).abs() < 1e-12);
}

// ----- the statements of the text that are not equations --------------------------------------

/// The gradient of L = (1/B) sum_b sum_j (o_bj - y_bj)^2 / 2 with respect to mu_ij is
/// (1/B) sum_b (o_bj - y_bj) a_bi; its noise over weight draws is (1/B) sum_b n_bj a_bi with
/// n_bj the sampled part of o_bj. Its variance, exactly:
/// - one shared W (reparameterization): n_bj = sum_k a_bk sigma_kj xi_kj, so
///   Var = sum_k sigma_kj^2 C_ik^2 with C_ik = (1/B) sum_b a_bi a_bk, which does not shrink
///   as B grows (the weight noise is common to the whole batch: the covariance term);
/// - local reparameterization: n_bj = sqrt(v_bj) eps_bj, independent per sample, so
///   Var = (1/B^2) sum_b a_bi^2 v_bj with v_bj = sum_k a_bk^2 sigma_kj^2 + 1e-8: a 1/B fall;
/// - flipout: the random output signs cancel every cross term, so the same as the local form
///   (without the 1e-8).
///
/// The test measures the variance over 4000 draws at B = 4 and B = 64 for each estimator and
/// compares it with its formula within 5 standard errors (estimated from the draws' fourth
/// moment, as flipout's noise is not Gaussian); then it checks what the formulas say: at
/// B = 64 the local form's variance is at least 10 times below the shared draw's, and from
/// B = 4 to 64 it falls at least 8 times while the shared draw's falls less than 2 times.
#[test]
fn local_reparameterization_lowers_the_gradient_variance() {
    let draws = 4000;
    let mut measured = std::collections::HashMap::new();
    for batch in [4usize, 64] {
        // Inputs with a common positive part, as activations after a tanh + 1 often are: the
        // per-sample gradients then share a direction, and the covariance term is large.
        let a: Vec<f64> = normals(200 + batch as u64, batch * 3).iter().map(|z| 1.0 + 0.5 * z).collect();
        let y = t(&normals(300 + batch as u64, batch * 2), &[batch, 2]);
        let x = t(&a, &[batch, 3]);
        for estimator in ESTIMATORS {
            let l = layer(estimator, 1.0, 9);
            let s2: Vec<f64> = host(&l.logsig2.tensor()).iter().map(|v| v.exp()).collect();
            let grads: Vec<Vec<f64>> = (0..draws)
                .map(|_| {
                    let o = l.forward(&x)?;
                    let loss = o.sub(&y)?.square()?.sum_all()?.mul_scalar(0.5 / batch as f64)?;
                    Ok(host(loss.backward()?.get_id(l.mu.id()).unwrap()))
                })
                .collect::<Result<Vec<_>>>()
                .unwrap();
            for i in 0..3 {
                for j in 0..2 {
                    let c = |i: usize, k: usize| {
                        (0..batch).map(|b| a[b * 3 + i] * a[b * 3 + k]).sum::<f64>() / batch as f64
                    };
                    let want = match estimator {
                        Estimator::Reparameterization => (0..3).map(|k| s2[k * 2 + j] * c(i, k).powi(2)).sum::<f64>(),
                        _ => {
                            let eps = if estimator == Estimator::LocalReparameterization { 1e-8 } else { 0.0 };
                            (0..batch)
                                .map(|b| {
                                    let v = (0..3).map(|k| a[b * 3 + k].powi(2) * s2[k * 2 + j]).sum::<f64>() + eps;
                                    a[b * 3 + i].powi(2) * v
                                })
                                .sum::<f64>()
                                / (batch * batch) as f64
                        }
                    };
                    let g: Vec<f64> = grads.iter().map(|g| g[i * 2 + j]).collect();
                    let (m, _) = mean_and_se(&g);
                    let var = g.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (draws as f64 - 1.0);
                    let m4 = g.iter().map(|v| (v - m).powi(4)).sum::<f64>() / draws as f64;
                    let se = ((m4 - var * var) / draws as f64).sqrt();
                    assert!(
                        (var - want).abs() < 5.0 * se,
                        "{estimator:?}, B = {batch}, dL/dmu[{i},{j}]: variance {var:.4e} +- {se:.1e}, exact {want:.4e}"
                    );
                    measured.insert((format!("{estimator:?}"), batch, i, j), want);
                }
            }
        }
    }
    for i in 0..3 {
        for j in 0..2 {
            let v = |e: &str, b: usize| measured[&(e.to_string(), b, i, j)];
            let (shared, local) = ("Reparameterization", "LocalReparameterization");
            assert!(v(shared, 64) > 10.0 * v(local, 64), "[{i},{j}]: {} vs {}", v(shared, 64), v(local, 64));
            assert!(v(local, 4) > 8.0 * v(local, 64), "[{i},{j}]: the local form's variance must fall as 1/B");
            assert!(v(shared, 4) < 2.0 * v(shared, 64), "[{i},{j}]: the shared draw's variance must not fall");
        }
    }
}

/// Section 2: the forward pass clamps l = ln sigma^2 to `logsig2_range` ([-20, 11]) as the KL
/// does. A weight with l = 15 gives exactly the outputs of l = 11 (and -30 those of -20), in
/// training (every estimator, same noise) and in evaluation draws, and its gradient is zero;
/// inside the range (l = 10.5) the outputs differ and the gradient is not zero.
#[test]
fn forward_pass_clamps_the_log_variance() {
    let x = t(&normals(400, 12), &[4, 3]);
    for estimator in ESTIMATORS {
        let make = |l0: f64| {
            let l = layer(estimator, 1.0, 13);
            let mut ls = host(&l.logsig2.tensor());
            ls[0] = l0;
            l.logsig2.set(&t(&ls, &[3, 2])).unwrap();
            l
        };
        for mode in [Mode::Train, Mode::Eval { draw: 2 }] {
            let out = |l0: f64| {
                let l = make(l0);
                l.set_mode(mode);
                host(&no_grad(|| l.forward(&x)).unwrap())
            };
            assert_eq!(out(15.0), out(11.0), "{estimator:?}, {mode:?}: l = 15 is not clamped to 11");
            assert_eq!(out(-30.0), out(-20.0), "{estimator:?}, {mode:?}: l = -30 is not clamped to -20");
            assert_ne!(out(10.5), out(11.0), "{estimator:?}, {mode:?}: l = 10.5 must act");
        }
        let grad = |l0: f64| {
            let l = make(l0);
            let g = l.forward(&x).unwrap().square().unwrap().sum_all().unwrap().backward().unwrap();
            host(g.get_id(l.logsig2.id()).unwrap())[0]
        };
        assert_eq!(grad(15.0), 0.0, "{estimator:?}: a clamped l has a gradient");
        assert!(grad(10.5) != 0.0, "{estimator:?}: an unclamped l has no gradient");
    }
}

/// The worked example's data (docs/bnn-loss.md, section 0): y = 0.5 x + s z, x on [-1, 1] or,
/// with `plus_minus_one`, x = +-1 alternately.
fn line_data(n: usize, noise: f64, plus_minus_one: bool) -> (Vec<f64>, Vec<f64>) {
    let x: Vec<f64> =
        if plus_minus_one { (0..n).map(|i| [1.0, -1.0][i % 2]).collect() } else { uniforms(500, -1.0, 1.0, n) };
    let y = x.iter().zip(normals(501, n)).map(|(x, z)| 0.5 * x + 0.2 * f64::from(plus_minus_one) + noise * z).collect();
    (x, y)
}

/// Sample standard deviation of column `c` of particles [M, d].
fn particle_mean_sd(p: &[f64], d: usize, c: usize) -> (f64, f64) {
    let v: Vec<f64> = p.iter().skip(c).step_by(d).copied().collect();
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (m, (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt())
}

/// Eqs. (11)-(13) with a posterior whose answer is known: M particles theta_i of the one-weight
/// regression (noise 0.1, N = 100, prior N(0, 1): the exact posterior N(m, 0.0173^2)), moved by
/// plain gradient descent on the loss (13) written term by term, with the library's
/// `rbf_repulsion(theta, 1, N)` as the last term, until they stop.
///
/// The fixed point of the kernel-density flow is not the posterior itself: the KDE smooths rho
/// with a kernel of width sqrt(h) (h ~ 0.1 Var at M = 64), so the particles stop with a spread
/// somewhat below sigma_post that approaches it only as M grows (h shrinks as 1/ln M). The
/// measured fixed point (also in a 30-line NumPy reimplementation of the flow) is 0.857 sigma
/// at M = 16 and 0.926 sigma at M = 64; the test asserts the mean within 0.02 sigma, the spread
/// in [0.82, 0.89] sigma at M = 16 and [0.90, 0.95] sigma at M = 64. A wrong scaling fails by
/// far: the repulsion divided by the batch size 10 instead of N spreads the particles to about
/// 3 sigma, and no repulsion (beta = 0, a deep ensemble) collapses them onto the MAP.
#[test]
fn repulsive_particles_sample_a_known_gaussian_posterior() {
    let (n, noise) = (100usize, 0.1);
    let (xs, ys) = line_data(n, noise, false);
    let sxx: f64 = xs.iter().map(|x| x * x).sum();
    let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| x * y).sum();
    let precision = 1.0 + sxx / (noise * noise);
    let (mean, sd) = (sxy / (noise * noise) / precision, precision.powf(-0.5));
    let x = t(&xs, &[1, n]);
    let y = t(&ys, &[1, n]);
    let descend = |m: usize, beta: f64, repulsion_n: usize| -> Result<(f64, f64)> {
        let start: Vec<f64> = normals(600 + m as u64, m).iter().map(|z| mean + 3.0 * sd + 0.1 * sd * z).collect();
        let theta = Var::new(&t(&start, &[m, 1])).unwrap();
        // The data term's curvature per particle is sum x^2 / (N s^2): steps of 0.05 over it,
        // well inside the stability limit that the repulsion (curvature ~ 10 times that) sets.
        let lr = 0.05 * n as f64 * noise * noise / sxx;
        for _ in 0..4000 {
            let th = theta.tensor();
            let nll =
                y.sub(&th.matmul(&x)?)?.square()?.mean(&[1], false)?.sum_all()?.mul_scalar(0.5 / (noise * noise))?;
            let prior = th.square()?.sum_all()?.mul_scalar(0.5 / n as f64)?;
            let mut loss = nll.add(&prior)?;
            if beta > 0.0 {
                loss = loss.add(&rbf_repulsion(&th, beta, repulsion_n)?)?;
            }
            let g = loss.backward()?.get_id(theta.id()).unwrap().clone();
            theta.set(&th.sub(&g.mul_scalar(lr)?)?.detach())?;
        }
        Ok(particle_mean_sd(&host(&theta.tensor()), 1, 0))
    };
    let run = |m, beta, rn| {
        let (pm, ps) = descend(m, beta, rn).unwrap();
        eprintln!(
            "M = {m}, beta = {beta}, repulsion / {rn}: mean {pm:.5} (exact {mean:.5}), sd / exact sd {:.3}",
            ps / sd
        );
        (pm, ps / sd)
    };
    for (m, lo, hi) in [(16, 0.82, 0.89), (64, 0.90, 0.95)] {
        let (pm, ratio) = run(m, 1.0, n);
        assert!((pm - mean).abs() < 0.02 * sd, "M = {m}: particle mean {pm}, exact {mean}");
        assert!((lo..=hi).contains(&ratio), "M = {m}: spread {ratio} sigma_post, expected [{lo}, {hi}]");
    }
    let (_, too_wide) = run(64, 1.0, 10);
    assert!(too_wide > 2.0, "the repulsion over |B| = 10 instead of N should spread the particles: {too_wide}");
    let (_, collapsed) = run(64, 0.0, n);
    assert!(collapsed < 0.01, "without repulsion the particles should collapse onto the MAP: {collapsed}");
}

/// The same through the trainer's own objective: a 64-member ensemble of one-layer networks
/// f = w x + b, `Objective` with the MSE likelihood (the Gaussian NLL of noise variance 1/2),
/// the prior N(0, 1) and weight-space repulsion, beta = 1, descended with SGD until it stops.
/// x = +-1 makes the exact posterior of (w, b) isotropic (precision 2N + 1 in both), so that the
/// isotropic kernel is fair. In two dimensions the flow's fixed point is narrower than in one
/// (measured 0.83 sigma at M = 64, in the NumPy flow too); the test asserts both means within
/// 0.02 sigma and both spreads in [0.79, 0.87] sigma, which a repulsion weighted by anything
/// but beta / N, or a likelihood not averaged over the batch, would miss.
#[test]
fn repulsive_ensemble_objective_samples_a_known_2d_posterior() {
    let (n, members) = (100usize, 64usize);
    let (xs, ys) = line_data(n, 0.7, true);
    let precision = 2.0 * n as f64 + 1.0;
    let sd = precision.powf(-0.5);
    let (sx, sy): (f64, f64) = (xs.iter().zip(&ys).map(|(x, y)| x * y).sum(), ys.iter().sum());
    let exact = [2.0 * sx / precision, 2.0 * sy / precision];
    let model =
        EnsembleMlp::new(&ModelSpec::ensemble(MlpSpec::new(1, &[], 1), members, Head::Point), F64, &dev(), 3).unwrap();
    let start = |c: usize| -> Vec<f64> {
        normals(700 + c as u64, members).iter().map(|z| exact[c] + 2.0 * sd + 0.1 * sd * z).collect()
    };
    model.layers[0].weight.set(&t(&start(0), &[members, 1, 1])).unwrap();
    model.layers[0].bias.set(&t(&start(1), &[members, 1, 1])).unwrap();
    let objective = Objective::new(
        Likelihood::Mse,
        Regulariser::Repulsion { beta: 1.0, space: RepulsionSpace::Weights, prior_sigma: Some(1.0) },
    );
    let batch = Batch { x: t(&xs, &[n, 1]), y: t(&ys, &[n]), w: None };
    let mut opt = nn::Sgd::new(model.params(), 0.02);
    for _ in 0..4000 {
        let grads = objective.loss(&model, &batch, n).unwrap().backward().unwrap();
        nn::Optimizer::step(&mut opt, &grads).unwrap();
    }
    let p = host(&nn::member_params(&model, members).unwrap());
    for (c, name) in ["w", "b"].into_iter().enumerate() {
        let (m, s) = particle_mean_sd(&p, 2, c);
        eprintln!("{name}: mean {m:.5} (exact {:.5}), sd / exact sd {:.3}", exact[c], s / sd);
        assert!((m - exact[c]).abs() < 0.02 * sd, "{name}: particle mean {m}, exact {}", exact[c]);
        assert!((0.79..=0.87).contains(&(s / sd)), "{name}: spread {} sigma_post, expected [0.79, 0.87]", s / sd);
    }
}
