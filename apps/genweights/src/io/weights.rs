//! `weights.h5`, the per-event weights `genweights run` writes: groups `truth` and `generated`,
//! each row-aligned with its input file: `log_w` (N,) f64, the combined ln w (isotonic-recalibrated
//! with `--isotonic`, then `log_w_raw` holds the uncalibrated one); `log_w_members` (N, M) f64,
//! one column per member or weight draw; `log_w_std` (N,) their spread; `split` (N,) u8: 0 train,
//! 1 validation, 2 test, 255 not used (a row the reader dropped); with cross-fitting (`--folds K`)
//! `fold` (N,) u8, the fold whose classifier did not train on the row (every row is then a test
//! row). Rows not used hold NaN weights.
//!
//! The writer takes plain columns, so that file formats depend on no network code.

use crate::error::Result;
use std::path::Path;

/// The split code of a row the reader dropped.
pub const UNUSED_ROW: u8 = 255;

/// One sample's weights, row-aligned with its feature matrix, and where its rows sit in the file.
pub struct WeightColumns<'a> {
    pub log_w: &'a [f64],
    /// The uncalibrated ln w, written when the weights were recalibrated.
    pub log_w_raw: Option<&'a [f64]>,
    pub std_log_w: &'a [f64],
    /// `members[k][i]`: member k's ln w of row i.
    pub members: &'a [Vec<f64>],
    /// Each row's split code (0 train, 1 validation, 2 test).
    pub split: Vec<u8>,
    /// Each row's cross-fitting fold, written as `fold` (255 where unused) when given.
    pub fold: Option<&'a [u8]>,
    /// Each row's row in the input file.
    pub file_rows: &'a [usize],
    /// Rows of the input file (the sample's plus any the reader dropped).
    pub file_len: usize,
}

impl WeightColumns<'_> {
    /// A column of the matrix spread out to the file's rows (NaN where unused).
    fn spread(&self, v: &[f64]) -> Vec<f64> {
        let mut out = vec![f64::NAN; self.file_len];
        for (i, &r) in self.file_rows.iter().enumerate() {
            out[r] = v[i];
        }
        out
    }

    fn write(&self, file: &hdf5::File, name: &str) -> std::result::Result<(), String> {
        let g = file.create_group(name).map_err(|e| format!("group {name}: {e}"))?;
        let (n, m) = (self.file_len, self.members.len());
        nn::io::write_checked(&g, "log_w", &[n], &self.spread(self.log_w))?;
        if let Some(raw) = self.log_w_raw {
            nn::io::write_checked(&g, "log_w_raw", &[n], &self.spread(raw))?;
        }
        nn::io::write_checked(&g, "log_w_std", &[n], &self.spread(self.std_log_w))?;
        let mut members = vec![f64::NAN; n * m];
        for (i, &r) in self.file_rows.iter().enumerate() {
            for k in 0..m {
                members[r * m + k] = self.members[k][i];
            }
        }
        nn::io::write_checked(&g, "log_w_members", &[n, m], &members)?;
        let spread_codes = |codes: &[u8]| -> Vec<u8> {
            let mut out = vec![UNUSED_ROW; n];
            for (i, &r) in self.file_rows.iter().enumerate() {
                out[r] = codes[i];
            }
            out
        };
        if let Some(fold) = self.fold {
            nn::io::write_checked(&g, "fold", &[n], &spread_codes(fold))?;
        }
        nn::io::write_checked(&g, "split", &[n], &spread_codes(&self.split))
    }
}

/// Writes `weights.h5` atomically.
pub fn write_weights(path: &Path, truth: &WeightColumns, generated: &WeightColumns) -> Result<()> {
    nn::io::write_atomically(path, |tmp| {
        let f = nn::io::create_h5(tmp)?;
        truth.write(&f, "truth")?;
        generated.write(&f, "generated")?;
        f.close().map_err(|e| e.to_string())
    })?;
    Ok(())
}

/// Writes a text file atomically (metrics.json, index.html).
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    nn::io::write_atomically(path, |tmp| std::fs::write(tmp, text).map_err(|e| e.to_string()))?;
    Ok(())
}
