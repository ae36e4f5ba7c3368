//! A progress bar on standard error for long runs over a capture file: bytes
//! read, packets per second and connections open. It appears only when a
//! person is watching and nothing else is drawing there: standard error is a
//! terminal, standard output is not (a table on the same terminal would be
//! torn by it), the input is a regular file of at least [`MIN_FILE`] bytes,
//! and `--no-progress` was not given. It is cleared before anything else is
//! printed on standard error.

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Files smaller than this are read too fast for a bar to help.
pub const MIN_FILE: u64 = 16 * 1024 * 1024;
/// Frames between updates (an update is two atomic stores).
const EVERY: u64 = 4096;

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// No bar.
    pub fn none() -> Progress {
        Progress { bar: None }
    }

    /// A bar for reading `path`, if it should be shown (see the module docs).
    pub fn for_file(path: &Path, enabled: bool) -> Progress {
        let size = std::fs::metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map_or(0, |m| m.len());
        let watched = std::io::stderr().is_terminal() && !std::io::stdout().is_terminal();
        if !enabled || !watched || size < MIN_FILE {
            return Progress::none();
        }
        let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr_with_hz(5));
        let style = ProgressStyle::with_template(
            "{bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} · {msg} · {eta} left",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar: Some(bar) }
    }

    /// After frame number `frame`, which ended at byte `offset`; reading began at `started`.
    pub fn update(&self, frame: u64, offset: u64, started: Instant, open: usize) {
        let Some(bar) = &self.bar else { return };
        if !frame.is_multiple_of(EVERY) {
            return;
        }
        bar.set_position(offset);
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        bar.set_message(format!(
            "{frame} packets ({:.0}k/s) · {open} connections open",
            frame as f64 / secs / 1000.0
        ));
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
