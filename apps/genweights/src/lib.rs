//! The genweights study (arXiv:2305.16774): a classifier between a truth sample and a generated
//! sample gives per-event weights w(x) = p_data(x)/p_model(x) that show where a generator
//! fails.
//!
//! - [`io`]: readers (detected from content) and writers for the paper's four layouts, and weights.h5;
//! - [`features`]: the physics observables per kind, as named columns;
//! - [`generator`]: synthetic truth/generated pairs with exact per-event weights;
//! - [`flow`]: normalizing flows as generators (`genweights flow train | sample | density`);
//! - [`flowstudy`]: `genweights flow-study`, flows on toys with closed-form densities judged by
//!   the weights against their exact ln w;
//! - [`model`]: the ensemble (or Bayesian) classifier on `nn`, whose logit is ln w;
//! - [`metrics`]: AUC, weight histograms, calibration, identities, isotonic recalibration,
//!   clustering, reweighting and learned-against-exact comparisons (numbers, serde-serialisable);
//! - [`evaluate`]: a pair's numbers on its test split (and `genweights run`'s metrics.json);
//! - [`page`]: the report pages, drawn from those numbers;
//! - [`study`]: `genweights run` ([`mod@study::run`]: two files in; weights.h5, metrics.json, index.html
//!   out) and `genweights study` (every toy through `run`, one page with the acceptance tests);
//! - [`logistic`]: a closed-form check of the toys and diagnostics with no network;
//! - [`cli`]: the `genweights` command line.

pub mod cli;
pub mod error;
pub mod evaluate;
pub mod features;
pub mod flow;
pub mod flowstudy;
pub mod generator;
pub mod io;
pub mod logistic;
pub mod metrics;
pub mod model;
pub mod page;
pub mod quadrature;
pub mod special;
pub mod study;

pub use error::{Error, Result};
