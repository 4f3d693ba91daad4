//! Optimizers against independent references, and each schedule's curve at a few steps.

use autodiff::{DType, Tensor, Var};
use nn::optim::{Adam, Optimizer, Sgd};
use nn::schedule::{Schedule, Scheduler};
use nn::Param;

/// Gradients equal to `g`: the gradient of sum(p * g) with respect to p.
fn step_with(opt: &mut dyn Optimizer, p: &Var, g: &[f64]) {
    let gt = Tensor::from_f64s(g, &[g.len()], DType::F64, &backend_cpu::device()).unwrap();
    let loss = p.tensor().mul(&gt).unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    opt.step(&grads).unwrap();
}

fn var(v: &[f64]) -> Var {
    Var::new(&Tensor::from_f64s(v, &[v.len()], DType::F64, &backend_cpu::device()).unwrap()).unwrap()
}

fn assert_close(a: &[f64], b: &[f64]) {
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
    }
}

// The references below were computed with an independent ten-line Python implementation of
// Kingma and Ba's algorithm 1 (and PyTorch's AdamW order: decay, then the Adam step).
#[test]
fn adam_two_steps_match_the_reference() {
    let p = var(&[1.0, -2.0, 0.5]);
    let mut opt = Adam::new(vec![Param::new("p", &p)], 0.1);
    step_with(&mut opt, &p, &[0.5, -1.0, 0.0]);
    step_with(&mut opt, &p, &[0.1, 0.3, -2.0]);
    assert_close(&p.tensor().to_vec_f64().unwrap(), &[0.8196959063846518, -1.8572151424292265, 0.5744136818306456]);
}

#[test]
fn adamw_two_steps_match_the_reference() {
    let p = var(&[1.0, -2.0, 0.5]);
    let mut opt = Adam::new(vec![Param::new("p", &p)], 0.1).weight_decay(0.01);
    step_with(&mut opt, &p, &[0.5, -1.0, 0.0]);
    step_with(&mut opt, &p, &[0.1, 0.3, -2.0]);
    assert_close(&p.tensor().to_vec_f64().unwrap(), &[0.8177969063826518, -1.8533171424282264, 0.5734141818306456]);
}

#[test]
fn sgd_with_momentum() {
    let p = var(&[1.0]);
    let mut opt = Sgd::new(vec![Param::new("p", &p)], 0.1).momentum(0.9);
    step_with(&mut opt, &p, &[1.0]); // v = 1, p = 0.9
    step_with(&mut opt, &p, &[1.0]); // v = 1.9, p = 0.71
    assert_close(&p.tensor().to_vec_f64().unwrap(), &[0.71]);
}

#[test]
fn a_graph_still_holding_the_old_value_is_not_mutated() {
    let p = var(&[1.0, 2.0]);
    let before = p.tensor();
    let mut opt = Sgd::new(vec![Param::new("p", &p)], 0.5);
    step_with(&mut opt, &p, &[1.0, 1.0]);
    assert_eq!(before.to_vec_f64().unwrap(), vec![1.0, 2.0]);
    assert_eq!(p.tensor().to_vec_f64().unwrap(), vec![0.5, 1.5]);
}

#[test]
fn schedules_follow_their_curves() {
    let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    let s = Scheduler::new(Schedule::Step { every: 10, gamma: 0.5 }, 1.0);
    close(s.lr(0), 1.0);
    close(s.lr(9), 1.0);
    close(s.lr(10), 0.5);
    close(s.lr(25), 0.25);

    let s = Scheduler::new(Schedule::Cosine { total: 100, min_lr: 0.1 }, 1.1);
    close(s.lr(0), 1.1);
    close(s.lr(50), 0.6);
    close(s.lr(100), 0.1);
    close(s.lr(1000), 0.1);

    let s = Scheduler::new(Schedule::OneCycle { total: 100, pct_start: 0.3, div: 25.0, final_div: 1e4 }, 1.0);
    close(s.lr(0), 1.0 / 25.0);
    close(s.lr(30), 1.0);
    close(s.lr(100), 1.0 / 25.0 / 1e4);
    assert!(s.lr(15) > s.lr(0) && s.lr(15) < 1.0 && s.lr(60) < 1.0);

    let s = Scheduler::new(Schedule::Constant, 0.3);
    close(s.lr(12345), 0.3);
}

#[test]
fn reduce_on_plateau_waits_for_patience() {
    let mut s =
        Scheduler::new(Schedule::ReduceOnPlateau { factor: 0.1, patience: 2, threshold: 1e-4, min_lr: 1e-3 }, 1.0);
    for v in [1.0, 0.5, 0.6, 0.6] {
        s.end_epoch(v);
    }
    assert_eq!(s.lr(0), 1.0, "two bad epochs are within patience");
    s.end_epoch(0.7);
    assert!((s.lr(0) - 0.1).abs() < 1e-12, "the third bad epoch reduces");
    for _ in 0..20 {
        s.end_epoch(0.9);
    }
    assert!((s.lr(0) - 1e-3).abs() < 1e-12, "never below min_lr");
    // Negative losses (NLLs) improve downwards too.
    let mut s =
        Scheduler::new(Schedule::ReduceOnPlateau { factor: 0.5, patience: 0, threshold: 1e-4, min_lr: 0.0 }, 1.0);
    s.end_epoch(-1.0);
    s.end_epoch(-2.0);
    assert_eq!(s.lr(0), 1.0);
    s.end_epoch(-1.9);
    assert_eq!(s.lr(0), 0.5);
}
