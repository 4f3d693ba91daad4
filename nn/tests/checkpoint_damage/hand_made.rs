//! Checkpoints edited case by case through the HDF5 library: wrong dtypes and shapes, sizes
//! claimed beyond the file, missing and extra items, attributes of the wrong type or value,
//! values no network should hold, datasets never written.

use super::*;

/// The MLP fixture's first weight matrix and the Adam state of its first two matrices, which
/// most cases edit.
pub struct MlpWeights {
    /// The weight matrix's dataset, its values (also in f32), shape and size.
    pub p: String,
    pub w: Vec<f64>,
    pub shape: Vec<usize>,
    pub w32: Vec<f32>,
    pub numel: usize,
    /// Adam's first moment of the first matrix and second moment of the second.
    pub opt_m: String,
    pub opt_v: String,
    /// The second matrix's Adam second moment, in f32, and its shape.
    pub v32: Vec<f32>,
    pub vshape: Vec<usize>,
}

impl MlpWeights {
    pub fn read() -> MlpWeights {
        let p = weight_param(Fx::MlpLast);
        let (w, shape) = values(Fx::MlpLast, &p);
        let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
        let numel = w.len();
        let mats: Vec<String> =
            members(Fx::MlpLast, "params").into_iter().filter(|n| values(Fx::MlpLast, n).1.len() == 2).collect();
        let opt_m = mats[0].replace("params/", "optimizer/adam.m.");
        let opt_v = mats[1].replace("params/", "optimizer/adam.v.");
        let (v, vshape) = values(Fx::MlpLast, &opt_v);
        let v32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        MlpWeights { p, w, shape, w32, numel, opt_m, opt_v, v32, vshape }
    }
}

pub fn hand_made(cases: &mut Cases) {
    let mlp = MlpWeights::read();
    wrong_dtypes(cases, &mlp);
    wrong_shapes(cases, &mlp);
    huge_shape_claims(cases, &mlp);
    missing_and_extra_datasets(cases, &mlp);
    annotations_and_the_optimizer_group(cases);
    missing_attributes(cases);
    attributes_of_the_wrong_type(cases);
    contradicting_values(cases);
    harmless_type_variants(cases, &mlp);
    absurd_values(cases, &mlp);
    never_written(cases, &mlp);
}

/// Float data stored as integers, booleans or strings; and the one dtype change that is no damage.
fn wrong_dtypes(cases: &mut Cases, mlp: &MlpWeights) {
    use LoadMode::*;
    let MlpWeights { p, w, shape, opt_m, .. } = mlp;
    let numel = mlp.numel;
    // Wrong dtypes where float data belongs.
    let k = "wrong dtype";
    let ints: Vec<i32> = (0..numel as i32).collect();
    cases.edited(k, "int32 weights", Fx::MlpLast, &[NoOpt, LoadModel], Expect::Error, &[p], |f| {
        replace(f, p, shape, &ints, true)
    });
    let longs: Vec<i64> = vec![1; numel];
    cases.edited(k, "int64 optimizer state", Fx::MlpLast, &[SteppedOpt, FreshOpt], Expect::Error, &[opt_m], |f| {
        replace(f, opt_m, shape, &longs, false)
    });
    let bools: Vec<bool> = (0..numel).map(|i| i % 2 == 0).collect();
    cases.edited(k, "bool (an HDF5 enum) weights", Fx::MlpLast, &[NoOpt, LoadModel], Expect::Error, &[p], |f| {
        replace(f, p, shape, &bools, false)
    });
    let strs: Vec<VarLenUnicode> = (0..numel).map(|i| i.to_string().parse().unwrap()).collect();
    cases.edited(k, "variable-length strings as weights", Fx::MlpLast, &[NoOpt, LoadModel], Expect::Error, &[p], |f| {
        replace(f, p, shape, &strs, false)
    });
    let fixed: Vec<FixedAscii<8>> = (0..numel).map(|i| FixedAscii::from_ascii(&i.to_string()).unwrap()).collect();
    cases.edited(k, "fixed-length strings as weights", Fx::MlpLast, &[NoOpt, LoadModel], Expect::Error, &[p], |f| {
        replace(f, p, shape, &fixed, false)
    });
    let bnn_p = first_param(Fx::Bnn);
    let (bw, bshape) = values(Fx::Bnn, &bnn_p);
    let bu8: Vec<u8> = bw.iter().map(|_| 1).collect();
    cases.edited(k, "uint8 BNN weights", Fx::Bnn, &[SteppedOpt, LoadModel], Expect::Error, &[&bnn_p], |f| {
        replace(f, &bnn_p, &bshape, &bu8, true)
    });
    // Only the model's dtype decides: an f64 dataset of an f32 model whose values fit is a
    // conversion, not damage.
    cases.edited(k, "float64 weights in a float32 checkpoint", Fx::MlpLast, &[NoOpt], Expect::Identical, &[], |f| {
        replace(f, p, shape, w, true)
    });
}

