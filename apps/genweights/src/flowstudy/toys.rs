//! The flow study's truths: low-dimensional distributions with closed-form densities, each with
//! the structure a flow is known to get wrong (docs/genweights-method.md §11.5), and the region
//! where that failure shows. Only the study's evaluation reads `log_p` and `region`: the flow and
//! the classifier see samples alone.
//!
//! - **edge-banana** (2-D): x₁ ~ N(0, 1), x₂ = x₁²/2 − 1 + E with E ~ Exp(rate 2): a banana whose
//!   density is largest on its lower edge and zero beyond it, p = φ(x₁) · 2 e^{−2(x₂ − x₁²/2 + 1)}
//!   for x₂ ≥ x₁²/2 − 1. A flow is smooth and has full support, so it leaks across the edge.
//! - **narrow-mode** (5-D): the three-component Gaussian mixture with a 3 % mode of width 0.05
//!   ([`crate::flow::mixture::Mixture::narrow_mode_5d`]); a flow smears or misses the mode.
//! - **mass-peak** (2-D, (m, p_T) in GeV): 30 % of events in the Z Breit–Wigner truncated to
//!   [70, 110] GeV (the Z+jets toys' truth, `generator::events::TRUTH_BW`), 70 % on a broad
//!   background m = 50 + Gamma(2, 15); p_T | m ~ Gamma(2, 8 + 0.1 (m − 50)). The peak is 2.5 GeV
//!   wide on a background 30 GeV wide: a flow smears it.

use crate::flow::mixture::{Mixture, HALF_LN_2PI};
use crate::generator::events::TRUTH_BW;
use crate::generator::rng;
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// The edge-banana's rate: the density falls by e² per unit above the edge.
const EDGE_RATE: f64 = 2.0;
/// The mass-peak's share of peak events, and its background's Gamma shape and scale.
const PEAK_SHARE: f64 = 0.3;
const BACKGROUND_START: f64 = 50.0;
const BACKGROUND_SCALE: f64 = 15.0;
/// The narrow mode's region: within this distance of its centre in every coordinate (4 widths).
const NARROW_REACH: f64 = 0.2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlowToy {
    EdgeBanana,
    NarrowMode,
    MassPeak,
}

/// ln of the Gamma(2, θ) density at x > 0: ln x − 2 ln θ − x/θ.
fn ln_gamma2(x: f64, theta: f64) -> f64 {
    if x > 0.0 {
        x.ln() - 2.0 * theta.ln() - x / theta
    } else {
        f64::NEG_INFINITY
    }
}

/// An Exp(1) draw, −ln(1 − u) with u in [0, 1), so never infinite.
fn exp1(r: &mut impl RngExt) -> f64 {
    -(1.0 - r.random::<f64>()).ln()
}

/// The scale of p_T given m in the mass-peak toy.
fn pt_scale(m: f64) -> f64 {
    8.0 + 0.1 * (m - BACKGROUND_START)
}

impl FlowToy {
    pub const ALL: [FlowToy; 3] = [FlowToy::EdgeBanana, FlowToy::NarrowMode, FlowToy::MassPeak];

