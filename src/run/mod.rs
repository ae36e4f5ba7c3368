//! Running a capture through a view: capture → decode → flow → proto →
//! report, one frame at a time.
//!
//! - [`options`]: what a run is asked to do ([`RunOptions`], [`Filter`]);
//! - [`core`]: the reading side, the same whatever the threads: read,
//!   decode, follow TCP, hand on in capture order;
//! - [`analyzers`]: the protocol stacks of the open connections;
//! - [`single`]: the consuming side (analyzers and view), and the run on one
//!   thread;
//! - [`pipeline`]: the run on two threads or more, reading on one, printing
//!   on another, the rest shared where the view allows, printing exactly
//!   what one thread prints;
//! - [`worker`]: the threads between the reading and the printing one;
//! - [`batch`]: what travels between the threads;
//! - [`handoff`]: how it is handed from one thread to the next.
//!
//! [`capture`] and [`source`] pick the driver, as ripgrep's main picks
//! `search` or `search_parallel`; neither driver calls the other. Both end
//! the same way: the progress bar is cleared and the view's `finish` is
//! called, also after an error.

pub mod analyzers;
mod batch;
pub mod core;
mod handoff;
pub mod options;
pub mod pipeline;
pub mod progress;
pub mod single;
mod worker;

use std::path::Path;

use crate::capture::{CaptureReader, FrameSource};
use crate::report::View;

pub use options::{Filter, HostBlock, MAX_HELD_MESSAGES, RunError, RunOptions, Tally};
pub use progress::Progress;

/// Runs a capture file through a view on `threads` threads. The output does
/// not depend on the number of threads.
pub fn file(
    path: &Path,
    view: &mut dyn View,
    opts: RunOptions,
    threads: usize,
) -> Result<(), RunError> {
    // A file that cannot be opened is reported before any view starts.
    let reader = CaptureReader::open(path).map_err(RunError::Capture)?;
    let progress = Progress::for_file(path, opts.progress);
    capture(reader, progress, view, opts, threads)
}

/// As [`file`], for a capture already open (the bundled sample, a test's bytes).
pub fn capture(
    mut reader: CaptureReader,
    progress: Progress,
    view: &mut dyn View,
    opts: RunOptions,
    threads: usize,
) -> Result<(), RunError> {
    let opts = opts.shared();
    if let (Some(w), Some(i)) = (&opts.write, reader.info().interfaces.first()) {
        w.lock()
            .unwrap_or_else(|e| e.into_inner())
            .input_linktype(i.linktype);
    }
    let res = if threads > 1 {
        pipeline::run(&mut reader, view, &opts, &progress, threads)
    } else {
        single::run(&mut reader, view, &opts, &progress)
    };
    progress.finish();
    let res = end(view, res);
    match res {
        Ok(()) => opts.tally.nothing_listed(&opts.filter).map_or(Ok(()), Err),
        e => e,
    }
}

/// Runs a source that is not a file (a live capture) on this thread.
pub fn source(
    source: &mut dyn FrameSource,
    view: &mut dyn View,
    opts: RunOptions,
) -> Result<(), RunError> {
    let res = single::run(source, view, &opts.shared(), &Progress::none());
    end(view, res)
}

/// The view's end, after the run's: an output error of either is reported
/// (the view's first), else the run's outcome.
fn end(view: &mut dyn View, res: Result<(), RunError>) -> Result<(), RunError> {
    view.finish()?;
    res
}
