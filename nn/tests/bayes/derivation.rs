//! The derivation of docs/bnn-loss.md, equation by equation: the KL and its gradient, the
//! heteroscedastic NLL, the loss as an estimate of the negative ELBO, the predictive moments and
//! the repulsion's kernel-density update.

use super::*;

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
/// constant N ln(2 pi) / 2), for every estimator, in minibatches of 16 of 64 points.
///
/// The reference is a closed form that shares nothing with the library: for one variational
/// layer 1 -> 2 (no hidden layer) the mean m and the log variance l of a point x are independent
/// Gaussians, m ~ N(x mu_1 + b_1, x^2 s_1^2) and l ~ N(x mu_2 + b_2, x^2 s_2^2), so
///     E[-ln p] = ((y - E m)^2 + Var m) E[e^-l] / 2 + E[l] / 2,   E[e^-l] = e^(-E l + Var l / 2),
/// and the KL is eq. (4) summed by hand over the two weights.
#[test]
fn batch_loss_times_n_estimates_the_negative_elbo() {
    let data = toy::heteroscedastic_gap(64, 5);
    let n = data.len();
    let spec = MlpSpec::new(1, &[], 2);
    for estimator in ESTIMATORS {
        let cfg = VariationalConfig { estimator, ..VariationalConfig::default() };
        let model = bnn(&spec, cfg, 7);
        let layer = &model.layers[0];
        // A wide q on the mean's weight; a narrow one on the log variance's, whose KL is then
        // large enough (3.5) for the KL/|B| mistake to stand out.
        let (mu, logsig2, bias) = ([0.4, -0.3], [-2.5f64, -8.0], [0.1, 0.0]);
        layer.mu.set(&t(&mu, &[1, 2])).unwrap();
        layer.logsig2.set(&t(&logsig2, &[1, 2])).unwrap();
        layer.bias.set(&t(&bias, &[2])).unwrap();
        let neg_elbo = closed_form_negative_elbo(&data, mu, logsig2.map(f64::exp), bias);

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
        let (estimate, se) = mean_and_se(&per_batch);
        assert!(
            (estimate - neg_elbo).abs() < 4.0 * se,
            "{estimator:?}: N * loss = {estimate} +- {se}, closed-form -ELBO = {neg_elbo}"
        );
        assert!(se < 0.02 * neg_elbo.abs(), "{estimator:?}: too noisy to test ({estimate} +- {se})");
        // The comparison has the power to see the classic mistake.
        let (wrong, _) = mean_and_se(&wrong);
        assert!((wrong - neg_elbo).abs() > 20.0 * se, "{estimator:?}: KL/B {wrong} is not told apart from {neg_elbo}");
    }
}

/// -ELBO of a 1 -> 2 variational layer with weight means `mu`, variances `var` and biases `bias`
/// on `data`, under the prior N(0, 1), in closed form (see the test above).
fn closed_form_negative_elbo(data: &nn::Dataset, mu: [f64; 2], var: [f64; 2], bias: [f64; 2]) -> f64 {
    let nll: f64 = data
        .x()
        .iter()
        .zip(data.y())
        .map(|(&x, &y)| {
            let (mean, var_mean) = (x * mu[0] + bias[0], x * x * var[0]);
            let (logvar, var_logvar) = (x * mu[1] + bias[1], x * x * var[1]);
            0.5 * ((y - mean).powi(2) + var_mean) * (-logvar + 0.5 * var_logvar).exp() + 0.5 * logvar
        })
        .sum();
    let kl: f64 = (0..2).map(|k| 0.5 * (var[k] + mu[k] * mu[k] - 1.0 - var[k].ln())).sum();
    nll + kl
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
