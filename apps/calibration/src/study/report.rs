//! The study page, drawn from a [`StudySummary`] alone: no file is read and nothing is computed
//! beyond ratios and normalisations, so a change to the page re-renders in a second.
//!
//! One [`Palette`] styles every method on every figure (EM scale, LCW-like, DNN, DNN-LGK, BNN,
//! RE, oracle, truth). Anything a preset did not produce (an empty list, a `None`, a method that
//! was not run) gives a "not run in this preset" line instead of a figure, because a figure
//! without data fails `report::check` and says nothing to the reader.

use super::summary::{
    Acceptance, BinnedCurve, CoverageCurve, MarginalDensity, PullHist, Scan, Scatter, Spectrum, StudySummary,
    TrainingCurve,
};
use crate::error::{Error, Result};
use crate::generator::params::GAP_WINDOW;
use crate::metrics::binned::BinSummary;
use crate::metrics::MethodMetrics;
use report::{Cell, Colour, Dash, Figure, Grid, Heatmap, Legend, Marker, Page, Palette, RatioFigure, Section, Style};
use report::{Table, Verdict};
use std::path::{Path, PathBuf};

/// Every method the page draws, in the order of legends and of the palette's registration.
const METHODS: [&str; 8] = ["EM scale", "LCW-like", "DNN", "DNN-LGK", "BNN", "RE", "oracle", "truth"];

/// The look of every method the page draws, one slot of the style cycle each; "LCW" and "EM"
/// are the baselines' short names.
pub fn palette() -> Palette {
    Palette::new()
        .slot("BNN", 0)
        .slot("LCW-like", 1)
        .slot("LCW", 1)
        .slot("DNN", 2)
        .slot("RE", 3)
        .slot("oracle", 4)
        .slot("DNN-LGK", 5)
        .slot("truth", 6)
        .slot("EM scale", 7)
        .slot("EM", 7)
}

/// The label a figure shows for a name of the summary when `description.models` does not say.
const DEFAULT_LABELS: [(&str, &str); 5] =
    [("dnn", "DNN"), ("dnn-lgk", "DNN-LGK"), ("bnn", "BNN"), ("re", "RE"), ("lcw", "LCW-like")];

/// The kinds of uncertainty, in the order of the panels.
const KINDS: [&str; 3] = ["tot", "stat", "syst"];

/// Writes the page to `dir/index.html` atomically (a reader never sees half a page) and returns
/// its path; the directory is created when missing.
pub fn write(summary: &StudySummary, dir: &Path) -> Result<PathBuf> {
    write_page(&page(summary), dir)
}

fn write_page(page: &Page, dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::invalid(format!("{}: cannot create the directory: {e}", dir.display())))?;
    let path = dir.join("index.html");
    let html = page.to_html();
    nn::io::write_atomically(&path, |tmp| std::fs::write(tmp, html.as_bytes()).map_err(|e| e.to_string()))?;
    Ok(path)
}

/// `calibration scan`'s page: the scan's figure and table alone, written to `dir/index.html`.
pub fn write_scan(scan: &Scan, data: &str, dir: &Path) -> Result<PathBuf> {
    let pal = palette();
    let page = Page::new("Topo-cluster calibration: the training-size scan")
        .intro(&format!(
            "BNNs trained on the first N clusters of {data}, for N = {}; every network predicts the same test clusters.",
            scan.points.iter().map(|p| count(p.n_train)).collect::<Vec<_>>().join(", ")
        ))
        .section(scan_section(&pal, Some(scan)))
        .footer(&format!("Written by calibration scan, sigmagrad {}.", env!("CARGO_PKG_VERSION")));
    write_page(&page, dir)
}

/// The whole page: the opening text, the acceptance table and one section per topic.
pub fn page(summary: &StudySummary) -> Page {
    let ctx = Ctx::new(summary);
    let d = &summary.description;
    let mut page = Page::new(&format!("Topo-cluster calibration with uncertainties: the {} study", d.preset))
        .intro(&ctx.run_text())
        .intro(&ctx.figures_text())
        .section(ctx.acceptance_section())
        .section(ctx.inputs_section())
        .section(ctx.response_section())
        .section(ctx.prediction_section())
        .section(ctx.calibration_section())
        .section(ctx.spectrum_section())
        .section(ctx.truth_section())
        .section(ctx.scan_section())
        .section(ctx.training_section());
    if !summary.evaluation.notes.is_empty() {
        page = page.section(Section::new("Notes of the evaluation").list(&summary.evaluation.notes));
    }
    page.footer(&format!(
        "Written by calibration study from metrics.json: preset {}, sigmagrad {}, {}.",
        d.preset, d.version, d.date
    ))
}

/// The summary and the one palette of the page.
struct Ctx<'a> {
    s: &'a StudySummary,
    pal: Palette,
}

impl<'a> Ctx<'a> {
    fn new(s: &'a StudySummary) -> Ctx<'a> {
        Ctx { s, pal: palette() }
    }

    /// The label of a method: the summary's models map prediction names ("bnn") to labels
    /// ("BNN"); labels and baseline names pass through.
    fn label(&self, name: &str) -> String {
        let key = name.trim();
        let models = &self.s.description.models;
        if let Some(m) = models.iter().find(|m| m.method.eq_ignore_ascii_case(key) || m.label.eq_ignore_ascii_case(key))
        {
            return m.label.clone();
        }
        if let Some((_, l)) = DEFAULT_LABELS.iter().find(|(n, _)| n.eq_ignore_ascii_case(key)) {
            return l.to_string();
        }
        METHODS.iter().find(|m| m.eq_ignore_ascii_case(key)).map_or_else(|| key.to_string(), |m| m.to_string())
    }

    fn style(&self, name: &str) -> Style {
        self.pal.style(&self.label(name))
    }

    /// The evaluated methods in legend order (known methods first, in [`METHODS`] order).
    fn methods(&self) -> Vec<&'a MethodMetrics> {
        let mut m: Vec<&MethodMetrics> = self.s.evaluation.methods.iter().collect();
        m.sort_by_key(|x| order(&self.label(&x.name)));
        m
    }

    // ----- the text at the top -----

