//! Z→μμ+jets observables (docs/genweights-method.md §2.3), from the 20 momentum columns of an event file.
//!
//! Classifier inputs, per event with n jets (`prec_inn.py::compute_preprocessing`):
//! μ1 (pT, η); μ2 (pT, η, Δφ(μ1, μ2)); each jet (pT, η, Δφ(previous object, jet), m);
//! M_μμ; and min(1/(ΔR + 1e-7), 20) for the jet pairs (j1, j2) when n ≥ 2 and (j2, j3), (j1, j3)
//! when n = 3. That is 10, 15 and 21 inputs for 1, 2 and 3 jets. Δφ is wrapped to [−π, π).
//! Without a multiplicity the 3-jet layout is used for every event, absent jets and pairs zero.
//!
//! Plotted observables, per multiplicity: pT, η, φ of each object, jet masses, M_μμ, and ΔR,
//! Δη, Δφ of each jet pair; without a multiplicity only what every event has (muons, M_μμ, j1
//! and the jet count).

use super::fourvec::{delta_phi, delta_r, FourVector};
use super::{Column, FeatureMatrix};
use crate::error::{invalid, Result};
use crate::io::Events;

/// The jet pairs with a ΔR input, in the paper's order, and the multiplicity each needs.
const PAIRS: [(usize, usize, usize); 3] = [(0, 1, 2), (1, 2, 3), (0, 2, 3)];

/// The objects of event `i`: the two muons and the jets present (E ≠ 0), in column order.
pub fn objects(e: &Events, i: usize) -> (FourVector, FourVector, Vec<FourVector>) {
    let o: Vec<FourVector> = (0..5).map(|k| e.object(i, k)).map(|[a, b, c, d]| FourVector::new(a, b, c, d)).collect();
    let jets = o[2..].iter().copied().filter(FourVector::is_present).collect();
    (o[0], o[1], jets)
}

/// The number of jets of each event.
pub fn jet_multiplicity(e: &Events) -> Vec<usize> {
    (0..e.n).map(|i| objects(e, i).2.len()).collect()
}

fn check_multiplicity(jets: Option<usize>) -> Result<()> {
    match jets {
        Some(n) if !(1..=3).contains(&n) => Err(invalid(format!("jet multiplicity {n}: expected 1, 2 or 3"))),
        _ => Ok(()),
    }
}

/// The paper's min(1/(ΔR + 1e-7), 20), which keeps the classifier's input bounded for
/// overlapping jets.
pub fn inverse_delta_r(dr: f64) -> f64 {
    (1.0 / (dr + 1e-7)).min(20.0)
}

pub fn classifier_inputs(e: &Events, jets: Option<usize>) -> Result<FeatureMatrix> {
    check_multiplicity(jets)?;
    let layout = jets.unwrap_or(3);
    let mut cols = vec![
        Column::new("pt_mu1", "GeV"),
        Column::new("eta_mu1", ""),
        Column::new("pt_mu2", "GeV"),
        Column::new("eta_mu2", ""),
        Column::new("dphi_mu1_mu2", "rad"),
    ];
    for j in 1..=layout {
        let prev = if j == 1 { "mu2".to_string() } else { format!("j{}", j - 1) };
        cols.extend([
            Column::new(format!("pt_j{j}"), "GeV"),
            Column::new(format!("eta_j{j}"), ""),
            Column::new(format!("dphi_{prev}_j{j}"), "rad"),
            Column::new(format!("m_j{j}"), "GeV"),
        ]);
    }
    cols.push(Column::new("M_mumu", "GeV"));
    for &(a, b, need) in &PAIRS {
        if layout >= need {
            cols.push(Column::new(format!("inv_dR_j{}_j{}", a + 1, b + 1), ""));
        }
    }
    let mut m = FeatureMatrix::new(cols);
    let mut row = Vec::with_capacity(m.width());
    for i in 0..e.n {
        let (mu1, mu2, js) = objects(e, i);
        if jets.is_some_and(|n| n != js.len()) {
            continue;
        }
        row.clear();
        row.extend([mu1.pt(), mu1.eta(), mu2.pt(), mu2.eta(), delta_phi(mu1.phi(), mu2.phi())]);
        let mut prev = mu2;
        for j in 0..layout {
            match js.get(j) {
                Some(jet) => {
                    row.extend([jet.pt(), jet.eta(), delta_phi(prev.phi(), jet.phi()), jet.mass()]);
                    prev = *jet;
                }
                None => row.extend([0.0; 4]),
            }
        }
        row.push((mu1 + mu2).mass());
        for &(a, b, need) in &PAIRS {
            if layout >= need {
                row.push(match (js.get(a), js.get(b)) {
                    (Some(x), Some(y)) => inverse_delta_r(delta_r(x, y)),
                    _ => 0.0,
                });
            }
        }
        m.push(i, &row);
    }
    Ok(m)
}

pub fn observables(e: &Events, jets: Option<usize>) -> Result<FeatureMatrix> {
    check_multiplicity(jets)?;
    let layout = jets.unwrap_or(1);
    let mut cols = Vec::new();
    for o in ["mu1", "mu2"] {
        cols.extend([
            Column::new(format!("pt_{o}"), "GeV"),
            Column::new(format!("eta_{o}"), ""),
            Column::new(format!("phi_{o}"), "rad"),
        ]);
    }
    for j in 1..=layout {
        cols.extend([
            Column::new(format!("pt_j{j}"), "GeV"),
            Column::new(format!("eta_j{j}"), ""),
            Column::new(format!("phi_j{j}"), "rad"),
            Column::new(format!("m_j{j}"), "GeV"),
        ]);
    }
    cols.push(Column::new("M_mumu", "GeV"));
    if jets.is_none() {
        cols.push(Column::new("n_jets", ""));
    }
    for &(a, b, need) in &PAIRS {
        if jets.is_some_and(|n| n >= need) {
            let p = format!("j{}_j{}", a + 1, b + 1);
            cols.extend([
                Column::new(format!("dR_{p}"), ""),
                Column::new(format!("deta_{p}"), ""),
                Column::new(format!("dphi_{p}"), "rad"),
            ]);
        }
    }
    let mut m = FeatureMatrix::new(cols);
    let mut row = Vec::with_capacity(m.width());
    for i in 0..e.n {
        let (mu1, mu2, js) = objects(e, i);
        if jets.is_some_and(|n| n != js.len()) || js.len() < layout {
            continue;
        }
        row.clear();
        for mu in [mu1, mu2] {
            row.extend([mu.pt(), mu.eta(), mu.phi()]);
        }
        for jet in js.iter().take(layout) {
            row.extend([jet.pt(), jet.eta(), jet.phi(), jet.mass()]);
        }
        row.push((mu1 + mu2).mass());
        if jets.is_none() {
            row.push(js.len() as f64);
        }
        for &(a, b, need) in &PAIRS {
            if jets.is_some_and(|n| n >= need) {
                let (x, y) = (js[a], js[b]);
                row.extend([delta_r(&x, &y), y.eta() - x.eta(), delta_phi(x.phi(), y.phi())]);
            }
        }
        m.push(i, &row);
    }
    Ok(m)
}
