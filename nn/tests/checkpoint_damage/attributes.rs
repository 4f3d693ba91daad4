//! Checkpoints whose attributes were edited through the HDF5 library: removed, of the wrong
//! type or value, contradicting the rest of the file, or of a harmless type variant.

use super::*;

/// Required and optional attributes removed.
pub fn missing_attributes(cases: &mut Cases) {
    use LoadMode::*;
    // Missing attributes. A required one is named; an optional one (the model description,
    // the standardizer, the trainer state) may be absent from a hand-made file, so its loss
    // from a saved file is caught by the seal.
    let k = "missing attribute";
    for name in ["format", "version", "fingerprint", "meta", "epoch", "optimizer_steps", "streams"] {
        cases.edited(
            k,
            &format!("no '{name}'"),
            Fx::MlpLast,
            &[SteppedOpt, LoadModel, Header],
            Expect::Error,
            &[name],
            |f| f.delete_attr(name),
        );
    }
    cases.edited(k, "no 'model' (load_model needs it)", Fx::MlpLast, &[LoadModel], Expect::Error, &["model"], |f| {
        f.delete_attr("model")
    });
    for name in ["model", "standardizer", "trainer"] {
        cases.edited_sealed(
            k,
            &format!("no '{name}' in a sealed file"),
            Fx::MlpLast,
            &[SteppedOpt, LoadModel, Header],
            |f| f.delete_attr(name),
        );
    }
    let k = "sealed file changed after saving";
    cases.edited_sealed(k, "an attribute added with HDF5", Fx::Bnn, &[SteppedOpt, LoadModel, Header], |f| {
        set_str(f, "comment", "hello")
    });
    cases.edited_sealed(k, "the epoch rewritten", Fx::MlpLast, &[SteppedOpt, Header], |f| set_attr(f, "epoch", &7u64));
    cases.edited_sealed(k, "a weight rewritten", Fx::MlpBest, &[NoOpt, LoadModel], |f| {
        let (v, sh) = values(Fx::MlpBest, &weight_param(Fx::MlpBest));
        let v32: Vec<f32> = v.iter().map(|x| *x as f32 + 1.0).collect();
        replace(f, &weight_param(Fx::MlpBest), &sh, &v32, true)
    });
}

