//! What a cluster file must contain, and the checks every reader (HDF5 or ROOT) applies before
//! it reads a value: required columns present, 1-D, of one length, of a number type; the rest
//! carried along when they are numeric columns and listed as skipped otherwise.

use crate::columns::{FEATURES, INTEGER_COLUMNS, LCW_ENERGY, TARGET};
use nn::io::FileError;
use std::path::Path;

/// Whether the target column (E_dep) must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetPolicy {
    /// Training, LCW tables and evaluation need the truth energy.
    Required,
    /// Predicting on real data, which has no E_dep: the target is checked if it is there.
    IfPresent,
}

/// The columns a reader insists on and those it checks when present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// Must exist, be 1-D, finite, and floating point unless listed in
    /// [`crate::columns::INTEGER_COLUMNS`].
    pub required: Vec<String>,
    /// Held to the same rules when present.
    pub checked: Vec<String>,
}

impl Schema {
    /// A cluster file: the 15 features, the target as `target` says, and `clusterECalib`
    /// checked when it is there.
    pub fn clusters(target: TargetPolicy) -> Schema {
        let mut required: Vec<String> = FEATURES.iter().map(|s| s.to_string()).collect();
        let mut checked = vec![LCW_ENERGY.to_string()];
        match target {
            TargetPolicy::Required => required.push(TARGET.into()),
            TargetPolicy::IfPresent => checked.push(TARGET.into()),
        }
        Schema { required, checked }
    }

    /// Just these columns (plus whatever else the file has, carried along).
    pub fn columns(required: &[&str]) -> Schema {
        Schema { required: required.iter().map(|s| s.to_string()).collect(), checked: vec![] }
    }

    /// Also check `names` when they are present.
    pub fn checking(mut self, names: &[&str]) -> Schema {
        self.checked.extend(names.iter().map(|s| s.to_string()));
        self
    }

    fn is_strict(&self, name: &str) -> bool {
        self.required.iter().chain(&self.checked).any(|n| n == name)
    }
}

/// The element type of a stored column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredType {
    Float,
    /// An integer type, named as the file names it ("32-bit integers", "int32_t").
    Integer(String),
    /// 16-bit floats (numpy's float16), which HDF5 stores but this reader does not convert.
    Half,
    /// Anything else (strings, bools, compounds, vectors), named as the file names it.
    Other(String),
}

/// What a reader knows about one column before reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    /// The shape; a column is 1-D.
    pub shape: Vec<usize>,
    pub stored: StoredType,
}

/// How to read each column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadPlan {
    pub rows: usize,
    /// Read and refuse non-finite values.
    pub strict: Vec<String>,
    /// Read as they are (carried along untouched).
    pub carried: Vec<String>,
    /// Left out, with the reason, for the notes.
    pub skipped: Vec<String>,
}

/// Checks the column list of `path` against `schema`. `item` names a column the way the format
/// does ("dataset", "branch").
pub fn plan(path: &Path, item: &str, columns: &[ColumnInfo], schema: &Schema) -> Result<ReadPlan, FileError> {
    let what = |name: &str| format!("{item} '{name}'");
    let find = |name: &str| columns.iter().find(|c| c.name == name);
    // The row count comes from the first required column present, else the first 1-D column.
    let reference = schema
        .required
        .iter()
        .find_map(|n| find(n).filter(|c| c.shape.len() == 1))
        .or_else(|| columns.iter().find(|c| c.shape.len() == 1 && !matches!(c.stored, StoredType::Other(_))));
    let rows = reference.map(|c| c.shape[0]).unwrap_or(0);
    let reference_name = reference.map(|c| c.name.clone()).unwrap_or_default();

    let missing: Vec<&String> = schema.required.iter().filter(|n| find(n).is_none()).collect();
    if let Some(first) = missing.first() {
        let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        let present: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        return Err(FileError::item(
            path,
            what(first),
            format!(
                "is missing, so all {rows} rows lack it; missing: {}; the file has: {}",
                names.join(", "),
                if present.is_empty() { "nothing".to_string() } else { present.join(", ") }
            ),
        ));
    }

    let mut plan = ReadPlan { rows, strict: vec![], carried: vec![], skipped: vec![] };
    for c in columns {
        let strict = schema.is_strict(&c.name);
        if c.shape.len() != 1 || matches!(c.stored, StoredType::Other(_) | StoredType::Half) {
            let why = match &c.stored {
                StoredType::Other(t) => format!("holds {t}, not numbers"),
                StoredType::Half => {
                    "holds 16-bit floats (float16), which this reader does not take: convert the column to float32"
                        .to_string()
                }
                _ => format!("has shape {:?}, not a 1-D column", c.shape),
            };
            if strict {
                return Err(FileError::item(path, what(&c.name), format!("{why}; expected one number per cluster")));
            }
            plan.skipped.push(format!("{} '{}' {why}; left out", item, c.name));
            continue;
        }
        if c.shape[0] != rows {
            let diff = c.shape[0].abs_diff(rows);
            return Err(FileError::item(
                path,
                what(&c.name),
                format!(
                    "has {} rows but '{reference_name}' has {rows}: {diff} rows {}; all columns must have one row per cluster",
                    c.shape[0],
                    if c.shape[0] < rows { "missing" } else { "too many" }
                ),
            ));
        }
        if strict {
            if let StoredType::Integer(t) = &c.stored {
                if !INTEGER_COLUMNS.contains(&c.name.as_str()) {
                    return Err(FileError::item(
                        path,
                        what(&c.name),
                        format!("holds {t} in all {rows} rows, expected float32 or float64"),
                    ));
                }
            }
            plan.strict.push(c.name.clone());
        } else {
            plan.carried.push(c.name.clone());
        }
    }
    Ok(plan)
}

/// Refuses non-finite values in a strict column, with their count and the first row.
pub fn check_finite(path: &Path, item: &str, name: &str, values: &[f64]) -> Result<(), FileError> {
    let bad = values.iter().filter(|v| !v.is_finite()).count();
    if let Some(first) = values.iter().position(|v| !v.is_finite()) {
        return Err(FileError::item(
            path,
            format!("{item} '{name}'"),
            format!("{bad} of {} rows are not finite (the first, row {first}, is {})", values.len(), values[first]),
        ));
    }
    Ok(())
}
