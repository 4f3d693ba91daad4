//! Adam's step counter at the edges of the integer types. The bias corrections 1 − βᵗ once took
//! the u64 step through `as i32`: at 2³¹ steps the exponent turned negative, βᵗ infinite, and one
//! update made every weight NaN. A genuine run that long would have hit it, and so did a resumed
//! checkpoint with a damaged step count.

use sigmagrad::{cpu, AdamParams, DType, Device, StateBuffer, Tensor, Var};

/// One Adam update from zero moments, in f64 arithmetic: what every backend must give.
fn expected(p: f64, g: f64, hp: &AdamParams) -> f64 {
    let t = hp.step.max(1) as f64;
    let (bc1, bc2) = (1.0 - hp.beta1.powf(t), (1.0 - hp.beta2.powf(t)).sqrt());
    let (m, v) = ((1.0 - hp.beta1) * g, (1.0 - hp.beta2) * g * g);
    p * (1.0 - hp.lr * hp.weight_decay) - hp.lr / bc1 * m / (v.sqrt() / bc2 + hp.eps)
}

fn one_step(dev: &Device, dtype: DType, step: u64) -> (Vec<f64>, Vec<f64>) {
    let hp = AdamParams { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, step };
    let (p0, g0) = (vec![1.0f64, -2.0, 0.5], vec![0.5f64, -0.25, 1e-3]);
    // Made in f64 on the CPU, then cast and moved: wgpu holds f32 only.
    let on_dev = |x: &[f64]| Tensor::from_vec(x.to_vec(), &[3], &cpu())?.to_dtype(dtype)?.to_device(dev);
    let p = Var::new(&on_dev(&p0).unwrap()).unwrap();
    let g = on_dev(&g0).unwrap();
    let (mut m, mut v) = (StateBuffer::default(), StateBuffer::default());
    p.adam_step(&g, &mut m, &mut v, &hp).unwrap();
    let got = p.tensor().to_device(&cpu()).unwrap().to_dtype(DType::F64).unwrap().to_vec::<f64>().unwrap();
    let want = p0.iter().zip(&g0).map(|(&p, &g)| expected(p, g, &hp)).collect();
    (got, want)
}

const STEPS: [u64; 6] = [1, 10, (1 << 31) - 1, 1 << 31, 1 << 32, u64::MAX];

fn check(dev: &Device, dtype: DType, rel: f64) {
    for step in STEPS {
        let (got, want) = one_step(dev, dtype, step);
        for (g, w) in got.iter().zip(&want) {
            assert!(g.is_finite(), "{dtype:?} on {}: step {step} gave {got:?}", dev.name());
            assert!((g - w).abs() <= rel * w.abs(), "{dtype:?} on {}: step {step}: {got:?}, want {want:?}", dev.name());
        }
    }
}

#[test]
fn adam_updates_stay_finite_and_right_at_2_31_and_2_32_steps_on_the_cpu() {
    check(&cpu(), DType::F64, 1e-12);
    check(&cpu(), DType::F32, 1e-6);
}

#[test]
fn adam_updates_stay_finite_and_right_at_2_31_and_2_32_steps_on_wgpu() {
    let Some(gpu) = sigmagrad::wgpu_or_skip() else { return };
    check(&gpu, DType::F32, 1e-5);
}
