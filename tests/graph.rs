//! Define-by-run semantics: a tensor used several times accumulates its gradient; detach and
//! no_grad stop gradients; backward_with gives vector-Jacobian products of non-scalar outputs;
//! a Var keeps one gradient key across updates; tensors cross threads.

mod common;

use common::*;
use proptest::prelude::*;
use sigmagrad::{is_grad_enabled, no_grad, DType, Gradients, NoGradGuard, Rng, Tensor, Var};

fn grad(g: &Gradients, t: &Tensor) -> Vec<f64> {
    g.get(t).expect("a gradient reached the tensor").to_vec_f64().unwrap()
}

// ----- accumulation ---------------------------------------------------------------------------

#[test]
fn a_tensor_used_several_times_accumulates() {
    // f = x*x + 3x + e^x: df/dx = 2x + 3 + e^x, from three uses of x (four edges).
    let v = [-1.0, 0.5, 2.0];
    let x = t64(&v, &[3]).requires_grad();
    let f = x.mul(&x).unwrap().add(&x.mul_scalar(3.0).unwrap()).unwrap().add(&x.exp().unwrap()).unwrap();
    let g = f.sum_all().unwrap().backward().unwrap();
    let expected: Vec<f64> = v.iter().map(|x| 2.0 * x + 3.0 + x.exp()).collect();
    assert_close(&grad(&g, &x), &expected, 1e-14);
}

#[test]
fn diamonds_and_self_operands() {
    // y = tanh x feeds two branches that meet again: dz/dx = (2y + 1)(1 - y^2).
    let v = [-0.7, 0.2, 1.3];
    let x = t64(&v, &[3]).requires_grad();
    let y = x.tanh().unwrap();
    let z = y.mul(&y).unwrap().add(&y).unwrap();
    let g = z.sum_all().unwrap().backward().unwrap();
    let expected: Vec<f64> = v.iter().map(|x: &f64| (2.0 * x.tanh() + 1.0) * (1.0 - x.tanh().powi(2))).collect();
    assert_close(&grad(&g, &x), &expected, 1e-14);
    // The same tensor as both operands.
    for (name, f, d) in [
        ("sub", Tensor::sub as fn(&Tensor, &Tensor) -> sigmagrad::Result<Tensor>, [0.0; 3]),
        ("div", Tensor::div, [0.0; 3]),
        ("add", Tensor::add, [2.0; 3]),
    ] {
        let g = f(&x, &x).unwrap().sum_all().unwrap().backward().unwrap();
        assert_close(&grad(&g, &x), &d, 1e-15);
        let _ = name;
    }
    // An intermediate is not a parameter: its gradient is not reported.
    assert!(g_of(&z).get(&y).is_none());
}

fn g_of(t: &Tensor) -> Gradients {
    t.sum_all().unwrap().backward().unwrap()
}

