//! sigmagrad's neural-network layer: modules, layers, losses, optimizers, data handling, a
//! training loop and HDF5 checkpoints, all written on the public autodiff API.
//!
//! A network is a plain struct of layers implementing [`Module`]; nothing here needs macros.

pub mod activation;
pub mod checkpoint;
pub mod data;
pub mod dropout;
pub mod linear;
pub mod loss;
pub mod mlp;
pub mod module;
pub mod optim;
pub mod schedule;
pub mod train;

pub use activation::Activation;
pub use checkpoint::{Checkpoint, CheckpointError};
pub use data::{Batches, Dataset, Standardizer, Transform};
pub use dropout::Dropout;
pub use linear::{Init, Linear};
pub use mlp::{Mlp, MlpSpec};
pub use module::{Module, Param};
pub use optim::{Adam, Optimizer, Sgd};
pub use schedule::{Schedule, Scheduler};
pub use train::{EpochRecord, History, TrainConfig, TrainError, Trainer};
