//! The figures of bnn_reference, one function each, from the study's results.

use super::*;
use report::Dash;

/// 4. The figures. The bands of the three models at the reference size (seed 0).
pub fn write_band_figure(out: &Path, study: &Study) -> Res<()> {
    let Study { plan, grid, bnn, re, train_ref, .. } = study;
    let n_ref = plan.reference_n;
    let (bnn_ref, re_ref) = (Study::run(bnn, n_ref, 0), Study::run(re, n_ref, 0));
    let bands = report::grid(
        &[
            band_figure(&format!("mean-field BNN (N = {n_ref}, seed 0)"), grid, &bnn_ref.grid, train_ref),
            band_figure(&format!("repulsive ensemble of 16 (N = {n_ref}, seed 0)"), grid, &re_ref.grid, train_ref),
            band_figure(&format!("exact posterior, HMC (N = {n_ref})"), grid, &study.hmc().grid, train_ref),
        ],
        3,
    );
    report::check::write_checked_svg(&out.join("reference_bands.svg"), &bands)?;
    Ok(())
}

/// sigma_stat(x): the seeds' mean for BNN and RE, and HMC.
pub fn write_sigma_stat_figure(out: &Path, study: &Study) -> Res<()> {
    let Study { plan, grid, bnn, re, .. } = study;
    let n_ref = plan.reference_n;
    let seed_mean = |v: &[Run], n: usize| -> Vec<f64> {
        let runs: Vec<&Run> = v.iter().filter(|r| r.n == n).collect();
        (0..grid.len()).map(|i| runs.iter().map(|r| r.grid.sigma_stat()[i]).sum::<f64>() / runs.len() as f64).collect()
    };
    let (sb, sr, sh) = (seed_mean(bnn, n_ref), seed_mean(re, n_ref), study.hmc().grid.sigma_stat());
    let all = [sb.clone(), sr.clone(), sh.clone()].concat();
    let stat_fig = gap(Figure::new(&format!("σ_stat(x) at N = {n_ref}")))
        .size(720, 440)
        .x_label("x")
        .y_label("σ_stat")
        .log_y(true)
        .y_range(0.5 * min(&all), 2.0 * max(&all))
        .line(&format!("BNN (mean of {} seeds)", plan.seeds.len()), grid, &sb)
        .style(style("BNN"))
        .line(&format!("RE16 (mean of {} seeds)", plan.seeds.len()), grid, &sr)
        .style(style("RE"))
        .dashed("exact posterior (HMC)", grid, &sh)
        .style(style("Truth"));
    report::check::write_checked_svg(&out.join("reference_sigma_stat.svg"), &stat_fig.to_svg())?;
    Ok(())
}

/// Absolute sigma_stat in the gap and the bulk against N, mean +- sd over seeds, each series
/// joined across N, with the 1/sqrt(N) of a regular posterior drawn through HMC's bulk value.
pub fn write_sigma_stat_vs_n_figure(out: &Path, study: &Study) -> Res<()> {
    let Study { plan, bnn, re, hmcs, .. } = study;
    let (lo_n, hi_n) = (plan.sizes[0] as f64 / 2.0, *plan.sizes.last().unwrap() as f64 * 2.0);
    let mut scan = Figure::new("median σ_stat in the gap and the bulk (mean ± sd over seeds)")
        .size(760, 500)
        .x_label("training points N")
        .y_label("median σ_stat")
        .log_x(true)
        .log_y(true)
        .x_range(lo_n, hi_n);
    // Six series, six colours of the cycle; the gap solid, the bulk dashed.
    let series = [("BNN", bnn, 0.85, [0, 5]), ("RE16", re, 1.0, [1, 4]), ("HMC", hmcs, 1.15, [6, 7])];
    for (name, runs, shift, slots) in series {
        let regions =
            [("gap", (|c: &Calibration| c.stat_gap) as fn(&Calibration) -> f64, 1.03), ("bulk", |c| c.stat_bulk, 0.97)];
        for ((region, get, nudge), slot) in regions.into_iter().zip(slots) {
            let (mut xs, mut ys, mut es) = (vec![], vec![], vec![]);
            for &n in &plan.sizes {
                let v: Vec<f64> = runs.iter().filter(|r| r.n == n).map(|r| get(&r.cal)).collect();
                if !v.is_empty() {
                    let (m, s) = mean_sd(&v);
                    xs.push(n as f64 * shift * nudge);
                    ys.push(m);
                    es.push(s);
                }
            }
            let dash = if region == "gap" { Dash::Solid } else { Dash::Dashed };
            let look = Style::nth(slot).with_dash(dash);
            let label = format!("{name}, {region}");
            scan = scan.error_bars(&label, &xs, &ys, &es).style(look).line(&label, &xs, &ys).style(look);
        }
    }
    let (n0, s0) = (study.hmc().n as f64, study.hmc().cal.stat_bulk);
    let guide: Vec<f64> = [lo_n, hi_n].iter().map(|n| s0 * (n0 / n).sqrt()).collect();
    scan = scan.dashed("∝ 1/√N through HMC's bulk", &[lo_n, hi_n], &guide).style(Style::reference());
    report::check::write_checked_svg(&out.join("reference_sigma_stat_vs_n.svg"), &scan.to_svg())?;
    Ok(())
}

