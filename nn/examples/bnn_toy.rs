//! A Bayesian network and a repulsive ensemble on a 1-D toy whose answer is known (nn::teaching::toy):
//! y = sin x + sigma(x) z with sigma(x) = 0.1 + 0.2 |x| / 3, x on [-3, 3], and no training data
//! in the gap (1, 2).
//!
//! It shows the two kinds of uncertainty doing what they should:
//! - sigma_syst (the learned noise, aleatoric) follows the true sigma(x);
//! - sigma_stat (the spread of the weight draws, epistemic) grows in the gap;
//! - as the training set grows (10^3, 10^4, 10^5 points) sigma_stat shrinks while sigma_syst
//!   settles on the true noise;
//! - a repulsive ensemble of 16 members gives the same picture.
//!
//!     cargo run --release -p nn --example bnn_toy [-- --out DIR] [-- --quick]
//!
//! The numbers go to the terminal and to DIR/summary.txt, the plots to DIR/*.svg (default
//! out/bnn_toy/). `--quick` trains shorter, for a smoke run. docs/bnn-loss.md derives the loss.

use autodiff::Device;
use nn::diagnostics::{coverage, gauss_core_fit, pulls};
use nn::predictive::Prediction;
use nn::teaching::toy::{self, Calibration, Recipe};
use nn::Module;
use report::{Figure, Palette, Style};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const DRAWS: usize = 50;
const MEMBERS: usize = 16;
const TEST_POINTS: usize = 20_000;

struct Args {
    out: PathBuf,
    quick: bool,
}

fn args() -> Args {
    let mut a = Args { out: PathBuf::from("out/bnn_toy"), quick: false };
    let mut it = std::env::args().skip(1);
    while let Some(s) = it.next() {
        match s.as_str() {
            "--out" => a.out = it.next().map(PathBuf::from).unwrap_or(a.out),
            "--quick" => a.quick = true,
            "-h" | "--help" => {
                println!("usage: bnn_toy [--out DIR] [--quick]");
                std::process::exit(0);
            }
            other => {
                eprintln!("unknown argument {other}; usage: bnn_toy [--out DIR] [--quick]");
                std::process::exit(2);
            }
        }
    }
    a
}

/// The recipe per training-set size: the same number of updates for 10^3 and 10^4 points,
/// fewer epochs (still more updates) for 10^5.
fn recipe(n: usize, quick: bool) -> Recipe {
    let steps = match (n, quick) {
        (_, true) => 1500,
        (n, false) if n >= 100_000 => 8000,
        _ => 6000,
    };
    Recipe { steps, progress: true, ..Recipe::default() }
}

fn report(name: &str, c: &Calibration, out: &mut String) {
    let line = format!(
        "{name:<22} sigma_syst/true (median) {:.3}   sigma_stat gap/bulk {:.2} ({:.4} / {:.4})   pull width {:.3} (core {:.3}, mean {:+.3})",
        c.syst_over_true,
        c.stat_gap_over_bulk(),
        c.stat_gap,
        c.stat_bulk,
        c.pull_width,
        c.pull_core_width,
        c.pull_mean
    );
    println!("{line}");
    out.push_str(&line);
    out.push('\n');
}

/// Pull diagnostics from nn::diagnostics on the held-out points outside the gap.
fn pull_details(model: &dyn Module, test: &nn::Dataset, draws: usize, dev: &Device, out: &mut String) -> Res<Vec<f64>> {
    let p = toy::predict_at(model, test.x(), draws, dev)?;
    let keep: Vec<usize> = (0..test.len()).filter(|&i| !toy::in_gap(test.x()[i])).collect();
    let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let q = pulls(&pick(test.y()), &pick(&p.mean), &pick(&p.sigma_tot()));
    let fit = gauss_core_fit(&q);
    let line = format!(
        "{:<22} Gaussian core fit of the pulls: mean {:+.3}, width {:.3}; coverage of +-1 sigma {:.3} (0.683), +-2 sigma {:.3} (0.954)",
        "",
        fit.mean,
        fit.sigma,
        coverage(&q, 1.0),
        coverage(&q, 2.0)
    );
    println!("{line}");
    out.push_str(&line);
    out.push('\n');
    Ok(q)
}

/// The look of each method on this example's figures, one slot of the style cycle each.
fn style(method: &str) -> Style {
    Palette::new().slot("BNN", 0).slot("RE", 3).slot("Truth", 6).style(method)
}

