//! The command line end to end: a small toy written, read back and inspected; bad arguments
//! refused with a message.

mod common;
use common::genweights;

#[test]
fn toy_writes_both_files_and_inspect_reads_them() {
    let d = common::dir("cli");
    let out = genweights()
        .args(["toy", "--case", "masspeak", "--n", "500", "--seed", "4", "--out"])
        .arg(&d)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for f in ["truth.h5", "generated.h5", "toy.json"] {
        assert!(d.join(f).is_file(), "{f}");
    }
    let info: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("toy.json")).unwrap()).unwrap();
    assert_eq!((info["case"].as_str(), info["events"].as_u64()), (Some("masspeak"), Some(500)));
    let out = genweights().arg("inspect").arg(d.join("generated.h5")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("events with 500 events") && text.contains("M_mumu"), "{text}");
    let (t, g) = genweights::io::read_pair(&d.join("truth.h5"), &d.join("generated.h5"), &Default::default()).unwrap();
    assert_eq!((t.len(), g.len()), (500, 500));
    let (ft, fg) = genweights::features::pair_inputs(&t, &g, &Default::default()).unwrap();
    assert_eq!((ft.rows + fg.rows, ft.width(), fg.columns[17].name.as_str()), (1000, 21, "M_mumu"));
    // The exact weights are row-aligned with the file; M_mumu carries them.
    let w = genweights::io::read_exact_log_w(&d.join("generated.h5"), &g).unwrap().unwrap();
    let m = fg.column_named("M_mumu").unwrap();
    let peak = genweights::generator::events::SmearedPeak::new(1.0);
    for (lw, m) in w.iter().zip(&m) {
        assert!((lw - peak.log_w(*m)).abs() < 1e-6, "log w {lw} at M = {m}");
    }
}

#[test]
fn bad_arguments_are_refused_with_a_message() {
    let d = common::dir("cli-bad");
    let out = genweights().args(["toy", "--case", "nonsense", "--out"]).arg(&d).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("tailcut"));
    let out = genweights().args(["toy", "--case", "null", "--n", "1", "--out"]).arg(&d).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--n"));
    let out = genweights().args(["toy", "--case", "noise", "--n", "2000000", "--out"]).arg(&d).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("at most 1000000"));
    let out = genweights().args(["inspect", "/nonexistent.h5"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("/nonexistent.h5") && err.contains("no such file"), "{err}");
    let out = genweights().args(["toy", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--case", "--out", "--n", "--seed"] {
        assert!(help.contains(flag), "{help}");
    }
}
