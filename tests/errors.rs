//! Bad input gives an error that names the op and the shapes involved, never a panic: shape,
//! dtype and device mismatches, bad axes, out-of-range indices, wrong cotangents. A fuzz
//! property throws random (often invalid) arguments at every op and requires Ok or Err.

mod common;

use common::*;
use proptest::prelude::*;
use sigmagrad::{DType, Device, Error, Tensor, Var};
use std::sync::Arc;

fn z(shape: &[usize]) -> Tensor {
    Tensor::zeros(shape, DType::F64, &dev()).unwrap()
}

/// Asserts an error whose message names `op` and every string in `mentions`.
#[track_caller]
fn expect_err<T>(r: sigmagrad::Result<T>, op: &str, mentions: &[&str]) -> Error {
    let Err(e) = r else { panic!("expected an error from {op}") };
    let msg = e.to_string();
    assert!(msg.starts_with(&format!("{op}:")), "message {msg:?} does not start with the op {op:?}");
    for m in mentions {
        assert!(msg.contains(m), "message {msg:?} does not mention {m:?}");
    }
    e
}

#[test]
fn binary_shape_mismatch_names_op_and_shapes() {
    for (name, f) in [
        ("add", Tensor::add as fn(&Tensor, &Tensor) -> sigmagrad::Result<Tensor>),
        ("sub", Tensor::sub),
        ("mul", Tensor::mul),
        ("div", Tensor::div),
        ("maximum", Tensor::maximum),
        ("minimum", Tensor::minimum),
        ("gt", Tensor::gt),
        ("eq", Tensor::eq_mask),
    ] {
        let e = expect_err(f(&z(&[2, 3]), &z(&[4])), name, &["[2, 3]", "[4]"]);
        assert!(matches!(e, Error::Shape { .. }), "{name}: {e:?}");
    }
    expect_err(&z(&[2, 3]) + &z(&[2]), "add", &["[2, 3]", "[2]"]);
    expect_err(Tensor::select(&z(&[3]), &z(&[2, 3]), &z(&[2])), "select", &["[2]"]);
}

#[test]
fn dtype_mismatch_names_op_dtypes_and_shapes() {
    let a = z(&[2, 3]);
    let b = Tensor::zeros(&[3], DType::F32, &dev()).unwrap();
    let e = expect_err(a.mul(&b), "mul", &["f64", "f32", "[2, 3]", "[3]"]);
    assert!(matches!(e, Error::DType { .. }));
    expect_err(a.matmul(&Tensor::zeros(&[3, 2], DType::F32, &dev()).unwrap()), "matmul", &["f32", "[3, 2]"]);
    expect_err(Tensor::concat(&[&a, &Tensor::zeros(&[2, 3], DType::F32, &dev()).unwrap()], 0), "concat", &["f32"]);
    expect_err(Tensor::select(&a, &a, &Tensor::zeros(&[2, 3], DType::F32, &dev()).unwrap()), "select", &["f32"]);
    let g = a.requires_grad().sum_all().unwrap();
    expect_err(g.backward_with(&Tensor::scalar(1.0, DType::F32, &dev()).unwrap()), "backward_with", &["f32"]);
}

#[test]
fn device_mismatch_is_an_error_and_never_a_silent_copy() {
    // A second CPU backend instance is a different device.
    let other = Device::new(Arc::new(backend_cpu::CpuBackend));
    let a = z(&[2, 3]);
    let b = Tensor::zeros(&[2, 3], DType::F64, &other).unwrap();
    let e = expect_err(a.add(&b), "add", &["different devices", "[2, 3]"]);
    assert!(matches!(e, Error::Device { .. }));
    expect_err(a.matmul(&b.t().unwrap()), "matmul", &["different devices", "[3, 2]"]);
    expect_err(Tensor::concat(&[&a, &b], 0), "concat", &["different devices"]);
    // Moving explicitly works.
    let moved = b.to_device(&dev()).unwrap();
    assert!(a.add(&moved).is_ok());
}

#[test]
fn matmul_errors_name_both_shapes() {
    expect_err(z(&[2, 3]).matmul(&z(&[4, 5])), "matmul", &["[2, 3]", "[4, 5]"]);
    expect_err(z(&[4]).matmul(&z(&[3, 2])), "matmul", &["[4]", "[3, 2]"]);
    expect_err(z(&[]).matmul(&z(&[3, 2])), "matmul", &["[]", "[3, 2]"]);
    expect_err(z(&[2, 2, 3]).matmul(&z(&[4, 3, 5])), "matmul", &["[2, 2, 3]", "[4, 3, 5]"]);
    expect_err(z(&[3]).t(), "t", &["[3]"]);
}

