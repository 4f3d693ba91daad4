//! Cluster tables from ROOT TTrees through `oxyroot` (pure Rust), so that real topo-cluster
//! ntuples are read where they live. One branch per column; numeric scalar branches of any
//! width are read (float, double, and the integer types), others are listed as skipped.
//!
//! oxyroot panics on some damaged files instead of returning an error; every call into it runs
//! under `catch_unwind` with a quiet panic hook, so a damaged file is an error that names it.

use super::layout::{check_finite, plan, ColumnInfo, ReadPlan, Schema, StoredType};
use super::ClusterTable;
use crate::error::Result;
use nn::io::FileError;
use oxyroot::{Branch, Named, ReaderTree, RootFile};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// Runs `f`, turning a panic inside oxyroot into an error about `path`.
pub(super) fn guarded<T>(path: &Path, what: &str, f: impl FnOnce() -> std::result::Result<T, FileError>) -> Result<T> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let out = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(previous);
    match out {
        Ok(r) => Ok(r?),
        Err(panic) => {
            let detail = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(FileError::new(
                path,
                format!("is damaged or truncated: the ROOT reader failed while {what} ({detail})"),
            )
            .into())
        }
    }
}

/// The names of the TTrees at the top of `file`, without repeats (ROOT keeps cycles).
fn tree_names(file: &RootFile) -> Vec<String> {
    let mut names: Vec<String> =
        file.keys().iter().filter(|k| k.class_name() == "TTree").map(|k| k.name().to_string()).collect();
    names.dedup();
    names
}

fn stored_type(interpretation: &str) -> StoredType {
    match interpretation {
        "f32" | "f64" => StoredType::Float,
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" => StoredType::Integer(interpretation.to_string()),
        other => StoredType::Other(other.to_string()),
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Reads all values of a numeric scalar branch as f64.
fn branch_values(branch: &Branch) -> std::result::Result<Vec<f64>, String> {
    Ok(match branch.interpretation().as_str() {
        "f32" => branch.as_iter::<f32>().map_err(err)?.map(f64::from).collect(),
        "f64" => branch.as_iter::<f64>().map_err(err)?.collect(),
        "i8" => branch.as_iter::<i8>().map_err(err)?.map(f64::from).collect(),
        "i16" => branch.as_iter::<i16>().map_err(err)?.map(f64::from).collect(),
        "i32" => branch.as_iter::<i32>().map_err(err)?.map(f64::from).collect(),
        "i64" => branch.as_iter::<i64>().map_err(err)?.map(|v| v as f64).collect(),
        "u8" => branch.as_iter::<u8>().map_err(err)?.map(f64::from).collect(),
        "u16" => branch.as_iter::<u16>().map_err(err)?.map(f64::from).collect(),
        "u32" => branch.as_iter::<u32>().map_err(err)?.map(f64::from).collect(),
        "u64" => branch.as_iter::<u64>().map_err(err)?.map(|v| v as f64).collect(),
        other => return Err(format!("holds {other}, not numbers")),
    })
}

/// A ROOT file's header states where the file ends (fEND): a file shorter than that was cut
/// short (an interrupted copy or download), which the reader would only report as an
/// unexpected end of its input.
fn check_length(path: &Path) -> Result<()> {
    let mut head = [0u8; 20];
    let mut file = std::fs::File::open(path).map_err(|e| FileError::new(path, format!("cannot be opened: {e}")))?;
    let read = std::io::Read::read(&mut file, &mut head).unwrap_or(0);
    if read < 16 || &head[..4] != b"root" {
        return Ok(()); // Not a ROOT header: the reader says what it is.
    }
    let be32 = |at: usize| u32::from_be_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]) as u64;
    let version = be32(4);
    let end = if version >= 1_000_000 { (read >= 20).then(|| be32(12) << 32 | be32(16)) } else { Some(be32(12)) };
    let size = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    match end {
        Some(end) if size < end => Err(FileError::new(
            path,
            format!(
                "is truncated: its ROOT header says it is {end} bytes long, the file has {size} (an interrupted \
                 copy or download?)"
            ),
        )
        .into()),
        _ => Ok(()),
    }
}

