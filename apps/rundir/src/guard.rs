//! No command writes over one of its own inputs. `calibration predict --data x.h5 --out x.h5`
//! would otherwise replace the clusters with predictions; a symbolic or hard link, `./x.h5` or
//! `dir/../x.h5` are the same file under another name, so names are not compared as text: each
//! path is resolved to the file it reaches (and, where both exist, compared by device and inode).

use nn::io::FileError;
use std::path::{Path, PathBuf};

/// Refuses when any of `outputs` is the same file as any of `inputs`, naming both. Call it
/// before the first expensive step, with every file the command reads (data, models, tables,
/// prediction files, configuration) and every file it will write. Inputs that do not exist are
/// skipped (their own reader says so); outputs need not exist yet.
pub fn refuse_overwrite(inputs: &[&Path], outputs: &[&Path]) -> Result<(), FileError> {
    for output in outputs {
        for input in inputs.iter().filter(|i| i.exists()) {
            if same_file(input, output) {
                return Err(FileError::new(
                    output,
                    format!(
                        "is the input {} (the same file); writing it would destroy that input: choose another output",
                        input.display()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Whether `a` and `b` name one file: the same inode where both exist, else the same resolved
/// path (an output that does not exist yet resolves through its directory).
fn same_file(a: &Path, b: &Path) -> bool {
    if let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            return ma.dev() == mb.dev() && ma.ino() == mb.ino();
        }
        #[cfg(not(unix))]
        {
            let _ = (ma, mb);
        }
    }
    match (resolved(a), resolved(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The canonical path of `p`, or of its directory joined with its name when `p` does not exist.
fn resolved(p: &Path) -> Option<PathBuf> {
    if let Ok(c) = p.canonicalize() {
        return Some(c);
    }
    let name = p.file_name()?;
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Some(dir.canonicalize().ok()?.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rundir-guard-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("sub")).unwrap();
        d
    }

    #[test]
    fn an_output_that_is_an_input_is_refused_under_any_name() {
        let d = temp_dir("names");
        let data = d.join("x.h5");
        std::fs::write(&data, b"clusters").unwrap();
        let other = d.join("sub").join("..").join("x.h5");
        for out in [data.clone(), other] {
            let e = refuse_overwrite(&[Path::new("/nonexistent/model.h5"), &data], &[&d.join("y.h5"), &out])
                .unwrap_err()
                .to_string();
            assert!(e.contains("x.h5") && e.contains("same file"), "{e}");
        }
        #[cfg(unix)]
        {
            let link = d.join("link.h5");
            std::os::unix::fs::symlink(&data, &link).unwrap();
            assert!(refuse_overwrite(&[&data], &[&link]).is_err());
            let hard = d.join("hard.h5");
            std::fs::hard_link(&data, &hard).unwrap();
            assert!(refuse_overwrite(&[&hard], &[&data]).is_err());
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn distinct_and_missing_files_pass() {
        let d = temp_dir("distinct");
        let data = d.join("x.h5");
        std::fs::write(&data, b"clusters").unwrap();
        std::fs::write(d.join("y.h5"), b"old predictions").unwrap();
        assert!(refuse_overwrite(&[&data], &[&d.join("y.h5"), &d.join("sub/x.h5"), &d.join("new.h5")]).is_ok());
        assert!(refuse_overwrite(&[&d.join("missing.h5")], &[&d.join("missing.h5")]).is_ok());
        assert!(refuse_overwrite(&[], &[&data]).is_ok());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
