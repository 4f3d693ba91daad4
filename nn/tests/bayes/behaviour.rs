//! The behaviour of the variational layers, the predictive moments and the ensembles: evaluation
//! draws, MAP mode, the estimators, `predict`, ensemble forwards and the deep-ensemble limit.

use super::*;

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
