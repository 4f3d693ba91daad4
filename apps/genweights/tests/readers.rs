//! Every reader on small files of its layout (written by hand, by pandas, and by our writers),
//! the detection, and bad files of each kind, whose messages must name the file and the dataset.

mod common;
use common::{dataset, dir, fixture, names};
use genweights::io::{
    read_exact_log_w, read_pair, read_sample, write_sample, Kind, NonFinite, Precision, ReadOptions, Sample,
};

fn read(path: &std::path::Path) -> genweights::Result<Sample> {
    read_sample(path, &ReadOptions::default())
}

fn calo_file(path: &std::path::Path, n: usize, f32: bool, tweak: impl FnOnce(&hdf5::File)) {
    let f = nn::io::create_h5(path).unwrap();
    dataset(&f, "energy", &[n, 1], &(0..n).map(|i| 10.0 + i as f64).collect::<Vec<_>>(), f32);
    for (k, (a, b)) in [(3, 96), (12, 12), (12, 6)].into_iter().enumerate() {
        let v: Vec<f64> = (0..n * a * b).map(|i| (i % 7) as f64).collect();
        dataset(&f, &format!("layer_{k}"), &[n, a, b], &v, f32);
    }
    dataset(&f, "overflow", &[n, 3], &vec![0.0; n * 3], f32);
    tweak(&f);
}

fn jet_file(path: &std::path::Path, n: usize, tweak: impl FnOnce(&hdf5::File)) {
    let f = nn::io::create_h5(path).unwrap();
    let mut pf = vec![0.0; n * 30 * 4];
    for i in 0..n {
        for (p, c) in [(0usize, [0.1, 0.0, 0.6, 1.0]), (1, [-0.15, 0.0, 0.4, 1.0])] {
            pf[(i * 30 + p) * 4..(i * 30 + p) * 4 + 4].copy_from_slice(&c);
        }
    }
    dataset(&f, "particle_features", &[n, 30, 4], &pf, true);
    let jf: Vec<f64> = (0..n).flat_map(|_| [1000.0, 0.5, 120.0, 2.0]).collect();
    dataset(&f, "jet_features", &[n, 4], &jf, true);
    tweak(&f);
}

#[test]
fn calo_files_read_in_f32_and_f64_with_optional_log_p() {
    let d = dir("calo");
    for f32 in [true, false] {
        let p = d.join(format!("calo{f32}.h5"));
        calo_file(&p, 3, f32, |f| dataset(f, "log_p", &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], false));
        let Sample::Showers(s) = read(&p).unwrap() else { panic!("not showers") };
        assert_eq!((s.n, s.energy[2], s.layer(1, 0)[1]), (3, 12.0, ((288 + 1) % 7) as f64));
        assert_eq!(s.log_p.unwrap().draws, 2);
    }
}

#[test]
fn bad_calo_files_name_the_file_and_the_dataset() {
    let d = dir("bad-calo");
    let p = d.join("shape.h5");
    calo_file(&p, 3, true, |f| {
        f.unlink("layer_2").unwrap();
        dataset(f, "layer_2", &[3, 6, 12], &[0.0; 216], true);
    });
    let e = read(&p).unwrap_err();
    names(&e, &p, "dataset 'layer_2'");
    assert!(e.to_string().contains("expected [3, 12, 6]"), "{e}");

    let p = d.join("nan.h5");
    calo_file(&p, 3, false, |f| {
        f.unlink("layer_1").unwrap();
        let mut v = vec![1.0; 3 * 144];
        v[200] = f64::NAN;
        dataset(f, "layer_1", &[3, 12, 12], &v, false);
    });
    let e = read(&p).unwrap_err();
    names(&e, &p, "dataset 'layer_1'");
    assert!(e.to_string().contains("not finite"), "{e}");

    let p = d.join("partial.h5");
    calo_file(&p, 3, true, |f| f.unlink("overflow").unwrap());
    let e = read(&p).unwrap_err();
    names(&e, &p, "dataset 'overflow'");
    assert!(e.to_string().contains("CaloGAN"), "{e}");

    let p = d.join("logp.h5");
    calo_file(&p, 3, true, |f| dataset(f, "log_p", &[2, 4], &[0.0; 8], false));
    names(&read(&p).unwrap_err(), &p, "dataset 'log_p'");

    let p = d.join("ints.h5");
    calo_file(&p, 2, true, |f| {
        f.unlink("energy").unwrap();
        f.new_dataset::<i32>().shape([2, 1]).create("energy").unwrap().write_raw(&[1, 2]).unwrap();
    });
    let e = read(&p).unwrap_err();
    names(&e, &p, "dataset 'energy'");
    assert!(e.to_string().contains("integers"), "{e}");
}

