//! Feature builders: from a sample to a matrix of named physics observables
//! (docs/genweights-method.md §2). Two builders
//! per kind: [`classifier_inputs`], what the classifier is trained on (the paper's recipe,
//! including its transforms such as log10 energies and min(1/ΔR, 20)), and [`observables`], the
//! plain quantities in physical units that the plots and the clustering histogram.

pub mod events;
pub mod fourvec;
pub mod jets;
pub mod showers;

use crate::error::{invalid, Result};
use crate::io::Sample;
use serde::{Deserialize, Serialize};

/// A named column with its unit ("" for dimensionless), for axis labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub unit: String,
}

impl Column {
    pub fn new(name: impl Into<String>, unit: impl Into<String>) -> Column {
        Column { name: name.into(), unit: unit.into() }
    }

    /// "name [unit]" or just the name.
    pub fn label(&self) -> String {
        if self.unit.is_empty() {
            self.name.clone()
        } else {
            format!("{} [{}]", self.name, self.unit)
        }
    }
}

/// Rows of features, row-major, with the sample row each came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureMatrix {
    pub columns: Vec<Column>,
    pub rows: usize,
    /// rows × columns.len(), row-major.
    pub values: Vec<f64>,
    /// For each row, the index of its event in the sample (a subset, e.g. one jet
    /// multiplicity, keeps fewer rows).
    pub sample_rows: Vec<usize>,
}

impl FeatureMatrix {
    pub fn new(columns: Vec<Column>) -> FeatureMatrix {
        FeatureMatrix { columns, rows: 0, values: Vec::new(), sample_rows: Vec::new() }
    }

    pub fn width(&self) -> usize {
        self.columns.len()
    }

    pub fn push(&mut self, sample_row: usize, row: &[f64]) {
        debug_assert_eq!(row.len(), self.width());
        self.values.extend_from_slice(row);
        self.sample_rows.push(sample_row);
        self.rows += 1;
    }

    pub fn row(&self, i: usize) -> &[f64] {
        let w = self.width();
        &self.values[i * w..(i + 1) * w]
    }

    /// One column as a vector.
    pub fn column(&self, j: usize) -> Vec<f64> {
        (0..self.rows).map(|i| self.values[i * self.width() + j]).collect()
    }

    /// The column called `name`.
    pub fn column_named(&self, name: &str) -> Option<Vec<f64>> {
        self.columns.iter().position(|c| c.name == name).map(|j| self.column(j))
    }

    /// An error naming the first column and row that is not finite (the builders guard
    /// against 0/0, so this catches bad input rather than bad arithmetic).
    pub fn check_finite(&self) -> Result<()> {
        if let Some(i) = self.values.iter().position(|v| !v.is_finite()) {
            let (r, c) = (i / self.width(), i % self.width());
            return Err(invalid(format!(
                "feature '{}' of event {} is {}: fix or drop that event",
                self.columns[c].name, self.sample_rows[r], self.values[i]
            )));
        }
        Ok(())
    }
}

/// The shower classifier inputs of docs/genweights-method.md §2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ShowerInputs {
    /// The 41 high-level features (log10 energies, fractions, depth, widths, brightest voxels,
    /// sparsity, centres).
    #[default]
    HighLevel,
    /// The 504 voxels in units of 100 GeV plus log10(E_inc/10 GeV) and three log10 layer energies.
    Voxels,
    /// As `Voxels`, each layer divided by its own sum.
    VoxelsNormalised,
}

/// The jet classifier inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum JetInputs {
    /// Jet-level observables (masses, multiplicity, pT_D, width, leading fraction, pT, η).
    #[default]
    HighLevel,
    /// The constituents' (η_rel, φ_rel, pT_rel), zero-padded, for a per-particle network.
    Constituents,
}

/// Choices of the builders.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct FeatureOptions {
    pub showers: ShowerInputs,
    pub jets: JetInputs,
    /// Only events with this many jets (1, 2, 3), as the paper trains one classifier per
    /// multiplicity; None keeps all, in the 3-jet layout with absent jets as zeros.
    pub event_jets: Option<usize>,
    /// A voxel counts as empty for the sparsity at or below this energy, MeV.
    pub sparsity_threshold_mev: f64,
}

/// The classifier inputs of `sample` (see each kind's module for the recipe).
pub fn classifier_inputs(sample: &Sample, options: &FeatureOptions) -> Result<FeatureMatrix> {
    let m = match sample {
        Sample::Showers(s) => showers::classifier_inputs(s, options.showers, options.sparsity_threshold_mev),
        Sample::Jets(j) => jets::classifier_inputs(j, options.jets),
        Sample::Events(e) => events::classifier_inputs(e, options.event_jets)?,
        Sample::Table(t) => table_matrix(t),
    };
    m.check_finite()?;
    Ok(m)
}

/// The plotted observables of `sample`, in physical units.
pub fn observables(sample: &Sample, options: &FeatureOptions) -> Result<FeatureMatrix> {
    let m = match sample {
        Sample::Showers(s) => showers::observables(s, options.sparsity_threshold_mev),
        Sample::Jets(j) => jets::observables(j),
        Sample::Events(e) => events::observables(e, options.event_jets)?,
        Sample::Table(t) => table_matrix(t),
    };
    m.check_finite()?;
    Ok(m)
}

/// The classifier inputs of a truth and a generated sample (as `io::read_pair` returns them),
/// refused unless both have the same columns in the same order.
pub fn pair_inputs(
    truth: &Sample,
    generated: &Sample,
    options: &FeatureOptions,
) -> Result<(FeatureMatrix, FeatureMatrix)> {
    let (t, g) = (classifier_inputs(truth, options)?, classifier_inputs(generated, options)?);
    if t.columns != g.columns {
        let names = |m: &FeatureMatrix| m.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ");
        return Err(crate::Error::Mismatch(format!(
            "truth and generated inputs differ: truth has {} columns ({}), generated {} ({}); give two files with \
             the same columns (genweights inspect lists them)",
            t.width(),
            names(&t),
            g.width(),
            names(&g)
        )));
    }
    Ok((t, g))
}

fn table_matrix(t: &crate::io::Table) -> FeatureMatrix {
    FeatureMatrix {
        columns: t.columns.iter().map(|c| Column::new(c.clone(), "")).collect(),
        rows: t.n,
        values: t.values.clone(),
        sample_rows: (0..t.n).collect(),
    }
}
