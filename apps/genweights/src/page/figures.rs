//! The figures of one pair's section, each drawn from the numbers of [`crate::evaluate`].

use super::{fmt, opt};
use crate::evaluate::{ObservablePlots, PairAnalysis};
use report::{Figure, Heatmap, Legend, Palette, RatioFigure};

/// Truth, Gen and Gen·w of one observable, with Gen/Truth, Reweighted/Truth and ⟨w⟩ panels
/// (docs/genweights-method.md §5.6).
pub(super) fn observable_figure(o: &ObservablePlots, pal: &Palette) -> RatioFigure {
    let r = &o.reweighted;
    let main = Figure::new(&format!("{}: truth, generated and reweighted", o.name))
        .y_label("normalised")
        .histogram_with_errors("Truth", &r.edges, &r.truth, &r.truth_error)
        .style(pal.style("Truth"))
        .histogram("Gen", &r.edges, &r.generated)
        .style(pal.style("Gen"))
        .histogram("Reweighted", &r.edges, &r.reweighted)
        .style(pal.style("Reweighted"));
    let ratios: Vec<f64> = r.ratio_gen_truth.iter().chain(&r.ratio_reweighted_truth).flatten().copied().collect();
    let outside = ratios.iter().filter(|x| (**x - 1.0).abs() > 0.2).count();
    let (lo, hi) = if outside * 4 > ratios.len() { (0.25, 1.81) } else { (0.71, 1.29) };
    let ratio = Figure::new("")
        .y_label("ratio to Truth")
        .y_range(lo, hi)
        .legend(Legend::Off)
        .histogram("Gen", &r.edges, &opt(&r.ratio_gen_truth))
        .style(pal.style("Gen"))
        .histogram("Reweighted", &r.edges, &opt(&r.ratio_reweighted_truth))
        .style(pal.style("Reweighted"))
        .hline(1.0);
    let mean_w: Vec<f64> = opt(&r.mean_weight).into_iter().map(|w| w.min(2.3)).collect();
    let w = Figure::new("")
        .x_label(&o.label)
        .y_label("⟨w⟩")
        .legend(Legend::Off)
        .histogram("Reweighted", &r.edges, &mean_w)
        .style(pal.style("Reweighted"))
        .hline(1.0);
    RatioFigure::new(main, ratio).panel(w).heights(&[3.0, 1.2, 1.2]).size(640, 560)
}

pub(super) fn roc_figure(a: &PairAnalysis, pal: &Palette) -> Figure {
    let roc = &a.summary.roc;
    let mut f = Figure::new("ROC from the weights")
        .x_label("ε_{B} (generated)")
        .y_label("ε_{S} (truth)")
        .line("Learned", &roc.false_positive, &roc.true_positive)
        .style(pal.style("Learned"));
    let mut note = format!("AUC learned {:.4}", roc.auc);
    if let Some(e) = &a.exact {
        f = f.dashed("Exact", &e.exact_roc.false_positive, &e.exact_roc.true_positive).style(pal.style("Exact"));
        note += &format!(", exact {:.4}", e.exact_roc.auc);
    }
    f.diagonal().note(&note)
}

/// Weight histograms, truth and generated separately, with the members' 15.9–84.1 % band
/// (docs/genweights-method.md §5.3).
pub(super) fn weight_figure(a: &PairAnalysis, pal: &Palette) -> Figure {
    let h = &a.ensemble_histograms;
    let mut f = Figure::new("Weight distributions (test events)")
        .x_label("w")
        .y_label("fraction of events")
        .log_x(true)
        .log_y(true)
        .legend(Legend::Below)
        .histogram_band("Truth", &h.edges, &h.truth.low, &h.truth.high)
        .style(pal.style("Truth"))
        .histogram("Truth", &h.edges, &h.truth.median)
        .style(pal.style("Truth"))
        .histogram_band("Gen", &h.edges, &h.generated.low, &h.generated.high)
        .style(pal.style("Gen"))
        .histogram("Gen", &h.edges, &h.generated.median)
        .style(pal.style("Gen"));
    if let Some(e) = &a.exact {
        let x = &e.exact_histograms;
        f = f
            .histogram("Truth (exact)", &x.edges, &x.truth)
            .style(pal.style("Truth (exact)"))
            .histogram("Gen (exact)", &x.edges, &x.generated)
            .style(pal.style("Gen (exact)"));
    }
    f.vline(1.0).size(640, 460)
}

