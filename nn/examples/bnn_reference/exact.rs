//! The exact posterior of bnn_reference: HMC at each size of the plan, its diagnostics, and the
//! experiment that shows why a mean-field q, narrow per weight, can still give a wide function
//! (docs/bnn-loss.md, sections 18 and 19).

use super::*;
use autodiff::rng::{derive_seed, unit_f64, words};

/// Where and how long HMC runs at one training-set size.
pub struct HmcPlan {
    pub n: usize,
    pub config: HmcConfig,
    pub chains: usize,
}

/// The exact posterior at one size, beside its run (the pooled chains' prediction): the chains.
pub struct Exact {
    pub reference: toy::Reference,
    /// The same draws with every parameter shuffled across the draws of its chain: the
    /// posterior's marginals without its correlations (see [`decorrelated`]).
    pub decorrelated: Calibration,
}

/// 2. The exact posterior at each size of `plans`: chains from the members of a deep ensemble.
pub fn sample_the_exact_posteriors(
    plans: &[HmcPlan],
    bnn_steps: usize,
    test: &nn::Dataset,
    grid: &[f64],
    dev: &Device,
) -> Res<(Vec<Run>, Vec<Exact>)> {
    let (mut runs, mut out) = (Vec::new(), Vec::new());
    for plan in plans {
        println!("== HMC on N = {}: {} chains ==", plan.n, plan.chains);
        let t0 = Instant::now();
        let train = training_set(plan.n);
        let recipe = Recipe { steps: bnn_steps, seed: 0, ..Recipe::default() };
        let reference = toy::fit_hmc(&train, plan.chains, &recipe, &plan.config, dev)?;
        let seconds = t0.elapsed().as_secs_f64();
        let test_p = reference.predict_at(test.x(), dev)?;
        let run = Run {
            n: plan.n,
            seed: 0,
            cal: toy::calibration_of(&test_p, test),
            test: test_p,
            grid: reference.predict_at(grid, dev)?,
            logvar_scatter: None,
            weight_width: Some(median_within_chain_sd(&reference)),
            seconds,
        };
        println!("   HMC {seconds:.0} s: {:?}", run.cal);
        let decorrelated = decorrelated(&reference, test, dev)?;
        runs.push(run);
        out.push(Exact { reference, decorrelated });
    }
    Ok((runs, out))
}

/// The median over parameters of each parameter's standard deviation within a chain, averaged
/// over chains: the exact posterior's width per weight (within the mode a chain explores).
fn median_within_chain_sd(reference: &toy::Reference) -> f64 {
    let per_chain: Vec<f64> = reference
        .chains
        .iter()
        .map(|c| {
            let widths = (0..c.draws[0].len()).map(|k| mean_sd(&c.column(k)).1);
            stats::median(widths).unwrap_or(f64::NAN)
        })
        .collect();
    mean_sd(&per_chain).0
}

/// The calibration of the exact posterior's draws after each parameter has been shuffled, on its
/// own, across the draws of its chain. Every parameter keeps its marginal distribution exactly,
/// and the correlations between parameters are gone: this is the closest independent (mean-field)
/// distribution to the posterior in the marginals' sense, and wider per weight than the mean-field
/// q of the ELBO, which takes the narrower conditional widths. If its function variance is still
/// far above the exact posterior's, the correlations are what keep the exact function narrow.
fn decorrelated(reference: &toy::Reference, test: &nn::Dataset, dev: &Device) -> Res<Calibration> {
    let mut draws = Vec::new();
    for (c, chain) in reference.chains.iter().enumerate() {
        let mut shuffled = chain.draws.clone();
        let (len, params) = (shuffled.len(), shuffled[0].len());
        for k in 0..params {
            let mut column = chain.column(k);
            // Fisher-Yates with the host stream, one seed per chain and parameter.
            let seed = derive_seed(derive_seed(77, c as u64), k as u64);
            for i in (1..len).rev() {
                let w = words(seed, i as u64);
                let j = ((unit_f64(w[0], w[1]) * (i + 1) as f64) as usize).min(i);
                column.swap(i, j);
            }
            for (d, v) in shuffled.iter_mut().zip(column) {
                d[k] = v;
            }
        }
        draws.extend(shuffled);
    }
    let xt = autodiff::Tensor::from_f64s(test.x(), &[test.len(), 1], autodiff::DType::F64, dev)?;
    Ok(toy::calibration_of(&nn::teaching::hmc::predict(reference.net.as_ref(), &draws, &xt)?, test))
}

