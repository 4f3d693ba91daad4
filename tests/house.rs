//! The house rules that a reviewer would otherwise check by hand, checked on every `make test`:
//!
//! - no Rust source file outside a `tests/` directory is longer than 700 lines, and no function
//!   anywhere in the tree is longer than 120 lines (the aims are 600 and 80; these are the limits
//!   past which a file or a function can no longer be read as one piece);
//! - nothing in the repository points outside it: a clone must explain itself, so no code,
//!   README or script cites a folder beside the repository or the documents it was planned from.
//!
//! The function rule reads rustfmt's layout (the closing brace of a function stands at the
//! indentation of its `fn`), which `make test` enforces with `cargo fmt --check` first.

use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 700;
const MAX_FN_LINES: usize = 120;

/// Every file below the repository root, without build output, VCS data and run outputs.
fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | ".git" | "out" | "node_modules" | "proptest-regressions") {
                    stack.push(path);
                }
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files() -> Vec<PathBuf> {
    files(&root()).into_iter().filter(|p| p.extension().is_some_and(|e| e == "rs")).collect()
}

fn in_tests_dir(path: &Path) -> bool {
    path.strip_prefix(root()).is_ok_and(|rel| rel.components().any(|c| c.as_os_str() == "tests"))
}

/// (first line, length) of every function with a body in `text`, by rustfmt's layout.
fn functions(text: &str) -> Vec<(usize, usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let Some(name) = fn_name(trimmed) else { continue };
        let indent = line.len() - trimmed.len();
        // The signature ends at the first line ending in `{` (a body) or `;` (a declaration).
        let Some(open) =
            (i..lines.len()).find(|&j| lines[j].trim_end().ends_with('{') || lines[j].trim_end().ends_with(';'))
        else {
            continue;
        };
        if lines[open].trim_end().ends_with(';') || lines[open].trim_end().ends_with("{}") {
            continue;
        }
        let close = (open + 1..lines.len()).find(|&j| {
            let l = lines[j];
            let t = l.trim_start();
            l.len() - t.len() == indent && t.starts_with('}')
        });
        if let Some(close) = close {
            found.push((i + 1, close - i + 1, name));
        }
    }
    found
}

/// The name of the function a line declares, if it declares one.
fn fn_name(trimmed: &str) -> Option<String> {
    let mut rest = trimmed;
    for prefix in ["pub(crate) ", "pub(super) ", "pub ", "const ", "async ", "unsafe ", "extern \"C\" "] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let rest = rest.strip_prefix("fn ")?;
    let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty()).then_some(name)
}

#[test]
fn no_source_file_is_too_long_to_read() {
    let long: Vec<String> = rust_files()
        .into_iter()
        .filter(|p| !in_tests_dir(p))
        .filter_map(|p| {
            let n = std::fs::read_to_string(&p).ok()?.lines().count();
            (n > MAX_FILE_LINES).then(|| format!("{} ({n} lines)", p.display()))
        })
        .collect();
    assert!(long.is_empty(), "files over {MAX_FILE_LINES} lines: split them by concern:\n{}", long.join("\n"));
}

#[test]
fn no_function_is_too_long_to_read() {
    let mut long = Vec::new();
    for path in rust_files() {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        for (line, n, name) in functions(&text) {
            if n > MAX_FN_LINES {
                long.push(format!("{}:{line} fn {name} ({n} lines)", path.display()));
            }
        }
    }
    assert!(long.is_empty(), "functions over {MAX_FN_LINES} lines:\n{}", long.join("\n"));
}

#[test]
fn nothing_points_outside_the_repository() {
    let text_like = ["rs", "md", "toml", "py", "sh", "txt", "html", "json"];
    let mut hits = Vec::new();
    for path in files(&root()) {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !(text_like.contains(&ext) || name == "Makefile" || path.parent().is_some_and(|d| d.ends_with("scripts"))) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        for (i, line) in text.lines().enumerate() {
            // Spelled in pieces so that this file does not match itself.
            let outside = ["../", "sha", "red/"].concat();
            let reference = ["sha", "red/", "refer", "ence/"].concat();
            if line.contains(&outside) || line.contains(&reference) {
                hits.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(hits.is_empty(), "lines that point outside the repository:\n{}", hits.join("\n"));
}

#[test]
fn the_function_reader_finds_bodies_and_skips_declarations() {
    let text = "fn a() {\n    1;\n}\n\npub(crate) fn b(\n    x: u8,\n) -> u8 {\n    x\n}\ntrait T {\n    fn c(&self);\n    fn d(&self) {}\n}\n";
    let found = functions(text);
    assert_eq!(found, vec![(1, 3, "a".to_string()), (5, 5, "b".to_string())]);
}
