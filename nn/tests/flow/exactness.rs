//! What makes a flow a density: an exact inverse, the log-determinant of its Jacobian, a
//! density that integrates to one; and the spline's monotone shape with identity tails.

use super::*;
use autodiff::no_grad;
use nn::flow::{block_permutation, block_rotation};
use nn::Mode;

/// The flows every property is checked on: affine, spline, and a Bayesian INN in a weight draw,
/// between permutations and between rotations, with parameters N(0, scale²).
fn flows(dims: usize, dtype: DType, scale: f64) -> Vec<(&'static str, Flow)> {
    let bayes = random_flow(dims, config(AFFINE, 3, true), dtype, scale, 5);
    bayes.set_mode(Mode::Eval { draw: 3 });
    vec![
        ("affine", random_flow(dims, config(AFFINE, 4, false), dtype, scale, 1)),
        ("spline", random_flow(dims, config(SPLINE, 4, false), dtype, scale, 2)),
        ("bayesian affine", bayes),
        ("bayesian spline", {
            let f = random_flow(dims, config(SPLINE, 3, true), dtype, scale, 6);
            f.set_mode(Mode::Eval { draw: 1 });
            f
        }),
        ("rotated affine", random_flow(dims, rotated(config(AFFINE, 4, false)), dtype, scale, 3)),
        ("rotated bayesian spline", {
            let f = random_flow(dims, rotated(config(SPLINE, 3, true)), dtype, scale, 4);
            f.set_mode(Mode::Eval { draw: 2 });
            f
        }),
    ]
}

#[test]
fn inverse_of_forward_is_the_identity_in_f32() {
    // Spread 2.5 puts a good share of the spline's inputs beyond its bound of 3 (the tails).
    // Parameters of scale 0.2 keep the random splines moderate; at 0.4 their slopes chain to
    // amplify rounding ~10⁴-fold (the f64 test below), beyond what f32's 1.2e-7 can take.
    for dims in [2, 3, 5] {
        let x = rows(512, dims, 2.5, DType::F32, 11);
        let z = rows(512, dims, 1.0, DType::F32, 12);
        for (name, flow) in flows(dims, DType::F32, 0.2) {
            let back = no_grad(|| flow.from_latent(&flow.to_latent(&x)?.0)).unwrap();
            let worst = worst_relative(&host(&x), &host(&back));
            assert!(worst <= 1e-5, "{name}, D = {dims}: |f⁻¹(f(x)) - x| / (1 + |x|) reaches {worst:e}");
            let again = no_grad(|| flow.to_latent(&flow.from_latent(&z)?)).unwrap().0;
            let worst = worst_relative(&host(&z), &host(&again));
            assert!(worst <= 1e-5, "{name}, D = {dims}: |f(f⁻¹(z)) - z| / (1 + |z|) reaches {worst:e}");
        }
    }
}

/// The inverse is exact, not approximate: in f64, even the steep random splines come back to
/// within 1e-9.
#[test]
fn inverse_of_forward_is_exact_in_f64() {
    for dims in [2, 5] {
        let x = rows(512, dims, 2.5, DType::F64, 13);
        for (name, flow) in flows(dims, DType::F64, 0.4) {
            let back = no_grad(|| flow.from_latent(&flow.to_latent(&x)?.0)).unwrap();
            let worst = worst_relative(&host(&x), &host(&back));
            assert!(worst <= 1e-9, "{name}, D = {dims}: |f⁻¹(f(x)) - x| / (1 + |x|) reaches {worst:e}");
        }
    }
}

/// The largest |a - b| / (1 + |a|): an absolute error near zero, a relative one for large values.
fn worst_relative(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs() / (1.0 + x.abs())).fold(0.0, f64::max)
}