    pub fn name(self) -> &'static str {
        match self {
            FlowToy::EdgeBanana => "edge-banana",
            FlowToy::NarrowMode => "narrow-mode",
            FlowToy::MassPeak => "mass-peak",
        }
    }

    pub fn columns(self) -> Vec<String> {
        let names: &[&str] = match self {
            FlowToy::EdgeBanana => &["x1", "x2"],
            FlowToy::NarrowMode => &["x1", "x2", "x3", "x4", "x5"],
            FlowToy::MassPeak => &["m", "pt"],
        };
        names.iter().map(|s| s.to_string()).collect()
    }

    pub fn dims(self) -> usize {
        self.columns().len()
    }

    /// One sentence: what the truth is and where a flow is expected to fail.
    pub fn description(self) -> &'static str {
        match self {
            FlowToy::EdgeBanana => {
                "2-D banana, x₂ = x₁²/2 − 1 + Exp(rate 2) with x₁ ~ N(0, 1): its density is largest on a sharp lower \
                 edge and zero beyond it, so a flow, smooth and of full support, leaks across the edge"
            }
            FlowToy::NarrowMode => {
                "5-D Gaussian mixture: 57 % and 40 % broad components and a 3 % narrow mode of width 0.05 that a \
                 flow smears or misses"
            }
            FlowToy::MassPeak => {
                "(m, p_T): 30 % Z Breit–Wigner (91.19 GeV, Γ 2.50 GeV, truncated to [70, 110]) on a 70 % broad \
                 background m = 50 + Gamma(2, 15 GeV), p_T | m ~ Gamma(2, 8 + 0.1(m − 50) GeV): a flow smears the \
                 narrow peak"
            }
        }
    }

    /// `n` rows (row-major), seeded.
    pub fn sample(self, n: usize, seed: u64) -> Vec<f64> {
        if self == FlowToy::NarrowMode {
            return Mixture::narrow_mode_5d().sample(n, seed);
        }
        let mut r = rng(seed, 0xF1_57);
        let mut out = Vec::with_capacity(2 * n);
        for _ in 0..n {
            match self {
                FlowToy::EdgeBanana => {
                    let x1: f64 = StandardNormal.sample(&mut r);
                    out.extend([x1, 0.5 * x1 * x1 - 1.0 + exp1(&mut r) / EDGE_RATE]);
                }
                _ => {
                    let m = if r.random::<f64>() < PEAK_SHARE {
                        TRUTH_BW.sample(&mut r)
                    } else {
                        BACKGROUND_START + BACKGROUND_SCALE * (exp1(&mut r) + exp1(&mut r))
                    };
                    out.extend([m, pt_scale(m) * (exp1(&mut r) + exp1(&mut r))]);
                }
            }
        }
        out
    }

    /// The exact ln p of one row (−∞ outside the support).
    pub fn log_p(self, x: &[f64]) -> f64 {
        match self {
            FlowToy::EdgeBanana => {
                let above = x[1] - (0.5 * x[0] * x[0] - 1.0);
                if above < 0.0 {
                    return f64::NEG_INFINITY;
                }
                -0.5 * x[0] * x[0] - HALF_LN_2PI + EDGE_RATE.ln() - EDGE_RATE * above
            }
            FlowToy::NarrowMode => Mixture::narrow_mode_5d().log_p(x),
            FlowToy::MassPeak => {
                let (m, pt) = (x[0], x[1]);
                let background = ln_gamma2(m - BACKGROUND_START, BACKGROUND_SCALE).exp();
                let p_m = PEAK_SHARE * TRUTH_BW.density(m) + (1.0 - PEAK_SHARE) * background;
                p_m.ln() + ln_gamma2(pt, pt_scale(m))
            }
        }
    }

    /// The region where this toy's flow is expected to fail, in words.
    pub fn region_name(self) -> &'static str {
        match self {
            FlowToy::EdgeBanana => "the region beyond the edge (x₂ < x₁²/2 − 1, where truth has no events)",
            FlowToy::NarrowMode => "the narrow mode (within 0.2 of its centre in every coordinate)",
            FlowToy::MassPeak => "the peak window |m − 91.19| < 2.5 GeV",
        }
    }

    /// Whether a row lies in that region.
    pub fn in_region(self, x: &[f64]) -> bool {
        match self {
            FlowToy::EdgeBanana => x[1] < 0.5 * x[0] * x[0] - 1.0,
            FlowToy::NarrowMode => {
                let centre = &Mixture::narrow_mode_5d().components[2].mean;
                x.iter().zip(centre).all(|(v, c)| (v - c).abs() < NARROW_REACH)
            }
            FlowToy::MassPeak => (x[0] - TRUTH_BW.mass).abs() < TRUTH_BW.width,
        }
    }

    /// The edge of truth's support over the first coordinate's map range, as a polyline of the
    /// first two coordinates, where the toy has one inside the maps (the edge banana's parabola).
    pub fn support_edge(self) -> Option<(Vec<f64>, Vec<f64>)> {
        let [(x0, x1), _] = self.map_range();
        let x: Vec<f64> = (0..=60).map(|i| x0 + (x1 - x0) * i as f64 / 60.0).collect();
        match self {
            FlowToy::EdgeBanana => Some((x.clone(), x.iter().map(|v| 0.5 * v * v - 1.0).collect())),
            _ => None,
        }
    }

    /// The ranges of the first two coordinates that the page's maps and projections span.
    pub fn map_range(self) -> [(f64, f64); 2] {
        match self {
            FlowToy::EdgeBanana => [(-3.0, 3.0), (-1.6, 3.4)],
            FlowToy::NarrowMode => [(-3.5, 3.5), (-3.0, 3.5)],
            FlowToy::MassPeak => [(60.0, 140.0), (0.0, 80.0)],
        }
    }
}

impl std::str::FromStr for FlowToy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FlowToy::ALL.into_iter().find(|t| t.name() == s).ok_or_else(|| {
            let names: Vec<&str> = FlowToy::ALL.iter().map(|t| t.name()).collect();
            format!("'{s}': the flow study's toys are {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each density integrates to one (midpoint rule on a grid over its support) and its
    /// samples follow it: the mean of ln p over samples is the density's negative entropy,
    /// compared with the grid's ∫ p ln p.
    #[test]
    fn the_2d_densities_are_normalised_and_match_their_samples() {
        for (toy, (x0, x1), (y0, y1), cells) in [
            (FlowToy::EdgeBanana, (-7.0, 7.0), (-1.01, 30.0), 1400),
            (FlowToy::MassPeak, (50.0, 400.0), (0.0, 600.0), 3500),
        ] {
            let (hx, hy) = ((x1 - x0) / cells as f64, (y1 - y0) / cells as f64);
            let (mut total, mut neg_entropy) = (0.0, 0.0);
            for i in 0..cells {
                for j in 0..cells {
                    let x = [x0 + (i as f64 + 0.5) * hx, y0 + (j as f64 + 0.5) * hy];
                    let l = toy.log_p(&x);
                    if l.is_finite() {
                        total += l.exp() * hx * hy;
                        neg_entropy += l * l.exp() * hx * hy;
                    }
                }
            }
            assert!((total - 1.0).abs() < 2e-3, "{}: ∫ p = {total}", toy.name());
            let rows = toy.sample(100_000, 3);
            let mean = rows.chunks(2).map(|r| toy.log_p(r)).sum::<f64>() / 100_000.0;
            assert!((mean - neg_entropy).abs() < 0.02, "{}: E[ln p] {mean} vs ∫ p ln p {neg_entropy}", toy.name());
        }
    }

    #[test]
    fn the_edge_banana_has_no_events_beyond_its_edge() {
        let rows = FlowToy::EdgeBanana.sample(10_000, 1);
        assert!(rows.chunks(2).all(|r| !FlowToy::EdgeBanana.in_region(r) && FlowToy::EdgeBanana.log_p(r).is_finite()));
        assert_eq!(FlowToy::EdgeBanana.log_p(&[0.0, -1.5]), f64::NEG_INFINITY);
    }
}
