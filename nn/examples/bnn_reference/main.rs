//! The numbers and figures of docs/bnn-loss.md, sections 17-19: the mean-field BNN and the
//! repulsive ensemble on the toy of `nn::teaching::toy` (y = sin x + sigma(x) z, no training data
//! in the gap (1, 2)), over several seeds, next to the exact posterior of the same network drawn
//! with Hamiltonian Monte Carlo (`nn::teaching::toy::fit_hmc`).
//!
//!     cargo run --release -p nn --example bnn_reference [-- --out DIR] [-- --quick]
//!
//! It trains, with the recipes of `nn::teaching::toy` and the same number of updates at every N:
//! - the BNN (6000 updates) with seeds 0, 1, 2 on 10^3 and 10^4 training points, and seeds 0, 1
//!   on 10^5; and once more at 10^5 with twice the updates, to see whether 6000 had converged;
//! - the repulsive ensemble of 16 (3000 updates: each one moves 16 networks) with seeds 0, 1, 2
//!   on 10^3 and 10^4 points;
//! - HMC on the 10^3-point set (four chains from the members of a deep ensemble) and, with a
//!   smaller budget, on the 10^4-point set.
//!
//! It writes the SVG figures the document shows and `bnn_reference.txt` with every number the
//! document quotes to DIR (default docs/figures). `--quick` shrinks everything for a smoke run
//! (seconds, numbers meaningless) and writes to out/bnn_reference unless --out is given.

use autodiff::Device;
use nn::diagnostics::{pull_density, pulls};
use nn::predictive::Prediction;
use nn::teaching::hmc::{effective_sample_size, split_rhat, HmcConfig};
use nn::teaching::toy::{self, Calibration, Recipe};
use report::{Figure, Palette, Style};
use std::path::{Path, PathBuf};
use std::time::Instant;

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

mod exact;
mod figures;
use exact::{sample_the_exact_posteriors, write_hmc_diagnostics, Exact, HmcPlan};
use figures::*;

const DRAWS: usize = 50;
const MEMBERS: usize = 16;
const TEST_POINTS: usize = 20_000;
const TEST_SEED: u64 = 1_000_001;

struct Args {
    out: Option<PathBuf>,
    quick: bool,
}

fn args() -> Args {
    let mut a = Args { out: None, quick: false };
    let mut it = std::env::args().skip(1);
    let usage = "usage: bnn_reference [--out DIR] [--quick]";
    while let Some(s) = it.next() {
        match s.as_str() {
            "--out" => a.out = it.next().map(PathBuf::from),
            "--quick" => a.quick = true,
            "-h" | "--help" => {
                println!("{usage}");
                std::process::exit(0);
            }
            other => {
                eprintln!("unknown argument {other}; {usage}");
                std::process::exit(2);
            }
        }
    }
    a
}

/// HMC at 10^4 points: warm-up and kept iterations, leapfrog steps, chains.
const HMC_LARGE_BUDGET: (usize, usize, usize, usize) = (100, 40, 60, 2);

