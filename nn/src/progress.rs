//! The one place a progress bar is set up, so that every long step of the library (training,
//! prediction) and of the programs built on it looks the same and obeys one switch: a bar draws
//! on stderr only when stderr is a terminal and bars have not been turned off for the process
//! ([`set_enabled`], a command line's `--quiet`). Tests, logs and piped output stay clean.
//!
//! Every bar joins one set drawn together ([`indicatif::MultiProgress`]), so the trainings that a
//! study runs side by side each keep a bar of their own, one line each; [`println`] writes a
//! line above them without tearing them.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns every bar made by [`bar`] on or off for the whole process; on until turned off.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether bars are on for the process (see [`set_enabled`]).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The set every visible bar joins.
fn bars() -> &'static MultiProgress {
    static BARS: OnceLock<MultiProgress> = OnceLock::new();
    BARS.get_or_init(MultiProgress::new)
}

/// Whether bars are drawn: on for the process and stderr a terminal.
fn drawn() -> bool {
    enabled() && std::io::stderr().is_terminal()
}

/// A bar over `len` steps labelled `what` (its prefix, which a caller may update, e.g. with the
/// epoch); its message is free for a running status such as the loss. Hidden when bars are off
/// or stderr is not a terminal.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    if !drawn() {
        return ProgressBar::hidden();
    }
    let bar = bars().add(ProgressBar::new(len));
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos}/{len}, {per_sec} ({eta} left) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    bar
}

/// [`bar`] when `show` (a caller's own setting, such as `TrainConfig::progress`), else hidden.
pub fn bar_if(show: bool, len: u64, what: &str) -> ProgressBar {
    if show {
        bar(len, what)
    } else {
        ProgressBar::hidden()
    }
}

/// One line on stderr, above the bars being drawn (a plain `eprintln!` would tear them).
pub fn println(line: &str) {
    if drawn() {
        // The set writes the line above its bars; it fails only when stderr is gone.
        if bars().println(line).is_ok() {
            return;
        }
    }
    eprintln!("{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_and_the_callers_setting_hide_the_bar() {
        assert!(bar_if(false, 10, "x").is_hidden());
        set_enabled(false);
        assert!(!enabled());
        assert!(bar(10, "x").is_hidden());
        assert!(bar_if(true, 10, "x").is_hidden());
        set_enabled(true);
        assert!(enabled());
        // Shown exactly when stderr is a terminal.
        assert_eq!(bar(10, "x").is_hidden(), !std::io::stderr().is_terminal());
    }
}
