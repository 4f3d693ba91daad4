//! Ops that move, combine or reduce data: matmul (2-D, batched, broadcast batch, transposed
//! operands), permute/transpose, reshape, broadcast_to, squeeze/unsqueeze, reductions with and
//! without keepdim, logsumexp, concat, narrow, index_select, stack, to_dtype and contiguous.
//! Each against a host reference for values and finite differences for gradients.

mod common;

use autodiff::testing::{broadcast_pair, nonzero_values, shape};
use common::*;
use proptest::prelude::*;
use sigmagrad::{DType, Result, Tensor};

const CASES: u32 = 40;

fn vals(n: usize) -> impl Strategy<Value = Vec<f64>> {
    nonzero_values(n, 2.0, 0.0)
}

fn fail(e: sigmagrad::Error) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

// ----- matmul ---------------------------------------------------------------------------------

/// Host reference: [..batch_a, m, k] @ [..batch_b, k, n] with broadcast batch axes.
fn matmul_ref(a: &[f64], sa: &[usize], b: &[f64], sb: &[usize]) -> Data {
    let (ra, rb) = (sa.len(), sb.len());
    let (m, k, n) = (sa[ra - 2], sa[ra - 1], sb[rb - 1]);
    let (ba, bb) = (&sa[..ra - 2], &sb[..rb - 2]);
    let batch = broadcast_shapes(ba, bb);
    let mut out = Vec::new();
    for bi in 0..numel(&batch) {
        let bidx = unravel(bi, &batch);
        let oa = ravel(&bcast_idx(&bidx, ba), ba) * m * k;
        let ob = ravel(&bcast_idx(&bidx, bb), bb) * k * n;
        for i in 0..m {
            for j in 0..n {
                out.push((0..k).map(|p| a[oa + i * k + p] * b[ob + p * n + j]).sum());
            }
        }
    }
    (broadcast_shapes(&[ba, &[m, 1]].concat(), &[bb, &[1, n]].concat()), out)
}

/// The index into a (possibly shorter, possibly size-1) batch shape for a broadcast index.
fn bcast_idx(idx: &[usize], shape: &[usize]) -> Vec<usize> {
    let lead = idx.len() - shape.len();
    shape.iter().enumerate().map(|(i, &d)| if d == 1 { 0 } else { idx[lead + i] }).collect()
}

/// An operand presented to matmul: as built, transposed in memory (via `t()` of the stored
/// transpose, the way `x.t()` reaches matmul in user code), or narrowed out of a wider buffer.
fn operand_view() -> impl Strategy<Value = View> {
    prop_oneof![Just(View::Contiguous), Just(View::Transposed), Just(View::Narrowed)]
}

fn matmul_case((sa, a): Data, (sb, b): Data, (va, vb): (View, View)) -> std::result::Result<(), TestCaseError> {
    let (expected_shape, expected) = matmul_ref(&a, &sa, &b, &sb);
    let (ta, tb) = (t64(&a, &sa), t64(&b, &sb));
    let f = |x: &[Tensor]| apply_view(&x[0], va)?.matmul(&apply_view(&x[1], vb)?);
    let y = f(&[ta.clone(), tb.clone()]).map_err(fail)?;
    prop_assert_eq!(y.shape(), &expected_shape[..]);
    prop_close!(y.to_vec_f64().unwrap(), expected, 1e-12, 1e-12);
    prop_grads!(grads_ok(f, &[ta, tb]));
    Ok(())
}

