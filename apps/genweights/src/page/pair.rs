//! One pair's section: its numbers, the training line and the figure set.

use super::figures::{
    calibration_figure, clustering_figure, exact_figures, group_weight_figure, observable_figure, pull_figures,
    quantile_figure, reliability_figure, roc_figure, training_figure, weight_figure,
};
use super::{fmt, palette};
use crate::evaluate::PairAnalysis;
use crate::metrics::{WeightAxis, WeightHistOptions};
use report::{Cell, Section, Table};

fn numbers_table(a: &PairAnalysis) -> Table {
    let s = &a.summary;
    let mut t = Table::new(&["quantity", "learned", "exact / expected"]).row([
        Cell::from("AUC"),
        Cell::num(s.roc.auc, 4),
        Cell::from(a.exact.as_ref().map_or("–".into(), |e| format!("{:.4}", e.comparison.optimal_auc))),
    ]);
    if let Some(e) = &a.exact {
        t = t.row([
            Cell::from("balanced BCE"),
            Cell::num(e.comparison.learned_bce, 5),
            Cell::num(e.comparison.optimal_bce, 5),
        ]);
    }
    let id = |i: &crate::evaluate::IdentityCheck| {
        format!("{} ± {} (pull {})", fmt(i.estimate, 4), fmt(i.error, 4), fmt(i.pull, 2))
    };
    t = t
        .row([Cell::from("E_{gen}[w]"), Cell::from(id(&a.gen_mean_w)), Cell::num(a.gen_mean_w.expected, 5)])
        .row([
            Cell::from("E_{truth}[1/w]"),
            Cell::from(id(&a.truth_mean_inverse_w)),
            Cell::num(a.truth_mean_inverse_w.expected, 5),
        ])
        .row([
            Cell::from("ln w spread: (q_{84} − q_{16})/2"),
            Cell::from(fmt(s.spread.half_width_68, 4)),
            Cell::from("0 for a perfect generator"),
        ])
        .row([Cell::from("median member std of ln w"), Cell::from(fmt(a.median_member_std, 4)), Cell::from("–")])
        .row([
            Cell::from("truth w < 1 / w > 1"),
            Cell::from(format!("{:.1} % / {:.1} %", 100.0 * s.truth_below_one, 100.0 * s.truth_above_one)),
            Cell::from("–"),
        ])
        .row([
            Cell::from("generated w < 1 / w > 1"),
            Cell::from(format!("{:.1} % / {:.1} %", 100.0 * s.generated_below_one, 100.0 * s.generated_above_one)),
            Cell::from("–"),
        ]);
    if let Some(e) = &a.exact {
        let na = "n/a: one exact weight for every truth event";
        t = t
            .row([
                Cell::from("top-1 % truth overlap (ties at the cut only)"),
                Cell::from(e.top_percent_overlap.map_or(na.into(), |o| format!("{o:.3}"))),
                Cell::from(if e.top_percent_overlap.is_some() { "1 with exact weights" } else { "–" }),
            ])
            .row([
                Cell::from("top-1 % within τ of the exact cut: skill (score, chance)"),
                Cell::from(e.top_within.as_ref().map_or("n/a: no selection can fail".into(), |w| {
                    format!("{:.3} ({:.3}, {:.3}; τ {:.4})", w.skill, w.score, w.chance, w.tolerance)
                })),
                Cell::from(if e.top_within.is_some() { "1 with exact weights; pass ≥ 0.5" } else { "–" }),
            ])
            .row([
                Cell::from("learned top 1 %: mean exact ln w shortfall / spread"),
                Cell::from(fmt(e.top_percent_gap_fraction, 3)),
                Cell::from(if e.top_percent_gap_fraction.is_some() { "0 with exact weights" } else { "–" }),
            ])
            .row([
                Cell::from("spread of exact ln w over truth, (q_{84} − q_{16})/2"),
                Cell::from(fmt(e.exact_truth_spread, 4)),
                Cell::from("the top-1 % test applies at ≥ 3τ"),
            ]);
    }
    for i in &a.truncated_identities {
        t = t.row([
            Cell::from(format!("E_{{gen}}[w·1(w < {})] vs P_{{truth}}(w < {})", i.cut, i.cut)),
            Cell::from(format!("{:.4} ± {:.4} (pull {})", i.gen_mean_w_below, i.gen_error, fmt(i.pull, 2))),
            Cell::from(format!("{:.4} ± {:.4}", i.truth_fraction_below, i.truth_error)),
        ]);
    }
    if let Some(p) = &a.generator_pulls {
        let pull = |s: &crate::metrics::PullSummary| {
            format!("median {}, half-width {}", fmt(s.median, 3), fmt(s.half_width_68, 3))
        };
        t = t.row([
            Cell::from(format!(
                "generator's pull μ(w − 1)/σ ({} draws, median σ/μ {})",
                p.draws,
                fmt(p.median_relative_uncertainty, 4)
            )),
            Cell::from(pull(&p.learned)),
            Cell::from(p.exact.as_ref().map_or("–".into(), pull)),
        ]);
    }
    t
}

/// Which uncertainty the members' spread (the band, the member std) shows.
fn uncertainty_text(a: &PairAnalysis) -> &'static str {
    let c = &a.training.config;
    if c.bayesian {
        " The spread over weight draws shows the posterior of the network's weights."
    } else if c.bootstrap {
        " Each member trained on its own bootstrap resample: their spread shows the finite training sample's \
         error as well as the initialisation's."
    } else {
        " The members share their training events: their spread shows the initialisation alone, not the finite \
         training sample's error (--bootstrap adds it)."
    }
}

