//! A binned axis of the LCW-like tables: equal-width bins, values outside clamped to the edge
//! bins (as athena clamps log10 E to the table range).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// What is binned, e.g. "log10_e" (the dataset is `edges_<name>`).
    pub name: String,
    /// Increasing bin edges; bins = edges.len() − 1.
    pub edges: Vec<f64>,
}

impl Axis {
    /// `bins` equal bins over [lo, hi].
    pub fn uniform(name: &str, bins: usize, lo: f64, hi: f64) -> Axis {
        let width = (hi - lo) / bins as f64;
        Axis { name: name.to_string(), edges: (0..=bins).map(|i| lo + i as f64 * width).collect() }
    }

    pub fn bins(&self) -> usize {
        self.edges.len().saturating_sub(1)
    }

    /// The bin of `v`, clamped into the table; a non-finite value goes to the first bin.
    pub fn bin(&self, v: f64) -> usize {
        let last = self.bins().saturating_sub(1);
        if !v.is_finite() || v < self.edges[0] {
            return 0;
        }
        (self.edges.partition_point(|&e| e <= v).saturating_sub(1)).min(last)
    }

    /// Whether the edges make an axis: at least one bin, finite and strictly increasing.
    pub fn is_valid(&self) -> bool {
        self.edges.len() >= 2 && self.edges.iter().all(|e| e.is_finite()) && self.edges.windows(2).all(|w| w[0] < w[1])
    }
}

/// The flat index of a bin in a row-major table with the given axis sizes.
pub fn flat_index(bins: &[usize], sizes: &[usize]) -> usize {
    bins.iter().zip(sizes).fold(0, |acc, (&b, &n)| acc * n + b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_outside_the_table_are_clamped() {
        let a = Axis::uniform("x", 4, 0.0, 1.0);
        assert_eq!((a.bin(-3.0), a.bin(0.0), a.bin(0.3), a.bin(0.999), a.bin(1.0), a.bin(7.0)), (0, 0, 1, 3, 3, 3));
        assert_eq!(a.bin(f64::NAN), 0);
        assert_eq!(flat_index(&[1, 2], &[3, 4]), 6);
        assert!(a.is_valid() && !Axis { name: "y".into(), edges: vec![1.0, 1.0] }.is_valid());
    }
}
