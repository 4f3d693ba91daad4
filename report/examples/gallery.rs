//! Every figure type of the crate on synthetic numbers, as one report page: a look at what the
//! study apps' pages will look like, and the page `scripts/render-report` is tried on.
//!
//! `cargo run -p report --example gallery -- OUT_DIR` writes OUT_DIR/index.html (default
//! out/gallery) and checks it with `report::check`.

use std::error::Error;
use std::path::PathBuf;

use report::bins::{histogram, linear_edges, log_edges};
use report::{Cell, Figure, Grid, Heatmap, Legend, Page, Palette, RatioFigure, Section, Style, Table, Verdict};

/// A small deterministic generator (xorshift64*), so the gallery needs no dependency.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545F4914F6CDD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-300), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn centres(edges: &[f64], log: bool) -> Vec<f64> {
    edges.windows(2).map(|w| if log { (w[0] * w[1]).sqrt() } else { 0.5 * (w[0] + w[1]) }).collect()
}

/// The response and resolution of each method against E_dep: a linearity figure and a
/// resolution figure with its ratio to LCW underneath.
fn response_figures(pal: &Palette) -> (Figure, RatioFigure) {
    let e = centres(&log_edges(0.1, 1000.0, 30), true);
    let methods: [(&str, f64, f64); 5] = [
        ("EM scale", 0.55, 0.30),
        ("LCW-like", 0.9, 0.22),
        ("DNN", 0.97, 0.17),
        ("BNN", 0.99, 0.15),
        ("RE", 0.985, 0.155),
    ];
    let mut lin =
        Figure::new("Response linearity").x_label("E_{dep} [GeV]").y_label("median E/E_{dep}").log_x(true).hline(1.0);
    let mut res =
        Figure::new("Relative energy resolution").y_label("IQR_{68} / (2 median)").log_x(true).x_label("E_{dep} [GeV]");
    let mut ratio = Figure::new("").y_label("ratio to LCW").log_x(true).hline(1.0).y_range(0.5, 1.15);
    let lcw_res: Vec<f64> = e.iter().map(|v| 0.22 / v.powf(0.25) + 0.03).collect();
    for (name, scale, r0) in methods {
        let resp: Vec<f64> = e.iter().map(|v| 1.0 - (1.0 - scale) / (1.0 + 0.3 * v.ln().max(-2.0) + 0.5)).collect();
        let sigma: Vec<f64> = e.iter().map(|v| r0 / v.powf(0.25) + 0.03).collect();
        if name == "BNN" {
            let lo: Vec<f64> = resp.iter().zip(&e).map(|(r, v)| r - 0.02 / v.sqrt().max(0.5)).collect();
            let hi: Vec<f64> = resp.iter().zip(&e).map(|(r, v)| r + 0.02 / v.sqrt().max(0.5)).collect();
            lin = lin.band(name, &e, &lo, &hi).style(pal.style(name));
        }
        lin = lin.line(name, &e, &resp).style(pal.style(name));
        res = res.line(name, &e, &sigma).style(pal.style(name));
        let r: Vec<f64> = sigma.iter().zip(&lcw_res).map(|(a, b)| a / b).collect();
        ratio = ratio.line("", &e, &r).style(pal.style(name));
    }
    (lin, RatioFigure::new(res, ratio))
}

/// Classifier weights of truth and generated events: log-log step histograms with an ensemble
/// band and the line w = 1.
fn weight_histogram(rng: &mut Rng, pal: &Palette) -> Figure {
    let edges = log_edges(1e-3, 1e2, 50);
    let truth: Vec<f64> = (0..20000).map(|_| (0.35 * rng.normal()).exp()).collect();
    let gen: Vec<f64> =
        (0..20000).map(|_| (0.6 * rng.normal() - 0.15 + if rng.uniform() < 0.05 { -2.5 } else { 0.0 }).exp()).collect();
    let norm = |v: Vec<f64>| {
        let total: f64 = v.iter().sum();
        v.into_iter().map(|c| c / total).collect::<Vec<_>>()
    };
    let (t, g) = (norm(histogram(&truth, None, &edges)), norm(histogram(&gen, None, &edges)));
    let lo: Vec<f64> = g.iter().map(|c| c * 0.85).collect();
    let hi: Vec<f64> = g.iter().map(|c| c * 1.15).collect();
    Figure::new("Classifier weights, truth and generated")
        .x_label("weight w = D/(1 \u{2212} D)")
        .y_label("fraction of events")
        .log_x(true)
        .log_y(true)
        .histogram_band("Gen. (ensemble 16\u{2013}84%)", &edges, &lo, &hi)
        .style(pal.style("Gen"))
        .histogram("Truth", &edges, &t)
        .style(pal.style("Truth"))
        .histogram("Gen.", &edges, &g)
        .style(pal.style("Gen"))
        .vline(1.0)
}

