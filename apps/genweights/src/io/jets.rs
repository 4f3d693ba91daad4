//! JetNet-style jet files (docs/genweights-method.md §3.3): `particle_features` (N, P, 4) with columns [η_rel, φ_rel,
//! pT_rel, mask] (P = 30 in the paper's JetNet30; any P is read), and `jet_features` (N, 4) with
//! [pT (GeV), η, mass (GeV), number of particles].

use super::{write_floats, Precision};
use crate::error::Result;
use nn::io::{FileError, H5File};
use std::path::Path;

/// Columns of `particle_features`.
pub const PARTICLE_COLUMNS: [&str; 4] = ["etarel", "phirel", "ptrel", "mask"];
/// Columns of `jet_features`.
pub const JET_COLUMNS: [&str; 4] = ["pt", "eta", "mass", "num_particles"];

#[derive(Debug, Clone, PartialEq)]
pub struct Jets {
    pub n: usize,
    /// Constituent slots per jet (30 for JetNet30).
    pub particles_per_jet: usize,
    /// N × P × 4, row-major.
    pub particles: Vec<f64>,
    /// N × 4.
    pub jets: Vec<f64>,
}

impl Jets {
    /// Constituent `p` of jet `i`: [η_rel, φ_rel, pT_rel, mask].
    pub fn particle(&self, i: usize, p: usize) -> &[f64] {
        let o = (i * self.particles_per_jet + p) * 4;
        &self.particles[o..o + 4]
    }

    /// [pT, η, mass, n] of jet `i`.
    pub fn jet(&self, i: usize) -> &[f64] {
        &self.jets[i * 4..i * 4 + 4]
    }
}

pub fn read(file: &H5File) -> Result<Jets> {
    let (shape, _) = file.float_shape("particle_features")?;
    let (n, p) = match shape.as_slice() {
        [n, p, 4] if *p > 0 => (*n, *p),
        _ => {
            return Err(FileError::item(
                &file.path,
                "dataset 'particle_features'",
                format!("has shape {shape:?}, expected (N, 30, 4): [etarel, phirel, ptrel, mask] per constituent"),
            )
            .into())
        }
    };
    let (particles, _) = file.read_finite_f64("particle_features", Some(&shape))?;
    if let Some(i) = particles.chunks(4).position(|c| c[3] != 0.0 && c[3] != 1.0) {
        return Err(FileError::item(
            &file.path,
            "dataset 'particle_features'",
            format!("jet {}, constituent {}: mask is {}, expected 0 or 1", i / p, i % p, particles[i * 4 + 3]),
        )
        .into());
    }
    let (jets, _) = file.read_finite_f64("jet_features", Some(&[n, 4])).map_err(|mut e| {
        if e.msg.contains("expected") && e.msg.contains("shape") {
            e.msg.push_str(" ([pt, eta, mass, num_particles] per jet, one row per jet of particle_features)");
        }
        e
    })?;
    Ok(Jets { n, particles_per_jet: p, particles, jets })
}

/// Writes a JetNet-layout file: `particle_features` in `precision`, `jet_features` in f64.
pub fn write(path: &Path, j: &Jets, exact_log_w: Option<&[f64]>, precision: Precision) -> Result<()> {
    nn::io::write_atomically(path, |tmp| {
        let f = nn::io::create_h5(tmp)?;
        write_floats(&f, "particle_features", &[j.n, j.particles_per_jet, 4], &j.particles, precision)?;
        write_floats(&f, "jet_features", &[j.n, 4], &j.jets, Precision::F64)?;
        if let Some(w) = exact_log_w {
            super::exact::write_exact_log_w(&f, w)?;
        }
        Ok(())
    })?;
    Ok(())
}
