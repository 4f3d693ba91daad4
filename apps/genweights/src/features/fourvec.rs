//! Four-momenta (E, px, py, pz) and the collider observables built from them, with the
//! regularisations of the paper's loader (η from atanh of pz/(|p| + 1e-7), clipped).

use std::f64::consts::PI;

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FourVector {
    pub e: f64,
    pub px: f64,
    pub py: f64,
    pub pz: f64,
}

impl FourVector {
    pub fn new(e: f64, px: f64, py: f64, pz: f64) -> FourVector {
        FourVector { e, px, py, pz }
    }

    /// A massless or massive momentum from (pT, η, φ, m).
    pub fn from_pt_eta_phi_m(pt: f64, eta: f64, phi: f64, m: f64) -> FourVector {
        let (px, py, pz) = (pt * phi.cos(), pt * phi.sin(), pt * eta.sinh());
        FourVector { e: (px * px + py * py + pz * pz + m * m).sqrt(), px, py, pz }
    }

    pub fn pt(&self) -> f64 {
        self.px.hypot(self.py)
    }

    pub fn p(&self) -> f64 {
        (self.px * self.px + self.py * self.py + self.pz * self.pz).sqrt()
    }

    /// Pseudorapidity as the paper's loader computes it: atanh(pz / (|p| + 1e-7)), the ratio
    /// clipped to ±(1 − 1e-7) so that a zero-padded or collinear object gives a finite value.
    pub fn eta(&self) -> f64 {
        let r = (self.pz / (self.p() + 1e-7)).clamp(-(1.0 - 1e-7), 1.0 - 1e-7);
        r.atanh()
    }

    pub fn phi(&self) -> f64 {
        self.py.atan2(self.px)
    }

    /// The invariant mass, 0 where rounding makes m² slightly negative.
    pub fn mass(&self) -> f64 {
        let m2 = self.e * self.e - self.px * self.px - self.py * self.py - self.pz * self.pz;
        m2.max(0.0).sqrt()
    }

    /// Whether the object is present (zero-padded objects have E = 0).
    pub fn is_present(&self) -> bool {
        self.e != 0.0
    }
}

impl std::ops::Add for FourVector {
    type Output = FourVector;
    fn add(self, o: FourVector) -> FourVector {
        FourVector { e: self.e + o.e, px: self.px + o.px, py: self.py + o.py, pz: self.pz + o.pz }
    }
}

/// φ_b − φ_a wrapped to [−π, π).
pub fn delta_phi(a: f64, b: f64) -> f64 {
    let d = (b - a + PI).rem_euclid(2.0 * PI) - PI;
    if d >= PI {
        d - 2.0 * PI
    } else {
        d
    }
}

/// ΔR = √(Δη² + Δφ²) between two momenta.
pub fn delta_r(a: &FourVector, b: &FourVector) -> f64 {
    let de = a.eta() - b.eta();
    let dp = delta_phi(a.phi(), b.phi());
    (de * de + dp * dp).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_phi_wraps_into_the_half_open_interval() {
        assert!((delta_phi(3.0, -3.0) - (2.0 * PI - 6.0)).abs() < 1e-12);
        assert!((delta_phi(-3.0, 3.0) + (2.0 * PI - 6.0)).abs() < 1e-12);
        assert_eq!(delta_phi(0.0, PI), -PI);
        let v = FourVector::from_pt_eta_phi_m(30.0, 1.2, -0.7, 5.0);
        assert!((v.mass() - 5.0).abs() < 1e-9 && (v.eta() - 1.2).abs() < 1e-6 && (v.phi() + 0.7).abs() < 1e-12);
    }
}
