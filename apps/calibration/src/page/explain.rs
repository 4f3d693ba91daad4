//! explain's page (`DIR/index.html` of `calibration explain`), and its finding on the study page
//! beside the figure that shades the truth's gap window.
//!
//! Drawn from an [`Explanation`] or an [`ExplainSummary`] alone, like every page of the app.

use super::draw::{count, edge_centres, has_data, has_hist_scaled, unwrap_nan};
use super::Ctx;
use crate::columns::CLUSTER_ETA;
use crate::explain::findings::{view_name, Finding, ViewTransform};
use crate::explain::profiles::{Distribution, Profile};
use crate::explain::{short, symbol, ExplainSummary, Explanation};
use crate::study::compute::feature_label;
use report::{Figure, Grid, Heatmap, Page, Palette, Section, Table};

/// The views whose flagged and other clusters are drawn on explain's page.
const TOP_VIEWS: usize = 4;
/// At most this many findings are listed in the table (all are in findings.json).
const MAX_ROWS: usize = 30;

fn palette() -> Palette {
    Palette::new().slot("flagged", 0).slot("other clusters", 6).slot("all clusters", 6)
}

/// The axis label of a view: the feature's label, in bars for |…|.
fn view_label(feature: &str, transform: ViewTransform) -> String {
    match transform {
        ViewTransform::Identity => feature_label(feature),
        ViewTransform::Abs => format!("|{}|", feature_label(feature)),
    }
}

/// A finding's range as text: "1.36 – 1.63".
fn finding_range(f: &Finding) -> String {
    format!("{} – {}", short(f.low), short(f.high))
}

/// explain's whole page.
pub fn explain_page(e: &Explanation) -> Page {
    let s = &e.findings.selection;
    let intro = format!(
        "{}: {} of {} clusters pass the selection cuts; predictions {}. A cluster is flagged when its \
         σ_tot/R_pred is unusually high for its energy ({}): {} of {} are. Nothing here reads a truth column.",
        e.data,
        count(e.cuts.passed),
        count(e.cuts.input),
        e.predictions,
        s.rule,
        count(s.flagged),
        count(s.total)
    );
    Page::new("Where the network is unsure: calibration explain")
        .intro(&format!("The finding: {}", e.findings.sentence()))
        .intro(&intro)
        .section(findings_section(e))
        .section(distributions_section(e))
        .section(profiles_section(&e.profiles))
        .footer(&format!("Written by calibration explain, sigmagrad {}.", env!("CARGO_PKG_VERSION")))
}

fn findings_section(e: &Explanation) -> Section {
    let f = &e.findings;
    let mut table = Table::new(&["view", "range", "flagged share", "overall share", "enrichment", "score"]).caption(
        "The ranges where the flagged clusters gather, sorted by their view's score (Kolmogorov–Smirnov distance \
         between the flagged and the other clusters). Enrichment = share of the flagged clusters in the range / \
         share of all clusters in it.",
    );
    for x in f.findings.iter().take(MAX_ROWS) {
        table = table.row([
            view_label(&x.feature, x.transform).into(),
            finding_range(x).into(),
            report::Cell::num(100.0 * x.flagged_share, 1),
            report::Cell::num(100.0 * x.overall_share, 1),
            report::Cell::num(x.enrichment, 2),
            report::Cell::num(x.score, 3),
        ]);
    }
    let mut scores = Table::new(&["view", "score"]);
    for v in &f.scores {
        scores = scores.row([view_label(&v.feature, v.transform).into(), report::Cell::num(v.score, 3)]);
    }
    let mut s = Section::new("What the flagged clusters have in common");
    s = if f.findings.is_empty() { s.paragraph(&f.sentence()) } else { s.table(table) };
    if f.findings.len() > MAX_ROWS {
        s = s.paragraph(&format!("{} more findings are listed in findings.json.", f.findings.len() - MAX_ROWS));
    }
    s.details("The score of every view", scores)
}

/// One view's flagged and other clusters as shares, its findings shaded.
fn distribution_figure(d: &Distribution, findings: &[Finding], others: bool, title: &str) -> Option<Figure> {
    if !has_hist_scaled(&d.edges, &d.flagged, d.log_x) {
        return None;
    }
    let pal = palette();
    let reference: Vec<f64> =
        if others { d.all.iter().zip(&d.flagged).map(|(a, f)| a - f).collect() } else { d.all.clone() };
    let unit = |v: &[f64]| {
        let t: f64 = v.iter().sum();
        v.iter().map(|x| if t > 0.0 { x / t } else { 0.0 }).collect::<Vec<f64>>()
    };
    let name = if others { "other clusters" } else { "all clusters" };
    let mut f = Figure::new(title)
        .x_label(&view_label(&d.feature, d.transform))
        .y_label("fraction of clusters per bin")
        .log_x(d.log_x)
        .histogram(name, &d.edges, &unit(&reference))
        .style(pal.style(name))
        .histogram("flagged", &d.edges, &unit(&d.flagged))
        .style(pal.style("flagged"));
    for (k, x) in findings.iter().filter(|x| x.feature == d.feature && x.transform == d.transform).enumerate() {
        f = f.shade_x(x.low, x.high, if k == 0 { "enriched range" } else { "" });
    }
    Some(f)
}

