//! Binary element-wise ops with NumPy broadcasting: forward values against a host reference
//! of broadcasting, gradients (summed back over broadcast axes) against finite differences.

mod common;

use autodiff::testing::{broadcast_pair, nonzero_values, positive_values};
use common::*;
use proptest::prelude::*;
use sigmagrad::{DType, Result, Tensor};

/// Layouts for a binary operand. Unlike `View`, these keep the operand's shape, except
/// `Expanded`, which broadcasts it to the output shape first (stride-0 axes inside the kernel).
#[derive(Debug, Clone, Copy)]
enum Operand {
    Plain(View),
    Expanded,
}

fn operand_strategy() -> impl Strategy<Value = Operand> {
    prop_oneof![
        Just(Operand::Plain(View::Contiguous)),
        Just(Operand::Plain(View::Transposed)),
        Just(Operand::Plain(View::Narrowed)),
        Just(Operand::Expanded),
    ]
}

fn present(x: &Tensor, how: Operand, out_shape: &[usize]) -> Result<Tensor> {
    match how {
        Operand::Plain(v) => apply_view(x, v),
        Operand::Expanded => x.broadcast_to(out_shape),
    }
}

/// Shapes that broadcast, with values for each from `va` and `vb`.
fn pair<S1, S2>(
    va: impl Fn(usize) -> S1 + Clone,
    vb: impl Fn(usize) -> S2 + Clone,
) -> impl Strategy<Value = (Data, Data)>
where
    S1: Strategy<Value = Vec<f64>>,
    S2: Strategy<Value = Vec<f64>>,
{
    broadcast_pair(3, 3).prop_flat_map(move |(sa, sb)| {
        let (na, nb) = (numel(&sa), numel(&sb));
        ((Just(sa), va(na)), (Just(sb), vb(nb)))
    })
}

fn binary_case(
    (sa, a): &Data,
    (sb, b): &Data,
    (how_a, how_b): (Operand, Operand),
    op: impl Fn(&Tensor, &Tensor) -> Result<Tensor>,
    reference: impl Fn(f64, f64) -> f64,
) -> std::result::Result<(), TestCaseError> {
    let (ta, tb) = (t64(a, sa), t64(b, sb));
    let (out_shape, expected) = broadcast_zip(a, sa, b, sb, &reference);
    let f = |x: &[Tensor]| op(&present(&x[0], how_a, &out_shape)?, &present(&x[1], how_b, &out_shape)?);
    let y = f(&[ta.clone(), tb.clone()]).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(y.shape(), &out_shape[..]);
    prop_close!(y.to_vec_f64().unwrap(), expected, 1e-12, 1e-12);
    prop_grads!(grads_ok(f, &[ta, tb]));
    Ok(())
}

/// Values a + frac with integer part in -3..3: with fractions from disjoint ranges for the two
/// operands, |a - b| >= 0.2 for every pair, so max/min never tie (or come close to it).
fn off_grid(n: usize, lo: f64, hi: f64) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec((-3i32..3, lo..hi), n).prop_map(|v| v.into_iter().map(|(k, f)| f64::from(k) + f).collect())
}

/// Small integers: comparisons then see plenty of ties.
fn small_ints(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec((-2i32..=2).prop_map(f64::from), n)
}