/// R_pred against R_EM as a 2-D histogram with a log colour scale and the diagonal.
fn prediction_heatmap(rng: &mut Rng) -> Figure {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..40000 {
        let r = (0.25 * rng.normal() - 0.4).exp().min(3.0);
        x.push(r);
        y.push(r * (1.0 + 0.08 * rng.normal()));
    }
    let edges = linear_edges(0.0, 1.6, 60);
    Figure::new("Predicted against true response")
        .x_label("R^{EM} (true)")
        .y_label("R_{pred} (BNN)")
        .heatmap(Heatmap::from_points(&x, &y, &edges, &edges).log(true).label("clusters per bin"))
        .diagonal()
        .size(560, 480)
}

/// A pull histogram with its Gaussian core fit, written on the plot.
fn pull_figure(rng: &mut Rng, method: &str, title: &str, width: f64, style: Style) -> Figure {
    let pulls: Vec<f64> =
        (0..5000).map(|_| width * rng.normal() + if rng.uniform() < 0.03 { 3.0 * rng.normal() } else { 0.0 }).collect();
    let edges = linear_edges(-5.0, 5.0, 50);
    let counts = histogram(&pulls, None, &edges);
    let total: f64 = counts.iter().sum::<f64>() * 0.2;
    let density: Vec<f64> = counts.iter().map(|c| c / total).collect();
    let err: Vec<f64> = counts.iter().map(|c| c.sqrt() / total).collect();
    let x: Vec<f64> = (0..=200).map(|i| -5.0 + i as f64 * 0.05).collect();
    let gauss: Vec<f64> =
        x.iter().map(|v| (-0.5 * (v / width).powi(2)).exp() / (width * (2.0 * std::f64::consts::PI).sqrt())).collect();
    Figure::new(title)
        .x_label("pull (R_{pred} \u{2212} R^{EM}) / \u{3c3}")
        .y_label("density")
        .histogram_with_errors(&format!("{method} pulls"), &edges, &density, &err)
        .style(style)
        .dashed("core fit", &x, &gauss)
        .style(Style::reference())
        .note(&format!("Gaussian core fit: mean 0.01, width {width:.2}"))
}

/// sigma_stat and sigma_syst against the training-set size, log-log, with the truth line.
fn scan_figure(pal: &Palette) -> Figure {
    let n = [1e4, 3e4, 1e5, 3e5, 1e6];
    let stat: Vec<f64> = n.iter().map(|v: &f64| 0.3 * v.powf(-0.5) * 10.0).collect();
    let syst: Vec<f64> = n.iter().map(|v: &f64| 0.1 * (1.0 + 30.0 / v.sqrt())).collect();
    let err: Vec<f64> = stat.iter().map(|s| 0.1 * s).collect();
    Figure::new("Uncertainties against training-set size")
        .x_label("N_{train}")
        .y_label("mean \u{3c3} / R")
        .log_x(true)
        .log_y(true)
        .error_bars("\u{3c3}_{stat}", &n, &stat, &err)
        .style(pal.style("BNN"))
        .points("\u{3c3}_{syst}", &n, &syst)
        .style(pal.style("RE"))
        .hline(0.1)
        .text(1.2e4, 0.085, "truth sd")
        .note("fitted slope of \u{3c3}_{stat}: \u{2212}0.50 \u{b1} 0.02")
}

