//! Generators trained in sigmagrad: a normalizing flow (`nn::flow`) fitted by maximum likelihood
//! to the features that the classifier would see for a file (`features::classifier_inputs`),
//! then sampled, or asked for the exact, normalised ln p of any file in that feature space.
//! docs/genweights-method.md §11 has the equations and the file formats.
//!
//! - [`mod@train`]: `genweights flow train` (the model directory: `best.h5`, `last.h5`,
//!   `history.csv`, and `flow.json` with what training did);
//! - [`mod@density`]: loading a model directory and ln p per row (per weight draw for a
//!   Bayesian INN), `genweights flow density`;
//! - [`mod@sample`]: `genweights flow sample` (a table file with `log_p`);
//! - [`mod@mixture`]: a Gaussian mixture with a closed-form density, to judge a flow by;
//! - [`cli`]: the arguments of the three commands.
//!
//! The flow sees standardized features z = (x − mean)/std (fitted on its training rows and
//! stored in the checkpoint), so ln p(x) = ln p_flow(z) − Σ ln std: the densities it writes are
//! in the file's own units. Nothing here reads a file's exact weights or truth columns.

pub mod cli;
pub mod density;
pub mod mixture;
pub mod sample;
pub mod train;

pub use density::{log_density, FlowModel, LogDensity};
pub use sample::{sample, Sampled};
pub use train::{train, FlowTrainConfig, FlowTrained};

/// The checkpoint the commands read from a model directory: the best validation epoch.
pub const MODEL_FILE: &str = "best.h5";
/// What `flow train` writes beside the checkpoints.
pub const SUMMARY_FILE: &str = "flow.json";
