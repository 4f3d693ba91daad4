//! A plain table: root dataset `features` (N, D) f32 or f64, and an optional scalar string
//! attribute `columns` on it holding D comma-separated names. Forced with `--kind table`, a
//! pandas DataFrame is read as a table too (every numeric column a feature).

use crate::error::Result;
use nn::io::{FileError, H5File};
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub n: usize,
    pub columns: Vec<String>,
    /// N × D row-major.
    pub values: Vec<f64>,
}

/// The root dataset of a Bayesian generator's ln p per event and weight draw (N, K), as
/// `genweights flow sample` writes it beside the table.
pub const LOG_P_DRAWS: &str = "log_p_draws";

/// A table file's `log_p_draws`, as (K, N × K row-major), when it holds one: each event's
/// ln p under each of the generator's K weight draws. NaN is refused; −∞ is a density of 0.
pub fn read_log_p_draws(path: &Path, rows: usize) -> Result<Option<(usize, Vec<f64>)>> {
    let file = H5File::open(path)?;
    if !file.exists(LOG_P_DRAWS) {
        return Ok(None);
    }
    let (values, shape) = file.read_f64(LOG_P_DRAWS, None)?;
    let what = format!("dataset '{LOG_P_DRAWS}'");
    let k = match shape.as_slice() {
        [n, k] if *n == rows && *k > 0 => *k,
        _ => {
            return Err(FileError::item(path, what, format!("has shape {shape:?}, expected ({rows}, K)")).into());
        }
    };
    if let Some(i) = values.iter().position(|v| v.is_nan()) {
        return Err(FileError::item(path, what, format!("holds NaN at event {}", i / k)).into());
    }
    Ok(Some((k, values)))
}

pub fn read(file: &H5File) -> Result<Table> {
    if !file.exists("features") && !super::pandas::pandas_groups(file)?.is_empty() {
        let frame = super::pandas::read_frame(file)?;
        super::pandas::refuse_non_finite(file, &frame)?;
        return Ok(Table { n: frame.rows, columns: frame.labels, values: frame.values });
    }
    let (shape, _) = file.float_shape("features")?;
    let (n, d) = match shape.as_slice() {
        [n, d] if *d > 0 => (*n, *d),
        _ => {
            return Err(FileError::item(
                &file.path,
                "dataset 'features'",
                format!("has shape {shape:?}, expected (N, D): one row of D features per event"),
            )
            .into())
        }
    };
    let (values, _) = file.read_finite_f64("features", Some(&shape))?;
    let columns = if file.has_attr("features", "columns") {
        let s = file.attr_string("features", "columns")?;
        let names: Vec<String> = s.split(',').map(|c| c.trim().to_string()).collect();
        if names.len() != d {
            return Err(FileError::item(
                &file.path,
                "attribute 'columns' of 'features'",
                format!("names {} columns ({s:?}) but the dataset has {d}", names.len()),
            )
            .into());
        }
        names
    } else {
        (0..d).map(|i| format!("x{i}")).collect()
    };
    Ok(Table { n, columns, values })
}

pub fn write(path: &Path, t: &Table, exact_log_w: Option<&[f64]>) -> Result<()> {
    write_with(path, t, exact_log_w, &[])
}

/// A further root dataset of a table file, row-aligned with it: (name, shape, values).
pub type Extra<'a> = (&'a str, Vec<usize>, &'a [f64]);

/// [`write`] with further root datasets (a flow's `log_p` of each row, say).
pub fn write_with(path: &Path, t: &Table, exact_log_w: Option<&[f64]>, extras: &[Extra]) -> Result<()> {
    let d = t.columns.len();
    if let Some(c) = t.columns.iter().find(|c| c.contains(',') || c.trim() != c.as_str()) {
        return Err(FileError::new(
            path,
            format!("column name {c:?}: names are stored comma-separated, so none may hold a comma or edge spaces"),
        )
        .into());
    }
    nn::io::write_atomically(path, |tmp| {
        let f = nn::io::create_h5(tmp)?;
        nn::io::write_checked(&f, "features", &[t.n, d], &t.values)?;
        let ds = f.dataset("features").map_err(|e| e.to_string())?;
        super::pandas::write_string_attr(&ds, "columns", &t.columns.join(","))?;
        if let Some(w) = exact_log_w {
            super::exact::write_exact_log_w(&f, w)?;
        }
        for (name, shape, values) in extras {
            nn::io::write_checked(&f, name, shape, values)?;
        }
        Ok(())
    })?;
    Ok(())
}
