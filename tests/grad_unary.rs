//! Element-wise unary ops: forward values against the closed form, gradients against finite
//! differences in f64, on random shapes (scalars included) and on strided views of the input.

mod common;

use autodiff::testing::{nonzero_values, positive_values};
use common::*;
use proptest::prelude::*;
use sigmagrad::{DType, Result, Tensor};

/// The shared property: `op` applied to a view of x matches `reference` element by element,
/// and its gradient (through the view) matches finite differences.
fn unary_case(
    shape: &[usize],
    values: &[f64],
    view: View,
    op: impl Fn(&Tensor) -> Result<Tensor>,
    reference: impl Fn(f64) -> f64,
    tol: f64,
) -> std::result::Result<(), TestCaseError> {
    let x = t64(values, shape);
    let viewed = apply_view(&x, view).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let y = op(&viewed).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(y.shape(), &view_shape(shape, view)[..]);
    let expected: Vec<f64> = view_values(values, view).into_iter().map(&reference).collect();
    prop_close!(y.to_vec_f64().unwrap(), expected, tol, tol);
    prop_grads!(grads_ok(|xs| op(&apply_view(&xs[0], view)?), &[x]));
    Ok(())
}

fn sigmoid_ref(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn softplus_ref(x: f64) -> f64 {
    (1.0 + x.exp()).ln()
}

const CASES: u32 = 40;

/// A property per op: name, op, reference, the values it is smooth on.
macro_rules! unary_props {
    ($($name:ident: $op:expr, $reference:expr, $values:expr;)*) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(CASES))]
            $(
                #[test]
                fn $name((shape, values) in shaped(3, 4, $values), view in view_strategy()) {
                    unary_case(&shape, &values, view, $op, $reference, 1e-12)?;
                }
            )*
        }
    };
}

unary_props! {
    neg: |x: &Tensor| x.neg(), |x: f64| -x, |n| nonzero_values(n, 5.0, 0.0);
    neg_operator: |x: &Tensor| -x, |x: f64| -x, |n| nonzero_values(n, 5.0, 0.0);
    exp: |x: &Tensor| x.exp(), f64::exp, |n| nonzero_values(n, 3.0, 0.0);
    log: |x: &Tensor| x.log(), f64::ln, |n| positive_values(n, 0.1, 5.0);
    sqrt: |x: &Tensor| x.sqrt(), f64::sqrt, |n| positive_values(n, 0.1, 5.0);
    abs: |x: &Tensor| x.abs(), f64::abs, |n| nonzero_values(n, 3.0, 0.05);
    square: |x: &Tensor| x.square(), |x: f64| x * x, |n| nonzero_values(n, 3.0, 0.0);
    recip: |x: &Tensor| x.recip(), |x: f64| 1.0 / x, |n| nonzero_values(n, 3.0, 0.2);
    tanh: |x: &Tensor| x.tanh(), f64::tanh, |n| nonzero_values(n, 4.0, 0.0);
    sigmoid: |x: &Tensor| x.sigmoid(), sigmoid_ref, |n| nonzero_values(n, 6.0, 0.0);
    relu: |x: &Tensor| x.relu(), |x: f64| x.max(0.0), |n| nonzero_values(n, 3.0, 0.05);
    silu: |x: &Tensor| x.silu(), |x: f64| x * sigmoid_ref(x), |n| nonzero_values(n, 5.0, 0.0);
    softplus: |x: &Tensor| x.softplus(), softplus_ref, |n| nonzero_values(n, 5.0, 0.0);
    log_sigmoid: |x: &Tensor| x.log_sigmoid(), |x: f64| -softplus_ref(-x), |n| nonzero_values(n, 5.0, 0.0);
    affine: |x: &Tensor| x.affine(-1.5, 0.25), |x: f64| -1.5 * x + 0.25, |n| nonzero_values(n, 3.0, 0.0);
    add_scalar: |x: &Tensor| x.add_scalar(2.5), |x: f64| x + 2.5, |n| nonzero_values(n, 3.0, 0.0);
    sub_scalar: |x: &Tensor| x.sub_scalar(0.75), |x: f64| x - 0.75, |n| nonzero_values(n, 3.0, 0.0);
    mul_scalar: |x: &Tensor| x.mul_scalar(-3.0), |x: f64| -3.0 * x, |n| nonzero_values(n, 3.0, 0.0);
    div_scalar: |x: &Tensor| x.div_scalar(4.0), |x: f64| x / 4.0, |n| nonzero_values(n, 3.0, 0.0);
    scalar_operators: |x: &Tensor| &(&(&(x * 2.0)? + 1.0)? - 0.5)? / 4.0, |x: f64| (2.0 * x + 0.5) / 4.0,
        |n| nonzero_values(n, 3.0, 0.0);
    // Step and sign are flat away from 0: the gradient (none) agrees with finite differences.
    step: |x: &Tensor| x.step(), |x: f64| if x > 0.0 { 1.0 } else { 0.0 }, |n| nonzero_values(n, 3.0, 0.05);
    sign: |x: &Tensor| x.sign(), f64::signum, |n| nonzero_values(n, 3.0, 0.05);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn powf_on_positive_values(
        (shape, values) in shaped(3, 4, |n| positive_values(n, 0.2, 3.0)),
        p in prop::sample::select(vec![-1.5, -1.0, 0.5, 1.0, 2.0, 2.7, 3.0]),
        view in view_strategy(),
    ) {
        unary_case(&shape, &values, view, move |x| x.powf(p), move |x| x.powf(p), 1e-12)?;
    }

    /// Integer powers are defined (and smooth) for negative bases too.
    #[test]
    fn powf_integer_exponent_on_any_sign(
        (shape, values) in shaped(3, 4, |n| nonzero_values(n, 2.0, 0.1)),
        p in prop::sample::select(vec![2.0, 3.0, 4.0]),
        view in view_strategy(),
    ) {
        unary_case(&shape, &values, view, move |x| x.powf(p), move |x| x.powf(p), 1e-12)?;
    }

    #[test]
    fn leaky_relu(
        (shape, values) in shaped(3, 4, |n| nonzero_values(n, 3.0, 0.05)),
        slope in 0.0f64..0.5,
        view in view_strategy(),
    ) {
        unary_case(&shape, &values, view, move |x| x.leaky_relu(slope), move |x| if x > 0.0 { x } else { slope * x }, 1e-12)?;
    }

    #[test]
    fn clamp(
        lo in -2.0f64..0.0,
        width in 0.5f64..3.0,
        shape in autodiff::testing::shape(0, 3, 4),
        view in view_strategy(),
        seed in any::<u64>(),
    ) {
        let hi = lo + width;
        let n = numel(&shape);
        // Values on both sides of both bounds, kept away from the bounds themselves.
        let values = values_from_seed(seed, n, -4.0, 4.0, &[lo, hi], 0.05);
        unary_case(&shape, &values, view, move |x| x.clamp(lo, hi), move |x| x.clamp(lo, hi), 1e-12)?;
    }
}