#[test]
fn jet_files_read_and_bad_ones_are_refused() {
    let d = dir("jets");
    let p = d.join("jets.h5");
    jet_file(&p, 4, |_| {});
    let Sample::Jets(j) = read(&p).unwrap() else { panic!("not jets") };
    assert_eq!((j.n, j.particles_per_jet, j.particle(3, 1)[0]), (4, 30, -0.15f32 as f64));

    let p = d.join("mask.h5");
    jet_file(&p, 2, |f| {
        f.unlink("particle_features").unwrap();
        let mut v = vec![0.0; 2 * 30 * 4];
        v[3] = 0.5;
        dataset(f, "particle_features", &[2, 30, 4], &v, true);
    });
    let e = read(&p).unwrap_err();
    names(&e, &p, "dataset 'particle_features'");
    assert!(e.to_string().contains("mask"), "{e}");

    let p = d.join("rows.h5");
    jet_file(&p, 3, |f| {
        f.unlink("jet_features").unwrap();
        dataset(f, "jet_features", &[2, 4], &[1.0; 8], true);
    });
    let e = read(&p).unwrap_err();
    names(&e, &p, "dataset 'jet_features'");
    assert!(e.to_string().contains("[3, 4]"), "{e}");

    let p = d.join("lonely.h5");
    let f = nn::io::create_h5(&p).unwrap();
    dataset(&f, "jet_features", &[2, 4], &[1.0; 8], true);
    drop(f);
    names(&read(&p).unwrap_err(), &p, "dataset 'particle_features'");
}

