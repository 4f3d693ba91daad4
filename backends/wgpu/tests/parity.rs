//! CPU vs wgpu parity: the same autodiff expression on both devices, forward values and the
//! gradients from `backward()` compared within f32 tolerances.
//!
//! Tolerance: an element passes when |gpu - cpu| <= atol + rtol |cpu|, with rtol = 1e-4 and
//! atol = 1e-5 for element-wise ops (GPU exp/log/pow are a few ulp off the CPU's libm), and atol
//! scaled by sqrt(k) for matmuls and reductions, whose summation order differs.
//!
//! Shapes are small on purpose: CI runs this on lavapipe (software Vulkan) on two cores.
//! Without an adapter each test skips through `autodiff::skip` (said, and counted by `make test`), unless
//! SIGMAGRAD_REQUIRE_WGPU=1, when it fails.

use autodiff::rng::words;
use autodiff::{AdamParams, DType, Device, Error, Layout, Result, Rng, Tensor, Var};
use proptest::prelude::*;

fn cpu() -> Device {
    backend_cpu::device()
}

/// The wgpu device, or None (after saying so) when this machine has no adapter.
fn gpu() -> Option<Device> {
    match backend_wgpu::device() {
        Ok(d) => Some(d),
        Err(e) => {
            if std::env::var("SIGMAGRAD_REQUIRE_WGPU").is_ok_and(|v| v == "1") {
                panic!("SIGMAGRAD_REQUIRE_WGPU=1 but no wgpu device: {e}");
            }
            autodiff::skip(&format!("no wgpu adapter ({e})"));
            None
        }
    }
}

/// The same adapter with the other kernel variants (GPU variants on lavapipe, CPU variants on
/// a GPU), so both sets are checked on whatever adapter the tests run on.
fn gpu_other_tuning(default: &Device) -> Device {
    let tuning = if backend_wgpu::is_software(default) { backend_wgpu::Tuning::Gpu } else { backend_wgpu::Tuning::Cpu };
    let opts = backend_wgpu::DeviceOptions::from_env().expect("options").tuning(tuning);
    backend_wgpu::device_with(&opts).expect("a second device on the same adapter")
}

macro_rules! gpu_or_skip {
    () => {
        match gpu() {
            Some(d) => d,
            None => return,
        }
    };
}

/// Deterministic values in [lo, hi) from the counter-based generator.
fn values(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|i| lo + (hi - lo) * autodiff::rng::unit_f32(words(seed, i as u64)[0])).collect()
}

/// Values in [lo, hi) with |x| >= margin: away from kinks (relu, abs, sign at 0).
fn away_from_zero(n: usize, seed: u64, lo: f32, hi: f32, margin: f32) -> Vec<f32> {
    values(n, seed, lo, hi)
        .into_iter()
        .map(|x| {
            if x.abs() < margin {
                if x < 0.0 {
                    -margin
                } else {
                    margin
                }
            } else {
                x
            }
        })
        .collect()
}

#[derive(Clone, Copy)]
struct Tol {
    rtol: f32,
    atol: f32,
}

const ELEM: Tol = Tol { rtol: 1e-4, atol: 1e-5 };

fn assert_close(what: &str, cpu: &[f32], gpu: &[f32], tol: Tol) {
    assert_eq!(cpu.len(), gpu.len(), "{what}: lengths differ");
    let mut worst = (0.0f32, 0usize);
    for (i, (&c, &g)) in cpu.iter().zip(gpu).enumerate() {
        if c.is_nan() && g.is_nan() || c == g {
            continue;
        }
        let excess = (g - c).abs() - (tol.atol + tol.rtol * c.abs());
        if excess.is_nan() || excess > worst.0 {
            worst = (if excess.is_nan() { f32::INFINITY } else { excess }, i);
        }
    }
    assert!(
        worst.0 <= 0.0,
        "{what}: element {} differs: cpu {} vs wgpu {} (rtol {}, atol {})",
        worst.1,
        cpu[worst.1],
        gpu[worst.1],
        tol.rtol,
        tol.atol
    );
}