/// Shades the gap, where there is no training data.
fn gap(fig: Figure) -> Figure {
    fig.shade_x(toy::GAP.0, toy::GAP.1, "gap: no training data")
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

/// One training-set size of the BNN scan: its size, calibration and prediction on the grid.
type ScanPoint = (usize, Calibration, Prediction);

fn main() -> Res<()> {
    let args = args();
    std::fs::create_dir_all(&args.out)?;
    let dev = backend_cpu::device();
    let start = Instant::now();
    let mut summary = String::new();
    let test = toy::heteroscedastic(TEST_POINTS, 1_000_001);
    let grid: Vec<f64> = (0..=240).map(|i| -3.0 + 6.0 * i as f64 / 240.0).collect();
    let scan = bnn_size_scan(&test, &grid, args.quick, &dev, &mut summary)?;
    let (re_train, re_grid) = repulsive_ensemble(&test, &grid, args.quick, &dev, &mut summary)?;
    write_tables(&grid, &scan, &re_grid, &mut summary)?;
    let figures = figures(&grid, &scan, &re_grid, &re_train);
    for (name, fig) in &figures {
        report::check::write_checked_svg(&args.out.join(name), &fig.to_svg())?;
    }
    let all: Vec<Figure> = figures.iter().map(|(_, f)| f.clone()).collect();
    report::check::write_checked_svg(&args.out.join("overview.svg"), &report::grid(&all, 2))?;
    std::fs::write(args.out.join("summary.txt"), &summary)?;
    println!(
        "\nwrote {} plots, overview.svg and summary.txt to {} in {:.0} s",
        figures.len(),
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// 1. The size scan with the BNN: 10^3, 10^4, 10^5 training points.
fn bnn_size_scan(
    test: &nn::Dataset,
    grid: &[f64],
    quick: bool,
    dev: &Device,
    summary: &mut String,
) -> Res<Vec<ScanPoint>> {
    let sizes = [1_000usize, 10_000, 100_000];
    let mut scan: Vec<ScanPoint> = Vec::new();
    for (k, &n) in sizes.iter().enumerate() {
        println!("\n== BNN on {n} training points ==");
        let train = toy::heteroscedastic_gap(n, 10 + k as u64);
        let r = recipe(n, quick);
        let t0 = Instant::now();
        let (model, _) = toy::fit_bnn(&train, &r, dev)?;
        let c = toy::calibration(&model, test, DRAWS, dev)?;
        println!("trained in {:.0} s", t0.elapsed().as_secs_f64());
        writeln!(summary, "BNN, N = {n}: {} updates", r.train_config(n).epochs * n.div_ceil(r.batch_size))?;
        report(&format!("BNN N={n}"), &c, summary);
        if n == 10_000 {
            pull_details(&model, test, DRAWS, dev, summary)?;
        }
        scan.push((n, c, toy::predict_at(&model, grid, DRAWS, dev)?));
    }

    Ok(scan)
}

/// 2. The repulsive ensemble of 16 on 10^4 points: its training set and prediction on the grid.
fn repulsive_ensemble(
    test: &nn::Dataset,
    grid: &[f64],
    quick: bool,
    dev: &Device,
    summary: &mut String,
) -> Res<(nn::Dataset, Prediction)> {
    println!("\n== repulsive ensemble of {MEMBERS} on 10000 training points ==");
    let train = toy::heteroscedastic_gap(10_000, 11);
    // Each update moves 16 networks: half the BNN's updates are enough for the ensemble.
    let re_recipe = Recipe { steps: recipe(10_000, quick).steps / 2, ..recipe(10_000, quick) };
    let (re, _) = toy::fit_repulsive(&train, MEMBERS, 1.0, &re_recipe, dev)?;
    let re_cal = toy::calibration(&re, test, MEMBERS, dev)?;
    report(&format!("RE{MEMBERS} N=10000"), &re_cal, summary);
    pull_details(&re, test, MEMBERS, dev, summary)?;
    let re_grid = toy::predict_at(&re, grid, MEMBERS, dev)?;
    Ok((train, re_grid))
}

/// 3. The tables: sigma_syst and sigma_stat along x at N = 10^4, and the medians against N.
fn write_tables(grid: &[f64], scan: &[ScanPoint], re_grid: &Prediction, summary: &mut String) -> Res<()> {
    let truth: Vec<f64> = grid.iter().map(|&x| toy::true_sigma(x)).collect();
    let bnn = &scan[1].2;
    println!("\n   x   true sigma | BNN sigma_syst sigma_stat | RE16 sigma_syst sigma_stat   (N = 10^4)");
    writeln!(summary, "\n   x   true sigma | BNN sigma_syst sigma_stat | RE16 sigma_syst sigma_stat   (N = 10^4)")?;
    let (bs, bt, rs, rt) = (bnn.sigma_syst(), bnn.sigma_stat(), re_grid.sigma_syst(), re_grid.sigma_stat());
    for i in (0..grid.len()).step_by(20) {
        let gap = if toy::in_gap(grid[i]) { "  <- gap" } else { "" };
        let line = format!(
            "{:+5.2}   {:.4}     |     {:.4}     {:.4}     |     {:.4}     {:.4}{gap}",
            grid[i], truth[i], bs[i], bt[i], rs[i], rt[i]
        );
        println!("{line}");
        writeln!(summary, "{line}")?;
    }
    println!("\n     N   median sigma_stat (bulk)   median sigma_stat (gap)   median sigma_syst / true");
    writeln!(summary, "\n     N   median sigma_stat (bulk)   median sigma_stat (gap)   median sigma_syst / true")?;
    for (n, c, _) in scan {
        let line = format!("{n:>6}   {:>12.4}   {:>24.4}   {:>22.3}", c.stat_bulk, c.stat_gap, c.syst_over_true);
        println!("{line}");
        writeln!(summary, "{line}")?;
    }

    Ok(())
}

/// The figures, with their file names.
fn figures(grid: &[f64], scan: &[ScanPoint], re_grid: &Prediction, train: &nn::Dataset) -> Vec<(&'static str, Figure)> {
    let truth: Vec<f64> = grid.iter().map(|&x| toy::true_sigma(x)).collect();
    let bnn = &scan[1].2;
    let (bs, bt, rs, rt) = (bnn.sigma_syst(), bnn.sigma_stat(), re_grid.sigma_syst(), re_grid.sigma_stat());
    let top_syst = 1.25 * max(&bs).max(max(&truth)).max(max(&rs));
    let syst_fig = gap(Figure::new("sigma_syst follows the true noise (N = 10^4)"))
        .x_label("x")
        .y_label("sigma")
        .y_range(0.0, top_syst)
        .dashed("true sigma(x)", grid, &truth)
        .style(style("Truth"))
        .line("BNN sigma_syst", grid, &bs)
        .style(style("BNN"))
        .line("RE16 sigma_syst", grid, &rs)
        .style(style("RE"));
    let top_stat = 1.25 * max(&bt).max(max(&rt));
    let stat_fig = gap(Figure::new("sigma_stat grows in the gap (N = 10^4)"))
        .x_label("x")
        .y_label("sigma_stat")
        .y_range(0.0, top_stat)
        .line("BNN sigma_stat", grid, &bt)
        .style(style("BNN"))
        .line("RE16 sigma_stat", grid, &rt)
        .style(style("RE"));
    let floor = 0.8 * min(&scan[scan.len() - 1].2.sigma_stat());
    let ceiling = 1.25 * max(&scan[0].2.sigma_stat());
    let mut by_n = gap(Figure::new("BNN sigma_stat vs x for each training-set size"))
        .x_label("x")
        .y_label("sigma_stat")
        .log_y(true)
        .y_range(floor, ceiling);
    for (n, _, p) in scan {
        by_n = by_n.line(&format!("N = {n}"), grid, &p.sigma_stat());
    }
    let ns: Vec<f64> = scan.iter().map(|(n, _, _)| *n as f64).collect();
    let stat_bulk: Vec<f64> = scan.iter().map(|(_, c, _)| c.stat_bulk).collect();
    let stat_gap: Vec<f64> = scan.iter().map(|(_, c, _)| c.stat_gap).collect();
    let syst_ratio: Vec<f64> = scan.iter().map(|(_, c, _)| c.syst_over_true).collect();
    let scan_fig = Figure::new("sigma_stat shrinks with N (BNN, medians)")
        .x_label("training points N")
        .y_label("median sigma_stat")
        .log_x(true)
        .log_y(true)
        .line("sigma_stat in the gap", &ns, &stat_gap)
        .line("sigma_stat in the bulk", &ns, &stat_bulk);
    let ratio_fig = Figure::new("sigma_syst approaches the true noise (BNN)")
        .x_label("training points N")
        .y_label("median sigma_syst / true sigma")
        .log_x(true)
        .y_range(0.5, 1.5)
        .hline(1.0)
        .line("median sigma_syst / sigma", &ns, &syst_ratio);
    let pts: Vec<usize> = (0..train.len()).step_by(20).collect();
    let (px, py): (Vec<f64>, Vec<f64>) = pts.iter().map(|&i| (train.x()[i], train.y()[i])).unzip();
    let mean: Vec<f64> = grid.iter().map(|&x| toy::true_mean(x)).collect();
    let tot = bnn.sigma_tot();
    let lo: Vec<f64> = bnn.mean.iter().zip(&tot).map(|(m, s)| m - 2.0 * s).collect();
    let hi: Vec<f64> = bnn.mean.iter().zip(&tot).map(|(m, s)| m + 2.0 * s).collect();
    let fit_fig = Figure::new("BNN prediction +- 2 sigma_tot (N = 10^4)")
        .x_label("x")
        .y_label("y")
        .band("+- 2 sigma_tot", grid, &lo, &hi)
        .style(style("BNN"))
        .points("training data (every 20th)", &px, &py)
        .dashed("true mean sin x", grid, &mean)
        .style(style("Truth"))
        .line("BNN mean", grid, &bnn.mean)
        .style(style("BNN"))
        .shade_x(toy::GAP.0, toy::GAP.1, "gap: no training data");
    vec![
        ("sigma_syst.svg", syst_fig),
        ("sigma_stat.svg", stat_fig),
        ("sigma_stat_by_n.svg", by_n),
        ("sigma_vs_n.svg", scan_fig),
        ("syst_ratio_vs_n.svg", ratio_fig),
        ("prediction.svg", fit_fig),
    ]
}
