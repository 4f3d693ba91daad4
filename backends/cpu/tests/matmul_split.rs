//! Large products split over rayon's threads (rows of C, or batch entries): the pieces must
//! tile C exactly, including ragged last pieces, strided (transposed) operands and batches.

use autodiff::{DType, Rng};

/// The product by the textbook triple loop, in f64.
fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
        }
    }
    c
}

fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-9 * (1.0 + w.abs()), "element {i}: {g} vs {w}");
    }
}

#[test]
fn split_products_match_the_triple_loop() {
    let dev = backend_cpu::device();
    let mut rng = Rng::new(7);
    // 2mkn >= 2^21 for all but the first: split by rows, with m not a multiple of the piece.
    for &(m, k, n) in &[(5, 3, 4), (301, 67, 53), (1000, 15, 64), (33, 1100, 40), (64, 1024, 64)] {
        let a = rng.normal(&[m, k], DType::F64, &dev).unwrap();
        let b = rng.normal(&[k, n], DType::F64, &dev).unwrap();
        let want = naive(&a.to_vec().unwrap(), &b.to_vec().unwrap(), m, k, n);
        assert_close(&a.matmul(&b).unwrap().to_vec().unwrap(), &want);
        // A transposed view: the same product read through strides.
        let at = a.t().unwrap().contiguous().unwrap().t().unwrap();
        assert_close(&at.matmul(&b).unwrap().to_vec().unwrap(), &want);
    }
}

#[test]
fn split_batches_match_the_triple_loop() {
    let dev = backend_cpu::device();
    let mut rng = Rng::new(8);
    let (batch, m, k, n) = (5, 130, 64, 70);
    let a = rng.normal(&[batch, m, k], DType::F64, &dev).unwrap();
    let b = rng.normal(&[batch, k, n], DType::F64, &dev).unwrap();
    let c: Vec<f64> = a.matmul(&b).unwrap().to_vec().unwrap();
    let (av, bv): (Vec<f64>, Vec<f64>) = (a.to_vec().unwrap(), b.to_vec().unwrap());
    for i in 0..batch {
        let want = naive(&av[i * m * k..][..m * k], &bv[i * k * n..][..k * n], m, k, n);
        assert_close(&c[i * m * n..][..m * n], &want);
    }
}