/// How big each part is: the real run, or a smoke run.
struct Plan {
    sizes: Vec<usize>,
    /// The training-set size HMC samples at (the first of `sizes`).
    reference_n: usize,
    seeds: Vec<u64>,
    /// Seeds of the BNN at the largest size (training there costs the same per update, but the
    /// table needs fewer of them).
    large_seeds: Vec<u64>,
    bnn_steps: usize,
    re_steps: usize,
    /// HMC at each size it runs at; the first is the reference the figures compare with.
    hmc: Vec<HmcPlan>,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            let config =
                HmcConfig { step_size: 1e-3, leapfrog_steps: 8, warmup: 30, samples: 20, ..HmcConfig::default() };
            let hmc = [300, 1000].map(|n| HmcPlan { n, config: config.clone(), chains: 2 }).into();
            return Plan {
                sizes: vec![300, 1000],
                reference_n: 300,
                seeds: vec![0, 1],
                large_seeds: vec![0],
                bnn_steps: 200,
                re_steps: 100,
                hmc,
            };
        }
        // Trajectories of 200 steps: the posterior's widths span a factor of several hundred
        // (the step is set by the narrowest), and the wide, prior-dominated directions move by a
        // random walk whose reach per gradient grows with the trajectory's length. The target
        // acceptance of 0.6 ends near 0.75, as dual averaging over the last 60 warm-up
        // iterations still lags behind.
        let config = HmcConfig {
            step_size: 1e-3,
            leapfrog_steps: 200,
            warmup: 300,
            samples: 150,
            target_accept: 0.6,
            seed: 1,
            ..HmcConfig::default()
        };
        // At 10^4 points a gradient costs ten times as much: HMC_LARGE_BUDGET is what two
        // shared cores afford there (docs/bnn-loss.md, section 18, says what it can and cannot
        // tell).
        let (warmup, samples, leapfrog_steps, chains) = HMC_LARGE_BUDGET;
        let large = HmcConfig { warmup, samples, leapfrog_steps, ..config.clone() };
        Plan {
            sizes: vec![1_000, 10_000, 100_000],
            reference_n: 1_000,
            seeds: vec![0, 1, 2],
            large_seeds: vec![0, 1],
            bnn_steps: 6000,
            re_steps: 3000,
            hmc: vec![HmcPlan { n: 1_000, config, chains: 4 }, HmcPlan { n: 10_000, config: large, chains }],
        }
    }
}

/// One trained model's numbers: the calibration on the held-out set and the prediction on the grid.
struct Run {
    n: usize,
    seed: u64,
    cal: Calibration,
    /// The prediction at the held-out points and on the plotting grid.
    test: Prediction,
    grid: Prediction,
    /// For a BNN: the median over the bulk of Var_m l_m(x), the draws' scatter of the log variance,
    /// and the median of sigma_syst / sqrt((sigma^2 + sigma_stat^2 + bias^2) e^Var l).
    logvar_scatter: Option<(f64, f64)>,
    /// The median width per weight: q's sigma_k for a BNN, the sd within a chain for HMC.
    weight_width: Option<f64>,
    seconds: f64,
}

/// Per row, the variance over draws of the second output (the log variance l_m(x)).
#[derive(Default)]
struct LogVarScatter {
    mean: Vec<f64>,
    m2: Vec<f64>,
    seen: Vec<f64>,
}

impl nn::Reducer for LogVarScatter {
    fn start(&mut self, rows: usize, _draws: usize, _outputs: usize) -> autodiff::Result<()> {
        *self = LogVarScatter { mean: vec![0.0; rows], m2: vec![0.0; rows], seen: vec![0.0; rows] };
        Ok(())
    }
    fn add(&mut self, _draw: usize, first: usize, values: &[f64]) -> autodiff::Result<()> {
        for (r, out) in values.chunks(2).enumerate() {
            let i = first + r;
            self.seen[i] += 1.0;
            let d = out[1] - self.mean[i];
            self.mean[i] += d / self.seen[i];
            self.m2[i] += d * (out[1] - self.mean[i]);
        }
        Ok(())
    }
}

fn median(v: Vec<f64>) -> f64 {
    stats::median(v).unwrap_or(f64::NAN)
}

/// The log variance's scatter over a BNN's draws on the held-out bulk, and sigma_syst against the
/// per-draw optimum corrected for it (docs/bnn-loss.md, section 7).
fn logvar_scatter(
    model: &dyn nn::Module,
    test: &nn::Dataset,
    p: &Prediction,
    dev: &Device,
) -> autodiff::Result<(f64, f64)> {
    let mut r = LogVarScatter::default();
    let opts = nn::PredictOptions { draws: DRAWS, ..nn::PredictOptions::default() };
    nn::predict_rows(model, test.x(), 1, &opts, dev, &mut r)?;
    let (mut scatter, mut ratio) = (vec![], vec![]);
    for (i, &x) in test.x().iter().enumerate().filter(|(_, &x)| !toy::in_gap(x)) {
        let var_l = r.m2[i] / r.seen[i];
        let bias = p.mean[i] - toy::true_mean(x);
        let expected = (toy::true_sigma(x).powi(2) + p.sigma_stat2[i] + bias * bias) * var_l.exp();
        scatter.push(var_l);
        ratio.push(p.sigma_syst2[i].sqrt() / expected.sqrt());
    }
    Ok((median(scatter), median(ratio)))
}