/// Deterministic values in [lo, hi] away from `kinks`, from a seed (a strategy whose
/// parameters depend on other drawn values would need prop_flat_map).
fn values_from_seed(seed: u64, n: usize, lo: f64, hi: f64, kinks: &[f64], margin: f64) -> Vec<f64> {
    let mut rng = sigmagrad::Rng::new(seed);
    let u = rng.uniform(lo, hi, &[n], DType::F64, &dev()).unwrap().to_vec_f64().unwrap();
    u.into_iter()
        .map(|mut x| {
            for &k in kinks {
                if (x - k).abs() < margin {
                    x = if x >= k { k + margin } else { k - margin };
                }
            }
            x
        })
        .collect()
}

// ----- documented subgradients at kinks ---------------------------------------------------------

fn grad_of(x: &Tensor, f: impl Fn(&Tensor) -> Result<Tensor>) -> Vec<f64> {
    let x = x.requires_grad();
    let g = f(&x).unwrap().sum_all().unwrap().backward().unwrap();
    g.get(&x).expect("gradient reaches x").to_vec_f64().unwrap()
}

#[test]
fn kinks_use_the_documented_subgradients() {
    let x = t64(&[-1.0, 0.0, 2.0], &[3]);
    // relu and abs: 0 at the kink; leaky_relu: the slope; clamp: passes at the bounds.
    assert_eq!(grad_of(&x, |x| x.relu()), vec![0.0, 0.0, 1.0]);
    assert_eq!(grad_of(&x, |x| x.abs()), vec![-1.0, 0.0, 1.0]);
    assert_eq!(grad_of(&x, |x| x.leaky_relu(0.1)), vec![0.1, 0.1, 1.0]);
    assert_eq!(
        grad_of(&t64(&[-2.0, -1.0, 0.0, 1.0, 3.0], &[5]), |x| x.clamp(-1.0, 1.0)),
        vec![0.0, 1.0, 1.0, 1.0, 0.0]
    );
    assert_eq!(x.relu().unwrap().to_vec_f64().unwrap(), vec![0.0, 0.0, 2.0]);
    assert_eq!(x.leaky_relu(0.1).unwrap().to_vec_f64().unwrap(), vec![-0.1, 0.0, 2.0]);
    assert_eq!(x.sign().unwrap().to_vec_f64().unwrap(), vec![-1.0, 0.0, 1.0]);
    assert_eq!(x.step().unwrap().to_vec_f64().unwrap(), vec![0.0, 0.0, 1.0]);
    assert_eq!(t64(&[-3.0, 0.5, 7.0], &[3]).clamp(-1.0, 2.0).unwrap().to_vec_f64().unwrap(), vec![-1.0, 0.5, 2.0]);
}

