//! Reading and writing cluster tables (HDF5 and ROOT), the bad files of each kind, and the cuts.

mod common;

use calibration::columns::{FEATURES, TARGET};
use calibration::cuts::{apply_cuts, read_selected};
use calibration::io::{ClusterTable, DataSource, Schema, TargetPolicy};
use calibration::Error;
use common::{files_starting_with, fixture, temp_dir};
use std::path::Path;

/// A valid table of `n` rows: every feature and the target 1.0 + row / 1000.
fn valid_table(n: usize) -> ClusterTable {
    let mut t = ClusterTable::new("test");
    for name in FEATURES.iter().chain([&TARGET]) {
        t.insert(name, (0..n).map(|i| 1.0 + i as f64 / 1000.0).collect()).unwrap();
    }
    t
}

/// Writes an HDF5 file with datasets made by `fill`.
fn write_file(path: &Path, fill: impl FnOnce(&hdf5::File)) {
    let f = nn::io::create_h5(path).unwrap();
    fill(&f);
}

fn write_valid_except(f: &hdf5::File, skip: &str, n: usize) {
    for name in FEATURES.iter().chain([&TARGET]) {
        if *name != skip {
            f.new_dataset::<f64>().shape([n]).create(*name).unwrap().write_raw(&vec![1.5; n]).unwrap();
        }
    }
}

fn read_error(path: &Path) -> String {
    let err = ClusterTable::read(&DataSource::file(path), &Schema::clusters(TargetPolicy::Required)).unwrap_err();
    assert!(matches!(err, Error::File(_)), "{err:?}");
    err.to_string()
}

#[test]
fn a_table_round_trips_through_hdf5_with_extra_columns_carried() {
    let d = temp_dir("round-trip");
    let mut t = valid_table(100);
    t.insert("eventNumber", (0..100).map(|i| i as f64 * 7.0).collect()).unwrap();
    let path = d.join("t.h5");
    t.write_hdf5(&path).unwrap();
    let back = ClusterTable::read(&DataSource::file(&path), &Schema::clusters(TargetPolicy::Required)).unwrap();
    assert_eq!(back.len(), 100);
    assert_eq!(&back.names()[..15], &FEATURES.map(String::from)[..]);
    assert_eq!(back.names()[15], TARGET);
    assert_eq!(back.column("eventNumber").unwrap()[3], 21.0);
    assert_eq!(back.column("clusterE"), t.column("clusterE"));
    assert_eq!(back.input_index, (0..100).collect::<Vec<u64>>());
    assert!(files_starting_with(&d, ".t.h5").is_empty(), "a temporary file was left");
}

#[test]
fn a_missing_column_is_named_with_the_rows_that_lack_it() {
    let d = temp_dir("missing");
    let path = d.join("m.h5");
    write_file(&path, |f| write_valid_except(f, "cluster_PTD", 40));
    let msg = read_error(&path);
    assert!(msg.contains("m.h5") && msg.contains("'cluster_PTD'") && msg.contains("missing"), "{msg}");
    assert!(msg.contains("all 40 rows"), "{msg}");
    // Without the target a prediction-style read still works, and only it is missing here.
    let path2 = d.join("no-target.h5");
    write_file(&path2, |f| write_valid_except(f, TARGET, 40));
    let t = ClusterTable::read(&DataSource::file(&path2), &Schema::clusters(TargetPolicy::IfPresent)).unwrap();
    assert_eq!(t.len(), 40);
    assert!(read_error(&path2).contains("'cluster_ENG_CALIB_TOT'"));
}

#[test]
fn columns_of_unequal_length_are_refused_with_the_difference() {
    let d = temp_dir("unequal");
    let path = d.join("u.h5");
    write_file(&path, |f| {
        write_valid_except(f, "avgMu", 50);
        f.new_dataset::<f64>().shape([47]).create("avgMu").unwrap().write_raw(&[30.0; 47]).unwrap();
    });
    let msg = read_error(&path);
    assert!(
        msg.contains("u.h5") && msg.contains("'avgMu'") && msg.contains("47") && msg.contains("3 rows missing"),
        "{msg}"
    );
}

#[test]
fn non_finite_values_are_counted_and_located() {
    let d = temp_dir("nan");
    let path = d.join("n.h5");
    write_file(&path, |f| {
        write_valid_except(f, "cluster_time", 20);
        let mut v = vec![0.5; 20];
        v[4] = f64::NAN;
        v[9] = f64::INFINITY;
        v[11] = f64::NAN;
        f.new_dataset::<f64>().shape([20]).create("cluster_time").unwrap().write_raw(&v).unwrap();
    });
    let msg = read_error(&path);
    assert!(msg.contains("n.h5") && msg.contains("'cluster_time'") && msg.contains("3 of 20"), "{msg}");
    assert!(msg.contains("row 4"), "{msg}");
}

