//! The report pages, drawn from the numbers of [`crate::evaluate`] alone (nothing is read or
//! recomputed): `genweights run`'s page for one pair, and `genweights study`'s page for every toy
//! with the acceptance table. Per pair the paper's figure set (docs/genweights-method.md §6): the observable
//! with Truth, Gen and Gen reweighted and its ratio panels, the ROC, the weight histograms with
//! the ensemble band, the reliability curve and the binned weight calibration, the clustering of
//! the observable in weight slices, the χ² p-values of the quantile mode, the training curve;
//! for the toys also the learned against the exact ln w and the residuals.

use crate::evaluate::{ObservablePlots, PairAnalysis};
use crate::run::RunMetrics;
use crate::study::StudyMetrics;
use report::{Cell, Figure, Heatmap, Legend, Page, Palette, RatioFigure, Section, Table, Verdict};

const NAMES: [&str; 7] = ["Truth", "Gen", "Reweighted", "Learned", "Exact", "Truth (exact)", "Gen (exact)"];

fn palette() -> Palette {
    Palette::new(NAMES)
}

fn opt(v: &[Option<f64>]) -> Vec<f64> {
    v.iter().map(|x| x.unwrap_or(f64::NAN)).collect()
}

fn fmt(v: Option<f64>, decimals: usize) -> String {
    v.map_or("n/a".into(), |x| format!("{x:.decimals$}"))
}