/// ln|det| of a small square matrix by Gaussian elimination with partial pivoting.
fn log_abs_det(mut a: Vec<f64>, n: usize) -> f64 {
    let mut total = 0.0;
    for c in 0..n {
        let pivot = (c..n).max_by(|&i, &j| a[i * n + c].abs().total_cmp(&a[j * n + c].abs())).unwrap();
        for k in 0..n {
            a.swap(c * n + k, pivot * n + k);
        }
        let p = a[c * n + c];
        total += p.abs().ln();
        for r in c + 1..n {
            let f = a[r * n + c] / p;
            for k in c..n {
                a[r * n + k] -= f * a[c * n + k];
            }
        }
    }
    total
}

#[test]
fn log_det_matches_a_finite_difference_jacobian() {
    let eps = 1e-5;
    for dims in 2..=4 {
        let x = host(&rows(6, dims, 1.8, DType::F64, 21));
        for (name, flow) in flows(dims, DType::F64, 0.4) {
            let latent = |v: &[f64]| {
                let t = Tensor::from_f64s(v, &[1, dims], DType::F64, &dev()).unwrap();
                no_grad(|| flow.to_latent(&t)).unwrap()
            };
            for row in x.chunks(dims) {
                let mut jacobian = vec![0.0; dims * dims];
                for j in 0..dims {
                    let (mut up, mut down) = (row.to_vec(), row.to_vec());
                    up[j] += eps;
                    down[j] -= eps;
                    let (zu, zd) = (host(&latent(&up).0), host(&latent(&down).0));
                    for i in 0..dims {
                        jacobian[i * dims + j] = (zu[i] - zd[i]) / (2.0 * eps);
                    }
                }
                let expected = log_abs_det(jacobian, dims);
                let got = host(&latent(row).1)[0];
                assert!((got - expected).abs() < 1e-6, "{name}, D = {dims}, x = {row:?}: {got} vs {expected}");
            }
        }
    }
}

#[test]
fn density_integrates_to_one_on_a_2d_grid() {
    // Midpoint rule on [-9, 9]² with cells of 0.025 (a unit Gaussian holds < 1e-18 outside),
    // evaluated a band of rows at a time. Parameters of scale 0.3 keep the splines' density
    // features wider than a few cells (at 0.4 they narrow to ~0.02, and the rule needs 4x the cells).
    let (half, cells) = (9.0, 720);
    let h = 2.0 * half / cells as f64;
    let centre = |i: usize| -half + (i as f64 + 0.5) * h;
    for (name, flow) in flows(2, DType::F64, 0.3) {
        let mut integral = 0.0;
        for band in (0..cells).collect::<Vec<_>>().chunks(120) {
            let grid: Vec<f64> =
                band.iter().flat_map(|&a| (0..cells).flat_map(move |b| [centre(a), centre(b)])).collect();
            let x = Tensor::from_f64s(&grid, &[band.len() * cells, 2], DType::F64, &dev()).unwrap();
            integral += host(&no_grad(|| flow.log_p(&x)).unwrap()).iter().map(|l| l.exp()).sum::<f64>() * h * h;
        }
        assert!((integral - 1.0).abs() < 1e-3, "{name}: ∫ p = {integral}");
    }
}

#[test]
fn a_new_flow_is_the_identity_and_its_density_the_unit_gaussian() {
    for coupling in [AFFINE, SPLINE] {
        let flow = Flow::new(&flow_spec(3, &[4], Activation::Relu, config(coupling, 3, false)), DType::F64, &dev(), 1)
            .unwrap();
        let x = rows(50, 3, 2.0, DType::F64, 3);
        let (z, log_det) = no_grad(|| flow.to_latent(&x)).unwrap();
        let gap = host(&x).iter().zip(host(&z)).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(gap < 1e-12, "{coupling:?}: moved by {gap}");
        assert!(host(&log_det).iter().all(|v| v.abs() < 1e-12), "{coupling:?}: log det {:?}", host(&log_det));
    }
}