#[test]
fn one_input_broadcast_two_ways_sums_both() {
    // x: [3]; x[None, :] * x[:, None] = outer(x, x); d sum / dx_i = 2 sum(x).
    let x = t64(&[1.0, 2.0, 4.0], &[3]).requires_grad();
    let outer = x.unsqueeze(0).unwrap().mul(&x.unsqueeze(1).unwrap()).unwrap();
    assert_eq!(outer.shape(), &[3, 3]);
    let g = g_of(&outer);
    assert_eq!(grad(&g, &x), vec![14.0, 14.0, 14.0]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Reusing leaves k times in a sum of products: gradients of every use add up, checked
    /// against finite differences.
    #[test]
    fn reuse_accumulates_like_finite_differences(
        (shape, v) in shaped(2, 3, |n| prop::collection::vec(-2.0f64..2.0, n)),
        uses in 1usize..5,
    ) {
        let x = t64(&v, &shape);
        let f = move |xs: &[Tensor]| {
            let mut acc = xs[0].tanh()?;
            for k in 0..uses {
                acc = acc.mul(&xs[0].mul_scalar(0.5 + k as f64)?.sigmoid()?)?.add(&xs[0])?;
            }
            Ok(acc)
        };
        prop_grads!(grads_ok(f, &[x]));
    }

    /// backward_with(c) is the VJP: it equals the gradient of sum(y * c), and (checked
    /// independently) <c, J t> for the Jacobian built from finite differences.
    #[test]
    fn backward_with_is_the_vjp(m in 1usize..4, k in 1usize..4, n in 1usize..4, seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let a = rng.normal(&[m, k], DType::F64, &dev()).unwrap().requires_grad();
        let b = rng.normal(&[k, n], DType::F64, &dev()).unwrap().requires_grad();
        let c = rng.normal(&[m, n], DType::F64, &dev()).unwrap();
        let y = a.matmul(&b).unwrap().tanh().unwrap();
        let g1 = y.backward_with(&c).unwrap();
        let g2 = y.mul(&c).unwrap().sum_all().unwrap().backward().unwrap();
        for t in [&a, &b] {
            prop_close!(grad(&g1, t), grad(&g2, t), 1e-14, 1e-14);
        }
        // Against a hand-derived VJP: dA = ((1 - y^2) * c) B^T.
        let yv = y.to_vec_f64().unwrap();
        let cv = c.to_vec_f64().unwrap();
        let bv = b.to_vec_f64().unwrap();
        let d: Vec<f64> = yv.iter().zip(&cv).map(|(y, c)| (1.0 - y * y) * c).collect();
        let expected: Vec<f64> = (0..m * k).map(|ij| {
            let (i, j) = (ij / k, ij % k);
            (0..n).map(|p| d[i * n + p] * bv[j * n + p]).sum()
        }).collect();
        prop_close!(grad(&g1, &a), expected, 1e-12, 1e-12);
        // The graph is not consumed: a second pass gives the same.
        let g3 = y.backward_with(&c).unwrap();
        prop_assert_eq!(grad(&g3, &a), grad(&g1, &a));
    }
}

#[test]
fn backward_of_a_one_element_tensor_and_of_a_leaf() {
    let x = t64(&[3.0], &[1, 1]).requires_grad();
    let g = x.square().unwrap().backward().unwrap();
    assert_eq!(grad(&g, &x), vec![6.0]);
    assert_eq!(g.get(&x).unwrap().shape(), &[1, 1]);
    // The output is the parameter itself: gradient 1.
    let s = Tensor::scalar(2.0, DType::F64, &dev()).unwrap().requires_grad();
    assert_eq!(grad(&s.backward().unwrap(), &s), vec![1.0]);
}

// ----- stopping gradients -----------------------------------------------------------------------

#[test]
fn detach_stops_the_gradient() {
    let x = t64(&[1.0, -2.0, 3.0], &[3]).requires_grad();
    let d = x.detach();
    assert!(!d.tracks_grad() && !d.is_param());
    assert_ne!(d.id(), x.id());
    assert_eq!(d.to_vec_f64().unwrap(), x.to_vec_f64().unwrap());
    assert!(std::sync::Arc::ptr_eq(d.storage(), x.storage()), "detach shares storage");
    // f = detach(x) * x: the detached factor is a constant, so df/dx = x, not 2x.
    let g = g_of(&d.mul(&x).unwrap());
    assert_eq!(grad(&g, &x), vec![1.0, -2.0, 3.0]);
    // Detaching an intermediate cuts everything below it.
    let h = x.exp().unwrap().detach().mul(&x).unwrap();
    assert_close(&grad(&g_of(&h), &x), &[1f64.exp(), (-2f64).exp(), 3f64.exp()], 1e-15);
    // A fully detached output reaches no parameter.
    assert!(g_of(&x.exp().unwrap().detach()).is_empty());
}

#[test]
fn tensors_without_requires_grad_get_no_gradient() {
    let x = t64(&[1.0, 2.0], &[2]);
    let w = t64(&[3.0, 4.0], &[2]).requires_grad();
    let unused = t64(&[5.0], &[1]).requires_grad();
    let g = g_of(&x.mul(&w).unwrap());
    assert!(!x.is_param() && g.get(&x).is_none());
    assert_eq!(grad(&g, &w), vec![1.0, 2.0]);
    assert!(g.get(&unused).is_none());
    assert_eq!(g.get_or_zeros(&unused).unwrap().to_vec_f64().unwrap(), vec![0.0]);
    assert_eq!(g.len(), 1);
    // requires_grad makes a new leaf each time; the original stays a constant.
    let w2 = x.requires_grad();
    assert!(w2.is_param() && !x.is_param() && w2.id() != x.id());
}

#[test]
fn no_grad_records_nothing_and_nests() {
    let x = t64(&[1.0, 2.0], &[2]).requires_grad();
    assert!(is_grad_enabled());
    let y = no_grad(|| {
        assert!(!is_grad_enabled());
        let inner = no_grad(|| x.exp().unwrap());
        assert!(!is_grad_enabled(), "leaving an inner scope keeps the outer one");
        inner.mul(&x).unwrap()
    });
    assert!(is_grad_enabled());
    assert!(!y.tracks_grad() && y.op_name().is_none());
    assert!(g_of(&y).is_empty());
    // Values are computed as usual.
    assert_close(&y.to_vec_f64().unwrap(), &[1f64.exp(), 2.0 * 2f64.exp()], 1e-15);
    {
        let _guard = NoGradGuard::new();
        assert!(!x.square().unwrap().tracks_grad());
    }
    assert!(x.square().unwrap().tracks_grad());
    // A tensor made under no_grad is a constant in a later graph.
    let z = y.mul(&x).unwrap();
    assert_eq!(grad(&g_of(&z), &x), y.to_vec_f64().unwrap());
}

#[test]
fn no_grad_is_per_thread() {
    let x = t64(&[1.0, 2.0], &[2]).requires_grad();
    no_grad(|| {
        let x2 = x.clone();
        let tracked =
            std::thread::spawn(move || (is_grad_enabled(), x2.square().unwrap().tracks_grad())).join().unwrap();
        assert_eq!(tracked, (true, true), "another thread's graph is unaffected");
        assert!(!x.square().unwrap().tracks_grad());
    });
}

// ----- Var ----------------------------------------------------------------------------------------

#[test]
fn var_keeps_one_gradient_key_across_updates() {
    let v = Var::new(&t64(&[1.0, 2.0], &[2])).unwrap();
    let id = v.id();
    let t0 = v.tensor();
    assert!(t0.is_param() && t0.id() == id);
    let g = g_of(&v.tensor().square().unwrap());
    assert_eq!(g.get_id(id).unwrap().to_vec_f64().unwrap(), vec![2.0, 4.0]);
    v.set(&t64(&[5.0, -1.0], &[2])).unwrap();
    assert_eq!(v.tensor().id(), id);
    let g = g_of(&v.tensor().square().unwrap());
    assert_eq!(g.get_id(id).unwrap().to_vec_f64().unwrap(), vec![10.0, -2.0]);
    assert_eq!(grad(&g, &v.tensor()), vec![10.0, -2.0]);
    // The old value is untouched (tensors are immutable), and clones share the cell.
    assert_eq!(t0.to_vec_f64().unwrap(), vec![1.0, 2.0]);
    let v2 = v.clone();
    v2.set(&t64(&[0.0, 0.0], &[2])).unwrap();
    assert_eq!(v.tensor().to_vec_f64().unwrap(), vec![0.0, 0.0]);
    // Two Vars never share a key.
    assert_ne!(Var::new(&t64(&[1.0], &[1])).unwrap().id(), Var::new(&t64(&[1.0], &[1])).unwrap().id());
}

#[test]
fn var_update_storage_is_in_place_and_copy_on_write() {
    let v = Var::new(&t64(&[1.0, 2.0, 3.0], &[3])).unwrap();
    let dev = dev();
    let grad_storage = t64(&[1.0, 1.0, 1.0], &[3]).storage().clone();
    // No graph holds the value: updated where it is.
    v.update_storage(|s| dev.backend().sgd_step(s, &grad_storage, None, 0.5, 0.0, 0.0)).unwrap();
    assert_eq!(v.tensor().to_vec_f64().unwrap(), vec![0.5, 1.5, 2.5]);
    // A graph holds the old value: it keeps its numbers, the Var gets new ones.
    let held = v.tensor().square().unwrap();
    let before = held.to_vec_f64().unwrap();
    v.update_storage(|s| dev.backend().sgd_step(s, &grad_storage, None, 0.5, 0.0, 0.0)).unwrap();
    assert_eq!(v.tensor().to_vec_f64().unwrap(), vec![0.0, 1.0, 2.0]);
    assert_eq!(held.to_vec_f64().unwrap(), before);
    let g = g_of(&held);
    assert_eq!(g.get_id(v.id()).unwrap().to_vec_f64().unwrap(), vec![1.0, 3.0, 5.0], "graph used the old value");
}

#[test]
fn var_from_a_view_owns_exactly_its_elements() {
    // Narrowed, offset and broadcast views: the Var's storage must hold exactly its elements
    // in order, since fused optimizer kernels update the raw buffer.
    let base = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
    for (name, view) in [
        ("narrow first rows", base.narrow(0, 0, 2).unwrap()),
        ("narrow last rows", base.narrow(0, 1, 2).unwrap()),
        ("transpose", base.t().unwrap()),
        ("broadcast", t64(&[7.0, 8.0], &[2]).broadcast_to(&[3, 2]).unwrap()),
    ] {
        let v = Var::new(&view).unwrap();
        let n = view.numel();
        let ones = Tensor::ones(view.shape(), DType::F64, &dev()).unwrap();
        v.update_storage(|s| {
            assert_eq!(s.len(), n, "{name}: storage of {} elements for {n}", s.len());
            dev().backend().sgd_step(s, ones.storage(), None, 1.0, 0.0, 0.0)
        })
        .unwrap();
        let expected: Vec<f64> = view.to_vec_f64().unwrap().iter().map(|x| x - 1.0).collect();
        assert_eq!(v.tensor().to_vec_f64().unwrap(), expected, "{name}");
        // And set() with a view behaves the same.
        v.set(&view).unwrap();
        v.update_storage(|s| {
            assert_eq!(s.len(), n, "{name} after set");
            Ok(())
        })
        .unwrap();
        assert_eq!(v.tensor().to_vec_f64().unwrap(), view.to_vec_f64().unwrap());
    }
}

// ----- threads ----------------------------------------------------------------------------------

#[test]
fn tensors_and_friends_are_send_and_sync() {
    fn is<T: Send + Sync>() {}
    is::<Tensor>();
    is::<Var>();
    is::<Gradients>();
    is::<sigmagrad::Device>();
    is::<sigmagrad::Error>();
}

#[test]
fn graphs_on_many_threads_match_the_sequential_result() {
    // Four "ensemble members" share the input batch and train their own weights in parallel.
    let mut rng = Rng::new(42);
    let x = rng.normal(&[8, 3], DType::F64, &dev()).unwrap();
    let ws: Vec<Tensor> = (0..4).map(|i| Rng::new(i).normal(&[3, 2], DType::F64, &dev()).unwrap()).collect();
    let run = |x: &Tensor, w: &Tensor| -> Vec<f64> {
        let w = w.requires_grad();
        let loss = x.matmul(&w).unwrap().tanh().unwrap().square().unwrap().mean_all().unwrap();
        loss.backward().unwrap().get(&w).unwrap().to_vec_f64().unwrap()
    };
    let sequential: Vec<Vec<f64>> = ws.iter().map(|w| run(&x, w)).collect();
    let parallel: Vec<Vec<f64>> = std::thread::scope(|s| {
        let handles: Vec<_> = ws.iter().map(|w| s.spawn(|| run(&x, w))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(sequential, parallel);
    // A graph built on one thread can be differentiated on another.
    let w = ws[0].requires_grad();
    let y = x.matmul(&w).unwrap().sum_all().unwrap();
    let g = std::thread::spawn(move || y.backward().unwrap()).join().unwrap();
    assert!(g.get(&w).is_some());
}

// ----- deep graphs ------------------------------------------------------------------------------

#[test]
fn deep_graphs_neither_overflow_the_stack_in_backward_nor_in_drop() {
    // Run on a thread with a small stack so a recursive walk would fail here, not only on
    // some user's machine.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let x = t64(&[0.5], &[1]).requires_grad();
            let mut y = x.clone();
            for _ in 0..100_000 {
                y = y.mul_scalar(1.0)?;
            }
            let g = y.sum_all()?.backward()?;
            assert_eq!(g.get(&x).unwrap().to_vec_f64()?, vec![1.0]);
            drop(g);
            drop(y); // drops a 100k-long chain of nodes
            sigmagrad::Result::Ok(())
        })
        .unwrap()
        .join()
        .expect("thread did not crash")
        .unwrap();
}
