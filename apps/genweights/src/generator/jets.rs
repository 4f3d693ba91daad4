//! Toy jets with an analytic density ratio (docs/genweights-method.md §4.2), in the JetNet layout.
//!
//! Why a closed-form ratio and not the paper's resampling recipe: resampling a finite pool by histogram ratios
//! makes the weights exact only relative to that pool's empirical distribution (duplicated
//! jets, a step function in 25 bins), whereas here every density is a closed-form log-normal,
//! so w is exact to rounding and smooth, and the learned log w can be compared with it event
//! by event.
//!
//! - Latent relative mass: ln m ~ N(μ = ln 0.07, s = 0.45), untruncated (P(m > 0.4) ≈ 5e-5).
//! - **smeared**: m' = m ε with ln ε ~ N(0, τ² = 0.25²), so ln m' ~ N(μ, s² + τ²) and
//!   log w = ln N(ln m; μ, s²) − ln N(ln m; μ, s² + τ²) (the 1/m Jacobians cancel).
//! - **shifted**: ln ε ~ N(ln 1.1, 0.05²): log w = ln N(ln m; μ, s²) − ln N(ln m; μ + ln 1.1, s² + 0.05²).
//! - **tailcut**: the generator draws the truth density below m_c = 0.225 only:
//!   w = F = Φ((ln m_c − μ)/s) ≈ 0.9951 below, +∞ above (truth jets only).
//! - **null**: both truth, w = 1.
//!
//! Every jet, truth or generated, is built from its m by the same rule: z ~ Beta(2, 2),
//! ψ ~ U(0, 2π); two constituents of pT_rel z and 1 − z at separation Δ along ψ, with
//! 2z(1−z)[cosh(Δ cos ψ) − cos(Δ sin ψ)] = m² solved by bisection on [0, 3] (monotone there; if
//! no root exists, z and ψ are redrawn: a rule p(z, ψ | m) that is the same in both samples),
//! placed so their pT-weighted centroid is at the axis; then 3–10 soft constituents
//! (pT_rel ~ U(0.001, 0.004), η_rel, φ_rel ~ N(0, 0.05²)) independent of m. So the exact ratio
//! is a function of the latent m only. The file holds what a jet's physics content gives:
//! `jet_features[:, 2]` is the constituents' mass times pT, which differs from m by the soft
//! constituents, so the latent is written nowhere (an earlier version stored m there and handed
//! the classifier the answer). The best a classifier can do is then the ratio of the observed
//! densities, which blurs w(m) by the soft constituents' share of the mass (a few per cent in m;
//! docs/genweights-method.md §4.2). Jet pT ~ U(950, 1050) GeV, η ~ U(−2.5, 2.5).

use super::{rng, Case, Toy, ToyInfo, GENERATED_STREAM, TRUTH_STREAM};
use crate::error::{invalid, Result};
use crate::features::jets::relative_mass;
use crate::io::{Jets, Sample};
use indicatif::ProgressBar;
use rand::{Rng, RngExt};
use rand_distr::{Beta, Distribution, StandardNormal};
use stats::{ln_normal_pdf, phi};
use std::collections::BTreeMap;

pub const MU: f64 = -2.659_260_036_932_778; // ln 0.07
pub const S: f64 = 0.45;
pub const SMEAR_TAU: f64 = 0.25;
pub const SHIFT_MEAN: f64 = 0.095_310_179_804_324_87; // ln 1.1
pub const SHIFT_SD: f64 = 0.05;
pub const TAILCUT_M: f64 = 0.225;
/// Constituent slots, as in JetNet30.
pub const PARTICLES: usize = 30;

/// F = P_truth(m < m_c).
pub fn tailcut_fraction() -> f64 {
    phi((TAILCUT_M.ln() - MU) / S)
}

/// The latent density of the model, as (mean, sd) of ln m, for the Gaussian cases.
fn model_lognormal(case: Case) -> (f64, f64) {
    match case {
        Case::Smeared => (MU, (S * S + SMEAR_TAU * SMEAR_TAU).sqrt()),
        Case::Shifted => (MU + SHIFT_MEAN, (S * S + SHIFT_SD * SHIFT_SD).sqrt()),
        _ => (MU, S),
    }
}

/// The exact log w of a jet of latent relative mass m.
pub fn exact_log_w(case: Case, m: f64) -> f64 {
    match case {
        Case::Smeared | Case::Shifted => {
            let (mean, sd) = model_lognormal(case);
            ln_normal_pdf(m.ln(), MU, S) - ln_normal_pdf(m.ln(), mean, sd)
        }
        Case::Tailcut if m < TAILCUT_M => tailcut_fraction().ln(),
        Case::Tailcut => f64::INFINITY,
        _ => 0.0,
    }
}

fn normal<R: Rng>(r: &mut R) -> f64 {
    StandardNormal.sample(r)
}

/// A latent mass from the truth (`model = false`) or the model density of `case`.
fn draw_mass<R: Rng>(case: Case, model: bool, r: &mut R) -> f64 {
    let truth = |r: &mut R| (MU + S * normal(r)).exp();
    if !model {
        return truth(r);
    }
    match case {
        Case::Smeared => truth(r) * (SMEAR_TAU * normal(r)).exp(),
        Case::Shifted => truth(r) * (SHIFT_MEAN + SHIFT_SD * normal(r)).exp(),
        Case::Tailcut => loop {
            let m = truth(r);
            if m < TAILCUT_M {
                break m;
            }
        },
        _ => truth(r),
    }
}