/// Datasets of the wrong shape.
fn wrong_shapes(cases: &mut Cases, mlp: &MlpWeights) {
    use LoadMode::*;
    let MlpWeights { p, shape, w32, opt_m, opt_v, v32, vshape, .. } = mlp;
    let numel = mlp.numel;
    // Wrong shapes.
    let k = "wrong shape";
    let t = [shape[1], shape[0]];
    cases.edited(k, "weights transposed", Fx::MlpLast, &[NoOpt, LoadModel], Expect::Error, &[p], |f| {
        replace(f, p, &t, w32, true)
    });
    cases.edited(k, "weights flattened", Fx::MlpLast, &[NoOpt], Expect::Error, &[p], |f| {
        replace(f, p, &[numel], w32, true)
    });
    cases.edited(k, "weights with an extra axis", Fx::MlpLast, &[NoOpt], Expect::Error, &[p], |f| {
        replace(f, p, &[1, shape[0], shape[1]], w32, true)
    });
    cases.edited(k, "a scalar where a vector belongs", Fx::Ensemble, &[NoOpt, LoadModel], Expect::Error, &[], |f| {
        let q = first_param(Fx::Ensemble);
        replace(f, &q, &[], &[1.0f64], false)
    });
    cases.edited(k, "optimizer state flattened", Fx::MlpLast, &[SteppedOpt, FreshOpt], Expect::Error, &[opt_v], |f| {
        replace(f, opt_v, &[v32.len()], v32, true)
    });
    cases.edited(
        k,
        "optimizer state of another parameter's shape",
        Fx::MlpLast,
        &[SteppedOpt],
        Expect::Error,
        &[opt_m],
        |f| replace(f, opt_m, vshape, v32, true),
    );
}

/// Shapes and a model description that claim far more than the file holds.
fn huge_shape_claims(cases: &mut Cases, mlp: &MlpWeights) {
    use LoadMode::*;
    let MlpWeights { p, shape, .. } = mlp;
    // Shapes that claim far more than the file holds: a chunked dataset whose one written chunk
    // is all it stores. Reading it by its shape would allocate the claim.
    let k = "huge shape claim";
    // A resizable dataset written at its small size, then grown: it stores one chunk.
    let huge = |f: &hdf5::File, full: &str, small: &[usize], claim: &[usize]| -> hdf5::Result<()> {
        let (g, n) = full.split_once('/').unwrap();
        let group = f.group(g)?;
        if group.link_exists(n) {
            group.unlink(n)?;
        }
        let extents = hdf5::SimpleExtents::resizable(small.to_vec());
        let ds = group.new_dataset::<f32>().shape(extents).chunk(small.to_vec()).fletcher32().create(n)?;
        ds.write_raw(&vec![0.5f32; small.iter().product()])?;
        ds.resize(claim.to_vec())
    };
    let vec_p = members(Fx::MlpFreshOpt, "params").into_iter().find(|n| n.ends_with("bias")).unwrap();
    cases.edited(
        k,
        "a bias claiming 2^36 floats",
        Fx::MlpFreshOpt,
        &[FreshOpt, LoadModel],
        Expect::Error,
        &[&vec_p],
        |f| huge(f, &vec_p, &[8], &[1 << 36]),
    );
    let bias_m = vec_p.replace("params/", "optimizer/adam.m.");
    cases.edited(
        k,
        "optimizer state claiming 2^36 floats (fresh Adam)",
        Fx::MlpLast,
        &[FreshOpt, SteppedOpt],
        Expect::Error,
        &[&bias_m],
        |f| huge(f, &bias_m, &[8], &[1 << 36]),
    );
    cases.edited(
        k,
        "an extra optimizer dataset claiming 2^36 floats",
        Fx::MlpFreshOpt,
        &[FreshOpt],
        Expect::Error,
        &["optimizer/adam.m.extra"],
        |f| huge(f, "optimizer/adam.m.extra", &[64], &[1 << 36]),
    );
    cases.edited(k, "a 2-D weight claiming 2^20 x 2^20", Fx::MlpLast, &[NoOpt, LoadModel], Expect::Error, &[p], |f| {
        huge(f, p, shape, &[1 << 20, 1 << 20])
    });
    // The model description claims a network far larger than the file stores.
    let spec = read_str(&Fx::MlpBest.path(), "model");
    let big = spec.replacen("[8,8]", "[200000000,8]", 1);
    assert_ne!(big, spec, "the model attribute changed its layout: {spec}");
    cases.edited(
        k,
        "model attribute claiming 2e9 weights",
        Fx::MlpBest,
        &[LoadModel, NoOpt, Header],
        Expect::Error,
        &["model"],
        |f| set_str(f, "model", &big),
    );
}