    /// What was run, on what, on which machine and for how long.
    fn run_text(&self) -> String {
        let d = &self.s.description;
        let seeds = &d.seeds;
        let nets: Vec<String> = d
            .models
            .iter()
            .map(|m| {
                let draws = if m.draws > 1 { format!(", {} draws per prediction", m.draws) } else { String::new() };
                format!("{} ({}, {} epochs{draws})", m.label, m.network, m.epochs)
            })
            .collect();
        let nets = if nets.is_empty() { "no networks".to_string() } else { nets.join("; ") };
        format!(
            "The {} preset of calibration study reproduces the ATLAS calibration of calorimeter topo-clusters with a \
             Bayesian neural network (arXiv:2412.04370) on synthetic clusters whose conditional response p(R | x) is \
             known exactly. It generated {} pile-up clusters for training (seed {}), {} for testing (seed {}) and {} \
             without pile-up for the LCW-like tables (seed {}); after the selection cuts the networks trained on {} \
             clusters, validated on {} and were tested on {}. Networks (seed {}): {}. Run on {}, {}, sigmagrad {}; \
             the whole study took {}{}.",
            d.preset,
            count(d.generated_train),
            seeds.train,
            count(d.generated_test),
            seeds.test,
            count(d.generated_pu0),
            seeds.pu0,
            count(d.n_train),
            count(d.n_val),
            count(d.n_test),
            seeds.networks,
            nets,
            d.machine,
            d.date,
            d.version,
            duration(d.seconds),
            if d.reused_steps > 0 {
                format!(
                    " (this run reused {} of its {} steps and took {})",
                    d.reused_steps,
                    d.steps,
                    duration(d.run_seconds)
                )
            } else {
                String::new()
            }
        )
    }

    /// What the figures show, in reading order.
    fn figures_text(&self) -> String {
        "The table gives the acceptance tests of docs/calibration-method.md §6. The figures then show the inputs; the \
         response linearity and resolution of every calibration (the EM scale, the LCW-like look-up tables, a DNN \
         trained with MSE, the DNN-LGK that learns the mode, the BNN, the repulsive ensemble RE, and the oracle that \
         applies the true median response and so bounds what any calibration can reach) against energy, pile-up and \
         |η|; how well the predicted response and its density match the truth; whether the predicted uncertainties \
         are calibrated (pulls, coverage); the spectrum of relative uncertainties with its secondary maximum from the \
         tile-gap clusters; the uncertainties against the exact truth and between BNN and RE; the training-size scan; \
         and the training curves. All energies are in GeV; all test-sample figures use the held-out test clusters."
            .to_string()
    }

    // ----- sections -----

    fn acceptance_section(&self) -> Section {
        let s = Section::new("Acceptance tests");
        let rows = &self.s.acceptance;
        if rows.is_empty() {
            return not_run(s, "the acceptance tests");
        }
        let pass = rows.iter().filter(|a| a.passed == Some(true)).count();
        let fail = rows.iter().filter(|a| a.passed == Some(false)).count();
        let skipped = rows.len() - pass - fail;
        s.paragraph(&format!(
            "{pass} of {} tests pass, {fail} fail, {skipped} not run (the preset cannot test them, or a method they \
             need is missing).",
            rows.len()
        ))
        .table(acceptance_table(rows))
    }

    fn inputs_section(&self) -> Section {
        let mut s = Section::new("Inputs").table(self.cut_table());
        s = match features_grid(&self.s.features) {
            Some(g) => s.figure(
                g,
                "The 15 input features of the test clusters after the selection cuts (energies, λ, ⟨ρ⟩, σ_{t}^{2} \
                 and ζ on log axes). Their 1/50/99 % quantiles are those of docs/calibration-generator.md §11.",
            ),
            None => not_run(s, "the feature distributions"),
        };
        let rv = &self.s.response_vs_energy;
        match heatmap_figure(rv, "EM-scale response against E^{EM}", false) {
            Some(f) => s.figure(
                f.hline(1.0).size(640, 480),
                "R^{EM} = E^{EM}/E_{dep} against E^{EM}: the EM scale under-measures hadronic and low-energy clusters; \
                 the spread at low energy is what the calibration has to undo cluster by cluster.",
            ),
            None => not_run(s, "R^{EM} against E^{EM}"),
        }
    }

    /// The cut flow of the test sample.
    fn cut_table(&self) -> Table {
        let c = &self.s.evaluation.cuts;
        let mut t = Table::new(&["selection", "clusters removed", "clusters left"])
            .caption(&format!("Selection cuts on the test sample ({}).", c.source));
        let mut left = c.input;
        t = t.row([Cell::from("generated"), Cell::from(""), Cell::from(count(left))]);
        for cut in &c.cuts {
            left = left.saturating_sub(cut.removed);
            t = t.row([Cell::from(cut.cut.as_str()), Cell::from(count(cut.removed)), Cell::from(count(left))]);
        }
        let share = if c.input > 0 { 100.0 * c.passed as f64 / c.input as f64 } else { 0.0 };
        t.row([Cell::from("selected"), Cell::from(format!("{share:.1} % kept")), Cell::from(count(c.passed))])
    }

    fn response_section(&self) -> Section {
        let mut s = Section::new("Response linearity and resolution");
        if self.methods().is_empty() {
            return not_run(s, "the evaluation of the calibrations");
        }
        s = s.paragraph(
            "Linearity is the median of E/E_{dep}; resolution is the 68 % interquantile range over twice the median, \
             (Q_{84} − Q_{16})/(2 median), both per bin with at least 50 clusters. In bins of E_{dep} even the \
             oracle is not at 1 at low energy, because binning in the truth selects on R: judge the linearity against \
             the oracle curve, and the closure in bins of the observed E^{EM}.",
        );
        for v in [Var::EDep, Var::EEm, Var::Mu, Var::NPv, Var::AbsEta] {
            s = self.response_pair(s, v);
        }
        s = self.mu_dependence(s);
        self.closure(s)
    }

    /// Linearity and resolution (with its ratio to LCW-like) against one variable.
    fn response_pair(&self, s: Section, v: Var) -> Section {
        let s = match self.linearity_figure(v) {
            Some(f) => s.figure(f, &v.linearity_caption()),
            None => not_run(s, &format!("the linearity against {}", v.name())),
        };
        match self.resolution_figure(v) {
            Some(Plot::Ratio(f)) => s.figure(f, &v.resolution_caption(true)),
            Some(Plot::Single(f)) => s.figure(f, &v.resolution_caption(false)),
            None => not_run(s, &format!("the resolution against {}", v.name())),
        }
    }

    fn linearity_figure(&self, v: Var) -> Option<Figure> {
        let mut f = Figure::new(&format!("Linearity against {}", v.name()))
            .x_label(v.axis())
            .y_label("median E/E_{dep}")
            .log_x(v.log());
        let mut any = false;
        for m in self.methods() {
            let (x, y) = bin_points(v.bins(m), v.log(), |b| b.median);
            if has_data(&x, &y, v.log(), false) {
                any = true;
                f = self.line_points(f, &m.name, &x, &y);
            }
        }
        let f = if v == Var::AbsEta { f.shade_x(GAP_WINDOW.0, GAP_WINDOW.1, "gap window") } else { f };
        any.then(|| f.hline(1.0))
    }

