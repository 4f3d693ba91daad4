//! The generator's constants (docs/calibration-generator.md §10), named once so that the README, the code and the
//! tests quote the same numbers. Units: GeV, mm, ns.

/// ⟨μ⟩ ~ N(36, 12²) truncated to [8, 75]: a Run-2-like pile-up profile.
pub const MU_MEAN: f64 = 36.0;
pub const MU_SD: f64 = 12.0;
pub const MU_RANGE: (f64, f64) = (8.0, 75.0);
/// N_PV = 1 + Binomial(n_int, 0.6): the vertex efficiency that makes N_PV an imperfect proxy.
pub const VERTEX_EFFICIENCY: f64 = 0.6;

/// |η| < 3.2, uniform in η.
pub const ETA_MAX: f64 = 3.2;
/// P(EM) of a cluster in the pile-up sample (photons from π⁰ in jets).
pub const P_EM: f64 = 0.30;
/// E_s = 0.25 GeV · 10^t with t ~ Exp(rate 1/0.6) truncated to [0, 3.6] (pile-up sample), or
/// t ~ U(0, 3.6) (PU0 sample, log-uniform like single-pion samples).
pub const SEED_E0: f64 = 0.25;
pub const SEED_T_SCALE: f64 = 0.6;
pub const SEED_T_MAX: f64 = 3.6;
/// Groom's π⁰-fraction law for HAD clusters: m = clip(1 − E_s^−0.18, 0.05, 0.9).
pub const GROOM_EXPONENT: f64 = -0.18;
pub const HAD_F_RANGE: (f64, f64) = (0.05, 0.9);
/// Beta concentrations: EM f = 1 − Beta(1, 30); HAD f ~ Beta(8m, 8(1 − m)).
pub const EM_F_BETA: (f64, f64) = (1.0, 30.0);
pub const HAD_F_CONCENTRATION: f64 = 8.0;

/// The tile-gap-like window g(u) = B(u; 1.40, 1.60, 0.015) and the detector dip g_det.
pub const GAP_WINDOW: (f64, f64, f64) = (1.40, 1.60, 0.015);
pub const DET_DIP_WINDOW: (f64, f64, f64) = (1.37, 1.52, 0.01);
pub const DET_DIP_DEPTH: f64 = 0.05;
/// h₀: the hadronic response of the EM scale, 0.62 in the barrel (u < 1.5), 0.58 beyond.
pub const H0_BARREL: f64 = 0.62;
pub const H0_ENDCAP: f64 = 0.58;
pub const BARREL_EDGE: f64 = 1.5;

/// Noise per cell: σ_el = 0.015 (×1.6 for u > 1.5); σ_PU = 0.020 √(μ/36) (1 + 0.8 u/3.2).
pub const SIGMA_EL: f64 = 0.015;
pub const SIGMA_EL_ENDCAP_FACTOR: f64 = 1.6;
pub const SIGMA_PU: f64 = 0.020;
/// Pile-up offset O = (1 + u/2)[0.006 (n_int − μ) − 0.0025 (μ − 36)] √(N_cells/5).
pub const OFFSET_IN_TIME: f64 = 0.006;
pub const OFFSET_OUT_OF_TIME: f64 = 0.0025;
/// p_OOT = 0.15 (μ/36) exp(−E_s/2); the shift is τ = ±U(6, 20) ns.
pub const P_OOT: f64 = 0.15;
pub const OOT_SHIFT: (f64, f64) = (6.0, 20.0);

/// The noise widths of the features, widened by (1 + 2g) in the gap.
pub const ETA_RESOLUTION: f64 = 0.005;
pub const LAMBDA_LOG_SD: f64 = 0.10;
pub const CENTER_MAG_REL_SD: f64 = 0.05;
pub const FRAC_EM_SD: f64 = 0.05;
pub const LOG10_RHO_SD: f64 = 0.20;
pub const SECOND_TIME_LOG_SD: f64 = 0.5;

/// The selection the truth is truncated by: R > 0.1 and E_dep > 0.3 GeV (R < E^EM / 0.3).
pub const R_MIN: f64 = 0.1;
pub const E_DEP_MIN: f64 = 0.3;
