//! The report pages, drawn from the numbers of [`crate::evaluate`] alone (nothing is read or
//! recomputed): `genweights run`'s page for one pair, and `genweights study`'s page for every toy
//! with the acceptance table. Per pair the paper's figure set (docs/genweights-method.md §6): the observable
//! with Truth, Gen and Gen reweighted and its ratio panels, the ROC, the weight histograms with
//! the ensemble band, the reliability curve and the binned weight calibration, the clustering of
//! the observable in weight slices, the χ² p-values of the quantile mode, the training curve;
//! for the toys also the learned against the exact ln w and the residuals.
//!
//! - [`run`], [`study`], [`flows`]: the pages of `genweights run`, `study` and `flow-study`;
//! - [`pair`]: one pair's section, built from the figures of [`figures`].

pub mod figures;
pub mod flows;
pub mod pair;
pub mod run;
pub mod study;

pub use flows::flow_study_page;
pub use pair::pair_section;
pub use run::run_page;
pub use study::study_page;

use report::Palette;

/// The look of every name the pages draw, one slot of the style cycle each.
pub(crate) fn palette() -> Palette {
    Palette::new()
        .slot("Learned", 0)
        .slot("Exact", 1)
        .slot("Reweighted", 2)
        .slot("Truth (exact)", 3)
        .slot("Gen", 4)
        .slot("Gen (exact)", 5)
        .slot("Truth", 6)
}

pub(crate) fn opt(v: &[Option<f64>]) -> Vec<f64> {
    v.iter().map(|x| x.unwrap_or(f64::NAN)).collect()
}

pub(crate) fn fmt(v: Option<f64>, decimals: usize) -> String {
    v.map_or("n/a".into(), |x| format!("{x:.decimals$}"))
}
