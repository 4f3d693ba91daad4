//! One cluster drawn from its own random stream (docs/calibration-generator.md §2–§6): the event's pile-up, the
//! cluster's latents, the noise, the 15 features, then R from the known p(R | x) and the exact
//! truth. Clusters are i.i.d., each with its own event variables.

use super::params::*;
use super::response::{response_model, Observed, ResponseModel};
use super::shapes::{detector_response, gap_weight_in, hadronic_response, pileup_offset};
use super::truth::{truncated_lognormal, SelectedTruth};
use super::{ClassChoice, GeneratorConfig, Sample};
use rand::{Rng, RngExt};
use rand_distr::multi::Dirichlet;
use rand_distr::{Beta, Binomial, Distribution, Exp1, LogNormal, Poisson, StandardNormal};

/// Everything the generator knows about one cluster: the features, the target, the response
/// model and the hidden latents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cluster {
    pub features: [f64; 15],
    /// cluster_ENG_CALIB_TOT = E^EM / R (GeV).
    pub e_dep: f64,
    pub model: ResponseModel,
    pub truth: SelectedTruth,
    pub is_em: bool,
    /// The EM fraction f of the deposit.
    pub em_fraction: f64,
    /// The seed energy E_s (GeV).
    pub seed_energy: f64,
    pub interactions: f64,
    /// The hidden local jet density J.
    pub jet_density: f64,
    /// The out-of-time shift τ (ns), 0 for in-time clusters.
    pub oot_shift: f64,
}

/// Draws clusters until one has E^EM > 0 (docs/calibration-generator.md §1.3, §6).
/// Every attempt uses the same stream, so the kept cluster depends only on the stream, and a
/// sample of n clusters is a prefix of any larger sample with the same seed.
pub fn draw_cluster<R: Rng>(rng: &mut R, config: &GeneratorConfig) -> Cluster {
    loop {
        if let Some(c) = attempt(rng, config) {
            return c;
        }
    }
}

fn normal<R: Rng>(rng: &mut R) -> f64 {
    rng.sample(StandardNormal)
}

/// A Beta draw; the parameters are positive by construction (they come from clipped fractions),
/// so the fallback to the mean only guards against a future edit breaking that.
fn beta<R: Rng>(rng: &mut R, a: f64, b: f64) -> f64 {
    match Beta::new(a, b) {
        Ok(d) => d.sample(rng),
        Err(_) => a / (a + b),
    }
}

fn poisson<R: Rng>(rng: &mut R, lambda: f64) -> f64 {
    match Poisson::new(lambda) {
        Ok(d) => d.sample(rng),
        Err(_) => lambda.max(0.0).round(),
    }
}

/// ⟨μ⟩, n_int, N_PV of the cluster's event.
fn pileup<R: Rng>(rng: &mut R, sample: Sample) -> (f64, f64, f64) {
    if sample == Sample::Pu0 {
        return (0.0, 0.0, 1.0);
    }
    let mu = loop {
        let mu = MU_MEAN + MU_SD * normal(rng);
        if (MU_RANGE.0..=MU_RANGE.1).contains(&mu) {
            break mu;
        }
    };
    let interactions = poisson(rng, mu);
    let vertices = match Binomial::new(interactions as u64, VERTEX_EFFICIENCY) {
        Ok(d) => d.sample(rng) as f64,
        Err(_) => VERTEX_EFFICIENCY * interactions,
    };
    (mu, interactions, 1.0 + vertices)
}

/// log10(E_s / 0.25 GeV): truncated exponential (jets) or uniform (single-particle-like PU0).
fn seed_log_energy<R: Rng>(rng: &mut R, sample: Sample) -> f64 {
    match sample {
        Sample::Pu0 => rng.random_range(0.0..SEED_T_MAX),
        Sample::PileUp => loop {
            let t = SEED_T_SCALE * rng.sample::<f64, _>(Exp1);
            if t <= SEED_T_MAX {
                break t;
            }
        },
    }
}

