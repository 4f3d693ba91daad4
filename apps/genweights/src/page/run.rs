//! `genweights run`'s page: one pair.

use super::pair::pair_section;
use crate::evaluate::RunMetrics;
use report::Page;

/// `genweights run`'s page.
pub fn run_page(m: &RunMetrics) -> Page {
    let a = &m.analysis;
    Page::new("Classifier weights: where the generator fails")
        .intro(&format!(
            "A classifier between the truth sample {} ({}) and the generated sample {} ({}) gives per-event weights \
             w(x) = p_truth(x)/p_gen(x), its logit being ln w (arXiv:2305.16774). Every number and figure uses the \
             test split; weights.h5 holds the weights of every event. The run took {:.1} s.",
            m.truth_file, m.truth, m.generated_file, m.generated, m.seconds
        ))
        .section(pair_section(a, &a.name))
        .footer(&format!("Written by genweights run, sigmagrad {}.", m.sigmagrad_version))
}
