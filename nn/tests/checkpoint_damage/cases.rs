//! Cases: a file, how it is loaded, and what must happen.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    /// `Checkpoint::load` into a model, no optimizer.
    NoOpt,
    /// With an Adam that has not stepped (a resume).
    FreshOpt,
    /// With an Adam that holds state of its own (which a failed load must keep).
    SteppedOpt,
    /// `Checkpoint::load_model`: the model rebuilt from the file alone.
    LoadModel,
    /// `Checkpoint::read_header`.
    Header,
}

impl LoadMode {
    pub fn name(self) -> &'static str {
        match self {
            LoadMode::NoOpt => "load",
            LoadMode::FreshOpt => "load+fresh-adam",
            LoadMode::SteppedOpt => "load+stepped-adam",
            LoadMode::LoadModel => "load_model",
            LoadMode::Header => "read_header",
        }
    }

    pub fn parse(s: &str) -> LoadMode {
        [LoadMode::NoOpt, LoadMode::FreshOpt, LoadMode::SteppedOpt, LoadMode::LoadModel, LoadMode::Header]
            .into_iter()
            .find(|m| m.name() == s)
            .unwrap_or_else(|| panic!("unknown mode {s}"))
    }

    pub fn reads_optimizer(self) -> bool {
        matches!(self, LoadMode::FreshOpt | LoadMode::SteppedOpt)
    }

    pub fn reads_params(self) -> bool {
        self != LoadMode::Header
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// An error that names the file and every item in `names`.
    Error,
    /// Either such an error or a load whose every value equals the undamaged file's.
    ErrorOrIdentical,
    /// A load whose every value equals the undamaged file's (a harmless difference).
    Identical,
}

impl Expect {
    pub fn name(self) -> &'static str {
        match self {
            Expect::Error => "error",
            Expect::ErrorOrIdentical => "error-or-identical",
            Expect::Identical => "identical",
        }
    }
    pub fn parse(s: &str) -> Expect {
        [Expect::Error, Expect::ErrorOrIdentical, Expect::Identical]
            .into_iter()
            .find(|e| e.name() == s)
            .unwrap_or_else(|| panic!("unknown expectation {s}"))
    }
}

#[derive(Debug, Clone)]
pub struct Case {
    pub kind: String,
    pub what: String,
    pub fx: Fx,
    pub mode: LoadMode,
    pub expect: Expect,
    pub path: PathBuf,
    /// Items (dataset paths, attribute or group names) the error message must name.
    pub names: Vec<String>,
}

impl Case {
    pub fn line(&self) -> String {
        let clean = |s: &str| s.replace(['\t', '\n'], " ");
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            clean(&self.kind),
            clean(&self.what),
            self.fx.name(),
            self.mode.name(),
            self.expect.name(),
            self.path.display(),
            self.names.join("|")
        )
    }

    pub fn parse(line: &str) -> Case {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 7, "bad manifest line {line}");
        Case {
            kind: f[0].into(),
            what: f[1].into(),
            fx: Fx::parse(f[2]),
            mode: LoadMode::parse(f[3]),
            expect: Expect::parse(f[4]),
            path: PathBuf::from(f[5]),
            names: f[6].split('|').filter(|s| !s.is_empty()).map(String::from).collect(),
        }
    }
}

/// Collects cases; each damaged file gets a unique name under `root()/cases`.
pub struct Cases {
    pub list: Vec<Case>,
    pub dir: PathBuf,
}

impl Cases {
    pub fn file(&self, stem: &str) -> PathBuf {
        self.dir.join(format!("{:04}-{stem}.h5", self.list.len()))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        kind: &str,
        what: &str,
        fx: Fx,
        mode: LoadMode,
        expect: Expect,
        path: &Path,
        names: &[&str],
    ) {
        self.list.push(Case {
            kind: kind.into(),
            what: what.into(),
            fx,
            mode,
            expect,
            path: path.to_path_buf(),
            names: names.iter().map(|s| s.to_string()).collect(),
        });
    }

    /// A copy of `fx`'s checkpoint changed by `edit` (through the HDF5 library, so the result
    /// is a well-formed HDF5 file holding a bad checkpoint), loaded in each of `modes`.
    #[allow(clippy::too_many_arguments)]
    pub fn edited(
        &mut self,
        kind: &str,
        what: &str,
        fx: Fx,
        modes: &[LoadMode],
        expect: Expect,
        names: &[&str],
        edit: impl FnOnce(&hdf5::File) -> hdf5::Result<()>,
    ) {
        // Edited through nn::io::open_rw_h5, which unseals it: a hand-made checkpoint, which the
        // loader's own checks must judge.
        let path = self.edit_copy(what, fx, true, edit);
        for &m in modes {
            self.push(kind, what, fx, m, expect, &path, names);
        }
    }

    /// Like [`Cases::edited`] but the seal is kept: a sealed checkpoint changed after saving.
    pub fn edited_sealed(
        &mut self,
        kind: &str,
        what: &str,
        fx: Fx,
        modes: &[LoadMode],
        edit: impl FnOnce(&hdf5::File) -> hdf5::Result<()>,
    ) {
        let path = self.edit_copy(what, fx, false, edit);
        for &m in modes {
            self.push(kind, what, fx, m, Expect::Error, &path, &[]);
        }
    }

    /// A copy of `fx`'s file changed by `edit`: through nn::io::open_rw_h5 (which unseals it)
    /// when `unseal`, else through the HDF5 library directly, as another program would.
    pub fn edit_copy(
        &self,
        what: &str,
        fx: Fx,
        unseal: bool,
        edit: impl FnOnce(&hdf5::File) -> hdf5::Result<()>,
    ) -> PathBuf {
        let path = self.file(&slug(what));
        std::fs::copy(fx.path(), &path).unwrap();
        let file = if unseal {
            nn::io::open_rw_h5(&path).unwrap()
        } else {
            hdf5::File::with_options().with_fapl(|p| p.file_locking(false)).open_rw(&path).unwrap()
        };
        edit(&file).unwrap_or_else(|e| panic!("cannot make case {what}: {e}"));
        file.close().unwrap();
        path
    }

    /// A file with the given bytes.
    #[allow(clippy::too_many_arguments)]
    pub fn bytes(
        &mut self,
        kind: &str,
        what: &str,
        fx: Fx,
        modes: &[LoadMode],
        expect: Expect,
        names: &[&str],
        b: &[u8],
    ) {
        let path = self.file(&slug(what));
        std::fs::write(&path, b).unwrap();
        for &m in modes {
            self.push(kind, what, fx, m, expect, &path, names);
        }
    }
}

pub fn slug(s: &str) -> String {
    let mut out: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' }).take(60).collect();
    out.truncate(60);
    out
}
