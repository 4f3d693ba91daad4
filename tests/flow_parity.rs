//! A flow on the CPU and on wgpu: the same description and parameters give the same ln p(x),
//! the same gradients of the summed ln p and the same samples, within f32 tolerances: an element
//! passes within 1e-3 of the largest magnitude of its tensor plus 1e-4 (a flow chains a few
//! hundred ops, each a few ulp apart on the GPU, and a weight's gradient sums 64 rows' terms of
//! both signs, so its small elements carry the rounding of the large ones). Each coupling, plain
//! and as a Bayesian INN in a weight draw, between permutations and between rotations, is
//! compared. Without an adapter the test skips through `autodiff::skip` (said, and counted), unless SIGMAGRAD_REQUIRE_WGPU=1.

use sigmagrad::nn::{flow_spec, Activation, Coupling, Flow, FlowConfig, Mixing, Mode, Module, VariationalConfig};
use sigmagrad::{no_grad, DType, Device, Rng};

fn flow_on(dev: &Device, coupling: Coupling, bayesian: bool, mixing: Mixing) -> Flow {
    let variational = bayesian.then(|| VariationalConfig { logsig2_init: -4.0, ..VariationalConfig::default() });
    let config = FlowConfig { blocks: 3, coupling, permutation_seed: 3, variational, mixing };
    let flow = Flow::new(&flow_spec(4, &[16, 16], Activation::Tanh, config), DType::F32, dev, 1).unwrap();
    // Counter-based draws: the same values on every backend.
    let mut rng = Rng::new(17);
    for p in flow.params().iter().filter(|p| !p.name.ends_with("logsig2")) {
        let t = p.var.tensor();
        p.var.set(&rng.normal(t.shape(), DType::F32, dev).unwrap().mul_scalar(0.4).unwrap()).unwrap();
    }
    flow.set_mode(Mode::Eval { draw: 2 });
    flow
}

fn assert_close(what: &str, cpu: &[f64], gpu: &[f64]) {
    assert_eq!(cpu.len(), gpu.len(), "{what}: lengths differ");
    let scale = cpu.iter().fold(0.0f64, |m, c| m.max(c.abs()));
    for (i, (c, g)) in cpu.iter().zip(gpu).enumerate() {
        assert!(
            (c - g).abs() <= 1e-4 + 1e-3 * scale,
            "{what}: element {i}: cpu {c} vs wgpu {g} (largest |cpu| {scale})"
        );
    }
}

#[test]
fn flows_agree_on_cpu_and_wgpu() {
    let Some(gpu) = sigmagrad::wgpu_or_skip() else { return };
    let cpu = sigmagrad::cpu();
    let couplings = [Coupling::Affine { clamp: 2.0 }, Coupling::Spline { bins: 6, bound: 3.0 }];
    let mixings = [Mixing::Permutation, Mixing::Rotation];
    let cases = couplings.iter().flat_map(|c| mixings.iter().flat_map(move |m| [(*c, false, *m), (*c, true, *m)]));
    for (coupling, bayesian, mixing) in cases {
        let what = format!("{coupling:?}, {mixing:?}, bayesian {bayesian}");
        let (fc, fg) = (flow_on(&cpu, coupling, bayesian, mixing), flow_on(&gpu, coupling, bayesian, mixing));
        let x = |dev: &Device| Rng::new(5).normal(&[64, 4], DType::F32, dev).unwrap().mul_scalar(2.0).unwrap();
        let (lc, lg) = (fc.log_p(&x(&cpu)).unwrap(), fg.log_p(&x(&gpu)).unwrap());
        assert_close(&format!("{what}: ln p"), &lc.to_vec_f64().unwrap(), &lg.to_vec_f64().unwrap());
        let (gc, gg) = (lc.sum_all().unwrap().backward().unwrap(), lg.sum_all().unwrap().backward().unwrap());
        for (pc, pg) in fc.params().iter().zip(fg.params()) {
            let grad =
                |g: &sigmagrad::Gradients, p: &sigmagrad::Var| g.get(&p.tensor()).map(|t| t.to_vec_f64().unwrap());
            let (a, b) = (grad(&gc, &pc.var), grad(&gg, &pg.var));
            assert_eq!(a.is_some(), b.is_some(), "{what}: {} has a gradient on one device only", pc.name);
            if let (Some(a), Some(b)) = (a, b) {
                assert_close(&format!("{what}: d ln p / d {}", pc.name), &a, &b);
            }
        }
        let z = |dev: &Device| Rng::new(6).normal(&[64, 4], DType::F32, dev).unwrap();
        let sample =
            |f: &Flow, dev: &Device| -> Vec<f64> { no_grad(|| f.from_latent(&z(dev))).unwrap().to_vec_f64().unwrap() };
        assert_close(&format!("{what}: samples"), &sample(&fc, &cpu), &sample(&fg, &gpu));
    }
}
