//! What the benches share: timing (warm-up, then best and median of several repetitions),
//! a plain-text table, and JSON lines for `--json FILE`.
//!
//! Flags (after `--` with cargo): `--json FILE` appends one JSON object per figure to FILE;
//! `--quick` shortens every measurement tenfold (a smoke run, not for reporting).

// Each bench uses a different subset of these helpers.
#![allow(dead_code)]

pub mod heap;
pub mod timed;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use std::hint::black_box;

pub type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

#[derive(Debug, Clone)]
pub struct Options {
    pub json: Option<PathBuf>,
    /// Time spent measuring each figure, warm-up excluded.
    pub budget: Duration,
    pub reps: usize,
}

impl Options {
    /// Reads the flags; ignores the `--bench` that cargo passes and anything else unknown.
    pub fn from_args() -> BenchResult<Options> {
        let mut opts = Options { json: None, budget: Duration::from_millis(700), reps: 7 };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--json" => opts.json = Some(args.next().ok_or("--json needs a file name")?.into()),
                "--quick" => {
                    opts.budget = Duration::from_millis(70);
                    opts.reps = 3;
                }
                _ => {}
            }
        }
        Ok(opts)
    }
}

/// Seconds per call of the measured closure.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub best: f64,
    pub median: f64,
    /// Calls per repetition (each repetition's time is divided by it).
    pub iters: usize,
    pub reps: usize,
}

/// Warms `f` up (at least 3 calls and a tenth of the budget), sizes repetitions so that
/// `opts.reps` of them fill the budget, and returns the best and median time per call.
pub fn measure<R, E>(opts: &Options, mut f: impl FnMut() -> Result<R, E>) -> Result<Timing, E> {
    let iters = warm_up(opts, &mut f)?;
    let mut times = Vec::with_capacity(opts.reps);
    for _ in 0..opts.reps {
        times.push(repetition(iters, &mut f)?);
    }
    Ok(Timing::from_samples(&mut times, iters))
}

/// Times two closures in alternating repetitions (f, g, f, g, ...), so that a change in the
/// machine's load hits both alike and their ratio stays meaningful on a shared machine.
pub fn measure_pair<R, S, E>(
    opts: &Options,
    mut f: impl FnMut() -> Result<R, E>,
    mut g: impl FnMut() -> Result<S, E>,
) -> Result<(Timing, Timing), E> {
    let (fi, gi) = (warm_up(opts, &mut f)?, warm_up(opts, &mut g)?);
    let (mut ft, mut gt) = (Vec::with_capacity(opts.reps), Vec::with_capacity(opts.reps));
    for _ in 0..opts.reps {
        ft.push(repetition(fi, &mut f)?);
        gt.push(repetition(gi, &mut g)?);
    }
    Ok((Timing::from_samples(&mut ft, fi), Timing::from_samples(&mut gt, gi)))
}

/// Runs `f` at least 3 times and for a tenth of the budget; returns the calls per repetition
/// that make `opts.reps` repetitions fill the budget.
fn warm_up<R, E>(opts: &Options, f: &mut impl FnMut() -> Result<R, E>) -> Result<usize, E> {
    let warm_until = Instant::now() + opts.budget / 10;
    let mut calls = 0u32;
    let start = Instant::now();
    while calls < 3 || Instant::now() < warm_until {
        black_box(f()?);
        calls += 1;
    }
    let per_call = start.elapsed().as_secs_f64() / f64::from(calls);
    let per_rep = opts.budget.as_secs_f64() / opts.reps as f64;
    Ok(((per_rep / per_call.max(1e-9)) as usize).max(1))
}

/// Seconds per call over `iters` back-to-back calls.
fn repetition<R, E>(iters: usize, f: &mut impl FnMut() -> Result<R, E>) -> Result<f64, E> {
    let t = Instant::now();
    for _ in 0..iters {
        black_box(f()?);
    }
    Ok(t.elapsed().as_secs_f64() / iters as f64)
}

impl Timing {
    /// Best and median of per-call samples (seconds).
    pub fn from_samples(samples: &mut [f64], iters: usize) -> Timing {
        samples.sort_by(f64::total_cmp);
        let n = samples.len();
        let median = if n == 0 {
            f64::NAN
        } else if n % 2 == 1 {
            samples[n / 2]
        } else {
            0.5 * (samples[n / 2 - 1] + samples[n / 2])
        };
        Timing { best: samples.first().copied().unwrap_or(f64::NAN), median, iters, reps: n }
    }
}

