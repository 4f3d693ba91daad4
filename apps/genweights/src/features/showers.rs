//! Shower observables for the CaloGAN geometry (docs/genweights-method.md §2.2), after the CaloFlow
//! plotting code the paper
//! took them from. Voxel energies are MeV, incident energies GeV, positions mm (cell centres of
//! `linspace(-240, 240, n + 1)` in η and in φ, per layer).
//!
//! Conventions, chosen and fixed here:
//! - **sparsity** of a layer is the fraction of its voxels at or below the threshold (0 MeV by
//!   default), i.e. the fraction of *empty* voxels: the `calo_plots` branch that made the
//!   paper's final figures (the `main` branch used the complement);
//! - a layer without energy has centres, widths and voxel fractions 0 (not 0/0);
//! - logarithms of energies, fractions and widths are log10(x + 1e-8), so an empty layer (the
//!   missing-mode showers) gives a large negative but finite input;
//! - the overflow dataset is not used (CaloINN writes zeros there).

use super::{Column, FeatureMatrix, ShowerInputs};
use crate::io::calo::{layer_cells, Showers, LAYER_SHAPES};

/// Offset inside every log10.
const LOG_EPS: f64 = 1e-8;
/// How many brightest voxels per layer are kept.
const BRIGHTEST: usize = 5;

/// The cell centres (mm) of `n` cells spanning −240…240.
pub fn cell_centres(n: usize) -> Vec<f64> {
    (0..n).map(|i| -240.0 + 480.0 * (i as f64 + 0.5) / n as f64).collect()
}

/// The per-layer observables of one shower layer.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LayerObservables {
    /// MeV.
    pub energy: f64,
    pub eta_centre: f64,
    pub phi_centre: f64,
    pub eta_width: f64,
    pub phi_width: f64,
    /// The 1st…5th brightest voxels over the layer energy.
    pub brightest: [f64; BRIGHTEST],
    /// (E_1st − E_2nd) / (E_1st + E_2nd).
    pub brightest_contrast: f64,
    pub sparsity: f64,
}

/// The observables of layer `k` of shower `i`.
pub fn layer_observables(s: &Showers, i: usize, k: usize, threshold_mev: f64) -> LayerObservables {
    let (n_phi, n_eta) = LAYER_SHAPES[k];
    let (eta_c, phi_c) = (cell_centres(n_eta), cell_centres(n_phi));
    let v = s.layer(i, k);
    let energy: f64 = v.iter().sum();
    let mut o = LayerObservables { energy, ..Default::default() };
    o.sparsity = v.iter().filter(|&&x| x <= threshold_mev).count() as f64 / layer_cells(k) as f64;
    if energy <= 0.0 {
        return o;
    }
    let (mut se, mut sp, mut se2, mut sp2) = (0.0, 0.0, 0.0, 0.0);
    for a in 0..n_phi {
        for b in 0..n_eta {
            let e = v[a * n_eta + b];
            se += e * eta_c[b];
            se2 += e * eta_c[b] * eta_c[b];
            sp += e * phi_c[a];
            sp2 += e * phi_c[a] * phi_c[a];
        }
    }
    o.eta_centre = se / energy;
    o.phi_centre = sp / energy;
    o.eta_width = (se2 / energy - o.eta_centre * o.eta_centre).max(0.0).sqrt();
    o.phi_width = (sp2 / energy - o.phi_centre * o.phi_centre).max(0.0).sqrt();
    let mut sorted = v.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    for (j, b) in o.brightest.iter_mut().enumerate() {
        *b = sorted.get(j).copied().unwrap_or(0.0) / energy;
    }
    let (first, second) = (sorted[0], sorted.get(1).copied().unwrap_or(0.0));
    o.brightest_contrast = if first + second > 0.0 { (first - second) / (first + second) } else { 0.0 };
    o
}

/// Whole-shower quantities: E_tot (MeV), ℓ_d = E_1 + 2E_2 (MeV), s_d = ℓ_d / E_tot and its
/// width σ_sd = √(Σ k² E_k / E_tot − s_d²).
fn depth(layers: &[LayerObservables; 3]) -> (f64, f64, f64, f64) {
    let total: f64 = layers.iter().map(|l| l.energy).sum();
    let ld = layers[1].energy + 2.0 * layers[2].energy;
    if total <= 0.0 {
        return (0.0, ld, 0.0, 0.0);
    }
    let sd = ld / total;
    let second = (layers[1].energy + 4.0 * layers[2].energy) / total;
    (total, ld, sd, (second - sd * sd).max(0.0).sqrt())
}

fn all_layers(s: &Showers, i: usize, threshold: f64) -> [LayerObservables; 3] {
    [0, 1, 2].map(|k| layer_observables(s, i, k, threshold))
}