/// Reads tree `tree` (or the only tree) of the ROOT file `path` under `schema`.
pub fn read(path: &Path, tree: Option<&str>, schema: &Schema) -> Result<ClusterTable> {
    check_length(path)?;
    let mut file = guarded(path, "opening it", || {
        RootFile::open(path).map_err(|e| FileError::new(path, format!("not a readable ROOT file: {e}")))
    })?;
    let name = choose_tree(path, &file, tree)?;
    let display = format!("{}:{name}", path.display());
    let reader = guarded(path, "reading the tree header", || {
        file.get_tree(&name).map_err(|e| FileError::new(path, format!("tree '{name}' cannot be read: {e}")))
    })?;
    let infos: Vec<ColumnInfo> = guarded(path, "listing the branches", || {
        Ok(reader
            .branches()
            .map(|b| ColumnInfo {
                name: b.name().to_string(),
                shape: vec![b.entries().max(0) as usize],
                stored: stored_type(&b.interpretation()),
            })
            .collect())
    })?;
    let plan = plan(path, "branch", &infos, schema)?;
    let mut table = ClusterTable::new(&display);
    table.input_index = (0..plan.rows as u64).collect();
    read_columns(path, &reader, &plan, &mut table)?;
    table.notes = plan.skipped;
    table.sort_columns();
    Ok(table)
}

/// The tree to read: `tree` if the file has it, else the file's only TTree; an error that lists
/// what the file holds otherwise.
fn choose_tree(path: &Path, file: &RootFile, tree: Option<&str>) -> Result<String> {
    let trees = guarded(path, "listing its keys", || Ok(tree_names(file)))?;
    match tree {
        Some(t) if trees.iter().any(|n| n == t) => Ok(t.to_string()),
        Some(t) => Err(FileError::new(
            path,
            format!(
                "has no TTree '{t}'; its trees: {}",
                if trees.is_empty() { "none".into() } else { trees.join(", ") }
            ),
        )
        .into()),
        None if trees.len() == 1 => Ok(trees[0].clone()),
        None if trees.is_empty() => {
            let others = guarded(path, "listing its keys", || {
                Ok(file.keys().iter().map(|k| format!("{} ({})", k.name(), k.class_name())).collect::<Vec<_>>())
            })?;
            let others = if others.is_empty() { "nothing".to_string() } else { others.join(", ") };
            Err(FileError::new(path, format!("holds no TTree (it has: {others}); only TTrees can be read")).into())
        }
        None => Err(FileError::new(
            path,
            format!("holds several TTrees ({}); choose one with {}:TreeName", trees.join(", "), path.display()),
        )
        .into()),
    }
}

/// Reads the branches `plan` asks for into `table`, checking their lengths (and, for the
/// strict ones, that they are finite).
fn read_columns(path: &Path, reader: &ReaderTree, plan: &ReadPlan, table: &mut ClusterTable) -> Result<()> {
    let bar = nn::progress::bar((plan.strict.len() + plan.carried.len()) as u64, "reading branches");
    for (strict, names) in [(true, &plan.strict), (false, &plan.carried)] {
        for column in names {
            bar.inc(1);
            let values = guarded(path, &format!("reading branch '{column}'"), || {
                let branch = reader
                    .branch(column)
                    .ok_or_else(|| FileError::item(path, format!("branch '{column}'"), "vanished while reading"))?;
                branch_values(branch).map_err(|msg| FileError::item(path, format!("branch '{column}'"), msg))
            })?;
            if values.len() != plan.rows {
                return Err(FileError::item(
                    path,
                    format!("branch '{column}'"),
                    format!(
                        "gave {} values for {} entries ({} rows missing): the file is truncated or damaged",
                        values.len(),
                        plan.rows,
                        plan.rows.abs_diff(values.len())
                    ),
                )
                .into());
            }
            if strict {
                check_finite(path, "branch", column, &values)?;
            }
            table.insert(column, values)?;
        }
    }
    bar.finish_and_clear();
    Ok(())
}