    fn resolution_figure(&self, v: Var) -> Option<Plot> {
        let methods = self.methods();
        let mut main = Figure::new(&format!("Resolution against {}", v.name()))
            .x_label(v.axis())
            .y_label("(Q_{84} − Q_{16}) / (2 median)")
            .log_x(v.log());
        if v == Var::AbsEta {
            main = main.shade_x(GAP_WINDOW.0, GAP_WINDOW.1, "gap window");
        }
        let mut any = false;
        for m in &methods {
            let (x, y) = bin_points(v.bins(m), v.log(), |b| b.resolution);
            if has_data(&x, &y, v.log(), false) {
                any = true;
                main = self.line_points(main, &m.name, &x, &y);
            }
        }
        if !any {
            return None;
        }
        let lcw = methods.iter().find(|m| self.label(&m.name) == "LCW-like");
        let Some(lcw) = lcw else { return Some(Plot::Single(main)) };
        let mut ratio = Figure::new("").x_label(v.axis()).y_label("ratio to LCW-like").log_x(v.log()).hline(1.0);
        let mut any_ratio = false;
        for m in methods.iter().filter(|m| !matches!(self.label(&m.name).as_str(), "LCW-like" | "EM scale")) {
            let (x, y) = ratio_points(v.bins(m), v.bins(lcw), v.log());
            if has_data(&x, &y, v.log(), false) {
                any_ratio = true;
                ratio = self.line_points(ratio, "", &x, &y).style(self.style(&m.name));
            }
        }
        if !any_ratio {
            return Some(Plot::Single(main));
        }
        Some(Plot::Ratio(RatioFigure::new(main.x_label(""), ratio).heights(&[2.6, 1.0])))
    }

    /// A line through binned values with a marker at each, one legend entry (empty label: none).
    fn line_points(&self, f: Figure, name: &str, x: &[f64], y: &[f64]) -> Figure {
        let (label, style) = (if name.is_empty() { String::new() } else { self.label(name) }, self.style(name));
        f.line(&label, x, y).style(style).points(&label, x, y).style(style)
    }

    /// The linearity against ⟨μ⟩ at low E_dep, where pile-up matters, with the fitted slopes.
    fn mu_dependence(&self, s: Section) -> Section {
        let methods = self.methods();
        let range = methods.first().map_or((0.3, 2.0), |m| m.mu_dependence.e_dep_range);
        let mut f = Figure::new(&format!("Linearity against ⟨μ⟩ at {} < E_{{dep}} < {} GeV", range.0, range.1))
            .x_label("⟨μ⟩")
            .y_label("median E/E_{dep}");
        let mut t = Table::new(&["method", "slope per unit ⟨μ⟩", "change over the ⟨μ⟩ range"]);
        let mut any = false;
        for m in &methods {
            let (x, y) = bin_points(&m.mu_dependence.bins, false, |b| b.median);
            if has_data(&x, &y, false, false) {
                any = true;
                f = self.line_points(f, &m.name, &x, &y);
                let d = &m.mu_dependence;
                t = t.row([
                    Cell::from(self.label(&m.name)),
                    opt_cell(d.slope_per_mu, 4),
                    opt_cell(d.change_over_range, 3),
                ]);
            }
        }
        if !any {
            return not_run(s, "the linearity against ⟨μ⟩ at low E_{dep}");
        }
        s.figure(
            f.hline(1.0),
            "The pile-up dependence that docs/calibration-method.md §6.2 tests: LCW-like tables built without pile-up fall with ⟨μ⟩, a \
             calibration that sees N_{PV}, ⟨μ⟩ and ζ stays flat like the oracle. The table gives the straight-line fits.",
        )
        .table(t.caption("Least-squares slope of the median E/E_{dep} through the ⟨μ⟩ bins, and its change over the range."))
    }

    /// Closure median(R_pred / mean*) against E^EM.
    fn closure(&self, s: Section) -> Section {
        let mut f = Figure::new("Closure against E^{EM}")
            .x_label("E^{EM} [GeV]")
            .y_label("median R_{pred} / mean^{*}(R | x)")
            .log_x(true);
        let mut any = false;
        for m in self.methods() {
            let Some(bins) = &m.closure_by_e_em else { continue };
            let x: Vec<f64> = bins.iter().map(|b| centre(b.lo, b.hi, true)).collect();
            let y: Vec<f64> = bins.iter().map(|b| b.median.unwrap_or(f64::NAN)).collect();
            if has_data(&x, &y, true, false) {
                any = true;
                f = self.line_points(f, &m.name, &x, &y);
            }
        }
        if !any {
            return not_run(s, "the closure test (it needs the generator's truth)");
        }
        s.figure(
            f.hline(1.0).hline(0.99).hline(1.01).vline(1.0),
            "Closure against the exact conditional mean: a Gaussian likelihood learns mean^{*}(R | x), so the BNN and \
             RE should lie within the 1 % lines above E^{EM} = 1 GeV (3 % below); DNN-LGK learns the mode and the \
             oracle is the median, so both sit lower by the skew of p(R | x).",
        )
    }

    fn prediction_section(&self) -> Section {
        let mut s = Section::new("Predicted response");
        let mut any = false;
        for sc in &self.s.predicted_vs_true {
            let title = format!("R_{{pred}} against R^{{EM}}: {}", self.label(&sc.method));
            if let Some(f) = heatmap_figure(sc, &title, true) {
                any = true;
                s = s.figure(
                    f.size(600, 500),
                    &format!(
                        "{}'s predicted response against the true R^{{EM}} of each test cluster, with y = x dashed. \
                         The prediction is a conditional mean, so it cannot follow the cluster-by-cluster spread: the \
                         cloud is flatter than the diagonal.",
                        self.label(&sc.method)
                    ),
                );
            }
        }
        if !any {
            s = not_run(s, "R_{pred} against R^{EM}");
        }
        match self.marginals_grid(&self.s.marginals) {
            Some(g) => s.figure(
                g,
                "A generative closure test (docs/calibration-method.md §5.9): per E_{dep} bin, the histogram of the true R^{EM} (black) and the \
                 average over the bin's clusters of each network's predicted density N(R; R_{pred}, σ_{tot}^{2}).",
            ),
            None => not_run(s, "the predicted marginal densities"),
        }
    }

    fn marginals_grid(&self, all: &[MarginalDensity]) -> Option<Grid> {
        let panels: Vec<Figure> = all.iter().filter_map(|m| self.marginal_panel(m)).collect();
        if panels.is_empty() {
            return None;
        }
        let cols = panels.len().clamp(1, 4);
        Some(
            Grid::new(cols)
                .title("Predicted and true R^{EM} densities")
                .shared_legend(true)
                .cell_size(330, 280)
                .figures(panels),
        )
    }

