//! One axis of a plot: its range, chosen from the data unless fixed, and the mapping of values to
//! a fraction of the axis length, linear or logarithmic.

pub mod ticks;

/// Linear or logarithmic (base 10). Symlog is not offered: neither study needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Scale {
    #[default]
    Linear,
    Log,
}

/// A resolved axis: the range shown and whether it is logarithmic. On a log axis `lo > 0`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
}

impl Axis {
    /// The range that shows every usable value with a 5% margin (none below a minimum of exactly
    /// zero on a linear axis: counts and fractions start at 0), or `fixed` when it is usable
    /// (finite, increasing beyond rounding, positive on a log axis). With nothing usable the range
    /// is 0..1 (1..10 on a log axis); values that differ only by rounding ([`resolvable`]) are
    /// shown as the one value they are.
    pub fn new(values: &[f64], fixed: Option<(f64, f64)>, log: bool) -> Axis {
        let usable = |v: f64| v.is_finite() && (!log || v > 0.0);
        if let Some((lo, hi)) = fixed.filter(|&(lo, hi)| usable(lo) && usable(hi) && resolvable(lo, hi)) {
            return Axis { lo, hi, log };
        }
        let (min, max) = values
            .iter()
            .filter(|&&v| usable(v))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let t = |v: f64| if log { v.log10() } else { v };
        let (mut lo, mut hi) = (t(min), t(max));
        if min > max {
            (lo, hi) = (0.0, 1.0);
        } else if !resolvable(min, max) {
            let pad = if log { 0.5 } else { (lo.abs() * 0.1).max(0.5) };
            (lo, hi) = (lo - pad, lo + pad);
        } else {
            let pad = 0.05 * hi - 0.05 * lo;
            (lo, hi) = (if !log && lo == 0.0 { 0.0 } else { lo - pad }, hi + pad);
        }
        // Keep the ends finite, and positive on a log axis (10^-330 would underflow to 0).
        let (lo, hi) = if log {
            (lo.clamp(-307.0, 307.0), hi.clamp(-306.0, 308.0))
        } else {
            (lo.max(-f64::MAX), hi.min(f64::MAX))
        };
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else if log {
            (lo, lo + 1.0)
        } else {
            (0.0, 1.0)
        };
        let back = |v: f64| if log { 10f64.powf(v) } else { v };
        Axis { lo: back(lo), hi: back(hi), log }
    }

    /// Whether a value can be placed on this axis at all (finite, and positive on a log axis).
    pub fn ok(&self, v: f64) -> bool {
        v.is_finite() && (!self.log || v > 0.0)
    }

    /// Whether a value lies inside the range shown (with a little slack for rounding).
    pub fn contains(&self, v: f64) -> bool {
        self.ok(v) && (-1e-9..=1.0 + 1e-9).contains(&self.frac(v))
    }

    /// Position in [0, 1] across the axis, limited to far outside so SVG numbers stay sane.
    pub fn frac(&self, v: f64) -> f64 {
        let f = if self.log {
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            // Halved so that a range of +-f64::MAX does not overflow.
            (0.5 * v - 0.5 * self.lo) / (0.5 * self.hi - 0.5 * self.lo)
        };
        if f.is_nan() {
            0.0
        } else {
            f.clamp(-1e4, 1e4)
        }
    }

    /// The value at a fraction of the axis: the inverse of [`Axis::frac`].
    pub fn at(&self, f: f64) -> f64 {
        if self.log {
            10f64.powf(self.lo.log10() + f * (self.hi.log10() - self.lo.log10()))
        } else {
            self.lo + f * (self.hi - self.lo)
        }
    }
}

/// Whether `lo..hi` is wider than the rounding noise of its ends (a billionth of their size), so
/// that ticks and their labels can tell the ends apart. Values of 1 ± 1e-14 (weights equal to 1 up
/// to rounding) are one value to any reader, and a range that narrow once sent the tick search
/// past 2^53, where `i + 1.0 == i`.
pub(crate) fn resolvable(lo: f64, hi: f64) -> bool {
    hi - lo > 1e-9 * lo.abs().max(hi.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_pad_the_data_except_below_zero() {
        let a = Axis::new(&[0.0, 10.0], None, false);
        assert_eq!((a.lo, a.hi), (0.0, 10.5));
        let a = Axis::new(&[1.0, 100.0], None, true);
        assert!(a.lo < 1.0 && a.lo > 0.7 && a.hi > 100.0 && a.hi < 130.0, "{a:?}");
        assert_eq!(Axis::new(&[], None, false), Axis { lo: 0.0, hi: 1.0, log: false });
        assert_eq!(Axis::new(&[1.0], Some((2.0, 1.0)), false), Axis { lo: 0.5, hi: 1.5, log: false });
        assert_eq!(Axis::new(&[1.0], Some((-1.0, 1.0)), true).lo, 10f64.powf(-0.5));
    }

    #[test]
    fn values_equal_up_to_rounding_are_one_value() {
        let noisy = [1.0 - 1e-14, 1.0, 1.0 + 1e-14];
        assert_eq!(Axis::new(&noisy, None, false), Axis::new(&[1.0 - 1e-14], None, false));
        let a = Axis::new(&noisy, None, false);
        assert!(a.lo < 0.6 && a.hi > 1.4, "{a:?}");
        let a = Axis::new(&noisy, None, true);
        assert!(a.lo < 0.5 && a.hi > 2.0, "{a:?}");
        // A fixed range that narrow is no range: the data decide.
        assert_eq!(Axis::new(&[0.0, 10.0], Some((1.0, 1.0 + 1e-14)), false), Axis::new(&[0.0, 10.0], None, false));
        // Narrow but resolvable data keep their own range.
        let a = Axis::new(&[1.0, 1.0 + 1e-6], None, false);
        assert!(a.hi - a.lo < 2e-6, "{a:?}");
    }

    #[test]
    fn fractions_invert() {
        for log in [false, true] {
            let a = Axis::new(&[0.5, 50.0], None, log);
            for v in [0.7, 3.0, 42.0] {
                assert!((a.at(a.frac(v)) - v).abs() < 1e-9 * v, "{v}");
            }
            assert!(a.contains(1.0) && !a.contains(1e4) && !a.contains(f64::NAN));
        }
    }
}