/// Truth, Gen and Gen·w of one observable, with Gen/Truth, Reweighted/Truth and ⟨w⟩ panels
/// (docs/genweights-method.md §5.6).
fn observable_figure(o: &ObservablePlots, pal: &Palette) -> RatioFigure {
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

fn roc_figure(a: &PairAnalysis, pal: &Palette) -> Figure {
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
fn weight_figure(a: &PairAnalysis, pal: &Palette) -> Figure {
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

fn reliability_figure(a: &PairAnalysis, pal: &Palette) -> Figure {
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

fn calibration_figure(a: &PairAnalysis, pal: &Palette) -> Figure {
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
fn clustering_figure(o: &ObservablePlots, pal: &Palette) -> Figure {
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

fn quantile_figure(o: &ObservablePlots) -> Figure {
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

fn training_figure(a: &PairAnalysis, pal: &Palette) -> Figure {
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

fn exact_figures(a: &PairAnalysis, pal: &Palette) -> Option<(Figure, Figure)> {
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
            ]);
    }
    t
}

/// The training line of a pair.
fn training_text(a: &PairAnalysis) -> String {
    let t = &a.training;
    format!(
        "{} on {} inputs; trained on {} truth and {} generated events, validated on {} and {}, evaluated on the {} \
         and {} test events. {} epochs run (best {}), {:.1} s training and {:.1} s prediction on {}; ln w offset {:.4}{}.",
        t.model,
        t.features.len(),
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
        .figure(roc_figure(a, &pal), "ROC and AUC from the weights (ε_B over generated, ε_S over truth); dashed: the exact weights.")
        .figure(
            weight_figure(a, &pal),
            "Weights of truth and generated test events, each normalised to unit sum, between the 0.01/99.99 % clip \
             bounds (the ends hold the clipped events); the band spans the members' 15.9–84.1 % per bin, the line \
             their median. Where the exact weight is infinite it sits in the last bin. Truth tails at large w: the \
             generator misses events; generated tails at small w: it makes events truth lacks.",
        )
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
    s.figure(
        training_figure(a, &pal),
        "Balanced BCE per epoch; the vertical line marks the epoch whose weights were kept.",
    )
}

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

/// The study's acceptance table.
fn acceptance_table(m: &StudyMetrics) -> Table {
    let mut t = Table::new(&["case", "test", "value", "threshold", "result"]);
    for r in &m.acceptance {
        let verdict = match r.passed {
            Some(p) => Cell::from(Verdict::from_bool(p)),
            None => Cell::from(if r.threshold == "reported" { "reported" } else { "n/a" }),
        };
        t = t.row([
            Cell::from(r.case.as_str()),
            Cell::from(r.test.as_str()),
            Cell::from(r.value.as_str()),
            Cell::from(r.threshold.as_str()),
            verdict,
        ]);
    }
    t
}

fn overview_table(m: &StudyMetrics) -> Table {
    let mut t = Table::new(&[
        "case",
        "events (test)",
        "AUC learned",
        "AUC exact",
        "median |Δ ln w|",
        "top-1 % skill",
        "top-1 % overlap",
        "ln w half-width",
        "epochs",
        "train s",
    ]);
    for c in &m.cases {
        let a = &c.metrics.analysis;
        let e = a.exact.as_ref();
        t = t.row([
            Cell::from(c.case.as_str()),
            Cell::from(format!("{} + {}", a.truth_test_events, a.generated_test_events)),
            Cell::num(a.summary.roc.auc, 4),
            Cell::from(e.map_or("–".into(), |e| format!("{:.4}", e.comparison.optimal_auc))),
            Cell::from(fmt(e.and_then(|e| e.comparison.bulk_median_abs_residual), 4)),
            Cell::from(fmt(e.and_then(|e| e.top_within.as_ref()).map(|w| w.skill), 3)),
            Cell::from(fmt(e.and_then(|e| e.top_percent_overlap), 3)),
            Cell::from(fmt(a.summary.spread.half_width_68, 4)),
            Cell::from(a.training.epochs_run.to_string()),
            Cell::num(a.training.train_seconds, 1),
        ]);
    }
    t
}

/// `genweights study`'s page.
pub fn study_page(m: &StudyMetrics) -> Page {
    let pass = m.acceptance.iter().filter(|r| r.passed == Some(true)).count();
    let fail = m.acceptance.iter().filter(|r| r.passed == Some(false)).count();
    let mut page = Page::new("Classifier weights on toys with exact answers: the genweights study")
        .intro(&format!(
            "Every toy of docs/genweights-method.md §4 — jets (tailcut, smeared, shifted), showers (layer fractions, \
             a missing mode, noise voxels), events (a smeared mass peak, a Bayesian generator) and a truth-against-truth \
             null test per layout — written to files, read back and passed through genweights run: a {} trained on the \
             classifier inputs, whose logit is ln w. The exact ln w of every event is known, and is read only after \
             training for the comparisons here. All numbers use each pair's test split. {} events per sample ({} for \
             showers, {} for Z→μμ+jets), seed {}; run on {} ({}), {}; the whole study took {:.0} s{}.",
            m.model,
            m.events,
            m.shower_events,
            m.zjets_events,
            m.seed,
            m.machine,
            m.device,
            m.date,
            m.seconds,
            if m.reused_cases > 0 {
                format!(" (this run reused {} of its {} cases from an earlier run)", m.reused_cases, m.cases.len())
            } else {
                String::new()
            }
        ))
        .section(
            Section::new("Acceptance tests")
                .paragraph(&format!(
                    "{pass} pass, {fail} fail, {} not applicable. The identities are tested against their exact \
                     expectations (E_gen[w] = 1 − P_truth(w = ∞), E_truth[1/w] = 1 − P_gen(w = 0)) with the learned \
                     weights' standard errors. The top-1 % test counts a learned top-1 % truth event as found when its \
                     exact ln w lies above the exact 1 % cut, or within τ of it (τ: the pair's median |learned − \
                     exact|, at most 0.05), and passes at a skill (score − chance)/(1 − chance) ≥ 0.5 over a random \
                     selection; the plain overlap of issue 13 (ties at the cut only) is shown beside it. Not \
                     applicable where a random selection already scores 1.",
                    m.acceptance.len() - pass - fail
                ))
                .table(acceptance_table(m)),
        )
        .section(Section::new("Overview").table(overview_table(m)));
    for c in &m.cases {
        page = page.section(pair_section(&c.metrics.analysis, &format!("{} ({})", c.case, c.metrics.analysis.kind)));
    }
    page.footer(&format!("Written by genweights study ({}), sigmagrad {}.", m.command, m.version))
}
