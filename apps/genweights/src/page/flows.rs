//! `genweights flow-study`'s page: the acceptance table, an overview of the flows, and per toy
//! what the weights found: the sentence, the learned against the exact ln w, maps of the mean
//! weight over the first two coordinates, the projections reweighted, and for a Bayesian INN its
//! uncertainty against the weights.

use super::figures::{exact_figures, observable_figure, pull_figures};
use super::study::acceptance_table;
use super::{fmt, palette};
use crate::flowstudy::acceptance::{FLOW_BULK_LIMIT, KL_SHARE_LIMIT};
use crate::flowstudy::findings::MAP_MIN_EVENTS;
use crate::flowstudy::summary::FlowCase;
use crate::flowstudy::FlowStudyMetrics;
use report::{Cell, Figure, Heatmap, Page, Section, Table};

/// The colour range of the mean-weight maps: w from 1/4 to 4 on a log scale (an exact w of 0,
/// beyond truth's support, takes the lowest colour).
const MAP_W_RANGE: (f64, f64) = (0.25, 4.0);

fn overview_table(m: &FlowStudyMetrics) -> Table {
    let mut t = Table::new(&[
        "case",
        "flow",
        "epochs",
        "train + sample s",
        "KL flow",
        "KL Gaussian",
        "median |Δ ln w|",
        "region share truth / flow",
        "⟨w⟩ there learned / exact",
    ]);
    for c in &m.cases {
        let f = &c.findings;
        let bulk = c.run.analysis.exact.as_ref().and_then(|e| e.comparison.bulk_median_abs_residual);
        t = t.row([
            Cell::from(c.name.as_str()),
            Cell::from(c.flow.model.as_str()),
            Cell::from(c.flow.epochs_run.to_string()),
            Cell::from(format!("{:.1} + {:.1}", c.flow.train_seconds, c.sample_seconds)),
            Cell::from(c.kl.map_or("n/a".into(), |k| format!("{:.4} ± {:.4}", k.flow.mean, k.flow.error))),
            Cell::from(c.kl.map_or("n/a".into(), |k| format!("{:.4} ± {:.4}", k.gaussian.mean, k.gaussian.error))),
            Cell::from(fmt(bulk, 4)),
            Cell::from(format!("{:.2} % / {:.2} %", 100.0 * f.truth_share, 100.0 * f.flow_share)),
            Cell::from(format!("{} / {}", fmt(f.learned_mean_w, 3), fmt(f.exact_mean_w, 3))),
        ]);
    }
    t
}

/// One mean-weight map, clamped into [`MAP_W_RANGE`] so that w = 0 still shows, with the edge
/// of truth's support drawn where the toy has one.
fn map_figure(title: &str, c: &FlowCase, values: &[Option<f64>], labels: (&str, &str)) -> Figure {
    let (lo, hi) = MAP_W_RANGE;
    let maps = &c.findings.maps;
    let clamped: Vec<f64> = values.iter().map(|v| v.map_or(f64::NAN, |v| v.clamp(lo, hi))).collect();
    let mut f = Figure::new(title)
        .x_label(labels.0)
        .y_label(labels.1)
        .heatmap(Heatmap::new(&maps.x_edges, &maps.y_edges, &clamped).log(true).range(lo, hi).label("⟨w⟩"));
    if let Some((x, y)) = c.toy.support_edge() {
        let (y0, y1) = (maps.y_edges[0], maps.y_edges[maps.y_edges.len() - 1]);
        let inside: Vec<(f64, f64)> = x.into_iter().zip(y).filter(|(_, v)| (y0..=y1).contains(v)).collect();
        let (x, y): (Vec<f64>, Vec<f64>) = inside.into_iter().unzip();
        f = f.dashed("truth's edge", &x, &y);
    }
    f.size(560, 460)
}

