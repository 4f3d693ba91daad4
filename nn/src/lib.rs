//! sigmagrad's neural-network layer: modules, layers, losses, optimizers, data handling, a
//! training loop and HDF5 checkpoints, all written on the public autodiff API.
//!
//! A network is a plain struct of layers implementing [`Module`]; nothing here needs macros.

pub mod activation;
pub mod checkpoint;
pub mod data;
pub mod diagnostics;
pub mod dropout;
pub mod ensemble;
pub mod flow;
pub mod init;
pub mod io;
pub mod linear;
pub mod loss;
pub mod mlp;
pub mod model;
pub mod module;
pub mod objective;
pub mod optim;
pub mod predictive;
pub mod progress;
pub mod schedule;
pub mod spec;
pub mod stack;
pub mod standardizer;
pub mod teaching;
pub mod train;
pub mod train_error;
pub mod trainer_state;
pub mod variational;

pub use activation::Activation;
pub use checkpoint::{Checkpoint, CheckpointError, LoadedModel};
pub use data::{Batch, BatchSource, Batches, Dataset, TwoSample};
pub use dropout::Dropout;
pub use ensemble::{member_params, rbf_repulsion, EnsembleLinear, EnsembleMlp, RepulsionSpace};
pub use flow::{flow_spec, Flow};
pub use io::FileError;
pub use linear::{Init, Linear};
pub use mlp::{Mlp, MlpSpec};
pub use module::{with_mode, Mode, ModeGuard, Module, NoiseStream, Param, Sampling, StreamState};
pub use objective::{Likelihood, Objective, Regulariser};
pub use optim::{Adam, Optimizer, Sgd, StateSpec};
pub use predictive::{predict, predict_rows, Moments, PerDraw, PredictOptions, Prediction, Reducer};
pub use schedule::{Schedule, Scheduler};
pub use spec::{Coupling, FlowConfig, Head, Mixing, ModelKind, ModelSpec};
pub use stack::{Layer, Stack};
pub use standardizer::{Standardizer, TargetScaling, Transform};
pub use train::{Control, EpochRecord, Guard, History, Loss, TrainConfig, TrainError, Trainer, TrainerState};
pub use variational::{elbo_loss, Estimator, VariationalConfig, VariationalLinear, VariationalMlp};