#[test]
fn hand_computed_values_and_gradients() {
    let x = t64(&[0.0, 1.0, 4.0], &[3]);
    assert_close(&x.exp().unwrap().to_vec_f64().unwrap(), &[1.0, std::f64::consts::E, 4f64.exp()], 1e-15);
    assert_close(&x.sqrt().unwrap().to_vec_f64().unwrap(), &[0.0, 1.0, 2.0], 0.0);
    assert_close(&x.sigmoid().unwrap().to_vec_f64().unwrap()[..1], &[0.5], 0.0);
    assert_close(&x.softplus().unwrap().to_vec_f64().unwrap()[..1], &[std::f64::consts::LN_2], 1e-15);
    assert_close(&x.tanh().unwrap().to_vec_f64().unwrap()[..1], &[0.0], 0.0);
    assert_close(&x.silu().unwrap().to_vec_f64().unwrap()[..2], &[0.0, 1.0 / (1.0 + (-1f64).exp())], 1e-15);
    // d/dx sqrt(x) = 1 / (2 sqrt x): 1/2 at 1, 1/4 at 4.
    assert_close(&grad_of(&t64(&[1.0, 4.0], &[2]), |x| x.sqrt()), &[0.5, 0.25], 1e-15);
    // d/dx x^3 = 3x^2; d/dx 1/x = -1/x^2; d/dx ln x = 1/x.
    assert_close(&grad_of(&t64(&[2.0, -1.0], &[2]), |x| x.powf(3.0)), &[12.0, 3.0], 1e-14);
    assert_close(&grad_of(&t64(&[2.0, -0.5], &[2]), |x| x.recip()), &[-0.25, -4.0], 1e-15);
    assert_close(&grad_of(&t64(&[2.0, 0.5], &[2]), |x| x.log()), &[0.5, 2.0], 1e-15);
    // tanh'(0) = 1, sigmoid'(0) = 1/4, softplus'(0) = 1/2, silu'(0) = 1/2.
    let zero = t64(&[0.0], &[1]);
    assert_close(&grad_of(&zero, |x| x.tanh()), &[1.0], 1e-15);
    assert_close(&grad_of(&zero, |x| x.sigmoid()), &[0.25], 1e-15);
    assert_close(&grad_of(&zero, |x| x.softplus()), &[0.5], 1e-15);
    assert_close(&grad_of(&zero, |x| x.silu()), &[0.5], 1e-15);
    assert_close(&grad_of(&zero, |x| x.log_sigmoid()), &[0.5], 1e-15);
}

// ----- numerical stability ------------------------------------------------------------------

#[test]
fn log_sigmoid_softplus_sigmoid_are_stable_at_large_magnitudes() {
    for dtype in [DType::F64, DType::F32] {
        let x = Tensor::from_f64s(&[-1000.0, -100.0, 100.0, 1000.0], &[4], dtype, &dev()).unwrap();
        let ls = x.log_sigmoid().unwrap().to_vec_f64().unwrap();
        let sp = x.softplus().unwrap().to_vec_f64().unwrap();
        let sg = x.sigmoid().unwrap().to_vec_f64().unwrap();
        for v in ls.iter().chain(&sp).chain(&sg) {
            assert!(v.is_finite(), "{dtype}: non-finite value in {ls:?} {sp:?} {sg:?}");
        }
        // log sigmoid(x) = -softplus(-x): ~x for very negative x, ~-e^-x ~ 0 for large x.
        assert_close(&ls, &[-1000.0, -100.0, 0.0, 0.0], 1e-6);
        assert!(ls[2] <= 0.0 && ls[3] <= 0.0);
        assert_close(&sp, &[0.0, 0.0, 100.0, 1000.0], 1e-6);
        assert_close(&sg, &[0.0, 0.0, 1.0, 1.0], 1e-6);

        let xg = x.requires_grad();
        for (name, f) in [
            ("log_sigmoid", Tensor::log_sigmoid as fn(&Tensor) -> Result<Tensor>),
            ("softplus", Tensor::softplus),
            ("sigmoid", Tensor::sigmoid),
            ("silu", Tensor::silu),
            ("tanh", Tensor::tanh),
        ] {
            let g = f(&xg).unwrap().sum_all().unwrap().backward().unwrap();
            let g = g.get(&xg).unwrap().to_vec_f64().unwrap();
            assert!(g.iter().all(|v| v.is_finite()), "{dtype} {name}: gradient {g:?}");
            if name == "log_sigmoid" {
                // d/dx log sigmoid(x) = sigmoid(-x): 1 far left, 0 far right.
                assert_close(&g, &[1.0, 1.0, 0.0, 0.0], 1e-6);
            }
            if name == "softplus" {
                assert_close(&g, &[0.0, 0.0, 1.0, 1.0], 1e-6);
            }
        }
    }
}

