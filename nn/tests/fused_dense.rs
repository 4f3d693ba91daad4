//! The fused dense op `Tensor::dense` (act(x W + b) in one op) against the composition it
//! replaces, `act.apply(x.matmul_add(W, b))`, for every `nn::Activation`:
//! - its gradients agree with central finite differences in f64;
//! - its values and gradients are the same bits as the composition's, in f32 and f64, so the
//!   studies train exactly as before (the CPU backend runs the same element functions and the
//!   same derivative formulas, operation for operation);
//! - the layers that use it (deterministic, ensemble, variational in all modes) give the same
//!   bits through a whole network as the written-out layers do.

use autodiff::check::{check_grads, CheckOptions};
use autodiff::{DType, Device, Result, Tensor};
use nn::mlp::MlpSpec;
use nn::{Activation, Head, Init, ModelSpec, Module, VariationalConfig};

fn cpu() -> Device {
    backend_cpu::device()
}

/// Every activation, with parameters that reach each path of the op: leaky relu with a
/// negative slope keeps the pre-activation, the scaled ones keep f(z) beside the output.
fn all_activations() -> Vec<Activation> {
    vec![
        Activation::Identity,
        Activation::Relu,
        Activation::LeakyRelu(0.1),
        Activation::LeakyRelu(-0.5),
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Silu,
        Activation::ScaledSwish(2.0),
        Activation::Softplus,
        Activation::TanhPlusOne(3.0),
    ]
}

/// Values in [-2, 2) with |v| >= 0.05, so no pre-activation sits on relu's kink within a
/// finite-difference step (the products below have few terms and small weights).
fn values(n: usize, seed: u64) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let u = ((i as u64 * 2654435761 + seed * 40503) % 1000) as f64 / 1000.0;
            let v = 4.0 * u - 2.0;
            if v.abs() < 0.05 {
                0.3
            } else {
                v
            }
        })
        .collect()
}

fn tensor(shape: &[usize], seed: u64, dtype: DType) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_f64s(&values(n, seed), shape, dtype, &cpu()).expect("tensor").requires_grad()
}

/// (x, W, bias) shapes: a plain layer, a stack of rows folded into one product, an ensemble
/// layer whose members share the batch.
const SHAPES: [(&[usize], &[usize], &[usize]); 3] =
    [(&[5, 4], &[4, 3], &[3]), (&[2, 3, 4], &[4, 3], &[3]), (&[5, 4], &[3, 4, 2], &[3, 1, 2])];

#[test]
fn fused_gradients_match_finite_differences_for_every_activation() {
    for act in all_activations() {
        for (sx, sw, sb) in SHAPES {
            let inputs = [tensor(sx, 1, DType::F64), tensor(sw, 2, DType::F64), tensor(sb, 3, DType::F64)];
            // Small weights keep the pre-activations away from relu's kink relative to eps.
            let f = |t: &[Tensor]| t[0].dense(&t[1].mul_scalar(0.3)?, Some(&t[2]), act.dense());
            let report = check_grads(f, &inputs, &CheckOptions::default()).expect("check");
            assert!(report.passed(), "{act:?}, x {sx:?} W {sw:?}: {report}");
        }
    }
}

/// Forward values and the gradients of <y, c> of both forms, as raw f64 bits.
fn value_and_grads(
    dtype: DType,
    shapes: (&[usize], &[usize], &[usize]),
    form: impl Fn(&[Tensor]) -> Result<Tensor>,
) -> Vec<Vec<u64>> {
    let inputs = [tensor(shapes.0, 11, dtype), tensor(shapes.1, 12, dtype), tensor(shapes.2, 13, dtype)];
    let y = form(&inputs).expect("forward");
    let c = Tensor::from_f64s(&values(y.numel(), 14), y.shape(), dtype, &cpu()).expect("cotangent");
    let grads = y.mul(&c).and_then(|p| p.sum_all()).and_then(|l| l.backward()).expect("backward");
    let bits = |t: &Tensor| t.to_vec_f64().expect("read").iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let mut out = vec![bits(&y)];
    out.extend(inputs.iter().map(|t| bits(grads.get(t).expect("a gradient"))));
    out
}