#[test]
fn wrong_types_are_refused_but_an_integer_vertex_count_is_accepted() {
    let d = temp_dir("dtype");
    let int_energy = d.join("int-energy.h5");
    write_file(&int_energy, |f| {
        write_valid_except(f, "clusterE", 10);
        f.new_dataset::<i32>().shape([10]).create("clusterE").unwrap().write_raw(&[1; 10]).unwrap();
    });
    let msg = read_error(&int_energy);
    assert!(msg.contains("'clusterE'") && msg.contains("32-bit integers") && msg.contains("all 10 rows"), "{msg}");

    let string_column = d.join("string.h5");
    write_file(&string_column, |f| {
        write_valid_except(f, "avgMu", 10);
        let v: Vec<hdf5::types::VarLenUnicode> = (0..10).map(|_| "x".parse().unwrap()).collect();
        f.new_dataset::<hdf5::types::VarLenUnicode>().shape([10]).create("avgMu").unwrap().write_raw(&v).unwrap();
        // A string dataset that is no feature is left out with a note, not an error.
        f.new_dataset::<hdf5::types::VarLenUnicode>().shape([10]).create("comment").unwrap().write_raw(&v).unwrap();
    });
    let msg = read_error(&string_column);
    assert!(msg.contains("'avgMu'") && msg.contains("not numbers"), "{msg}");

    let int_vertices = d.join("int-npv.h5");
    write_file(&int_vertices, |f| {
        write_valid_except(f, "nPrimVtx", 10);
        f.new_dataset::<i32>().shape([10]).create("nPrimVtx").unwrap().write_raw(&[12; 10]).unwrap();
        let v: Vec<hdf5::types::VarLenUnicode> = (0..10).map(|_| "x".parse().unwrap()).collect();
        f.new_dataset::<hdf5::types::VarLenUnicode>().shape([10]).create("comment").unwrap().write_raw(&v).unwrap();
    });
    let t = ClusterTable::read(&DataSource::file(&int_vertices), &Schema::clusters(TargetPolicy::Required)).unwrap();
    assert_eq!(t.column("nPrimVtx").unwrap()[0], 12.0);
    assert!(!t.has("comment") && t.notes.iter().any(|n| n.contains("'comment'")), "{:?}", t.notes);
}

#[test]
fn truncated_and_foreign_files_are_refused_by_name() {
    let d = temp_dir("truncated");
    let good = d.join("good.h5");
    valid_table(5000).write_hdf5(&good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let cut = d.join("cut.h5");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let msg = read_error(&cut);
    assert!(msg.contains("cut.h5"), "{msg}");
    let text = d.join("notes.txt");
    std::fs::write(&text, "clusterE,clusterEta\n1,2\n").unwrap();
    let msg = read_error(&text);
    assert!(msg.contains("notes.txt") && msg.contains("not a readable HDF5 file"), "{msg}");
    let msg = read_error(&d.join("absent.h5"));
    assert!(msg.contains("absent.h5") && msg.contains("no such file"), "{msg}");
}

#[test]
fn a_conversion_of_a_bad_file_leaves_no_output_behind() {
    let d = temp_dir("no-partial");
    let bad = d.join("bad.h5");
    write_file(&bad, |f| write_valid_except(f, "clusterEta", 10));
    let out = d.join("out.h5");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_calibration"))
        .args(["convert", "--quiet", "--data"])
        .arg(&bad)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!status.status.success());
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(stderr.contains("'clusterEta'") && !stderr.contains("panicked"), "{stderr}");
    assert!(!out.exists() && files_starting_with(&d, ".out.h5").is_empty());
}

#[test]
fn the_root_reader_gives_the_rows_uproot_wrote() {
    let h5 =
        ClusterTable::read(&DataSource::file(fixture("clusters_300.h5")), &Schema::clusters(TargetPolicy::Required))
            .unwrap();
    let arg = format!("{}:ClusterTree", fixture("clusters_300.root").display());
    let root =
        ClusterTable::read(&DataSource::parse(&arg).unwrap(), &Schema::clusters(TargetPolicy::Required)).unwrap();
    assert_eq!(root.len(), 300);
    for name in FEATURES {
        let (a, b) = (h5.column(name).unwrap(), root.column(name).unwrap());
        for i in 0..300 {
            // Stored as float32 (most), float64 (CENTER_MAG) or int32 (nPrimVtx) by the script.
            assert_eq!(a[i] as f32, b[i] as f32, "{name} row {i}");
        }
    }
    assert_eq!(h5.column(TARGET), root.column(TARGET), "the target is stored as double");
    assert_eq!(root.column("eventNumber").unwrap()[2], 1002.0, "an int64 branch is carried along");
    // The only tree is the default, and the file name alone works.
    let alone = ClusterTable::read(
        &DataSource::parse(fixture("clusters_300.root").to_str().unwrap()).unwrap(),
        &Schema::clusters(TargetPolicy::Required),
    )
    .unwrap();
    assert_eq!(alone.column("clusterE"), root.column("clusterE"));
}