/// cosh(Δc) − cos(Δs), increasing in Δ on [0, 3] since Δ|sin ψ| < π there.
fn separation_term(delta: f64, c: f64, s: f64) -> f64 {
    (delta * c).cosh() - (delta * s).cos()
}

const MAX_DELTA: f64 = 3.0;

/// Fills one jet's constituents (P × 4) and returns its constituent count.
fn build_jet<R: Rng>(m: f64, r: &mut R, beta: &Beta<f64>, out: &mut [f64]) -> Result<usize> {
    let mut hard = None;
    for _ in 0..10_000 {
        let z = beta.sample(r);
        let psi = r.random_range(0.0..std::f64::consts::TAU);
        let (c, s) = (psi.cos().abs(), psi.sin().abs());
        let scale = 2.0 * z * (1.0 - z);
        if scale * separation_term(MAX_DELTA, c, s) < m * m {
            continue;
        }
        let (mut lo, mut hi) = (0.0, MAX_DELTA);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if scale * separation_term(mid, c, s) < m * m {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hard = Some((z, psi, 0.5 * (lo + hi)));
        break;
    }
    let (z, psi, delta) =
        hard.ok_or_else(|| invalid(format!("a jet of relative mass {m} cannot be built from two constituents")))?;
    let (ux, uy) = (psi.cos(), psi.sin());
    let mut parts: Vec<[f64; 3]> =
        vec![[(1.0 - z) * delta * ux, (1.0 - z) * delta * uy, z], [-z * delta * ux, -z * delta * uy, 1.0 - z]];
    let soft = r.random_range(3..=10usize);
    for _ in 0..soft {
        let pt = r.random_range(0.001..0.004);
        parts.push([0.05 * normal(r), 0.05 * normal(r), pt]);
    }
    parts.sort_by(|a, b| b[2].total_cmp(&a[2]));
    out.fill(0.0);
    for (k, p) in parts.iter().enumerate().take(PARTICLES) {
        out[4 * k..4 * k + 4].copy_from_slice(&[p[0], p[1], p[2], 1.0]);
    }
    Ok(parts.len().min(PARTICLES))
}

fn sample<R: Rng>(case: Case, model: bool, n: usize, r: &mut R, progress: &ProgressBar) -> Result<(Jets, Vec<f64>)> {
    let beta = Beta::new(2.0, 2.0).map_err(|e| invalid(format!("Beta(2, 2): {e}")))?;
    let mut particles = vec![0.0; n * PARTICLES * 4];
    let mut jets = Vec::with_capacity(n * 4);
    let mut log_w = Vec::with_capacity(n);
    for i in 0..n {
        let m = draw_mass(case, model, r);
        let constituents = &mut particles[i * PARTICLES * 4..(i + 1) * PARTICLES * 4];
        let count = build_jet(m, r, &beta, constituents)?;
        let pt = r.random_range(950.0..1050.0);
        let eta = r.random_range(-2.5..2.5);
        jets.extend([pt, eta, relative_mass(constituents) * pt, count as f64]);
        log_w.push(exact_log_w(case, m));
        if i % 4096 == 0 {
            progress.inc(4096.min(n - i) as u64);
        }
    }
    Ok((Jets { n, particles_per_jet: PARTICLES, particles, jets }, log_w))
}

pub fn generate(case: Case, n: usize, seed: u64, progress: &ProgressBar) -> Result<Toy> {
    let (truth, truth_log_w) = sample(case, false, n, &mut rng(seed, TRUTH_STREAM), progress)?;
    let (generated, generated_log_w) = sample(case, true, n, &mut rng(seed, GENERATED_STREAM), progress)?;
    let f = tailcut_fraction();
    let mut constants = BTreeMap::from([("mu".to_string(), MU), ("s".to_string(), S)]);
    let (description, formula, gen_mean) = match case {
        Case::Smeared => {
            constants.insert("tau".into(), SMEAR_TAU);
            (
                "jet mass smeared by a log-normal factor",
                "log w = ln N(ln m; mu, s^2) - ln N(ln m; mu, s^2 + tau^2), m the latent jet mass / pt",
                1.0,
            )
        }
        Case::Shifted => {
            constants.insert("shift_mean".into(), SHIFT_MEAN);
            constants.insert("shift_sd".into(), SHIFT_SD);
            (
                "jet mass shifted 10% higher with a 5% spread",
                "log w = ln N(ln m; mu, s^2) - ln N(ln m; mu + ln 1.1, s^2 + 0.05^2)",
                1.0,
            )
        }
        Case::Tailcut => {
            constants.insert("m_cut".into(), TAILCUT_M);
            constants.insert("F".into(), f);
            constants.insert("optimal_auc".into(), 0.5 + (1.0 - f) / 2.0);
            ("jet mass tail above m_c missing from the generator", "w = F for m < m_c, +inf above (truth only)", f)
        }
        _ => ("truth against truth", "w = 1", 1.0),
    };
    let info = ToyInfo {
        case,
        kind: case.kind(),
        events: n,
        seed,
        description: description.into(),
        exact_weight: formula.into(),
        constants,
        expected_gen_mean_w: gen_mean,
        expected_truth_mean_inverse_w: 1.0,
        distorted_observable: "m_rel_file".into(),
    };
    Ok(Toy { info, truth: Sample::Jets(truth), generated: Sample::Jets(generated), truth_log_w, generated_log_w })
}