/// One group's weight histograms (one classifier per jet multiplicity).
pub(super) fn group_weight_figure(g: &crate::evaluate::GroupHistograms, pal: &Palette) -> Figure {
    let h = &g.histograms;
    Figure::new(&format!("Weights, {} ({} + {} test events)", g.name, g.truth_events, g.generated_events))
        .x_label("w")
        .y_label("fraction of events")
        .log_x(true)
        .log_y(true)
        .legend(Legend::Below)
        .histogram("Truth", &h.edges, &h.truth)
        .style(pal.style("Truth"))
        .histogram("Gen", &h.edges, &h.generated)
        .style(pal.style("Gen"))
        .vline(1.0)
        .size(640, 460)
}

pub(super) fn reliability_figure(a: &PairAnalysis, pal: &Palette) -> Figure {
    let b = &a.summary.reliability.bins;
    let x: Vec<f64> = b.iter().map(|b| b.mean_predicted).collect();
    let y: Vec<f64> = b.iter().map(|b| b.fraction_positive).collect();
    let e: Vec<f64> = b.iter().map(|b| b.error).collect();
    Figure::new("Reliability curve")
        .x_label("D = w/(1 + w)")
        .y_label("fraction of truth events")
        .error_bars("Learned", &x, &y, &e)
        .style(pal.style("Learned"))
        .diagonal()
}

pub(super) fn calibration_figure(a: &PairAnalysis, pal: &Palette) -> Figure {
    let b: Vec<_> = a.summary.weight_calibration.bins.iter().filter(|b| b.ratio.is_some()).collect();
    let x: Vec<f64> = b.iter().map(|b| b.centre).collect();
    let y: Vec<f64> = b.iter().map(|b| b.ratio.unwrap_or(f64::NAN)).collect();
    let e: Vec<f64> = b.iter().map(|b| b.error.unwrap_or(0.0)).collect();
    let m: Vec<f64> = b.iter().map(|b| b.mean_gen_w.unwrap_or(f64::NAN)).collect();
    Figure::new("Weight calibration")
        .x_label("w (bin centre)")
        .y_label("(N_{truth}/N_{gen}) per bin")
        .log_x(true)
        .log_y(true)
        .error_bars("Learned", &x, &y, &e)
        .style(pal.style("Learned"))
        .points("⟨w⟩_{gen} in the bin", &b.iter().map(|b| b.centre).collect::<Vec<_>>(), &m)
        .diagonal()
}

/// The observable of generated events with small w and of truth events with large w (docs/genweights-method.md §5.7).
pub(super) fn clustering_figure(o: &ObservablePlots, pal: &Palette) -> Figure {
    let c = &o.clusters;
    let mut f = Figure::new(&format!("{} in weight slices", o.name))
        .x_label(&o.label)
        .y_label("density")
        .legend(Legend::Below)
        .histogram("Truth", &c.edges, &c.truth_density)
        .style(pal.style("Truth"))
        .histogram("Gen", &c.edges, &c.generated_density)
        .style(pal.style("Gen"));
    for s in c.lower.iter().chain(&c.upper) {
        if !s.events.is_empty() {
            f = f.histogram(&format!("{} ({} events)", s.label, s.events.len()), &c.edges, &s.density);
        }
    }
    f.size(640, 460)
}

pub(super) fn quantile_figure(o: &ObservablePlots) -> Figure {
    let q: Vec<f64> = o.quantiles.iter().map(|p| p.q).collect();
    let floor = |p: Option<f64>| p.map_or(f64::NAN, |p| p.max(1e-12));
    let hi: Vec<f64> = o.quantiles.iter().map(|p| floor(p.high_tail.p_value)).collect();
    let lo: Vec<f64> = o.quantiles.iter().map(|p| floor(p.low_tail.p_value)).collect();
    Figure::new(&format!("{}: χ^{{2}} of truth against generated beyond each weight quantile", o.name))
        .x_label("quantile q")
        .y_label("p-value (floored at 10^{-12})")
        .log_x(true)
        .log_y(true)
        .line("high-w tail", &q, &hi)
        .line("low-w tail", &q, &lo)
        .hline(0.05)
}

