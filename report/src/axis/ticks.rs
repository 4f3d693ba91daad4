//! Tick positions and labels: round values ("1, 2, 5 x 10^k"), decades on log axes, labels with
//! just enough decimals, and as many ticks as fit along the axis without their labels touching.

use super::Axis;
use crate::text::{self, Font};

/// Round tick values ("1, 2, 5 x 10^k" steps) inside [lo, hi], about `target` of them.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return if lo.is_finite() && lo == hi { vec![lo] } else { Vec::new() };
    }
    if !(hi - lo).is_finite() {
        return vec![lo, hi];
    }
    // Candidate steps m x 10^k around the raw step; the one whose tick count is nearest the
    // target wins (ties to the coarser), as long as it gives at least two ticks.
    let k0 = ((hi - lo) / target.max(1) as f64).log10().floor().clamp(-400.0, 400.0) as i32;
    let candidates = (k0 - 1..=k0 + 1).flat_map(|k| [1.0, 2.0, 5.0].map(|m| (m, k)));
    let best = candidates
        .map(|(m, k)| {
            let t = ticks_with_step(lo, hi, m, k);
            (t.len().abs_diff(target.max(2)), std::cmp::Reverse(k * 10 + m as i32), t)
        })
        .filter(|(_, _, t)| t.len() >= 2)
        .min_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    best.map(|(_, _, t)| t).unwrap_or_else(|| vec![lo, hi])
}

/// The most ticks one step may give before it is rejected as absurd.
const MAX_TICKS: f64 = 1000.0;

/// The largest multiple of a step that is still counted: beyond 2^50 the step is below a few
/// ulps of the values, so neighbouring ticks would round to one value (and past 2^53 counting
/// with `i + 1.0` stands still, which once looped forever on a range of 1 ± 1e-14).
const MAX_MULTIPLE: f64 = (1u64 << 50) as f64;

/// The multiples of m x 10^k inside [lo, hi], computed as i x m / 10^-k for negative k so that
/// e.g. 0.3 comes out as the double nearest 0.3. At most [`MAX_TICKS`], whatever the range.
fn ticks_with_step(lo: f64, hi: f64, m: f64, k: i32) -> Vec<f64> {
    let value = |i: f64| if k < 0 { i * m / 10f64.powi(-k) } else { i * m * 10f64.powi(k) };
    let step = value(1.0);
    let (first, last) = ((lo / step - 1e-9).ceil(), (hi / step + 1e-9).floor());
    // NaN (a zero or infinite step), absurd counts and steps below the doubles' resolution at
    // this size all give nothing.
    let countable = last - first < MAX_TICKS && first.abs().max(last.abs()) <= MAX_MULTIPLE;
    if !countable {
        return Vec::new();
    }
    let count = (last - first + 1.0).max(0.0) as u32;
    (0..count).map(|j| first + f64::from(j)).map(|i| if i == 0.0 { 0.0 } else { value(i) }).collect()
}

/// 10^k: exact (or correctly rounded) up to |k| = 22, where the powers of ten multiply exactly;
/// beyond, `powf`, since repeated multiplication drifts and 1 / 10^323 overflows to 0.
fn decade(k: i32) -> f64 {
    if k.abs() <= 22 {
        10f64.powi(k)
    } else {
        10f64.powf(f64::from(k))
    }
}

/// Ticks for a log axis: the decades inside [lo, hi] (every n-th one when there are many); when
/// the range holds fewer than two decades, 1, 2, 5 x 10^k, and failing those, linear round ticks.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    log_ticks_at_most(lo, hi, 9)
}

/// [`log_ticks`] with at most `max` ticks (at least two).
fn log_ticks_at_most(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return Vec::new();
    }
    let max = max.clamp(2, 1000) as i32;
    let (a, b) = ((lo.log10() - 1e-9).ceil() as i32, (hi.log10() + 1e-9).floor() as i32);
    // Every n-th decade, preferably at multiples of n so that 10^0 stays a tick when in range,
    // else counted from the first decade.
    if b > a {
        // Strides below (b - a + 1) / (max + 1) leave more than `max` decades: not worth trying.
        let shortest = ((b - a + 1) / (max + 1)).max(1);
        for every in shortest..=(b - a) {
            for phase in [0, a.rem_euclid(every)] {
                let ks: Vec<i32> = (a..=b).filter(|k| k.rem_euclid(every) == phase).collect();
                if ks.len() >= 2 && ks.len() as i32 <= max {
                    return ks.into_iter().map(decade).collect();
                }
            }
        }
    }
    let k0 = lo.log10().floor() as i32;
    for mantissas in [&[1.0, 2.0, 5.0][..], &[1.0, 3.0], &[1.0]] {
        let dense: Vec<f64> = (k0..=b + 1)
            .flat_map(|k| mantissas.iter().map(move |m| m * decade(k)))
            .filter(|&v| v.is_finite() && v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9))
            .collect();
        if dense.len() >= 2 && dense.len() as i32 <= max {
            return dense;
        }
    }
    nice_ticks(lo, hi, (max as usize).min(4))
}