/// Predicts with `model` on the held-out points and the grid.
fn evaluate(
    model: &dyn nn::Module,
    draws: usize,
    n: usize,
    seed: u64,
    t0: Instant,
    data: (&nn::Dataset, &[f64]),
    dev: &Device,
) -> std::result::Result<Run, String> {
    let (test, grid) = data;
    let p = toy::predict_at(model, test.x(), draws, dev).map_err(|e| e.to_string())?;
    let g = toy::predict_at(model, grid, draws, dev).map_err(|e| e.to_string())?;
    let (logvar, weight_width) = match model.sampling() {
        nn::Sampling::WeightDraws => (
            Some(logvar_scatter(model, test, &p, dev).map_err(|e| e.to_string())?),
            Some(median_q_width(model).map_err(|e| e.to_string())?),
        ),
        _ => (None, None),
    };
    Ok(Run {
        n,
        seed,
        cal: toy::calibration_of(&p, test),
        test: p,
        grid: g,
        logvar_scatter: logvar,
        weight_width,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// The median over a BNN's weights of q's width sigma_k = exp(l_k / 2).
fn median_q_width(model: &dyn nn::Module) -> autodiff::Result<f64> {
    let mut widths = Vec::new();
    for p in model.params().into_iter().filter(|p| p.name.ends_with("logsig2")) {
        widths.extend(p.var.tensor().to_vec_f64()?.into_iter().map(|l| (0.5 * l).exp()));
    }
    Ok(median(widths))
}

/// The training set of size `n`: seed 10 + k for the k-th size of 10^3, 10^4, 10^5, as in bnn_toy.
pub fn training_set(n: usize) -> nn::Dataset {
    let k = (n as f64).log10().round() as u64;
    toy::heteroscedastic_gap(n, 7 + k)
}

fn train_pair(
    n: usize,
    seed: u64,
    bnn_steps: usize,
    plan: &Plan,
    test: &nn::Dataset,
    grid: &[f64],
    dev: &Device,
) -> Res<(Run, Option<Run>)> {
    let train = training_set(n);
    let with_re = n <= plan.sizes[1] && bnn_steps == plan.bnn_steps;
    // The BNN and the ensemble train in two threads: each step is too small to fill two cores.
    std::thread::scope(|scope| -> Res<(Run, Option<Run>)> {
        let bnn = scope.spawn(|| -> std::result::Result<Run, String> {
            let t0 = Instant::now();
            let recipe = Recipe { steps: bnn_steps, seed, ..Recipe::default() };
            let (model, _) = toy::fit_bnn(&train, &recipe, dev).map_err(|e| e.to_string())?;
            evaluate(&model, DRAWS, n, seed, t0, (test, grid), dev)
        });
        let re = with_re.then(|| {
            scope.spawn(|| -> std::result::Result<Run, String> {
                let t0 = Instant::now();
                let recipe = Recipe { steps: plan.re_steps, seed, ..Recipe::default() };
                let (model, _) = toy::fit_repulsive(&train, MEMBERS, 1.0, &recipe, dev).map_err(|e| e.to_string())?;
                evaluate(&model, MEMBERS, n, seed, t0, (test, grid), dev)
            })
        });
        let bnn = bnn.join().expect("the BNN thread panicked")?;
        let re = match re {
            Some(h) => Some(h.join().expect("the ensemble thread panicked")?),
            None => None,
        };
        Ok((bnn, re))
    })
}

/// The runs at training-set size `n`.
fn at(v: &[Run], n: usize) -> Vec<&Run> {
    v.iter().filter(|r| r.n == n).collect()
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let s = if v.len() > 1 { (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
    (m, s)
}

const HEADER: &str = "| model | N | seeds | sigma_syst/sigma_true | sigma_syst/expected | sigma_stat bulk | sigma_stat gap | gap/bulk | pull width bulk | pull width gap | gap mean error / sigma_stat |";

/// One row of the summary table: mean +- standard deviation over the runs.
fn row(name: &str, runs: &[&Run]) -> String {
    let col = |f: &dyn Fn(&Calibration) -> f64, digits: usize| {
        let (m, s) = mean_sd(&runs.iter().map(|r| f(&r.cal)).collect::<Vec<_>>());
        if runs.len() > 1 {
            format!("{m:.digits$} ± {s:.digits$}")
        } else {
            format!("{m:.digits$}")
        }
    };
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        runs[0].n,
        runs.len(),
        col(&|c| c.syst_over_true, 3),
        col(&|c| c.syst_over_expected, 3),
        col(&|c| c.stat_bulk, 4),
        col(&|c| c.stat_gap, 4),
        col(&|c| c.stat_gap_over_bulk(), 2),
        col(&|c| c.pull_width, 3),
        col(&|c| c.gap_pull_width, 2),
        col(&|c| c.gap_mean_error, 2),
    )
}

fn line(out: &mut String, s: &str) {
    println!("{s}");
    out.push_str(s);
    out.push('\n');
}

/// Everything the tables and figures are made from.
struct Study {
    plan: Plan,
    test: nn::Dataset,
    grid: Vec<f64>,
    bnn: Vec<Run>,
    re: Vec<Run>,
    /// The BNN at the largest size trained with twice the updates: has 6000 converged there?
    bnn_longer: Vec<Run>,
    /// The exact posterior at each size of `plan.hmc`, the first one the reference.
    hmcs: Vec<Run>,
    exact: Vec<Exact>,
    /// The training set of the reference size, drawn in the band figures.
    train_ref: nn::Dataset,
    dev: Device,
}

impl Study {
    fn hmc(&self) -> &Run {
        &self.hmcs[0]
    }

    /// The run of `v` at `n` training points with `seed`.
    fn run(v: &[Run], n: usize, seed: u64) -> &Run {
        v.iter().find(|r| r.n == n && r.seed == seed).expect("a run")
    }
}

fn main() -> Res<()> {
    let args = args();
    let plan = Plan::new(args.quick);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(if args.quick { "out/bnn_reference" } else { "docs/figures" }));
    std::fs::create_dir_all(&out)?;
    let dev = backend_cpu::device();
    let start = Instant::now();
    let mut summary = String::new();
    let test = toy::heteroscedastic(TEST_POINTS, TEST_SEED);
    let grid: Vec<f64> = (0..=240).map(|i| -3.0 + 6.0 * i as f64 / 240.0).collect();
    write_preamble(&mut summary, &plan);
    let (bnn, re, bnn_longer) = train_over_seeds_and_sizes(&plan, &test, &grid, &dev)?;
    let (hmcs, exact) = sample_the_exact_posteriors(&plan.hmc, plan.bnn_steps, &test, &grid, &dev)?;
    let train_ref = training_set(plan.reference_n);
    let study = Study { plan, test, grid, bnn, re, bnn_longer, hmcs, exact, train_ref, dev };
    write_calibration_tables(&mut summary, &study);
    write_pull_table(&mut summary, &study);
    write_widths(&mut summary, &study);
    write_hmc_diagnostics(&mut summary, &study)?;
    write_band_figure(&out, &study)?;
    write_sigma_stat_figure(&out, &study)?;
    write_sigma_stat_vs_n_figure(&out, &study)?;
    write_pulls_figure(&out, &study)?;
    write_syst_figure(&out, &study)?;
    std::fs::write(out.join("bnn_reference.txt"), &summary)?;
    println!(
        "\nwrote the figures and bnn_reference.txt to {} in {:.0} s",
        out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn write_preamble(summary: &mut String, plan: &Plan) {
    line(summary, "# cargo run --release -p nn --example bnn_reference");
    line(
        summary,
        &format!("# held-out points: {TEST_POINTS} (seed {TEST_SEED}); BNN predictions from {DRAWS} weight draws"),
    );
    line(
        summary,
        &format!(
            "# updates: BNN {}, RE{MEMBERS} {} (batch 256, Adam 3e-3, cosine decay)",
            plan.bnn_steps, plan.re_steps
        ),
    );
}

/// 1. The BNN and the ensemble over seeds and training-set sizes, and the BNN at the largest
///    size once more with twice the updates.
fn train_over_seeds_and_sizes(
    plan: &Plan,
    test: &nn::Dataset,
    grid: &[f64],
    dev: &Device,
) -> Res<(Vec<Run>, Vec<Run>, Vec<Run>)> {
    let (mut bnn, mut re): (Vec<Run>, Vec<Run>) = (Vec::new(), Vec::new());
    let largest = *plan.sizes.last().expect("at least one size");
    for &n in &plan.sizes {
        let seeds = if n == largest && plan.sizes.len() > 2 { &plan.large_seeds } else { &plan.seeds };
        for &seed in seeds {
            println!("== N = {n}, seed {seed}: BNN{} ==", if n <= plan.sizes[1] { " and RE16" } else { "" });
            let (b, r) = train_pair(n, seed, plan.bnn_steps, plan, test, grid, dev)?;
            println!("   BNN {:.0} s: {:?}", b.seconds, b.cal);
            bnn.push(b);
            if let Some(r) = r {
                println!("   RE16 {:.0} s: {:?}", r.seconds, r.cal);
                re.push(r);
            }
        }
    }
    println!("== N = {largest}, seed 0: BNN with {} updates ==", 2 * plan.bnn_steps);
    let (longer, _) = train_pair(largest, 0, 2 * plan.bnn_steps, plan, test, grid, dev)?;
    Ok((bnn, re, vec![longer]))
}

/// 3. The numbers: calibration by model and size, the BNN's sigma_syst, and every seed.
fn write_calibration_tables(summary: &mut String, study: &Study) {
    let Study { plan, bnn, re, hmcs, bnn_longer, .. } = study;
    line(summary, "\n## Calibration on the held-out points (mean ± sd over seeds; HMC: pooled chains)\n");
    line(summary, HEADER);
    line(summary, &format!("|{}", "---|".repeat(11)));
    for &n in &plan.sizes {
        line(summary, &row("BNN", &at(bnn, n)));
        let r = at(re, n);
        if !r.is_empty() {
            line(summary, &row("RE16", &r));
        }
        let h = at(hmcs, n);
        if !h.is_empty() {
            line(summary, &row("HMC", &h));
        }
    }
    for r in bnn_longer {
        line(summary, &row(&format!("BNN, {} updates", 2 * plan.bnn_steps), &[r]));
    }
    line(summary, "\n## BNN: sigma_syst against the per-draw optimum (mean ± sd over seeds)\n");
    for &n in &plan.sizes {
        let runs = at(bnn, n);
        let (v, r): (Vec<f64>, Vec<f64>) = runs.iter().filter_map(|r| r.logvar_scatter).unzip();
        let ((vm, vs), (rm, rs)) = (mean_sd(&v), mean_sd(&r));
        let over = |f: fn(&Calibration) -> f64| mean_sd(&runs.iter().map(|r| f(&r.cal)).collect::<Vec<_>>());
        let ((em, es), (tm, ts)) = (over(|c| c.syst_over_expected), over(|c| c.syst_over_true));
        let (bm, bs) = over(|c| c.syst_over_noise_and_bias);
        line(
            summary,
            &format!(
                "N {n:>6}: sigma_syst/sigma_true {tm:.3} ± {ts:.3}; / sqrt(sigma^2 + bias^2) {bm:.3} ± {bs:.3}; \
                 / sqrt(sigma^2 + stat^2 + bias^2) {em:.3} ± {es:.3}; \
                 Var_m l(x) {vm:.3} ± {vs:.3}; / sqrt((sigma^2 + stat^2 + bias^2) e^Var l) {rm:.3} ± {rs:.3}"
            ),
        );
    }
    line(summary, "\n## Per seed\n");
    for (name, runs) in [("BNN", &bnn), ("RE16", &re)] {
        for r in runs.iter() {
            let c = &r.cal;
            line(
                summary,
                &format!(
                    "{name:<5} N {:>6} seed {}: syst/true {:.3}, syst/expected {:.3}, stat bulk {:.4}, gap {:.4} (ratio {:.2}), pulls bulk {:.3} (core {:.3}), gap {:.2}, gap mean error {:.2}  [{:.0} s]",
                    r.n, r.seed, c.syst_over_true, c.syst_over_expected, c.stat_bulk, c.stat_gap, c.stat_gap_over_bulk(),
                    c.pull_width, c.pull_core_width, c.gap_pull_width, c.gap_mean_error, r.seconds
                ),
            );
        }
    }
}

/// The pulls' mean, standard deviation and root mean square in the bulk and in the gap: a width
/// below 1 with a mean far from 0 is not an error bar that is too large.
fn write_pull_table(summary: &mut String, study: &Study) {
    line(summary, "\n## Pulls (y - mean) / sigma_tot: mean, sd, rms (mean ± sd over seeds)\n");
    line(summary, "| model | N | bulk mean | bulk sd | bulk rms | gap mean | gap sd | gap rms |");
    line(summary, &format!("|{}", "---|".repeat(8)));
    for &n in &study.plan.sizes {
        for (name, runs) in [("BNN", &study.bnn), ("RE16", &study.re), ("HMC", &study.hmcs)] {
            let runs = at(runs, n);
            if runs.is_empty() {
                continue;
            }
            let cols: Vec<fn(&Calibration) -> f64> = vec![
                |c| c.pull_mean,
                |c| c.pull_width,
                |c| c.pull_rms,
                |c| c.gap_pull_mean,
                |c| c.gap_pull_width,
                |c| c.gap_pull_rms,
            ];
            let cells: Vec<String> = cols
                .iter()
                .enumerate()
                .map(|(k, f)| {
                    let (m, s) = mean_sd(&runs.iter().map(|r| f(&r.cal)).collect::<Vec<_>>());
                    // The means carry a sign; widths and rms are positive.
                    let m = if k % 3 == 0 { format!("{m:+.3}") } else { format!("{m:.3}") };
                    if runs.len() > 1 {
                        format!("{m} ± {s:.3}")
                    } else {
                        m
                    }
                })
                .collect();
            line(summary, &format!("| {name} | {n} | {} |", cells.join(" | ")));
        }
    }
}

/// Width per weight against width of the function: q's median sigma_k against the exact
/// posterior's median sd per parameter within a chain, beside the bulk sigma_stat of each.
fn write_widths(summary: &mut String, study: &Study) {
    line(summary, "\n## Width per weight and width of the function (bulk sigma_stat)\n");
    for &n in &study.plan.sizes {
        for (name, runs) in [("BNN q sigma_k", &study.bnn), ("HMC sd in chain", &study.hmcs)] {
            let runs = at(runs, n);
            let w: Vec<f64> = runs.iter().filter_map(|r| r.weight_width).collect();
            if w.is_empty() {
                continue;
            }
            let stat: Vec<f64> = runs.iter().map(|r| r.cal.stat_bulk).collect();
            line(
                summary,
                &format!(
                    "N {n:>6} {name:<16}: median per weight {:.4}; sigma_stat bulk {:.4}",
                    mean_sd(&w).0,
                    mean_sd(&stat).0
                ),
            );
        }
    }
}