fn attempt<R: Rng>(rng: &mut R, config: &GeneratorConfig) -> Option<Cluster> {
    let shower = shower(rng, config);
    let noise = noise(rng, &shower);
    let features = features(rng, &shower, &noise)?;
    let Shower { is_em, f, seed_energy, interactions, jet_density, .. } = shower;
    let oot_shift = noise.oot_shift;
    let e_em = features[0];
    let model = response_model(&observed(&features), config.gap_window);
    let r = model.median * (model.s_ln * normal(rng)).exp();
    let truth = truncated_lognormal(model.median, model.s_ln, R_MIN, e_em / E_DEP_MIN);
    Some(Cluster {
        features,
        e_dep: e_em / r,
        model,
        truth,
        is_em,
        em_fraction: f,
        seed_energy,
        interactions,
        jet_density,
        oot_shift,
    })
}

/// The particle shower behind a cluster, before the detector: its position, class, energy,
/// electromagnetic share and size, and the pile-up it sits in (docs/calibration-generator.md §2-3).
struct Shower {
    pile_up: bool,
    mu: f64,
    interactions: f64,
    n_pv: f64,
    eta: f64,
    /// |η|.
    u: f64,
    is_em: bool,
    seed_energy: f64,
    /// The electromagnetic fraction of the deposit.
    f: f64,
    lambda_true: f64,
    cells: f64,
    jet_density: f64,
    /// How much the tile gap widens the feature resolutions.
    widen: f64,
}

fn shower<R: Rng>(rng: &mut R, config: &GeneratorConfig) -> Shower {
    let (sample, class) = (config.sample, config.class);
    let pile_up = sample == Sample::PileUp;
    let (mu, interactions, n_pv) = pileup(rng, sample);

    let eta = rng.random_range(-ETA_MAX..ETA_MAX);
    let u = eta.abs();
    let em_draw: f64 = rng.random();
    let is_em = match class {
        ClassChoice::Mixed => em_draw < P_EM,
        ClassChoice::EmOnly => true,
        ClassChoice::HadOnly => false,
    };
    let seed_energy = SEED_E0 * 10f64.powf(seed_log_energy(rng, sample));
    let f = if is_em {
        1.0 - beta(rng, EM_F_BETA.0, EM_F_BETA.1)
    } else {
        let m = (1.0 - seed_energy.powf(GROOM_EXPONENT)).clamp(HAD_F_RANGE.0, HAD_F_RANGE.1);
        beta(rng, HAD_F_CONCENTRATION * m, HAD_F_CONCENTRATION * (1.0 - m))
    };
    let lambda_em = 20.0 * ((seed_energy / 0.01).ln() + 0.5);
    let lambda_had_spread = LogNormal::new(0.0, 0.35).map(|d| d.sample(rng)).unwrap_or(1.0);
    let lambda_had = 220.0 * (1.0 + 0.25 * (1.0 + seed_energy).ln()) * lambda_had_spread;
    let lambda_true = f * lambda_em + (1.0 - f) * lambda_had;
    let cells = 2.0 + poisson(rng, 3.0 + 5.0 * seed_energy.sqrt() * (1.0 + 1.5 * (1.0 - f)));
    let jet_density: f64 = rng.random();
    let widen = 1.0 + 2.0 * gap_weight_in(u, config.gap_window);
    Shower { pile_up, mu, interactions, n_pv, eta, u, is_em, seed_energy, f, lambda_true, cells, jet_density, widen }
}

/// The electronic and pile-up noise of a cluster, its pile-up offset and out-of-time shift
/// (docs/calibration-generator.md §5).
struct Noise {
    sigma_clus: f64,
    offset: f64,
    oot_shift: f64,
}

fn noise<R: Rng>(rng: &mut R, sh: &Shower) -> Noise {
    let Shower { pile_up, mu, interactions, u, cells, seed_energy, .. } = *sh;
    // Noise, pile-up offset and out-of-time contamination (docs/calibration-generator.md §5).
    let sigma_el = SIGMA_EL * if u > BARREL_EDGE { SIGMA_EL_ENDCAP_FACTOR } else { 1.0 };
    let sigma_pu = if pile_up { SIGMA_PU * (mu / MU_MEAN).sqrt() * (1.0 + 0.8 * u / ETA_MAX) } else { 0.0 };
    let sigma_clus = cells.sqrt() * (sigma_el * sigma_el + sigma_pu * sigma_pu).sqrt();
    let offset = if pile_up { pileup_offset(u, interactions, mu, cells) } else { 0.0 };
    let oot_draw: f64 = rng.random();
    let oot_shift = if pile_up && oot_draw < P_OOT * (mu / MU_MEAN) * (-seed_energy / 2.0).exp() {
        let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
        sign * rng.random_range(OOT_SHIFT.0..OOT_SHIFT.1)
    } else {
        0.0
    };
    Noise { sigma_clus, offset, oot_shift }
}

