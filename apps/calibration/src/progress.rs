//! Progress bars for the steps that take more than a second: a count, the rate and the time
//! left. They draw on stderr, and only when the command line turned them on
//! ([`set_enabled`]) and stderr is a terminal, so tests, logs and library users stay clean.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns the bars of [`task`] on or off for the whole process (the CLI's `--quiet`).
pub fn set_enabled(on: bool) {
    ENABLED.store(on && std::io::stderr().is_terminal(), Ordering::Relaxed);
}

/// A bar over `len` items, labelled `what`, shown when enabled by [`set_enabled`].
pub fn task(len: u64, what: &str) -> ProgressBar {
    bar(len, what, ENABLED.load(Ordering::Relaxed))
}

/// A bar over `len` items, labelled `what`; hidden when `show` is false or stderr is not a
/// terminal.
pub fn bar(len: u64, what: &str, show: bool) -> ProgressBar {
    if !show || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{msg:<28} [{bar:30}] {human_pos}/{human_len} ({per_sec}, {eta} left)")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}
