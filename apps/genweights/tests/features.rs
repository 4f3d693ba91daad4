//! The feature builders on events whose observables are known by hand.

use genweights::features::{classifier_inputs, observables, FeatureOptions, ShowerInputs};
use genweights::io::{calo::Showers, Events, Jets, Sample};

#[test]
fn a_two_constituent_jet_has_the_textbook_mass_and_shape() {
    let mut particles = vec![0.0; 30 * 4];
    particles[..8].copy_from_slice(&[0.06, 0.0, 0.6, 1.0, -0.09, 0.0, 0.4, 1.0]);
    let jets = Jets { n: 1, particles_per_jet: 30, particles, jets: vec![1000.0, 0.3, 80.0, 2.0] };
    let m = observables(&Sample::Jets(jets), &FeatureOptions::default()).unwrap();
    let get = |n: &str| m.column_named(n).unwrap()[0];
    // m² = 2 z (1 − z)(cosh Δη − 1) for Δφ = 0.
    let expected = (2.0 * 0.6 * 0.4 * (0.15f64.cosh() - 1.0)).sqrt();
    assert!((get("m_rel") - expected).abs() < 1e-12);
    assert!((get("m_rel_file") - 0.08).abs() < 1e-15);
    assert_eq!(get("n_constituents"), 2.0);
    assert!((get("pt_d") - (0.36f64 + 0.16).sqrt()).abs() < 1e-12);
    assert!((get("width") - (0.6 * 0.06 + 0.4 * 0.09)).abs() < 1e-12);
    assert!((get("leading_fraction") - 0.6).abs() < 1e-12);
}

fn one_shower() -> Showers {
    let mut layers = [vec![0.0; 288], vec![0.0; 144], vec![0.0; 72]];
    // Layer 0: 30 MeV in (φ 1, η 10), 10 MeV in (φ 1, η 11).
    layers[0][96 + 10] = 30.0;
    layers[0][96 + 11] = 10.0;
    // Layer 1: 60 MeV in one cell (φ 0, η 0).
    layers[1][0] = 60.0;
    Showers { n: 1, energy: vec![0.5], layers, overflow: vec![0.0; 3], log_p: None }
}

#[test]
fn shower_observables_follow_the_cell_geometry() {
    let s = Sample::Showers(one_shower());
    let m = observables(&s, &FeatureOptions::default()).unwrap();
    let get = |n: &str| m.column_named(n).unwrap()[0];
    assert!((get("E_tot") - 0.1).abs() < 1e-15 && (get("E_0") - 0.04).abs() < 1e-15 && get("E_2") == 0.0);
    assert!((get("f_1") - 0.6).abs() < 1e-12);
    assert!((get("l_d") - 60.0).abs() < 1e-12 && (get("s_d") - 0.6).abs() < 1e-12);
    assert!((get("sigma_sd") - (0.6f64 - 0.36).sqrt()).abs() < 1e-12);
    // η cells of layer 0 are 5 mm wide from −240: centres −187.5 and −182.5 mm, weights 3:1.
    assert!((get("eta_centre_0") - (-186.25)).abs() < 1e-9);
    assert!((get("eta_width_0") - (0.75f64 * 0.25).sqrt() * 5.0).abs() < 1e-9);
    assert_eq!(get("phi_centre_0"), 0.0);
    assert!((get("brightest_fraction_0") - 0.75).abs() < 1e-12);
    assert!((get("sparsity_0") - 286.0 / 288.0).abs() < 1e-12, "the fraction of empty voxels");
    assert_eq!((get("sparsity_2"), get("eta_centre_2")), (1.0, 0.0));
    let hl = classifier_inputs(&s, &FeatureOptions::default()).unwrap();
    assert_eq!(hl.width(), 41);
    assert!(hl.column_named("log10_E_2").unwrap()[0] < -7.0, "an empty layer stays finite");
    let ll = classifier_inputs(&s, &FeatureOptions { showers: ShowerInputs::VoxelsNormalised, ..Default::default() })
        .unwrap();
    assert_eq!(ll.width(), 508);
    assert!((ll.row(0)[106] - 0.75).abs() < 1e-12);
}

/// One event: muons of a Z at rest (M = 91) and `jets` jets.
fn event(jets: usize) -> Vec<f64> {
    let mut v = vec![0.0; 20];
    v[..8].copy_from_slice(&[45.5, 45.5, 0.0, 0.0, 45.5, -45.5, 0.0, 0.0]);
    for j in 0..jets {
        let pt = 50.0 - 10.0 * j as f64;
        let phi = 1.0 + j as f64;
        let (px, py, pz) = (pt * phi.cos(), pt * phi.sin(), 0.0);
        let e = (px * px + py * py + 25.0f64).sqrt();
        v[8 + 4 * j..12 + 4 * j].copy_from_slice(&[e, px, py, pz]);
    }
    v
}

#[test]
fn event_inputs_have_the_papers_dimensions_and_values() {
    let momenta: Vec<f64> = (1..=3).flat_map(event).collect();
    let e = Sample::Events(Events::new(momenta, vec![], vec![]));
    for (jets, dim) in [(1, 10), (2, 15), (3, 21)] {
        let m = classifier_inputs(&e, &FeatureOptions { event_jets: Some(jets), ..Default::default() }).unwrap();
        assert_eq!((m.width(), m.rows, m.sample_rows.clone()), (dim, 1, vec![jets - 1]), "{jets} jets");
        let get = |n: &str| m.column_named(n).unwrap()[0];
        assert!((get("M_mumu") - 91.0).abs() < 1e-9);
        assert!((get("m_j1") - 5.0).abs() < 1e-9 && (get("pt_j1") - 50.0).abs() < 1e-9);
        if jets >= 2 {
            // Jets 1 rad apart in φ at η = 0: min(1/ΔR, 20) = 1.
            assert!((get("inv_dR_j1_j2") - 1.0).abs() < 1e-6);
            assert!((get("dphi_j1_j2") - 1.0).abs() < 1e-12);
        }
    }
    let all = classifier_inputs(&e, &FeatureOptions::default()).unwrap();
    assert_eq!((all.width(), all.rows), (21, 3));
    assert_eq!(all.column_named("pt_j3").unwrap()[..2], [0.0, 0.0]);
    let obs = observables(&e, &FeatureOptions { event_jets: Some(3), ..Default::default() }).unwrap();
    assert!((obs.column_named("dR_j1_j3").unwrap()[0] - 2.0).abs() < 1e-6);
    assert_eq!(
        observables(&e, &FeatureOptions::default()).unwrap().column_named("n_jets").unwrap(),
        vec![1.0, 2.0, 3.0]
    );
    assert!(classifier_inputs(&e, &FeatureOptions { event_jets: Some(4), ..Default::default() }).is_err());
}