    fn marginal_panel(&self, m: &MarginalDensity) -> Option<Figure> {
        let mut f = Figure::new(&format!("{} < E_{{dep}} < {} GeV", num(m.e_lo), num(m.e_hi)))
            .x_label("R^{EM}")
            .y_label("density")
            .note(&format!("{} clusters", count(m.n)));
        let mut any = false;
        if has_hist(&m.edges, &m.truth) {
            any = true;
            f = f.histogram("true R^{EM}", &m.edges, &m.truth).style(self.pal.style("truth"));
        }
        for (name, density) in &m.predicted {
            if has_hist(&m.edges, density) {
                any = true;
                f = f.histogram(&self.label(name), &m.edges, density).style(self.style(name));
            }
        }
        any.then_some(f)
    }

    fn calibration_section(&self) -> Section {
        let mut s = Section::new("Are the uncertainties calibrated?");
        let mut methods: Vec<String> = Vec::new();
        for p in &self.s.pulls {
            let l = self.label(&p.method);
            if !methods.contains(&l) {
                methods.push(l);
            }
        }
        methods.sort_by_key(|m| order(m));
        for m in &methods {
            match self.pull_grid(m) {
                Some(g) => {
                    s = s.figure(
                        g,
                        &format!(
                            "Pulls (R_{{pred}} − R^{{EM}})/σ of the {m} for σ_{{tot}}, σ_{{stat}} and σ_{{syst}}, with \
                             the Gaussian core fit (±2σ, iterated) and N(0, 1). A width near 1 means calibrated, below 1 \
                             conservative; σ_{{stat}} alone is far too small to cover the scatter."
                        ),
                    )
                }
                None => s = not_run(s, &format!("the pulls of the {m}")),
            }
        }
        if methods.is_empty() {
            s = not_run(s, "the pulls (no network with uncertainties)");
        }
        match self.coverage_figure(&self.s.coverage) {
            Some(f) => f.add_to(
                s,
                "Share of test clusters with |R_{pred} − R^{EM}| < kσ_{tot} in bins of the observed E^{EM}, k = 1 \
                 (lower curves) and 2 (upper), against the Gaussian 68.3 % and 95.4 % (grey); underneath, the pull core \
                 width in the same bins. The truth curve uses the exact mean^{*} and sd^{*}: R given x is not Gaussian, so \
                 even the exact answer covers 60–71 % at 1σ with a core narrower than 1, and a calibrated network \
                 follows that curve, not 68 % (the acceptance table compares with it).",
            ),
            None => not_run(s, "the coverage in E^{EM} bins"),
        }
    }

    /// The tot, stat and syst pulls of one method, side by side.
    fn pull_grid(&self, method: &str) -> Option<Grid> {
        let panels: Vec<Figure> = KINDS
            .iter()
            .filter_map(|k| self.s.pulls.iter().find(|p| self.label(&p.method) == method && p.kind == *k))
            .filter_map(|p| self.pull_panel(p))
            .collect();
        if panels.is_empty() {
            return None;
        }
        Some(
            Grid::new(3)
                .title(&format!("Pulls of the {method}"))
                .shared_legend(true)
                .cell_size(440, 330)
                .figures(panels),
        )
    }

    fn pull_panel(&self, p: &PullHist) -> Option<Figure> {
        let (edges, counts) = (&p.hist.edges, &p.hist.counts);
        if !has_hist(edges, counts) {
            return None;
        }
        let total: f64 = counts.iter().filter(|c| c.is_finite()).sum();
        let width = |i: usize| edges[i + 1] - edges[i];
        let n = counts.len().min(edges.len() - 1);
        let density: Vec<f64> = (0..n).map(|i| counts[i] / (total * width(i))).collect();
        let err: Vec<f64> = (0..n).map(|i| counts[i].max(0.0).sqrt() / (total * width(i))).collect();
        let label = self.label(&p.method);
        let (lo, hi) = (edges[0], edges[n]);
        let t: Vec<f64> = (0..=200).map(|i| lo + (hi - lo) * i as f64 / 200.0).collect();
        let unit: Vec<f64> = t.iter().map(|&x| gauss(x, 0.0, 1.0, 1.0)).collect();
        let mut f = Figure::new(&format!("{label}, σ_{{{}}}", p.kind))
            .x_label(&format!("(R_{{pred}} − R^{{EM}}) / σ_{{{}}}", p.kind))
            .y_label("density")
            .histogram_with_errors(&format!("{label} pulls"), edges, &density, &err)
            .style(self.style(&p.method))
            .line("N(0, 1)", &t, &unit)
            .style(Style::reference().with_colour(Colour::GREY).with_dash(Dash::Dotted));
        if let Some(fit) = p.fit.filter(|g| g.sigma > 0.0 && g.n > 0) {
            // The fit used the entries within ±2σ of its mean: scale it to hold those.
            let share = fit.n as f64 / total / 0.9545;
            let curve: Vec<f64> = t.iter().map(|&x| gauss(x, fit.mean, fit.sigma, share)).collect();
            f = f
                .line("Gaussian core fit", &t, &curve)
                .style(Style::reference())
                .note(&format!("core fit: mean {:.3}, width {:.3}", fit.mean, fit.sigma));
        }
        if let (Some(c1), Some(c2)) = (p.coverage_1sigma, p.coverage_2sigma) {
            f = f.note(&format!("|t| < 1: {:.1} %, |t| < 2: {:.1} %", 100.0 * c1, 100.0 * c2));
        }
        Some(f)
    }

    /// Coverage at 1 and 2 σ_tot against E^EM, with the core width in a panel underneath.
    fn coverage_figure(&self, curves: &[CoverageCurve]) -> Option<Plot> {
        let mut main = Figure::new("Coverage of σ_{tot} in E^{EM} bins")
            .y_label("fraction of clusters covered")
            .log_x(true)
            .legend(Legend::Right);
        let mut width = Figure::new("").x_label("E^{EM} [GeV]").y_label("core width").log_x(true).hline(1.0);
        let (mut any, mut any_width) = (false, false);
        let mut span = (f64::INFINITY, f64::NEG_INFINITY);
        for c in sorted(curves, |c| order(&self.label(&c.method))) {
            let x = edge_centres(&c.e_em_edges, true);
            let y1 = unwrap_nan(&c.coverage_1sigma);
            let y2 = unwrap_nan(&c.coverage_2sigma);
            if has_data(&x, &y1, true, false) || has_data(&x, &y2, true, false) {
                any = true;
                let label = self.label(&c.method);
                main = self.line_points(main, &label, &x, &y1);
                main = self.line_points(main, &label, &x, &y2);
                span = (span.0.min(c.e_em_edges[0]), span.1.max(c.e_em_edges[c.e_em_edges.len() - 1]));
            }
            let w = unwrap_nan(&c.core_width);
            if has_data(&x, &w, true, false) {
                any_width = true;
                width = self.line_points(width, "", &x, &w).style(self.style(&c.method));
            }
        }
        if !any {
            return None;
        }
        let nominal = Style::reference().with_colour(Colour::GREY);
        let xs = [span.0, span.1];
        main = main.line("Gaussian 68.3 %, 95.4 %", &xs, &[0.683, 0.683]).style(nominal);
        main = main.line("Gaussian 68.3 %, 95.4 %", &xs, &[0.954, 0.954]).style(nominal);
        if !any_width {
            return Some(Plot::Single(main.x_label("E^{EM} [GeV]")));
        }
        Some(Plot::Ratio(RatioFigure::new(main, width).heights(&[2.4, 1.0])))
    }

