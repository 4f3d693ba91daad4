//! pandas `DataFrame.to_hdf` files (docs/genweights-method.md §3.2), the layout of the paper's event samples.
//!
//! **format="fixed"** (pandas' default) is read: the root holds one group `/<key>` with string
//! attribute `pandas_type = "frame"` and integer `nblocks`; inside, `axis0` (C,) holds the
//! column labels (int64 with `kind="integer"`, or fixed-length byte strings with
//! `kind="string"`), `axis1` (N,) the row index, and each block `i` its labels `block{i}_items`
//! and values `block{i}_values`. pandas groups columns of one dtype into one block, so a frame
//! of floats and integers has two; columns are put back in `axis0` order.
//!
//! pandas stores each 2-D block transposed, (N, C_i), and flags it with a `transposed`
//! attribute that PyTables writes as an HDF5 bitfield, a type HDF5 cannot convert to any
//! integer. So the orientation is taken from the shapes (N rows, C_i items), and only when a
//! block is square from the attribute's presence (pandas sets it on every 2-D block).
//!
//! **format="table"** (`pandas_type = "frame_table"`, a compound `table` dataset) is detected and
//! refused with a message saying how to re-save the file in the fixed format.
//!
//! **Event files** have at least 20 columns, [E, px, py, pz] × [μ1, μ2, j1, j2, j3] in GeV
//! (zero-padded jets); further columns (the BINN log densities of `ev_binn.h5`) are carried.
//! Rows with a non-finite value are **dropped by default**, as the paper's loader does (its
//! generated samples contain such rows), and the count and the surviving rows' indices are kept
//! so results stay row-aligned with the file; [`NonFinite::Refuse`] makes them an error instead.

use crate::error::Result;
use hdf5::types::VarLenUnicode;
use nn::io::{FileError, H5File};
use std::path::Path;

/// The momentum columns every event file starts with.
pub const EVENT_COLUMNS: usize = 20;
/// The objects of an event, in column order.
pub const OBJECTS: [&str; 5] = ["mu1", "mu2", "j1", "j2", "j3"];

/// The names of the 20 momentum columns: E_mu1, px_mu1, py_mu1, pz_mu1, E_mu2, ...
pub fn event_column_names() -> Vec<String> {
    OBJECTS.iter().flat_map(|o| ["E", "px", "py", "pz"].map(|c| format!("{c}_{o}"))).collect()
}

/// What to do with an event row that holds NaN or ±∞.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NonFinite {
    /// Drop the row and count it (the paper's loader).
    #[default]
    DropRows,
    /// Refuse the file, naming the block, the row and the column.
    Refuse,
}

/// A sample of Z→μμ+jets events.
#[derive(Debug, Clone, PartialEq)]
pub struct Events {
    pub n: usize,
    /// The file's column labels (as text), the first 20 being the momenta.
    pub columns: Vec<String>,
    /// N × C row-major.
    pub values: Vec<f64>,
    /// For each kept event, its row in the file.
    pub source_rows: Vec<usize>,
    /// Rows dropped for non-finite values.
    pub dropped_non_finite: usize,
}

impl Events {
    /// From momenta (N × 20) and extra columns (N × K), rows numbered 0..N.
    pub fn new(momenta: Vec<f64>, extra_names: Vec<String>, extra: Vec<f64>) -> Events {
        let k = extra_names.len();
        let n = momenta.len() / EVENT_COLUMNS;
        let mut values = Vec::with_capacity(n * (EVENT_COLUMNS + k));
        for i in 0..n {
            values.extend_from_slice(&momenta[i * EVENT_COLUMNS..(i + 1) * EVENT_COLUMNS]);
            values.extend_from_slice(&extra[i * k..(i + 1) * k]);
        }
        let mut columns: Vec<String> = (0..EVENT_COLUMNS).map(|c| c.to_string()).collect();
        columns.extend(extra_names);
        Events { n, columns, values, source_rows: (0..n).collect(), dropped_non_finite: 0 }
    }

    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// All columns of event `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        let c = self.width();
        &self.values[i * c..(i + 1) * c]
    }

    /// (E, px, py, pz) of object `o` (0 = μ1 … 4 = j3) in event `i`.
    pub fn object(&self, i: usize, o: usize) -> [f64; 4] {
        let r = self.row(i);
        [r[4 * o], r[4 * o + 1], r[4 * o + 2], r[4 * o + 3]]
    }

    /// The columns after the momenta (e.g. BINN log densities), N × K.
    pub fn extra(&self) -> (Vec<String>, Vec<f64>) {
        let c = self.width();
        let names = self.columns[EVENT_COLUMNS..].to_vec();
        let values =
            (0..self.n).flat_map(|i| self.values[i * c + EVENT_COLUMNS..(i + 1) * c].iter().copied()).collect();
        (names, values)
    }
}

