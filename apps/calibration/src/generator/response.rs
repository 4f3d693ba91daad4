//! The known conditional p(R | x) of docs/calibration-generator.md §7: a log-normal whose median m(x) and relative
//! width s(x) are closed-form functions of the *observed* features only. This is what makes the
//! truth exact: the BNN's σ_syst can be compared cluster by cluster with sd*(x).

use super::params::VERTEX_EFFICIENCY;
use super::shapes::{detector_response, gap_weight_in, hadronic_response, logistic, pileup_offset};

/// The observed features the response depends on (a subset of the 15).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observed {
    /// clusterE (GeV).
    pub e_em: f64,
    pub eta: f64,
    /// cluster_CENTER_LAMBDA (mm).
    pub lambda: f64,
    pub frac_em: f64,
    /// cluster_FIRST_ENG_DENS (GeV/mm³).
    pub rho: f64,
    pub lateral: f64,
    pub longitudinal: f64,
    pub ptd: f64,
    /// cluster_time (ns).
    pub time: f64,
    pub significance: f64,
    pub n_pv: f64,
    pub mu: f64,
}

/// The log-normal R = m exp(s_ln ε), ε ~ N(0, 1), and the terms it is made of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResponseModel {
    /// The median of R before the selection.
    pub median: f64,
    /// The relative width s; s_ln = √ln(1 + s²) is the width of ln R.
    pub rel_width: f64,
    pub s_ln: f64,
    /// p̂ = σ(s_EM): how EM-like the cluster looks.
    pub p_hat: f64,
    /// g(η_obs): the gap weight.
    pub gap: f64,
    /// w(t) = 1 − exp(−t²/(2·4²)): the out-of-time weight.
    pub oot: f64,
}

/// m(x) and s(x) of docs/calibration-generator.md §7.2–7.3, with the gap window at
/// `gap_window` in |η| (nominally `GAP_WINDOW`).
///
/// With no pile-up at all (⟨μ⟩ = 0, the PU0 sample) the pile-up offset estimate Ô is zero: Ô
/// estimates the offset O, which is zero by construction there, and the linearised μ − 36 term
/// would otherwise invent an offset that no cluster of that sample carries.
pub fn response_model(x: &Observed, gap_window: (f64, f64)) -> ResponseModel {
    let e = x.e_em;
    let u = x.eta.abs();
    let log10_e = e.log10();
    let log10_rho = x.rho.log10();
    let rho_mid = -6.35 + 0.6 * log10_e;
    let lambda_mid = 200.0 * (1.0 + 0.15 * (1.0 + e).ln());
    let shape_weight = 1.0 / (1.0 + e / 10.0);
    let s_em = 1.2 * (log10_rho - rho_mid) - 3.0 * (x.lambda.log10() - lambda_mid.log10())
        + shape_weight * (6.0 * (x.frac_em - 0.70) - 4.0 * (x.lateral - 0.45) - 3.0 * (x.longitudinal - 0.475));
    let p_hat = logistic(s_em);

    let r_cal =
        detector_response(u) * (p_hat + (1.0 - p_hat) * hadronic_response(u) * (1.0 + 0.04 * (e / 10.0).log10()));

    let offset = if x.mu > 0.0 {
        let interactions = (x.n_pv - 1.0) / VERTEX_EFFICIENCY;
        let cells = 1.0 / (x.ptd * x.ptd);
        pileup_offset(u, interactions, x.mu, cells)
    } else {
        0.0
    };
    let noise = e / x.significance;
    let threshold_bias = 0.8 * noise * (-x.significance / 3.0).exp();
    let denominator = (e - offset - threshold_bias).max(0.3 * e);
    let oot = 1.0 - (-x.time * x.time / (2.0 * 16.0)).exp();
    let gap = gap_weight_in(u, gap_window);
    let median = r_cal * e / denominator * (1.0 + 0.25 * oot) * (1.0 + 0.30 * gap);

    let stochastic = (0.10f64.powi(2) * p_hat + 0.35f64.powi(2) * (1.0 - p_hat)) / e;
    let constant = 0.02f64.powi(2) * p_hat + 0.07f64.powi(2) * (1.0 - p_hat);
    let s2 = stochastic + (1.0 / x.significance).powi(2) + constant + (0.60 * gap).powi(2) + (0.20 * oot).powi(2);
    ResponseModel { median, rel_width: s2.sqrt(), s_ln: (1.0 + s2).ln().sqrt(), p_hat, gap, oot }
}