    fn spectrum_section(&self) -> Section {
        let mut s = Section::new("Spectrum of the relative uncertainty");
        let mut selections: Vec<&str> = Vec::new();
        for sp in &self.s.spectra {
            if !selections.contains(&sp.selection.as_str()) {
                selections.push(&sp.selection);
            }
        }
        if selections.is_empty() {
            s = not_run(s, "the uncertainty spectra");
        }
        for sel in selections {
            match self.spectrum_grid(sel) {
                Some(g) => s = s.figure(g, &spectrum_caption(sel)),
                None => s = not_run(s, &format!("the uncertainty spectra ({sel})")),
            }
        }
        match self.eta_figure(&self.s.sigma_vs_eta) {
            Some(f) => s.figure(
                f,
                "Median relative uncertainty in fine |η| bins, with the 16–84 % range of the clusters as a band. In \
                 the tile-gap window (shaded) the EM-scale signal is a poor proxy for the deposit and the true spread \
                 jumps; σ_{tot} follows it.",
            ),
            None => not_run(s, "σ against |η|"),
        }
    }

    /// One panel per kind of σ, each with every network's spectrum, its gap clusters filled, and
    /// the truth sd*/mean* where it is comparable (tot and syst).
    fn spectrum_grid(&self, selection: &str) -> Option<Grid> {
        let of_sel: Vec<&Spectrum> = self.s.spectra.iter().filter(|sp| sp.selection == selection).collect();
        let truth: Option<&&Spectrum> = of_sel.iter().find(|sp| sp.method.eq_ignore_ascii_case("truth"));
        let panels: Vec<Figure> = KINDS
            .iter()
            .filter_map(|kind| {
                let mut nets: Vec<&Spectrum> = of_sel
                    .iter()
                    .copied()
                    .filter(|sp| sp.kind == *kind && !sp.method.eq_ignore_ascii_case("truth"))
                    .collect();
                nets.sort_by_key(|sp| order(&self.label(&sp.method)));
                let truth = truth.filter(|_| *kind != "stat").copied();
                self.spectrum_panel(kind, &nets, truth)
            })
            .collect();
        if panels.is_empty() {
            return None;
        }
        let title = format!("Relative uncertainty, {}", selection_label(selection));
        Some(Grid::new(3).title(&title).shared_legend(true).cell_size(440, 340).figures(panels))
    }

    fn spectrum_panel(&self, kind: &str, nets: &[&Spectrum], truth: Option<&Spectrum>) -> Option<Figure> {
        let mut f = Figure::new(&format!("σ_{{{kind}}}"))
            .x_label(&format!("σ_{{{kind}}} / R_{{pred}}"))
            .y_label("fraction of clusters per bin")
            .log_x(true);
        let mut any = false;
        let mut peaks: Vec<String> = Vec::new();
        for sp in nets.iter().copied().chain(truth) {
            let (all, gap) = shares(sp);
            if !has_hist(&sp.edges, &all) {
                continue;
            }
            any = true;
            let label = if sp.method.eq_ignore_ascii_case("truth") {
                "truth sd^{*}/mean^{*}".to_string()
            } else {
                self.label(&sp.method)
            };
            let style = self.style(&sp.method);
            let zeros = vec![0.0; gap.len()];
            if has_hist(&sp.edges, &gap) {
                f = f.histogram_band(&format!("{label}, gap clusters"), &sp.edges, &zeros, &gap).style(style);
            }
            f = f.histogram(&label, &sp.edges, &all).style(style);
            if sp.selection != "all" {
                let who = if sp.method.eq_ignore_ascii_case("truth") { "truth" } else { &label };
                peaks.push(match sp.modes.gap_mode {
                    Some(at) => format!("{who}: gap maximum at {at:.2}"),
                    None => format!("{who}: no gap maximum"),
                });
            }
        }
        for p in peaks {
            f = f.note(&p);
        }
        any.then_some(f)
    }

    fn eta_figure(&self, curves: &[BinnedCurve]) -> Option<Figure> {
        let mut f = Figure::new("Relative uncertainty against |η|")
            .x_label("|η_{clus}|")
            .y_label("median σ_{tot} / R_{pred}")
            .shade_x(GAP_WINDOW.0, GAP_WINDOW.1, "tile-gap window");
        let mut any = false;
        for c in sorted(curves, |c| order(&self.label(&c.method))) {
            let x = edge_centres(&c.edges, false);
            let y = unwrap_nan(&c.median);
            if !has_data(&x, &y, false, false) {
                continue;
            }
            any = true;
            let label = if c.method.eq_ignore_ascii_case("truth") {
                "truth sd^{*}/mean^{*}".to_string()
            } else {
                self.label(&c.method)
            };
            let style = self.style(&c.method);
            let (lo, hi) = (unwrap_nan(&c.q16), unwrap_nan(&c.q84));
            f = f.band(&label, &x, &lo, &hi).style(style).line(&label, &x, &y).style(style);
        }
        any.then_some(f)
    }

