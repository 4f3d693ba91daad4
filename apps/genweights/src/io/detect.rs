//! Which of the four layouts a file holds, judged from its content alone (file names are free).

use crate::error::Result;
use nn::io::{FileError, H5File};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A sample layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// CaloGAN-style showers: `energy`, `layer_0`, `layer_1`, `layer_2`, `overflow`.
    Calo,
    /// JetNet-style jets: `particle_features`, `jet_features`.
    Jets,
    /// A pandas DataFrame of Z→μμ+jets events (`to_hdf`, format "fixed").
    Events,
    /// A plain table: root dataset `features` (N, D).
    Table,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Calo, Kind::Jets, Kind::Events, Kind::Table];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Calo => "calo",
            Kind::Jets => "jets",
            Kind::Events => "events",
            Kind::Table => "table",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown kind '{s}' (calo, jets, events, table)"))
    }
}

/// The datasets of a CaloGAN shower file, in the order they are reported missing.
pub const CALO_DATASETS: [&str; 5] = ["energy", "layer_0", "layer_1", "layer_2", "overflow"];
/// The datasets of a JetNet file.
pub const JET_DATASETS: [&str; 2] = ["particle_features", "jet_features"];

/// The layout of `file`. A file with part of a layout (say `energy` and `layer_0` but no
/// `layer_2`) is an error that names what is missing; a file with none is an error that lists
/// what its root holds and what each layout needs.
pub fn detect(file: &H5File) -> Result<Kind> {
    let members = file.members("")?;
    let has = |n: &str| members.iter().any(|m| m == n);
    let partial = |names: &[&str], what: &str| -> Option<FileError> {
        let present: Vec<&str> = names.iter().copied().filter(|n| has(n)).collect();
        let missing: Vec<&str> = names.iter().copied().filter(|n| !has(n)).collect();
        (!present.is_empty() && !missing.is_empty()).then(|| {
            FileError::item(
                &file.path,
                format!("dataset '{}'", missing[0]),
                format!(
                    "is missing: the file looks like {what} (it has {}) but lacks {}",
                    present.join(", "),
                    missing.join(", ")
                ),
            )
        })
    };
    if CALO_DATASETS.iter().all(|n| has(n)) {
        return Ok(Kind::Calo);
    }
    if let Some(e) = partial(&CALO_DATASETS, "a CaloGAN shower file") {
        return Err(e.into());
    }
    if JET_DATASETS.iter().all(|n| has(n)) {
        return Ok(Kind::Jets);
    }
    if let Some(e) = partial(&JET_DATASETS, "a JetNet jet file") {
        return Err(e.into());
    }
    if !super::pandas::pandas_groups(file)?.is_empty() {
        return Ok(Kind::Events);
    }
    if has("features") {
        return Ok(Kind::Table);
    }
    let held = if members.is_empty() { "nothing".to_string() } else { members.join(", ") };
    Err(FileError::new(
        &file.path,
        format!(
            "is in none of the known layouts: its root holds {held}; expected a CaloGAN shower file (datasets {}), a JetNet \
             file ({}), a pandas DataFrame written by to_hdf (a group with attribute 'pandas_type') or a table (dataset \
             'features')",
            CALO_DATASETS.join(", "),
            JET_DATASETS.join(", ")
        ),
    )
    .into())
}