const CASES: u32 = 48;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn add((a, b) in pair(|n| nonzero_values(n, 3.0, 0.0), |n| nonzero_values(n, 3.0, 0.0)),
           how in (operand_strategy(), operand_strategy())) {
        binary_case(&a, &b, how, |x, y| x.add(y), |x, y| x + y)?;
    }

    #[test]
    fn sub((a, b) in pair(|n| nonzero_values(n, 3.0, 0.0), |n| nonzero_values(n, 3.0, 0.0)),
           how in (operand_strategy(), operand_strategy())) {
        binary_case(&a, &b, how, |x, y| x.sub(y), |x, y| x - y)?;
    }

    #[test]
    fn mul((a, b) in pair(|n| nonzero_values(n, 3.0, 0.0), |n| nonzero_values(n, 3.0, 0.0)),
           how in (operand_strategy(), operand_strategy())) {
        binary_case(&a, &b, how, |x, y| x.mul(y), |x, y| x * y)?;
    }

    #[test]
    fn div((a, b) in pair(|n| nonzero_values(n, 3.0, 0.0), |n| nonzero_values(n, 3.0, 0.5)),
           how in (operand_strategy(), operand_strategy())) {
        binary_case(&a, &b, how, |x, y| x.div(y), |x, y| x / y)?;
    }

    #[test]
    fn operators((a, b) in pair(|n| nonzero_values(n, 3.0, 0.0), |n| positive_values(n, 0.5, 2.0)),
                 how in (operand_strategy(), operand_strategy())) {
        // (a + b) * (a - b) / b
        binary_case(&a, &b, how, |x, y| &(&(x + y)? * &(x - y)?)? / y, |x, y| (x + y) * (x - y) / y)?;
    }

    #[test]
    fn maximum((a, b) in pair(|n| off_grid(n, 0.1, 0.4), |n| off_grid(n, 0.6, 0.9)),
               how in (operand_strategy(), operand_strategy())) {
        binary_case(&a, &b, how, |x, y| x.maximum(y), f64::max)?;
    }

    /// relu's backward kernel: b only selects, so its finite-difference gradient is 0, as is
    /// the rule's (b stays off 0, where the selection would jump).
    #[test]
    fn where_positive((a, b) in pair(|n| off_grid(n, 0.1, 0.9), |n| off_grid(n, 0.1, 0.9)),
               how in (operand_strategy(), operand_strategy())) {
        binary_case(&a, &b, how, |x, y| x.where_positive(y), |x, y| if y > 0.0 { x } else { 0.0 })?;
    }

    #[test]
    fn minimum((a, b) in pair(|n| off_grid(n, 0.1, 0.4), |n| off_grid(n, 0.6, 0.9)),
               how in (operand_strategy(), operand_strategy())) {
        binary_case(&a, &b, how, |x, y| x.minimum(y), f64::min)?;
    }

    #[test]
    fn maximum_minimum_scalar((shape, v) in shaped(3, 4, |n| off_grid(n, 0.1, 0.4)), c in -2i32..2) {
        let c = f64::from(c) + 0.75;
        let x = t64(&v, &shape);
        let mx = x.maximum_scalar(c).unwrap().to_vec_f64().unwrap();
        let mn = x.minimum_scalar(c).unwrap().to_vec_f64().unwrap();
        prop_assert_eq!(mx, v.iter().map(|&e| e.max(c)).collect::<Vec<_>>());
        prop_assert_eq!(mn, v.iter().map(|&e| e.min(c)).collect::<Vec<_>>());
        prop_grads!(grads_ok(move |x| x[0].maximum_scalar(c)?.mul(&x[0].minimum_scalar(c)?), &[x]));
    }

    /// Masks: 1 where the comparison holds, 0 elsewhere; no gradient flows through them.
    #[test]
    fn comparisons((a, b) in pair(small_ints, small_ints), how in (operand_strategy(), operand_strategy())) {
        type Cmp = fn(&Tensor, &Tensor) -> Result<Tensor>;
        type Holds = fn(f64, f64) -> bool;
        let cases: [(Cmp, Holds); 5] = [
            (Tensor::eq_mask, |x, y| x == y),
            (Tensor::gt, |x, y| x > y),
            (Tensor::ge, |x, y| x >= y),
            (Tensor::lt, |x, y| x < y),
            (Tensor::le, |x, y| x <= y),
        ];
        let (ta, tb) = (t64(&a.1, &a.0).requires_grad(), t64(&b.1, &b.0).requires_grad());
        for (op, holds) in cases {
            let (out_shape, expected) = broadcast_zip(&a.1, &a.0, &b.1, &b.0, |x, y| f64::from(u8::from(holds(x, y))));
            let y = op(&present(&ta, how.0, &out_shape).unwrap(), &present(&tb, how.1, &out_shape).unwrap()).unwrap();
            prop_assert_eq!(y.shape(), &out_shape[..]);
            prop_assert_eq!(y.to_vec_f64().unwrap(), expected);
            let g = y.sum_all().unwrap().backward().unwrap();
            prop_assert!(g.get(&ta).is_none() && g.get(&tb).is_none(), "a mask passed a gradient");
        }
    }

    /// select(mask, t, f): the mask is a constant of the function (perturbing it would flip
    /// the choice), the branches get the gradient where they were chosen.
    #[test]
    fn select(
        ((st, vt), (sf, vf)) in pair(|n| nonzero_values(n, 3.0, 0.0), |n| nonzero_values(n, 3.0, 0.0)),
        mask_kind in 0usize..3,
        seed in any::<u64>(),
        how in (operand_strategy(), operand_strategy()),
    ) {
        let full = broadcast_shapes(&st, &sf);
        // The mask's shape: the full shape, the on_true shape or a collapsed full shape.
        let sm: Vec<usize> = match mask_kind {
            0 => full.clone(),
            1 => st.clone(),
            _ => full.iter().enumerate().map(|(i, &d)| if i % 2 == 0 { 1 } else { d }).collect(),
        };
        let mut rng = sigmagrad::Rng::new(seed);
        let mv = rng.rademacher(&sm, DType::F64, &dev()).unwrap().step().unwrap().to_vec_f64().unwrap();
        let mask = t64(&mv, &sm);
        let out_shape = broadcast_shapes(&sm, &full);
        let expected: Vec<f64> = (0..numel(&out_shape))
            .map(|i| {
                let idx = unravel(i, &out_shape);
                if broadcast_get(&mv, &sm, &idx) != 0.0 { broadcast_get(&vt, &st, &idx) } else { broadcast_get(&vf, &sf, &idx) }
            })
            .collect();
        let (tt, tf) = (t64(&vt, &st), t64(&vf, &sf));
        let f = |x: &[Tensor]| {
            Tensor::select(&mask, &present(&x[0], how.0, &out_shape)?, &present(&x[1], how.1, &out_shape)?)
        };
        let y = f(&[tt.clone(), tf.clone()]).unwrap();
        prop_assert_eq!(y.shape(), &out_shape[..]);
        prop_assert_eq!(y.to_vec_f64().unwrap(), expected);
        prop_grads!(grads_ok(f, &[tt, tf]));
    }
}