pub(super) fn training_figure(a: &PairAnalysis, pal: &Palette) -> Figure {
    let t = &a.training;
    let e: Vec<f64> = (1..=t.train_loss.len()).map(|i| i as f64).collect();
    let mut f = Figure::new("Training")
        .x_label("epoch")
        .y_label("balanced BCE")
        .line("training", &e, &t.train_loss)
        .line("validation", &e, &opt(&t.val_loss));
    if let Some(b) = t.best_epoch {
        f = f.vline((b + 1) as f64);
    }
    if let Some(x) = &a.exact {
        f = f.dashed("optimal (exact, test)", &[1.0, e.len().max(1) as f64], &[x.comparison.optimal_bce; 2]);
        f = f.style(pal.style("Exact"));
    }
    f
}

pub(super) fn exact_figures(a: &PairAnalysis, pal: &Palette) -> Option<(Figure, Figure)> {
    let e = a.exact.as_ref()?;
    let m = &e.map;
    let values: Vec<f64> = m.counts.iter().map(|&c| c as f64).collect();
    let c = &e.comparison;
    let map = Figure::new("Learned against exact ln w (test events)")
        .x_label("exact ln w")
        .y_label("learned ln w")
        .heatmap(Heatmap::new(&m.x.edges, &m.y.edges, &values).log(true).label("events"))
        .diagonal()
        .note(&format!(
            "|exact| < 1: median |Δ| {}, RMSE {}, bias {}",
            fmt(c.bulk_median_abs_residual, 4),
            fmt(c.bulk_rmse, 4),
            fmt(c.bulk_bias, 4)
        ));
    let r = &e.residuals;
    let res = Figure::new("Residual learned − exact ln w")
        .x_label("Δ ln w (finite exact weights)")
        .y_label("events")
        .histogram("Learned", &r.binning.edges, &r.sum_w)
        .style(pal.style("Learned"))
        .vline(0.0);
    Some((map, res))
}

/// A Bayesian generator's own uncertainty against the weights (docs/genweights-method.md
/// §5.10): its relative uncertainty σ/μ over weight draws against the learned ln w of each
/// generated test event, and the pulls μ(w − 1)/σ with the learned and the exact weights.
pub(super) fn pull_figures(a: &PairAnalysis, pal: &Palette) -> Option<(Figure, Figure)> {
    let p = a.generator_pulls.as_ref()?;
    let h = p.histograms.as_ref()?;
    let m = &h.uncertainty_map;
    let values: Vec<f64> = m.counts.iter().map(|&c| c as f64).collect();
    let map = Figure::new(&format!("Generator's relative uncertainty against the learned weight ({} draws)", p.draws))
        .x_label("learned ln w")
        .y_label("σ/μ of p over draws")
        .heatmap(Heatmap::new(&m.x.edges, &m.y.edges, &values).log(true).label("events"))
        .note(&format!("median σ/μ {}", fmt(p.median_relative_uncertainty, 4)));
    let mut pulls = Figure::new("Pulls μ(w − 1)/σ of the generated test events")
        .x_label("pull (ends hold the events beyond ±6)")
        .y_label("fraction of events")
        .histogram("Learned", &h.edges, &h.learned)
        .style(pal.style("Learned"));
    if let Some(e) = &h.exact {
        pulls = pulls.histogram("Exact", &h.edges, e).style(pal.style("Exact"));
    }
    // The unit normal's mass per bin, at the bin centres (the inner bins; the end bins hold tails).
    let centres: Vec<f64> = h.edges.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
    let unit: Vec<f64> = h.edges.windows(2).map(|w| stats::phi(w[1]) - stats::phi(w[0])).collect();
    Some((map, pulls.dashed("N(0, 1)", &centres, &unit).vline(0.0)))
}
