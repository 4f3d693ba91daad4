//! Binning helpers, so an app can turn per-event numbers into the histograms the figures draw
//! without writing its own edge search. They are the workspace's one binning, `stats::histogram`
//! (numpy's membership rule, every size bounded by the caller's bin count and never by the data's
//! range), offered here too so that a figure's callers need no second import.

pub use stats::histogram::{bin_index, histogram, histogram_2d, linear_edges, log_edges};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_and_counts() {
        assert_eq!(linear_edges(0.0, 1.0, 4), [0.0, 0.25, 0.5, 0.75, 1.0]);
        let e = log_edges(0.1, 1000.0, 4);
        assert!((e[1] - 1.0).abs() < 1e-12 && e[4] == 1000.0, "{e:?}");
        assert!(log_edges(0.0, 1.0, 3).is_empty() && linear_edges(1.0, 1.0, 3).is_empty());
        assert_eq!(histogram(&[0.1, 0.3, 0.3, 1.0, 2.0, f64::NAN], None, &[0.0, 0.25, 0.5, 1.0]), [1.0, 2.0, 1.0]);
        assert_eq!(histogram(&[0.1, 0.6], Some(&[2.0, 0.5]), &[0.0, 0.5, 1.0]), [2.0, 0.5]);
        assert_eq!(
            histogram_2d(&[0.1, 0.9, 0.9], &[0.1, 0.1, 0.9], &[0.0, 0.5, 1.0], &[0.0, 0.5, 1.0]),
            [1.0, 0.0, 1.0, 1.0]
        );
        assert_eq!(bin_index(&[0.0, 1.0], 1.0), Some(0));
        assert_eq!(bin_index(&[0.0], 0.0), None);
    }
}
