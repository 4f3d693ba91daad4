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
pub mod io;
pub mod linear;
pub mod loss;
pub mod mlp;
pub mod module;
pub mod optim;
pub mod plot;
pub mod predictive;
pub mod schedule;
pub mod toy;
pub mod train;
pub mod variational;

pub use activation::Activation;
pub use checkpoint::{Checkpoint, CheckpointError};
pub use data::{Batches, Dataset, Standardizer, Transform};
pub use dropout::Dropout;
pub use ensemble::{rbf_repulsion, repulsive_loss, EnsembleMlp, RepulsionSpace, RepulsiveConfig};
pub use linear::{Init, Linear};
pub use mlp::{Mlp, MlpSpec};
pub use module::{Module, Param};
pub use optim::{Adam, Optimizer, Sgd};
pub use predictive::{predict, Prediction};
pub use schedule::{Schedule, Scheduler};
pub use train::{EpochRecord, History, TrainConfig, TrainError, Trainer};
pub use variational::{elbo_loss, Estimator, VariationalConfig, VariationalLinear, VariationalMlp};
