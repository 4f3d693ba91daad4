//! Training does not depend on the number of threads: the CPU kernels split their work so that
//! every output element is computed by the same operations in the same order on one thread or
//! on many (products by blocks of rows, reductions by the axes they keep, element-wise maps by
//! pieces). A seed therefore gives the same network on a laptop and on a 16-core machine, and
//! the study apps may run several trainings side by side, each on a share of the cores
//! (`rundir::parallel`), without changing a number.
//!
//! The shapes are large enough to take the parallel paths: a batch of 1024 rows of 64 is above
//! the element-wise split (2^15 elements) and its products above the product split (2^20 flops).

use autodiff::{DType, Rng};
use nn::mlp::MlpSpec;
use nn::optim::{Adam, Optimizer};
use nn::{
    Activation, Batch, Head, Init, Likelihood, ModelSpec, Objective, Param, Regulariser, RepulsionSpace,
    VariationalConfig,
};

/// Three Adam steps of `spec` on a fixed batch of 1024, on a rayon pool of `threads`; the
/// parameters afterwards, as bits.
fn train_on(threads: usize, spec: &ModelSpec, regulariser: &Regulariser) -> Vec<Vec<u32>> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool");
    pool.install(|| {
        let dev = backend_cpu::device();
        let model = spec.build(DType::F32, &dev, 7).unwrap();
        let objective = Objective::new(Likelihood::Gaussian, *regulariser);
        let mut rng = Rng::new(3);
        let x = rng.normal(&[1024, 15], DType::F32, &dev).unwrap();
        let y = rng.normal(&[1024], DType::F32, &dev).unwrap();
        let mut opt = Adam::new(model.params(), 1e-2);
        for _ in 0..3 {
            let batch = Batch { x: x.clone(), y: y.clone(), w: None };
            let grads = objective.loss(model.as_ref(), &batch, 100_000).unwrap().backward().unwrap();
            opt.step(&grads).unwrap();
        }
        let bits = |p: &Param| p.var.tensor().to_vec::<f32>().unwrap().iter().map(|v| v.to_bits()).collect();
        model.params().iter().map(bits).collect()
    })
}

fn assert_same_on_1_2_and_3_threads(what: &str, spec: ModelSpec, regulariser: Regulariser) {
    let one = train_on(1, &spec, &regulariser);
    assert!(one.iter().flatten().any(|&b| b != 0), "{what}: the parameters are not all zero");
    for threads in [2, 3] {
        assert!(train_on(threads, &spec, &regulariser) == one, "{what}: {threads} threads give other bits than one");
    }
}

fn mlp() -> MlpSpec {
    MlpSpec::new(15, &[64, 64, 64], 2).activation(Activation::Tanh)
}

#[test]
fn training_is_bit_identical_on_any_number_of_threads() {
    assert_same_on_1_2_and_3_threads("MLP", ModelSpec::deterministic(mlp(), Head::Gaussian), Regulariser::None);
    assert_same_on_1_2_and_3_threads(
        "BNN",
        ModelSpec::variational(mlp().init(Init::NormalFanIn), VariationalConfig::default(), Head::Gaussian),
        Regulariser::Kl,
    );
    assert_same_on_1_2_and_3_threads(
        "ensemble",
        ModelSpec::ensemble(mlp(), 4, Head::Gaussian),
        Regulariser::Repulsion { beta: 1.0, space: RepulsionSpace::Predictions, prior_sigma: None },
    );
}