/// The most decimals a fixed-point label gets: a double holds no more digits than that.
const MAX_DECIMALS: usize = 17;

/// Labels for a set of ticks with one shared style: scientific ("2.5e6") when the magnitudes are
/// very large or very small, otherwise fixed with just enough decimals to tell the ticks apart.
/// Plain ASCII, for tables and logs; figures use [`axis_labels`].
pub fn format_ticks(ticks: &[f64]) -> Vec<String> {
    let biggest = ticks.iter().fold(0.0f64, |m, t| m.max(t.abs()));
    if biggest >= 1e5 || (biggest > 0.0 && biggest < 1e-3) {
        return ticks.iter().map(|&t| if t == 0.0 { "0".to_string() } else { format!("{t:e}") }).collect();
    }
    // Each label within a billionth of the largest tick, and within a thousandth of the gap
    // between neighbours, so that ticks a hair apart (on a narrow range) still get labels that
    // differ.
    let closest = ticks.windows(2).map(|w| (w[1] - w[0]).abs()).filter(|&g| g > 0.0).fold(f64::INFINITY, f64::min);
    fixed_labels(ticks, (1e-9 * biggest).min(1e-3 * closest))
}

/// Fixed-point labels with the fewest decimals that print every tick within `tolerance` of it.
fn fixed_labels(ticks: &[f64], tolerance: f64) -> Vec<String> {
    let tolerance = tolerance.max(1e-300);
    let decimals = (0..=MAX_DECIMALS)
        .find(|&d| ticks.iter().all(|t| (format!("{t:.d$}").parse::<f64>().unwrap_or(f64::NAN) - t).abs() <= tolerance))
        .unwrap_or(MAX_DECIMALS);
    ticks.iter().map(|&t| if t == 0.0 { "0".to_string() } else { format!("{t:.decimals$}") }).collect()
}

/// A typographic minus sign for negative labels ("−0.5" rather than "-0.5").
fn minus(s: String) -> String {
    match s.strip_prefix('-') {
        Some(rest) => format!("\u{2212}{rest}"),
        None => s,
    }
}

/// `m x 10^k` as label markup, for one value on a log axis that is not a decade; the mantissa has
/// the digits to tell apart ticks `closest` apart in relative terms.
fn scientific(v: f64, closest: f64) -> String {
    let k = v.abs().log10().floor() as i32;
    if !10f64.powi(k).is_normal() {
        // At the ends of the doubles the mantissa cannot be computed exactly; Rust's own form.
        return format!("{v:e}");
    }
    let m = v / 10f64.powi(k);
    let m = fixed_labels(&[m], (1e-9 * m.abs()).min(1e-3 * closest * m.abs())).pop().unwrap_or_default();
    if m == "1" {
        format!("10^{{{}}}", minus(k.to_string()))
    } else {
        format!("{m}\u{d7}10^{{{}}}", minus(k.to_string()))
    }
}

/// Tick labels as they appear on an axis, and the power of ten they were divided by (shown once
/// at the end of the axis as "x10^k", as physicists' plotting tools do, instead of repeating
/// "e6" on every tick).
pub fn axis_labels(ticks: &[f64], log: bool) -> (Vec<String>, Option<i32>) {
    // Decades come from 10^k and sit within rounding of it; a tolerance much wider would take the
    // round ticks of a narrow log axis (1, 1.0000000005) for decades and label them alike.
    let is_decade = |v: f64| v > 0.0 && (v.log10() - v.log10().round()).abs() < 1e-12;
    if log {
        let labels = if ticks.iter().all(|&t| is_decade(t)) {
            let plain = ticks.iter().all(|&t| (-2..=3).contains(&(t.log10().round() as i32)));
            if plain {
                // Each decade on its own: "0.1, 1, 10", not "0.1, 1.0, 10.0".
                ticks.iter().map(|&t| format_ticks(&[t]).pop().unwrap_or_default()).collect()
            } else {
                ticks.iter().map(|&t| format!("10^{{{}}}", minus((t.log10().round() as i32).to_string()))).collect()
            }
        } else if ticks.iter().all(|&t| (1e-3..1e5).contains(&t)) {
            format_ticks(ticks)
        } else {
            let closest = ticks.windows(2).map(|w| (w[1] / w[0] - 1.0).abs()).fold(f64::INFINITY, f64::min);
            ticks.iter().map(|&t| scientific(t, closest)).collect()
        };
        return (labels.into_iter().map(minus).collect(), None);
    }
    let biggest = ticks.iter().fold(0.0f64, |m, t| m.max(t.abs()));
    if biggest >= 1e5 || (biggest > 0.0 && biggest < 1e-3) {
        let k = biggest.log10().floor() as i32;
        let scaled: Vec<f64> = ticks.iter().map(|t| t / 10f64.powi(k)).collect();
        // Near the ends of the doubles 10^k is subnormal or infinite: label in full instead.
        if scaled.iter().all(|v| v.is_finite()) && 10f64.powi(k).is_normal() {
            return (format_ticks(&scaled).into_iter().map(minus).collect(), Some(k));
        }
    }
    (format_ticks(ticks).into_iter().map(minus).collect(), None)
}