fn distributions_section(e: &Explanation) -> Section {
    let s = Section::new("Flagged and other clusters in the top views");
    let figures: Vec<Figure> = e
        .findings
        .scores
        .iter()
        .take(TOP_VIEWS)
        .filter_map(|v| e.distributions.iter().find(|d| d.feature == v.feature && d.transform == v.transform))
        .filter_map(|d| distribution_figure(d, &e.findings.findings, true, &view_name(&d.feature, d.transform)))
        .collect();
    if figures.is_empty() {
        return s.paragraph("No cluster is flagged, so there is no distribution to compare.");
    }
    let grid = Grid::new(2).shared_legend(true).cell_size(560, 380).figures(figures);
    s.figure(
        grid,
        "The distributions of the flagged clusters and of the others (each normalised to 1) in the views with the \
         highest scores; the enriched ranges are shaded.",
    )
}

/// σ/R against one view: the 2-D histogram, the median and the 16–84 % band.
fn profile_figure(p: &Profile) -> Option<Figure> {
    if !p.counts.iter().any(|&c| c > 0.0) || p.x_edges.len() < 2 || p.y_edges.len() < 2 {
        return None;
    }
    let x = edge_centres(&p.x_edges, p.log_x);
    let (median, lo, hi) = (unwrap_nan(&p.median), unwrap_nan(&p.q16), unwrap_nan(&p.q84));
    let map = Heatmap::new(&p.x_edges, &p.y_edges, &p.counts).log(true).label("clusters");
    let mut f = Figure::new(&view_name(&p.feature, p.transform))
        .x_label(&view_label(&p.feature, p.transform))
        .y_label("σ_{tot} / R_{pred}")
        .log_x(p.log_x)
        .log_y(true)
        .heatmap(map);
    if has_data(&x, &median, p.log_x, true) {
        let style = report::Style::reference();
        f = f.band("16–84 %", &x, &lo, &hi).style(style).line("median", &x, &median).style(style);
    }
    Some(f)
}

fn profiles_section(profiles: &[Profile]) -> Section {
    let s = Section::new("σ_tot/R_pred against every feature");
    let figures: Vec<Figure> = profiles.iter().filter_map(profile_figure).collect();
    if figures.is_empty() {
        return s.paragraph("No profile could be drawn.");
    }
    s.figure(
        Grid::new(4).shared_legend(true).cell_size(400, 320).figures(figures),
        "The relative uncertainty of every cluster against each view (2-D histogram, log colour scale), with its \
         median (line) and central 68 % (band) in bins of the view. σ/R falls with energy, so most of its spread \
         in any other view is the energy spectrum; the flagging compares clusters of one energy.",
    )
}

impl Ctx<'_> {
    /// The figure of σ against |η| (the truth's gap window shaded) with explain's finding beside
    /// it when the study ran explain.
    pub(super) fn with_explain(&self, s: Section, eta: Figure, eta_caption: &str) -> Section {
        let Some(x) = &self.s.explain else { return s.figure(eta, eta_caption) };
        let top_is_eta = x.findings.findings.first().is_some_and(|f| f.feature == CLUSTER_ETA);
        let on_eta = match x.findings.sentence_on(CLUSTER_ETA) {
            Some(eta) if !top_is_eta => format!(" Its first finding on clusterEta: {eta}"),
            _ => String::new(),
        };
        let s = s.paragraph(&format!(
            "calibration explain, from the BNN's predictions and the features alone: {}{on_eta}",
            x.findings.sentence()
        ));
        match explain_eta_figure(x) {
            Some(f) => s.figure(
                Grid::new(2).cell_size(600, 420).figures([eta, f]),
                &format!(
                    "{eta_caption} Right: where explain's flagged clusters (σ_{{tot}}/R_{{pred}} above the {} \
                     quantile of their energy bin) sit in |η| against all clusters, with its enriched ranges on \
                     clusterEta shaded; explain reads no truth, so the agreement of the two shaded regions is the \
                     truth-free discovery.",
                    x.findings.selection.quantile
                ),
            ),
            None => s.figure(eta, eta_caption),
        }
    }
}

/// Flagged against all clusters in |η|, explain's clusterEta findings shaded as |η| ranges: those
/// of the |η| view, or, when it has none, those on η mirrored (not both: they overlap).
fn explain_eta_figure(x: &ExplainSummary) -> Option<Figure> {
    let d = x.abs_eta.as_ref()?;
    let on_eta =
        |t: ViewTransform| x.findings.findings.iter().filter(move |f| f.feature == CLUSTER_ETA && f.transform == t);
    let view = if on_eta(ViewTransform::Abs).next().is_some() { ViewTransform::Abs } else { ViewTransform::Identity };
    let as_abs: Vec<Finding> = on_eta(view)
        .map(|f| {
            let (low, high) = f.abs_range();
            Finding { low, high, transform: ViewTransform::Abs, ..f.clone() }
        })
        .collect();
    let title = format!("explain, without the truth: flagged clusters in {}", symbol(&d.feature, d.transform));
    distribution_figure(d, &as_abs, false, &title)
}
