//! Gradient checks in f64 (`autodiff::check`): autodiff's gradients of the KL, the variational
//! forward passes, the BNN loss, the repulsion term and the repulsive-ensemble loss against
//! finite differences.

use super::*;

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
