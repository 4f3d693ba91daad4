//! Toy Z→μμ+jets events in the pandas layout (docs/genweights-method.md §4.4), with exact weights in M_μμ.
//!
//! Latents shared by both samples: n_jets ∈ {1, 2, 3} with probabilities (0.70, 0.22, 0.08);
//! jet pT ~ Pareto(20 GeV, α = 3) sorted descending, η ~ N(0, 2²) clipped to |η| < 4.5, φ
//! uniform, m_j = 0.1 pT Beta(2, 5); the Z's transverse momentum is −Σ jet pT plus N(0, 5²) GeV
//! per component, its rapidity y ~ N(0, 1.2²); the muons decay isotropically in the Z rest frame
//! and are boosted, then ordered by pT. No cuts depend on M, so no MC constant enters w.
//!
//! - Truth M_μμ: a Breit–Wigner (M_Z = 91.1876, Γ = 2.4952) truncated to [70, 110], drawn by
//!   inverse CDF; c_T(M) = (Γ/2π)/((M − M_Z)² + Γ²/4)/Z_T, Z_T = (θ_b − θ_a)/π, θ = atan(2(M − M_Z)/Γ).
//! - **masspeak**: M' = M + N(0, 1 GeV²), the pair redrawn unless M' ∈ [70, 110]; then
//!   p_M(y) = ∫ c_T(M) φ_σ(y − M) dM / Z_M, Z_M = ∫ c_T(M)[Φ((b − M)/σ) − Φ((a − M)/σ)] dM,
//!   both by composite Gauss–Legendre (the smearing integral over y ± 12σ, relative error below
//!   1e-12), and w = c_T(M)/p_M(M).
//! - **binn**: K = 20 Breit–Wigners with (M_k, Γ_k) ~ N((M_Z, Γ), diag(0.3², 0.2²)) GeV drawn once
//!   from the seed; each generated event picks k uniformly and draws M from BW_k truncated to
//!   [70, 110]. Columns 20..39 of the generated file hold ln c_k(M_μμ); w = c_T(M)/((1/K) Σ_k c_k(M)).
//! - **null-events**: both truth.

use super::{rng, Case, Toy, ToyInfo, GENERATED_STREAM, MODEL_STREAM, TRUTH_STREAM};
use crate::error::{invalid, Result};
use crate::features::fourvec::FourVector;
use crate::io::{Events, Sample};
use crate::quadrature::GaussLegendre;
use crate::special::log_sum_exp;
use indicatif::ProgressBar;
use rand::{Rng, RngExt};
use rand_distr::{Beta, Distribution, Pareto, StandardNormal};
use stats::phi;
use std::collections::BTreeMap;
use std::f64::consts::PI;

pub const M_Z: f64 = 91.1876;
pub const GAMMA_Z: f64 = 2.4952;
pub const M_LO: f64 = 70.0;
pub const M_HI: f64 = 110.0;
pub const SMEAR_GEV: f64 = 1.0;
pub const BINN_DRAWS: usize = 20;

/// A Breit–Wigner truncated to [70, 110] GeV.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreitWigner {
    pub mass: f64,
    pub width: f64,
}

impl BreitWigner {
    fn theta(&self, m: f64) -> f64 {
        (2.0 * (m - self.mass) / self.width).atan()
    }

    /// The normalised truncated density c(M).
    pub fn density(&self, m: f64) -> f64 {
        if !(M_LO..=M_HI).contains(&m) {
            return 0.0;
        }
        let z = (self.theta(M_HI) - self.theta(M_LO)) / PI;
        let d = m - self.mass;
        (self.width / (2.0 * PI)) / (d * d + self.width * self.width / 4.0) / z
    }

    pub fn sample<R: Rng>(&self, r: &mut R) -> f64 {
        let t = r.random_range(self.theta(M_LO)..self.theta(M_HI));
        (self.mass + 0.5 * self.width * t.tan()).clamp(M_LO, M_HI)
    }
}

pub const TRUTH_BW: BreitWigner = BreitWigner { mass: M_Z, width: GAMMA_Z };

fn phi_sigma(x: f64, sigma: f64) -> f64 {
    (-0.5 * (x / sigma).powi(2)).exp() / (sigma * (2.0 * PI).sqrt())
}

/// The smeared-peak model's density p_M(y) and its acceptance Z_M, by quadrature.
#[derive(Debug, Clone)]
pub struct SmearedPeak {
    pub sigma: f64,
    pub acceptance: f64,
    rule: GaussLegendre,
    /// Subintervals per GeV.
    density: f64,
}

impl SmearedPeak {
    pub fn new(sigma: f64) -> SmearedPeak {
        SmearedPeak::with_resolution(sigma, 12, 4.0)
    }