/// One labelled tick. `label` is label markup; an empty label marks a tick left unlabelled
/// because its label would have touched a neighbour.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub value: f64,
    pub label: String,
}

/// The ticks of one axis as drawn: major ticks with labels, minor ticks, and the common power of
/// ten of the labels, if any.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AxisTicks {
    pub major: Vec<Tick>,
    pub minor: Vec<f64>,
    pub exponent: Option<i32>,
}

impl AxisTicks {
    /// The widest label in pixels.
    pub fn widest(&self) -> f64 {
        self.major.iter().map(|t| text::width(&t.label, Font::TICK)).fold(0.0, f64::max)
    }
}

/// Space left between two neighbouring tick labels, in pixels.
const LABEL_GAP: f64 = 10.0;

/// As many ticks as fit along an axis of `length` pixels: about one per 90 px across and one per
/// 38 px upward, fewer while any two labels would touch; if even two ticks' labels collide, every
/// other label is left out (the tick marks stay).
pub(crate) fn fit(axis: &Axis, length: f64, horizontal: bool) -> AxisTicks {
    let spacing = if horizontal { 90.0 } else { 38.0 };
    let mut target = (length / spacing).clamp(2.0, 10.0) as usize;
    loop {
        let values = if axis.log {
            log_ticks_at_most(axis.lo, axis.hi, target + 1)
        } else {
            nice_ticks(axis.lo, axis.hi, target)
        };
        let (labels, exponent) = axis_labels(&values, axis.log);
        let mut major: Vec<Tick> = values.iter().zip(labels).map(|(&value, label)| Tick { value, label }).collect();
        let collides = |major: &[Tick]| {
            let shown: Vec<&Tick> = major.iter().filter(|t| !t.label.is_empty()).collect();
            shown.windows(2).any(|w| {
                let gap = (axis.frac(w[1].value) - axis.frac(w[0].value)).abs() * length;
                let need = if horizontal {
                    (text::width(&w[0].label, Font::TICK) + text::width(&w[1].label, Font::TICK)) / 2.0 + LABEL_GAP
                } else {
                    Font::TICK.line_height() + 2.0
                };
                gap < need
            })
        };
        if !collides(&major) {
            return AxisTicks { major, minor: minor_ticks(axis), exponent };
        }
        if target > 2 {
            target -= 1;
            continue;
        }
        // Even the fewest ticks collide: label every other one, then only the first.
        for (i, t) in major.iter_mut().enumerate() {
            if i % 2 == 1 {
                t.label.clear();
            }
        }
        if collides(&major) {
            major.iter_mut().skip(1).for_each(|t| t.label.clear());
        }
        return AxisTicks { major, minor: minor_ticks(axis), exponent };
    }
}

/// 2..9 x 10^k on a log axis of at most six decades (beyond that they are clutter).
fn minor_ticks(axis: &Axis) -> Vec<f64> {
    if !axis.log || axis.hi / axis.lo > 1e6 {
        return Vec::new();
    }
    let (a, b) = (axis.lo.log10().floor() as i32, axis.hi.log10().ceil() as i32);
    let all = (a..b).flat_map(|k| (2..10).map(move |m| m as f64 * decade(k)));
    all.filter(|&v| v >= axis.lo && v <= axis.hi).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_axes_get_fewer_ticks() {
        let a = Axis { lo: 0.0, hi: 1000.0, log: false };
        let wide = fit(&a, 600.0, true);
        let narrow = fit(&a, 120.0, true);
        assert!(wide.major.len() > narrow.major.len(), "{wide:?} {narrow:?}");
        assert!(narrow.major.len() >= 2);
    }

    #[test]
    fn log_strides_keep_one_as_a_tick() {
        let t = log_ticks_at_most(1e-10, 1e10, 5);
        assert!(t.len() <= 5 && t.contains(&1.0), "{t:?}");
    }

    #[test]
    fn subnormal_ranges_get_labels_without_a_shared_power() {
        let (labels, exponent) = axis_labels(&[0.0, 4e-309, 8e-309], false);
        assert_eq!(exponent, None);
        assert!(labels.iter().all(|l| !l.contains("NaN") && !l.contains("inf")), "{labels:?}");
    }

    #[test]
    fn scientific_labels_use_a_times_sign() {
        assert_eq!(scientific(2e-5, f64::INFINITY), "2\u{d7}10^{\u{2212}5}");
        assert_eq!(scientific(1e7, f64::INFINITY), "10^{7}");
    }
}