/// The spline coupling is monotone in each coordinate and the identity beyond its bound.
#[test]
fn spline_blocks_are_monotone_with_identity_tails() {
    let flow = random_flow(2, config(SPLINE, 1, false), DType::F64, 0.8, 9);
    // Block 0 conditions on one coordinate and transforms the other; scan the transformed one.
    let permutation = flow.permutations()[0].clone();
    let (held, moved) = (permutation[0], permutation[1]);
    let scan: Vec<f64> = (0..801).map(|i| -4.0 + i as f64 * 0.01).collect();
    let mut grid = vec![0.0; scan.len() * 2];
    for (i, v) in scan.iter().enumerate() {
        grid[i * 2 + held] = 0.7;
        grid[i * 2 + moved] = *v;
    }
    let x = Tensor::from_f64s(&grid, &[scan.len(), 2], DType::F64, &dev()).unwrap();
    let z = host(&no_grad(|| flow.to_latent(&x)).unwrap().0);
    let out: Vec<f64> = (0..scan.len()).map(|i| z[i * 2 + 1]).collect();
    assert!(out.windows(2).all(|w| w[1] > w[0]), "the spline is not increasing");
    for (v, y) in scan.iter().zip(&out) {
        if v.abs() > 3.0 {
            assert!((v - y).abs() < 1e-12, "outside the bound {v} maps to {y}");
        }
    }
    assert!(scan.iter().zip(&out).any(|(v, y)| (v - y).abs() > 0.05), "the spline did nothing inside its bound");
}

/// The permutations are a function of the description's seed, pinned so that a change in the
/// shuffle (which would silently change every saved flow) fails here.
#[test]
fn permutations_are_pinned_by_their_seed() {
    let flow = random_flow(5, config(AFFINE, 3, false), DType::F32, 0.1, 1);
    let expected: Vec<Vec<usize>> = (0..3).map(|b| block_permutation(7, b, 5)).collect();
    assert_eq!(flow.permutations(), expected);
    assert_eq!(block_permutation(7, 0, 5), PINNED_SEED7_BLOCK0);
    for p in &expected {
        let mut sorted = p.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..5).collect::<Vec<_>>());
    }
}

const PINNED_SEED7_BLOCK0: [usize; 5] = [1, 0, 2, 3, 4];

/// A rotation is orthogonal to f64 precision, differs between blocks, is a function of the seed
/// alone (pinned, so a change that would silently change every saved rotated flow fails here),
/// and a rotated flow reports it as its mixing.
#[test]
fn rotations_are_orthogonal_and_pinned_by_their_seed() {
    for dims in [2, 3, 5, 8] {
        let q = block_rotation(7, 1, dims);
        for a in 0..dims {
            for b in 0..dims {
                let dot: f64 = (0..dims).map(|i| q[i * dims + a] * q[i * dims + b]).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-14, "D = {dims}: column {a} · column {b} = {dot}");
            }
        }
        assert_ne!(q, block_rotation(7, 2, dims), "two blocks share a rotation");
        assert_eq!(q, block_rotation(7, 1, dims), "the seed does not fix the rotation");
    }
    let flow = random_flow(3, rotated(config(AFFINE, 2, false)), DType::F64, 0.1, 1);
    let expected: Vec<Vec<f64>> = (0..2).map(|b| block_rotation(7, b, 3)).collect();
    assert_eq!(flow.mixing_matrices(), expected);
    assert!(flow.permutations().is_empty(), "a rotated flow has no permutations");
    assert!((block_rotation(7, 0, 3)[0] - PINNED_SEED7_BLOCK0_Q00).abs() < 1e-15, "{:?}", block_rotation(7, 0, 3));
}

/// A checkpoint written before rotations existed has no `mixing`: it reads as permutations.
#[test]
fn a_description_without_mixing_means_permutations() {
    let text = r#"{"blocks":2,"coupling":{"affine":{"clamp":2.0}},"permutation_seed":3,"variational":null}"#;
    let config: FlowConfig = serde_json::from_str(text).unwrap();
    assert_eq!(config.mixing, Mixing::Permutation);
}

const PINNED_SEED7_BLOCK0_Q00: f64 = -0.475_613_468_209_236_1;