fn matrices(batch_a: Vec<usize>, batch_b: Vec<usize>) -> impl Strategy<Value = (Data, Data)> {
    (1usize..=4, 1usize..=4, 1usize..=4).prop_flat_map(move |(m, k, n)| {
        let sa = [&batch_a[..], &[m, k]].concat();
        let sb = [&batch_b[..], &[k, n]].concat();
        let (na, nb) = (numel(&sa), numel(&sb));
        ((Just(sa), vals(na)), (Just(sb), vals(nb)))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn matmul_2d(mats in matrices(vec![], vec![]), views in (operand_view(), operand_view())) {
        matmul_case(mats.0, mats.1, views)?;
    }

    /// Batch shapes from the broadcast-pair strategy: equal batches, a matrix against a stack
    /// (either side), size-1 batch axes and missing leading axes all appear.
    #[test]
    fn matmul_batched_with_broadcast_batch(
        mats in broadcast_pair(2, 3).prop_flat_map(|(ba, bb)| matrices(ba, bb)),
        views in (operand_view(), operand_view()),
    ) {
        matmul_case(mats.0, mats.1, views)?;
    }
}

/// matmul_add against matmul then add, for every way a bias can broadcast onto the product:
/// a row [n], a column [m, 1], a scalar, a full [.., m, n], per batch entry [b, 1, n]; on
/// 2-D products, stacks that fold into one tall product, and batched ones.
fn matmul_add_case(
    batch: Vec<usize>,
    rhs_batched: bool,
    (m, k, n): (usize, usize, usize),
    bias_kind: u8,
    seed: u64,
) -> std::result::Result<(), TestCaseError> {
    let sa = [&batch[..], &[m, k]].concat();
    let sb = if rhs_batched { [&batch[..], &[k, n]].concat() } else { vec![k, n] };
    let sc = match bias_kind {
        0 => vec![n],
        1 => vec![m, 1],
        2 => vec![],
        3 => [&batch[..], &[m, n]].concat(),
        _ => [&batch[..], &[1, n]].concat(),
    };
    let v = |s: &[usize], salt: u64| -> Vec<f64> {
        (0..numel(s)).map(|i| ((i as u64 * 7919 + seed * 31 + salt) as f64 * 0.618).sin() * 1.5).collect()
    };
    let (a, b, c) = (t64(&v(&sa, 1), &sa), t64(&v(&sb, 2), &sb), t64(&v(&sc, 3), &sc));
    let fused = a.matmul_add(&b, &c).map_err(fail)?;
    let plain = a.matmul(&b).and_then(|p| p.add(&c)).map_err(fail)?;
    prop_assert_eq!(fused.shape(), plain.shape());
    prop_close!(fused.to_vec_f64().unwrap(), plain.to_vec_f64().unwrap(), 1e-12, 1e-12);
    prop_grads!(grads_ok(|x| x[0].matmul_add(&x[1], &x[2])?.tanh(), &[a, b, c]));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn matmul_add_equals_matmul_then_add(
        batch in prop::collection::vec(1usize..=3, 0..=2),
        rhs_batched: bool,
        dims in (1usize..=4, 1usize..=4, 1usize..=4),
        bias_kind in 0u8..5,
        seed in 0u64..1000,
    ) {
        matmul_add_case(batch, rhs_batched, dims, bias_kind, seed)?;
    }
}

#[test]
fn matmul_hand_computed_and_transposed_operands() {
    let a = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let b = t64(&[7.0, 8.0, 9.0, 10.0, 11.0, 12.0], &[3, 2]);
    assert_eq!(a.matmul(&b).unwrap().to_vec_f64().unwrap(), vec![58.0, 64.0, 139.0, 154.0]);
    // a a^T and a^T a through t(): strided operands, no copies.
    assert_eq!(a.matmul(&a.t().unwrap()).unwrap().to_vec_f64().unwrap(), vec![14.0, 32.0, 32.0, 77.0]);
    let ata = a.t().unwrap().matmul(&a).unwrap();
    assert_eq!(ata.shape(), &[3, 3]);
    assert_eq!(ata.to_vec_f64().unwrap(), vec![17.0, 22.0, 27.0, 22.0, 29.0, 36.0, 27.0, 36.0, 45.0]);
    // d sum(A B) / dA = 1 B^T: row sums of B, per column of A.
    let ag = a.requires_grad();
    let g = ag.matmul(&b).unwrap().sum_all().unwrap().backward().unwrap();
    assert_eq!(g.get(&ag).unwrap().to_vec_f64().unwrap(), vec![15.0, 19.0, 23.0, 15.0, 19.0, 23.0]);
    // Gram matrix X^T X with X used twice, once transposed.
    let x = t64(&[0.5, -1.0, 2.0, 0.25, 1.5, -0.75], &[3, 2]);
    grads_ok(|x| x[0].t()?.matmul(&x[0]), std::slice::from_ref(&x)).unwrap();
    grads_ok(|x| x[0].matmul(&x[0].t()?)?.tanh(), &[x]).unwrap();
}

#[test]
fn matmul_stack_times_matrix_folds_and_matches_unfolded() {
    // [2, 3, 4] @ [4, 5] takes the folded path; the same product with a batch-1 rhs does not.
    let a: Vec<f64> = (0..24).map(|i| (i as f64 * 0.37).sin()).collect();
    let b: Vec<f64> = (0..20).map(|i| (i as f64 * 0.11).cos()).collect();
    let (ta, tb) = (t64(&a, &[2, 3, 4]), t64(&b, &[4, 5]));
    let folded = ta.matmul(&tb).unwrap();
    let unfolded = ta.matmul(&tb.unsqueeze(0).unwrap()).unwrap();
    assert_eq!(folded.shape(), &[2, 3, 5]);
    assert_close(&folded.to_vec_f64().unwrap(), &unfolded.to_vec_f64().unwrap(), 1e-14);
    assert_close(&folded.to_vec_f64().unwrap(), &matmul_ref(&a, &[2, 3, 4], &b, &[4, 5]).1, 1e-14);
    grads_ok(|x| x[0].matmul(&x[1]), &[ta, tb]).unwrap();
}

#[test]
fn matmul_with_an_empty_inner_axis_gives_zeros() {
    // k = 0: the sum over an empty inner axis is 0, in every batch layout.
    let a = Tensor::zeros(&[2, 3, 0], DType::F64, &dev()).unwrap();
    let b = Tensor::zeros(&[0, 4], DType::F64, &dev()).unwrap();
    let y = a.matmul(&b).unwrap();
    assert_eq!(y.shape(), &[2, 3, 4]);
    assert_eq!(y.to_vec_f64().unwrap(), vec![0.0; 24]);
    let y2 = a.matmul(&b.unsqueeze(0).unwrap()).unwrap();
    assert_eq!(y2.shape(), &[2, 3, 4]);
}

#[test]
fn matmul_reads_broadcast_operands() {
    // A stride-0 operand inside the matrix axes: [3, 1] broadcast to [3, 2].
    let col = t64(&[1.0, 2.0, 3.0], &[3, 1]);
    let a = col.broadcast_to(&[3, 2]).unwrap();
    let b = t64(&[1.0, 10.0, 100.0, 1000.0], &[2, 2]);
    assert_eq!(a.matmul(&b).unwrap().to_vec_f64().unwrap(), vec![101.0, 1010.0, 202.0, 2020.0, 303.0, 3030.0]);
    grads_ok(|x| x[0].broadcast_to(&[3, 2])?.matmul(&x[1]), &[col, b]).unwrap();
}

// ----- permute, transpose, reshape, broadcast_to, squeeze, unsqueeze --------------------------

fn tensor(max_rank: usize, max_dim: usize) -> impl Strategy<Value = Data> {
    shaped(max_rank, max_dim, vals)
}

fn permute_ref(v: &[f64], shape: &[usize], perm: &[usize]) -> Vec<f64> {
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    (0..v.len())
        .map(|i| {
            let oi = unravel(i, &out_shape);
            let mut ii = vec![0; shape.len()];
            for (k, &p) in perm.iter().enumerate() {
                ii[p] = oi[k];
            }
            v[ravel(&ii, shape)]
        })
        .collect()
}

/// A random shape with the same element count: the dims, shuffled, with neighbours merged and
/// size-1 axes inserted.
fn regroup(shape: &[usize]) -> impl Strategy<Value = Vec<usize>> {
    let dims = shape.to_vec();
    let n = dims.len();
    (Just(dims).prop_shuffle(), prop::collection::vec(any::<bool>(), n), prop::collection::vec(0usize..3, n + 1))
        .prop_map(|(dims, merge, ones)| {
            let mut out = Vec::new();
            for (i, d) in dims.into_iter().enumerate() {
                match out.last_mut() {
                    Some(last) if merge[i] => *last *= d,
                    _ => out.push(d),
                }
            }
            // Size-1 axes at a few positions.
            for (pos, &k) in ones.iter().enumerate().take(out.len() + 1) {
                if k == 0 {
                    out.insert(pos.min(out.len()), 1);
                }
            }
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn permute(
        (shape, v, perm) in tensor(4, 3).prop_flat_map(|(s, v)| {
            let r = s.len();
            (Just(s), Just(v), Just((0..r).collect::<Vec<_>>()).prop_shuffle())
        }),
        view in view_strategy(),
    ) {
        let x = t64(&v, &shape);
        let viewed_shape = view_shape(&shape, view);
        // Broadcast adds a leading axis: keep it in front.
        let perm: Vec<usize> = match view {
            View::Broadcast => std::iter::once(0).chain(perm.iter().map(|p| p + 1)).collect(),
            _ => perm,
        };
        let y = apply_view(&x, view).unwrap().permute(&perm).unwrap();
        prop_assert_eq!(y.shape(), &perm.iter().map(|&p| viewed_shape[p]).collect::<Vec<_>>()[..]);
        prop_assert_eq!(y.to_vec_f64().unwrap(), permute_ref(&view_values(&v, view), &viewed_shape, &perm));
        // Permuting costs no copy.
        prop_assert!(std::sync::Arc::ptr_eq(y.storage(), apply_view(&x, view).unwrap().storage()) || view != View::Contiguous);
        let p2 = perm.clone();
        prop_grads!(grads_ok(move |x| apply_view(&x[0], view)?.permute(&p2)?.tanh(), &[x]));
    }

    #[test]
    fn transpose_with_negative_axes((shape, v) in shaped(4, 3, vals).prop_filter("rank >= 2", |(s, _)| s.len() >= 2),
                                    a in -4isize..4, b in -4isize..4) {
        let r = shape.len() as isize;
        let (a, b) = (a.rem_euclid(r) - if a < 0 { r } else { 0 }, b.rem_euclid(r));
        let x = t64(&v, &shape);
        let y = x.transpose(a, b).unwrap();
        let mut perm: Vec<usize> = (0..shape.len()).collect();
        perm.swap(a.rem_euclid(r) as usize, b as usize);
        prop_assert_eq!(y.to_vec_f64().unwrap(), permute_ref(&v, &shape, &perm));
        prop_grads!(grads_ok(move |x| x[0].transpose(a, b)?.square(), &[x]));
        let t = t64(&v, &shape).t().unwrap();
        let mut perm: Vec<usize> = (0..shape.len()).collect();
        perm.swap(shape.len() - 2, shape.len() - 1);
        prop_assert_eq!(t.to_vec_f64().unwrap(), permute_ref(&v, &shape, &perm));
    }

    #[test]
    fn reshape(
        (shape, v, target) in tensor(4, 3).prop_flat_map(|(s, v)| (Just(s.clone()), Just(v), regroup(&s))),
        view in prop_oneof![Just(View::Contiguous), Just(View::Transposed), Just(View::Narrowed)],
    ) {
        let x = t64(&v, &shape);
        let y = apply_view(&x, view).unwrap().reshape(&target).unwrap();
        prop_assert_eq!(y.shape(), &target[..]);
        // Row-major order is what reshape keeps, whatever the input's memory layout.
        prop_assert_eq!(y.to_vec_f64().unwrap(), v.clone());
        let t2 = target.clone();
        prop_grads!(grads_ok(move |x| apply_view(&x[0], view)?.reshape(&t2)?.sigmoid(), std::slice::from_ref(&x)));
        // And back.
        let back = y.reshape(&shape).unwrap();
        prop_assert_eq!(back.to_vec_f64().unwrap(), v);
    }

    #[test]
    fn broadcast_to((sa, sb) in broadcast_pair(3, 3), seed in any::<u64>()) {
        let target = broadcast_shapes(&sa, &sb);
        let v = sigmagrad::Rng::new(seed).normal(&sa, DType::F64, &dev()).unwrap().to_vec_f64().unwrap();
        let x = t64(&v, &sa);
        let y = x.broadcast_to(&target).unwrap();
        prop_assert_eq!(y.shape(), &target[..]);
        let expected: Vec<f64> = (0..numel(&target)).map(|i| broadcast_get(&v, &sa, &unravel(i, &target))).collect();
        prop_assert_eq!(y.to_vec_f64().unwrap(), expected);
        let t2 = target.clone();
        // Weighted so each broadcast copy has its own cotangent: the gradient must sum them.
        let w = t64(&(0..numel(&target)).map(|i| 1.0 + i as f64).collect::<Vec<_>>(), &target);
        prop_grads!(grads_ok(move |x| x[0].broadcast_to(&t2)?.mul(&w), &[x]));
    }

    #[test]
    fn squeeze_and_unsqueeze((shape, v) in tensor(3, 3), axis in 0usize..4, negative in any::<bool>()) {
        let x = t64(&v, &shape);
        let r = shape.len();
        let pos = axis % (r + 1);
        let spelled = if negative { pos as isize - (r as isize + 1) } else { pos as isize };
        let u = x.unsqueeze(spelled).unwrap();
        let mut expected = shape.clone();
        expected.insert(pos, 1);
        prop_assert_eq!(u.shape(), &expected[..]);
        prop_assert_eq!(u.to_vec_f64().unwrap(), v.clone());
        let s = u.squeeze(pos as isize).unwrap();
        prop_assert_eq!(s.shape(), &shape[..]);
        prop_assert_eq!(s.to_vec_f64().unwrap(), v.clone());
        // Squeezing an axis that is not 1 is an error, not a silent reshape.
        if let Some(a) = shape.iter().position(|&d| d != 1) {
            prop_assert!(x.squeeze(a as isize).is_err());
        }
        prop_grads!(grads_ok(move |x| x[0].t().or_else(|_| Ok::<_, sigmagrad::Error>(x[0].clone()))?.unsqueeze(spelled)?.exp()?.squeeze(pos as isize), &[x]));
    }
}

// ----- reductions -----------------------------------------------------------------------------

/// Distinct values (a shuffled grid with small jitter): max/min have a unique winner per
/// group, at least 0.4 ahead, so finite differences do not cross a tie.
fn distinct(n: usize) -> impl Strategy<Value = Vec<f64>> {
    (Just((0..n).collect::<Vec<_>>()).prop_shuffle(), prop::collection::vec(0.0f64..0.1, n))
        .prop_map(move |(p, j)| p.iter().zip(j).map(|(&i, e)| 0.5 * i as f64 - 0.25 * n as f64 + e).collect())
}

/// A shape of rank 1..=4, a subset of its axes (each maybe spelled negative) and keepdim.
fn reduction_args() -> impl Strategy<Value = (Vec<usize>, Vec<isize>, bool)> {
    shape(1, 4, 3)
        .prop_flat_map(|s| {
            let r = s.len();
            (Just(s), prop::collection::vec((any::<bool>(), any::<bool>()), r), any::<bool>())
        })
        .prop_map(|(s, picks, keepdim)| {
            let r = s.len() as isize;
            let axes = picks
                .iter()
                .enumerate()
                .filter(|(_, (take, _))| *take)
                .map(|(i, (_, neg))| if *neg { i as isize - r } else { i as isize })
                .collect();
            (s, axes, keepdim)
        })
}

fn resolved(axes: &[isize], rank: usize) -> Vec<usize> {
    let mut v: Vec<usize> =
        axes.iter().map(|&a| if a < 0 { (a + rank as isize) as usize } else { a as usize }).collect();
    v.sort_unstable();
    v
}

fn reduced_shape(shape: &[usize], axes: &[usize], keepdim: bool) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| {
            if !axes.contains(&i) {
                Some(d)
            } else if keepdim {
                Some(1)
            } else {
                None
            }
        })
        .collect()
}

type Reduction = fn(&Tensor, &[isize], bool) -> Result<Tensor>;

fn reduction_case(
    (shape, axes, keepdim): (Vec<usize>, Vec<isize>, bool),
    v: Vec<f64>,
    view: View,
    op: Reduction,
    reference: impl Fn(&[f64], &[usize], &[usize]) -> Vec<f64>,
) -> std::result::Result<(), TestCaseError> {
    let x = t64(&v, &shape);
    let vshape = view_shape(&shape, view);
    // Axes of the viewed tensor: Broadcast adds an axis in front, shifting non-negative axes.
    let axes: Vec<isize> = match view {
        View::Broadcast => axes.iter().map(|&a| if a >= 0 { a + 1 } else { a }).collect(),
        _ => axes,
    };
    let ax = resolved(&axes, vshape.len());
    let y = op(&apply_view(&x, view).unwrap(), &axes, keepdim).map_err(fail)?;
    prop_assert_eq!(y.shape(), &reduced_shape(&vshape, &ax, keepdim)[..]);
    prop_close!(y.to_vec_f64().unwrap(), reference(&view_values(&v, view), &vshape, &ax), 1e-12, 1e-12);
    prop_grads!(grads_ok(move |x| op(&apply_view(&x[0], view)?, &axes, keepdim), &[x]));
    Ok(())
}

fn sum_ref(v: &[f64], s: &[usize], ax: &[usize]) -> Vec<f64> {
    reduce_ref(v, s, ax, 0.0, |a, b| a + b)
}

fn with_values<S: Strategy<Value = Vec<f64>>>(
    values: impl Fn(usize) -> S + Clone,
) -> impl Strategy<Value = ((Vec<usize>, Vec<isize>, bool), Vec<f64>)> {
    reduction_args().prop_flat_map(move |args| {
        let n = numel(&args.0);
        (Just(args), values(n))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn sum((args, v) in with_values(vals), view in view_strategy()) {
        reduction_case(args, v, view, Tensor::sum, sum_ref)?;
    }

    #[test]
    fn mean((args, v) in with_values(vals), view in view_strategy()) {
        reduction_case(args, v, view, Tensor::mean, |v, s, ax| {
            let count: usize = ax.iter().map(|&a| s[a]).product();
            sum_ref(v, s, ax).into_iter().map(|x| x / count as f64).collect()
        })?;
    }

    #[test]
    fn max((args, v) in with_values(distinct), view in prop_oneof![Just(View::Contiguous), Just(View::Transposed), Just(View::Narrowed)]) {
        reduction_case(args, v, view, Tensor::max, |v, s, ax| reduce_ref(v, s, ax, f64::NEG_INFINITY, f64::max))?;
    }

    #[test]
    fn min((args, v) in with_values(distinct), view in prop_oneof![Just(View::Contiguous), Just(View::Transposed), Just(View::Narrowed)]) {
        reduction_case(args, v, view, Tensor::min, |v, s, ax| reduce_ref(v, s, ax, f64::INFINITY, f64::min))?;
    }

    #[test]
    fn logsumexp((args, v) in with_values(|n| nonzero_values(n, 3.0, 0.0)), view in view_strategy()) {
        reduction_case(args, v, view, Tensor::logsumexp, |v, s, ax| {
            reduce_ref(&v.iter().map(|x| x.exp()).collect::<Vec<_>>(), s, ax, 0.0, |a, b| a + b)
                .into_iter()
                .map(f64::ln)
                .collect()
        })?;
    }

    #[test]
    fn sum_all_and_mean_all((shape, v) in tensor(4, 3), view in view_strategy()) {
        let x = t64(&v, &shape);
        let vv = view_values(&v, view);
        let s = apply_view(&x, view).unwrap().sum_all().unwrap();
        prop_assert_eq!(s.shape(), &[] as &[usize]);
        prop_close!(s.to_vec_f64().unwrap(), [vv.iter().sum::<f64>()], 1e-12, 1e-12);
        let m = apply_view(&x, view).unwrap().mean_all().unwrap();
        prop_close!(m.to_vec_f64().unwrap(), [vv.iter().sum::<f64>() / vv.len() as f64], 1e-12, 1e-12);
        prop_grads!(grads_ok(move |x| apply_view(&x[0], view)?.sum_all(), std::slice::from_ref(&x)));
        prop_grads!(grads_ok(move |x| apply_view(&x[0], view)?.square()?.mean_all(), &[x]));
    }
}

#[test]
fn reductions_over_leading_middle_and_trailing_axes() {
    // [3, 4, 5] with x[i, j, k] = 100 i + 10 j + k: every reduction has a closed form.
    let shape = [3usize, 4, 5];
    let v: Vec<f64> = (0..60).map(|n| (100 * (n / 20) + 10 * ((n / 5) % 4) + n % 5) as f64).collect();
    let x = t64(&v, &shape);
    // Leading (the contiguous fast path): sum_i = 300 + 30 j + 3 k.
    let s0 = x.sum(&[0], false).unwrap();
    assert_eq!(s0.shape(), &[4, 5]);
    assert_eq!(
        s0.to_vec_f64().unwrap(),
        (0..20).map(|n| (300 + 30 * (n / 5) + 3 * (n % 5)) as f64).collect::<Vec<_>>()
    );
    // Middle: sum_j = 400 i + 60 + 4 k.
    let s1 = x.sum(&[1], true).unwrap();
    assert_eq!(s1.shape(), &[3, 1, 5]);
    assert_eq!(
        s1.to_vec_f64().unwrap(),
        (0..15).map(|n| (400 * (n / 5) + 60 + 4 * (n % 5)) as f64).collect::<Vec<_>>()
    );
    // Trailing: max_k = 100 i + 10 j + 4, min_k = 100 i + 10 j.
    let m2 = x.max(&[-1], false).unwrap();
    assert_eq!(
        m2.to_vec_f64().unwrap(),
        (0..12).map(|n| (100 * (n / 4) + 10 * (n % 4) + 4) as f64).collect::<Vec<_>>()
    );
    let n2 = x.min(&[2], false).unwrap();
    assert_eq!(n2.to_vec_f64().unwrap(), (0..12).map(|n| (100 * (n / 4) + 10 * (n % 4)) as f64).collect::<Vec<_>>());
    // Leading two axes together, and first + last (not adjacent).
    assert_eq!(
        x.sum(&[0, 1], false).unwrap().to_vec_f64().unwrap(),
        (0..5).map(|k| (1200 + 180 + 12 * k) as f64).collect::<Vec<_>>()
    );
    assert_eq!(
        x.sum(&[0, 2], false).unwrap().to_vec_f64().unwrap(),
        (0..4).map(|j| (1500 + 150 * j + 30) as f64).collect::<Vec<_>>()
    );
    // Mean over the middle axis.
    assert_eq!(
        x.mean(&[1], false).unwrap().to_vec_f64().unwrap(),
        (0..15).map(|n| (100 * (n / 5) + 15 + n % 5) as f64).collect::<Vec<_>>()
    );
    // Transposed input, so the leading-axes fast path must not be taken.
    let xt = x.permute(&[2, 1, 0]).unwrap();
    assert_eq!(
        xt.sum(&[0], false).unwrap().to_vec_f64().unwrap(),
        x.sum(&[2], false).unwrap().t().unwrap().to_vec_f64().unwrap()
    );
}

#[test]
fn large_reduction_over_leading_axes_matches_reference() {
    // [400, 100]: sums over the leading axis take the row-accumulating fast path.
    let v: Vec<f64> = (0..40_000).map(|i| (i % 97) as f64 - 48.0).collect();
    let x = t64(&v, &[400, 100]);
    let s = x.sum(&[0], false).unwrap().to_vec_f64().unwrap();
    let expected = reduce_ref(&v, &[400, 100], &[0], 0.0, |a, b| a + b);
    assert_eq!(s, expected);
    let m = x.t().unwrap().max(&[1], false).unwrap().to_vec_f64().unwrap();
    assert_eq!(m, reduce_ref(&v, &[400, 100], &[0], f64::NEG_INFINITY, f64::max));
}

#[test]
fn max_and_min_share_the_gradient_among_ties() {
    let x = t64(&[1.0, 3.0, 3.0, 2.0, 0.0, 0.0], &[2, 3]).requires_grad();
    let g = x.max(&[1], false).unwrap().sum_all().unwrap().backward().unwrap();
    assert_eq!(g.get(&x).unwrap().to_vec_f64().unwrap(), vec![0.0, 0.5, 0.5, 1.0, 0.0, 0.0]);
    let g = x.min(&[1], false).unwrap().sum_all().unwrap().backward().unwrap();
    assert_eq!(g.get(&x).unwrap().to_vec_f64().unwrap(), vec![1.0, 0.0, 0.0, 0.0, 0.5, 0.5]);
    // Over all axes: one winner.
    let g = x.max(&[0, 1], true).unwrap().sum_all().unwrap().backward().unwrap();
    assert_eq!(g.get(&x).unwrap().to_vec_f64().unwrap(), vec![0.0, 0.5, 0.5, 0.0, 0.0, 0.0]);
}

#[test]
fn logsumexp_is_stable_with_large_values() {
    for dtype in [DType::F64, DType::F32] {
        let x = Tensor::from_f64s(&[1000.0, 1000.0, -1000.0, -1000.0, 800.0, -5.0], &[3, 2], dtype, &dev()).unwrap();
        let y = x.logsumexp(&[1], false).unwrap().to_vec_f64().unwrap();
        let ln2 = std::f64::consts::LN_2;
        assert_close(&y, &[1000.0 + ln2, -1000.0 + ln2, 800.0], 1e-4);
        let xg = x.requires_grad();
        let g = xg.logsumexp(&[1], false).unwrap().sum_all().unwrap().backward().unwrap();
        // The gradient is the softmax of each row.
        assert_close(&g.get(&xg).unwrap().to_vec_f64().unwrap(), &[0.5, 0.5, 0.5, 0.5, 1.0, 0.0], 1e-6);
    }
    // Far apart values in f64: the result is the max, exactly.
    let y = t64(&[1e5, 0.0], &[2]).logsumexp(&[0], true).unwrap();
    assert_eq!(y.shape(), &[1]);
    assert_eq!(y.to_vec_f64().unwrap(), vec![1e5]);
}

// ----- concat, narrow, index_select, stack ------------------------------------------------------

/// `count` tensors that agree on every axis but `axis`, with sizes 1..=3 along it.
fn concat_parts() -> impl Strategy<Value = (usize, Vec<Data>)> {
    (shape(1, 3, 3), 1usize..=3).prop_flat_map(|(base, count)| {
        let r = base.len();
        (0..r, prop::collection::vec(1usize..=3, count)).prop_flat_map(move |(axis, sizes)| {
            let parts: Vec<_> = sizes
                .iter()
                .map(|&s| {
                    let mut sh = base.clone();
                    sh[axis] = s;
                    let n = numel(&sh);
                    (Just(sh), vals(n))
                })
                .collect();
            (Just(axis), parts)
        })
    })
}

fn concat_ref(parts: &[Data], axis: usize) -> Vec<f64> {
    let outer: usize = parts[0].0[..axis].iter().product();
    let mut out = Vec::new();
    for o in 0..outer {
        for (s, v) in parts {
            let block: usize = s[axis..].iter().product();
            out.extend_from_slice(&v[o * block..(o + 1) * block]);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn concat((axis, parts) in concat_parts(), view in prop_oneof![Just(View::Contiguous), Just(View::Transposed), Just(View::Narrowed)], negative in any::<bool>()) {
        let r = parts[0].0.len();
        let spelled = if negative { axis as isize - r as isize } else { axis as isize };
        let ts: Vec<Tensor> = parts.iter().map(|(s, v)| t64(v, s)).collect();
        let f = move |x: &[Tensor]| {
            let viewed = x.iter().map(|t| apply_view(t, view)).collect::<Result<Vec<_>>>()?;
            Tensor::concat(&viewed.iter().collect::<Vec<_>>(), spelled)
        };
        let y = f(&ts).unwrap();
        let mut expected_shape = parts[0].0.clone();
        expected_shape[axis] = parts.iter().map(|p| p.0[axis]).sum();
        prop_assert_eq!(y.shape(), &expected_shape[..]);
        prop_assert_eq!(y.to_vec_f64().unwrap(), concat_ref(&parts, axis));
        prop_grads!(grads_ok(move |x| f(x)?.tanh(), &ts));
    }

    #[test]
    fn narrow(
        (shape, v, axis, start, len) in tensor(3, 4).prop_filter("rank >= 1", |(s, _)| !s.is_empty()).prop_flat_map(|(s, v)| {
            let r = s.len();
            (Just(s), Just(v), 0..r)
        }).prop_flat_map(|(s, v, axis)| {
            let size = s[axis];
            (Just(s), Just(v), Just(axis), 0..size)
        }).prop_flat_map(|(s, v, axis, start)| {
            let size = s[axis];
            (Just(s), Just(v), Just(axis), Just(start), 1..=size - start)
        }),
        view in view_strategy(),
    ) {
        let x = t64(&v, &shape);
        let vshape = view_shape(&shape, view);
        let a = axis + vshape.len() - shape.len();
        let y = apply_view(&x, view).unwrap().narrow(a as isize, start, len).unwrap();
        let mut expected_shape = vshape.clone();
        expected_shape[a] = len;
        prop_assert_eq!(y.shape(), &expected_shape[..]);
        let vv = view_values(&v, view);
        let expected: Vec<f64> = (0..numel(&expected_shape))
            .map(|i| {
                let mut idx = unravel(i, &expected_shape);
                idx[a] += start;
                vv[ravel(&idx, &vshape)]
            })
            .collect();
        prop_assert_eq!(y.to_vec_f64().unwrap(), expected);
        prop_grads!(grads_ok(move |x| apply_view(&x[0], view)?.narrow(a as isize, start, len)?.exp(), &[x]));
    }

    /// Repeated indices pick the same slice twice and must add both gradients back.
    #[test]
    fn index_select(
        (shape, v, axis, idx) in tensor(3, 4).prop_filter("rank >= 1", |(s, _)| !s.is_empty()).prop_flat_map(|(s, v)| {
            let r = s.len();
            (Just(s), Just(v), 0..r)
        }).prop_flat_map(|(s, v, axis)| {
            let size = s[axis];
            (Just(s), Just(v), Just(axis), prop::collection::vec(0..size, 1..6))
        }),
        view in view_strategy(),
    ) {
        let x = t64(&v, &shape);
        let vshape = view_shape(&shape, view);
        let a = axis + vshape.len() - shape.len();
        let y = apply_view(&x, view).unwrap().index_select(a as isize, &idx).unwrap();
        let mut expected_shape = vshape.clone();
        expected_shape[a] = idx.len();
        prop_assert_eq!(y.shape(), &expected_shape[..]);
        let vv = view_values(&v, view);
        let expected: Vec<f64> = (0..numel(&expected_shape))
            .map(|i| {
                let mut id = unravel(i, &expected_shape);
                id[a] = idx[id[a]];
                vv[ravel(&id, &vshape)]
            })
            .collect();
        prop_assert_eq!(y.to_vec_f64().unwrap(), expected);
        let i2 = idx.clone();
        // A weighted sum, so that each picked copy carries a different cotangent.
        let w = t64(&(0..numel(&expected_shape)).map(|i| 1.0 + 0.5 * i as f64).collect::<Vec<_>>(), &expected_shape);
        prop_grads!(grads_ok(move |x| apply_view(&x[0], view)?.index_select(a as isize, &i2)?.mul(&w), &[x]));
    }

    #[test]
    fn stack(
        (shape, parts) in shape(0, 3, 3).prop_flat_map(|s| {
            let n = numel(&s);
            (Just(s), prop::collection::vec(vals(n), 1..=3))
        }),
        axis_pick in 0usize..4,
        negative in any::<bool>(),
    ) {
        let r = shape.len();
        let axis = axis_pick % (r + 1);
        let spelled = if negative { axis as isize - (r as isize + 1) } else { axis as isize };
        let ts: Vec<Tensor> = parts.iter().map(|v| t64(v, &shape)).collect();
        let y = Tensor::stack(&ts.iter().collect::<Vec<_>>(), spelled).unwrap();
        let mut expected_shape = shape.clone();
        expected_shape.insert(axis, parts.len());
        prop_assert_eq!(y.shape(), &expected_shape[..]);
        let expected: Vec<f64> = (0..numel(&expected_shape))
            .map(|i| {
                let mut idx = unravel(i, &expected_shape);
                let which = idx.remove(axis);
                parts[which][ravel(&idx, &shape)]
            })
            .collect();
        prop_assert_eq!(y.to_vec_f64().unwrap(), expected);
        prop_grads!(grads_ok(move |x| Tensor::stack(&x.iter().collect::<Vec<_>>(), spelled)?.sigmoid(), &ts));
    }

    #[test]
    fn contiguous_and_to_dtype((shape, v) in tensor(3, 4), view in view_strategy()) {
        let x = t64(&v, &shape);
        let viewed = apply_view(&x, view).unwrap();
        let c = viewed.contiguous().unwrap();
        prop_assert!(c.layout().is_contiguous());
        prop_assert_eq!(c.to_vec_f64().unwrap(), view_values(&v, view));
        prop_grads!(grads_ok(move |x| apply_view(&x[0], view)?.contiguous()?.square(), std::slice::from_ref(&x)));

        // f64 -> f32 rounds like `as f32`; f32 -> f64 is exact; same dtype is the identity.
        let f = viewed.to_dtype(DType::F32).unwrap();
        prop_assert_eq!(f.dtype(), DType::F32);
        let expected: Vec<f32> = view_values(&v, view).iter().map(|&e| e as f32).collect();
        prop_assert_eq!(f.to_vec::<f32>().unwrap(), expected.clone());
        let back = f.to_dtype(DType::F64).unwrap();
        prop_assert_eq!(back.dtype(), DType::F64);
        prop_assert_eq!(back.to_vec_f64().unwrap(), expected.iter().map(|&e| f64::from(e)).collect::<Vec<_>>());
        prop_grads!(grads_ok(move |x| apply_view(&x[0], view)?.to_dtype(DType::F64)?.tanh(), &[x]));
    }
}

#[test]
fn to_dtype_sends_the_gradient_back_in_the_input_dtype() {
    let x = t64(&[1.5, -2.0, 0.25], &[3]).requires_grad();
    let y = x.to_dtype(DType::F32).unwrap();
    assert_eq!(y.op_name(), Some("to_dtype"));
    let c = Tensor::from_f64s(&[1.0, 2.0, 3.0], &[3], DType::F32, &dev()).unwrap();
    let g = y.square().unwrap().backward_with(&c).unwrap();
    let gx = g.get(&x).unwrap();
    assert_eq!(gx.dtype(), DType::F64);
    // d/dx sum(c * x^2) = 2 c x.
    assert_eq!(gx.to_vec_f64().unwrap(), vec![3.0, -8.0, 1.5]);
}

#[test]
fn hand_computed_shape_ops() {
    let x = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    assert_eq!(x.t().unwrap().to_vec_f64().unwrap(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    assert_eq!(x.narrow(1, 1, 2).unwrap().to_vec_f64().unwrap(), vec![2.0, 3.0, 5.0, 6.0]);
    assert_eq!(x.index_select(1, &[2, 0, 2]).unwrap().to_vec_f64().unwrap(), vec![3.0, 1.0, 3.0, 6.0, 4.0, 6.0]);
    let y = t64(&[7.0, 8.0, 9.0], &[1, 3]);
    assert_eq!(
        Tensor::concat(&[&x, &y], 0).unwrap().to_vec_f64().unwrap(),
        vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    );
    let a = t64(&[1.0, 2.0], &[2]);
    let b = t64(&[3.0, 4.0], &[2]);
    let s1 = Tensor::stack(&[&a, &b], 1).unwrap();
    assert_eq!(s1.shape(), &[2, 2]);
    assert_eq!(s1.to_vec_f64().unwrap(), vec![1.0, 3.0, 2.0, 4.0]);
    // index_select with repeats: the gradient counts the picks.
    let xg = x.requires_grad();
    let g = xg.index_select(1, &[2, 0, 2, 2]).unwrap().sum_all().unwrap().backward().unwrap();
    assert_eq!(g.get(&xg).unwrap().to_vec_f64().unwrap(), vec![1.0, 0.0, 3.0, 1.0, 0.0, 3.0]);
    // narrow: zeros outside the window.
    let g = xg.narrow(1, 1, 1).unwrap().sum_all().unwrap().backward().unwrap();
    assert_eq!(g.get(&xg).unwrap().to_vec_f64().unwrap(), vec![0.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
}

#[test]
fn empty_pieces_are_allowed() {
    let x = t64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).requires_grad();
    let empty = Tensor::zeros(&[2, 0], DType::F64, &dev()).unwrap();
    let y = Tensor::concat(&[&empty, &x, &empty], 1).unwrap();
    assert_eq!(y.to_vec_f64().unwrap(), vec![1.0, 2.0, 3.0, 4.0]);
    let n = x.narrow(0, 1, 0).unwrap();
    assert_eq!(n.shape(), &[0, 2]);
    let i = x.index_select(0, &[]).unwrap();
    assert_eq!(i.shape(), &[0, 2]);
    let g = y
        .mul(&y)
        .unwrap()
        .sum_all()
        .unwrap()
        .add(&n.sum_all().unwrap())
        .unwrap()
        .add(&i.sum_all().unwrap())
        .unwrap()
        .backward()
        .unwrap();
    assert_eq!(g.get(&x).unwrap().to_vec_f64().unwrap(), vec![2.0, 4.0, 6.0, 8.0]);
    assert_eq!(empty.sum_all().unwrap().to_vec_f64().unwrap(), vec![0.0]);
    assert_eq!(empty.sum(&[1], false).unwrap().to_vec_f64().unwrap(), vec![0.0, 0.0]);
}