/// sigma against |eta| with the tile-gap window shaded.
fn eta_figure(pal: &Palette) -> Figure {
    let eta: Vec<f64> = (0..60).map(|i| i as f64 * 0.05).collect();
    let bump = |v: f64| if (1.2..1.6).contains(&v) { 0.12 } else { 0.0 };
    let syst: Vec<f64> = eta.iter().map(|&v| 0.06 + 0.01 * v + bump(v)).collect();
    let stat: Vec<f64> = eta.iter().map(|&v| 0.01 + 0.004 * v + bump(v) * 0.2).collect();
    Figure::new("Uncertainty against |\u{3b7}|")
        .x_label("|\u{3b7}_{clus}|")
        .y_label("median \u{3c3} / R_{pred}")
        .shade_x(1.2, 1.6, "tile-gap window")
        .line("\u{3c3}_{syst} (BNN)", &eta, &syst)
        .style(pal.style("BNN"))
        .dashed("\u{3c3}_{stat} (BNN)", &eta, &stat)
        .style(pal.style("BNN"))
        .line("\u{3c3}_{syst} (RE)", &eta, &syst.iter().map(|s| s * 1.05).collect::<Vec<_>>())
        .style(pal.style("RE"))
}

/// An observable with Truth, Gen and reweighted Gen, the ratios to Truth and the mean weight.
fn observable_figure(rng: &mut Rng, pal: &Palette) -> RatioFigure {
    let edges = linear_edges(60.0, 120.0, 40);
    let truth: Vec<f64> = (0..30000).map(|_| 91.2 + 2.5 * rng.normal()).collect();
    let gen: Vec<f64> = (0..30000).map(|_| 91.0 + 3.2 * rng.normal()).collect();
    let density = |v: &[f64], w: Option<&[f64]>| {
        let c = histogram(v, w, &edges);
        let total: f64 = c.iter().sum::<f64>() * 1.5;
        c.into_iter().map(|x| x / total).collect::<Vec<_>>()
    };
    let weights: Vec<f64> = gen
        .iter()
        .map(|m| {
            ((-0.5 * ((m - 91.2) / 2.5).powi(2)).exp() / (-0.5 * ((m - 91.0) / 3.2).powi(2)).exp() * 2.5 / 3.2)
                .max(1e-3)
        })
        .collect();
    let (t, g, r) = (density(&truth, None), density(&gen, None), density(&gen, Some(&weights)));
    let ratio = |a: &[f64]| a.iter().zip(&t).map(|(x, y)| if *y > 0.0 { x / y } else { f64::NAN }).collect::<Vec<_>>();
    let mean_w: Vec<f64> = r.iter().zip(&g).map(|(a, b)| if *b > 0.0 { a / b } else { f64::NAN }).collect();
    let main = Figure::new("M_{\u{3bc}\u{3bc}} of truth, generated and reweighted events")
        .y_label("normalised density [1/GeV]")
        .histogram("Truth", &edges, &t)
        .style(pal.style("Truth"))
        .histogram("Gen.", &edges, &g)
        .style(pal.style("Gen"))
        .histogram("Reweighted", &edges, &r)
        .style(pal.style("Reweighted"));
    let ratios = Figure::new("")
        .y_label("ratio to Truth")
        .histogram("", &edges, &ratio(&g))
        .style(pal.style("Gen"))
        .histogram("", &edges, &ratio(&r))
        .style(pal.style("Reweighted"))
        .hline(1.0)
        .y_range(0.71, 1.29);
    let weight = Figure::new("")
        .x_label("M_{\u{3bc}\u{3bc}} [GeV]")
        .y_label("\u{27e8}w\u{27e9}")
        .histogram("", &edges, &mean_w)
        .style(pal.style("Reweighted"))
        .hline(1.0)
        .y_range(0.0, 2.3);
    RatioFigure::new(main, ratios).panel(weight).heights(&[3.0, 1.2, 1.2])
}

/// Coverage at 1 and 2 sigma in bins of E_EM, with the nominal values; the legend goes below.
fn coverage_figure(pal: &Palette) -> Figure {
    let e = centres(&log_edges(0.1, 100.0, 12), true);
    let one: Vec<f64> = e.iter().map(|v| 0.683 + 0.03 * (v.ln() * 0.7).sin()).collect();
    let two: Vec<f64> = e.iter().map(|v| 0.954 + 0.012 * (v.ln() * 0.5).cos()).collect();
    let re: Vec<f64> = one.iter().map(|c| c - 0.02).collect();
    let err = vec![0.008; e.len()];
    Figure::new("Coverage of the predicted uncertainty")
        .x_label("E^{EM}_{clus} [GeV]")
        .y_label("fraction of clusters covered")
        .log_x(true)
        .y_range(0.55, 1.0)
        .error_bars("BNN, 1\u{3c3}", &e, &one, &err)
        .style(pal.style("BNN"))
        .error_bars("RE, 1\u{3c3}", &e, &re, &err)
        .style(pal.style("RE"))
        .points("BNN, 2\u{3c3}", &e, &two)
        .style(pal.style("BNN"))
        .hline(0.683)
        .hline(0.954)
        .legend(Legend::Below)
}