    /// A rule of `points` nodes on subintervals of 1/`per_gev` GeV (for the refinement test).
    pub fn with_resolution(sigma: f64, points: usize, per_gev: f64) -> SmearedPeak {
        let rule = GaussLegendre::new(points);
        let accepted = |m: f64| TRUTH_BW.density(m) * (phi((M_HI - m) / sigma) - phi((M_LO - m) / sigma));
        let acceptance = rule.integrate(accepted, M_LO, M_HI, ((M_HI - M_LO) * per_gev).ceil() as usize);
        SmearedPeak { sigma, acceptance, rule, density: per_gev }
    }

    /// p_M(y): the truncated Breit–Wigner convolved with the Gaussian, renormalised to [70, 110].
    pub fn density(&self, y: f64) -> f64 {
        if !(M_LO..=M_HI).contains(&y) {
            return 0.0;
        }
        let (lo, hi) = ((y - 12.0 * self.sigma).max(M_LO), (y + 12.0 * self.sigma).min(M_HI));
        let pieces = ((hi - lo) * self.density).ceil().max(1.0) as usize;
        self.rule.integrate(|m| TRUTH_BW.density(m) * phi_sigma(y - m, self.sigma), lo, hi, pieces) / self.acceptance
    }

    pub fn log_w(&self, m: f64) -> f64 {
        TRUTH_BW.density(m).ln() - self.density(m).ln()
    }
}

/// The K Breit–Wigners of the Bayesian generator, drawn from the seed.
pub fn binn_components(seed: u64) -> Vec<BreitWigner> {
    let mut r = rng(seed, MODEL_STREAM);
    (0..BINN_DRAWS)
        .map(|_| {
            let n1: f64 = StandardNormal.sample(&mut r);
            let n2: f64 = StandardNormal.sample(&mut r);
            BreitWigner { mass: M_Z + 0.3 * n1, width: (GAMMA_Z + 0.2 * n2).abs().max(0.5) }
        })
        .collect()
}

/// The exact log w of the binn case and the K per-component log densities.
pub fn binn_log_w(components: &[BreitWigner], m: f64) -> (f64, Vec<f64>) {
    let logs: Vec<f64> = components.iter().map(|c| c.density(m).ln()).collect();
    let mixture = log_sum_exp(&logs) - (components.len() as f64).ln();
    (TRUTH_BW.density(m).ln() - mixture, logs)
}

struct Kinematics {
    pareto: Pareto<f64>,
    beta: Beta<f64>,
}

/// Boosts `p` (rest-frame) by velocity β.
fn boost(p: FourVector, b: [f64; 3]) -> FourVector {
    let b2 = b[0] * b[0] + b[1] * b[1] + b[2] * b[2];
    if b2 < 1e-300 {
        return p;
    }
    let g = 1.0 / (1.0 - b2).sqrt();
    let bp = b[0] * p.px + b[1] * p.py + b[2] * p.pz;
    let k = (g - 1.0) * bp / b2 + g * p.e;
    FourVector::new(g * (p.e + bp), p.px + k * b[0], p.py + k * b[1], p.pz + k * b[2])
}

/// One event's 20 momentum columns for Z mass `m`.
fn event<R: Rng>(m: f64, k: &Kinematics, r: &mut R) -> [f64; 20] {
    let u: f64 = r.random();
    let n_jets = if u < 0.70 {
        1
    } else if u < 0.92 {
        2
    } else {
        3
    };
    let mut pts: Vec<f64> = (0..n_jets).map(|_| k.pareto.sample(r)).collect();
    pts.sort_by(|a, b| b.total_cmp(a));
    let mut out = [0.0; 20];
    let (mut sx, mut sy) = (0.0, 0.0);
    for (j, &pt) in pts.iter().enumerate() {
        let n: f64 = StandardNormal.sample(r);
        let eta = (2.0 * n).clamp(-4.5, 4.5);
        let phi = r.random_range(-PI..PI);
        let mass = 0.1 * pt * k.beta.sample(r);
        let v = FourVector::from_pt_eta_phi_m(pt, eta, phi, mass);
        sx += v.px;
        sy += v.py;
        out[8 + 4 * j..12 + 4 * j].copy_from_slice(&[v.e, v.px, v.py, v.pz]);
    }
    let n1: f64 = StandardNormal.sample(r);
    let n2: f64 = StandardNormal.sample(r);
    let n3: f64 = StandardNormal.sample(r);
    let (zx, zy, y) = (-sx + 5.0 * n1, -sy + 5.0 * n2, 1.2 * n3);
    let mt = (m * m + zx * zx + zy * zy).sqrt();
    let (ez, zz) = (mt * y.cosh(), mt * y.sinh());
    let cos_t = r.random_range(-1.0..1.0f64);
    let sin_t = (1.0 - cos_t * cos_t).max(0.0).sqrt();
    let ph = r.random_range(0.0..2.0 * PI);
    let h = m / 2.0;
    let star = FourVector::new(h, h * sin_t * ph.cos(), h * sin_t * ph.sin(), h * cos_t);
    let anti = FourVector::new(h, -star.px, -star.py, -star.pz);
    let beta = [zx / ez, zy / ez, zz / ez];
    let (mut a, mut b) = (boost(star, beta), boost(anti, beta));
    if b.pt() > a.pt() {
        std::mem::swap(&mut a, &mut b);
    }
    out[0..4].copy_from_slice(&[a.e, a.px, a.py, a.pz]);
    out[4..8].copy_from_slice(&[b.e, b.px, b.py, b.pz]);
    out
}

