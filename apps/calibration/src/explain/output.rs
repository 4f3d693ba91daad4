//! explain's output directory, written as one set ([`rundir::Staging`]) under the directory's
//! lock ([`rundir::RunLock`]):
//!
//! | file | content |
//! |---|---|
//! | `findings.json` | [`super::Findings`]: `selection` {rule, quantile, flagged, total}, `findings` [{feature, transform, low, high, flagged_share, overall_share, enrichment, score}] sorted by score, and `scores` of every view |
//! | `flags.h5` | per selected cluster `flagged` (uint8, 1 = flagged) and `input_index` (uint64, its row in the input file); string attributes `format` = `sigmagrad-calibration-explain-flags`, `rule`, `data`, `predictions`; `version` = 1, `quantile` |
//! | `index.html` | the page: the finding in one sentence, the tables, σ/R against every feature, flagged against all for the top features |

use super::Explanation;
use crate::error::{Error, Result};
use hdf5::types::VarLenUnicode;
use nn::io::{write_checked, FileError, H5File};
use std::path::{Path, PathBuf};

pub const FLAGS_FORMAT: &str = "sigmagrad-calibration-explain-flags";
pub const FLAGS_VERSION: u64 = 1;
/// The files explain writes into its directory.
pub const OUTPUTS: [&str; 3] = ["findings.json", "flags.h5", "index.html"];

/// The paths of the outputs in `dir`, for the check that none of them is an input.
pub fn output_paths(dir: &Path) -> Vec<PathBuf> {
    OUTPUTS.iter().map(|n| dir.join(n)).collect()
}

/// Writes the three outputs into `dir` (created if needed): all of them, or on failure none
/// (the old ones stay).
pub fn write(explanation: &Explanation, dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::invalid(format!("--out {} is a file; give a directory", dir.display())));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::invalid(format!("--out {}: cannot create the directory: {e}", dir.display())))?;
    let _lock = rundir::RunLock::acquire(dir)?;
    let staging = rundir::Staging::new(dir)?;
    crate::evaluate::write_json(&explanation.findings, &staging.path("findings.json"))?;
    write_flags(explanation, &staging.path("flags.h5"))?;
    let html = crate::page::explain_page(explanation).to_html();
    let page = staging.path("index.html");
    std::fs::write(&page, html.as_bytes()).map_err(|e| FileError::new(&page, format!("cannot write: {e}")))?;
    staging.commit(&OUTPUTS)?;
    Ok(())
}

fn string_attr(f: &hdf5::File, name: &str, value: &str) -> std::result::Result<(), String> {
    let v: VarLenUnicode = value.parse().map_err(|e| format!("attribute {name}: {e:?}"))?;
    f.new_attr::<VarLenUnicode>()
        .create(name)
        .and_then(|a| a.write_scalar(&v))
        .map_err(|e| format!("attribute {name}: {e}"))
}

/// `flags.h5` (see the module documentation).
fn write_flags(e: &Explanation, path: &Path) -> Result<()> {
    let flags: Vec<u8> = e.flagged.iter().map(|&f| u8::from(f)).collect();
    let s = &e.findings.selection;
    nn::io::write_atomically(path, |tmp| {
        let f = nn::io::create_h5(tmp)?;
        for (name, value) in
            [("format", FLAGS_FORMAT), ("rule", &s.rule), ("data", &e.data), ("predictions", &e.predictions)]
        {
            string_attr(&f, name, value)?;
        }
        f.new_attr::<u64>()
            .create("version")
            .and_then(|a| a.write_scalar(&FLAGS_VERSION))
            .map_err(|e| e.to_string())?;
        f.new_attr::<f64>().create("quantile").and_then(|a| a.write_scalar(&s.quantile)).map_err(|e| e.to_string())?;
        write_checked(&f, "flagged", &[flags.len()], &flags)?;
        write_checked(&f, "input_index", &[e.input_index.len()], &e.input_index)?;
        f.close().map_err(|e| e.to_string())
    })?;
    Ok(())
}

/// Reads `flags.h5` back: (flagged, input_index), checked to be a flags file of equal lengths.
pub fn read_flags(path: &Path) -> Result<(Vec<bool>, Vec<u64>)> {
    let f = H5File::open(path)?;
    crate::io::check_format(&f, path, FLAGS_FORMAT, "an explain flags file")?;
    let (flags, _) = f.read_numeric_f64("flagged", None)?;
    let (index, _) = f.read_numeric_f64("input_index", None)?;
    if flags.len() != index.len() {
        return Err(FileError::item(
            path,
            "dataset 'flagged'",
            format!("has {} rows, input_index {}", flags.len(), index.len()),
        )
        .into());
    }
    Ok((flags.iter().map(|&v| v != 0.0).collect(), index.iter().map(|&i| i as u64).collect()))
}
