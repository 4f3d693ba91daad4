//! The LCW-like tables as an HDF5 file, so that they are built once and reused:
//!
//! - attributes `format` = "sigmagrad-calibration-lcw", `version` = 1, `provenance`, `n_em`,
//!   `n_had`;
//! - `edges_class_<axis>` for |η|, log10 E, log10 ρ − log10 E, log10 λ and `edges_weight_<axis>`
//!   for |η|, log10 E, log10 ρ (1-D, increasing);
//! - `p_em` and `class_entries`, shaped by the four classification axes;
//! - `w_em`, `w_had`, `em_entries`, `had_entries`, `em_level`, `had_level`, shaped by the three
//!   weight axes.

use super::{Axis, LcwTables};
use crate::error::Result;
use hdf5::types::VarLenUnicode;
use nn::io::{write_atomically, write_checked, FileError, H5File};
use std::path::Path;

pub const FORMAT: &str = "sigmagrad-calibration-lcw";
pub const VERSION: u64 = 1;

fn string_attr(file: &hdf5::File, name: &str, value: &str) -> std::result::Result<(), String> {
    let v: VarLenUnicode = value.parse().map_err(|e| format!("attribute {name}: {e:?}"))?;
    file.new_attr::<VarLenUnicode>()
        .create(name)
        .and_then(|a| a.write_scalar(&v))
        .map_err(|e| format!("attribute {name}: {e}"))
}

fn u64_attr(file: &hdf5::File, name: &str, value: u64) -> std::result::Result<(), String> {
    file.new_attr::<u64>()
        .create(name)
        .and_then(|a| a.write_scalar(&value))
        .map_err(|e| format!("attribute {name}: {e}"))
}

pub fn write(t: &LcwTables, path: &Path) -> Result<()> {
    let class_shape: Vec<usize> = t.class_axes.iter().map(Axis::bins).collect();
    let weight_shape: Vec<usize> = t.weight_axes.iter().map(Axis::bins).collect();
    write_atomically(path, |tmp| {
        let f = nn::io::create_h5(tmp)?;
        string_attr(&f, "format", FORMAT)?;
        u64_attr(&f, "version", VERSION)?;
        string_attr(&f, "provenance", &t.provenance)?;
        u64_attr(&f, "n_em", t.n_em)?;
        u64_attr(&f, "n_had", t.n_had)?;
        for a in &t.class_axes {
            write_checked(&f, &format!("edges_class_{}", a.name), &[a.edges.len()], &a.edges)?;
        }
        for a in &t.weight_axes {
            write_checked(&f, &format!("edges_weight_{}", a.name), &[a.edges.len()], &a.edges)?;
        }
        write_checked(&f, "p_em", &class_shape, &t.p_em)?;
        write_checked(&f, "class_entries", &class_shape, &t.class_entries)?;
        write_checked(&f, "w_em", &weight_shape, &t.w_em)?;
        write_checked(&f, "w_had", &weight_shape, &t.w_had)?;
        write_checked(&f, "em_entries", &weight_shape, &t.em_entries)?;
        write_checked(&f, "had_entries", &weight_shape, &t.had_entries)?;
        write_checked(&f, "em_level", &weight_shape, &t.em_level)?;
        write_checked(&f, "had_level", &weight_shape, &t.had_level)?;
        f.close().map_err(|e| e.to_string())
    })?;
    Ok(())
}

const CLASS_AXES: [&str; 4] = ["abs_eta", "log10_e", "log10_rho_over_e", "log10_lambda"];
const WEIGHT_AXES: [&str; 3] = ["abs_eta", "log10_e", "log10_rho"];

fn axis(f: &H5File, prefix: &str, name: &str) -> Result<Axis> {
    let dataset = format!("edges_{prefix}_{name}");
    let (edges, _) = f.read_finite_f64(&dataset, None)?;
    let axis = Axis { name: name.to_string(), edges };
    if !axis.is_valid() {
        return Err(
            FileError::item(&f.path, format!("dataset '{dataset}'"), "is not a list of increasing bin edges").into()
        );
    }
    Ok(axis)
}

/// A table of `shape` whose values all satisfy `ok` (described by `rule` in the error).
fn values(f: &H5File, name: &str, shape: &[usize], ok: impl Fn(f64) -> bool, rule: &str) -> Result<Vec<f64>> {
    let (v, _) = f.read_numeric_f64(name, Some(shape))?;
    let bad = v.iter().filter(|&&x| !ok(x)).count();
    if bad > 0 {
        return Err(FileError::item(
            &f.path,
            format!("dataset '{name}'"),
            format!("{bad} of {} entries are not {rule}", v.len()),
        )
        .into());
    }
    Ok(v)
}

pub fn read(path: &Path) -> Result<LcwTables> {
    let f = H5File::open(path)?;
    check(&f, path)?;
    let version = f.attr_u64("", "version")?;
    if version != VERSION {
        return Err(FileError::item(
            path,
            "attribute 'version'",
            format!("is {version}; this program reads {VERSION}"),
        )
        .into());
    }
    let [a0, a1, a2, a3] = CLASS_AXES.map(|n| axis(&f, "class", n));
    let class_axes = [a0?, a1?, a2?, a3?];
    let [b0, b1, b2] = WEIGHT_AXES.map(|n| axis(&f, "weight", n));
    let weight_axes = [b0?, b1?, b2?];
    let cs: Vec<usize> = class_axes.iter().map(Axis::bins).collect();
    let ws: Vec<usize> = weight_axes.iter().map(Axis::bins).collect();
    let count = |x: f64| x >= 0.0 && x.fract() == 0.0;
    let to_u64 = |v: Vec<f64>| v.into_iter().map(|x| x as u64).collect::<Vec<u64>>();
    let to_u8 = |v: Vec<f64>| v.into_iter().map(|x| x as u8).collect::<Vec<u8>>();
    Ok(LcwTables {
        p_em: values(&f, "p_em", &cs, |x| (0.0..=1.0).contains(&x), "probabilities in [0, 1]")?,
        class_entries: to_u64(values(&f, "class_entries", &cs, count, "counts")?),
        w_em: values(&f, "w_em", &ws, |x| x.is_finite() && x > 0.0, "positive weights")?,
        w_had: values(&f, "w_had", &ws, |x| x.is_finite() && x > 0.0, "positive weights")?,
        em_entries: to_u64(values(&f, "em_entries", &ws, count, "counts")?),
        had_entries: to_u64(values(&f, "had_entries", &ws, count, "counts")?),
        em_level: to_u8(values(&f, "em_level", &ws, |x| count(x) && x <= 3.0, "fallback levels 0-3")?),
        had_level: to_u8(values(&f, "had_level", &ws, |x| count(x) && x <= 3.0, "fallback levels 0-3")?),
        provenance: f.attr_string("", "provenance")?,
        n_em: f.attr_u64("", "n_em")?,
        n_had: f.attr_u64("", "n_had")?,
        class_axes,
        weight_axes,
    })
}

/// Checks that `path` holds LCW-like tables, without reading them.
pub fn check_file(path: &Path) -> Result<()> {
    check(&H5File::open(path)?, path)
}

fn check(f: &H5File, path: &Path) -> Result<()> {
    crate::io::check_format(f, path, FORMAT, "LCW tables")
}
