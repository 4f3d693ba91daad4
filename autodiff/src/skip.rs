//! Skipped tests that say so. A test that cannot run here (no wgpu adapter, say) returns early
//! and cargo counts it as passed; a green run would then hide what it did not run. A skip goes
//! through [`skip`], which prints it on stderr (not captured by the test harness) and, when
//! `SIGMAGRAD_SKIP_LOG` names a file, appends one line there, so that `make test` can count the
//! skips of all test binaries at the end (scripts/skipped-tests).

use std::io::Write;

/// The environment variable naming the file every skip is appended to.
pub const SKIP_LOG_VAR: &str = "SIGMAGRAD_SKIP_LOG";

/// Records that the calling test skips, and why. The test's name is its thread's (the harness
/// names each test's thread after it).
pub fn skip(reason: &str) {
    record(reason, std::env::var_os(SKIP_LOG_VAR).as_deref().map(std::path::Path::new));
}

fn record(reason: &str, log: Option<&std::path::Path>) {
    let thread = std::thread::current();
    let line = format!("SKIPPED {}: {reason}\n", thread.name().unwrap_or("(unnamed test)"));
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(path) = log {
        // One write of one short line with O_APPEND: concurrent test binaries do not interleave.
        if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = file.write_all(line.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_skip_is_appended_to_the_log() {
        let dir = std::env::temp_dir().join(format!("sigmagrad-skip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("skips.log");
        super::record("one", Some(&log));
        super::record("two", Some(&log));
        let text = std::fs::read_to_string(&log).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("a_skip_is_appended_to_the_log: one"), "{text}");
    }
}
