use sigmagrad::check::{check_grads, check_jacobian, CheckOptions};
use sigmagrad::{cpu, DType, Rng, Tensor};

#[test]
fn gradient_of_a_small_expression() {
    let dev = cpu();
    let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3], &dev).unwrap().requires_grad();
    let y = x.square().unwrap().sum_all().unwrap();
    let g = y.backward().unwrap();
    assert_eq!(g.get(&x).unwrap().to_vec::<f64>().unwrap(), vec![2.0, 4.0, 6.0]);
}

#[test]
fn checker_on_a_broadcast_matmul_expression() {
    let dev = cpu();
    let mut rng = Rng::new(1);
    let a = rng.normal(&[3, 4], DType::F64, &dev).unwrap();
    let b = rng.normal(&[4, 2], DType::F64, &dev).unwrap();
    let c = rng.normal(&[2], DType::F64, &dev).unwrap();
    let f = |x: &[Tensor]| x[0].matmul(&x[1])?.add(&x[2])?.tanh()?.logsumexp(&[1], false);
    let r = check_jacobian(f, &[a.clone(), b.clone(), c.clone()], &CheckOptions::default()).unwrap();
    assert!(r.passed(), "{r}");
    let f2 = |x: &[Tensor]| x[0].t()?.softplus()?.mul(&x[1].sigmoid()?.sum(&[1], true)?)?.max(&[0], false);
    let r = check_grads(f2, &[a, b], &CheckOptions::default()).unwrap();
    assert!(r.passed(), "{r}");
}