/// A frame as stored: rows, labels in `axis0` order, values N × C, and its key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    pub key: String,
    pub rows: usize,
    pub labels: Vec<String>,
    pub values: Vec<f64>,
}

/// The root groups that carry a `pandas_type` attribute (pandas objects).
pub fn pandas_groups(file: &H5File) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for m in file.members("")? {
        if file.file.group(&m).is_ok() && file.has_attr(&m, "pandas_type") {
            out.push(m);
        }
    }
    Ok(out)
}

fn group_item(key: &str) -> String {
    format!("group '/{key}'")
}

/// The key of the file's one pandas object (as `pd.read_hdf` without a key requires).
fn frame_key(file: &H5File) -> Result<String> {
    let groups = pandas_groups(file)?;
    match groups.as_slice() {
        [k] => Ok(k.clone()),
        [] => Err(FileError::new(
            &file.path,
            "holds no pandas object: expected one root group with attribute 'pandas_type' (DataFrame.to_hdf)",
        )
        .into()),
        many => Err(FileError::new(
            &file.path,
            format!(
                "holds {} pandas objects ({}); expected exactly one, as pd.read_hdf without a key does",
                many.len(),
                many.join(", ")
            ),
        )
        .into()),
    }
}

/// Refuses a pandas object that is not a fixed-format DataFrame, saying how to convert it.
fn check_frame_type(file: &H5File, key: &str) -> Result<()> {
    let ptype = file.attr_string(key, "pandas_type")?;
    match ptype.as_str() {
        "frame" => Ok(()),
        "frame_table" => Err(FileError::item(
            &file.path,
            group_item(key),
            format!(
                "is a pandas table (format=\"table\", pandas_type 'frame_table'), which is not read: re-save it with \
                 pd.read_hdf(path).to_hdf(path2, key=\"{key}\", format=\"fixed\")"
            ),
        )
        .into()),
        other => Err(FileError::item(
            &file.path,
            group_item(key),
            format!("has pandas_type '{other}', expected a DataFrame ('frame')"),
        )
        .into()),
    }
}

/// The frame's rows, from its row index `axis1`.
fn frame_rows(file: &H5File, key: &str) -> Result<usize> {
    let (index_shape, _) = file.numeric_shape(&format!("{key}/axis1"))?;
    match index_shape.as_slice() {
        [r] => Ok(*r),
        _ => Err(FileError::item(
            &file.path,
            format!("dataset '{key}/axis1'"),
            format!("has shape {index_shape:?}, expected (N,): the row index"),
        )
        .into()),
    }
}

/// The frame's values as they are filled, block by block, and which columns are.
struct FrameFill<'a> {
    labels: &'a [String],
    rows: usize,
    values: Vec<f64>,
    filled: Vec<bool>,
}

impl FrameFill<'_> {
    /// Copies block `b` (its columns `block{b}_items`, values `block{b}_values` in either
    /// orientation) into place; refuses columns axis0 lacks or another block already holds.
    fn block(&mut self, file: &H5File, key: &str, b: usize) -> Result<()> {
        let (rows, c) = (self.rows, self.labels.len());
        let items_name = format!("{key}/block{b}_items");
        let values_name = format!("{key}/block{b}_values");
        let items = read_labels(file, &items_name)?;
        let (shape, _) = file.numeric_shape(&values_name).map_err(|mut e| {
            e.msg.push_str(" (only numeric columns are read; strings and objects are not)");
            e
        })?;
        let ci = items.len();
        let square = rows == ci;
        let row_major = if shape == [rows, ci] && (!square || file.has_attr(&values_name, "transposed")) {
            true
        } else if shape == [ci, rows] {
            false
        } else {
            return Err(FileError::item(
                &file.path,
                format!("dataset '{values_name}'"),
                format!(
                    "has shape {shape:?}, expected ({rows}, {ci}): {rows} rows of the {ci} columns in {items_name}"
                ),
            )
            .into());
        };
        let (data, _) = file.read_numeric_f64(&values_name, Some(&shape))?;
        for (j, item) in items.iter().enumerate() {
            let p = self.labels.iter().position(|l| l == item).ok_or_else(|| {
                FileError::item(
                    &file.path,
                    format!("dataset '{items_name}'"),
                    format!("names column '{item}', which axis0 does not have"),
                )
            })?;
            if self.filled[p] {
                return Err(FileError::item(
                    &file.path,
                    format!("dataset '{items_name}'"),
                    format!("names column '{item}', which an earlier block already holds"),
                )
                .into());
            }
            self.filled[p] = true;
            for r in 0..rows {
                self.values[r * c + p] = if row_major { data[r * ci + j] } else { data[j * rows + r] };
            }
        }
        Ok(())
    }
}

