//! The smooth detector shapes that both the cluster draw and the response model use.

use super::params::*;

/// σ(x) = 1 / (1 + e^−x).
pub fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The smooth box B(u; a, b, w) = σ((u − a)/w) σ((b − u)/w): ≈1 inside [a, b], ≈0 outside.
pub fn smooth_box(u: f64, (a, b, w): (f64, f64, f64)) -> f64 {
    logistic((u - a) / w) * logistic((b - u) / w)
}

/// The gap weight g(u) of the tile-gap-like region.
pub fn gap_weight(u: f64) -> f64 {
    gap_weight_in(u, (GAP_WINDOW.0, GAP_WINDOW.1))
}

/// The gap weight of a window moved to (lo, hi) in |η|, with the nominal edge width: the
/// generator variant on which `calibration explain` is tested must find the window elsewhere.
pub fn gap_weight_in(u: f64, (lo, hi): (f64, f64)) -> f64 {
    smooth_box(u, (lo, hi, GAP_WINDOW.2))
}

/// g_det(u) = 1 − 0.05 B(u; 1.37, 1.52, 0.01): the response dip of the barrel/end-cap crack.
pub fn detector_response(u: f64) -> f64 {
    1.0 - DET_DIP_DEPTH * smooth_box(u, DET_DIP_WINDOW)
}

/// h₀(u): the hadronic EM-scale response, lower in the end-cap.
pub fn hadronic_response(u: f64) -> f64 {
    if u < BARREL_EDGE {
        H0_BARREL
    } else {
        H0_ENDCAP
    }
}

/// The pile-up offset of docs/calibration-generator.md §5 for a number of interactions (true, or estimated from N_PV).
pub fn pileup_offset(u: f64, interactions: f64, mu: f64, cells: f64) -> f64 {
    (1.0 + u / 2.0)
        * (OFFSET_IN_TIME * (interactions - mu) - OFFSET_OUT_OF_TIME * (mu - MU_MEAN))
        * (cells / 5.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gap_window_is_narrow() {
        assert!(gap_weight(1.5) > 0.99);
        assert!(gap_weight(1.3) < 1e-2 && gap_weight(1.7) < 1e-2);
        assert!((gap_weight(1.40) - 0.5).abs() < 1e-3);
        assert!(gap_weight_in(2.3, (2.2, 2.4)) > 0.99 && gap_weight_in(1.5, (2.2, 2.4)) < 1e-6);
        assert!((detector_response(1.45) - 0.95).abs() < 1e-3 && detector_response(0.5) > 0.9999);
    }
}
