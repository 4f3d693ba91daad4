//! Toy showers in the CaloGAN layout (docs/genweights-method.md §4.3), with exact weights from latent densities.
//!
//! Latents, identical in both samples unless a case says otherwise: E_inc ~ U(1, 100) GeV; the
//! deposited fraction u ~ Beta(40, 2) (e+-like); layer fractions f ~ Dirichlet(α(E)) with
//! α_k(E) = κ (a_k + b_k ln E), κ = 30, a = (0.15, 0.6, 0.25), b = (−0.02, 0, 0.03). Each layer's
//! voxels are V_k = u E f_k T_k · 1000 MeV for a fixed lateral template T_k (a 2-D Gaussian
//! integrated over the cells, cells with T < 1e-6 set to 0 and the rest renormalised). The
//! latents are recoverable from the layer sums, so the voxel-space ratio is the latent ratio.
//!
//! - **layer-fractions** (A): the generator's α is α ⊙ (1, 1, 0.85);
//!   log w = ln Dir(f; α) − ln Dir(f; α_M) (log-gamma normalisations).
//! - **missing-mode** (B): truth empties the last layer with probability
//!   π(E) = 0.08 (1 − log10 E / 2), then (f0, f1) ~ Dirichlet(α0, α1); the generator never does.
//!   Truth showers with E_2 = 0 get w = +∞, all others w = 1 − π(E).
//! - **noise** (C): the generator adds, to each of the K cells outside the templates' support,
//!   with probability q = 0.3/K, a noise voxel of energy ~ Exp(mean 0.5 MeV). A generated shower
//!   with any noise voxel gets w = 0; every other shower w = (1 − q)^(−K).
//! - **null-calo**: both truth.

use super::{rng, Case, Toy, ToyInfo, GENERATED_STREAM, TRUTH_STREAM};
use crate::error::{invalid, Result};
use crate::features::showers::cell_centres;
use crate::io::calo::{layer_cells, Showers, LAYER_SHAPES};
use crate::io::Sample;
use crate::special::ln_gamma;
use indicatif::ProgressBar;
use rand::{Rng, RngExt};
use rand_distr::{Beta, Distribution, Exp, Gamma};
use stats::phi;
use std::collections::BTreeMap;

pub const KAPPA: f64 = 30.0;
pub const A: [f64; 3] = [0.15, 0.6, 0.25];
pub const B: [f64; 3] = [-0.02, 0.0, 0.03];
/// The generator's factors on α in case A.
pub const LAYER_FACTORS: [f64; 3] = [1.0, 1.0, 0.85];
/// (σ_φ, σ_η) of each layer's template, mm.
pub const TEMPLATE_SIGMAS: [(f64, f64); 3] = [(60.0, 8.0), (30.0, 30.0), (50.0, 70.0)];
/// Expected number of noise voxels per generated shower in case C.
pub const NOISE_PER_SHOWER: f64 = 0.3;
pub const NOISE_MEAN_MEV: f64 = 0.5;
const TEMPLATE_CUT: f64 = 1e-6;

/// The Dirichlet parameters at incident energy `e` (GeV).
pub fn alpha(e: f64) -> [f64; 3] {
    [0, 1, 2].map(|k| KAPPA * (A[k] + B[k] * e.ln()))
}

/// ln Dir(f; α).
pub fn ln_dirichlet(f: &[f64], alpha: &[f64]) -> f64 {
    let total: f64 = alpha.iter().sum();
    let mut v = ln_gamma(total);
    for (x, a) in f.iter().zip(alpha) {
        v += (a - 1.0) * x.ln() - ln_gamma(*a);
    }
    v
}

/// π(E): truth's probability of an empty last layer (case B).
pub fn empty_probability(e: f64) -> f64 {
    0.08 * (1.0 - e.log10() / 2.0)
}

/// The fixed lateral templates, each summing to 1 over its layer.
pub fn templates() -> [Vec<f64>; 3] {
    [0, 1, 2].map(|k| {
        let (n_phi, n_eta) = LAYER_SHAPES[k];
        let (s_phi, s_eta) = TEMPLATE_SIGMAS[k];
        let cell = |n: usize, s: f64| -> Vec<f64> {
            let w = 480.0 / n as f64;
            cell_centres(n).iter().map(|c| phi((c + w / 2.0) / s) - phi((c - w / 2.0) / s)).collect()
        };
        let (p, e) = (cell(n_phi, s_phi), cell(n_eta, s_eta));
        let mut t: Vec<f64> = p.iter().flat_map(|a| e.iter().map(move |b| a * b)).collect();
        t.iter_mut().for_each(|x| {
            if *x < TEMPLATE_CUT {
                *x = 0.0
            }
        });
        let sum: f64 = t.iter().sum();
        t.iter_mut().for_each(|x| *x /= sum);
        t
    })
}

/// K: the cells outside the templates' support, where only noise can be.
pub fn empty_cells(t: &[Vec<f64>; 3]) -> usize {
    t.iter().map(|l| l.iter().filter(|&&x| x == 0.0).count()).sum()
}

fn dirichlet<R: Rng>(alpha: &[f64], r: &mut R) -> Result<Vec<f64>> {
    let mut g = Vec::with_capacity(alpha.len());
    for &a in alpha {
        let d = Gamma::new(a, 1.0).map_err(|e| invalid(format!("Gamma({a}, 1): {e}")))?;
        g.push(d.sample(r));
    }
    let s: f64 = g.iter().sum();
    Ok(g.into_iter().map(|x| x / s).collect())
}