/// The plotted observables, in GeV for energies and mm for positions.
pub fn observables(s: &Showers, threshold_mev: f64) -> FeatureMatrix {
    let mut cols = vec![Column::new("E_inc", "GeV"), Column::new("E_tot", "GeV")];
    for k in 0..3 {
        cols.push(Column::new(format!("E_{k}"), "GeV"));
    }
    for k in 0..3 {
        cols.push(Column::new(format!("f_{k}"), ""));
    }
    cols.extend([Column::new("l_d", "MeV"), Column::new("s_d", ""), Column::new("sigma_sd", "")]);
    for k in 0..3 {
        for (name, unit) in [
            ("eta_centre", "mm"),
            ("phi_centre", "mm"),
            ("eta_width", "mm"),
            ("phi_width", "mm"),
            ("brightest_fraction", ""),
            ("sparsity", ""),
        ] {
            cols.push(Column::new(format!("{name}_{k}"), unit));
        }
    }
    let mut m = FeatureMatrix::new(cols);
    for i in 0..s.n {
        let l = all_layers(s, i, threshold_mev);
        let (total, ld, sd, ssd) = depth(&l);
        let frac = |e: f64| if total > 0.0 { e / total } else { 0.0 };
        let mut row = vec![s.energy[i], total / 1e3];
        row.extend(l.iter().map(|x| x.energy / 1e3));
        row.extend(l.iter().map(|x| frac(x.energy)));
        row.extend([ld, sd, ssd]);
        for x in &l {
            row.extend([x.eta_centre, x.phi_centre, x.eta_width, x.phi_width, x.brightest[0], x.sparsity]);
        }
        m.push(i, &row);
    }
    m
}

fn log10(x: f64) -> f64 {
    (x + LOG_EPS).log10()
}

/// The classifier inputs of docs/genweights-method.md §2.2: the 41 high-level features, or the 508 low-level ones.
pub fn classifier_inputs(s: &Showers, inputs: ShowerInputs, threshold_mev: f64) -> FeatureMatrix {
    match inputs {
        ShowerInputs::HighLevel => high_level(s, threshold_mev),
        ShowerInputs::Voxels => voxels(s, false),
        ShowerInputs::VoxelsNormalised => voxels(s, true),
    }
}

fn high_level(s: &Showers, threshold_mev: f64) -> FeatureMatrix {
    let mut cols = Vec::new();
    for k in 0..3 {
        cols.push(Column::new(format!("log10_E_{k}"), "log10 GeV"));
    }
    cols.push(Column::new("log10_E_tot", "log10 GeV"));
    for k in 0..3 {
        cols.push(Column::new(format!("log10_f_{k}"), ""));
    }
    cols.push(Column::new("log10_l_d", "log10 MeV"));
    for k in 0..3 {
        cols.push(Column::new(format!("log10_sigma_phi_{k}"), "log10 mm"));
    }
    cols.extend([Column::new("s_d", ""), Column::new("sigma_sd", "")]);
    for k in 0..3 {
        for j in 1..=BRIGHTEST {
            cols.push(Column::new(format!("10x_brightest_{j}_{k}"), ""));
        }
    }
    for k in 0..3 {
        cols.push(Column::new(format!("brightest_contrast_{k}"), ""));
    }
    for k in 0..3 {
        cols.push(Column::new(format!("sparsity_{k}"), ""));
    }
    for k in 0..3 {
        cols.push(Column::new(format!("eta_centre_{k}/100"), "100 mm"));
        cols.push(Column::new(format!("phi_centre_{k}/100"), "100 mm"));
    }
    cols.push(Column::new("log10_E_inc/10GeV", ""));
    let mut m = FeatureMatrix::new(cols);
    for i in 0..s.n {
        let l = all_layers(s, i, threshold_mev);
        let (total, ld, sd, ssd) = depth(&l);
        let mut row: Vec<f64> = l.iter().map(|x| log10(x.energy / 1e3)).collect();
        row.push(log10(total / 1e3));
        row.extend(l.iter().map(|x| log10(if total > 0.0 { x.energy / total } else { 0.0 })));
        row.push(log10(ld));
        row.extend(l.iter().map(|x| log10(x.phi_width)));
        row.extend([sd, ssd]);
        for x in &l {
            row.extend(x.brightest.iter().map(|b| 10.0 * b));
        }
        row.extend(l.iter().map(|x| x.brightest_contrast));
        row.extend(l.iter().map(|x| x.sparsity));
        for x in &l {
            row.extend([x.eta_centre / 100.0, x.phi_centre / 100.0]);
        }
        row.push((s.energy[i] / 10.0).log10());
        m.push(i, &row);
    }
    m
}

fn voxels(s: &Showers, normalise: bool) -> FeatureMatrix {
    let mut cols = Vec::new();
    for k in 0..3 {
        for c in 0..layer_cells(k) {
            cols.push(Column::new(format!("voxel_{k}_{c}"), if normalise { "" } else { "100 GeV" }));
        }
    }
    cols.push(Column::new("log10_E_inc/10GeV", ""));
    for k in 0..3 {
        cols.push(Column::new(format!("log10_E_{k}"), "log10 GeV"));
    }
    let mut m = FeatureMatrix::new(cols);
    let mut row = Vec::with_capacity(m.width());
    for i in 0..s.n {
        row.clear();
        let mut sums = [0.0; 3];
        for (k, sum) in sums.iter_mut().enumerate() {
            let v = s.layer(i, k);
            *sum = v.iter().sum::<f64>() / 1e5;
            let scale = if normalise { 1.0 / (*sum * 1e5 + 1e-16) } else { 1e-5 };
            row.extend(v.iter().map(|x| x * scale));
        }
        row.push((s.energy[i] / 10.0).log10());
        row.extend(sums.iter().map(|x| (x + LOG_EPS).log10() + 2.0));
        m.push(i, &row);
    }
    m
}
