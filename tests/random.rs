//! Seeded random tensors: reproducible for a seed, different across seeds and draws, with the
//! right moments, and counter-based: an element depends only on (seed, counter + i), never on
//! how many elements the same call drew (or on whether the kernel ran in parallel).

mod common;

use common::*;
use proptest::prelude::*;
use sigmagrad::{DType, Distribution, Rng, Tensor};

fn moments(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

fn draw(seed: u64, counter: u64, dist: Distribution, n: usize, dtype: DType) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    rng.set_counter(counter);
    rng.sample(dist, &[n], dtype, &dev()).unwrap().to_vec_f64().unwrap()
}

fn dist() -> impl Strategy<Value = Distribution> {
    prop_oneof![
        Just(Distribution::Normal { mean: 0.0, std: 1.0 }),
        (-3.0f64..3.0, 0.1f64..4.0).prop_map(|(mean, std)| Distribution::Normal { mean, std }),
        (-3.0f64..0.0, 0.5f64..3.0).prop_map(|(lo, w)| Distribution::Uniform { lo, hi: lo + w }),
        Just(Distribution::Rademacher),
    ]
}

fn dtype() -> impl Strategy<Value = DType> {
    prop_oneof![Just(DType::F64), Just(DType::F32)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn same_seed_same_tensor_different_seed_different(seed in any::<u64>(), other in any::<u64>(), d in dist(), dt in dtype(), n in 40usize..200) {
        prop_assume!(seed != other);
        let a = draw(seed, 0, d, n, dt);
        prop_assert_eq!(&a, &draw(seed, 0, d, n, dt));
        let b = draw(other, 0, d, n, dt);
        // Rademacher values agree by chance half the time each (all n >= 40 agreeing: 2^-40);
        // continuous draws never share a value.
        match d {
            Distribution::Rademacher => prop_assert!(a.iter().zip(&b).any(|(x, y)| x != y)),
            _ => prop_assert!(a.iter().zip(&b).all(|(x, y)| x != y), "seeds {} and {} share values", seed, other),
        }
    }

    /// Element i depends only on (seed, counter + i): drawing more elements in the same call,
    /// drawing from a later counter, or crossing the parallel threshold changes nothing.
    #[test]
    fn counter_based(seed in any::<u64>(), counter in 0u64..1_000_000, d in dist(), dt in dtype(), small in 1usize..50, offset in 0usize..50) {
        let few = draw(seed, counter, d, small, dt);
        let many = draw(seed, counter, d, 40_000, dt); // above the CPU parallel threshold
        prop_assert_eq!(&few[..], &many[..small]);
        // Starting `offset` counters later gives the same numbers shifted.
        let later = draw(seed, counter + offset as u64, d, small, dt);
        prop_assert_eq!(&later[..], &many[offset..offset + small]);
    }

    /// Consecutive draws from one Rng continue the stream: two draws of n equal one of 2n.
    #[test]
    fn consecutive_draws_continue_the_stream(seed in any::<u64>(), n in 1usize..100, d in dist(), dt in dtype()) {
        let mut rng = Rng::new(seed);
        let a = rng.sample(d, &[n], dt, &dev()).unwrap().to_vec_f64().unwrap();
        prop_assert_eq!(rng.counter(), n as u64);
        let b = rng.sample(d, &[n], dt, &dev()).unwrap().to_vec_f64().unwrap();
        prop_assert_eq!([a, b].concat(), draw(seed, 0, d, 2 * n, dt));
    }

    #[test]
    fn forks_are_deterministic_and_independent(seed in any::<u64>(), s1 in 0u64..1000, s2 in 0u64..1000) {
        prop_assume!(s1 != s2);
        let base = Rng::new(seed);
        let mut f1 = base.fork(s1);
        let mut f1b = Rng::new(seed).fork(s1);
        let mut f2 = base.fork(s2);
        let a = f1.normal(&[16], DType::F64, &dev()).unwrap().to_vec_f64().unwrap();
        prop_assert_eq!(&a, &f1b.normal(&[16], DType::F64, &dev()).unwrap().to_vec_f64().unwrap());
        let b = f2.normal(&[16], DType::F64, &dev()).unwrap().to_vec_f64().unwrap();
        prop_assert!(a.iter().zip(&b).all(|(x, y)| x != y));
    }

    #[test]
    fn permutation_is_a_reproducible_permutation(seed in any::<u64>(), n in 0usize..200) {
        let p = Rng::new(seed).permutation(n);
        let mut sorted = p.clone();
        sorted.sort_unstable();
        prop_assert_eq!(sorted, (0..n).collect::<Vec<_>>());
        prop_assert_eq!(p, Rng::new(seed).permutation(n));
    }
}

#[test]
fn normal_has_the_right_moments() {
    let n = 200_000;
    for dtype in [DType::F64, DType::F32] {
        let v = Rng::new(1).normal(&[n], dtype, &dev()).unwrap().to_vec_f64().unwrap();
        let (mean, std) = moments(&v);
        // Standard errors: 1/sqrt(n) = 0.0022 for the mean, ~0.0016 for the std.
        assert!(mean.abs() < 0.01, "{dtype}: mean {mean}");
        assert!((std - 1.0).abs() < 0.01, "{dtype}: std {std}");
        // Tails: P(|z| > 2) = 4.55%, P(|z| > 3) = 0.27%.
        let beyond2 = v.iter().filter(|x| x.abs() > 2.0).count() as f64 / n as f64;
        let beyond3 = v.iter().filter(|x| x.abs() > 3.0).count() as f64 / n as f64;
        assert!((beyond2 - 0.0455).abs() < 0.003, "{dtype}: P(|z|>2) = {beyond2}");
        assert!((beyond3 - 0.0027).abs() < 0.0008, "{dtype}: P(|z|>3) = {beyond3}");
        assert!(v.iter().all(|x| x.is_finite()));
        let s = Rng::new(2)
            .sample(Distribution::Normal { mean: 3.0, std: 0.5 }, &[n], dtype, &dev())
            .unwrap()
            .to_vec_f64()
            .unwrap();
        let (mean, std) = moments(&s);
        assert!((mean - 3.0).abs() < 0.005 && (std - 0.5).abs() < 0.005, "{dtype}: {mean} {std}");
    }
}

#[test]
fn uniform_stays_in_range_with_the_right_moments() {
    let n = 200_000;
    for dtype in [DType::F64, DType::F32] {
        let v = Rng::new(3).uniform(-1.0, 3.0, &[n], dtype, &dev()).unwrap().to_vec_f64().unwrap();
        assert!(v.iter().all(|&x| (-1.0..3.0).contains(&x)), "{dtype}: value out of [-1, 3)");
        let (mean, std) = moments(&v);
        // Uniform on [a, b): mean (a+b)/2 = 1, std (b-a)/sqrt(12) = 1.1547.
        assert!((mean - 1.0).abs() < 0.01, "{dtype}: mean {mean}");
        assert!((std - 4.0 / 12f64.sqrt()).abs() < 0.01, "{dtype}: std {std}");
        // Every quarter of the range gets its quarter of the draws.
        for q in 0..4 {
            let lo = -1.0 + q as f64;
            let frac = v.iter().filter(|&&x| x >= lo && x < lo + 1.0).count() as f64 / n as f64;
            assert!((frac - 0.25).abs() < 0.005, "{dtype}: quarter {q} has {frac}");
        }
        // The unit interval never returns 1.
        let u = Rng::new(4).uniform(0.0, 1.0, &[n], dtype, &dev()).unwrap().to_vec_f64().unwrap();
        assert!(u.iter().all(|&x| (0.0..1.0).contains(&x)));
    }
}

#[test]
fn rademacher_is_plus_or_minus_one_and_balanced() {
    let n = 100_000;
    for dtype in [DType::F64, DType::F32] {
        let v = Rng::new(5).rademacher(&[n], dtype, &dev()).unwrap().to_vec_f64().unwrap();
        assert!(v.iter().all(|&x| x == 1.0 || x == -1.0));
        let mean = v.iter().sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.015, "{dtype}: mean {mean}");
        // Consecutive signs are uncorrelated.
        let lag1 = v.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / (n - 1) as f64;
        assert!(lag1.abs() < 0.015, "{dtype}: lag-1 correlation {lag1}");
    }
}

#[test]
fn random_tensors_have_the_requested_shape_and_are_plain_leaves() {
    let mut rng = Rng::new(9);
    let t: Tensor = rng.normal(&[2, 3, 4], DType::F32, &dev()).unwrap();
    assert_eq!(t.shape(), &[2, 3, 4]);
    assert_eq!(t.dtype(), DType::F32);
    assert!(!t.tracks_grad());
    assert_eq!(rng.counter(), 24);
    let s = rng.normal(&[], DType::F64, &dev()).unwrap();
    assert_eq!(s.shape(), &[] as &[usize]);
    assert_eq!(rng.counter(), 25);
    let e = rng.normal(&[0, 3], DType::F64, &dev()).unwrap();
    assert_eq!(e.numel(), 0);
    assert_eq!(rng.counter(), 25);
    // f32 and f64 draws of one stream agree to f32 precision for the uniform.
    let a = Rng::new(10).uniform(0.0, 1.0, &[100], DType::F64, &dev()).unwrap().to_vec_f64().unwrap();
    let b = Rng::new(10).uniform(0.0, 1.0, &[100], DType::F32, &dev()).unwrap().to_vec_f64().unwrap();
    assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-6), "f32 and f64 use the same counters");
}