fn case_section(c: &FlowCase, events: usize) -> Section {
    let pal = palette();
    let a = &c.run.analysis;
    let columns = c.toy.columns();
    let labels = (columns[0].as_str(), columns[1].as_str());
    let mut s = Section::new(&format!("{}: {}", c.name, c.flow.model))
        .paragraph(&format!(
            "{}. The flow trained on {} events ({} epochs, best {}, {:.1} s) and drew {} events ({:.1} s); the \
             classifier ran on those against as many fresh truth events (its full page: cases/{}/index.html).",
            c.description,
            c.flow.train_rows + c.flow.val_rows,
            c.flow.epochs_run,
            c.flow.best_epoch.map_or("-".into(), |b| (b + 1).to_string()),
            c.flow.train_seconds,
            events,
            c.sample_seconds,
            c.name
        ))
        .paragraph(&format!("What the weights found: {}", c.findings.sentence));
    if let Some((map, _)) = exact_figures(a, &pal) {
        s = s.figure(map, "The learned ln w against the exact ln p_truth − ln p_flow, test events of both samples.");
    }
    let maps = &c.findings.maps;
    if maps.learned.iter().any(Option::is_some) {
        s = s
            .figure(
                map_figure("Mean learned w of the flow's events", c, &maps.learned, labels),
                &format!(
                    "The learned weight averaged over the flow's test events per cell (cells with fewer than \
                     {MAP_MIN_EVENTS} events empty): below 1 (dark) the flow has a surplus, above 1 (bright) a deficit."
                ),
            )
            .figure(
                map_figure("Mean exact w of the flow's events", c, &maps.exact, labels),
                "The same with the exact weight p_truth/p_flow: what the learned map should show.",
            );
    }
    for o in &a.observables {
        s = s.figure(
            observable_figure(o, &pal),
            &format!(
                "The projection on {}: truth, the flow's sample and the sample reweighted with the learned w, their \
                 ratios to truth and the bin-averaged weight ⟨w⟩.",
                o.name
            ),
        );
    }
    if let Some((map, pulls)) = pull_figures(a, &pal) {
        s = s
            .figure(
                map,
                "The Bayesian INN's relative uncertainty σ/μ of p over its weight draws against the learned ln w of \
                 each generated test event (docs/genweights-method.md §5.10).",
            )
            .figure(
                pulls,
                "Pulls μ(w − 1)/σ with the learned and the exact w: about N(0, 1) where the INN's own uncertainty \
                 covers its deviation from truth.",
            );
    }
    s
}

/// `genweights flow-study`'s page.
pub fn flow_study_page(m: &FlowStudyMetrics) -> Page {
    let pass = m.acceptance.iter().filter(|r| r.passed == Some(true)).count();
    let fail = m.acceptance.iter().filter(|r| r.passed == Some(false)).count();
    let mut page = Page::new("Flows trained in sigmagrad, judged by classifier weights against their exact density")
        .intro(&format!(
            "Each toy's truth density is known in closed form. A normalizing flow trains on {} truth events, draws {} \
             events with its exact ln p, and genweights run compares them with {} fresh truth events; the exact \
             ln w = ln p_truth − ln p_flow of every event is read only after training (docs/genweights-method.md \
             §11.5). Preset {}, seed {}; run on {} ({}), {}; {:.0} s in all.",
            m.train_events, m.events, m.events, m.preset, m.seed, m.machine, m.device, m.date, m.seconds
        ))
        .section(
            Section::new("Acceptance tests")
                .paragraph(&format!(
                    "{pass} pass, {fail} fail, {} reported. Per case the median |learned − exact| ln w over the test \
                     events with |exact ln w| < 1 must be below {FLOW_BULK_LIMIT}; the 5-D mixture's flow must have \
                     KL(truth ‖ flow) + 3σ at most {KL_SHARE_LIMIT} of one fitted Gaussian's.",
                    m.acceptance.len() - pass - fail
                ))
                .table(acceptance_table(&m.acceptance)),
        )
        .section(Section::new("Overview").table(overview_table(m)));
    for c in &m.cases {
        page = page.section(case_section(c, m.events));
    }
    page.footer(&format!("Written by {}, sigmagrad {}.", m.command, m.version))
}
