//! Cluster tables as HDF5 files: one 1-D dataset per column at the root, through the shared
//! file rules of `nn::io` (regular files only, sizes checked before allocating, atomic writes,
//! checksummed datasets).

use super::layout::{check_finite, plan, ColumnInfo, Schema, StoredType};
use super::ClusterTable;
use crate::error::Result;
use nn::io::{write_atomically, write_checked, H5File, NumberKind};
use std::path::Path;

/// Reads an HDF5 cluster file under `schema`.
pub fn read(path: &Path, schema: &Schema) -> Result<ClusterTable> {
    let file = H5File::open(path)?;
    let mut infos = Vec::new();
    for name in file.members("")? {
        let stored = match file.numeric_shape(&name) {
            Ok((shape, NumberKind::Float(_))) => (shape, StoredType::Float),
            Ok((shape, NumberKind::Integer(bytes))) => {
                (shape, StoredType::Integer(format!("{}-bit integers", 8 * bytes)))
            }
            Err(e) => match file.dataset(&name) {
                Ok(ds) if is_float16(&ds) => (ds.shape(), StoredType::Half),
                Ok(ds) => (ds.shape(), StoredType::Other(describe(&e.msg))),
                Err(_) => (vec![], StoredType::Other("a group".into())),
            },
        };
        infos.push(ColumnInfo { name, shape: stored.0, stored: stored.1 });
    }
    let plan = plan(path, "dataset", &infos, schema)?;
    let mut table = ClusterTable::new(&path.display().to_string());
    table.input_index = (0..plan.rows as u64).collect();
    let bar = nn::progress::bar((plan.strict.len() + plan.carried.len()) as u64, "reading columns");
    for name in &plan.strict {
        let (values, _) = file.read_numeric_f64(name, Some(&[plan.rows]))?;
        check_finite(path, "dataset", name, &values)?;
        table.insert(name, values)?;
        bar.inc(1);
    }
    for name in &plan.carried {
        let (values, _) = file.read_numeric_f64(name, Some(&[plan.rows]))?;
        table.insert(name, values)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    table.notes = plan.skipped;
    table.sort_columns();
    Ok(table)
}

/// "holds X, expected numbers" → "X".
/// A 2-byte floating-point dataset (float16): HDF5 knows its size, the type mapping does not
/// take it.
fn is_float16(ds: &hdf5::Dataset) -> bool {
    ds.dtype().is_ok_and(|t| t.size() == 2 && t.to_descriptor().is_err())
}

fn describe(msg: &str) -> String {
    msg.strip_prefix("holds ").and_then(|m| m.split(", expected").next()).unwrap_or(msg).to_string()
}

/// Writes `table` to `path` atomically.
pub fn write(table: &ClusterTable, path: &Path) -> Result<()> {
    write_atomically(path, |tmp| {
        let file = nn::io::create_h5(tmp)?;
        let bar = nn::progress::bar(table.names().len() as u64, "writing columns");
        for name in table.names() {
            let values = table.column(name).unwrap_or_default();
            write_checked(&file, name, &[values.len()], values)?;
            bar.inc(1);
        }
        bar.finish_and_clear();
        file.close().map_err(|e| e.to_string())
    })?;
    Ok(())
}