// ----- ties and hand-computed cases -----------------------------------------------------------

#[test]
fn maximum_and_minimum_split_ties_half_and_half() {
    let a = t64(&[1.0, 2.0, 3.0], &[3]).requires_grad();
    let b = t64(&[1.0, 5.0, 0.0], &[3]).requires_grad();
    for (name, f) in
        [("maximum", Tensor::maximum as fn(&Tensor, &Tensor) -> Result<Tensor>), ("minimum", Tensor::minimum)]
    {
        let g = f(&a, &b).unwrap().sum_all().unwrap().backward().unwrap();
        let (ga, gb) = (g.get(&a).unwrap().to_vec_f64().unwrap(), g.get(&b).unwrap().to_vec_f64().unwrap());
        if name == "maximum" {
            assert_eq!(ga, vec![0.5, 0.0, 1.0], "{name}");
            assert_eq!(gb, vec![0.5, 1.0, 0.0], "{name}");
        } else {
            assert_eq!(ga, vec![0.5, 1.0, 0.0], "{name}");
            assert_eq!(gb, vec![0.5, 0.0, 1.0], "{name}");
        }
    }
    assert_eq!(a.maximum(&b).unwrap().to_vec_f64().unwrap(), vec![1.0, 5.0, 3.0]);
    assert_eq!(a.minimum(&b).unwrap().to_vec_f64().unwrap(), vec![1.0, 2.0, 0.0]);
}