/// Attributes of the wrong type or value.
pub fn attributes_of_the_wrong_type(cases: &mut Cases) {
    use LoadMode::*;
    // Attributes of the wrong type or value.
    let k = "attribute type or value";
    let bad: Vec<(&str, &str, Box<Edit>)> = vec![
        ("epoch", "epoch = 2.7", Box::new(|f| set_attr(f, "epoch", &2.7f64))),
        ("epoch", "epoch = -1 (int64)", Box::new(|f| set_attr(f, "epoch", &-1i64))),
        ("epoch", "epoch = NaN", Box::new(|f| set_attr(f, "epoch", &f64::NAN))),
        ("epoch", "epoch = '2' (a string)", Box::new(|f| set_str(f, "epoch", "2"))),
        ("epoch", "epoch = true", Box::new(|f| set_attr(f, "epoch", &true))),
        (
            "epoch",
            "epoch as [2, 2]",
            Box::new(|f| {
                f.delete_attr("epoch")?;
                f.new_attr::<u64>().shape([2]).create("epoch")?.write_raw(&[2u64, 2])
            }),
        ),
        ("version", "version = 999", Box::new(|f| set_attr(f, "version", &999u64))),
        ("version", "version = '2' (a string)", Box::new(|f| set_str(f, "version", "2"))),
        ("version", "version = NaN", Box::new(|f| set_attr(f, "version", &f64::NAN))),
        ("version", "version = 1", Box::new(|f| set_attr(f, "version", &1u64))),
        ("version", "version = 2.0 (a float)", Box::new(|f| set_attr(f, "version", &2.0f64))),
        ("optimizer_steps", "optimizer_steps = -5", Box::new(|f| set_attr(f, "optimizer_steps", &-5i32))),
        ("optimizer_steps", "optimizer_steps = 1.5", Box::new(|f| set_attr(f, "optimizer_steps", &1.5f32))),
        ("format", "format = 'other-checkpoint'", Box::new(|f| set_str(f, "format", "other-checkpoint"))),
        (
            "format",
            "format = 'sigmagrad-checkpoint ' (a space)",
            Box::new(|f| set_str(f, "format", "sigmagrad-checkpoint ")),
        ),
        ("format", "format = 7", Box::new(|f| set_attr(f, "format", &7u8))),
        ("fingerprint", "fingerprint = 3.5", Box::new(|f| set_attr(f, "fingerprint", &3.5f64))),
        ("model", "model = 'not json'", Box::new(|f| set_str(f, "model", "not json"))),
        ("model", "model = 5", Box::new(|f| set_attr(f, "model", &5i32))),
        ("meta", "meta = a JSON array", Box::new(|f| set_str(f, "meta", "[1, 2]"))),
        ("meta", "meta = 1.5", Box::new(|f| set_attr(f, "meta", &1.5f64))),
        ("streams", "streams = '{}'", Box::new(|f| set_str(f, "streams", "{}"))),
        ("trainer", "trainer = 'null'", Box::new(|f| set_str(f, "trainer", "null"))),
    ];
    for (name, what, edit) in bad {
        cases.edited(k, what, Fx::MlpLast, &[SteppedOpt, LoadModel, Header], Expect::Error, &[name], |f| edit(f));
    }
    // Version 4 keeps text out of HDF5's global heap: a variable-length string, even of the
    // right value, is refused by its datatype before its value is read.
    let k = "variable-length string in a version-4 file";
    for name in TEXT_ATTRIBUTES {
        let value = read_str(&Fx::MlpLast.path(), name);
        let what = format!("{name} as a variable-length string");
        cases.edited(k, &what, Fx::MlpLast, &[SteppedOpt, LoadModel, Header], Expect::Error, &[name], |f| {
            set_vlen_str(f, name, &value)
        });
    }
}

/// Values of the right type that contradict the rest of the file.
pub fn contradicting_values(cases: &mut Cases) {
    use LoadMode::*;
    let k = "attribute type or value";
    // Values of the right type that contradict the rest of the file.
    let std_json = read_str(&Fx::MlpLast.path(), "standardizer");
    let mut s: serde_json::Value = serde_json::from_str(&std_json).unwrap();
    s["transforms"] = serde_json::json!(["None"]);
    s["mean"] = serde_json::json!([0.5, 0.25]);
    let two_means = s.to_string();
    cases.edited(
        k,
        "standardizer with 2 means and 1 transform",
        Fx::MlpLast,
        &[SteppedOpt, LoadModel, Header],
        Expect::Error,
        &["standardizer"],
        |f| set_str(f, "standardizer", &two_means),
    );
    let mut s: serde_json::Value = serde_json::from_str(&std_json).unwrap();
    s["std"][1] = serde_json::json!(0.0);
    let zero_std = s.to_string();
    cases.edited(
        k,
        "standardizer with a zero width",
        Fx::MlpLast,
        &[LoadModel, Header],
        Expect::Error,
        &["standardizer"],
        |f| set_str(f, "standardizer", &zero_std),
    );
    let mut s: serde_json::Value = serde_json::from_str(&std_json).unwrap();
    s["mean"][0] = serde_json::json!("INF");
    let inf_mean = s.to_string().replace("\"INF\"", "1e999");
    cases.edited(
        k,
        "standardizer with a mean of 1e999",
        Fx::MlpLast,
        &[LoadModel, Header],
        Expect::Error,
        &["standardizer"],
        |f| set_str(f, "standardizer", &inf_mean),
    );
    let mut s: serde_json::Value = serde_json::from_str(&std_json).unwrap();
    for key in ["transforms", "shifts", "mean", "std"] {
        s[key].as_array_mut().unwrap().pop();
    }
    let two_features = s.to_string();
    cases.edited(
        k,
        "standardizer of 2 features for a 3-input model",
        Fx::MlpLast,
        &[LoadModel, Header],
        Expect::Error,
        &["standardizer"],
        |f| set_str(f, "standardizer", &two_features),
    );
    let streams = read_str(&Fx::Bnn.path(), "streams");
    let mut st: serde_json::Value = serde_json::from_str(&streams).unwrap();
    st.as_array_mut().unwrap().pop();
    let fewer = st.to_string();
    cases.edited(k, "BNN streams missing one", Fx::Bnn, &[SteppedOpt, LoadModel], Expect::Error, &["streams"], |f| {
        set_str(f, "streams", &fewer)
    });
    let renamed = streams.replacen("\"name\":\"", "\"name\":\"x", 1);
    cases.edited(k, "BNN stream renamed", Fx::Bnn, &[SteppedOpt, LoadModel], Expect::Error, &["streams"], |f| {
        set_str(f, "streams", &renamed)
    });
    let trainer = read_str(&Fx::MlpLast.path(), "trainer");
    let mut tr: serde_json::Value = serde_json::from_str(&trainer).unwrap();
    tr["epochs_done"] = serde_json::json!(0);
    let inconsistent = tr.to_string();
    cases.edited(
        k,
        "trainer state with more history than epochs",
        Fx::MlpLast,
        &[SteppedOpt, Header],
        Expect::Error,
        &["trainer"],
        |f| set_str(f, "trainer", &inconsistent),
    );
    let other_spec = read_str(&Fx::MlpBest.path(), "model").replacen("[8,8]", "[8,9]", 1);
    cases.edited(
        k,
        "model attribute of another network",
        Fx::MlpBest,
        &[NoOpt, LoadModel],
        Expect::Error,
        &["model"],
        |f| set_str(f, "model", &other_spec),
    );
}