    fn truth_section(&self) -> Section {
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

    fn scan_section(&self) -> Section {
        scan_section(&self.pal, self.s.scan.as_ref())
    }

    fn training_section(&self) -> Section {
        let mut s = Section::new("Training").table(self.models_table());
        let mut curves: Vec<&TrainingCurve> = self.s.training.iter().collect();
        curves.sort_by_key(|c| order(&self.label(&c.method)));
        let panels: Vec<Figure> = curves.iter().filter_map(|c| self.training_panel(c)).collect();
        if panels.is_empty() {
            return not_run(s, "the training curves");
        }
        let cols = panels.len().clamp(1, 2);
        s = s.figure(
            Grid::new(cols).title("Training curves").cell_size(640, 360).figures(panels),
            "Loss per epoch on the training set (solid) and the validation set (dashed) of every network; a vertical \
             line marks where a two-step training starts its second step. A validation loss that turns up would mean \
             over-fitting; the checkpoint kept is the epoch of the lowest validation loss.",
        );
        s
    }

    fn models_table(&self) -> Table {
        let mut t = Table::new(&["network", "architecture", "epochs", "draws", "training time", "samples / s"])
            .caption("The trained networks; draws are the weight samples (BNN) or members (RE) a prediction averages.");
        for m in &self.s.description.models {
            t = t.row([
                Cell::from(m.label.as_str()),
                Cell::from(m.network.as_str()),
                Cell::num(m.epochs as f64, 0),
                Cell::num(m.draws as f64, 0),
                Cell::from(duration(m.train_seconds)),
                Cell::from(count(m.samples_per_second.max(0.0).round() as usize)),
            ]);
        }
        t
    }

    fn training_panel(&self, c: &TrainingCurve) -> Option<Figure> {
        let x: Vec<f64> = c.epoch.iter().map(|&e| e as f64).collect();
        let val = unwrap_nan(&c.val_loss);
        let values: Vec<f64> = c.train_loss.iter().chain(&val).copied().filter(|v| v.is_finite()).collect();
        if values.is_empty() || x.is_empty() {
            return None;
        }
        let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        // Positive losses spanning a decade or more read better on a log axis.
        let log = lo > 0.0 && hi / lo > 10.0;
        let label = self.label(&c.method);
        let style = self.style(&c.method);
        let mut f = Figure::new(&label)
            .x_label("epoch")
            .y_label(if c.loss.is_empty() { "loss" } else { &c.loss })
            .log_y(log)
            .line(&format!("{label}, training"), &x, &c.train_loss)
            .style(style);
        if has_data(&x, &val, false, log) {
            f = f.dashed(&format!("{label}, validation"), &x, &val).style(style);
        }
        for &e in c.step_starts.iter().filter(|&&e| e > c.epoch.first().copied().unwrap_or(0)) {
            f = f.vline(e as f64);
        }
        Some(f)
    }
}

/// The comparison of BNN and RE uncertainties, in words: what mean-field VI gives and what not.
const VI_TEXT: &str = "What the two Bayesian methods can be expected to agree on. The BNN is trained by mean-field \
    variational inference: every weight has its own independent Gaussian. Such a posterior is known to underestimate \
    the uncertainty between regions of data (in-between uncertainty, Foong et al. 2019). On the 1-D toy of \
    docs/bnn-loss.md, with 10^{3} points and a gap in x, the exact posterior (Hamiltonian Monte Carlo) has σ_{stat} \
    13 times larger in the gap than in the bulk (about 0.27; the chains are not fully converged there); the BNN keeps a ratio of 0.89 (gap 0.070) and the \
    16-member repulsive ensemble 1.61 (gap 0.0088): the ensemble has the contrast but a much smaller scale. With \
    10^{4} points the ratios are 1.53 (BNN) and 5.55 (RE). Neither σ_{stat} is the exact one; on this sample the \
    ensemble's is the smaller (the median ratio below). σ_{syst} is a different matter: each weight draw learns the \
    variance that fits its own residuals, σ_{true}^{2} + (μ_{θ} − m)^{2} with m the true mean, so averaged over \
    draws σ_{syst}^{2} ≈ σ_{true}^{2} + σ_{stat}^{2} + bias^{2}, slightly above the true spread. The figures \
    below and items 7.8.5 and 7.8.7 of the acceptance table show how far the two agree on this sample.";

/// The five binning variables of the response metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    EDep,
    EEm,
    Mu,
    NPv,
    AbsEta,
}

impl Var {
    fn bins(self, m: &MethodMetrics) -> &[BinSummary] {
        let r = &m.response;
        match self {
            Var::EDep => &r.by_e_dep,
            Var::EEm => &r.by_e_em,
            Var::Mu => &r.by_mu,
            Var::NPv => &r.by_n_pv,
            Var::AbsEta => &r.by_abs_eta,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Var::EDep => "E_{dep}",
            Var::EEm => "E^{EM}",
            Var::Mu => "⟨μ⟩",
            Var::NPv => "N_{PV}",
            Var::AbsEta => "|η|",
        }
    }
    fn axis(self) -> &'static str {
        match self {
            Var::EDep => "E_{dep} [GeV]",
            Var::EEm => "E^{EM} [GeV]",
            Var::Mu => "⟨μ⟩ (interactions per crossing)",
            Var::NPv => "N_{PV} (primary vertices)",
            Var::AbsEta => "|η_{clus}|",
        }
    }
    fn log(self) -> bool {
        matches!(self, Var::EDep | Var::EEm)
    }
    fn linearity_caption(self) -> String {
        let what = match self {
            Var::EDep => {
                "The EM scale is low by the hadronic and pile-up losses; at low E_{dep} every curve, the \
                          oracle's too, rises above 1 from the migration bias of binning in the truth."
            }
            Var::EEm => {
                "In bins of the observed E^{EM} there is no migration bias: a calibration that closes sits \
                         near 1 wherever the oracle does."
            }
            Var::Mu => {
                "Pile-up adds energy that the tables built without it do not remove; the networks see ⟨μ⟩ and \
                        N_{PV} and stay flat."
            }
            Var::NPv => "The same against the number of reconstructed vertices.",
            Var::AbsEta => {
                "Against |η| the tile-gap window (shaded) is where the EM-scale signal is the poorest \
                            proxy for the deposit."
            }
        };
        format!("Median E/E_{{dep}} of every calibration against {}. {what}", self.name())
    }
    fn resolution_caption(self, ratio: bool) -> String {
        let under = if ratio {
            " Underneath, the ratio to LCW-like (EM scale left out: it is 1.3–2 times worse); docs/calibration-method.md §6.3 asks the BNN \
             to be below 1 in every E_{dep} bin and at most 0.85 below 0.6 GeV."
        } else {
            " No LCW-like tables were evaluated, so there is no ratio panel."
        };
        format!("Relative resolution (Q_{{84}} − Q_{{16}})/(2 median) of E/E_{{dep}} against {}.{under}", self.name())
    }
}

/// A figure with panels underneath, or one without when there is nothing to put under it.
/// (Built and consumed at once, so the size difference of the variants costs nothing.)
#[allow(clippy::large_enum_variant)]
enum Plot {
    Ratio(RatioFigure),
    Single(Figure),
}

impl Plot {
    fn add_to(self, s: Section, caption: &str) -> Section {
        match self {
            Plot::Ratio(f) => s.figure(f, caption),
            Plot::Single(f) => s.figure(f, caption),
        }
    }
}

