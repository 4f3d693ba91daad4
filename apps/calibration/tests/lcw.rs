//! The LCW-like tables: docs/calibration-generator.md §11's resolutions and μ dependence, the file round trip, the
//! two-file form and refusals.

mod common;

use calibration::cuts::apply_cuts;
use calibration::evaluate::eval_data;
use calibration::generator::{generate, ClassChoice, GeneratorConfig, Sample};
use calibration::lcw::{build, Combination, Labelled, LcwTables};
use calibration::metrics::{method_metrics, Binning, Method};
use calibration::table::ClusterTable;
use common::temp_dir;
use std::sync::OnceLock;

fn selected(config: GeneratorConfig) -> ClusterTable {
    apply_cuts(&generate(&config, false).unwrap()).unwrap().0
}

fn samples() -> &'static (ClusterTable, ClusterTable) {
    static S: OnceLock<(ClusterTable, ClusterTable)> = OnceLock::new();
    S.get_or_init(|| {
        (
            selected(GeneratorConfig::new(200_000, 7, Sample::Pu0)),
            selected(GeneratorConfig::new(200_000, 1, Sample::PileUp)),
        )
    })
}

fn reference(name: &str, r_pred: Vec<f64>) -> Method {
    Method { name: name.into(), source: "test".into(), r_pred, sigmas: None }
}

#[test]
fn the_tables_reproduce_the_prototype_resolution_and_pile_up_dependence() {
    let (pu0, data) = samples();
    let tables = build(&[Labelled::from_column(pu0, "truth_class").unwrap()], "PU0").unwrap();
    let w = tables.weights(data, Combination::Probability).unwrap();
    let ed = eval_data(data).unwrap();
    let binning = Binning::default();
    let methods = [
        reference("EM", vec![1.0; data.len()]),
        reference("LCW", w.iter().map(|w| 1.0 / w).collect()),
        reference("oracle", data.column("truth_R_median").unwrap().to_vec()),
    ];
    // docs/calibration-generator.md §11, E_dep bins 0.3-0.6, 0.6-1, 1-2, 2-5, 5-20, 20-100, 100-2000 GeV.
    let prototype = [
        [0.403, 0.450, 0.516, 0.461, 0.310, 0.194, 0.128],
        [0.363, 0.352, 0.372, 0.294, 0.159, 0.094, 0.065],
        [0.285, 0.302, 0.350, 0.278, 0.144, 0.080, 0.057],
    ];
    let mu_prototype = [[0.89, 0.80, 0.72, 0.66], [1.20, 1.10, 1.01, 0.95], [1.03, 1.03, 1.04, 1.05]];
    for ((m, want), mu_want) in methods.iter().zip(prototype).zip(mu_prototype) {
        let got = method_metrics(m, &ed, &binning);
        for (b, w) in got.response.by_e_dep.iter().zip(want) {
            let r = b.resolution.unwrap();
            assert!((r - w).abs() < 0.03, "{} resolution at E_dep {}-{}: {r:.3}, prototype {w}", m.name, b.lo, b.hi);
        }
        for (b, w) in got.mu_dependence.bins.iter().zip(mu_want) {
            let med = b.median.unwrap();
            assert!((med - w).abs() < 0.04, "{} median at mu {}-{}: {med:.3}, prototype {w}", m.name, b.lo, b.hi);
        }
    }
    let lcw = method_metrics(&methods[1], &ed, &binning);
    assert!(lcw.mu_dependence.change_over_range.unwrap() < -0.2, "LCW-PU0 must degrade with pile-up");
    let oracle = method_metrics(&methods[2], &ed, &binning);
    assert!(oracle.mu_dependence.change_over_range.unwrap().abs() < 0.05, "the oracle is flat in mu");
}

#[test]
fn tables_round_trip_through_hdf5_and_damaged_tables_are_refused() {
    let (pu0, _) = samples();
    let small = pu0.head(30_000);
    let tables = build(&[Labelled::from_column(&small, "truth_class").unwrap()], "PU0 head").unwrap();
    assert!(tables.p_em.iter().all(|p| (0.0..=1.0).contains(p)));
    assert!(tables.w_had.iter().chain(&tables.w_em).all(|w| *w > 0.0));
    // Hadronic clusters need more weight than EM ones (non-compensation).
    let (mean_had, mean_em) = (
        tables.w_had.iter().sum::<f64>() / tables.w_had.len() as f64,
        tables.w_em.iter().sum::<f64>() / tables.w_em.len() as f64,
    );
    assert!(mean_had > mean_em + 0.2, "w_had {mean_had} vs w_em {mean_em}");
    let d = temp_dir("lcw-file");
    let path = d.join("lcw.h5");
    tables.write(&path).unwrap();
    assert_eq!(LcwTables::read(&path).unwrap(), tables);

    // A prediction-style file is not a table file.
    let other = d.join("other.h5");
    small.write_hdf5(&other).unwrap();
    let msg = LcwTables::read(&other).unwrap_err().to_string();
    assert!(msg.contains("other.h5") && msg.contains("attribute 'format'"), "{msg}");
    // A negative weight is refused with its count.
    let mut bad = tables.clone();
    bad.w_had[3] = -1.0;
    bad.write(&d.join("bad.h5")).unwrap();
    let msg = LcwTables::read(&d.join("bad.h5")).unwrap_err().to_string();
    assert!(msg.contains("'w_had'") && msg.contains("1 of"), "{msg}");
}

#[test]
fn two_single_particle_files_give_tables_like_one_labelled_file() {
    let em = selected(GeneratorConfig { class: ClassChoice::EmOnly, ..GeneratorConfig::new(20_000, 8, Sample::Pu0) });
    let had = selected(GeneratorConfig { class: ClassChoice::HadOnly, ..GeneratorConfig::new(40_000, 9, Sample::Pu0) });
    assert!(em.column("truth_class").unwrap().iter().all(|&c| c == 1.0));
    let tables = build(&[Labelled::all(&em, true), Labelled::all(&had, false)], "two files").unwrap();
    assert_eq!((tables.n_em, tables.n_had), (em.len() as u64, had.len() as u64));
    // Applied to the EM file, P_EM is high and the weights near 1.
    let w = tables.weights(&em, Combination::Binary).unwrap();
    let median = stats::median(w.iter().copied()).unwrap();
    assert!((median - 1.0).abs() < 0.1, "EM weight median {median}");
    // One class alone cannot make tables.
    let err = build(&[Labelled::all(&em, true)], "EM only").unwrap_err().to_string();
    assert!(err.contains("both classes"), "{err}");
    // A class column must be 0/1.
    let mut odd = em.head(100);
    let mut c = odd.column("truth_class").unwrap().to_vec();
    c[5] = 0.5;
    odd.insert("truth_class", c).unwrap();
    let err = Labelled::from_column(&odd, "truth_class").err().unwrap().to_string();
    assert!(err.contains("1 of 100") && err.contains("row 5"), "{err}");
}

#[test]
fn the_tables_apply_to_files_without_truth_or_target() {
    let (pu0, data) = samples();
    let tables = build(&[Labelled::from_column(&pu0.head(30_000), "truth_class").unwrap()], "PU0").unwrap();
    let mut bare = data.head(1000);
    for name in bare.names().to_vec() {
        if name.starts_with("truth_") || name == "cluster_ENG_CALIB_TOT" {
            bare.remove(&name);
        }
    }
    let e = tables.calibrated_energy(&bare, Combination::Probability).unwrap();
    assert_eq!(e, tables.calibrated_energy(&data.head(1000), Combination::Probability).unwrap());
}