/// Type variants that change nothing: the value is what counts.
pub fn harmless_type_variants(cases: &mut Cases, mlp: &MlpWeights) {
    use LoadMode::*;
    let MlpWeights { p, shape, w32, .. } = mlp;
    // Harmless type variants: the value is what counts.
    let k = "accepted type variant";
    cases.edited(
        k,
        "format as a fixed-length ASCII string",
        Fx::MlpLast,
        &[SteppedOpt, LoadModel, Header],
        Expect::Identical,
        &[],
        |f| set_attr(f, "format", &FixedAscii::<20>::from_ascii("sigmagrad-checkpoint").unwrap()),
    );
    cases.edited(
        k,
        "format as a fixed-length UTF-8 string, NUL-padded",
        Fx::Bnn,
        &[SteppedOpt, LoadModel],
        Expect::Identical,
        &[],
        |f| set_attr(f, "format", &"sigmagrad-checkpoint".parse::<FixedUnicode<32>>().unwrap()),
    );
    let epoch = nn::io::H5File::open(Fx::MlpLast.path()).unwrap().attr_u64("", "epoch").unwrap();
    cases.edited(k, "epoch as uint8", Fx::MlpLast, &[SteppedOpt, Header], Expect::Identical, &[], |f| {
        set_attr(f, "epoch", &(epoch as u8))
    });
    cases.edited(k, "version as int32", Fx::MlpLast, &[SteppedOpt, Header], Expect::Identical, &[], |f| {
        set_attr(f, "version", &(nn::checkpoint::VERSION as i32))
    });
    cases.edited(
        k,
        "a version-3 file: text as variable-length strings",
        Fx::MlpLast,
        &[SteppedOpt, LoadModel, Header],
        Expect::Identical,
        &[],
        |f| {
            set_attr(f, "version", &3u64)?;
            for name in TEXT_ATTRIBUTES {
                set_vlen_str(f, name, &read_str(&Fx::MlpLast.path(), name))?;
            }
            Ok(())
        },
    );
    cases.edited(
        k,
        "weights without the Fletcher32 filter",
        Fx::MlpLast,
        &[SteppedOpt, LoadModel],
        Expect::Identical,
        &[],
        |f| replace(f, p, shape, w32, false),
    );
}