#[test]
fn root_errors_name_the_file_and_the_trees() {
    let schema = Schema::columns(&["clusterE"]);
    let wrong = DataSource { path: fixture("clusters_300.root"), tree: Some("Clusters".into()) };
    let msg = ClusterTable::read(&wrong, &schema).unwrap_err().to_string();
    assert!(
        msg.contains("clusters_300.root") && msg.contains("no TTree 'Clusters'") && msg.contains("ClusterTree"),
        "{msg}"
    );
    let two = DataSource::file(fixture("two_trees.root"));
    let msg = ClusterTable::read(&two, &schema).unwrap_err().to_string();
    assert!(msg.contains("several TTrees (A, B)"), "{msg}");
    let b =
        ClusterTable::read(&DataSource::parse(&format!("{}:B", fixture("two_trees.root").display())).unwrap(), &schema)
            .unwrap();
    assert_eq!(b.len(), 10);
    let tree_b = DataSource { path: fixture("two_trees.root"), tree: Some("B".into()) };
    let msg = ClusterTable::read(&tree_b, &Schema::clusters(TargetPolicy::Required)).unwrap_err().to_string();
    assert!(msg.contains("branch 'clusterEta'") && msg.contains("all 10 rows"), "{msg}");
    // A file that is not ROOT given with a tree name, and a damaged ROOT file.
    let not_root = DataSource { path: fixture("clusters_300.h5"), tree: Some("ClusterTree".into()) };
    assert!(ClusterTable::read(&not_root, &schema).unwrap_err().to_string().contains("is not a ROOT file"));
    let d = temp_dir("root-damaged");
    let mut bytes = std::fs::read(fixture("clusters_300.root")).unwrap();
    let n = bytes.len();
    bytes[n - 12_000..n - 11_800].fill(0xff);
    let damaged = d.join("damaged.root");
    std::fs::write(&damaged, &bytes).unwrap();
    // oxyroot panics inside on this file; the reader turns that into an error naming it.
    let e = ClusterTable::read(&DataSource::file(&damaged), &Schema::clusters(TargetPolicy::Required)).unwrap_err();
    assert!(e.to_string().contains("damaged.root") && e.to_string().contains("damaged"), "{e}");
}

#[test]
fn the_cut_flow_counts_each_cut_in_order() {
    let mut t = valid_table(10);
    // Row 0: E_dep too low; row 1: lambda 0; row 2: R_EM < 0.1; row 3: both E_dep low and rho 0
    // (counted by the first cut only); row 4: significance negative.
    let set = |t: &mut ClusterTable, name: &str, row: usize, v: f64| {
        let mut c = t.column(name).unwrap().to_vec();
        c[row] = v;
        t.insert(name, c).unwrap();
    };
    set(&mut t, TARGET, 0, 0.2);
    set(&mut t, "cluster_CENTER_LAMBDA", 1, 0.0);
    set(&mut t, TARGET, 2, 50.0);
    set(&mut t, TARGET, 3, 0.1);
    set(&mut t, "cluster_FIRST_ENG_DENS", 3, 0.0);
    set(&mut t, "cluster_SIGNIFICANCE", 4, -1.0);
    let (sel, report) = apply_cuts(&t).unwrap();
    let removed: Vec<usize> = report.cuts.iter().map(|c| c.removed).collect();
    assert_eq!(removed, vec![2, 0, 1, 0, 0, 1, 1]);
    assert_eq!((report.input, report.passed, sel.len()), (10, 5, 5));
    assert_eq!(sel.input_index, vec![5, 6, 7, 8, 9]);
    assert!(report.target_cuts_applied);
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains("\"removed\":2"));

    t.remove(TARGET);
    let (sel, report) = apply_cuts(&t).unwrap();
    assert!(!report.target_cuts_applied && report.cuts.len() == 5);
    assert_eq!(sel.len(), 7, "only the feature cuts apply: rows 1, 3 and 4 go");
    assert!(report.summary().contains("were not applied"));
}

#[test]
fn reading_with_cuts_keeps_the_input_rows() {
    let (sel, report) = read_selected(&DataSource::file(fixture("clusters_300.h5")), TargetPolicy::Required).unwrap();
    assert_eq!(report.input, 300);
    assert_eq!(sel.len(), report.passed);
    assert!(sel.input_index.windows(2).all(|w| w[0] < w[1]) && *sel.input_index.last().unwrap() < 300);
    let full =
        ClusterTable::read(&DataSource::file(fixture("clusters_300.h5")), &Schema::columns(&["clusterE"])).unwrap();
    let e = full.column("clusterE").unwrap();
    for (k, &i) in sel.input_index.iter().enumerate() {
        assert_eq!(sel.column("clusterE").unwrap()[k], e[i as usize]);
    }
}