#[test]
fn maximum_of_a_tensor_with_itself_has_derivative_one() {
    // The reason for the 0.5 rule: max(x, x) = x, and the halves add up to 1, which is also
    // what finite differences see.
    let x = t64(&[-1.0, 0.5, 2.0], &[3]);
    grads_ok(|x| x[0].maximum(&x[0]), std::slice::from_ref(&x)).unwrap();
    grads_ok(|x| x[0].minimum(&x[0]), std::slice::from_ref(&x)).unwrap();
    let xg = x.requires_grad();
    let g = xg.maximum(&xg).unwrap().sum_all().unwrap().backward().unwrap();
    assert_eq!(g.get(&xg).unwrap().to_vec_f64().unwrap(), vec![1.0; 3]);
}

#[test]
fn broadcasting_sums_gradients_over_stretched_axes() {
    // a: [2, 1], b: [3] -> out [2, 3]. d sum(a * b) / da = sum(b) per row, / db = sum(a) per column.
    let a = t64(&[2.0, -1.0], &[2, 1]).requires_grad();
    let b = t64(&[1.0, 10.0, 100.0], &[3]).requires_grad();
    let y = a.mul(&b).unwrap();
    assert_eq!(y.shape(), &[2, 3]);
    assert_eq!(y.to_vec_f64().unwrap(), vec![2.0, 20.0, 200.0, -1.0, -10.0, -100.0]);
    let g = y.sum_all().unwrap().backward().unwrap();
    assert_eq!(g.get(&a).unwrap().shape(), &[2, 1]);
    assert_eq!(g.get(&a).unwrap().to_vec_f64().unwrap(), vec![111.0, 111.0]);
    assert_eq!(g.get(&b).unwrap().shape(), &[3]);
    assert_eq!(g.get(&b).unwrap().to_vec_f64().unwrap(), vec![1.0, 1.0, 1.0]);
}

#[test]
fn scalar_broadcasts_against_everything() {
    let s = Tensor::scalar(3.0, DType::F64, &dev()).unwrap().requires_grad();
    let x = t64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).requires_grad();
    let y = x.div(&s).unwrap();
    assert_eq!(y.to_vec_f64().unwrap(), vec![1.0 / 3.0, 2.0 / 3.0, 1.0, 4.0 / 3.0]);
    let g = y.sum_all().unwrap().backward().unwrap();
    // d/ds sum(x / s) = -sum(x) / s^2 = -10/9.
    let gs = g.get(&s).unwrap();
    assert_eq!(gs.shape(), &[] as &[usize]);
    assert_close(&gs.to_vec_f64().unwrap(), &[-10.0 / 9.0], 1e-15);
    assert_close(&g.get(&x).unwrap().to_vec_f64().unwrap(), &[1.0 / 3.0; 4], 1e-15);
}

#[test]
fn large_broadcast_binary_matches_reference() {
    // [256, 1] op [1, 200]: 51200 outputs, through the strided parallel path.
    let a: Vec<f64> = (0..256).map(|i| i as f64 * 0.01).collect();
    let b: Vec<f64> = (0..200).map(|j| 1.0 + j as f64 * 0.1).collect();
    let (ta, tb) = (t64(&a, &[256, 1]), t64(&b, &[1, 200]));
    let y = ta.div(&tb).unwrap().to_vec_f64().unwrap();
    for (k, v) in y.iter().enumerate() {
        assert_eq!(*v, a[k / 200] / b[k % 200], "element {k}");
    }
    // A big contiguous operand against a scalar (the `x * c` fast path) and against itself.
    let x = t64(&(0..60000).map(|i| i as f64).collect::<Vec<_>>(), &[60000]);
    let two = Tensor::scalar(2.0, DType::F64, &dev()).unwrap();
    assert!(x.mul(&two).unwrap().to_vec_f64().unwrap().iter().enumerate().all(|(i, v)| *v == 2.0 * i as f64));
    assert!(two.sub(&x).unwrap().to_vec_f64().unwrap().iter().enumerate().all(|(i, v)| *v == 2.0 - i as f64));
    assert!(x.add(&x).unwrap().to_vec_f64().unwrap().iter().enumerate().all(|(i, v)| *v == 2.0 * i as f64));
}
