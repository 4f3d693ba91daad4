//! What someone porting PyTorch or NumPy code reaches for first: `where`, 1-D matmul operands,
//! `flatten`, `reshape` with an inferred axis, `argmax`/`argmin`, and `max`'s tie rule. Values
//! against the NumPy meaning, gradients against finite differences in f64.

mod common;

use common::*;
use sigmagrad::Tensor;

#[test]
fn where_cond_picks_elementwise_and_routes_the_gradient() {
    let x = t64(&[-1.0, 2.0, -3.0, 4.0], &[4]);
    let a = t64(&[10.0, 20.0, 30.0, 40.0], &[4]);
    let out = x.gt_scalar(0.0).unwrap().where_cond(&a, &x).unwrap();
    assert_eq!(out.to_vec_f64().unwrap(), vec![-1.0, 20.0, -3.0, 40.0]);
    let cond = x.gt_scalar(0.0).unwrap();
    grads_ok(|t| cond.where_cond(&t[0].square()?, &t[1].tanh()?)?.sum_all(), &[a, x.clone()]).unwrap();
    // The condition broadcasts like the branches: one row mask against a [2, 4] table.
    let table = t64(&[1.0; 8], &[2, 4]);
    let picked = cond.where_cond(&table, &table.zeros_like().unwrap()).unwrap();
    assert_eq!(picked.to_vec_f64().unwrap(), vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
}

#[test]
fn matmul_gives_vectors_the_numpy_meaning() {
    let v = t64(&[1.0, 2.0, 3.0], &[3]);
    let m = t64(&[1.0, 0.0, 0.0, 1.0, 2.0, 2.0], &[3, 2]);
    let dot = v.matmul(&v).unwrap();
    assert_eq!((dot.shape().to_vec(), dot.to_scalar().unwrap()), (vec![], 14.0));
    let row = v.matmul(&m).unwrap();
    assert_eq!((row.shape().to_vec(), row.to_vec_f64().unwrap()), (vec![2], vec![7.0, 8.0]));
    let col = m.t().unwrap().matmul(&v).unwrap();
    assert_eq!((col.shape().to_vec(), col.to_vec_f64().unwrap()), (vec![2], vec![7.0, 8.0]));
    grads_ok(|t| t[0].matmul(&t[1])?.tanh()?.sum_all(), &[v.clone(), m.clone()]).unwrap();
    grads_ok(|t| t[1].t()?.matmul(&t[0])?.sum_all(), &[v.clone(), m]).unwrap();
    grads_ok(|t| t[0].matmul(&t[0]), &[v]).unwrap();
    assert!(t64(&[1.0, 2.0], &[2]).matmul(&t64(&[1.0, 2.0, 3.0], &[3])).is_err());
}

#[test]
fn reshape_infers_one_axis_and_flatten_merges_a_range() {
    let x = t64(&(0..24).map(f64::from).collect::<Vec<_>>(), &[2, 3, 4]);
    assert_eq!(x.reshape(&[-1, 4]).unwrap().shape(), &[6, 4]);
    assert_eq!(x.reshape(&[2, -1]).unwrap().shape(), &[2, 12]);
    assert_eq!(x.reshape(&[-1]).unwrap().shape(), &[24]);
    assert!(x.reshape(&[-1, -1]).is_err());
    assert!(x.reshape(&[5, -1]).unwrap_err().to_string().contains("infer"));
    assert_eq!(x.flatten(1, -1).unwrap().shape(), &[2, 12]);
    assert_eq!(x.flatten(0, 1).unwrap().shape(), &[6, 4]);
    assert_eq!(x.flatten(0, -1).unwrap().to_vec_f64().unwrap(), x.to_vec_f64().unwrap());
    assert!(x.flatten(2, 0).is_err());
    let y = t64(&[0.5, -1.0, 2.0, 0.1, 0.3, -0.7], &[2, 3]);
    grads_ok(|t| t[0].flatten(0, -1)?.reshape(&[3, -1])?.exp()?.sum_all(), &[y]).unwrap();
}

#[test]
fn argmax_and_argmin_give_the_first_position_of_the_extremum() {
    let x = t64(&[1.0, 5.0, 5.0, -2.0, 0.0, 3.0, 3.0, -2.0], &[2, 4]);
    assert_eq!(x.argmax(1, false).unwrap().to_vec_f64().unwrap(), vec![1.0, 1.0]);
    assert_eq!(x.argmin(1, false).unwrap().to_vec_f64().unwrap(), vec![3.0, 3.0]);
    // Column 3 is a tie (-2, -2): the first row wins.
    assert_eq!(x.argmax(0, false).unwrap().to_vec_f64().unwrap(), vec![0.0, 0.0, 0.0, 0.0]);
    assert_eq!(x.argmin(0, false).unwrap().to_vec_f64().unwrap(), vec![1.0, 1.0, 1.0, 0.0]);
    assert_eq!(x.argmax(-1, true).unwrap().shape(), &[2, 1]);
    assert!(!x.requires_grad().argmax(0, false).unwrap().tracks_grad(), "indices take no part in gradients");
    assert!(Tensor::zeros(&[0, 3], sigmagrad::DType::F64, &dev()).unwrap().argmax(0, false).is_err());
}

#[test]
fn max_splits_its_gradient_among_ties() {
    let x = t64(&[2.0, 2.0, 1.0], &[3]).requires_grad();
    let g = x.max(&[0], false).unwrap().backward().unwrap();
    assert_eq!(g.get(&x).unwrap().to_vec_f64().unwrap(), vec![0.5, 0.5, 0.0]);
}
