//! Random compositions: expression trees (depth <= 4) of smooth unary ops, broadcasting binary
//! ops and keepdim reductions over 2-3 leaves of broadcastable shapes, checked end to end
//! against finite differences. Single-op tests cannot catch a rule that is right alone but
//! wrong in context (a gradient overwritten instead of accumulated, a broadcast sum applied
//! twice); trees that reuse leaves and mix shapes can.

mod common;

use common::*;
use proptest::prelude::*;
use sigmagrad::{Result, Tensor};

/// Unary ops that are smooth on all of R and keep values in a range where finite differences
/// are accurate: the ones with restricted domains get a safe argument (log of 1 + x^2,
/// sqrt of softplus + 0.5, exp of tanh).
#[derive(Debug, Clone, Copy)]
enum Unary {
    Tanh,
    Sigmoid,
    Softplus,
    Silu,
    LogSigmoid,
    Neg,
    Affine,
    ExpOfTanh,
    LogOnePlusSquare,
    SqrtOfSoftplus,
    PowfOfSigmoid,
    /// Keepdim sum over the last axis (shape stays broadcastable: that axis becomes 1).
    SumLast,
    /// Keepdim mean over the first axis.
    MeanFirst,
    /// Keepdim logsumexp over the last axis.
    LogSumExpLast,
}

#[derive(Debug, Clone, Copy)]
enum Binary {
    Add,
    Sub,
    Mul,
    /// a / (1 + b^2): never divides by anything near 0.
    SafeDiv,
    /// Broadcasting through `select` on a fixed pattern (the mask is a constant).
    SelectPattern,
}

#[derive(Debug, Clone)]
enum Expr {
    Leaf(usize),
    Unary(Unary, Box<Expr>),
    Binary(Binary, Box<Expr>, Box<Expr>),
}

fn unary_op() -> impl Strategy<Value = Unary> {
    use Unary::*;
    prop::sample::select(vec![
        Tanh,
        Sigmoid,
        Softplus,
        Silu,
        LogSigmoid,
        Neg,
        Affine,
        ExpOfTanh,
        LogOnePlusSquare,
        SqrtOfSoftplus,
        PowfOfSigmoid,
        SumLast,
        MeanFirst,
        LogSumExpLast,
    ])
}

fn binary_op() -> impl Strategy<Value = Binary> {
    use Binary::*;
    prop::sample::select(vec![Add, Sub, Mul, SafeDiv, SelectPattern])
}

/// Trees of depth <= 4 over `leaves` leaves.
fn expr(leaves: usize) -> impl Strategy<Value = Expr> {
    let leaf = (0..leaves).prop_map(Expr::Leaf);
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (unary_op(), inner.clone()).prop_map(|(op, e)| Expr::Unary(op, Box::new(e))),
            (binary_op(), inner.clone(), inner).prop_map(|(op, a, b)| Expr::Binary(op, Box::new(a), Box::new(b))),
        ]
    })
}

fn depth(e: &Expr) -> usize {
    match e {
        Expr::Leaf(_) => 0,
        Expr::Unary(_, a) => 1 + depth(a),
        Expr::Binary(_, a, b) => 1 + depth(a).max(depth(b)),
    }
}

fn eval(e: &Expr, x: &[Tensor]) -> Result<Tensor> {
    Ok(match e {
        Expr::Leaf(i) => x[*i].clone(),
        Expr::Unary(op, a) => {
            let a = eval(a, x)?;
            match op {
                Unary::Tanh => a.tanh()?,
                Unary::Sigmoid => a.sigmoid()?,
                Unary::Softplus => a.softplus()?,
                Unary::Silu => a.silu()?,
                Unary::LogSigmoid => a.log_sigmoid()?,
                Unary::Neg => a.neg()?,
                Unary::Affine => a.affine(0.7, -0.3)?,
                Unary::ExpOfTanh => a.tanh()?.exp()?,
                Unary::LogOnePlusSquare => a.square()?.add_scalar(1.0)?.log()?,
                Unary::SqrtOfSoftplus => a.softplus()?.add_scalar(0.5)?.sqrt()?,
                Unary::PowfOfSigmoid => a.sigmoid()?.add_scalar(0.25)?.powf(1.5)?,
                Unary::SumLast if a.rank() > 0 => a.sum(&[-1], true)?,
                Unary::MeanFirst if a.rank() > 0 => a.mean(&[0], true)?,
                Unary::LogSumExpLast if a.rank() > 0 => a.logsumexp(&[-1], true)?,
                Unary::SumLast | Unary::MeanFirst | Unary::LogSumExpLast => a.tanh()?,
            }
        }
        Expr::Binary(op, a, b) => {
            let (a, b) = (eval(a, x)?, eval(b, x)?);
            match op {
                Binary::Add => a.add(&b)?,
                Binary::Sub => a.sub(&b)?,
                Binary::Mul => a.mul(&b)?,
                Binary::SafeDiv => a.div(&b.square()?.add_scalar(1.0)?)?,
                Binary::SelectPattern => {
                    // A checkerboard over the last axis of the broadcast shape.
                    let shape = broadcast_shapes(a.shape(), b.shape());
                    let n = shape.last().copied().unwrap_or(1);
                    let pattern: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
                    let mask_shape = if shape.is_empty() { vec![] } else { vec![n] };
                    let mask = Tensor::from_f64s(&pattern, &mask_shape, a.dtype(), a.device())?;
                    Tensor::select(&mask, &a, &b)?
                }
            }
        }
    })
}

