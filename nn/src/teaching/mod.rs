//! Code that exists to teach and to check the Bayesian losses, not to train production models:
//! what docs/bnn-loss.md derives, its tests (`nn/tests/teaching.rs`, `nn/tests/bayes/`,
//! `nn/tests/toy_uncertainty.rs`) and the `bnn_toy` and `bnn_reference` examples run on.
//!
//! - [`toy`]: a one-dimensional regression problem whose answer (mean and noise width) is known,
//!   with the recipes that fit a variational network and a repulsive ensemble to it and the
//!   calibration numbers that judge them;
//! - [`hmc`]: Hamiltonian Monte Carlo, which draws from the exact posterior of a small network,
//!   the reference those approximations are held against, and [`posterior`], which turns a
//!   network into the sampler's flat parameters and log density.
//!
//! The study apps and the training loop use none of it; it lives apart so that a reader of the
//! library proper can skip it.

pub mod hmc;
pub mod posterior;
pub mod toy;
