//! The small numerics that sigmagrad's diagnostics (`nn`), its figures (`report`) and both study
//! apps share. Each is written once here, so that a quantile, a bin or a tail probability means
//! the same thing on every page and in every acceptance test:
//!
//! - [`quantile`]: numpy's default quantile ("linear", Hyndman–Fan type 7), and its weighted
//!   generalisation that reduces to it for equal weights;
//! - [`histogram`]: bin edges, bin lookup and (weighted) histograms with numpy's membership rule
//!   (half-open bins, the last one closed), every size bounded by the caller's bin count and
//!   never by the data's range;
//! - [`normal`]: Φ, its tails and its inverse in f64, with the tails' digits kept, and erf/erfc;
//! - [`hash`]: 64-bit FNV-1a, the stable hash behind step keys, file seals and colour fallbacks;
//! - [`moments`]: the mean with its standard error.
//!
//! The crate depends on nothing but serde, so every other crate of the workspace may use it.

pub mod hash;
pub mod histogram;
pub mod moments;
pub mod normal;
pub mod quantile;

pub use hash::{fnv1a, Fnv1a};
pub use histogram::{
    bin_index, equal_count_edges, histogram, histogram_2d, linear_edges, log_edges, Binning, Histogram, Histogram2d,
};
pub use moments::mean_and_error;
pub use normal::{
    erf, erfc, inverse_phi, inverse_phi_upper, ln_normal_pdf, normal_interval, normal_pdf, phi, phi_upper,
};
pub use quantile::{median, quantile, quantile_sorted, sorted_finite, sorted_non_nan, weighted_quantile};
