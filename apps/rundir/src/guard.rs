//! No command writes over one of its inputs: before anything is written, every output path is
//! compared with every input path in canonical form (symbolic links and `..` resolved), and a
//! command that names one file as both, or an input inside an output directory, is refused.

use nn::io::FileError;
use std::path::{Component, Path, PathBuf};

/// The canonical form of a path that may not exist yet: its nearest existing ancestor
/// canonicalized, the rest appended as given (with `.` and `..` resolved lexically).
fn canonical(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
    };
    let mut base = absolute.clone();
    let mut rest = Vec::new();
    while !base.exists() {
        match (base.file_name().map(|n| n.to_os_string()), base.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                base = parent.to_path_buf();
            }
            _ => return absolute,
        }
    }
    let mut out = base.canonicalize().unwrap_or(base);
    for part in rest.iter().rev() {
        for c in Path::new(part).components() {
            match c {
                Component::ParentDir => {
                    out.pop();
                }
                Component::CurDir => {}
                other => out.push(other),
            }
        }
    }
    out
}

/// Refuses when an output is one of the inputs, or a directory that holds one: the command
/// would destroy what it reads. Inputs that do not exist are left to their readers to report.
pub fn refuse_overwrite(inputs: &[&Path], outputs: &[&Path]) -> Result<(), FileError> {
    for input in inputs {
        let Ok(i) = input.canonicalize() else { continue };
        for output in outputs {
            let o = canonical(output);
            if i == o {
                return Err(FileError::new(
                    input,
                    format!(
                        "is also an output of this command ({}) and would be overwritten: write the output \
                         elsewhere or copy the input first",
                        output.display()
                    ),
                ));
            }
            if i.starts_with(&o) {
                return Err(FileError::new(
                    input,
                    format!(
                        "lies inside {}, which this command replaces: move the input out of it or write the \
                         output elsewhere",
                        output.display()
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rundir-guard-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn an_output_that_is_an_input_is_refused_by_any_name() {
        let d = dir("same");
        let input = d.join("truth.h5");
        std::fs::write(&input, "x").unwrap();
        let e = refuse_overwrite(&[&input], &[&input]).unwrap_err();
        assert!(e.to_string().contains("truth.h5") && e.to_string().contains("overwritten"), "{e}");
        // The same file through `..` and through a symbolic link.
        let roundabout = d.join("sub").join("..").join("truth.h5");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        assert!(refuse_overwrite(&[&input], &[&roundabout]).is_err());
        #[cfg(unix)]
        {
            let link = d.join("link.h5");
            std::os::unix::fs::symlink(&input, &link).unwrap();
            assert!(refuse_overwrite(&[&link], &[&input]).is_err());
        }
    }

    #[test]
    fn an_input_inside_an_output_directory_is_refused_and_distinct_files_pass() {
        let d = dir("inside");
        std::fs::create_dir_all(d.join("out/model")).unwrap();
        let input = d.join("out/model/best.h5");
        std::fs::write(&input, "x").unwrap();
        let e = refuse_overwrite(&[&input], &[&d.join("out/model")]).unwrap_err();
        assert!(e.to_string().contains("best.h5") && e.to_string().contains("inside"), "{e}");
        let other = d.join("other.h5");
        std::fs::write(&other, "x").unwrap();
        // Outputs that do not exist yet, beside the input or in a directory still to be made.
        refuse_overwrite(&[&other], &[&d.join("out/weights.h5"), &d.join("new/dir/metrics.json")]).unwrap();
        // A missing input is its reader's to report.
        refuse_overwrite(&[&d.join("missing.h5")], &[&d.join("missing.h5")]).unwrap();
    }
}
