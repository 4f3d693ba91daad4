//! Every loss: its value against a closed form on hand-picked inputs, and its gradient against
//! finite differences in f64 over random inputs.

use autodiff::check::{check_grads, CheckOptions};
use autodiff::{DType, Tensor};
use nn::loss::{balanced_bce, bce_with_logits, gaussian_nll, leaky_gaussian_kernel, mse, LOGVAR_MAX, LOGVAR_MIN};
use proptest::prelude::*;

fn t(v: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_f64s(v, shape, DType::F64, &backend_cpu::device()).unwrap()
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
}

#[test]
fn mse_value() {
    let l = mse(&t(&[1.0, 2.0, 4.0], &[3]), &t(&[0.0, 2.0, 1.0], &[3])).unwrap();
    close(l.to_scalar().unwrap(), (1.0 + 0.0 + 9.0) / 3.0);
}

#[test]
fn mismatched_shapes_are_an_error_not_a_broadcast() {
    let e = mse(&t(&[1.0, 2.0], &[2, 1]), &t(&[1.0, 2.0], &[2])).unwrap_err().to_string();
    assert!(e.contains("[2, 1]") && e.contains("[2]"), "{e}");
}

#[test]
fn gaussian_nll_value() {
    // Two samples: (mu, l) = (1, 0) vs y = 3, and (0, ln 4) vs y = 1.
    let out = t(&[1.0, 0.0, 0.0, 4f64.ln()], &[2, 2]);
    let y = t(&[3.0, 1.0], &[2]);
    let expected = (0.5 * 4.0 + 0.0 + 0.5 * 1.0 / 4.0 + 0.5 * 4f64.ln()) / 2.0;
    close(gaussian_nll(&out, &y).unwrap().to_scalar().unwrap(), expected);
}

#[test]
fn gaussian_nll_clamps_the_log_variance() {
    let out = t(&[0.0, -50.0, 0.0, 50.0], &[2, 2]);
    let y = t(&[1e-3, 1.0], &[2]);
    let expected =
        (0.5 * 1e-6 * (-LOGVAR_MIN).exp() + 0.5 * LOGVAR_MIN + 0.5 * (-LOGVAR_MAX).exp() + 0.5 * LOGVAR_MAX) / 2.0;
    close(gaussian_nll(&out, &y).unwrap().to_scalar().unwrap(), expected);
}

#[test]
fn bce_values_and_stability() {
    let logits = t(&[0.0, 2.0, -3.0], &[3]);
    let y = t(&[1.0, 0.0, 1.0], &[3]);
    let sp = |x: f64| (1.0 + x.exp()).ln();
    let expected = (sp(-0.0) + sp(2.0) + sp(3.0)) / 3.0; // -log sigmoid(x) = softplus(-x)
    close(bce_with_logits(&logits, &y).unwrap().to_scalar().unwrap(), expected);
    let extreme = bce_with_logits(&t(&[1000.0, -1000.0], &[2]), &t(&[0.0, 1.0], &[2])).unwrap();
    close(extreme.to_scalar().unwrap(), 1000.0);
}

#[test]
fn balanced_bce_value() {
    let lt = t(&[1.0, -1.0], &[2]);
    let lg = t(&[0.5], &[1]);
    let sp = |x: f64| (1.0 + x.exp()).ln();
    let expected = 0.5 * ((sp(-1.0) + sp(1.0)) / 2.0 + sp(0.5));
    close(balanced_bce(&lt, &lg).unwrap().to_scalar().unwrap(), expected);
}

#[test]
fn leaky_gaussian_kernel_value() {
    let (h, a) = (0.1, 0.05);
    let pred = t(&[1.1, 0.5], &[2]);
    let y = t(&[1.0, 1.0], &[2]);
    let k = |r: f64| -(-r * r / (2.0 * h * h)).exp() / (h * (2.0 * std::f64::consts::PI).sqrt()) + a * r.abs();
    let expected = (k(0.1) + k(-0.5)) / 2.0;
    close(leaky_gaussian_kernel(&pred, &y, h, a).unwrap().to_scalar().unwrap(), expected);
}

type LossCase = (&'static str, Box<dyn Fn(&[Tensor]) -> autodiff::Result<Tensor>>, Vec<Tensor>);

fn opts() -> CheckOptions {
    CheckOptions { rtol: 1e-5, atol: 1e-7, ..CheckOptions::default() }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn loss_gradients_match_finite_differences(
        n in 1usize..6,
        seed in 0u64..1000,
    ) {
        let dev = backend_cpu::device();
        let mut rng = autodiff::Rng::new(seed);
        let a = rng.normal(&[n], DType::F64, &dev).unwrap();
        let b = rng.normal(&[n], DType::F64, &dev).unwrap();
        // Log variances inside the clamp range, targets away from 0 for the ratio losses.
        let head = rng.uniform(-3.0, 3.0, &[n, 2], DType::F64, &dev).unwrap();
        let pos = rng.uniform(0.5, 2.0, &[n], DType::F64, &dev).unwrap();
        let labels = rng.uniform(0.0, 1.0, &[n], DType::F64, &dev).unwrap();
        let cases: Vec<LossCase> = vec![
            ("mse", Box::new(|x: &[Tensor]| mse(&x[0], &x[1])), vec![a.clone(), b.clone()]),
            ("gaussian_nll", Box::new(|x: &[Tensor]| gaussian_nll(&x[0], &x[1])), vec![head.clone(), b.clone()]),
            ("bce", Box::new(|x: &[Tensor]| bce_with_logits(&x[0], &x[1])), vec![a.clone(), labels.clone()]),
            ("balanced_bce", Box::new(|x: &[Tensor]| balanced_bce(&x[0], &x[1])), vec![a.clone(), b.clone()]),
            ("lgk", Box::new(|x: &[Tensor]| leaky_gaussian_kernel(&x[0], &x[1], 0.3, 0.05)), vec![pos.clone().affine(1.0, 0.013).unwrap(), pos.clone()]),
        ];
        for (name, f, inputs) in cases {
            let report = check_grads(f, &inputs, &opts()).unwrap();
            prop_assert!(report.passed(), "{name}: {report}");
        }
    }
}