/// The cross-fitting sentence, where it was used.
fn folds_text(a: &PairAnalysis) -> String {
    match a.training.folds {
        0 => String::new(),
        k => format!(
            " Cross-fitted over {k} folds: each event's weight comes from the classifier of the fold it was held out \
             of, so every event is a test event; the counts and the training curve above are the first fold's, the \
             times every fold's."
        ),
    }
}

/// The training line of a pair.
fn training_text(a: &PairAnalysis) -> String {
    let t = &a.training;
    let text = format!(
        "{} on {} inputs; trained on {} truth and {} generated events, validated on {} and {}, evaluated on the {} \
         and {} test events. {} epochs run (best {}), {:.1} s training and {:.1} s prediction on {}; ln w offset {:.4}{}.",
        t.model,
        if a.group_histograms.is_empty() { t.features.len().to_string() } else { "each group's own".into() },
        t.truth_train,
        t.generated_train,
        t.truth_val,
        t.generated_val,
        a.truth_test_events,
        a.generated_test_events,
        t.epochs_run,
        t.best_epoch.map_or("-".into(), |b| (b + 1).to_string()),
        t.train_seconds,
        t.predict_seconds,
        t.device,
        t.log_w_offset,
        if t.config.isotonic { ", isotonic recalibration fitted on the validation split" } else { "" }
    );
    text + &folds_text(a) + uncertainty_text(a)
}

/// The weight figure's caption, with the clip bounds the histograms used.
fn weight_caption(a: &PairAnalysis) -> String {
    let clip = WeightHistOptions::new(WeightAxis::LogClipped { bins: 1 });
    format!(
        "Weights of truth and generated test events, each normalised to unit sum, between the {}/{} % clip bounds \
         (the ends hold the clipped events); the band spans the members' 15.9–84.1 % per bin, the line their \
         median.{} Truth tails at large w: the generator misses events; generated tails at small w: it makes \
         events truth lacks.",
        clip.clip_low_percent,
        clip.clip_high_percent,
        if a.exact.is_some() { " Where the exact weight is infinite it sits in the last bin." } else { "" }
    )
}

/// One section per pair: the numbers and the figure set.
pub fn pair_section(a: &PairAnalysis, title: &str) -> Section {
    let pal = palette();
    let mut s = Section::new(title);
    if !a.description.is_empty() {
        s = s.paragraph(&a.description);
    }
    s = s.paragraph(&training_text(a)).table(numbers_table(a));
    for o in a.observables.iter().take(1) {
        s = s.figure(
            observable_figure(o, &pal),
            &format!(
                "{}: Truth, Gen and Gen reweighted with the learned w (unit area), the ratios to Truth and the \
                 bin-averaged weight ⟨w⟩ = Reweighted/Gen (docs/genweights-method.md §5.6). With exact weights Reweighted equals Truth.",
                o.name
            ),
        );
    }
    s = s
        .figure(
            roc_figure(a, &pal),
            "ROC and AUC from the weights (ε_B over generated, ε_S over truth); dashed: the exact weights.",
        )
        .figure(weight_figure(a, &pal), &weight_caption(a));
    for g in &a.group_histograms {
        s = s.figure(
            group_weight_figure(g, &pal),
            &format!(
                "The weights of the {} events, from the classifier trained on that jet multiplicity alone (its own \
                 inputs, no zero-padded jets), as the paper trains one per multiplicity.",
                g.name
            ),
        );
    }
    s = s
        .figure(reliability_figure(a, &pal), "Reliability: the fraction of truth events against D = w/(1 + w), on balanced classes (docs/genweights-method.md §5.4).")
        .figure(
            calibration_figure(a, &pal),
            "Binned weight calibration: (N_truth/N_gen) in bins of w, normalised per sample, against the diagonal; the \
             dots give the mean generated w in each bin, which the ratio estimates exactly.",
        );
    for o in a.observables.iter().take(1) {
        s = s
            .figure(
                clustering_figure(o, &pal),
                &format!(
                    "Clustering (docs/genweights-method.md §5.7): {} of generated events with w below {:?} and of truth events with w above {:?}, \
                     beside all Truth and Gen (densities).",
                    o.name, a.lower_thresholds, a.upper_thresholds
                ),
            )
            .figure(
                quantile_figure(o),
                "Quantile mode: p-values of the χ² between truth and generated events beyond the q and 1 − q weight \
                 quantiles; small p: the tail events differ in this observable.",
            );
    }
    for o in a.observables.iter().skip(1) {
        s = s.figure(observable_figure(o, &pal), &format!("{} reweighted, as above.", o.name));
    }
    if let Some((map, res)) = exact_figures(a, &pal) {
        s = s
            .figure(map, "The learned ln w against the exact one, truth and generated test events together (infinite exact weights left out).")
            .figure(res, "The residual learned − exact ln w of the test events with finite exact weights.");
    }
    if let Some((map, pulls)) = pull_figures(a, &pal) {
        s = s
            .figure(
                map,
                "The generator's relative uncertainty σ/μ of its density p over its weight draws (μ the median, σ \
                 half the 16–84 % spread) against the learned ln w of each generated test event: a generator that \
                 knows where it is wrong has a large σ/μ where |ln w| is large.",
            )
            .figure(
                pulls,
                "The pulls μ(w − 1)/σ: the generator's deviation from truth in units of its own uncertainty, about \
                 N(0, 1) where that uncertainty covers the deviation; wider: the generator is overconfident.",
            );
    }
    s.figure(
        training_figure(a, &pal),
        "Balanced BCE per epoch; the vertical line marks the epoch whose weights were kept.",
    )
}
