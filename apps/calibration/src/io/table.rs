//! An in-memory table of clusters: named f64 columns of equal length, and for each row the row
//! of the cluster in the file it was read from (`input_index`), which survives the selection
//! cuts so that predictions can be matched back to their input.

use super::hdf5;
use super::layout::Schema;
use super::source::{self, DataSource};
use crate::columns::{is_truth, FEATURES, TARGET};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterTable {
    /// Where the table came from, for messages ("clusters.h5", "ntuple.root:ClusterTree").
    source: String,
    names: Vec<String>,
    columns: Vec<Vec<f64>>,
    /// The row of each cluster in the input file.
    pub input_index: Vec<u64>,
    /// What the reader left out and why (a string dataset, a vector branch).
    pub notes: Vec<String>,
}

impl ClusterTable {
    /// An empty table; the first column inserted sets the number of rows.
    pub fn new(source: &str) -> Self {
        ClusterTable { source: source.to_string(), names: vec![], columns: vec![], input_index: vec![], notes: vec![] }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn len(&self) -> usize {
        self.input_index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.input_index.is_empty()
    }

    /// The column names, the 15 features first, then the target, then the rest in file order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// Whether the table carries the generator's truth (any `truth_*` column).
    pub fn has_truth(&self) -> bool {
        self.names.iter().any(|n| is_truth(n))
    }

    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.names.iter().position(|n| n == name).map(|i| self.columns[i].as_slice())
    }

    /// The column `name`, or an error that says the table lacks it.
    pub fn require(&self, name: &str) -> Result<&[f64]> {
        self.column(name).ok_or_else(|| {
            Error::invalid(format!("{}: column '{name}' is missing (it has: {})", self.source, self.names.join(", ")))
        })
    }

    /// Adds (or replaces) a column. The first column sets the row count and the input rows
    /// 0..n; every later one must have that length.
    pub fn insert(&mut self, name: &str, values: Vec<f64>) -> Result<()> {
        if self.names.is_empty() && self.input_index.is_empty() {
            self.input_index = (0..values.len() as u64).collect();
        } else if values.len() != self.len() {
            return Err(Error::invalid(format!(
                "{}: column '{name}' has {} rows, the table {}",
                self.source,
                values.len(),
                self.len()
            )));
        }
        match self.names.iter().position(|n| n == name) {
            Some(i) => self.columns[i] = values,
            None => {
                self.names.push(name.to_string());
                self.columns.push(values);
            }
        }
        Ok(())
    }

    /// Removes a column, returning its values.
    pub fn remove(&mut self, name: &str) -> Option<Vec<f64>> {
        let i = self.names.iter().position(|n| n == name)?;
        self.names.remove(i);
        Some(self.columns.remove(i))
    }

    /// The rows where `keep` is true, in order, with their input rows.
    pub fn select(&self, keep: &[bool]) -> ClusterTable {
        let pick = |v: &[f64]| v.iter().zip(keep).filter(|(_, &k)| k).map(|(x, _)| *x).collect::<Vec<f64>>();
        ClusterTable {
            source: self.source.clone(),
            names: self.names.clone(),
            columns: self.columns.iter().map(|c| pick(c)).collect(),
            input_index: self.input_index.iter().zip(keep).filter(|(_, &k)| k).map(|(i, _)| *i).collect(),
            notes: self.notes.clone(),
        }
    }

    /// The first `n` rows (all of them if there are fewer).
    pub fn head(&self, n: usize) -> ClusterTable {
        let keep: Vec<bool> = (0..self.len()).map(|i| i < n).collect();
        self.select(&keep)
    }

    /// The columns `names` as a row-major matrix (row i holds cluster i's values in the order of
    /// `names`), e.g. the 15 features for [`nn::Dataset::new`].
    pub fn matrix(&self, names: &[&str]) -> Result<Vec<f64>> {
        let cols: Vec<&[f64]> = names.iter().map(|n| self.require(n)).collect::<Result<_>>()?;
        let mut out = Vec::with_capacity(self.len() * names.len());
        for i in 0..self.len() {
            out.extend(cols.iter().map(|c| c[i]));
        }
        Ok(out)
    }

    /// The response R^EM = clusterE / cluster_ENG_CALIB_TOT of every row.
    pub fn response(&self) -> Result<Vec<f64>> {
        let e = self.require(FEATURES[0])?;
        let dep = self.require(TARGET)?;
        Ok(e.iter().zip(dep).map(|(e, d)| e / d).collect())
    }

    /// The per-cluster weights in column `name` (MC event weights): finite, not negative, and
    /// not all zero. A weight that breaks this is an error naming the file, the column and the
    /// first input row, not a silently skewed quantile or loss.
    pub fn weights(&self, name: &str) -> Result<Vec<f64>> {
        let w = self.column(name).ok_or_else(|| {
            Error::invalid(format!(
                "{}: the weight column '{name}' (--weight-column) is missing (it has: {})",
                self.source,
                self.names.join(", ")
            ))
        })?;
        let bad = |x: &f64| !(x.is_finite() && *x >= 0.0);
        if let Some(row) = w.iter().position(bad) {
            return Err(Error::invalid(format!(
                "{}: weight column '{name}': {} of {} rows are negative or not finite (the first is input row {}, \
                 {}); weights must be finite and >= 0",
                self.source,
                w.iter().filter(|x| bad(x)).count(),
                w.len(),
                self.input_index[row],
                w[row]
            )));
        }
        if !w.is_empty() && w.iter().all(|&x| x == 0.0) {
            return Err(Error::invalid(format!(
                "{}: weight column '{name}': every one of the {} rows has weight 0",
                self.source,
                w.len()
            )));
        }
        Ok(w.to_vec())
    }

    /// Puts the 15 features first and the target after them, the rest keeping their order.
    pub(crate) fn sort_columns(&mut self) {
        let rank = |n: &str| FEATURES.iter().position(|&f| f == n).unwrap_or(if n == TARGET { 15 } else { 16 });
        let mut order: Vec<usize> = (0..self.names.len()).collect();
        order.sort_by_key(|&i| rank(&self.names[i]));
        self.names = order.iter().map(|&i| self.names[i].clone()).collect();
        let mut cols: Vec<Option<Vec<f64>>> = std::mem::take(&mut self.columns).into_iter().map(Some).collect();
        self.columns = order.iter().map(|&i| cols[i].take().unwrap_or_default()).collect();
    }

    /// Reads `source` (HDF5 or ROOT) and checks it against `schema`; no cuts.
    pub fn read(source: &DataSource, schema: &Schema) -> Result<ClusterTable> {
        source::read(source, schema)
    }

    /// Writes the table as an HDF5 file, one 1-D f64 dataset per column at the root,
    /// atomically (a reader sees the old file or the new one, never a part).
    pub fn write_hdf5(&self, path: &std::path::Path) -> Result<()> {
        hdf5::write(self, path)
    }
}