/// Parameters and optimizer state missing or added.
fn missing_and_extra_datasets(cases: &mut Cases, mlp: &MlpWeights) {
    use LoadMode::*;
    let MlpWeights { p, opt_m, .. } = mlp;
    // Missing and extra datasets.
    for fx in [Fx::MlpLast, Fx::Bnn] {
        let mut names = members(fx, "params");
        names.extend(members(fx, "optimizer"));
        for full in names {
            let kind = if full.starts_with("optimizer/adam.v.") { "missing adam.v.<param>" } else { "missing dataset" };
            let modes: &[LoadMode] =
                if full.starts_with("optimizer/") { &[SteppedOpt, FreshOpt] } else { &[SteppedOpt, LoadModel] };
            let (g, n) = full.split_once('/').unwrap();
            let (g, n) = (g.to_string(), n.to_string());
            cases.edited(kind, &format!("{} without {full}", fx.name()), fx, modes, Expect::Error, &[&full], |f| {
                f.group(&g)?.unlink(&n)
            });
        }
    }
    let k = "extra dataset";
    cases.edited(
        k,
        "an extra parameter",
        Fx::MlpLast,
        &[NoOpt, LoadModel],
        Expect::Error,
        &["params/layers.9.weight"],
        |f| replace(f, "params/layers.9.weight", &[2], &[1.0f32, 2.0], true),
    );
    cases.edited(k, "an extra optimizer tensor", Fx::Bnn, &[SteppedOpt], Expect::Error, &["optimizer/adam.w.x"], |f| {
        replace(f, "optimizer/adam.w.x", &[2], &[1.0f32, 2.0], true)
    });
    cases.edited(
        k,
        "one optimizer tensor in a group that should be empty",
        Fx::MlpFreshOpt,
        &[FreshOpt, SteppedOpt],
        Expect::Error,
        &[],
        |f| {
            let (m, s) = values(Fx::MlpLast, opt_m);
            let m32: Vec<f32> = m.iter().map(|&x| x as f32).collect();
            replace(f, opt_m, &s, &m32, true)
        },
    );
    cases.edited(
        k,
        "a dataset where /params belongs",
        Fx::MlpBest,
        &[NoOpt, LoadModel],
        Expect::Error,
        &["params"],
        |f| {
            f.unlink("params")?;
            f.new_dataset::<f32>().shape([3]).create("params")?.write_raw(&[1.0f32, 2.0, 3.0])
        },
    );
    cases.edited(k, "a group where a parameter belongs", Fx::MlpBest, &[NoOpt, LoadModel], Expect::Error, &[p], |f| {
        let (g, n) = p.split_once('/').unwrap();
        f.group(g)?.unlink(n)?;
        f.group(g)?.create_group(n).map(|_| ())
    });
    cases.edited(k, "an empty /params group", Fx::MlpBest, &[NoOpt, LoadModel], Expect::Error, &[], |f| {
        f.unlink("params")?;
        f.create_group("params").map(|_| ())
    });
}

/// Annotations outside the layout (harmless), and damage to the optimizer group itself.
fn annotations_and_the_optimizer_group(cases: &mut Cases) {
    use LoadMode::*;
    // Annotations outside the checkpoint's layout (an h5py user's notes) change nothing.
    cases.edited(
        "extra group or attribute",
        "an extra root group",
        Fx::MlpLast,
        &[SteppedOpt, LoadModel],
        Expect::Identical,
        &[],
        |f| f.create_group("notes")?.new_attr::<u32>().create("run")?.write_scalar(&3u32),
    );
    cases.edited(
        "extra group or attribute",
        "an extra root attribute",
        Fx::Bnn,
        &[SteppedOpt, LoadModel, Header],
        Expect::Identical,
        &[],
        |f| set_str(f, "comment", "trained on the cluster"),
    );

    // The optimizer group itself.
    let k = "optimizer group";
    cases.edited(
        k,
        "no /optimizer group, an optimizer passed",
        Fx::Bnn,
        &[SteppedOpt, FreshOpt],
        Expect::Error,
        &["/optimizer"],
        |f| f.unlink("optimizer"),
    );
    cases.push(
        k,
        "best.h5 (no optimizer) with an optimizer",
        Fx::MlpBest,
        SteppedOpt,
        Expect::Error,
        &Fx::MlpBest.path(),
        &["/optimizer"],
    );
    cases.edited(
        k,
        "an empty /optimizer group after steps were taken",
        Fx::MlpLast,
        &[SteppedOpt, FreshOpt],
        Expect::Error,
        &["optimizer/"],
        |f| {
            f.unlink("optimizer")?;
            f.create_group("optimizer").map(|_| ())
        },
    );
}