#[test]
fn bad_axes_name_op_and_shape() {
    let x = z(&[2, 3]);
    for (name, r) in [
        ("sum", x.sum(&[2], false)),
        ("mean", x.mean(&[-3], true)),
        ("max", x.max(&[5], false)),
        ("min", x.min(&[-3], false)),
        ("logsumexp", x.logsumexp(&[7], false)),
        ("transpose", x.transpose(0, 2)),
        ("unsqueeze", x.unsqueeze(3)),
        ("squeeze", x.squeeze(-3)),
        ("narrow", x.narrow(2, 0, 1)),
        ("index_select", x.index_select(2, &[0])),
        ("concat", Tensor::concat(&[&x, &x], 2)),
        ("stack", Tensor::stack(&[&x, &x], 3)),
    ] {
        let e = expect_err(r, name, &["[2, 3]"]);
        assert!(matches!(e, Error::Axis { .. }), "{name}: {e:?}");
    }
    expect_err(x.dim(2), "dim", &["[2, 3]"]);
    expect_err(x.sum(&[0, -2], false), "sum", &["[2, 3]"]);
    expect_err(x.permute(&[0, 0]), "permute", &["[2, 3]"]);
    expect_err(x.permute(&[0, 1, 2]), "permute", &["[2, 3]"]);
    expect_err(x.squeeze(0), "squeeze", &["[2, 3]"]);
}

#[test]
fn shape_op_errors_name_the_shapes() {
    let x = z(&[2, 3]);
    expect_err(x.reshape(&[4]), "reshape", &["[2, 3]", "[4]"]);
    expect_err(x.broadcast_to(&[3, 3]), "broadcast_to", &["[2, 3]", "[3, 3]"]);
    expect_err(x.broadcast_to(&[3]), "broadcast_to", &["[2, 3]", "[3]"]);
    expect_err(x.narrow(1, 2, 2), "narrow", &["[2, 3]"]);
    expect_err(x.narrow(1, usize::MAX, 2), "narrow", &["[2, 3]"]);
    expect_err(x.index_select(0, &[0, 2]), "index_select", &["[2, 3]", "index 2"]);
    expect_err(Tensor::concat(&[&x, &z(&[2, 4])], 0), "concat", &["[2, 3]", "[2, 4]"]);
    expect_err(Tensor::concat(&[&x, &z(&[3])], 0), "concat", &["[2, 3]", "[3]"]);
    expect_err(Tensor::stack(&[&x, &z(&[3, 2])], 0), "stack", &["[2, 3]", "[3, 2]"]);
    expect_err(Tensor::concat(&[], 0), "concat", &[]);
    expect_err(Tensor::stack(&[], 0), "stack", &[]);
    expect_err(Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[2, 2], &dev()), "from_vec", &["[2, 2]", "3 values"]);
    expect_err(z(&[0]).max(&[0], false), "max", &["[0]"]);
    expect_err(z(&[2, 0]).logsumexp(&[1], false), "logsumexp", &["[2, 0]"]);
    expect_err(x.clamp(1.0, -1.0), "clamp", &["1", "-1"]);
    expect_err(x.to_scalar(), "to_scalar", &["[2, 3]"]);
}

#[test]
fn gradient_api_errors() {
    let x = z(&[2, 3]).requires_grad();
    let y = x.exp().unwrap();
    expect_err(y.backward(), "backward", &["[2, 3]", "backward_with"]);
    expect_err(y.backward_with(&z(&[3, 2])), "backward_with", &["[3, 2]", "[2, 3]"]);
    // A custom op whose rule returns the wrong number of gradients, or a wrong shape.
    let c = Tensor::custom_op("two_for_one", &y, &[&x], |_, _, g| Ok(vec![g.clone(), g.clone()])).unwrap();
    expect_err(c.sum_all().unwrap().backward(), "two_for_one", &["2 gradients", "1 input"]);
    let c = Tensor::custom_op("bad_shape", &y, &[&x], |_, _, g| Ok(vec![g.reshape(&[6])?])).unwrap();
    expect_err(c.sum_all().unwrap().backward(), "backward", &["[6]", "[2, 3]"]);
    // Var keeps its shape and dtype.
    let v = Var::new(&z(&[2, 3])).unwrap();
    expect_err(v.set(&z(&[3, 2])), "Var::set", &["[3, 2]", "[2, 3]"]);
    expect_err(v.set(&Tensor::zeros(&[2, 3], DType::F32, &dev()).unwrap()), "Var::set", &["f32"]);
}

