use autodiff::DType;
use nn::{Batch, BatchSource, Dataset, Standardizer, Transform, TwoSample};

#[test]
fn splits_are_seeded_disjoint_and_complete() {
    let n = 101;
    let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let d = Dataset::new(x.clone(), 1, x, 1).unwrap();
    let (a, b, c) = d.split(0.6, 0.2, 4).unwrap();
    assert_eq!((a.len(), b.len(), c.len()), (61, 20, 20));
    let mut all: Vec<f64> = [a.x(), b.x(), c.x()].concat();
    all.sort_by(f64::total_cmp);
    assert_eq!(all, d.x());
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
    assert!(s.apply(&test).unwrap().x().iter().all(|v| v.is_finite()));
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
        let Batch { x, y, w } = b.unwrap();
        assert!(w.is_none());
        assert_eq!(y.rank(), 1, "one target column comes as [b], as the losses want it");
        assert_eq!(x.to_vec_f64().unwrap(), y.to_vec_f64().unwrap());
        seen.extend(x.to_vec_f64().unwrap());
    }
    assert_ne!(seen, (0..n).map(|i| i as f64).collect::<Vec<_>>(), "shuffled");
    seen.sort_by(f64::total_cmp);
    assert_eq!(seen, (0..n).map(|i| i as f64).collect::<Vec<_>>());
    assert_eq!(d.batches(4, None, true, DType::F64, &dev).count(), 2);
}

#[test]
fn standardizer_transforms_raw_rows_and_inverts_them_and_scales_targets() {
    let x = vec![0.5, -8.0, 1.0, 1.0, 3.0, 27.0, 7.0, 0.1];
    let y = vec![10.0, 12.0, 14.0, 16.0];
    let train = Dataset::new(x.clone(), 2, y.clone(), 1).unwrap();
    let s =
        Standardizer::fit(&train, &[Transform::Log, Transform::CubeRoot]).unwrap().with_target_scaling(&train).unwrap();
    let z = s.transform_rows(&x).unwrap();
    assert_eq!(z, s.apply(&train).unwrap().x().to_vec());
    let back = s.inverse_rows(&z).unwrap();
    assert!(back.iter().zip(&x).all(|(a, b)| (a - b).abs() < 1e-9), "{back:?}");
    let ys = s.scale_targets(&y).unwrap();
    let mean = ys.iter().sum::<f64>() / 4.0;
    assert!(mean.abs() < 1e-12);
    assert_eq!(s.unscale_targets(&ys).unwrap(), y);
    let std = (ys.iter().map(|v| v * v).sum::<f64>() / 4.0).sqrt();
    assert!((std - 1.0).abs() < 1e-12);
    let sd_y = (y.iter().map(|v| (v - 13.0).powi(2)).sum::<f64>() / 4.0).sqrt();
    assert!((s.unscale_sigma(&[1.0]).unwrap()[0] - sd_y).abs() < 1e-12);
    // A row count that does not fit, or a value the transform cannot map, is an error.
    assert!(s.transform_rows(&[1.0, 2.0, 3.0]).is_err());
    let e = s.transform_rows(&[f64::INFINITY, 1.0]).unwrap_err();
    assert!(e.to_string().contains("row 0, column 0"), "{e}");
    // A standardizer read from a file is checked before use.
    let mut broken = s.clone();
    broken.transforms.pop();
    assert!(broken.validate().is_err());
    let mut zero = s.clone();
    zero.std[0] = 0.0;
    assert!(zero.validate().is_err());
    assert!(s.validate().is_ok());
}

#[test]
fn weights_are_checked_and_travel_with_the_rows() {
    let dev = backend_cpu::device();
    let d = Dataset::new(vec![1.0, 2.0, 3.0], 1, vec![0.0; 3], 1).unwrap();
    assert!(d.clone().with_weights(vec![1.0, -1.0, 1.0]).unwrap_err().to_string().contains("row 1"));
    assert!(d.clone().with_weights(vec![1.0, 1.0]).is_err());
    assert!(d.clone().with_weights(vec![0.0; 3]).is_err());
    let w = d.with_weights(vec![1.0, 2.0, 3.0]).unwrap();
    assert_eq!(w.subset(&[2, 0]).weights(), Some(&[3.0, 1.0][..]));
    let b = w.to_batch(DType::F64, &dev).unwrap();
    assert_eq!(b.w.unwrap().to_vec_f64().unwrap(), vec![1.0, 2.0, 3.0]);
}

#[test]
fn two_sample_batches_hold_equal_numbers_of_each_sample_with_labels() {
    let dev = backend_cpu::device();
    let truth = Dataset::new((0..10).map(|i| i as f64).collect(), 1, vec![0.0; 10], 1).unwrap();
    let generated = Dataset::new((100..107).map(|i| i as f64).collect(), 1, vec![0.0; 7], 1).unwrap();
    let two = TwoSample::new(truth, generated.clone()).unwrap();
    assert_eq!(two.len(), 17);
    assert_eq!(two.steps(3, true), 2, "an epoch ends with the smaller sample; the last short batch is dropped");
    let mut rng = autodiff::Rng::new(2);
    let batches: Vec<Batch> = two.epoch(3, Some(&mut rng), true, DType::F64, &dev).map(|b| b.unwrap()).collect();
    assert_eq!(batches.len(), 2);
    for b in &batches {
        let (x, y) = (b.x.to_vec_f64().unwrap(), b.y.to_vec_f64().unwrap());
        assert_eq!(y, vec![1.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        assert!(x[..3].iter().all(|&v| v < 10.0) && x[3..].iter().all(|&v| v >= 100.0), "{x:?}");
    }
    // Event weights are scaled so that each half of a batch carries the same total weight.
    let weighted = generated.with_weights(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]).unwrap();
    let truth = Dataset::new(vec![0.0; 4], 1, vec![0.0; 4], 1).unwrap();
    let two = TwoSample::new(truth, weighted).unwrap();
    let b = two.epoch(4, None, true, DType::F64, &dev).next().unwrap().unwrap();
    let w = b.w.unwrap().to_vec_f64().unwrap();
    let (t, g): (f64, f64) = (w[..4].iter().sum(), w[4..].iter().sum());
    assert!((t - 4.0).abs() < 1e-12 && (g - 4.0).abs() < 1e-12, "{w:?}");
    let other = Dataset::new(vec![0.0; 4], 2, vec![0.0; 2], 1).unwrap();
    assert!(TwoSample::new(other, Dataset::new(vec![0.0; 3], 1, vec![0.0; 3], 1).unwrap()).is_err());
}