fn host(t: &Tensor) -> Vec<f32> {
    t.to_vec::<f32>().expect("read back")
}

/// Runs `f` on the same inputs on both devices, compares the outputs, then the gradients of
/// <f(x), c> for a fixed random cotangent c.
fn parity(
    what: &str,
    gpu: &Device,
    inputs: &[(Vec<usize>, Vec<f32>)],
    tol: Tol,
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
) {
    let make = |dev: &Device| -> Vec<Tensor> {
        inputs.iter().map(|(s, v)| Tensor::from_vec(v.clone(), s, dev).expect("upload").requires_grad()).collect()
    };
    let (xc, xg) = (make(&cpu()), make(gpu));
    let yc = f(&xc).unwrap_or_else(|e| panic!("{what} on cpu: {e}"));
    let yg = f(&xg).unwrap_or_else(|e| panic!("{what} on wgpu: {e}"));
    assert_eq!(yc.shape(), yg.shape(), "{what}: output shapes differ");
    assert_eq!(yg.device(), gpu, "{what}: output left the wgpu device");
    assert_close(&format!("{what} forward"), &host(&yc), &host(&yg), tol);
    let cot = values(yc.numel(), 99, -1.0, 1.0);
    let backward = |y: &Tensor, dev: &Device| {
        let c = Tensor::from_vec(cot.clone(), y.shape(), dev).expect("upload");
        y.mul(&c)
            .and_then(|p| p.sum_all())
            .and_then(|l| l.backward())
            .unwrap_or_else(|e| panic!("{what} backward: {e}"))
    };
    let (gc, gg) = (backward(&yc, &cpu()), backward(&yg, gpu));
    for (i, (c, g)) in xc.iter().zip(&xg).enumerate() {
        match (gc.get(c), gg.get(g)) {
            (None, None) => {}
            (Some(a), Some(b)) => {
                assert_eq!(b.device(), gpu, "{what}: gradient left the wgpu device");
                assert_close(&format!("{what} gradient of input {i}"), &host(a), &host(b), tol)
            }
            (a, b) => panic!("{what}: input {i} has a gradient on cpu: {}, on wgpu: {}", a.is_some(), b.is_some()),
        }
    }
}

fn input(shape: &[usize], seed: u64, lo: f32, hi: f32) -> (Vec<usize>, Vec<f32>) {
    (shape.to_vec(), away_from_zero(shape.iter().product(), seed, lo, hi, 0.02))
}

const SHAPES: [&[usize]; 5] = [&[1, 1], &[3, 5], &[17, 33], &[2, 3, 4], &[]];