/// The pulls in the bulk and in the gap at the reference size (seed 0 and HMC).
pub fn write_pulls_figure(out: &Path, study: &Study) -> Res<()> {
    let Study { plan, test, bnn, re, .. } = study;
    let n_ref = plan.reference_n;
    let (bnn_ref, re_ref) = (Study::run(bnn, n_ref, 0), Study::run(re, n_ref, 0));
    let edges: Vec<f64> = (0..=40).map(|i| -5.0 + 0.25 * i as f64).collect();
    let centres: Vec<f64> = edges.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
    let normal: Vec<f64> = centres.iter().map(|z| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()).collect();
    let pull_fig = |gap: bool| -> Figure {
        let keep: Vec<usize> = (0..test.len()).filter(|&i| toy::in_gap(test.x()[i]) == gap).collect();
        let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let region = if gap { "in the gap" } else { "in the bulk" };
        let mut fig = Figure::new(&format!("pulls (y − mean) / σ_tot {region} (N = {n_ref})"))
            .size(560, 400)
            .x_label("pull")
            .y_label("density");
        // The exact posterior is the reference: drawn in the truth's black.
        let methods = [
            ("BNN, seed 0", "BNN", &bnn_ref.test),
            ("RE16, seed 0", "RE", &re_ref.test),
            ("HMC", "Truth", &study.hmc().test),
        ];
        for (name, method, p) in methods {
            let q = pulls(&pick(test.y()), &pick(&p.mean), &pick(&p.sigma_tot()));
            fig = fig.histogram(name, &edges, &pull_density(&q, &edges)).style(style(method));
        }
        fig.dashed("N(0, 1)", &centres, &normal).style(Style::reference())
    };
    report::check::write_checked_svg(
        &out.join("reference_pulls.svg"),
        &report::grid(&[pull_fig(false), pull_fig(true)], 2),
    )?;
    Ok(())
}

/// sigma_syst against the per-draw optimum of the likelihood, for the BNN at the two sizes.
pub fn write_syst_figure(out: &Path, study: &Study) -> Res<()> {
    let Study { plan, grid, bnn, .. } = study;
    let syst_fig = |n: usize| -> Figure {
        let r = Study::run(bnn, n, 0);
        let truth: Vec<f64> = grid.iter().map(|&x| toy::true_sigma(x)).collect();
        let with_stat = |stat: f64| -> Vec<f64> {
            grid.iter()
                .enumerate()
                .map(|(i, &x)| {
                    let bias2 = (r.grid.mean[i] - toy::true_mean(x)).powi(2);
                    (toy::true_sigma(x).powi(2) + stat * r.grid.sigma_stat2[i] + bias2).sqrt()
                })
                .collect()
        };
        gap(Figure::new(&format!("BNN σ_syst, N = {n} (seed 0)")))
            .size(560, 400)
            .x_label("x")
            .y_label("σ")
            .y_range(0.0, 0.5)
            .dashed("true σ(x)", grid, &truth)
            .style(style("Truth"))
            .line("√(σ² + σ_stat² + bias²), eq. (6b)", grid, &with_stat(1.0))
            .style(Style::nth(2))
            .line("√(σ² + bias²)", grid, &with_stat(0.0))
            .style(Style::nth(4))
            .line("σ_syst", grid, &r.grid.sigma_syst())
            .style(style("BNN"))
    };
    let sizes = &plan.sizes;
    report::check::write_checked_svg(
        &out.join("syst_decomposition.svg"),
        &report::grid(&[syst_fig(sizes[0]), syst_fig(sizes[1])], 2),
    )?;
    Ok(())
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

/// The look of each method on this example's figures, one slot of the style cycle each.
fn style(method: &str) -> Style {
    Palette::new().slot("BNN", 0).slot("RE", 3).slot("Truth", 6).style(method)
}

/// Shades the gap, where there is no training data.
fn gap(fig: Figure) -> Figure {
    fig.shade_x(toy::GAP.0, toy::GAP.1, "gap: no training data")
}

/// The prediction band of one method: the mean, +- 2 sigma_tot and +- 2 sigma_stat, the truth and
/// some training points.
///
/// A sigma_stat band narrower than 0.05 everywhere (the ensemble's) is drawn ten times wider, and
/// its legend says so: at its true width it would be a line.
fn band_figure(title: &str, grid: &[f64], p: &Prediction, train: &nn::Dataset) -> Figure {
    let (tot, stat) = (p.sigma_tot(), p.sigma_stat());
    let magnify = if max(&stat) * 2.0 < 0.05 { 10.0 } else { 1.0 };
    let stat_label = if magnify > 1.0 {
        "mean ± 2 σ_stat, drawn 10 times wider".to_string()
    } else {
        "mean ± 2 σ_stat".to_string()
    };
    let around = |s: &[f64], k: f64| -> Vec<f64> { p.mean.iter().zip(s).map(|(m, s)| m + k * s).collect() };
    let truth: Vec<f64> = grid.iter().map(|&x| toy::true_mean(x)).collect();
    let pts: Vec<usize> = (0..train.len()).step_by((train.len() / 300).max(1)).collect();
    let (px, py): (Vec<f64>, Vec<f64>) = pts.iter().map(|&i| (train.x()[i], train.y()[i])).unzip();
    gap(Figure::new(title))
        .size(560, 400)
        .x_label("x")
        .y_label("y")
        .y_range(-2.2, 2.2)
        .band("mean ± 2 σ_tot", grid, &around(&tot, -2.0), &around(&tot, 2.0))
        .band(&stat_label, grid, &around(&stat, -2.0 * magnify), &around(&stat, 2.0 * magnify))
        .points("training points (some)", &px, &py)
        .dashed("true mean sin x", grid, &truth)
        .style(style("Truth"))
        .line("predicted mean", grid, &p.mean)
}
