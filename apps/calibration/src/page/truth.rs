//! The section "Uncertainties against the truth, and BNN against RE".

use super::draw::heatmap_figure;
use super::{not_run, Ctx};
use report::Section;

impl Ctx<'_> {
    pub(super) fn truth_section(&self) -> Section {
        let mut s = Section::new("Uncertainties against the truth, and BNN against RE");
        let mut any = false;
        for sc in &self.s.syst_vs_truth {
            let label = self.label(&sc.method);
            if let Some(f) = heatmap_figure(sc, &format!("σ_{{syst}} against the true sd: {label}"), true) {
                any = true;
                s = s.figure(
                    f.size(600, 500),
                    &format!(
                        "{label}'s σ_{{syst}} against the exact sd^{{*}}(R | x) of each test cluster, y = x dashed. \
                         docs/calibration-method.md §6.5 asks for a median ratio within 1 ± 0.05, gap clusters included."
                    ),
                );
            }
        }
        if !any {
            s = not_run(s, "σ_{syst} against the true sd");
        }
        s = s.paragraph(VI_TEXT);
        let mut any = false;
        for sc in &self.s.bnn_vs_re {
            let title = format!("{} against {}", sc.y_label, sc.x_label);
            if let Some(f) = heatmap_figure(sc, &title, true) {
                any = true;
                s = s.figure(
                    f.size(600, 500),
                    "Per-cluster uncertainties of the two Bayesian methods, y = x dashed, with the Pearson correlation \
                     (of log σ) and the median ratio. docs/calibration-method.md §6.7 asks for a correlation of log σ_{tot} above 0.9 and a \
                     median ratio within 10 %.",
                );
            }
        }
        if !any {
            s = not_run(s, "the per-cluster comparison of BNN and RE");
        }
        s
    }
}

/// The comparison of BNN and RE uncertainties, in words: what mean-field VI gives and what not.
const VI_TEXT: &str = "What the two Bayesian methods can be expected to agree on. The BNN is trained by mean-field \
    variational inference: every weight has its own independent Gaussian. Such a posterior is known to underestimate \
    the uncertainty between regions of data (in-between uncertainty, Foong et al. 2019). On the 1-D toy of \
    docs/bnn-loss.md §17-18, with a gap in x, the exact posterior (Hamiltonian Monte Carlo) has a σ_{stat} far \
    larger in the gap than in the bulk; the BNN keeps little of that contrast, and the repulsive ensemble keeps \
    more of it at a much smaller scale (the measured ratios are in that note). Neither σ_{stat} is the exact one; \
    the median ratio below says which is the smaller on this sample. σ_{syst} is a different matter: each weight draw learns the \
    variance that fits its own residuals, σ_{true}^{2} + (μ_{θ} − m)^{2} with m the true mean, so averaged over \
    draws σ_{syst}^{2} ≈ σ_{true}^{2} + σ_{stat}^{2} + bias^{2}, slightly above the true spread. The figures \
    below and items 7.8.5 and 7.8.7 of the acceptance table show how far the two agree on this sample.";
