//! CaloGAN-style shower files (docs/genweights-method.md §3.1): root datasets `energy` (N,1) incident energy in GeV,
//! `layer_0` (N,3,96), `layer_1` (N,12,12), `layer_2` (N,12,6) voxel energies in MeV with axes
//! (φ, η), `overflow` (N,3) MeV, f32 or f64, and an optional `log_p` (K,N) of per-posterior-draw
//! model log densities.

use super::{write_floats, Precision};
use crate::error::Result;
use nn::io::{FileError, H5File};
use std::path::Path;

/// (φ cells, η cells) of each layer.
pub const LAYER_SHAPES: [(usize, usize); 3] = [(3, 96), (12, 12), (12, 6)];

/// The number of voxels of layer `k`.
pub fn layer_cells(k: usize) -> usize {
    LAYER_SHAPES[k].0 * LAYER_SHAPES[k].1
}

/// All voxels of a shower: 288 + 144 + 72.
pub const VOXELS: usize = 504;

#[derive(Debug, Clone, PartialEq)]
pub struct Showers {
    pub n: usize,
    /// Incident energy per shower, GeV.
    pub energy: Vec<f64>,
    /// Per layer, N × cells row-major (φ major, then η), MeV.
    pub layers: [Vec<f64>; 3],
    /// N × 3, MeV.
    pub overflow: Vec<f64>,
    /// K × N per-draw model log densities, when the file has them.
    pub log_p: Option<LogP>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogP {
    pub draws: usize,
    pub values: Vec<f64>,
}

impl Showers {
    /// The voxels of shower `i` in layer `k`.
    pub fn layer(&self, i: usize, k: usize) -> &[f64] {
        let c = layer_cells(k);
        &self.layers[k][i * c..(i + 1) * c]
    }
}

pub fn read(file: &H5File) -> Result<Showers> {
    let (shape, _) = file.float_shape("energy")?;
    let n = match shape.as_slice() {
        [n, 1] | [n] => *n,
        _ => {
            return Err(FileError::item(
                &file.path,
                "dataset 'energy'",
                format!("has shape {shape:?}, expected (N, 1): one incident energy per shower"),
            )
            .into())
        }
    };
    let (energy, _) = file.read_finite_f64("energy", Some(&shape))?;
    if let Some(i) = energy.iter().position(|&e| e <= 0.0) {
        return Err(FileError::item(
            &file.path,
            "dataset 'energy'",
            format!("row {i} is {}, expected a positive incident energy in GeV", energy[i]),
        )
        .into());
    }
    let mut layers: [Vec<f64>; 3] = Default::default();
    for (k, &(phi, eta)) in LAYER_SHAPES.iter().enumerate() {
        let name = format!("layer_{k}");
        let (v, _) = file.read_finite_f64(&name, Some(&[n, phi, eta]))?;
        if let Some(i) = v.iter().position(|&x| x < 0.0) {
            return Err(FileError::item(
                &file.path,
                format!("dataset '{name}'"),
                format!("shower {} holds a negative voxel energy {} MeV", i / (phi * eta), v[i]),
            )
            .into());
        }
        layers[k] = v;
    }
    let (overflow, _) = file.read_finite_f64("overflow", Some(&[n, 3]))?;
    let log_p = if file.exists("log_p") {
        let (shape, _) = file.float_shape("log_p")?;
        match shape.as_slice() {
            [k, m] if *m == n => Some(LogP { draws: *k, values: file.read_finite_f64("log_p", Some(&shape))?.0 }),
            _ => {
                return Err(FileError::item(
                    &file.path,
                    "dataset 'log_p'",
                    format!("has shape {shape:?}, expected (K, {n}): one row of log densities per posterior draw"),
                )
                .into())
            }
        }
    } else {
        None
    };
    Ok(Showers { n, energy, layers, overflow, log_p })
}

/// Writes a shower file h5py and the CaloGAN loaders read, with voxels in `precision`.
pub fn write(path: &Path, s: &Showers, exact_log_w: Option<&[f64]>, precision: Precision) -> Result<()> {
    nn::io::write_atomically(path, |tmp| {
        let f = nn::io::create_h5(tmp)?;
        write_floats(&f, "energy", &[s.n, 1], &s.energy, Precision::F64)?;
        for (k, &(phi, eta)) in LAYER_SHAPES.iter().enumerate() {
            write_floats(&f, &format!("layer_{k}"), &[s.n, phi, eta], &s.layers[k], precision)?;
        }
        write_floats(&f, "overflow", &[s.n, 3], &s.overflow, precision)?;
        if let Some(lp) = &s.log_p {
            write_floats(&f, "log_p", &[lp.draws, s.n], &lp.values, Precision::F64)?;
        }
        if let Some(w) = exact_log_w {
            super::exact::write_exact_log_w(&f, w)?;
        }
        Ok(())
    })?;
    Ok(())
}
