//! The negative log-likelihood's gradients against central finite differences in f64, with
//! respect to every parameter and to the inputs, for each coupling and for a Bayesian INN in
//! training (its noise held fixed by rebuilding it with the same seed) and at its weight means.
//! (An evaluation draw's weights are a detached sample, by design without parameter gradients.)

use super::*;
use autodiff::check::{check_grads, CheckOptions};
use autodiff::{Result, TensorId, Var};
use nn::{Batch, Likelihood, Mode, Objective, Regulariser};

/// `f()` with parameter `vars[i]` holding `xs[i]`, recorded as a custom op whose backward is
/// autodiff's reverse pass of `f`'s graph to those parameters: the checker then compares
/// autodiff's parameter gradients with finite differences of `f`.
fn through_params(vars: &[Var], xs: &[Tensor], f: impl FnOnce() -> Result<Tensor>) -> Result<Tensor> {
    for (v, x) in vars.iter().zip(xs) {
        v.set(&x.detach())?;
    }
    let graph = f()?;
    let ids: Vec<TensorId> = vars.iter().map(|v| v.id()).collect();
    let inputs: Vec<&Tensor> = xs.iter().collect();
    let g2 = graph.clone();
    Tensor::custom_op("through_params", &graph.detach(), &inputs, move |ins, _, g| {
        let grads = g2.backward_with(&g.reshape(g2.shape())?)?;
        ids.iter().zip(ins).map(|(id, x)| grads.get_id(*id).cloned().map_or_else(|| x.zeros_like(), Ok)).collect()
    })
}

/// Checks d NLL / d(parameters, inputs) of the flow `build` makes, in `mode`.
fn check_nll(name: &str, build: impl Fn() -> Flow, mode: Mode, regulariser: Regulariser) {
    let x0 = rows(5, 3, 1.6, DType::F64, 31);
    let base = build();
    let mut inputs: Vec<Tensor> = base.params().iter().map(|p| p.var.tensor().detach()).collect();
    inputs.push(x0.clone());
    let objective = Objective::new(Likelihood::Density, regulariser);
    let f = |xs: &[Tensor]| {
        let flow = build();
        flow.set_mode(mode);
        let x = Var::new(&xs[xs.len() - 1])?;
        let mut vars: Vec<Var> = flow.params().into_iter().map(|p| p.var).collect();
        vars.push(x.clone());
        let y = Tensor::zeros(&[5, 1], DType::F64, &dev())?;
        through_params(&vars, xs, || objective.loss(&flow, &Batch { x: x.tensor(), y, w: None }, 40))
    };
    let report = check_grads(f, &inputs, &CheckOptions::default()).unwrap();
    assert!(report.passed(), "{name}: {report}");
}

#[test]
fn gradcheck_affine_flow_nll() {
    check_nll(
        "affine",
        || random_flow(3, config(AFFINE, 3, false), DType::F64, 0.5, 3),
        Mode::Train,
        Regulariser::None,
    );
}

#[test]
fn gradcheck_spline_flow_nll() {
    check_nll(
        "spline",
        || random_flow(3, config(SPLINE, 2, false), DType::F64, 0.5, 4),
        Mode::Train,
        Regulariser::None,
    );
}

#[test]
fn gradcheck_bayesian_flow_nll_with_kl() {
    for (coupling, mode) in [(AFFINE, Mode::Train), (SPLINE, Mode::Train), (SPLINE, Mode::Map)] {
        let build = || random_flow(3, config(coupling, 2, true), DType::F64, 0.5, 8);
        check_nll(&format!("bayesian {coupling:?} in {mode:?}"), build, mode, Regulariser::Kl);
    }
}

#[test]
fn gradcheck_rotated_flow_nll() {
    for coupling in [AFFINE, SPLINE] {
        let build = || random_flow(3, rotated(config(coupling, 2, false)), DType::F64, 0.5, 5);
        check_nll(&format!("rotated {coupling:?}"), build, Mode::Train, Regulariser::None);
    }
}
