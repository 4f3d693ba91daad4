//! Jet observables from JetNet-style constituents (docs/genweights-method.md §2.1). The paper's
//! "mass" is the relative jet
//! mass m/pT_jet of the massless constituents in relative coordinates (JetNet's
//! `jet_features(pf[:, :, :3])["mass"]`); the file's own `jet_features` mass over pT is kept
//! beside it. In the jet toys that column is the constituents' mass too ([`relative_mass`]): an
//! earlier toy wrote the latent mass the exact weight depends on there, which handed the
//! classifier the answer (docs/genweights-method.md §2.1).

use super::{Column, FeatureMatrix, JetInputs};
use crate::io::Jets;

/// The jet-level observables of one jet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JetObservables {
    /// Invariant mass of the constituents (η_rel, φ_rel, pT_rel) as massless momenta: m/pT.
    pub m_rel: f64,
    /// `jet_features` mass / pT.
    pub m_rel_file: f64,
    /// Constituents with mask 1.
    pub constituents: f64,
    /// pT_D = √(Σ pT_i²) / Σ pT_i.
    pub pt_d: f64,
    /// Girth: Σ pT_i ΔR_i / Σ pT_i, ΔR_i from the jet axis at (0, 0).
    pub width: f64,
    /// The leading constituent's share of Σ pT_rel.
    pub leading_fraction: f64,
    /// Σ pT_rel (1 for a jet whose constituents are all listed).
    pub pt_rel_sum: f64,
    pub pt: f64,
    pub eta: f64,
}

/// The invariant mass of a jet's constituents (rows [η_rel, φ_rel, pT_rel, mask] of a flat
/// P × 4 slice) as massless momenta: m/pT_jet.
pub fn relative_mass(constituents: &[f64]) -> f64 {
    let (mut e, mut px, mut py, mut pz) = (0.0, 0.0, 0.0, 0.0);
    for c in constituents.chunks_exact(4).filter(|c| c[3] != 0.0) {
        let (eta, phi, pt) = (c[0], c[1], c[2]);
        e += pt * eta.cosh();
        px += pt * phi.cos();
        py += pt * phi.sin();
        pz += pt * eta.sinh();
    }
    (e * e - px * px - py * py - pz * pz).max(0.0).sqrt()
}

/// The observables of jet `i`. Empty jets give zeros rather than 0/0.
pub fn jet_observables(jets: &Jets, i: usize) -> JetObservables {
    let (mut sum, mut sum2, mut girth, mut lead, mut count) = (0.0f64, 0.0, 0.0, 0.0f64, 0.0);
    for p in 0..jets.particles_per_jet {
        let c = jets.particle(i, p);
        if c[3] == 0.0 {
            continue;
        }
        let (eta, phi, pt) = (c[0], c[1], c[2]);
        sum += pt;
        sum2 += pt * pt;
        girth += pt * (eta * eta + phi * phi).sqrt();
        lead = lead.max(pt);
        count += 1.0;
    }
    let per_jet = 4 * jets.particles_per_jet;
    let jet = jets.jet(i);
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    JetObservables {
        m_rel: relative_mass(&jets.particles[i * per_jet..(i + 1) * per_jet]),
        m_rel_file: ratio(jet[2], jet[0]),
        constituents: count,
        pt_d: ratio(sum2.sqrt(), sum),
        width: ratio(girth, sum),
        leading_fraction: ratio(lead, sum),
        pt_rel_sum: sum,
        pt: jet[0],
        eta: jet[1],
    }
}

fn high_level_columns() -> Vec<Column> {
    vec![
        Column::new("m_rel", ""),
        Column::new("m_rel_file", ""),
        Column::new("n_constituents", ""),
        Column::new("pt_d", ""),
        Column::new("width", ""),
        Column::new("leading_fraction", ""),
        Column::new("pt_rel_sum", ""),
        Column::new("pt", "GeV"),
        Column::new("eta", ""),
    ]
}

fn high_level_row(o: &JetObservables) -> [f64; 9] {
    [o.m_rel, o.m_rel_file, o.constituents, o.pt_d, o.width, o.leading_fraction, o.pt_rel_sum, o.pt, o.eta]
}

/// The plotted jet observables (the same quantities as the high-level inputs).
pub fn observables(jets: &Jets) -> FeatureMatrix {
    let mut m = FeatureMatrix::new(high_level_columns());
    for i in 0..jets.n {
        m.push(i, &high_level_row(&jet_observables(jets, i)));
    }
    m
}

/// The classifier inputs: the high-level observables, or the constituents sorted as stored.
pub fn classifier_inputs(jets: &Jets, inputs: JetInputs) -> FeatureMatrix {
    match inputs {
        JetInputs::HighLevel => observables(jets),
        JetInputs::Constituents => {
            let p = jets.particles_per_jet;
            let columns = (0..p)
                .flat_map(|k| ["etarel", "phirel", "ptrel"].map(|c| Column::new(format!("{c}_{k}"), "")))
                .collect();
            let mut m = FeatureMatrix::new(columns);
            let mut row = vec![0.0; 3 * p];
            for i in 0..jets.n {
                for k in 0..p {
                    let c = jets.particle(i, k);
                    let on = if c[3] != 0.0 { 1.0 } else { 0.0 };
                    row[3 * k..3 * k + 3].copy_from_slice(&[c[0] * on, c[1] * on, c[2] * on]);
                }
                m.push(i, &row);
            }
            m
        }
    }
}