/// CPU time (user + system) this process has used so far, in seconds, from /proc/self/stat
/// (Linux; clock ticks of 1/100 s). None elsewhere. CPU time over wall time above 1 means more
/// than one thread was working.
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may contain spaces; the fields after it are plain numbers.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Runs `f` for about `secs` seconds of wall time and returns CPU time / wall time.
pub fn cpu_utilisation<R, E>(secs: f64, mut f: impl FnMut() -> Result<R, E>) -> Result<Option<f64>, E> {
    let (Some(cpu0), wall0) = (process_cpu_seconds(), Instant::now()) else { return Ok(None) };
    while wall0.elapsed().as_secs_f64() < secs {
        black_box(f()?);
    }
    let wall = wall0.elapsed().as_secs_f64();
    Ok(process_cpu_seconds().map(|cpu1| (cpu1 - cpu0) / wall))
}

/// "AMD EPYC, 2 cores": the CPU's model name and the threads available (`report::meta`, the
/// same string the apps' pages carry).
pub use report::meta::machine;

/// The current UTC time as ISO 8601, from the apps' calendar conversion (`report::meta::civil`).
pub fn utc_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (year, month, day, hour, minute) = report::meta::civil(secs);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{:02}Z", secs % 60)
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One figure, as it goes to the JSON file.
#[derive(Debug, Clone)]
pub struct Record {
    pub bench: String,
    pub shape: String,
    pub value: f64,
    pub unit: &'static str,
}

/// Collects a bench's table and figures, prints the table, writes the JSON lines.
pub struct Report {
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    records: Vec<Record>,
    machine: String,
    date: String,
}

impl Report {
    pub fn new(title: &str, header: &[&str]) -> Report {
        Report {
            title: title.into(),
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
            records: Vec::new(),
            machine: machine(),
            date: utc_now(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn record(&mut self, bench: &str, shape: &str, value: f64, unit: &'static str) {
        self.records.push(Record { bench: bench.into(), shape: shape.into(), value, unit });
    }

    /// Prints the table, then appends the records to the JSON file if one was asked for.
    pub fn finish(&self, opts: &Options) -> BenchResult {
        println!("{}", self.title);
        println!("machine: {}; date: {}", self.machine, self.date);
        let cols = self.header.len();
        let width: Vec<usize> = (0..cols)
            .map(|c| {
                let cells = self.rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count());
                cells.chain([self.header[c].chars().count()]).max().unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            let mut s = String::new();
            for (c, w) in width.iter().enumerate() {
                let cell = cells.get(c).map(String::as_str).unwrap_or("");
                // First column left-aligned (labels), the others right-aligned (numbers).
                if c == 0 {
                    let _ = write!(s, "{cell:<w$}");
                } else {
                    let _ = write!(s, "  {cell:>w$}");
                }
            }
            s
        };
        println!("{}", line(&self.header));
        println!("{}", "-".repeat(width.iter().sum::<usize>() + 2 * cols.saturating_sub(1)));
        for r in &self.rows {
            println!("{}", line(r));
        }
        println!();
        if let Some(path) = &opts.json {
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
            for r in &self.records {
                writeln!(
                    file,
                    "{{\"bench\":{},\"shape\":{},\"value\":{},\"unit\":{},\"machine\":{},\"date\":{}}}",
                    json_string(&r.bench),
                    json_string(&r.shape),
                    if r.value.is_finite() { format!("{}", r.value) } else { "null".into() },
                    json_string(r.unit),
                    json_string(&self.machine),
                    json_string(&self.date),
                )?;
            }
            println!("appended {} figures to {}", self.records.len(), path.display());
        }
        Ok(())
    }
}

/// Formats a duration in seconds with a unit that keeps 3-4 significant digits.
pub fn fmt_time(secs: f64) -> String {
    if secs < 1e-6 {
        format!("{:.1} ns", secs * 1e9)
    } else if secs < 1e-3 {
        format!("{:.2} us", secs * 1e6)
    } else if secs < 1.0 {
        format!("{:.2} ms", secs * 1e3)
    } else {
        format!("{secs:.2} s")
    }
}

/// Environment variables that change the figures, for the header.
pub fn threading_env() -> String {
    let get = |k: &str| std::env::var(k).unwrap_or_else(|_| "unset".into());
    format!("MATMUL_NUM_THREADS={}, RAYON_NUM_THREADS={}", get("MATMUL_NUM_THREADS"), get("RAYON_NUM_THREADS"))
}
