//! The calibration networks (DNN, DNN-LGK, BNN, repulsive ensemble): their configuration, how
//! each becomes an `nn` model and objective, training into a run directory, and predictions in
//! the prediction-file layout. Nothing here reads a truth column or a generator constant: the
//! inputs are the 15 features of [`crate::columns::FEATURES`] and the target is the response
//! R = clusterE / cluster_ENG_CALIB_TOT, so the same commands run on any generator's data or on
//! Geant4 ntuples.

pub mod config;
pub mod inputs;
pub mod predict;
pub mod run_dir;
pub mod split;
pub mod train;

pub use config::{Method, ModelConfig, Preset};

use crate::columns::FEATURES;
use nn::{Activation, Head, Init, Likelihood, MlpSpec, ModelSpec, Objective, Regulariser, VariationalConfig};

/// The network of a configuration.
pub fn model_spec(config: &ModelConfig) -> ModelSpec {
    let mlp = |outputs: usize| {
        MlpSpec::new(FEATURES.len(), &config.network.hidden, outputs).activation(config.network.activation)
    };
    match config.method {
        Method::Dnn => ModelSpec::deterministic(mlp(1), Head::Point),
        Method::DnnLgk => ModelSpec::deterministic(
            mlp(1).output_activation(Activation::TanhPlusOne(config.lgk.output_scale)),
            Head::Point,
        ),
        Method::Bnn => {
            let variational = VariationalConfig {
                prior_sigma: config.bnn.prior_sigma,
                estimator: config.bnn.estimator,
                logsig2_init: config.bnn.logsig2_init,
                ..VariationalConfig::default()
            };
            ModelSpec::variational(mlp(2).init(Init::NormalFanIn), variational, Head::Gaussian)
        }
        Method::Re => ModelSpec::ensemble(mlp(2), config.ensemble.members, Head::Gaussian),
    }
}

/// The objective of each training step. The LGK DNN trains in two steps: with the leak
/// `lgk.alpha` first (`step` 0), then with the pure kernel (`step` 1).
pub fn objective(config: &ModelConfig, step: usize) -> Objective {
    match config.method {
        Method::Dnn => Objective::new(Likelihood::Mse, Regulariser::None),
        Method::DnnLgk => {
            let alpha = if step == 0 { config.lgk.alpha } else { 0.0 };
            Objective::new(Likelihood::LeakyGaussianKernel { h: config.lgk.h, alpha }, Regulariser::None)
        }
        Method::Bnn => Objective::new(Likelihood::Gaussian, Regulariser::Kl),
        Method::Re => Objective::new(
            Likelihood::Gaussian,
            Regulariser::Repulsion {
                beta: config.ensemble.beta,
                space: config.ensemble.space,
                prior_sigma: config.ensemble.prior_sigma,
            },
        ),
    }
}

/// The number of training steps a method runs (the LGK DNN trains twice).
pub fn steps(config: &ModelConfig) -> usize {
    if config.method == Method::DnnLgk {
        2
    } else {
        1
    }
}