type UnaryCase = (&'static str, f32, f32, fn(&Tensor) -> Result<Tensor>);

#[test]
fn unary_ops_match_the_cpu() {
    let dev = gpu_or_skip!();
    let cases: Vec<UnaryCase> = vec![
        ("neg", -3.0, 3.0, |x| x.neg()),
        ("exp", -5.0, 5.0, |x| x.exp()),
        ("log", 0.05, 20.0, |x| x.log()),
        ("sqrt", 0.05, 20.0, |x| x.sqrt()),
        ("abs", -3.0, 3.0, |x| x.abs()),
        ("square", -3.0, 3.0, |x| x.square()),
        ("recip", 0.2, 3.0, |x| x.recip()),
        ("tanh", -6.0, 6.0, |x| x.tanh()),
        ("tanh small", -0.6, 0.6, |x| x.tanh()),
        ("sigmoid", -30.0, 30.0, |x| x.sigmoid()),
        ("relu", -3.0, 3.0, |x| x.relu()),
        ("softplus", -30.0, 30.0, |x| x.softplus()),
        ("step", -3.0, 3.0, |x| x.step()),
        ("sign", -3.0, 3.0, |x| x.sign()),
        ("powf 2.5", 0.1, 3.0, |x| x.powf(2.5)),
        ("powf 3 of negatives", -2.0, 2.0, |x| x.powf(3.0)),
        ("powf -1.5", 0.2, 3.0, |x| x.powf(-1.5)),
        ("powf 0.5", 0.1, 3.0, |x| x.powf(0.5)),
        ("affine", -3.0, 3.0, |x| x.affine(-1.5, 0.25)),
        ("clamp", -3.0, 3.0, |x| x.clamp(-0.5, 1.25)),
        ("leaky_relu", -3.0, 3.0, |x| x.leaky_relu(0.1)),
        ("silu", -5.0, 5.0, |x| x.silu()),
        ("log_sigmoid", -20.0, 20.0, |x| x.log_sigmoid()),
    ];
    for (name, lo, hi, f) in cases {
        for (i, shape) in SHAPES.iter().enumerate() {
            parity(&format!("{name} {shape:?}"), &dev, &[input(shape, i as u64, lo, hi)], ELEM, |x| f(&x[0]));
        }
        // Strided inputs: a transpose and an offset narrow view.
        parity(&format!("{name} of a transpose"), &dev, &[input(&[7, 9], 11, lo, hi)], ELEM, |x| f(&x[0].t()?));
        parity(&format!("{name} of a narrow view"), &dev, &[input(&[6, 10], 12, lo, hi)], ELEM, |x| {
            f(&x[0].narrow(1, 3, 5)?)
        });
    }
}

type BinaryCase = (&'static str, fn(&Tensor, &Tensor) -> Result<Tensor>);

const BINARY: [BinaryCase; 12] = [
    ("add", |a, b| a.add(b)),
    ("sub", |a, b| a.sub(b)),
    ("mul", |a, b| a.mul(b)),
    ("div", |a, b| a.div(b)),
    ("maximum", |a, b| a.maximum(b)),
    ("minimum", |a, b| a.minimum(b)),
    ("eq", |a, b| a.eq_mask(b)),
    ("gt", |a, b| a.gt(b)),
    ("where_positive", |a, b| a.where_positive(b)),
    ("ge", |a, b| a.ge(b)),
    ("lt", |a, b| a.lt(b)),
    ("le", |a, b| a.le(b)),
];

fn binary_inputs(sa: &[usize], sb: &[usize], seed: u64) -> Vec<(Vec<usize>, Vec<f32>)> {
    let a = input(sa, seed, -2.0, 2.0);
    // Positive b keeps div away from 0; rounding to quarters makes some ties for eq/max/min.
    let b = (
        sb.to_vec(),
        values(sb.iter().product(), seed + 1, 0.25, 2.0).into_iter().map(|x| (x * 4.0).round() / 4.0).collect(),
    );
    vec![a, b]
}

#[test]
fn binary_ops_with_broadcasting_match_the_cpu() {
    let dev = gpu_or_skip!();
    let pairs: [(&[usize], &[usize]); 6] = [
        (&[3, 5], &[3, 5]),
        (&[17, 33], &[33]),
        (&[4, 1], &[1, 6]),
        (&[2, 3, 4], &[3, 1]),
        (&[], &[3, 2]),
        (&[1, 1], &[1, 1]),
    ];
    for (name, f) in BINARY {
        for (i, (sa, sb)) in pairs.iter().enumerate() {
            parity(&format!("{name} {sa:?} {sb:?}"), &dev, &binary_inputs(sa, sb, i as u64), ELEM, |x| f(&x[0], &x[1]));
        }
        // Equal values where rounding to quarters hits: masks and tie-splitting gradients.
        let a: Vec<f32> = values(12, 5, 0.25, 2.0).into_iter().map(|x| (x * 4.0).round() / 4.0).collect();
        let b: Vec<f32> = values(12, 6, 0.25, 2.0).into_iter().map(|x| (x * 4.0).round() / 4.0).collect();
        parity(&format!("{name} with ties"), &dev, &[(vec![3, 4], a), (vec![3, 4], b)], ELEM, |x| f(&x[0], &x[1]));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn broadcast_pairs_match_the_cpu((sa, sb) in autodiff::testing::broadcast_pair(3, 5), seed in 0u64..1000) {
        let Some(dev) = gpu() else { return Ok(()) };
        let inputs = binary_inputs(&sa, &sb, seed);
        parity(&format!("mul {sa:?} {sb:?}"), &dev, &inputs, ELEM, |x| x[0].mul(&x[1])?.add(&x[1]));
        parity(&format!("div {sa:?} {sb:?}"), &dev, &inputs, ELEM, |x| x[0].div(&x[1]));
        parity(&format!("maximum {sa:?} {sb:?}"), &dev, &inputs, ELEM, |x| x[0].maximum(&x[1]));
    }
}

#[test]
fn select_matches_the_cpu() {
    let dev = gpu_or_skip!();
    let mask: Vec<f32> = values(15, 3, 0.0, 1.0).into_iter().map(|x| if x > 0.5 { 1.0 } else { 0.0 }).collect();
    let inputs = vec![(vec![3, 5], mask), input(&[3, 5], 4, -2.0, 2.0), input(&[5], 5, -2.0, 2.0)];
    parity("select", &dev, &inputs, ELEM, |x| Tensor::select(&x[0], &x[1], &x[2]));
}

fn sum_tol(n: usize) -> Tol {
    Tol { rtol: 1e-4, atol: 2e-6 * (n as f32).sqrt().max(1.0) }
}

#[test]
fn reductions_match_the_cpu() {
    let dev = gpu_or_skip!();
    reductions(&dev);
    reductions(&gpu_other_tuning(&dev));
}

fn reductions(dev: &Device) {
    let dev = dev.clone();
    let shapes: [&[usize]; 6] = [&[1, 1], &[3, 5], &[17, 33], &[2, 3, 4], &[3, 300], &[65, 63]];
    for (i, shape) in shapes.iter().enumerate() {
        let x = [input(shape, 20 + i as u64, -2.0, 2.0)];
        let n: usize = shape.iter().product();
        let rank = shape.len() as isize;
        parity(&format!("sum_all {shape:?}"), &dev, &x, sum_tol(n), |x| x[0].sum_all());
        parity(&format!("mean_all {shape:?}"), &dev, &x, sum_tol(n), |x| x[0].mean_all());
        for axis in 0..rank {
            parity(&format!("sum axis {axis} {shape:?}"), &dev, &x, sum_tol(n), |x| x[0].sum(&[axis], false));
            parity(&format!("max axis {axis} {shape:?}"), &dev, &x, ELEM, |x| x[0].max(&[axis], true));
            parity(&format!("min axis {axis} {shape:?}"), &dev, &x, ELEM, |x| x[0].min(&[axis], false));
            parity(&format!("logsumexp axis {axis} {shape:?}"), &dev, &x, sum_tol(n), |x| {
                x[0].logsumexp(&[axis], false)
            });
        }
        if rank == 3 {
            parity("sum axes 0,2", &dev, &x, sum_tol(n), |x| x[0].sum(&[0, 2], true));
            parity("max axes 0,1", &dev, &x, ELEM, |x| x[0].max(&[0, 1], false));
            parity("sum of a permuted view", &dev, &x, sum_tol(n), |x| x[0].permute(&[2, 0, 1])?.sum(&[1, 2], false));
        }
    }
    // Reductions of broadcast (stride 0) views.
    parity("sum of a broadcast", &dev, &[input(&[5], 30, -1.0, 1.0)], sum_tol(40), |x| {
        x[0].broadcast_to(&[8, 5])?.sum(&[0], false)
    });
}

fn mm_tol(k: usize) -> Tol {
    Tol { rtol: 1e-4, atol: 1e-5 * (k as f32).sqrt().max(1.0) }
}

#[test]
fn matmuls_match_the_cpu() {
    let dev = gpu_or_skip!();
    matmuls(&dev);
    matmuls(&gpu_other_tuning(&dev));
}

fn matmuls(dev: &Device) {
    let dev = dev.clone();
    // (m, k, n): single elements, not multiples of the 64x64 tile or the 16-deep k step,
    // skinny heads (n <= 4), and long k with few tiles (the split-k path).
    let sizes = [
        (1, 1, 1),
        (3, 5, 7),
        (17, 33, 9),
        (65, 63, 70),
        (64, 64, 2),
        (130, 15, 4),
        (5, 600, 7),
        (3, 1000, 2),
        (1, 70, 65),
        // k and n multiples of 4: the vec4 tile loads (with split-k in the second).
        (65, 64, 68),
        (5, 640, 8),
        (3, 20, 12),
    ];
    for (i, &(m, k, n)) in sizes.iter().enumerate() {
        let inputs = vec![input(&[m, k], 40 + i as u64, -1.0, 1.0), input(&[k, n], 60 + i as u64, -1.0, 1.0)];
        parity(&format!("matmul {m}x{k} @ {k}x{n}"), &dev, &inputs, mm_tol(k), |x| x[0].matmul(&x[1]));
        // Transposed operands are read through their strides.
        let inputs_t = vec![input(&[k, m], 80 + i as u64, -1.0, 1.0), input(&[n, k], 90 + i as u64, -1.0, 1.0)];
        parity(&format!("matmul {m}x{k}^T @ {k}x{n}^T"), &dev, &inputs_t, mm_tol(k), |x| x[0].t()?.matmul(&x[1].t()?));
    }
    // Batched, with a broadcast (stride 0) batch axis on either side.
    let batched: [(&[usize], &[usize]); 5] = [
        (&[3, 17, 33], &[3, 33, 5]),
        (&[2, 1, 5, 7], &[3, 7, 6]),
        (&[4, 9, 8], &[8, 3]),
        (&[2, 6], &[3, 6, 66]),
        (&[2, 1, 9, 8], &[3, 8, 12]),
    ];
    for (i, (sa, sb)) in batched.iter().enumerate() {
        let k = sa[sa.len() - 1];
        let inputs = vec![input(sa, 100 + i as u64, -1.0, 1.0), input(sb, 110 + i as u64, -1.0, 1.0)];
        parity(&format!("matmul {sa:?} @ {sb:?}"), &dev, &inputs, mm_tol(k), |x| x[0].matmul(&x[1]));
    }
    // Offset views: 16-byte aligned (vec4 loads) and not (scalar loads).
    let inputs = vec![input(&[6, 24], 122, -1.0, 1.0), input(&[24, 20], 123, -1.0, 1.0)];
    parity("matmul of aligned narrow views", &dev, &inputs, mm_tol(16), |x| {
        x[0].narrow(1, 4, 16)?.matmul(&x[1].narrow(0, 8, 16)?.narrow(1, 4, 12)?)
    });
    parity("matmul of unaligned narrow views", &dev, &inputs, mm_tol(16), |x| {
        x[0].narrow(1, 1, 16)?.matmul(&x[1].narrow(0, 3, 16)?.narrow(1, 1, 12)?)
    });
    // A batched transpose: [b, k, m]^T with batch strides.
    let inputs = vec![input(&[3, 20, 10], 120, -1.0, 1.0), input(&[3, 20, 6], 121, -1.0, 1.0)];
    parity("batched A^T B", &dev, &inputs, mm_tol(20), |x| x[0].transpose(1, 2)?.matmul(&x[1]));
}

/// The fused dense layer (`Tensor::dense`), which the wgpu backend runs as its default
/// composition of product and element-wise kernels: every activation function, with and
/// without an affine after it, on a plain layer and on an ensemble layer (batched weights).
#[test]
fn dense_layers_match_the_cpu() {
    use autodiff::{ActivationFn, DenseActivation};
    let dev = gpu_or_skip!();
    let fns = [
        ActivationFn::Identity,
        ActivationFn::Relu,
        ActivationFn::LeakyRelu(0.1),
        ActivationFn::LeakyRelu(-0.5),
        ActivationFn::Tanh,
        ActivationFn::Sigmoid,
        ActivationFn::Silu,
        ActivationFn::Softplus,
    ];
    let shapes: [(&[usize], &[usize], &[usize]); 2] = [(&[17, 9], &[9, 6], &[6]), (&[7, 5], &[3, 5, 4], &[3, 1, 4])];
    for (i, f) in fns.into_iter().enumerate() {
        for act in [DenseActivation::new(f), DenseActivation::with_affine(f, 3.0, 3.0)] {
            for (j, (sx, sw, sb)) in shapes.iter().enumerate() {
                let seed = 200 + 10 * i as u64 + j as u64;
                let inputs =
                    vec![input(sx, seed, -1.0, 1.0), input(sw, seed + 1, -1.0, 1.0), input(sb, seed + 2, -0.5, 0.5)];
                let what = format!("dense {act:?} x {sx:?} W {sw:?}");
                parity(&what, &dev, &inputs, mm_tol(sx[1]), |x| x[0].dense(&x[1], Some(&x[2]), act));
            }
        }
    }
}

#[test]
fn shape_ops_match_the_cpu() {
    let dev = gpu_or_skip!();
    let inputs = vec![input(&[3, 4], 130, -1.0, 1.0), input(&[3, 2], 131, -1.0, 1.0), input(&[4, 3], 132, -1.0, 1.0)];
    parity("concat axis 1", &dev, &inputs, ELEM, |x| Tensor::concat(&[&x[0], &x[1], &x[2].t()?], 1));
    parity("concat axis 0", &dev, &inputs, ELEM, |x| Tensor::concat(&[&x[0], &x[2].t()?, &x[0]], 0));
    parity("stack", &dev, &inputs, ELEM, |x| Tensor::stack(&[&x[0], &x[2].t()?], 1));
    parity("narrow", &dev, &inputs, ELEM, |x| x[0].narrow(1, 1, 2)?.mul_scalar(3.0));
    parity("contiguous permute", &dev, &[input(&[2, 3, 4], 133, -1.0, 1.0)], ELEM, |x| {
        x[0].permute(&[2, 0, 1])?.contiguous()?.reshape(&[4, 6])
    });
    parity("reshape of a transpose", &dev, &inputs, ELEM, |x| x[2].t()?.reshape(&[12]));
    let x = [input(&[5, 3], 134, -1.0, 1.0)];
    parity("index_select rows with repeats", &dev, &x, ELEM, |x| x[0].index_select(0, &[4, 0, 4, 2, 4]));
    parity("index_select cols", &dev, &x, ELEM, |x| x[0].index_select(1, &[2, 2, 0]));
    parity("index_select of a transpose", &dev, &x, ELEM, |x| x[0].t()?.index_select(1, &[1, 3, 1]));
    parity("index_select nothing", &dev, &x, ELEM, |x| x[0].index_select(0, &[]));
    parity("index_select 3-D middle axis", &dev, &[input(&[2, 4, 3], 135, -1.0, 1.0)], ELEM, |x| {
        x[0].index_select(1, &[3, 3, 0, 1, 3])
    });
}

type Draw = dyn Fn(&mut Rng, &Device) -> Result<Tensor>;

#[test]
fn random_draws_equal_the_cpu() {
    let dev = gpu_or_skip!();
    // Counters just below 2^32 check the carry into the counter's high word.
    for (seed, counter) in [(0u64, 0u64), (42, 7), (0xDEAD_BEEF_0123_4567, u32::MAX as u64 - 100)] {
        let draw = |d: &Device, f: &Draw| {
            let mut rng = Rng::new(seed);
            rng.set_counter(counter);
            host(&f(&mut rng, d).expect("draw"))
        };
        let cases: [(&str, &Draw); 4] = [
            ("uniform", &|r, d| r.uniform(-2.0, 3.0, &[1000], DType::F32, d)),
            ("normal", &|r, d| r.normal(&[1000], DType::F32, d)),
            ("scaled normal", &|r, d| {
                r.sample(autodiff::Distribution::Normal { mean: 1.5, std: 0.5 }, &[7, 9], DType::F32, d)
            }),
            ("rademacher", &|r, d| r.rademacher(&[1000], DType::F32, d)),
        ];
        for (name, f) in cases {
            assert_close(
                &format!("{name} seed {seed} counter {counter}"),
                &draw(&cpu(), f),
                &draw(&dev, f),
                Tol { rtol: 1e-5, atol: 1e-5 },
            );
        }
    }
}

#[test]
fn f64_is_refused_with_a_dtype_error() {
    let dev = gpu_or_skip!();
    let e = Tensor::zeros(&[2], DType::F64, &dev).err();
    assert!(matches!(e, Some(Error::DType { .. })), "{e:?}");
    let e = Tensor::from_vec(vec![1.0f64], &[1], &dev).err();
    assert!(matches!(e, Some(Error::DType { .. })), "{e:?}");
    let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2], &dev).expect("upload");
    assert!(x.to_dtype(DType::F64).is_err());
}

#[test]
fn unknown_adapter_is_an_error_not_a_panic() {
    let Some(_) = gpu() else { return };
    let opts = backend_wgpu::DeviceOptions::default().adapter("no such adapter 1234");
    let e = backend_wgpu::device_with(&opts).expect_err("no adapter should match");
    assert!(e.to_string().contains("no such adapter 1234"), "{e}");
    assert!(backend_wgpu::GpuApi::parse("cuda").is_err());
}

#[test]
fn a_tensor_over_the_binding_limit_is_an_error_naming_it() {
    let Some(_) = gpu() else { return };
    let opts = backend_wgpu::DeviceOptions {
        max_storage_binding_bytes: Some(1024),
        ..backend_wgpu::DeviceOptions::from_env().expect("options")
    };
    let dev = backend_wgpu::device_with(&opts).expect("device");
    assert!(Tensor::zeros(&[256], DType::F32, &dev).is_ok());
    let e = Tensor::zeros(&[257], DType::F32, &dev).expect_err("over the limit");
    assert!(e.to_string().contains("max_storage_buffer_binding_size"), "{e}");
    let x = Tensor::ones(&[16, 4], DType::F32, &dev).expect("fits");
    let e = x.matmul(&Tensor::ones(&[4, 17], DType::F32, &dev).expect("fits")).expect_err("output over the limit");
    assert!(e.to_string().contains("1024"), "{e}");
}

#[test]
fn long_chains_without_readback_match_the_cpu() {
    // Hundreds of dispatches across several submissions, with buffers recycled by the pool
    // while earlier commands that read them are still queued.
    let dev = gpu_or_skip!();
    let run = |d: &Device| {
        let mut x = Tensor::from_vec(values(300, 7, -1.0, 1.0), &[10, 30], d).expect("upload");
        for i in 0..300 {
            x = x.mul_scalar(0.99).expect("mul").add_scalar(0.01 * (i % 7) as f64).expect("add");
            if i % 50 == 0 {
                x = x.t().expect("t").contiguous().expect("copy").t().expect("t");
            }
        }
        host(&x)
    };
    assert_close("chain", &run(&cpu()), &run(&dev), ELEM);
}

/// Copies a gradient into its own buffer when it is a view into a larger one, so the fused
/// optimizer kernels see a contiguous storage of exactly the parameter's length.
fn dense(g: &Tensor) -> Result<Tensor> {
    if g.layout().is_contiguous() && g.layout().offset() == 0 && g.storage().len() == g.numel() {
        Ok(g.clone())
    } else {
        g.affine(1.0, 0.0)
    }
}

#[test]
fn optimizer_kernels_match_the_cpu() {
    let dev = gpu_or_skip!();
    let run = |d: &Device| -> Vec<Vec<f32>> {
        let p = Tensor::from_vec(values(37, 1, -1.0, 1.0), &[37], d).expect("p");
        let g = Tensor::from_vec(values(37, 2, -1.0, 1.0), &[37], d).expect("g");
        let (mut ps, mut m, mut v) = (
            p.storage().clone(),
            d.backend().full(0.0, 37, DType::F32).expect("m"),
            d.backend().full(0.0, 37, DType::F32).expect("v"),
        );
        let shared = ps.clone(); // the update must not write through this second handle
        for step in 1..=3 {
            let hp = AdamParams { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.1, step };
            d.backend().adam_step(&mut ps, g.storage(), &mut m, &mut v, &hp).expect("adam");
        }
        let mut vel = d.backend().full(0.0, 37, DType::F32).expect("vel");
        let mut qs = p.storage().clone();
        let mut rs = p.storage().clone();
        for _ in 0..3 {
            d.backend().sgd_step(&mut qs, g.storage(), Some(&mut vel), 0.05, 0.9, 0.01).expect("sgd");
            d.backend().sgd_step(&mut rs, g.storage(), None, 0.05, 0.0, 0.01).expect("sgd");
        }
        let l = Layout::contiguous(&[37]);
        [&ps, &m, &v, &shared, &qs, &vel, &rs]
            .iter()
            .map(|s| d.backend().to_host(s, &l).expect("read").into_f32())
            .collect()
    };
    let (c, g) = (run(&cpu()), run(&dev));
    for (i, (c, g)) in c.iter().zip(&g).enumerate() {
        assert_close(&format!("optimizer buffer {i}"), c, g, Tol { rtol: 1e-5, atol: 1e-6 });
    }
    assert_eq!(g[3], values(37, 1, -1.0, 1.0), "adam_step wrote through a shared buffer");
}

/// A 15 -> 16 -> 16 -> 2 MLP trained with raw autodiff ops and fused Adam, identical code on
/// both devices.
fn train_mlp(d: &Device, steps: usize) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(5);
    let dims = [15, 16, 16, 2];
    let mut params = Vec::new();
    for w in dims.windows(2) {
        let scale = 1.0 / (w[0] as f64).sqrt();
        let weight = rng.uniform(-scale, scale, &[w[0], w[1]], DType::F32, d).expect("init");
        params.push(Var::new(&weight).expect("var"));
        params.push(Var::new(&Tensor::zeros(&[w[1]], DType::F32, d).expect("zeros")).expect("var"));
    }
    let mut moments: Vec<_> = params
        .iter()
        .map(|p| {
            let n = p.tensor().numel();
            (d.backend().full(0.0, n, DType::F32).expect("m"), d.backend().full(0.0, n, DType::F32).expect("v"))
        })
        .collect();
    let x = rng.normal(&[32, 15], DType::F32, d).expect("x");
    let y = x.narrow(1, 0, 2).expect("y").tanh().expect("y");
    for step in 1..=steps as u64 {
        let mut h = x.clone();
        for (layer, pair) in params.chunks(2).enumerate() {
            h = h.matmul(&pair[0].tensor()).and_then(|z| z.add(&pair[1].tensor())).expect("layer");
            if layer < 2 {
                h = h.tanh().expect("tanh");
            }
        }
        let loss = h.sub(&y).and_then(|e| e.square()).and_then(|e| e.mean_all()).expect("loss");
        let grads = loss.backward().expect("backward");
        let hp = AdamParams { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, step };
        for (p, (m, v)) in params.iter().zip(moments.iter_mut()) {
            let g = dense(grads.get(&p.tensor()).expect("gradient")).expect("dense");
            p.update_storage(|s| d.backend().adam_step(s, g.storage(), m, v, &hp)).expect("adam");
        }
    }
    params.iter().map(|p| host(&p.tensor())).collect()
}

#[test]
fn mlp_training_matches_the_cpu() {
    let dev = gpu_or_skip!();
    let (c, g) = (train_mlp(&cpu(), 5), train_mlp(&dev, 5));
    for (i, (c, g)) in c.iter().zip(&g).enumerate() {
        assert_close(&format!("parameter {i} after 5 Adam steps"), c, g, Tol { rtol: 1e-3, atol: 1e-4 });
    }
}