/// Reads the single DataFrame of a file written with `to_hdf(format="fixed")`.
pub(crate) fn read_frame(file: &H5File) -> Result<Frame> {
    let key = frame_key(file)?;
    check_frame_type(file, &key)?;
    let nblocks = file.attr_u64(&key, "nblocks")? as usize;
    let labels = read_labels(file, &format!("{key}/axis0"))?;
    let rows = frame_rows(file, &key)?;
    if nblocks == 0 || nblocks > labels.len().max(1) {
        return Err(FileError::item(
            &file.path,
            format!("attribute 'nblocks' of '{key}'"),
            format!("is {nblocks}, expected between 1 and the {} columns", labels.len()),
        )
        .into());
    }
    let c = labels.len();
    let mut fill = FrameFill { labels: &labels, rows, values: vec![0.0; rows * c], filled: vec![false; c] };
    for b in 0..nblocks {
        fill.block(file, &key, b)?;
    }
    if let Some(p) = fill.filled.iter().position(|f| !f) {
        return Err(FileError::item(
            &file.path,
            format!("dataset '{key}/axis0'"),
            format!("names column '{}', which no block holds", labels[p]),
        )
        .into());
    }
    let values = fill.values;
    Ok(Frame { key, rows, labels, values })
}

/// Column labels: int64 (or float) numbers written as text, or strings.
fn read_labels(file: &H5File, name: &str) -> Result<Vec<String>> {
    let labels = match file.numeric_shape(name) {
        Ok((shape, kind)) => {
            if shape.len() != 1 {
                return Err(FileError::item(
                    &file.path,
                    format!("dataset '{name}'"),
                    format!("has shape {shape:?}, expected (C,) labels"),
                )
                .into());
            }
            let (v, _) = file.read_numeric_f64(name, Some(&shape))?;
            match kind {
                nn::io::NumberKind::Integer(_) => v.iter().map(|x| format!("{}", *x as i64)).collect(),
                nn::io::NumberKind::Float(_) => v.iter().map(|x| format!("{x}")).collect(),
            }
        }
        Err(_) => file.read_strings(name).map_err(|mut e| {
            e.msg.push_str(" (column labels are integers or strings)");
            e
        })?,
    };
    Ok(labels)
}

/// The first row and column holding a non-finite value, if any.
fn first_non_finite(frame: &Frame) -> Option<(usize, usize)> {
    let c = frame.labels.len();
    frame.values.iter().position(|v| !v.is_finite()).map(|i| (i / c, i % c))
}

/// An error if any value of the frame is not finite.
pub(crate) fn refuse_non_finite(file: &H5File, frame: &Frame) -> Result<()> {
    if let Some((r, c)) = first_non_finite(frame) {
        let bad = frame.values.iter().filter(|v| !v.is_finite()).count();
        return Err(FileError::item(
            &file.path,
            group_item(&frame.key),
            format!(
                "{bad} values are not finite; the first is row {r}, column '{}' ({})",
                frame.labels[c],
                frame.values[r * frame.labels.len() + c]
            ),
        )
        .into());
    }
    Ok(())
}

/// Reads an event file: a fixed-format frame of at least 20 numeric columns.
pub fn read_events(file: &H5File, non_finite: NonFinite) -> Result<Events> {
    let frame = read_frame(file)?;
    let c = frame.labels.len();
    if c < EVENT_COLUMNS {
        return Err(FileError::item(
            &file.path,
            format!("dataset '{}/axis0'", frame.key),
            format!(
                "has {c} columns, expected at least {EVENT_COLUMNS}: [E, px, py, pz] x [mu1, mu2, j1, j2, j3], then any extra columns"
            ),
        )
        .into());
    }
    if non_finite == NonFinite::Refuse {
        refuse_non_finite(file, &frame)?;
    }
    let mut values = Vec::with_capacity(frame.values.len());
    let mut source_rows = Vec::with_capacity(frame.rows);
    for r in 0..frame.rows {
        let row = &frame.values[r * c..(r + 1) * c];
        if row.iter().all(|v| v.is_finite()) {
            values.extend_from_slice(row);
            source_rows.push(r);
        }
    }
    let n = source_rows.len();
    Ok(Events { n, columns: frame.labels, values, source_rows, dropped_non_finite: frame.rows - n })
}

