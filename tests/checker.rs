//! The checker checks itself: an op whose backward rule is deliberately wrong must be caught
//! by the same machinery the op tests use, and the report must say which input and which
//! element are wrong. A checker that always passes would make every other test file vacuous.

mod common;

use common::*;
use proptest::prelude::*;
use sigmagrad::check::{check_grads, check_jacobian, check_vjp, CheckOptions};
use sigmagrad::{DType, Result, Tensor};

/// f(x, y) = x^2 * y (element-wise, same shape). Its backward rule is right for x and, for y,
/// off by `delta` at flat element `bad` (delta = 0 gives the correct rule).
fn x2y_with_bug(x: &Tensor, y: &Tensor, bad: usize, delta: f64) -> Result<Tensor> {
    let value = x.square()?.mul(y)?;
    let n = x.numel();
    let shape = x.shape().to_vec();
    Tensor::custom_op("x2y_buggy", &value, &[x, y], move |ins, _out, g| {
        let (x, y) = (&ins[0], &ins[1]);
        let gx = g.mul(&x.mul(y)?.mul_scalar(2.0)?)?;
        let mut err = vec![0.0; n];
        err[bad] = delta;
        let gy = g.mul(&x.square()?.add(&Tensor::from_f64s(&err, &shape, g.dtype(), g.device())?)?)?;
        Ok(vec![gx, gy])
    })
}