#[test]
fn the_pandas_fixed_fixture_reads_with_both_blocks_and_drops_the_nan_row() {
    let p = fixture("events_fixed.h5");
    let Sample::Events(e) = read(&p).unwrap() else { panic!("not events") };
    let expected: Vec<Vec<f64>> = std::fs::read_to_string(fixture("events_fixed_values.txt"))
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!((e.n, e.width(), e.dropped_non_finite), (11, 21, 1));
    assert_eq!(e.source_rows, vec![0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert_eq!(e.columns[20], "20");
    for (k, &r) in e.source_rows.iter().enumerate() {
        assert_eq!(&e.row(k)[..20], &expected[r][..], "row {r}");
        assert_eq!(e.row(k)[20], 10.0 * r as f64, "the int64 block, row {r}");
    }
    // The exact weights follow the kept rows.
    let w = read_exact_log_w(&p, &Sample::Events(e.clone())).unwrap().unwrap();
    assert_eq!(w.len(), 11);
    assert!((w[3] - (-1.0 + 2.0 * 4.0 / 11.0)).abs() < 1e-12);
    // Refusing instead names the row and the column.
    let e = read_sample(&p, &ReadOptions { events_non_finite: NonFinite::Refuse, ..Default::default() }).unwrap_err();
    names(&e, &p, "group '/events'");
    assert!(e.to_string().contains("row 3, column '5'"), "{e}");
}

#[test]
fn the_pandas_string_label_fixture_reads_as_float32() {
    let p = fixture("events_strings.h5");
    let Sample::Events(e) = read(&p).unwrap() else { panic!("not events") };
    assert_eq!((e.n, e.columns[0].as_str(), e.columns[19].as_str()), (12, "E_mu1", "pz_j3"));
    let first: Vec<f64> = std::fs::read_to_string(fixture("events_fixed_values.txt"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse::<f64>().unwrap() as f32 as f64)
        .collect();
    assert_eq!(&e.row(0)[..20], &first[..]);
    // Forced as a table, every column is a feature, named by its label.
    let Sample::Table(t) = read_sample(&p, &ReadOptions { kind: Some(Kind::Table), ..Default::default() }).unwrap()
    else {
        panic!("not a table")
    };
    assert_eq!((t.n, t.columns.len(), t.columns[4].as_str()), (12, 20, "E_mu2"));
}

#[test]
fn the_pandas_table_format_is_detected_and_refused_with_a_way_out() {
    let p = fixture("events_table.h5");
    let e = read(&p).unwrap_err();
    names(&e, &p, "group '/events'");
    assert!(e.to_string().contains("format=\"fixed\"") && e.to_string().contains("frame_table"), "{e}");
}

#[test]
fn bad_pandas_files_name_the_file_and_the_dataset() {
    let d = dir("bad-pandas");
    // Too few columns: a Rust-written frame of 20 columns read back, then one with 3.
    let narrow = genweights::io::Events::new(vec![1.0; 40], vec![], vec![]);
    let p = d.join("ok.h5");
    write_sample(&p, &Sample::Events(narrow), None, Precision::F64).unwrap();
    assert_eq!(read(&p).unwrap().len(), 2);

    // A frame with 3 columns, written as pandas' layout by hand.
    let p = d.join("narrow.h5");
    let f = nn::io::create_h5(&p).unwrap();
    let g = f.create_group("df").unwrap();
    let s: hdf5::types::VarLenUnicode = "frame".parse().unwrap();
    g.new_attr::<hdf5::types::VarLenUnicode>().create("pandas_type").unwrap().write_scalar(&s).unwrap();
    g.new_attr::<i64>().create("nblocks").unwrap().write_scalar(&1).unwrap();
    g.new_dataset::<i64>().shape([3]).create("axis0").unwrap().write_raw(&[0i64, 1, 2]).unwrap();
    g.new_dataset::<i64>().shape([2]).create("axis1").unwrap().write_raw(&[0i64, 1]).unwrap();
    g.new_dataset::<i64>().shape([3]).create("block0_items").unwrap().write_raw(&[0i64, 1, 2]).unwrap();
    g.new_dataset::<f64>().shape([2, 3]).create("block0_values").unwrap().write_raw(&[1.0; 6]).unwrap();
    drop(f);
    let e = read(&p).unwrap_err();
    names(&e, &p, "dataset 'df/axis0'");
    assert!(e.to_string().contains("at least 20"), "{e}");

    // A block whose shape fits neither orientation.
    let p = d.join("shape.h5");
    let f = nn::io::create_h5(&p).unwrap();
    let g = f.create_group("df").unwrap();
    g.new_attr::<hdf5::types::VarLenUnicode>().create("pandas_type").unwrap().write_scalar(&s).unwrap();
    g.new_attr::<i64>().create("nblocks").unwrap().write_scalar(&1).unwrap();
    let labels: Vec<i64> = (0..20).collect();
    g.new_dataset::<i64>().shape([20]).create("axis0").unwrap().write_raw(&labels).unwrap();
    g.new_dataset::<i64>().shape([4]).create("axis1").unwrap().write_raw(&[0i64, 1, 2, 3]).unwrap();
    g.new_dataset::<i64>().shape([20]).create("block0_items").unwrap().write_raw(&labels).unwrap();
    g.new_dataset::<f64>().shape([3, 20]).create("block0_values").unwrap().write_raw(&[1.0; 60]).unwrap();
    drop(f);
    let e = read(&p).unwrap_err();
    names(&e, &p, "dataset 'df/block0_values'");
    assert!(e.to_string().contains("expected (4, 20)"), "{e}");
}

#[test]
fn tables_read_with_and_without_column_names() {
    let d = dir("table");
    let p = d.join("t.h5");
    let f = nn::io::create_h5(&p).unwrap();
    dataset(&f, "features", &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], true);
    let s: hdf5::types::VarLenUnicode = "x, y,z".parse().unwrap();
    f.dataset("features")
        .unwrap()
        .new_attr::<hdf5::types::VarLenUnicode>()
        .create("columns")
        .unwrap()
        .write_scalar(&s)
        .unwrap();
    drop(f);
    let Sample::Table(t) = read(&p).unwrap() else { panic!("not a table") };
    assert_eq!((t.columns, t.values[5]), (vec!["x".to_string(), "y".into(), "z".into()], 6.0));

    let p = d.join("plain.h5");
    let f = nn::io::create_h5(&p).unwrap();
    dataset(&f, "features", &[2, 2], &[1.0, 2.0, 3.0, 4.0], false);
    drop(f);
    let Sample::Table(t) = read(&p).unwrap() else { panic!("not a table") };
    assert_eq!(t.columns, vec!["x0", "x1"]);

    let p = d.join("cols.h5");
    let f = nn::io::create_h5(&p).unwrap();
    dataset(&f, "features", &[2, 2], &[1.0, 2.0, 3.0, 4.0], false);
    let s: hdf5::types::VarLenUnicode = "a,b,c".parse().unwrap();
    f.dataset("features")
        .unwrap()
        .new_attr::<hdf5::types::VarLenUnicode>()
        .create("columns")
        .unwrap()
        .write_scalar(&s)
        .unwrap();
    drop(f);
    let e = read(&p).unwrap_err();
    names(&e, &p, "attribute 'columns' of 'features'");

    let p = d.join("1d.h5");
    let f = nn::io::create_h5(&p).unwrap();
    dataset(&f, "features", &[4], &[1.0, 2.0, 3.0, 4.0], false);
    drop(f);
    let e = read(&p).unwrap_err();
    names(&e, &p, "dataset 'features'");
    assert!(e.to_string().contains("(N, D)"), "{e}");
}

#[test]
fn unknown_layouts_and_non_hdf5_files_are_refused_without_panicking() {
    let d = dir("unknown");
    let p = d.join("other.h5");
    let f = nn::io::create_h5(&p).unwrap();
    dataset(&f, "something", &[2], &[1.0, 2.0], false);
    drop(f);
    let e = read(&p).unwrap_err();
    names(&e, &p, "something");
    assert!(e.to_string().contains("none of the known layouts"), "{e}");

    let p = d.join("text.h5");
    std::fs::write(&p, "not hdf5").unwrap();
    names(&read(&p).unwrap_err(), &p, "not a readable HDF5 file");
    names(&read(&d).unwrap_err(), &d, "directory");
    // Forcing a kind the file is not names the dataset that kind needs.
    let p = d.join("jets.h5");
    jet_file(&p, 2, |_| {});
    let e = read_sample(&p, &ReadOptions { kind: Some(Kind::Calo), ..Default::default() }).unwrap_err();
    names(&e, &p, "dataset 'energy'");
}

#[test]
fn detection_finds_each_layout() {
    let d = dir("detect");
    let (c, j) = (d.join("c.h5"), d.join("j.h5"));
    calo_file(&c, 2, true, |_| {});
    jet_file(&j, 2, |_| {});
    for (p, kind) in [(c, Kind::Calo), (j, Kind::Jets), (fixture("events_fixed.h5"), Kind::Events)] {
        let f = nn::io::H5File::open(&p).unwrap();
        assert_eq!(genweights::io::detect(&f).unwrap(), kind, "{}", p.display());
    }
}

#[test]
fn pairs_of_different_kinds_or_shapes_are_refused_naming_both() {
    let d = dir("pairs");
    let (c, j) = (d.join("c.h5"), d.join("j.h5"));
    calo_file(&c, 2, true, |_| {});
    jet_file(&j, 2, |_| {});
    let e = read_pair(&c, &j, &ReadOptions::default()).unwrap_err().to_string();
    assert!(
        e.contains("c.h5") && e.contains("j.h5") && e.contains("layer_0 3x96") && e.contains("particle_features 30x4"),
        "{e}"
    );
    let (a, b) = (d.join("a.h5"), d.join("b.h5"));
    for (p, dcols) in [(&a, 3usize), (&b, 4)] {
        let t = genweights::io::Table {
            n: 2,
            columns: (0..dcols).map(|i| format!("c{i}")).collect(),
            values: vec![0.5; 2 * dcols],
        };
        write_sample(p, &Sample::Table(t), None, Precision::F64).unwrap();
    }
    let bad = genweights::io::Table { n: 1, columns: vec!["a,b".into()], values: vec![0.0] };
    names(
        &write_sample(&d.join("bad.h5"), &Sample::Table(bad), None, Precision::F64).unwrap_err(),
        &d.join("bad.h5"),
        "comma",
    );
    let e = read_pair(&a, &b, &ReadOptions::default()).unwrap_err().to_string();
    assert!(e.contains("3 features") && e.contains("4 features"), "{e}");
    assert!(read_pair(&a, &a, &ReadOptions::default()).is_ok());
}

#[test]
fn every_writer_round_trips_with_its_exact_weights() {
    let d = dir("round-trip");
    let toys =
        [genweights::generator::Case::Smeared, genweights::generator::Case::Noise, genweights::generator::Case::Binn];
    for case in toys {
        let toy = genweights::generator::generate(case, 50, 9, &indicatif::ProgressBar::hidden()).unwrap();
        let p = d.join(format!("{case}.h5"));
        write_sample(&p, &toy.generated, Some(&toy.generated_log_w), Precision::F64).unwrap();
        let back = read(&p).unwrap();
        assert_eq!(back, toy.generated, "{case}");
        assert_eq!(read_exact_log_w(&p, &back).unwrap().unwrap(), toy.generated_log_w, "{case}");
    }
    // Strings as labels survive too.
    let Sample::Events(e) = read(&fixture("events_strings.h5")).unwrap() else { panic!() };
    let p = d.join("strings.h5");
    write_sample(&p, &Sample::Events(e.clone()), None, Precision::F64).unwrap();
    assert_eq!(read(&p).unwrap(), Sample::Events(e));
    // The f32 writers round to f32.
    let toy =
        genweights::generator::generate(genweights::generator::Case::Smeared, 5, 9, &indicatif::ProgressBar::hidden())
            .unwrap();
    let p = d.join("f32.h5");
    write_sample(&p, &toy.truth, None, Precision::F32).unwrap();
    let (Sample::Jets(a), Sample::Jets(b)) = (read(&p).unwrap(), toy.truth) else { panic!() };
    assert_eq!(a.particles[2], b.particles[2] as f32 as f64);
    assert_eq!(a.jets, b.jets);
    assert!(!p.with_file_name(".f32.h5.tmp").exists());
}
