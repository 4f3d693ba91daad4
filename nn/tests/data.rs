use autodiff::DType;
use nn::{Dataset, Standardizer, Transform};

#[test]
fn splits_are_seeded_disjoint_and_complete() {
    let n = 101;
    let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let d = Dataset::new(x.clone(), 1, x, 1).unwrap();
    let (a, b, c) = d.split(0.6, 0.2, 4).unwrap();
    assert_eq!((a.len(), b.len(), c.len()), (61, 20, 20));
    let mut all: Vec<f64> = [a.x.clone(), b.x.clone(), c.x.clone()].concat();
    all.sort_by(f64::total_cmp);
    assert_eq!(all, d.x);
    assert_eq!(d.split(0.6, 0.2, 4).unwrap().0, a);
    assert_ne!(d.split(0.6, 0.2, 5).unwrap().0, a);
}

#[test]
fn standardizer_uses_training_statistics_and_the_pre_transforms() {
    // Column 0 is log-transformed with a shift (its minimum is 0), column 1 cube-rooted.
    let x = vec![0.0, -8.0, 1.0, 1.0, 3.0, 27.0];
    let train = Dataset::new(x, 2, vec![0.0; 3], 1).unwrap();
    let s = Standardizer::fit(&train, &[Transform::Log, Transform::CubeRoot]).unwrap();
    let out = s.apply(&train).unwrap();
    for j in 0..2 {
        let col = out.column(j);
        let mean = col.iter().sum::<f64>() / 3.0;
        let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 3.0;
        assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-12, "column {j}: {col:?}");
    }
    let cube = [-2.0f64, 1.0, 3.0];
    let m = cube.iter().sum::<f64>() / 3.0;
    let sd = (cube.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 3.0).sqrt();
    assert!((out.column(1)[0] - (-2.0 - m) / sd).abs() < 1e-12);
    // Test data reuses the frozen statistics, even below the training minimum (clamped, finite).
    let test = Dataset::new(vec![-5.0, 0.0], 2, vec![0.0], 1).unwrap();
    assert!(s.apply(&test).unwrap().x.iter().all(|v| v.is_finite()));
}

#[test]
fn bad_input_is_an_error_naming_the_cell() {
    let e = Dataset::new(vec![1.0, f64::NAN, 3.0, 4.0], 2, vec![0.0, 1.0], 1).unwrap_err();
    assert!(e.to_string().contains("row 0, column 1"), "{e}");
    assert!(Dataset::new(vec![1.0; 5], 2, vec![0.0; 2], 1).is_err());
}

#[test]
fn batches_cover_the_data_once_in_a_seeded_order() {
    let dev = backend_cpu::device();
    let n = 10;
    let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let d = Dataset::new(x.clone(), 1, x, 1).unwrap();
    let mut rng = autodiff::Rng::new(1);
    let batches = d.batches(4, Some(&mut rng), false, DType::F64, &dev);
    assert_eq!(batches.count(), 3);
    let mut seen = vec![];
    for b in d.batches(4, Some(&mut autodiff::Rng::new(1)), false, DType::F64, &dev) {
        let (x, y) = b.unwrap();
        assert_eq!(x.to_vec_f64().unwrap(), y.to_vec_f64().unwrap());
        seen.extend(x.to_vec_f64().unwrap());
    }
    assert_ne!(seen, (0..n).map(|i| i as f64).collect::<Vec<_>>(), "shuffled");
    seen.sort_by(f64::total_cmp);
    assert_eq!(seen, (0..n).map(|i| i as f64).collect::<Vec<_>>());
    assert_eq!(d.batches(4, None, true, DType::F64, &dev).count(), 2);
}