fn inputs(shape: &[usize], seed: u64) -> Vec<Tensor> {
    let mut rng = sigmagrad::Rng::new(seed);
    // Values away from 0, so x^2 is not tiny and the wrong entry stands out.
    let mut draw = || {
        let u = rng.uniform(0.5, 2.0, shape, DType::F64, &dev()).unwrap();
        let s = rng.rademacher(shape, DType::F64, &dev()).unwrap();
        u.mul(&s).unwrap()
    };
    vec![draw(), draw()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Full-Jacobian mode: fails, names input 1, the input element and the output element.
    #[test]
    fn jacobian_mode_names_the_wrong_input_and_element(
        (shape, bad) in autodiff::testing::shape(0, 3, 3).prop_flat_map(|s| { let n = numel(&s); (Just(s), 0..n) }),
        delta in prop_oneof![0.05f64..2.0, -2.0f64..-0.05],
        seed in any::<u64>(),
    ) {
        let xs = inputs(&shape, seed);
        let r = check_jacobian(|x| x2y_with_bug(&x[0], &x[1], bad, delta), &xs, &opts()).unwrap();
        prop_assert!(!r.passed(), "a wrong rule passed:\n{}", r);
        prop_assert!(r.inputs[0].passed, "input 0 is right but reported:\n{}", r);
        let failures = r.failures();
        prop_assert_eq!(failures.len(), 1);
        prop_assert_eq!(failures[0].input, 1);
        prop_assert_eq!(&failures[0].shape, &shape);
        prop_assert_eq!(failures[0].element.clone(), Some(unravel(bad, &shape)));
        // An element-wise op: the wrong entry is on the diagonal of the Jacobian.
        prop_assert_eq!(failures[0].output_element.clone(), Some(unravel(bad, &shape)));
        // The analytic value is off by delta times the cotangent (1 in this mode).
        prop_assert!((failures[0].analytic - failures[0].numeric - delta).abs() < 1e-6, "{}", r);
        let text = r.to_string();
        prop_assert!(text.contains("FAILED") && text.contains("input 1") && text.contains(&format!("{:?}", unravel(bad, &shape))), "{}", text);

        // The same op with the right rule passes.
        let r = check_jacobian(|x| x2y_with_bug(&x[0], &x[1], bad, 0.0), &xs, &opts()).unwrap();
        prop_assert!(r.passed(), "{}", r);
    }

    /// Projection mode on small inputs also compares J^T c element by element, so it too
    /// names the element.
    #[test]
    fn vjp_mode_names_the_wrong_input_and_element(
        (shape, bad) in autodiff::testing::shape(0, 3, 3).prop_flat_map(|s| { let n = numel(&s); (Just(s), 0..n) }),
        delta in prop_oneof![0.05f64..2.0, -2.0f64..-0.05],
        seed in any::<u64>(),
        check_seed in any::<u64>(),
    ) {
        let xs = inputs(&shape, seed);
        let o = CheckOptions { seed: check_seed, ..opts() };
        let r = check_vjp(|x| x2y_with_bug(&x[0], &x[1], bad, delta), &xs, &o).unwrap();
        prop_assert!(!r.passed(), "a wrong rule passed:\n{}", r);
        prop_assert!(r.inputs[0].passed, "{}", r);
        let failures = r.failures();
        prop_assert_eq!(failures.len(), 1);
        prop_assert_eq!(failures[0].input, 1);
        prop_assert_eq!(failures[0].element.clone(), Some(unravel(bad, &shape)), "{}", r);
        prop_assert_eq!(failures[0].output_element.clone(), None);

        let r = check_vjp(|x| x2y_with_bug(&x[0], &x[1], bad, 0.0), &xs, &o).unwrap();
        prop_assert!(r.passed(), "{}", r);
    }

    /// Inputs too large for element-wise comparison: the random projection alone must still
    /// catch a rule that is wrong everywhere (here: a factor 3 instead of 2 for x).
    #[test]
    fn projections_catch_a_wrong_rule_on_large_inputs(n in 65usize..300, seed in any::<u64>()) {
        let xs = inputs(&[n], seed);
        let f = |x: &[Tensor]| {
            let value = x[0].square()?.mul(&x[1])?;
            Tensor::custom_op("x2y_factor", &value, &[&x[0], &x[1]], |ins, _, g| {
                Ok(vec![g.mul(&ins[0].mul(&ins[1])?.mul_scalar(3.0)?)?, g.mul(&ins[0].square()?)?])
            })
        };
        let r = check_vjp(f, &xs, &CheckOptions { seed, ..opts() }).unwrap();
        prop_assert_eq!(r.mode, "vjp");
        prop_assert!(!r.passed(), "{}", r);
        let failures = r.failures();
        prop_assert_eq!(failures.len(), 1);
        prop_assert_eq!(failures[0].input, 0);
        prop_assert_eq!(failures[0].element.clone(), None, "a projection names no element");
    }

    /// check_grads picks the full Jacobian for small problems and projections for large
    /// ones, and either way catches the bug.
    #[test]
    fn check_grads_dispatch(n in prop_oneof![1usize..20, 40usize..120], bad_frac in 0.0f64..1.0, seed in any::<u64>()) {
        let bad = ((n as f64 * bad_frac) as usize).min(n - 1);
        let xs = inputs(&[n], seed);
        let r = check_grads(|x| x2y_with_bug(&x[0], &x[1], bad, 1.0), &xs, &opts()).unwrap();
        prop_assert_eq!(r.mode, if 2 * n * n <= 1024 { "jacobian" } else { "vjp" });
        prop_assert!(!r.passed());
        prop_assert_eq!(r.failures()[0].input, 1);
        // Element-wise comparison runs up to `elementwise_up_to` elements (64 by default).
        let located = r.mode == "jacobian" || n <= opts().elementwise_up_to;
        prop_assert_eq!(r.failures()[0].element.clone(), if located { Some(vec![bad]) } else { None }, "{}", r);
    }
}

#[test]
fn a_missing_gradient_is_caught() {
    // The rule forgets y entirely (returns zeros).
    let xs = inputs(&[2, 3], 7);
    let f = |x: &[Tensor]| {
        let value = x[0].mul(&x[1])?;
        Tensor::custom_op("forgets_y", &value, &[&x[0], &x[1]], |ins, _, g| Ok(vec![g.mul(&ins[1])?, g.zeros_like()?]))
    };
    let r = check_jacobian(f, &xs, &opts()).unwrap();
    assert!(!r.passed());
    assert_eq!(r.failures().len(), 1);
    assert_eq!(r.failures()[0].input, 1);
    assert_eq!(r.failures()[0].analytic, 0.0);
}

#[test]
fn a_gradient_with_the_wrong_sign_is_caught_and_a_right_custom_op_passes() {
    let xs = inputs(&[3], 11);
    let wrong = |x: &[Tensor]| {
        let value = x[0].exp()?;
        Tensor::custom_op("exp_wrong_sign", &value, &[&x[0]], |_, y, g| Ok(vec![g.mul(y)?.neg()?]))
    };
    let right = |x: &[Tensor]| {
        let value = x[0].exp()?;
        Tensor::custom_op("exp_right", &value, &[&x[0]], |_, y, g| Ok(vec![g.mul(y)?]))
    };
    assert!(!check_grads(wrong, &xs[..1], &opts()).unwrap().passed());
    let r = check_grads(right, &xs[..1], &opts()).unwrap();
    assert!(r.passed(), "{r}");
    // The custom op is recorded in the graph under its name.
    let x = xs[0].requires_grad();
    assert_eq!(right(std::slice::from_ref(&x)).unwrap().op_name(), Some("exp_right"));
}

#[test]
fn tolerances_decide_small_errors() {
    // A rule off by a relative 1e-3 everywhere: fails at the default rtol (1e-5), passes
    // at rtol 1e-2.
    let xs = inputs(&[4], 3);
    let f = |x: &[Tensor]| {
        let value = x[0].square()?;
        Tensor::custom_op("square_approx", &value, &[&x[0]], |ins, _, g| {
            Ok(vec![g.mul(&ins[0].mul_scalar(2.0 * 1.001)?)?])
        })
    };
    let r = check_jacobian(f, &xs[..1], &opts()).unwrap();
    assert!(!r.passed(), "{r}");
    let worst = &r.inputs[0];
    assert!((worst.worst_rel - 1e-3 / 1.001).abs() < 1e-5, "{r}");
    let loose = CheckOptions { rtol: 1e-2, ..opts() };
    assert!(check_jacobian(f, &xs[..1], &loose).unwrap().passed());
    let loose_abs = CheckOptions { atol: 1.0, ..opts() };
    assert!(check_jacobian(f, &xs[..1], &loose_abs).unwrap().passed());
}

#[test]
fn a_passing_report_still_shows_the_largest_error() {
    // Finite differences of a nonlinear function are never exact: a passing report shows the
    // (small, nonzero) worst disagreement rather than a blank 0.
    let xs = inputs(&[5], 5);
    let r = check_jacobian(|x| x[0].exp()?.mul_scalar(1000.0), &xs[..1], &opts()).unwrap();
    assert!(r.passed(), "{r}");
    assert!(r.inputs[0].worst_abs > 0.0 && r.inputs[0].worst_abs < 1e-3, "{r}");
    assert!(r.inputs[0].element.is_some());
    let text = r.to_string();
    assert!(text.contains("passed") && !text.contains("FAIL"), "{text}");
}

#[test]
fn nan_gradients_fail() {
    let xs = vec![t64(&[1.0, 2.0], &[2])];
    let f = |x: &[Tensor]| {
        let value = x[0].mul_scalar(2.0)?;
        Tensor::custom_op("nan_rule", &value, &[&x[0]], |_, _, g| g.mul_scalar(f64::NAN).map(|t| vec![t]))
    };
    let r = check_jacobian(f, &xs, &opts()).unwrap();
    assert!(!r.passed());
    assert!(r.inputs[0].analytic.is_nan(), "{r}");
}

#[test]
fn checker_rejects_bad_calls() {
    assert!(check_jacobian(|x| Ok(x[0].clone()), &[], &opts()).is_err());
    // Errors inside the function come back as errors, not panics.
    let xs = vec![t64(&[1.0, 2.0], &[2]), t64(&[1.0, 2.0, 3.0], &[3])];
    let e = check_vjp(|x| x[0].add(&x[1]), &xs, &opts()).unwrap_err();
    assert!(e.to_string().contains("add"), "{e}");
}

#[test]
fn f32_inputs_are_checked_in_f64() {
    // The checker evaluates on f64 copies, so an f32 input does not cost precision.
    let x = Tensor::from_f64s(&[0.5, -1.25, 2.0], &[3], DType::F32, &dev()).unwrap();
    let r = check_jacobian(|x| x[0].tanh()?.mul(&x[0]), &[x], &opts()).unwrap();
    assert!(r.passed(), "{r}");
}