/// The 15 observed features of a shower with its noise (docs/calibration-generator.md §6), in the
/// order of `columns::FEATURES`;
/// None when the EM-scale energy is not positive.
fn features<R: Rng>(rng: &mut R, sh: &Shower, noise: &Noise) -> Option<[f64; 15]> {
    let Shower { mu, n_pv, eta, u, f, seed_energy, lambda_true, cells, jet_density, widen, .. } = *sh;
    let Noise { sigma_clus, offset, oot_shift } = *noise;
    // The features (docs/calibration-generator.md §6), in the order of `columns::FEATURES`.
    let e_em =
        seed_energy * detector_response(u) * (f + (1.0 - f) * hadronic_response(u)) + offset + sigma_clus * normal(rng);
    if e_em <= 0.0 || e_em.is_nan() {
        return None;
    }
    let eta_obs = eta + ETA_RESOLUTION * widen * normal(rng);
    let lambda = lambda_true * (LAMBDA_LOG_SD * widen * normal(rng)).exp();
    let front = if u < 1.475 { 1500.0 * eta.cosh() } else { 3700.0 / u.tanh() };
    let center_mag = front + lambda_true * (1.0 + CENTER_MAG_REL_SD * widen * normal(rng));
    let hadronic_em_part = beta(rng, 2.0, 3.0);
    let frac_em = (0.97 * f + (1.0 - f) * hadronic_em_part + FRAC_EM_SD * widen * normal(rng)).clamp(0.0, 1.0);
    let endcap_density = if u > BARREL_EDGE { 0.3 } else { 0.0 };
    let log10_rho = e_em.log10() - 0.7 * cells.log10() - (5.6 * f + 7.1 * (1.0 - f)) - endcap_density
        + LOG10_RHO_SD * widen * normal(rng);
    let a = 0.25 + 0.40 * (1.0 - f);
    let lateral = beta(rng, 12.0 * a, 12.0 * (1.0 - a));
    let b = 0.30 + 0.35 * (1.0 - f);
    let longitudinal = beta(rng, 12.0 * b, 12.0 * (1.0 - b));
    let ptd = compactness(rng, cells as usize, 0.5 + 1.5 * (1.0 - f));
    let zeta = e_em / sigma_clus;
    let zeta_floor = zeta.max(0.5);
    let time = oot_shift + (0.4 + 3.0 / zeta_floor.sqrt()) * widen * normal(rng);
    let c = (0.80 - 0.25 * mu / 72.0 - 0.25 * jet_density).clamp(0.05, 0.95);
    let isolation = beta(rng, 6.0 * c, 6.0 * (1.0 - c));
    let oot_term = if oot_shift != 0.0 { 30.0 } else { 0.0 };
    let second_time = ((0.5 + 40.0 / zeta_floor + oot_term).ln() + SECOND_TIME_LOG_SD * widen * normal(rng)).exp();

    Some([
        e_em,
        eta_obs,
        lambda,
        center_mag,
        frac_em,
        10f64.powf(log10_rho),
        lateral,
        longitudinal,
        ptd,
        time,
        isolation,
        second_time,
        zeta,
        n_pv,
        mu,
    ])
}

/// p_TD = √Σp² for cell-energy fractions p ~ Dirichlet(α·1) over the cluster's cells: exactly
/// the athena definition with Σp = 1.
fn compactness<R: Rng>(rng: &mut R, cells: usize, alpha: f64) -> f64 {
    let alphas = vec![alpha; cells.max(2)];
    match Dirichlet::new(&alphas) {
        Ok(d) => {
            let p: Vec<f64> = d.sample(rng);
            p.iter().map(|x| x * x).sum::<f64>().sqrt()
        }
        Err(_) => (1.0 / cells.max(1) as f64).sqrt(),
    }
}

/// The observed features the response model reads, from the 15 in the order of
/// [`crate::columns::FEATURES`].
pub fn observed(x: &[f64; 15]) -> Observed {
    Observed {
        e_em: x[0],
        eta: x[1],
        lambda: x[2],
        frac_em: x[4],
        rho: x[5],
        lateral: x[6],
        longitudinal: x[7],
        ptd: x[8],
        time: x[9],
        significance: x[12],
        n_pv: x[13],
        mu: x[14],
    }
}