#[test]
fn fused_values_and_gradients_are_the_bits_of_the_composition() {
    for act in all_activations() {
        for dtype in [DType::F32, DType::F64] {
            for shapes in SHAPES {
                let fused = value_and_grads(dtype, shapes, |t| t[0].dense(&t[1], Some(&t[2]), act.dense()));
                let composed = value_and_grads(dtype, shapes, |t| act.apply(&t[0].matmul_add(&t[1], &t[2])?));
                assert_eq!(fused, composed, "{act:?} {dtype:?} x {:?} W {:?}", shapes.0, shapes.1);
            }
        }
    }
}

#[test]
fn a_dense_op_without_bias_matches_matmul() {
    let (x, w) = (tensor(&[6, 5], 21, DType::F64), tensor(&[5, 4], 22, DType::F64));
    let fused = x.dense(&w, None, Activation::Tanh.dense()).expect("dense");
    let composed = x.matmul(&w).and_then(|z| z.tanh()).expect("composed");
    assert_eq!(fused.to_vec_f64().expect("read"), composed.to_vec_f64().expect("read"));
}

/// The written-out network: each layer's product, then the activation as separate ops.
fn unfused_forward(model: &dyn Module, x: &Tensor, mlp: &MlpSpec) -> Result<Tensor> {
    let params = model.params();
    let layers = params.len() / 2;
    let mut h = x.clone();
    for i in 0..layers {
        h = h.matmul_add(&params[2 * i].var.tensor(), &params[2 * i + 1].var.tensor())?;
        h = if i + 1 < layers { mlp.activation.apply(&h)? } else { mlp.output_activation.apply(&h)? };
    }
    Ok(h)
}

#[test]
fn networks_built_on_the_fused_op_give_the_bits_of_the_written_out_layers() {
    let dev = cpu();
    let x = Tensor::from_f64s(&values(8 * 3, 31), &[8, 3], DType::F32, &dev).expect("x");
    for act in [Activation::Relu, Activation::Tanh, Activation::TanhPlusOne(3.0)] {
        let mlp = MlpSpec::new(3, &[6, 5], 2).activation(act).output_activation(Activation::ScaledSwish(2.0));
        for spec in
            [ModelSpec::deterministic(mlp.clone(), Head::Gaussian), ModelSpec::ensemble(mlp.clone(), 3, Head::Gaussian)]
        {
            let model = spec.build(DType::F32, &dev, 7).expect("model");
            let fused = model.forward(&x).expect("forward").to_vec_f64().expect("read");
            let composed = unfused_forward(model.as_ref(), &x, &mlp).expect("composed").to_vec_f64().expect("read");
            assert_eq!(fused, composed, "{act:?}, {:?}", spec.kind);
        }
    }
}

/// The BNN's training forward (local reparameterization, the activation inside its op) against
/// the same network with an identity activation inside and the activation applied after: the
/// noise is drawn from the same stream position, so the values and gradients agree exactly.
#[test]
fn the_variational_layer_fuses_its_activation_without_changing_a_bit() {
    let dev = cpu();
    let x = Tensor::from_f64s(&values(8 * 3, 41), &[8, 3], DType::F32, &dev).expect("x");
    for act in [Activation::Relu, Activation::Tanh, Activation::Silu, Activation::TanhPlusOne(3.0)] {
        let mlp = MlpSpec::new(3, &[6], 2).activation(act).init(Init::NormalFanIn);
        let spec = ModelSpec::variational(mlp, VariationalConfig::default(), Head::Gaussian);
        let run = |fused: bool| -> Vec<Vec<u64>> {
            let model = nn::variational::VariationalMlp::new(&spec, DType::F32, &dev, 3).expect("model");
            let out = if fused {
                model.forward(&x).expect("forward")
            } else {
                let h = act.apply(&model.layers[0].forward(&x).expect("layer 0")).expect("act");
                model.layers[1].forward(&h).expect("layer 1")
            };
            let loss = out.square().and_then(|s| s.sum_all()).expect("loss");
            let grads = loss.backward().expect("backward");
            let bits = |t: &Tensor| t.to_vec_f64().expect("read").iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            let mut v = vec![bits(&out)];
            v.extend(model.params().iter().map(|p| bits(grads.get(&p.var.tensor()).expect("grad"))));
            v
        };
        assert_eq!(run(true), run(false), "{act:?}");
    }
}