#[test]
fn log_sigmoid_keeps_tiny_values_exact() {
    // At x = 100, log sigmoid(x) = -log1p(e^-100) = -e^-100 to within one ulp; a naive
    // log(1/(1+e^-100)) would return exactly 0.
    let v = t64(&[100.0], &[1]).log_sigmoid().unwrap().to_vec_f64().unwrap()[0];
    let expected = -(-100f64).exp();
    assert!((v - expected).abs() <= 1e-15 * expected.abs(), "{v} vs {expected}");
}

// ----- large tensors: the parallel kernel paths ---------------------------------------------

#[test]
fn large_strided_unary_matches_reference_and_gradient() {
    // 300 x 200 = 60000 elements, above the CPU backend's parallel threshold (32768), read
    // through a transposed layout so that the strided parallel path runs.
    let (r, c) = (300usize, 200usize);
    let values: Vec<f64> = (0..r * c).map(|i| ((i * 7919) % 1000) as f64 / 250.0 - 2.0).collect();
    let x = t64(&values, &[r, c]);
    let xt = x.t().unwrap(); // [c, r], strided
    let y = xt.tanh().unwrap();
    let yv = y.to_vec_f64().unwrap();
    // Exact equality with the CPU backend's own scalar tanh (its vector kernels return the same
    // bits, backends/cpu/README.md), so a misplaced element cannot hide in a tolerance; and
    // within 3 ulp of libm's.
    use backend_cpu::simd::{exp_f64, tanh_f64};
    for (i, &v) in yv.iter().enumerate() {
        let (a, b) = (i / r, i % r); // element [a, b] of x^T is x[b, a]
        let x = values[b * c + a];
        assert_eq!(v, tanh_f64(x), "element {i}");
        assert!((v - x.tanh()).abs() <= 3.0 * f64::EPSILON * x.tanh().abs(), "element {i}");
    }
    // Contiguous parallel path as well.
    let e = x.exp().unwrap().to_vec_f64().unwrap();
    assert!(e.iter().zip(&values).all(|(a, b)| *a == exp_f64(*b)));

    let xg = x.requires_grad();
    let g = xg.t().unwrap().tanh().unwrap().sum_all().unwrap().backward().unwrap();
    let g = g.get(&xg).unwrap().to_vec_f64().unwrap();
    for (gi, &v) in g.iter().zip(&values) {
        let expected = 1.0 - v.tanh().powi(2);
        assert!((gi - expected).abs() <= 1e-14, "{gi} vs {expected}");
    }
}

#[test]
fn unary_ops_run_in_f32() {
    let v = [-1.5, -0.25, 0.5, 2.0];
    let x = Tensor::from_f64s(&v, &[2, 2], DType::F32, &dev()).unwrap();
    let y = x.tanh().unwrap().mul_scalar(2.0).unwrap();
    assert_eq!(y.dtype(), DType::F32);
    let got = y.to_vec::<f32>().unwrap();
    for (g, &x) in got.iter().zip(&v) {
        assert!((f64::from(*g) - 2.0 * x.tanh()).abs() < 1e-6);
    }
    let xg = x.requires_grad();
    let g = xg.square().unwrap().sum_all().unwrap().backward().unwrap();
    let g = g.get(&xg).unwrap();
    assert_eq!(g.dtype(), DType::F32);
    assert_eq!(g.to_vec::<f32>().unwrap(), vec![-3.0, -0.5, 1.0, 4.0]);
}

#[test]
fn affine_is_one_op_with_slope_gradient() {
    let x = t64(&[1.0, -2.0], &[2]).requires_grad();
    let y = x.affine(3.0, -1.0).unwrap();
    assert_eq!(y.op_name(), Some("affine"));
    assert_eq!(y.to_vec_f64().unwrap(), vec![2.0, -7.0]);
    let g = y.sum_all().unwrap().backward().unwrap();
    assert_eq!(g.get(&x).unwrap().to_vec_f64().unwrap(), vec![3.0, 3.0]);
}