/// Per-cluster uncertainties of BNN against RE on log-log axes, with the correlation written on.
fn bnn_vs_re(rng: &mut Rng) -> Figure {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..30000 {
        let s = (0.7 * rng.normal() - 3.0).exp();
        a.push(s);
        b.push(s * (1.04 + 0.15 * rng.normal()).max(0.2));
    }
    let edges = log_edges(1e-3, 1.0, 45);
    Figure::new("\u{3c3}_{tot} per cluster, RE against BNN")
        .x_label("\u{3c3}_{tot} (BNN)")
        .y_label("\u{3c3}_{tot} (RE)")
        .log_x(true)
        .log_y(true)
        .heatmap(Heatmap::from_points(&a, &b, &edges, &edges).log(true).label("clusters"))
        .diagonal()
        .note("Pearson correlation of log \u{3c3}: 0.93")
        .note("median \u{3c3}_{RE}/\u{3c3}_{BNN}: 1.04")
        .size(560, 480)
}

/// Training and validation loss of every model against the epoch, with the legend on the right.
fn training_curves(pal: &Palette) -> Figure {
    let epochs: Vec<f64> = (1..=60).map(f64::from).collect();
    let mut fig = Figure::new("Training curves")
        .x_label("epoch")
        .y_label("loss \u{2212} min loss + 10^{\u{2212}3}")
        .log_y(true)
        .legend(Legend::Right);
    for (k, m) in ["DNN", "DNN-LGK", "BNN", "RE"].iter().enumerate() {
        let train: Vec<f64> = epochs.iter().map(|e| 0.5 * (-e / (8.0 + 3.0 * k as f64)).exp() + 1e-3).collect();
        let val: Vec<f64> = train.iter().map(|t| t * 1.3 + 2e-3).collect();
        fig = fig.line(&format!("{m} training"), &epochs, &train).style(pal.style(m));
        fig = fig.dashed(&format!("{m} validation"), &epochs, &val).style(pal.style(m));
    }
    fig
}

fn headline_table() -> Table {
    let rows: [(&str, f64, &str, Verdict); 6] = [
        ("closure above 1 GeV: |median E/E_{dep} \u{2212} 1|", 0.004, "< 0.01", Verdict::Pass),
        ("resolution BNN / LCW-like below 0.6 GeV", 0.81, "\u{2264} 0.85", Verdict::Pass),
        ("BNN pull core width", 0.97, "0.9 \u{2013} 1.1", Verdict::Pass),
        ("RE coverage at 1\u{3c3}", 0.642, "0.65 \u{2013} 0.71", Verdict::Fail),
        ("median \u{3c3}_{syst} / truth sd", 1.02, "0.95 \u{2013} 1.05", Verdict::Pass),
        ("slope of \u{3c3}_{stat} against N_{train}", -0.52, "\u{2212}0.7 \u{2013} \u{2212}0.3", Verdict::NotRun),
    ];
    let mut t = Table::new(&["acceptance test", "value", "threshold", "result"])
        .caption("Headline numbers of the quick preset against the thresholds of the specification.");
    for (name, value, threshold, verdict) in rows {
        t = t.row([Cell::from(name), Cell::num(value, 3), Cell::from(threshold), Cell::from(verdict)]);
    }
    t
}

fn bins_table() -> Table {
    let e = log_edges(0.1, 1000.0, 30);
    let mut t =
        Table::new(&["E_{dep} bin [GeV]", "clusters", "median (BNN)", "IQR_{68}/2 median (BNN)", "ratio to LCW"]);
    for (i, w) in e.windows(2).enumerate() {
        let res = 0.15 / w[0].powf(0.25) + 0.03;
        t = t.row([
            Cell::from(format!("{:.3} \u{2013} {:.3}", w[0], w[1])),
            Cell::num(50000.0 / (1.0 + i as f64), 0),
            Cell::num(1.0 - 0.01 / (1.0 + i as f64), 4),
            Cell::num(res, 4),
            Cell::num(0.7 + 0.01 * i as f64, 3),
        ]);
    }
    t
}

