//! Tick values and labels: round steps, decades on log axes, compact labels, one power of ten.

use report::axis::ticks::axis_labels;
use report::{format_ticks, log_ticks, nice_ticks};

fn is_round_step(step: f64) -> bool {
    let k = step.log10().floor();
    let m = step / 10f64.powf(k);
    [1.0, 2.0, 5.0, 10.0].iter().any(|r| (m - r).abs() < 1e-9)
}

#[test]
fn ticks_are_round_and_cover_the_range() {
    let ranges = [(0.0, 1.0), (-3.7, 12.2), (1e-5, 3e-5), (1234.0, 98765.0), (-0.5, 0.5), (0.95, 1.05), (-1e9, -2e8)];
    for (lo, hi) in ranges {
        for target in [3, 5, 8] {
            let t = nice_ticks(lo, hi, target);
            assert!(t.len() >= 2 && t.len() <= 3 * target, "{lo}..{hi}: {t:?}");
            let step = t[1] - t[0];
            assert!(is_round_step(step), "step {step} for {lo}..{hi}");
            for w in t.windows(2) {
                assert!(((w[1] - w[0]) - step).abs() < 1e-9 * step, "uneven {t:?}");
            }
            for &v in &t {
                assert!(v >= lo - 1e-12 * lo.abs() && v <= hi + 1e-12 * hi.abs(), "{v} outside {lo}..{hi}");
                assert!(((v / step).round() * step - v).abs() < 1e-9 * step, "{v} not a multiple of {step}");
            }
            // Covering: no gap of a whole step at either end.
            assert!(t[0] - lo < step && hi - t[t.len() - 1] < step, "{lo}..{hi}: {t:?}");
        }
    }
    assert_eq!(nice_ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
    assert_eq!(nice_ticks(-0.5, 0.5, 5), vec![-0.4, -0.2, 0.0, 0.2, 0.4]);
    assert!(nice_ticks(f64::NAN, 1.0, 5).is_empty());
    assert!(nice_ticks(2.0, 1.0, 5).is_empty());
}

#[test]
fn log_ticks_are_decades() {
    assert_eq!(log_ticks(0.05, 2000.0), vec![0.1, 1.0, 10.0, 100.0, 1000.0]);
    assert_eq!(log_ticks(2.0, 80.0), vec![2.0, 5.0, 10.0, 20.0, 50.0]);
    let wide = log_ticks(1e-10, 1e10);
    assert!(wide.len() <= 11 && wide.len() >= 3, "{wide:?}");
    assert!(wide.contains(&1.0), "every n-th decade, counted from 10^0");
    for v in wide {
        assert!((v.log10() - v.log10().round()).abs() < 1e-12);
    }
    assert!(log_ticks(-1.0, 10.0).is_empty());
    assert!(log_ticks(3.0, 3.5).len() >= 2);
}

#[test]
fn tick_labels_are_compact() {
    assert_eq!(format_ticks(&[0.0, 0.2, 0.4]), ["0", "0.2", "0.4"]);
    assert_eq!(format_ticks(&[0.30000000000000004, 0.6]), ["0.3", "0.6"]);
    assert_eq!(format_ticks(&[-10.0, 0.0, 10.0]), ["-10", "0", "10"]);
    assert_eq!(format_ticks(&[0.0, 5e5, 1e6, 1.5e6]), ["0", "5e5", "1e6", "1.5e6"]);
    assert_eq!(format_ticks(&[2e-5, 4e-5]), ["2e-5", "4e-5"]);
    assert_eq!(format_ticks(&[0.95, 1.0, 1.05]), ["0.95", "1.00", "1.05"]);
}

#[test]
fn axis_labels_on_log_axes() {
    let (l, e) = axis_labels(&[0.01, 0.1, 1.0, 10.0, 100.0, 1000.0], true);
    assert_eq!((l, e), (vec!["0.01", "0.1", "1", "10", "100", "1000"].into_iter().map(String::from).collect(), None));
    // Beyond 0.01..1000 every decade is a power of ten, with a real minus sign.
    let (l, _) = axis_labels(&[1e-4, 1e-2, 1.0, 1e2], true);
    assert_eq!(l, ["10^{\u{2212}4}", "10^{\u{2212}2}", "10^{0}", "10^{2}"]);
    let (l, _) = axis_labels(&[2.0, 5.0, 10.0, 20.0], true);
    assert_eq!(l, ["2", "5", "10", "20"]);
    let (l, _) = axis_labels(&[2e-6, 5e-6], true);
    assert_eq!(l, ["2\u{d7}10^{\u{2212}6}", "5\u{d7}10^{\u{2212}6}"]);
}

#[test]
fn axis_labels_on_linear_axes_share_a_power_of_ten() {
    let (l, e) = axis_labels(&[0.0, 5e5, 1e6, 1.5e6], false);
    assert_eq!((l, e), (vec!["0".to_string(), "0.5".into(), "1.0".into(), "1.5".into()], Some(6)));
    let (l, e) = axis_labels(&[-2e-5, 0.0, 2e-5, 4e-5], false);
    assert_eq!((l, e), (vec!["\u{2212}2".to_string(), "0".into(), "2".into(), "4".into()], Some(-5)));
    let (l, e) = axis_labels(&[-1.0, -0.5, 0.0], false);
    assert_eq!((l, e), (vec!["\u{2212}1.0".to_string(), "\u{2212}0.5".into(), "0".into()], None));
}