struct Setup {
    templates: [Vec<f64>; 3],
    empty: usize,
    q: f64,
    u: Beta<f64>,
    noise: Exp<f64>,
}

fn shower<R: Rng>(case: Case, model: bool, s: &Setup, r: &mut R, out: &mut Showers, i: usize) -> Result<f64> {
    let e = r.random_range(1.0..100.0);
    let u = s.u.sample(r);
    let a = alpha(e);
    let (f, log_w) = match (case, model) {
        (Case::LayerFractions, m) => {
            let am = [0, 1, 2].map(|k| a[k] * LAYER_FACTORS[k]);
            let f = dirichlet(if m { &am } else { &a }, r)?;
            let lw = ln_dirichlet(&f, &a) - ln_dirichlet(&f, &am);
            (f, lw)
        }
        (Case::MissingMode, m) => {
            let p = empty_probability(e);
            if !m && r.random_bool(p) {
                let f01 = dirichlet(&a[..2], r)?;
                (vec![f01[0], f01[1], 0.0], f64::INFINITY)
            } else {
                (dirichlet(&a, r)?, (1.0 - p).ln())
            }
        }
        (Case::Noise, _) => (dirichlet(&a, r)?, -(s.empty as f64) * (1.0 - s.q).ln()),
        _ => (dirichlet(&a, r)?, 0.0),
    };
    out.energy[i] = e;
    let mut noisy = false;
    for (k, fk) in f.iter().enumerate() {
        let c = layer_cells(k);
        let dst = &mut out.layers[k][i * c..(i + 1) * c];
        for (v, t) in dst.iter_mut().zip(&s.templates[k]) {
            *v = u * e * fk * t * 1000.0;
            if case == Case::Noise && model && *t == 0.0 && r.random_bool(s.q) {
                *v = s.noise.sample(r);
                noisy = true;
            }
        }
    }
    Ok(if noisy { f64::NEG_INFINITY } else { log_w })
}

fn sample<R: Rng>(
    case: Case,
    model: bool,
    n: usize,
    s: &Setup,
    r: &mut R,
    progress: &ProgressBar,
) -> Result<(Showers, Vec<f64>)> {
    let mut out = Showers {
        n,
        energy: vec![0.0; n],
        layers: [0, 1, 2].map(|k| vec![0.0; n * layer_cells(k)]),
        overflow: vec![0.0; n * 3],
        log_p: None,
    };
    let mut log_w = Vec::with_capacity(n);
    for i in 0..n {
        log_w.push(shower(case, model, s, r, &mut out, i)?);
        if i % 1024 == 0 {
            progress.inc(1024.min(n - i) as u64);
        }
    }
    Ok((out, log_w))
}

/// E_E[π(E)] for E ~ U(1, 100): 0.08 (1 − ⟨log10 E⟩/2), ⟨log10 E⟩ = (100 ln 100 − 99)/(99 ln 10).
pub fn mean_empty_probability() -> f64 {
    let mean_log10 = (100.0 * 100f64.ln() - 99.0) / (99.0 * std::f64::consts::LN_10);
    0.08 * (1.0 - mean_log10 / 2.0)
}

pub fn generate(case: Case, n: usize, seed: u64, progress: &ProgressBar) -> Result<Toy> {
    let templates = templates();
    let empty = empty_cells(&templates);
    let setup = Setup {
        q: NOISE_PER_SHOWER / empty as f64,
        empty,
        templates,
        u: Beta::new(40.0, 2.0).map_err(|e| invalid(format!("Beta(40, 2): {e}")))?,
        noise: Exp::new(1.0 / NOISE_MEAN_MEV).map_err(|e| invalid(format!("Exp: {e}")))?,
    };
    let (truth, truth_log_w) = sample(case, false, n, &setup, &mut rng(seed, TRUTH_STREAM), progress)?;
    let (generated, generated_log_w) = sample(case, true, n, &setup, &mut rng(seed, GENERATED_STREAM), progress)?;
    let mut constants = BTreeMap::from([("kappa".to_string(), KAPPA), ("empty_cells".to_string(), empty as f64)]);
    let (description, formula, gen_mean, truth_inv, observable) = match case {
        Case::LayerFractions => (
            "last layer's Dirichlet parameter 15% low in the generator",
            "log w = ln Dir(f; alpha(E)) - ln Dir(f; alpha(E) * (1, 1, 0.85)), f = layer energies / total",
            1.0,
            1.0,
            "f_2",
        ),
        Case::MissingMode => {
            constants.insert("mean_empty_probability".into(), mean_empty_probability());
            (
                "truth's empty-last-layer mode missing from the generator",
                "w = +inf for truth showers with E_2 = 0, else 1 - 0.08 (1 - log10(E_inc)/2)",
                1.0 - mean_empty_probability(),
                1.0,
                "E_2",
            )
        }
        Case::Noise => {
            let q = setup.q;
            constants.insert("q".into(), q);
            let none = (1.0 - q).powi(empty as i32);
            (
                "noise voxels outside the showers' support in the generator",
                "w = 0 for a generated shower with a noise voxel, else (1 - q)^(-K)",
                1.0,
                none,
                "sparsity_0",
            )
        }
        _ => ("truth against truth", "w = 1", 1.0, 1.0, "E_tot"),
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
        expected_truth_mean_inverse_w: truth_inv,
        distorted_observable: observable.into(),
    };
    Ok(Toy { info, truth: Sample::Showers(truth), generated: Sample::Showers(generated), truth_log_w, generated_log_w })
}