fn scan_section(pal: &Palette, scan: Option<&Scan>) -> Section {
    let s = Section::new("Training-size scan");
    let Some(scan) = scan.filter(|sc| !sc.points.is_empty()) else {
        return not_run(s, "the training-size scan");
    };
    let s = match scan_figure(pal, scan) {
        Some(f) => s.figure(
            f,
            "BNNs trained on the first N_{train} clusters (docs/calibration-method.md §6.6): the statistical uncertainty falls roughly \
             as N^{−1/2} while σ_{syst} levels off at the mean true sd of the test clusters (black line), which \
             it should reach within 5 % from N = 3 × 10^{5}.",
        ),
        None => not_run(s, "the training-size scan figure"),
    };
    s.table(scan_table(scan))
}

fn scan_figure(pal: &Palette, scan: &Scan) -> Option<Figure> {
    let mut pts: Vec<_> = scan.points.iter().collect();
    pts.sort_by_key(|p| p.n_train);
    let n: Vec<f64> = pts.iter().map(|p| p.n_train as f64).collect();
    let stat: Vec<f64> = pts.iter().map(|p| p.mean_sigma_stat).collect();
    let syst: Vec<f64> = pts.iter().map(|p| p.mean_sigma_syst).collect();
    if !has_data(&n, &stat, true, true) && !has_data(&n, &syst, true, true) {
        return None;
    }
    let bnn = pal.style("BNN");
    let syst_style = bnn.with_marker(Marker::Square).with_dash(Dash::Dashed);
    let mut f = Figure::new("Uncertainties against the training-set size")
        .x_label("N_{train} (clusters)")
        .y_label("mean σ of R")
        .log_x(true)
        .log_y(true)
        .line("⟨σ_{stat}⟩", &n, &stat)
        .style(bnn)
        .points("⟨σ_{stat}⟩", &n, &stat)
        .style(bnn)
        .line("⟨σ_{syst}⟩", &n, &syst)
        .style(syst_style)
        .points("⟨σ_{syst}⟩", &n, &syst)
        .style(syst_style);
    if scan.mean_truth_sd.is_finite() && scan.mean_truth_sd > 0.0 && !n.is_empty() {
        let ends = [n[0] / 1.3, n[n.len() - 1] * 1.3];
        let sd = [scan.mean_truth_sd; 2];
        f = f.line("mean true sd^{*}", &ends, &sd).style(pal.style("truth"));
    }
    if let Some(slope) = scan.stat_slope {
        f = f.note(&format!("fitted slope of ⟨σ_{{stat}}⟩: {slope:.2} (expected ≈ −0.5)"));
    }
    Some(f)
}

fn acceptance_table(rows: &[Acceptance]) -> Table {
    let mut t = Table::new(&["item", "test", "value", "threshold", "result"]).caption(
        "Each acceptance test of docs/calibration-method.md §6 with its measured value and threshold; \"not run\" means the preset cannot test it \
         or a method it needs is missing.",
    );
    for a in rows {
        let verdict = a.passed.map_or(Verdict::NotRun, Verdict::from_bool);
        t = t.row([
            Cell::from(a.item.as_str()),
            Cell::from(a.what.as_str()),
            Cell::from(a.value.as_str()),
            Cell::from(a.threshold.as_str()),
            Cell::from(verdict),
        ]);
    }
    t
}

fn scan_table(scan: &Scan) -> Table {
    let mut t = Table::new(&["N_{train}", "⟨σ_{stat}⟩", "⟨σ_{syst}⟩", "median σ_{stat}/σ_{syst}", "training time"])
        .caption(&format!(
            "The scan's points; the mean true sd of the test clusters is {}.",
            if scan.mean_truth_sd.is_finite() { format!("{:.4}", scan.mean_truth_sd) } else { "unknown".to_string() }
        ));
    let mut pts: Vec<_> = scan.points.iter().collect();
    pts.sort_by_key(|p| p.n_train);
    for p in pts {
        t = t.row([
            Cell::from(count(p.n_train)),
            Cell::num(p.mean_sigma_stat, 4),
            Cell::num(p.mean_sigma_syst, 4),
            Cell::num(p.median_sigma_stat_over_syst, 3),
            Cell::from(duration(p.seconds)),
        ]);
    }
    t
}

/// The feature histograms in a grid of four columns, log x where the edges are log-spaced.
fn features_grid(features: &[super::summary::FeatureHist]) -> Option<Grid> {
    let style = Style::nth(6).with_colour(Colour::BLACK).with_dash(Dash::Solid);
    let panels: Vec<Figure> = features
        .iter()
        .filter(|f| has_hist_scaled(&f.hist.edges, &f.hist.counts, f.log_x))
        .map(|f| {
            Figure::new(&f.name)
                .x_label(&f.label)
                .y_label("clusters per bin")
                .log_x(f.log_x)
                .histogram("", &f.hist.edges, &f.hist.counts)
                .style(style)
        })
        .collect();
    if panels.is_empty() {
        return None;
    }
    Some(Grid::new(4).title("Input features of the test clusters").cell_size(330, 250).figures(panels))
}

/// A 2-D histogram of a [`Scatter`] with a log colour scale, its correlation and median ratio
/// written on it; None when it holds no counts.
fn heatmap_figure(sc: &Scatter, title: &str, diagonal: bool) -> Option<Figure> {
    let h = &sc.hist;
    let usable = |e: &[f64], log: bool| e.len() >= 2 && e.iter().all(|v| v.is_finite() && (!log || *v > 0.0));
    let any = h.counts.iter().any(|c| c.is_finite() && *c > 0.0);
    if !any || !usable(&h.x_edges, sc.log_x) || !usable(&h.y_edges, sc.log_y) {
        return None;
    }
    let map = Heatmap::new(&h.x_edges, &h.y_edges, &h.counts).log(true).label("clusters per bin");
    let mut f =
        Figure::new(title).x_label(&sc.x_label).y_label(&sc.y_label).log_x(sc.log_x).log_y(sc.log_y).heatmap(map);
    if diagonal {
        f = f.diagonal();
    }
    if let Some(r) = sc.correlation {
        let what = if sc.log_x && sc.log_y { "correlation of logs" } else { "correlation" };
        f = f.note(&format!("{what}: {r:.3}"));
    }
    if let Some(m) = sc.median_ratio {
        f = f.note(&format!("median y/x: {m:.3}"));
    }
    Some(f)
}

