//! The worker: loads cases in a child process and writes one result line per case.

use super::*;

/// Named tensors as the bits of their values.
pub type Bits = Vec<(String, Vec<u64>)>;

/// Everything a load can change or return, compared bit for bit.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub weights: Bits,
    pub streams: Vec<StreamState>,
    pub optimizer: Option<(Bits, u64)>,
    pub header: Option<String>,
}

pub fn bits(state: &NamedState) -> Bits {
    state.iter().map(|(n, t)| (n.clone(), t.to_vec_f64().unwrap().iter().map(|v| v.to_bits()).collect())).collect()
}

pub fn state_of(model: Option<&dyn Module>, opt: Option<&dyn Optimizer>, header: Option<&Checkpoint>) -> State {
    let weights =
        model.map_or(vec![], |m| bits(&m.params().iter().map(|p| (p.name.clone(), p.var.tensor())).collect()));
    State {
        weights,
        streams: model.map_or(vec![], |m| m.noise_streams().iter().map(|s| s.state()).collect()),
        optimizer: opt.map(|o| (bits(&o.state().unwrap()), o.steps())),
        header: header.map(|h| format!("{h:?}")),
    }
}

/// The first difference between two states, for a message.
pub fn difference(a: &State, b: &State) -> String {
    for ((n, x), (_, y)) in a.weights.iter().zip(&b.weights) {
        if let Some(i) = x.iter().zip(y).position(|(p, q)| p != q) {
            return format!("weight {n}[{i}] is {} instead of {}", f64::from_bits(y[i]), f64::from_bits(x[i]));
        }
    }
    if a.streams != b.streams {
        return format!("random streams {:?} instead of {:?}", b.streams, a.streams);
    }
    if a.optimizer != b.optimizer {
        return "the optimizer state differs".into();
    }
    if let (Some(x), Some(y)) = (&a.header, &b.header) {
        if x != y {
            let at = x.bytes().zip(y.bytes()).position(|(p, q)| p != q).unwrap_or(x.len().min(y.len()));
            let around = |s: &str| s.chars().skip(at.saturating_sub(40)).take(80).collect::<String>();
            return format!("the header reads '...{}...' instead of '...{}...'", around(y), around(x));
        }
    }
    if a.weights.len() != b.weights.len() {
        return "a different set of parameters".into();
    }
    "no difference".into()
}

pub struct Target {
    pub model: Box<dyn Module>,
    pub opt: Option<Adam>,
}

/// The model and optimizer a case loads into, with a state of their own (another seed, and
/// steps taken when the mode says so).
pub fn target(fx: Fx, mode: LoadMode) -> Target {
    let model = fx.spec().build(fx.dtype(), &dev(), 99).unwrap();
    let opt = match mode {
        LoadMode::FreshOpt => Some(Adam::new(model.params(), 1e-3)),
        LoadMode::SteppedOpt => {
            let mut o = Adam::new(model.params(), 1e-3);
            step(model.as_ref(), &mut o, 2, 9);
            Some(o)
        }
        _ => None,
    };
    Target { model, opt }
}

/// Loads `path` as `mode` says; returns the state after a success, or the error's message.
pub fn load(path: &Path, mode: LoadMode, t: &mut Target) -> Result<State, String> {
    match mode {
        LoadMode::Header => {
            Checkpoint::read_header(path).map(|h| state_of(None, None, Some(&h))).map_err(|e| e.to_string())
        }
        LoadMode::LoadModel => {
            let loaded = Checkpoint::load_model(path, &dev()).map_err(|e| e.to_string())?;
            use_model(loaded.model.as_ref(), &loaded.checkpoint)?;
            Ok(state_of(Some(loaded.model.as_ref()), None, Some(&loaded.checkpoint)))
        }
        _ => {
            let opt = t.opt.as_mut().map(|o| o as &mut dyn Optimizer);
            let head = Checkpoint::load(path, t.model.as_ref(), opt).map_err(|e| e.to_string())?;
            use_model(t.model.as_ref(), &head)?;
            Ok(state_of(Some(t.model.as_ref()), t.opt.as_ref().map(|o| o as &dyn Optimizer), Some(&head)))
        }
    }
}

/// What a user does next with a loaded model: standardize a row, predict, take a step. A panic
/// here (the old standardizer bug) or a non-finite output counts against the load.
pub fn use_model(model: &dyn Module, head: &Checkpoint) -> Result<(), String> {
    let inputs = model.spec().map_or(3, |s| s.mlp.inputs);
    let raw: Vec<f64> = (0..inputs).map(|j| 0.5 + j as f64).collect();
    let x = match &head.standardizer {
        Some(s) => s.transform_rows(&raw).map_err(|e| format!("loaded, but the standardizer fails: {e}"))?,
        None => raw,
    };
    let dtype = model.params()[0].var.tensor().dtype();
    let xt = autodiff::Tensor::from_f64s(&x, &[1, inputs], dtype, &dev()).unwrap();
    let out = model.forward(&xt).map_err(|e| format!("loaded, but a forward pass fails: {e}"))?;
    if out.to_vec_f64().unwrap().iter().any(|v| !v.is_finite()) {
        return Err("SILENT: loaded, but the model predicts non-finite values".into());
    }
    Ok(())
}