/// The look of every method the gallery draws, one slot of the cycle each (DNN-LGK and
/// Reweighted never meet on one figure).
fn palette() -> Palette {
    Palette::new()
        .slot("BNN", 0)
        .slot("LCW-like", 1)
        .slot("DNN", 2)
        .slot("RE", 3)
        .slot("Gen", 4)
        .slot("DNN-LGK", 5)
        .slot("Reweighted", 5)
        .slot("Truth", 6)
        .slot("EM scale", 7)
}

fn main() -> Result<(), Box<dyn Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "out/gallery".to_string()));
    std::fs::create_dir_all(&out)?;
    let pal = palette();
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let (linearity, resolution) = response_figures(&pal);
    let pulls: Vec<Figure> = [("BNN", 0.97), ("RE", 0.93)]
        .iter()
        .flat_map(|&(m, w)| {
            let style = pal.style(m);
            ["tot", "stat", "syst"].map(|kind| (m, kind, w, style))
        })
        .map(|(m, kind, w, style)| {
            let width = if kind == "stat" { w * 0.6 } else { w };
            pull_figure(&mut rng, m, &format!("{m}, \u{3c3}_{{{kind}}}"), width, style)
        })
        .collect();
    let grid = Grid::new(3)
        .title("Pulls of BNN (top) and RE (bottom)")
        .share_x(true)
        .share_y(true)
        .shared_legend(true)
        .cell_size(400, 300)
        .figures(pulls);

    let page = Page::new("Report gallery: every figure type on synthetic numbers")
        .intro(
            "This page shows each kind of figure the report crate draws, on made-up numbers shaped like those of the \
             calibration and generator-weight studies. Every method keeps its colour, dash pattern and marker on every \
             figure; legends sit where they hide no data.",
        )
        .section(
            Section::new("Headline numbers")
                .paragraph("Each acceptance test with its value, its threshold and a verdict shown by a symbol, a word and a colour.")
                .table(headline_table())
                .details("Resolution in every E_{dep} bin (30 rows)", bins_table()),
        )
        .section(
            Section::new("Response and resolution")
                .figure(linearity, "Median response against deposited energy on a log axis, with the BNN's 1\u{3c3} band. The dashed grey line is the ideal response.")
                .figure(resolution, "Relative resolution of each method, with its ratio to LCW-like underneath sharing the x axis."),
        )
        .section(
            Section::new("Predictions and uncertainties")
                .figure(prediction_heatmap(&mut rng), "R_{pred} against R^{EM} as a 2-D histogram with a log colour scale; empty bins stay white and the dashed line is y = x.")
                .figure(scan_figure(&pal), "Log\u{2013}log scan: \u{3c3}_{stat} falls as N_{train}^{\u{2212}1/2} while \u{3c3}_{syst} approaches the truth sd.")
                .figure(eta_figure(&pal), "Uncertainty against |\u{3b7}| with the tile-gap window shaded, where \u{3c3}_{syst} rises.")
                .figure(coverage_figure(&pal), "Coverage at 1\u{3c3} and 2\u{3c3} in bins of E^{EM}; the dashed lines are the nominal 68.3% and 95.4%. The legend sits under the plot.")
                .figure(bnn_vs_re(&mut rng), "Per-cluster \u{3c3}_{tot} of RE against BNN on log\u{2013}log axes, with the correlation and median ratio written on the plot.")
                .figure(training_curves(&pal), "Training (solid) and validation (dashed) loss of every model; with eight entries the legend moves to the right of the plot.")
                .figure(grid, "A grid with shared axes: x tick labels only on the bottom row, y tick labels only in the first column; each panel carries its core fit, and one legend serves all six."),
        )
        .section(
            Section::new("Generator weights")
                .figure(weight_histogram(&mut rng, &pal), "Weights on log\u{2013}log axes: truth and generated events, the ensemble band, and the line w = 1.")
                .figure(observable_figure(&mut rng, &pal), "Three panels sharing x: the observable, the ratio to truth (0.71\u{2013}1.29) and the mean weight per bin."),
        )
        .footer("Written by the gallery example of the report crate; synthetic numbers, fixed seed.");
    let html = page.to_html();
    let path = out.join("index.html");
    std::fs::write(&path, &html)?;
    let check = report::check::check_page(&html);
    print!("{check}");
    println!("wrote {}", path.display());
    if check.passed() {
        Ok(())
    } else {
        Err("the gallery page failed its own check".into())
    }
}