/// 2-3 leaf shapes that all broadcast against one full shape: each leaf collapses some axes
/// to 1 and may drop leading axes.
fn leaf_shapes() -> impl Strategy<Value = Vec<Vec<usize>>> {
    (autodiff::testing::shape(0, 3, 3), 2usize..=3).prop_flat_map(|(full, count)| {
        let r = full.len();
        prop::collection::vec((prop::collection::vec(any::<bool>(), r), 0..=r), count).prop_map(move |specs| {
            specs
                .into_iter()
                .map(|(collapse, drop)| {
                    let s: Vec<usize> = full.iter().zip(&collapse).map(|(&d, &c)| if c { 1 } else { d }).collect();
                    s[drop.min(s.len())..].to_vec()
                })
                .collect()
        })
    })
}

fn leaves() -> impl Strategy<Value = Vec<Data>> {
    leaf_shapes().prop_flat_map(|shapes| {
        shapes
            .into_iter()
            .map(|s| {
                let n = numel(&s);
                (Just(s), prop::collection::vec(-2.0f64..2.0, n))
            })
            .collect::<Vec<_>>()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The random-projection check (<J t, c> vs <t, J^T c>, plus J^T c element by element).
    #[test]
    fn random_expression_trees_vjp(leaves in leaves(), e in expr(3)) {
        prop_assert!(depth(&e) <= 4);
        let inputs: Vec<Tensor> = leaves.iter().map(|(s, v)| t64(v, s)).collect();
        let n = inputs.len();
        // Leaves beyond the ones generated fold back onto leaf 0.
        let f = |x: &[Tensor]| {
            let xs: Vec<Tensor> = (0..3).map(|i| x[if i < n { i } else { 0 }].clone()).collect();
            eval(&e, &xs)
        };
        prop_grads!(vjp_ok(f, &inputs));
    }

    /// The full Jacobian, entry by entry, on the same trees.
    #[test]
    fn random_expression_trees_jacobian(leaves in leaves(), e in expr(3)) {
        let inputs: Vec<Tensor> = leaves.iter().map(|(s, v)| t64(v, s)).collect();
        let n = inputs.len();
        let f = |x: &[Tensor]| {
            let xs: Vec<Tensor> = (0..3).map(|i| x[if i < n { i } else { 0 }].clone()).collect();
            eval(&e, &xs)
        };
        prop_grads!(jacobian_ok(f, &inputs));
    }

    /// A two-layer network over a batch: matmul, bias broadcast, activation, reduction.
    #[test]
    fn random_mlp_losses(
        (b, i, h, o) in (1usize..4, 1usize..4, 1usize..4, 1usize..3),
        act in 0usize..3,
        seed in any::<u64>(),
    ) {
        let mut rng = sigmagrad::Rng::new(seed);
        let mut normal = |s: &[usize]| rng.normal(s, sigmagrad::DType::F64, &dev()).unwrap();
        let inputs = vec![normal(&[b, i]), normal(&[i, h]), normal(&[h]), normal(&[h, o]), normal(&[o])];
        let f = |x: &[Tensor]| {
            let z = x[0].matmul(&x[1])?.add(&x[2])?;
            let a = match act {
                0 => z.tanh()?,
                1 => z.silu()?,
                _ => z.softplus()?,
            };
            let y = a.matmul(&x[3])?.add(&x[4])?;
            // Gaussian-NLL-like: mean over the batch of logsumexp minus a picked logit, squared.
            y.logsumexp(&[1], false)?.sub(&y.narrow(1, 0, 1)?.squeeze(1)?)?.square()?.mean_all()
        };
        prop_grads!(grads_ok(f, &inputs));
    }
}

#[test]
fn a_leaf_used_many_times_in_one_tree() {
    // f(x) = x * tanh(x) + x / (1 + x^2) - sum(x) (broadcast), every term through x.
    let x = t64(&[0.3, -1.2, 2.0, 0.7, -0.1, 1.5], &[2, 3]);
    let f = |x: &[Tensor]| {
        let a = x[0].mul(&x[0].tanh()?)?;
        let b = x[0].div(&x[0].square()?.add_scalar(1.0)?)?;
        a.add(&b)?.sub(&x[0].sum(&[1], true)?)
    };
    jacobian_ok(f, &[x]).unwrap();
}