fn spectrum_caption(selection: &str) -> String {
    let what = if selection.contains('>') {
        "Above 1 GeV the gap clusters (filled) stand apart at the high end: in the truth a secondary maximum after a \
         dip; in the networks, whose σ is smoother in η, a shoulder. The notes name each spectrum's mode that \
         removing the gap clusters removes (docs/calibration-method.md §6.1), when it has one."
    } else {
        "With every cluster the gap clusters (filled) sit on the upper edge as a shoulder, because low-energy clusters \
         are intrinsically broad too."
    };
    format!(
        "Spectrum of σ/R_{{pred}} for σ_{{tot}}, σ_{{stat}} and σ_{{syst}}, {}, with the truth sd^{{*}}/mean^{{*}} \
         (black) where it is comparable. {what}",
        selection_label(selection)
    )
}

/// "E_EM > 1 GeV" in the page's markup.
fn selection_label(selection: &str) -> String {
    match selection {
        "all" => "all clusters".to_string(),
        s => s.replace("E_EM", "E^{EM}"),
    }
}

/// Each bin's share of all clusters of the spectrum, for all clusters and for the gap ones.
fn shares(sp: &Spectrum) -> (Vec<f64>, Vec<f64>) {
    let total: f64 = sp.all.iter().filter(|c| c.is_finite()).sum();
    if total <= 0.0 {
        return (Vec::new(), Vec::new());
    }
    (sp.all.iter().map(|c| c / total).collect(), sp.gap.iter().map(|c| c / total).collect())
}

/// A line saying that a part of the study did not run, in place of its figure.
fn not_run(s: Section, what: &str) -> Section {
    s.paragraph(&format!("Not run in this preset: {what}."))
}

/// The position of a method in legends: the known ones in [`METHODS`] order, others after.
fn order(label: &str) -> usize {
    METHODS.iter().position(|m| m.eq_ignore_ascii_case(label)).unwrap_or(METHODS.len())
}

fn sorted<T>(items: &[T], key: impl Fn(&T) -> usize) -> Vec<&T> {
    let mut v: Vec<&T> = items.iter().collect();
    v.sort_by_key(|t| key(t));
    v
}

/// The centre of a bin: geometric on a log axis.
fn centre(lo: f64, hi: f64, log: bool) -> f64 {
    if log && lo > 0.0 && hi > 0.0 {
        (lo * hi).sqrt()
    } else {
        0.5 * (lo + hi)
    }
}

fn edge_centres(edges: &[f64], log: bool) -> Vec<f64> {
    edges.windows(2).map(|w| centre(w[0], w[1], log)).collect()
}

/// Bin centres and one value per bin; an empty bin is NaN, which the figure skips.
fn bin_points(bins: &[BinSummary], log: bool, value: impl Fn(&BinSummary) -> Option<f64>) -> (Vec<f64>, Vec<f64>) {
    bins.iter().map(|b| (centre(b.lo, b.hi, log), value(b).unwrap_or(f64::NAN))).unzip()
}

/// A method's resolution over LCW-like's in the bins both have.
fn ratio_points(bins: &[BinSummary], lcw: &[BinSummary], log: bool) -> (Vec<f64>, Vec<f64>) {
    bins.iter()
        .map(|b| {
            let base = lcw.iter().find(|l| l.lo == b.lo && l.hi == b.hi).and_then(|l| l.resolution);
            let r = match (b.resolution, base) {
                (Some(a), Some(c)) if c > 0.0 => a / c,
                _ => f64::NAN,
            };
            (centre(b.lo, b.hi, log), r)
        })
        .unzip()
}

fn unwrap_nan(v: &[Option<f64>]) -> Vec<f64> {
    v.iter().map(|x| x.unwrap_or(f64::NAN)).collect()
}

/// Whether at least one point can be drawn on these axes.
fn has_data(x: &[f64], y: &[f64], log_x: bool, log_y: bool) -> bool {
    let ok = |v: f64, log: bool| v.is_finite() && (!log || v > 0.0);
    x.iter().zip(y).any(|(&a, &b)| ok(a, log_x) && ok(b, log_y))
}

/// Whether a histogram has a finite positive bin on usable edges.
fn has_hist(edges: &[f64], counts: &[f64]) -> bool {
    has_hist_scaled(edges, counts, false)
}

fn has_hist_scaled(edges: &[f64], counts: &[f64], log_x: bool) -> bool {
    edges.len() >= 2
        && edges.iter().all(|e| e.is_finite() && (!log_x || *e > 0.0))
        && counts.iter().take(edges.len() - 1).any(|c| c.is_finite() && *c > 0.0)
}

/// `share` times the normal density N(x; mean, sigma²).
fn gauss(x: f64, mean: f64, sigma: f64, share: f64) -> f64 {
    let z = (x - mean) / sigma;
    share * (-0.5 * z * z).exp() / (sigma * (2.0 * std::f64::consts::PI).sqrt())
}

fn opt_cell(v: Option<f64>, decimals: usize) -> Cell {
    v.map_or_else(|| Cell::from("–"), |x| Cell::num(x, decimals))
}

/// A count with thin spaces between groups of three digits: 766 417.
fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

/// A bin edge without trailing zeros: 0.3, 2, 100.
fn num(v: f64) -> String {
    if v.is_finite() && v == v.round() && v.abs() < 1e9 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Seconds as "2 h 5 min", "4 min 12 s" or "38 s".
fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "an unknown time".to_string();
    }
    let s = seconds.round() as u64;
    match s {
        0..=59 => format!("{:.0} s", seconds),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_durations_read_well() {
        assert_eq!(count(766417), "766\u{2009}417");
        assert_eq!(count(12), "12");
        assert_eq!(count(1_000_000), "1\u{2009}000\u{2009}000");
        assert_eq!(duration(38.2), "38 s");
        assert_eq!(duration(252.0), "4 min 12 s");
        assert_eq!(duration(7500.0), "2 h 5 min");
        assert_eq!(duration(f64::NAN), "an unknown time");
        assert_eq!(num(0.3), "0.3");
        assert_eq!(num(100.0), "100");
    }

    #[test]
    fn ratios_match_bins_and_skip_empty_ones() {
        let b = |lo: f64, hi: f64, r: Option<f64>| BinSummary {
            lo,
            hi,
            n: 100,
            median: Some(1.0),
            q16: None,
            q84: None,
            resolution: r,
        };
        let m = [b(0.3, 0.6, Some(0.3)), b(0.6, 1.0, None), b(1.0, 2.0, Some(0.2))];
        let lcw = [b(0.3, 0.6, Some(0.4)), b(0.6, 1.0, Some(0.3))];
        let (x, y) = ratio_points(&m, &lcw, true);
        assert!((x[0] - (0.18f64).sqrt()).abs() < 1e-12);
        assert!((y[0] - 0.75).abs() < 1e-12);
        assert!(y[1].is_nan() && y[2].is_nan());
    }
}