/// Writes `value` as a variable-length UTF-8 string attribute (fixed-length byte strings make
/// pandas raise a TypeError).
pub(crate) fn write_string_attr(loc: &hdf5::Location, name: &str, value: &str) -> std::result::Result<(), String> {
    let v: VarLenUnicode = value.parse().map_err(|e| format!("attribute {name}: {e:?}"))?;
    loc.new_attr::<VarLenUnicode>()
        .create(name)
        .and_then(|a| a.write_scalar(&v))
        .map_err(|e| format!("attribute {name}: {e}"))
}

fn write_i64_attr(loc: &hdf5::Location, name: &str, value: i64) -> std::result::Result<(), String> {
    loc.new_attr::<i64>()
        .create(name)
        .and_then(|a| a.write_scalar(&value))
        .map_err(|e| format!("attribute {name}: {e}"))
}

/// Writes labels as int64 when all are integers, else as fixed-length byte strings, with the
/// `kind` attribute pandas reads them by.
fn write_labels(g: &hdf5::Group, name: &str, labels: &[String]) -> std::result::Result<(), String> {
    let ints: Option<Vec<i64>> = labels.iter().map(|l| l.parse::<i64>().ok()).collect();
    let ds = match ints {
        Some(v) => {
            let ds = g.new_dataset::<i64>().shape([v.len()]).create(name).map_err(|e| e.to_string())?;
            ds.write_raw(&v).map_err(|e| e.to_string())?;
            write_string_attr(&ds, "kind", "integer")?;
            ds
        }
        None => {
            let v: Vec<hdf5::types::FixedAscii<64>> = labels
                .iter()
                .map(|l| {
                    hdf5::types::FixedAscii::from_ascii(l)
                        .map_err(|_| format!("label '{l}' is not ASCII of at most 64 bytes"))
                })
                .collect::<std::result::Result<_, _>>()?;
            let ds = g
                .new_dataset::<hdf5::types::FixedAscii<64>>()
                .shape([v.len()])
                .create(name)
                .map_err(|e| e.to_string())?;
            ds.write_raw(&v).map_err(|e| e.to_string())?;
            write_string_attr(&ds, "kind", "string")?;
            ds
        }
    };
    write_string_attr(&ds, "name", "N.")
}

/// The key the writer stores the frame under.
pub const WRITE_KEY: &str = "df";

/// Writes events as a fixed-format DataFrame `pd.read_hdf(path)` reads (one float64 block), with
/// the exact weights as a root dataset beside it, which pandas ignores.
pub fn write_events(path: &Path, e: &Events, exact_log_w: Option<&[f64]>) -> Result<()> {
    nn::io::write_atomically(path, |tmp| {
        let f = nn::io::create_h5(tmp)?;
        let g = f.create_group(WRITE_KEY).map_err(|e| e.to_string())?;
        for (name, value) in [
            ("pandas_type", "frame"),
            ("pandas_version", "0.15.2"),
            ("encoding", "UTF-8"),
            ("errors", "strict"),
            ("axis0_variety", "regular"),
            ("axis1_variety", "regular"),
            ("block0_items_variety", "regular"),
        ] {
            write_string_attr(&g, name, value)?;
        }
        write_i64_attr(&g, "ndim", 2)?;
        write_i64_attr(&g, "nblocks", 1)?;
        write_labels(&g, "axis0", &e.columns)?;
        write_labels(&g, "block0_items", &e.columns)?;
        let index: Vec<i64> = e.source_rows.iter().map(|&r| r as i64).collect();
        let axis1 = g.new_dataset::<i64>().shape([e.n]).create("axis1").map_err(|e| e.to_string())?;
        axis1.write_raw(&index).map_err(|e| e.to_string())?;
        write_string_attr(&axis1, "kind", "integer")?;
        write_string_attr(&axis1, "name", "N.")?;
        nn::io::write_checked(&g, "block0_values", &[e.n, e.width()], &e.values)?;
        let ds = g.dataset("block0_values").map_err(|e| e.to_string())?;
        ds.new_attr::<u8>().create("transposed").and_then(|a| a.write_scalar(&1u8)).map_err(|e| e.to_string())?;
        if let Some(w) = exact_log_w {
            super::exact::write_exact_log_w(&f, w)?;
        }
        Ok(())
    })?;
    Ok(())
}