#[test]
fn absurd_shapes_are_errors_not_overflows() {
    let huge = [usize::MAX, 2];
    expect_err(Tensor::zeros(&huge, DType::F64, &dev()), "full", &["[18446744073709551615, 2]"]);
    expect_err(Tensor::from_vec(vec![1.0f64], &huge, &dev()), "from_vec", &[]);
    expect_err(z(&[2]).reshape(&huge), "reshape", &["[18446744073709551615, 2]"]);
    expect_err(z(&[1, 1]).broadcast_to(&huge), "broadcast_to", &["[18446744073709551615, 2]"]);
    expect_err(sigmagrad::Rng::new(0).normal(&huge, DType::F64, &dev()), "Rng::sample", &[]);
}

// ----- fuzzing: every op with random, often invalid, arguments ---------------------------------

#[derive(Debug, Clone)]
enum Call {
    Binary(usize, Vec<usize>),
    Matmul(Vec<usize>),
    Reduce(usize, Vec<isize>, bool),
    Transpose(isize, isize),
    Permute(Vec<usize>),
    Reshape(Vec<usize>),
    BroadcastTo(Vec<usize>),
    Squeeze(isize),
    Unsqueeze(isize),
    Narrow(isize, usize, usize),
    IndexSelect(isize, Vec<usize>),
    Concat(Vec<usize>, isize),
    Stack(Vec<usize>, isize),
    Select(Vec<usize>, Vec<usize>),
    Clamp(f64, f64),
    Unary(usize),
    BackwardWith(Vec<usize>),
    Dim(isize),
}

fn small_shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..4, 0..4)
}

fn call() -> impl Strategy<Value = Call> {
    let axis = -5isize..5;
    prop_oneof![
        (0usize..6, small_shape()).prop_map(|(k, s)| Call::Binary(k, s)),
        small_shape().prop_map(Call::Matmul),
        (0usize..5, prop::collection::vec(axis.clone(), 0..4), any::<bool>())
            .prop_map(|(k, a, d)| Call::Reduce(k, a, d)),
        (axis.clone(), axis.clone()).prop_map(|(a, b)| Call::Transpose(a, b)),
        prop::collection::vec(0usize..5, 0..5).prop_map(Call::Permute),
        small_shape().prop_map(Call::Reshape),
        small_shape().prop_map(Call::BroadcastTo),
        axis.clone().prop_map(Call::Squeeze),
        axis.clone().prop_map(Call::Unsqueeze),
        (axis.clone(), 0usize..5, 0usize..5).prop_map(|(a, s, l)| Call::Narrow(a, s, l)),
        (axis.clone(), prop::collection::vec(0usize..5, 0..4)).prop_map(|(a, i)| Call::IndexSelect(a, i)),
        (small_shape(), axis.clone()).prop_map(|(s, a)| Call::Concat(s, a)),
        (small_shape(), axis.clone()).prop_map(|(s, a)| Call::Stack(s, a)),
        (small_shape(), small_shape()).prop_map(|(a, b)| Call::Select(a, b)),
        (-2.0f64..2.0, -2.0f64..2.0).prop_map(|(a, b)| Call::Clamp(a, b)),
        (0usize..8).prop_map(Call::Unary),
        small_shape().prop_map(Call::BackwardWith),
        axis.prop_map(Call::Dim),
    ]
}