pub fn run_case(
    case: &Case,
    references: &mut BTreeMap<(String, String), Result<State, String>>,
) -> (&'static str, String) {
    let mut t = target(case.fx, case.mode);
    let before = state_of(Some(t.model.as_ref()), t.opt.as_ref().map(|o| o as &dyn Optimizer), None);
    match load(&case.path, case.mode, &mut t) {
        Ok(after) => {
            // What the undamaged file gives in the same mode, loaded once per worker.
            let key = (case.fx.name().to_string(), case.mode.name().to_string());
            let reference = references.entry(key).or_insert_with(|| {
                let mut t = target(case.fx, case.mode);
                load(&case.fx.path(), case.mode, &mut t)
            });
            match reference {
                Err(e) => ("fail", format!("loaded although the undamaged file is refused ({e})")),
                Ok(r) if after != *r => {
                    ("fail", format!("SILENT CORRUPTION: loaded with changed values: {}", difference(r, &after)))
                }
                Ok(_) if case.expect == Expect::Error => ("fail", "loaded although it must be refused".into()),
                Ok(_) => ("identical", String::new()),
            }
        }
        Err(msg) if msg.starts_with("SILENT") => ("fail", msg),
        Err(msg) => {
            let now = state_of(Some(t.model.as_ref()), t.opt.as_ref().map(|o| o as &dyn Optimizer), None);
            let file = case.path.display().to_string();
            if case.expect == Expect::Identical {
                ("fail", format!("refused although it must load: {msg}"))
            } else if now != before {
                (
                    "fail",
                    format!("the failed load changed the model or optimizer ({}): {msg}", difference(&before, &now)),
                )
            } else if !msg.contains(&file) {
                ("fail", format!("the error does not name the file: {msg}"))
            } else if let Some(n) = case.names.iter().find(|n| !msg.contains(n.as_str())) {
                ("fail", format!("the error does not name '{n}': {msg}"))
            } else {
                ("error", msg)
            }
        }
    }
}

pub fn worker() {
    let root = root();
    let manifest = std::fs::read_to_string(root.join("manifest.tsv")).unwrap();
    let cases: Vec<Case> = manifest.lines().map(Case::parse).collect();
    let start: usize = std::env::var(WORKER_ENV).unwrap().parse().unwrap();
    let mut out = std::fs::OpenOptions::new().append(true).create(true).open(root.join("results.tsv")).unwrap();
    let mut references = BTreeMap::new();
    for (i, case) in cases.iter().enumerate().skip(start) {
        writeln!(out, "start\t{i}").unwrap();
        let t = Instant::now();
        let (verdict, msg) = match catch_unwind(AssertUnwindSafe(|| run_case(case, &mut references))) {
            Ok(r) => r,
            Err(p) => {
                let what =
                    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                ("fail", format!("PANIC: {}", what.unwrap_or_default()))
            }
        };
        let (verdict, msg) = if t.elapsed() > SLOW_AFTER && verdict != "fail" {
            ("fail", format!("took {:.1} s (reading from a claimed size?): {msg}", t.elapsed().as_secs_f64()))
        } else {
            (verdict, msg)
        };
        writeln!(out, "done\t{i}\t{verdict}\t{}", msg.replace(['\n', '\t'], " ")).unwrap();
    }
}

/// Runs every case in worker processes, restarting after each abort or hang. Returns one
/// (verdict, message) per case.
pub fn run_workers(n: usize) -> Vec<(String, String)> {
    let root = root();
    let results = root.join("results.tsv");
    let _ = std::fs::remove_file(&results);
    let exe = std::env::current_exe().unwrap();
    let mut verdicts: Vec<Option<(String, String)>> = vec![None; n];
    let mut next = 0;
    let mut restarts = 0;
    while next < n {
        let stderr = std::fs::File::create(root.join("worker-stderr.txt")).unwrap();
        if next > 0 {
            eprintln!("worker restarted at case {next} of {n}");
        }
        // The address-space limit comes from the shell's ulimit (no libc in the dev-dependencies).
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -v {WORKER_MEMORY_KIB} && exec \"$0\" \"$@\""))
            .arg(&exe)
            .args(["--exact", "damaged_checkpoints_fail_cleanly", "--nocapture", "--test-threads=1"])
            .env(WORKER_ENV, next.to_string())
            .env("SIGMAGRAD_DAMAGE_ROOT", &root)
            .env("RAYON_NUM_THREADS", "1")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut last_len = 0;
        let mut last_progress = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            let len = std::fs::metadata(&results).map_or(0, |m| m.len());
            if len != last_len {
                last_len = len;
                last_progress = Instant::now();
            } else if last_progress.elapsed() > HANG_AFTER {
                child.kill().unwrap();
                child.wait().unwrap();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Lossy: a message may quote a damaged string.
        let text = String::from_utf8_lossy(&std::fs::read(&results).unwrap_or_default()).into_owned();
        let mut in_flight = None;
        for line in text.lines() {
            let f: Vec<&str> = line.splitn(4, '\t').collect();
            let i: usize = f[1].parse().unwrap();
            match f[0] {
                "start" => in_flight = Some(i),
                _ => {
                    verdicts[i] = Some((f[2].to_string(), f.get(3).unwrap_or(&"").to_string()));
                    in_flight = None;
                }
            }
        }
        let done = verdicts.iter().take_while(|v| v.is_some()).count();
        if let Some(i) = in_flight {
            let stderr = std::fs::read_to_string(root.join("worker-stderr.txt")).unwrap_or_default();
            let tail: String = stderr.lines().rev().take(3).collect::<Vec<_>>().join(" / ");
            let what = match status {
                None => format!("HANG: no result after {} s", HANG_AFTER.as_secs()),
                Some(s) => format!("ABORT: the worker died ({s}): {tail}"),
            };
            verdicts[i] = Some(("fail".into(), what));
            next = i + 1;
        } else if done < n {
            restarts += 1;
            assert!(
                restarts < 3,
                "the worker stops without a result: {:?}",
                std::fs::read_to_string(root.join("worker-stderr.txt"))
            );
            next = done;
        } else {
            next = n;
        }
    }
    verdicts.into_iter().map(|v| v.unwrap()).collect()
}
