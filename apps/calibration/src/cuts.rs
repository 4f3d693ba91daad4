//! The selection cuts of docs/calibration-method.md §2, applied on reading, as a cut flow: each cut counts the
//! clusters it removes among those the cuts before it kept.
//!
//! Two of the cuts (E_dep > 0.3 GeV and R^EM = E^EM / E_dep > 0.1) use the target. A file of
//! real data to be calibrated has no E_dep; there only the five feature cuts apply, and the
//! report says so (`target_cuts_applied: false`).

use crate::columns::{CENTER_LAMBDA, CLUSTER_E, FIRST_ENG_DENS, SECOND_TIME, SIGNIFICANCE, TARGET};
use crate::error::Result;
use crate::table::ClusterTable;
use serde::{Deserialize, Serialize};

/// E_dep > 0.3 GeV.
pub const E_DEP_MIN_GEV: f64 = 0.3;
/// R^EM > 0.1.
pub const RESPONSE_MIN: f64 = 0.1;

/// What one cut removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CutCount {
    /// The cut as a formula, e.g. "cluster_ENG_CALIB_TOT > 0.3".
    pub cut: String,
    /// Clusters it removed among those that passed the cuts before it.
    pub removed: usize,
}

/// The cut flow of one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CutReport {
    pub source: String,
    pub input: usize,
    pub passed: usize,
    pub cuts: Vec<CutCount>,
    /// False when the file had no target column, so E_dep > 0.3 and R^EM > 0.1 were not applied.
    pub target_cuts_applied: bool,
}

impl CutReport {
    /// The fraction of clusters kept.
    pub fn acceptance(&self) -> f64 {
        if self.input == 0 {
            0.0
        } else {
            self.passed as f64 / self.input as f64
        }
    }

    /// A few lines for the terminal.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: {} of {} clusters pass the selection ({:.1}%)\n",
            self.source,
            self.passed,
            self.input,
            100.0 * self.acceptance()
        );
        for c in &self.cuts {
            s.push_str(&format!("  {:<36} removed {}\n", c.cut, c.removed));
        }
        if !self.target_cuts_applied {
            s.push_str(&format!(
                "  no {TARGET} column: the cuts E_dep > {E_DEP_MIN_GEV} GeV and R_EM > {RESPONSE_MIN} were not applied\n"
            ));
        }
        s
    }
}

type Predicate<'a> = Box<dyn Fn(usize) -> bool + 'a>;

/// Applies the cuts, returning the kept rows (with their input rows) and the cut flow.
pub fn apply_cuts(table: &ClusterTable) -> Result<(ClusterTable, CutReport)> {
    let e = table.require(CLUSTER_E)?;
    let positive = |name: &'static str| -> Result<(String, Predicate<'_>)> {
        let v = table.require(name)?;
        Ok((format!("{name} > 0"), Box::new(move |i| v[i] > 0.0)))
    };
    let mut cuts: Vec<(String, Predicate<'_>)> = Vec::new();
    let target = table.column(TARGET);
    if let Some(dep) = target {
        cuts.push((format!("{TARGET} > {E_DEP_MIN_GEV}"), Box::new(move |i| dep[i] > E_DEP_MIN_GEV)));
    }
    cuts.push(positive(CLUSTER_E)?);
    cuts.push(positive(CENTER_LAMBDA)?);
    cuts.push(positive(FIRST_ENG_DENS)?);
    cuts.push(positive(SECOND_TIME)?);
    cuts.push(positive(SIGNIFICANCE)?);
    if let Some(dep) = target {
        cuts.push((
            format!("{CLUSTER_E} / {TARGET} > {RESPONSE_MIN}"),
            Box::new(move |i| e[i] / dep[i] > RESPONSE_MIN),
        ));
    }
    let mut keep = vec![true; table.len()];
    let mut counts = Vec::new();
    for (cut, pass) in &cuts {
        let mut removed = 0;
        for (i, k) in keep.iter_mut().enumerate() {
            if *k && !pass(i) {
                *k = false;
                removed += 1;
            }
        }
        counts.push(CutCount { cut: cut.clone(), removed });
    }
    let selected = table.select(&keep);
    let report = CutReport {
        source: table.source().to_string(),
        input: table.len(),
        passed: selected.len(),
        cuts: counts,
        target_cuts_applied: target.is_some(),
    };
    Ok((selected, report))
}

/// Reads a cluster file (HDF5 or ROOT, `--data` syntax) with the 15 features and, as `target`
/// says, the target, and applies the cuts: what every command that reads clusters calls.
pub fn read_selected(
    data: &crate::table::DataSource,
    target: crate::table::TargetPolicy,
) -> Result<(ClusterTable, CutReport)> {
    let table = ClusterTable::read(data, &crate::table::Schema::clusters(target))?;
    let (selected, mut report) = apply_cuts(&table)?;
    report.source = data.display();
    Ok((selected, report))
}