fn run(x: &Tensor, c: &Call) -> sigmagrad::Result<Tensor> {
    let other = |s: &[usize]| Tensor::ones(s, DType::F64, &dev());
    match c {
        Call::Binary(k, s) => {
            let o = other(s)?;
            match k {
                0 => x.add(&o),
                1 => x.sub(&o),
                2 => x.mul(&o),
                3 => x.div(&o),
                4 => x.maximum(&o),
                _ => x.le(&o),
            }
        }
        Call::Matmul(s) => x.matmul(&other(s)?),
        Call::Reduce(k, axes, keep) => match k {
            0 => x.sum(axes, *keep),
            1 => x.mean(axes, *keep),
            2 => x.max(axes, *keep),
            3 => x.min(axes, *keep),
            _ => x.logsumexp(axes, *keep),
        },
        Call::Transpose(a, b) => x.transpose(*a, *b),
        Call::Permute(p) => x.permute(p),
        Call::Reshape(s) => x.reshape(s),
        Call::BroadcastTo(s) => x.broadcast_to(s),
        Call::Squeeze(a) => x.squeeze(*a),
        Call::Unsqueeze(a) => x.unsqueeze(*a),
        Call::Narrow(a, s, l) => x.narrow(*a, *s, *l),
        Call::IndexSelect(a, i) => x.index_select(*a, i),
        Call::Concat(s, a) => Tensor::concat(&[x, &other(s)?], *a),
        Call::Stack(s, a) => Tensor::stack(&[x, &other(s)?], *a),
        Call::Select(m, f) => Tensor::select(&other(m)?, x, &other(f)?),
        Call::Clamp(lo, hi) => x.clamp(*lo, *hi),
        Call::Unary(k) => match k {
            0 => x.log(),
            1 => x.sqrt(),
            2 => x.recip(),
            3 => x.powf(-0.5),
            4 => x.t(),
            5 => x.contiguous(),
            6 => x.to_dtype(DType::F32),
            _ => x.mean_all(),
        },
        Call::BackwardWith(s) => {
            let y = x.exp()?;
            let g = y.backward_with(&other(s)?)?;
            g.get_or_zeros(x)
        }
        Call::Dim(a) => x.dim(*a).map(|d| Tensor::scalar(d as f64, DType::F64, &dev()).unwrap()),
    }
}

fn op_name(c: &Call) -> Vec<&'static str> {
    match c {
        Call::Binary(..) => vec!["add", "sub", "mul", "div", "maximum", "le"],
        Call::Matmul(_) => vec!["matmul"],
        Call::Reduce(..) => vec!["sum", "mean", "max", "min", "logsumexp"],
        Call::Transpose(..) => vec!["transpose"],
        Call::Permute(_) => vec!["permute"],
        Call::Reshape(_) => vec!["reshape"],
        Call::BroadcastTo(_) => vec!["broadcast_to"],
        Call::Squeeze(_) => vec!["squeeze"],
        Call::Unsqueeze(_) => vec!["unsqueeze"],
        Call::Narrow(..) => vec!["narrow"],
        Call::IndexSelect(..) => vec!["index_select"],
        Call::Concat(..) => vec!["concat"],
        Call::Stack(..) => vec!["stack"],
        Call::Select(..) => vec!["select"],
        Call::Clamp(..) => vec!["clamp"],
        Call::Unary(_) => vec!["t"],
        Call::BackwardWith(_) => vec!["backward_with"],
        Call::Dim(_) => vec!["dim"],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random calls on random tensors (empty axes included), on a tracked tensor so the
    /// backward pass runs too: Ok, or an error naming the op. A panic fails the property.
    #[test]
    fn no_op_panics_on_user_input(shape in small_shape(), calls in prop::collection::vec(call(), 1..4)) {
        let n = numel(&shape);
        let x = t64(&(0..n).map(|i| i as f64 * 0.5 - 1.0).collect::<Vec<_>>(), &shape).requires_grad();
        let mut cur = x.clone();
        for c in &calls {
            match run(&cur, c) {
                Ok(y) => {
                    // Every result can be read, reduced and differentiated.
                    prop_assert_eq!(y.to_vec_f64().unwrap().len(), y.numel());
                    if y.dtype() == DType::F64 {
                        let g = y.sum_all().unwrap().backward().unwrap();
                        if let Some(gx) = g.get(&x) {
                            prop_assert_eq!(gx.shape(), x.shape());
                        }
                    }
                    cur = y;
                }
                Err(e) => {
                    let msg = e.to_string();
                    let names = op_name(c);
                    prop_assert!(
                        names.iter().any(|n| msg.starts_with(&format!("{n}:"))),
                        "{:?} on {:?}: message {:?} names none of {:?}", c, cur.shape(), msg, names
                    );
                    break;
                }
            }
        }
    }
}
