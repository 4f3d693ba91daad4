//! The models whose checkpoints are damaged, and the real checkpoints they are saved to.

use super::*;

/// The real checkpoints the damage starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fx {
    /// A deterministic MLP after two epochs of the trainer: Adam state, trainer state, a
    /// standardizer with log and cube-root transforms and target scaling (`last.h5`).
    MlpLast,
    /// The same run's `best.h5`: no optimizer group.
    MlpBest,
    /// A trained MLP saved with an Adam that has not stepped: an empty `/optimizer` group (the
    /// file of an ordinary resume before the first step, where the old loader aborted), and a
    /// `meta` attribute of over 100 KiB (a training log), kept in dense attribute storage.
    MlpFreshOpt,
    /// A variational network (BNN) with Adam state and its random streams, no standardizer.
    Bnn,
    /// A 4-member ensemble in f64 with a standardizer and no optimizer state.
    Ensemble,
}

pub const FIXTURES: [Fx; 5] = [Fx::MlpLast, Fx::MlpBest, Fx::MlpFreshOpt, Fx::Bnn, Fx::Ensemble];

impl Fx {
    pub fn name(self) -> &'static str {
        match self {
            Fx::MlpLast => "mlp-last",
            Fx::MlpBest => "mlp-best",
            Fx::MlpFreshOpt => "mlp-fresh-opt",
            Fx::Bnn => "bnn",
            Fx::Ensemble => "ensemble",
        }
    }

    pub fn parse(s: &str) -> Fx {
        *FIXTURES.iter().find(|f| f.name() == s).unwrap_or_else(|| panic!("unknown fixture {s}"))
    }

    pub fn spec(self) -> ModelSpec {
        let mlp = MlpSpec::new(3, &[8, 8], 2).activation(Activation::Tanh);
        match self {
            Fx::MlpLast | Fx::MlpBest | Fx::MlpFreshOpt => ModelSpec::deterministic(mlp, Head::Gaussian),
            Fx::Bnn => ModelSpec::variational(
                MlpSpec::new(3, &[6], 2).activation(Activation::Tanh).init(Init::NormalFanIn),
                VariationalConfig::default(),
                Head::Gaussian,
            ),
            Fx::Ensemble => {
                ModelSpec::ensemble(MlpSpec::new(3, &[5], 2).activation(Activation::Tanh), 4, Head::Gaussian)
            }
        }
    }

    pub fn dtype(self) -> DType {
        if self == Fx::Ensemble {
            DType::F64
        } else {
            DType::F32
        }
    }

    pub fn path(self) -> PathBuf {
        root().join("fixtures").join(format!("{}.h5", self.name()))
    }

    /// How a damaged copy is loaded first: the way its owner would.
    pub fn primary(self) -> LoadMode {
        match self {
            Fx::MlpLast | Fx::Bnn => LoadMode::SteppedOpt,
            Fx::MlpFreshOpt => LoadMode::FreshOpt,
            Fx::MlpBest | Fx::Ensemble => LoadMode::NoOpt,
        }
    }
}

pub fn toy(n: usize, seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let x = rng.uniform(0.1, 2.0, &[n, 3], DType::F64, &dev()).unwrap().to_vec_f64().unwrap();
    let y = x.chunks(3).map(|r| r[0] * r[1] - 0.3 * r[2]).collect();
    Dataset::new(x, 3, y, 1).unwrap()
}

pub fn gaussian() -> Objective {
    Objective::new(Likelihood::Gaussian, Regulariser::None)
}

/// Takes `n` Adam steps on a fixed batch (used to give a model and optimizer a state of their
/// own that a failed load must leave alone, and to train the fixtures).
pub fn step(model: &dyn Module, opt: &mut dyn Optimizer, n: usize, seed: u64) {
    let data = toy(16, seed);
    let batch = data.to_batch(model.params()[0].var.tensor().dtype(), &dev()).unwrap();
    for _ in 0..n {
        let grads = gaussian().loss(model, &batch, 16).unwrap().backward().unwrap();
        opt.step(&grads).unwrap();
    }
}

pub fn make_fixtures() {
    let dir = root().join("fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    // The MLP: two epochs of the trainer, which writes last.h5 and best.h5.
    let run = dir.join("run");
    let data = toy(96, 1);
    let std = Standardizer::fit(&data, &[Transform::Log, Transform::CubeRoot, Transform::None])
        .unwrap()
        .with_target_scaling(&data)
        .unwrap();
    let model = Fx::MlpLast.spec().build(DType::F32, &dev(), 5).unwrap();
    let mut opt = Adam::new(model.params(), 1e-2);
    let cfg = TrainConfig {
        epochs: 2,
        batch_size: 32,
        progress: false,
        dir: Some(run.clone()),
        standardizer: Some(std.clone()),
        meta: BTreeMap::from([("study".to_string(), "damage".to_string())]),
        ..TrainConfig::default()
    };
    let train = std.apply(&data).unwrap();
    Trainer::new(cfg, &dev())
        .fit(model.as_ref(), &mut opt, &train, Some(&train), &gaussian(), |_| Control::Continue)
        .unwrap();
    std::fs::copy(run.join(LAST), Fx::MlpLast.path()).unwrap();
    std::fs::copy(run.join(BEST), Fx::MlpBest.path()).unwrap();

    // A trained MLP saved with an optimizer that has not stepped.
    let model = Fx::MlpFreshOpt.spec().build(DType::F32, &dev(), 6).unwrap();
    step(model.as_ref(), &mut Adam::new(model.params(), 1e-2), 3, 2);
    let fresh = Adam::new(model.params(), 1e-3);
    // A training log of over 100 KiB in its meta: an attribute HDF5 keeps in dense attribute
    // storage (a fractal heap), beyond the 64 KiB an object header holds.
    let log: String = (0..4200).map(|i| format!("epoch {i:04}: loss {:.6}\n", 1.0 / (i as f64 + 1.5))).collect();
    let meta = BTreeMap::from([("note".into(), "fresh".into()), ("log".into(), log)]);
    let ckpt = Checkpoint { meta, ..Checkpoint::default() };
    ckpt.save(Fx::MlpFreshOpt.path(), model.as_ref(), Some(&fresh)).unwrap();

    // A BNN with Adam state after three steps.
    let model = Fx::Bnn.spec().build(DType::F32, &dev(), 7).unwrap();
    let mut opt = Adam::new(model.params(), 1e-2);
    step(model.as_ref(), &mut opt, 3, 3);
    Checkpoint { epoch: 3, ..Checkpoint::default() }.save(Fx::Bnn.path(), model.as_ref(), Some(&opt)).unwrap();

    // An f64 ensemble with a standardizer, saved without its optimizer.
    let model = Fx::Ensemble.spec().build(DType::F64, &dev(), 8).unwrap();
    step(model.as_ref(), &mut Adam::new(model.params(), 1e-2), 3, 4);
    let std = Standardizer::fit(&toy(50, 5), &[Transform::None, Transform::Log, Transform::None]).unwrap();
    Checkpoint { epoch: 1, standardizer: Some(std), ..Checkpoint::default() }
        .save(Fx::Ensemble.path(), model.as_ref(), None)
        .unwrap();
}
