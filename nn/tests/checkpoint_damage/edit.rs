//! Editing copies of checkpoints through the HDF5 library: replacing datasets and attributes,
//! and reading the fixtures' stored values.

use super::*;

/// A change made to a copy of a checkpoint.
pub type Edit = dyn Fn(&hdf5::File) -> hdf5::Result<()>;

pub fn set_attr<T: hdf5::H5Type>(loc: &hdf5::Location, name: &str, value: &T) -> hdf5::Result<()> {
    if loc.attr_names()?.iter().any(|a| a == name) {
        loc.delete_attr(name)?;
    }
    loc.new_attr::<T>().create(name)?.write_scalar(value)
}

/// Sets a text attribute as checkpoints store it (a u8 array, format version 4).
pub fn set_str(loc: &hdf5::Location, name: &str, value: &str) -> hdf5::Result<()> {
    if loc.attr_names()?.iter().any(|a| a == name) {
        loc.delete_attr(name)?;
    }
    nn::io::write_text_attr(loc, name, value).map_err(|e| hdf5::Error::from(e.as_str()))
}

/// Sets a text attribute as a variable-length string, in HDF5's global heap (format version 3).
pub fn set_vlen_str(loc: &hdf5::Location, name: &str, value: &str) -> hdf5::Result<()> {
    set_attr(loc, name, &value.parse::<VarLenUnicode>().map_err(|e| hdf5::Error::from(e.to_string().as_str()))?)
}

/// The text attributes of a checkpoint.
pub const TEXT_ATTRIBUTES: [&str; 7] = ["format", "fingerprint", "model", "standardizer", "meta", "streams", "trainer"];

pub fn read_str(path: &Path, name: &str) -> String {
    nn::io::H5File::open(path).unwrap().attr_string("", name).unwrap()
}

/// Replaces dataset `full` ("params/x") by `data` of `shape`, Fletcher32-checked when `checked`.
pub fn replace<T: hdf5::H5Type>(
    f: &hdf5::File,
    full: &str,
    shape: &[usize],
    data: &[T],
    checked: bool,
) -> hdf5::Result<()> {
    let (g, n) = full.split_once('/').expect("a group/name path");
    let group = f.group(g)?;
    if group.link_exists(n) {
        group.unlink(n)?;
    }
    if checked {
        nn::io::write_checked(&group, n, shape, data).map_err(|e| hdf5::Error::from(e.as_str()))
    } else {
        group.new_dataset::<T>().shape(shape).create(n)?.write_raw(data)
    }
}

/// The stored values and shape of a dataset of a fixture.
pub fn values(fx: Fx, full: &str) -> (Vec<f64>, Vec<usize>) {
    nn::io::H5File::open(fx.path()).unwrap().read_f64(full, None).unwrap()
}

pub fn members(fx: Fx, group: &str) -> Vec<String> {
    nn::io::H5File::open(fx.path())
        .unwrap()
        .members(group)
        .unwrap()
        .into_iter()
        .map(|n| format!("{group}/{n}"))
        .collect()
}

pub fn first_param(fx: Fx) -> String {
    members(fx, "params").remove(0)
}

/// The first parameter with two axes (a weight matrix).
pub fn weight_param(fx: Fx) -> String {
    members(fx, "params").into_iter().find(|n| values(fx, n).1.len() == 2).expect("a 2-D parameter")
}