/// The HMC reference at each size: its cost, each chain's step, acceptance and drift, the mixing
/// of f(x), and the decorrelated draws' sigma_stat.
pub fn write_hmc_diagnostics(summary: &mut String, study: &Study) -> Res<()> {
    for ((plan, e), run) in study.plan.hmc.iter().zip(&study.exact).zip(&study.hmcs) {
        line(summary, &format!("\n## HMC at N = {}\n", plan.n));
        let c = &plan.config;
        line(
            summary,
            &format!(
                "{} chains x ({} warm-up + {} kept) iterations of {} leapfrog steps, {:.0} s in all",
                plan.chains, c.warmup, c.samples, c.leapfrog_steps, run.seconds
            ),
        );
        write_chains(summary, e, &study.test, &study.dev)?;
        let d = &e.decorrelated;
        line(
            summary,
            &format!(
                "decorrelated draws (each parameter shuffled within its chain): stat bulk {:.4}, gap {:.4} \
                 (the draws themselves: {:.4}, {:.4}); median per-parameter sd within a chain {:.4}",
                d.stat_bulk,
                d.stat_gap,
                run.cal.stat_bulk,
                run.cal.stat_gap,
                run.weight_width.unwrap_or(f64::NAN)
            ),
        );
    }
    Ok(())
}

fn write_chains(summary: &mut String, e: &Exact, test: &nn::Dataset, dev: &Device) -> Res<()> {
    let reference = &e.reference;
    let per_chain: Vec<Calibration> = reference
        .chains
        .iter()
        .map(|c| {
            let xt = autodiff::Tensor::from_f64s(test.x(), &[test.len(), 1], autodiff::DType::F64, dev)?;
            Ok(toy::calibration_of(&nn::teaching::hmc::predict(reference.net.as_ref(), &c.draws, &xt)?, test))
        })
        .collect::<autodiff::Result<Vec<_>>>()?;
    // ln pi = -NLL - |theta|^2 / 2: the two parts' means over the first and the last quarter of
    // the kept draws show which one still drifts.
    let quarters = |v: &[f64]| {
        let q = (v.len() / 4).max(1);
        (v[..q].iter().sum::<f64>() / q as f64, v[v.len() - q..].iter().sum::<f64>() / q as f64)
    };
    for (k, (c, cal)) in reference.chains.iter().zip(&per_chain).enumerate() {
        let sq: Vec<f64> = c.draws.iter().map(|d| d.iter().map(|v| v * v).sum::<f64>()).collect();
        let nll: Vec<f64> = c.log_density.iter().zip(&sq).map(|(lp, q)| -lp - 0.5 * q).collect();
        let ((s0, s1), (n0, n1)) = (quarters(&sq), quarters(&nll));
        line(
            summary,
            &format!(
                "chain {k}: step {:.2e}, acceptance {:.2}, divergences {}, {} gradients; NLL {n0:.0} -> {n1:.0}, \
                 |theta|^2 {s0:.0} -> {s1:.0} (first -> last quarter); alone: stat bulk {:.4}, gap {:.4}",
                c.step_size, c.accept_rate, c.divergences, c.gradient_evaluations, cal.stat_bulk, cal.stat_gap
            ),
        );
    }
    for x in [0.0, -2.0, 1.5] {
        let f = reference.function_values(x, dev)?;
        let ess: f64 = f.iter().map(|c| effective_sample_size(c)).sum();
        let within: Vec<f64> = f.iter().map(|c| mean_sd(c).1).collect();
        let pooled = mean_sd(&f.concat()).1;
        line(
            summary,
            &format!(
                "f(x = {x:+.1}): split R-hat {:.2}, ESS {:.0} (summed over chains), sd within chains {:?}, pooled {:.4}",
                split_rhat(&f),
                ess,
                within.iter().map(|s| format!("{s:.4}")).collect::<Vec<_>>(),
                pooled
            ),
        );
    }
    Ok(())
}