enum Model<'a> {
    Truth,
    Smeared(&'a SmearedPeak),
    Binn(&'a [BreitWigner]),
}

/// N events' momentum columns (N × 20) and their latent masses.
fn sample<R: Rng>(model: Model, n: usize, k: &Kinematics, r: &mut R, progress: &ProgressBar) -> (Vec<f64>, Vec<f64>) {
    let mut momenta = Vec::with_capacity(20 * n);
    let mut masses = Vec::with_capacity(n);
    for i in 0..n {
        let m = match &model {
            Model::Truth => TRUTH_BW.sample(r),
            Model::Smeared(peak) => loop {
                let noise: f64 = StandardNormal.sample(r);
                let y = TRUTH_BW.sample(r) + peak.sigma * noise;
                if (M_LO..=M_HI).contains(&y) {
                    break y;
                }
            },
            Model::Binn(c) => {
                let j = r.random_range(0..c.len());
                c[j].sample(r)
            }
        };
        momenta.extend(event(m, k, r));
        masses.push(m);
        if i % 4096 == 0 {
            progress.inc(4096.min(n - i) as u64);
        }
    }
    (momenta, masses)
}

pub fn generate(case: Case, n: usize, seed: u64, progress: &ProgressBar) -> Result<Toy> {
    let k = Kinematics {
        pareto: Pareto::new(20.0, 3.0).map_err(|e| invalid(format!("Pareto: {e}")))?,
        beta: Beta::new(2.0, 5.0).map_err(|e| invalid(format!("Beta(2, 5): {e}")))?,
    };
    let peak = SmearedPeak::new(SMEAR_GEV);
    let components = binn_components(seed);
    let model = match case {
        Case::Masspeak => Model::Smeared(&peak),
        Case::Binn => Model::Binn(&components),
        _ => Model::Truth,
    };
    let (truth_momenta, truth_masses) = sample(Model::Truth, n, &k, &mut rng(seed, TRUTH_STREAM), progress);
    let (gen_momenta, gen_masses) = sample(model, n, &k, &mut rng(seed, GENERATED_STREAM), progress);
    // Exact weights from the latent masses (M_mumu of the written momenta equals them to rounding).
    let log_w = |m: &f64| match case {
        Case::Masspeak => peak.log_w(*m),
        Case::Binn => binn_log_w(&components, *m).0,
        _ => 0.0,
    };
    let truth_log_w: Vec<f64> = truth_masses.iter().map(log_w).collect();
    let generated_log_w: Vec<f64> = gen_masses.iter().map(log_w).collect();
    let truth = Events::new(truth_momenta, Vec::new(), Vec::new());
    let generated = if case == Case::Binn {
        let names = (0..components.len()).map(|j| (20 + j).to_string()).collect();
        let extra = gen_masses.iter().flat_map(|&m| binn_log_w(&components, m).1).collect();
        Events::new(gen_momenta, names, extra)
    } else {
        Events::new(gen_momenta, Vec::new(), Vec::new())
    };
    let mut constants = BTreeMap::from([
        ("M_Z".to_string(), M_Z),
        ("Gamma_Z".to_string(), GAMMA_Z),
        ("M_lo".to_string(), M_LO),
        ("M_hi".to_string(), M_HI),
    ]);
    let (description, formula) = match case {
        Case::Masspeak => {
            constants.insert("sigma".into(), SMEAR_GEV);
            constants.insert("Z_M".into(), peak.acceptance);
            ("Breit-Wigner M_mumu peak against one smeared by a 1 GeV Gaussian", "w = c_T(M_mumu) / p_M(M_mumu)")
        }
        Case::Binn => {
            for (j, c) in components.iter().enumerate() {
                constants.insert(format!("M_{j}"), c.mass);
                constants.insert(format!("Gamma_{j}"), c.width);
            }
            ("a mixture of 20 Breit-Wigners (a Bayesian generator)", "w = c_T(M) / mean_k c_k(M)")
        }
        _ => ("truth against truth", "w = 1"),
    };
    let info = ToyInfo {
        case,
        kind: case.kind(),
        events: n,
        seed,
        description: description.into(),
        exact_weight: formula.into(),
        constants,
        expected_gen_mean_w: 1.0,
        expected_truth_mean_inverse_w: 1.0,
        distorted_observable: "M_mumu".into(),
    };
    Ok(Toy { info, truth: Sample::Events(truth), generated: Sample::Events(generated), truth_log_w, generated_log_w })
}