/// Values no network should hold.
fn absurd_values(cases: &mut Cases, mlp: &MlpWeights) {
    use LoadMode::*;
    let MlpWeights { p, w, shape, w32, opt_m, opt_v, v32, vshape, .. } = mlp;
    let numel = mlp.numel;
    // Values no network should hold.
    let k = "non-finite or absurd values";
    for (what, v) in [("NaN", f32::NAN), ("+Inf", f32::INFINITY), ("-Inf", f32::NEG_INFINITY)] {
        let mut bad = w32.clone();
        bad[numel / 2] = v;
        cases.edited(
            k,
            &format!("a weight of {what}"),
            Fx::MlpLast,
            &[SteppedOpt, LoadModel],
            Expect::Error,
            &[p],
            |f| replace(f, p, shape, &bad, true),
        );
    }
    let mut bad = w.clone();
    bad[1] = 1e300;
    cases.edited(
        k,
        "a weight of 1e300 (float64 data, float32 model)",
        Fx::MlpLast,
        &[NoOpt, LoadModel],
        Expect::Error,
        &[p],
        |f| replace(f, p, shape, &bad, true),
    );
    let q = first_param(Fx::Ensemble);
    let (ew, eshape) = values(Fx::Ensemble, &q);
    let mut bad = ew.clone();
    bad[0] = 1e300;
    cases.edited(
        k,
        "a weight of 1e300 in a float64 model",
        Fx::Ensemble,
        &[NoOpt, LoadModel],
        Expect::Error,
        &[&q],
        |f| replace(f, &q, &eshape, &bad, true),
    );
    let mut bad = ew.clone();
    bad[2] = f64::NAN;
    cases.edited(k, "a NaN weight in a float64 model", Fx::Ensemble, &[NoOpt, LoadModel], Expect::Error, &[&q], |f| {
        replace(f, &q, &eshape, &bad, true)
    });
    let mut neg = v32.clone();
    neg[3] = -1e-3;
    cases.edited(k, "a negative adam.v", Fx::MlpLast, &[SteppedOpt, FreshOpt], Expect::Error, &[opt_v], |f| {
        replace(f, opt_v, vshape, &neg, true)
    });
    let mut nan = v32.clone();
    nan[0] = f32::NAN;
    cases.edited(k, "a NaN in adam.v", Fx::MlpLast, &[SteppedOpt], Expect::Error, &[opt_v], |f| {
        replace(f, opt_v, vshape, &nan, true)
    });
    let (m, mshape) = values(Fx::MlpLast, opt_m);
    let mut huge_m = m.clone();
    huge_m[0] = 1e300;
    cases.edited(
        k,
        "adam.m of 1e300 (float64 data, float32 model)",
        Fx::MlpLast,
        &[SteppedOpt],
        Expect::Error,
        &[opt_m],
        |f| replace(f, opt_m, &mshape, &huge_m, true),
    );
}

/// Datasets created but never written.
fn never_written(cases: &mut Cases, mlp: &MlpWeights) {
    use LoadMode::*;
    let MlpWeights { p, shape, opt_m, .. } = mlp;
    let bnn_p = first_param(Fx::Bnn);
    let (_, bshape) = values(Fx::Bnn, &bnn_p);
    let (_, mshape) = values(Fx::MlpLast, opt_m);
    // Datasets created but never written.
    let k = "never written";
    cases.edited(
        k,
        "weights created, never written",
        Fx::MlpLast,
        &[SteppedOpt, LoadModel],
        Expect::Error,
        &[p],
        |f| {
            let (g, n) = p.split_once('/').unwrap();
            f.group(g)?.unlink(n)?;
            f.group(g)?.new_dataset::<f32>().shape(shape.clone()).create(n).map(|_| ())
        },
    );
    cases.edited(
        k,
        "chunked weights created, never written",
        Fx::Bnn,
        &[SteppedOpt, LoadModel],
        Expect::Error,
        &[&bnn_p],
        |f| {
            let (g, n) = bnn_p.split_once('/').unwrap();
            f.group(g)?.unlink(n)?;
            f.group(g)?
                .new_dataset::<f32>()
                .shape(bshape.clone())
                .chunk(bshape.clone())
                .fletcher32()
                .create(n)
                .map(|_| ())
        },
    );
    cases.edited(
        k,
        "adam.m created, never written",
        Fx::MlpLast,
        &[SteppedOpt, FreshOpt],
        Expect::Error,
        &[opt_m],
        |f| {
            let (g, n) = opt_m.split_once('/').unwrap();
            f.group(g)?.unlink(n)?;
            f.group(g)?.new_dataset::<f32>().shape(mshape.clone()).create(n).map(|_| ())
        },
    );
}
