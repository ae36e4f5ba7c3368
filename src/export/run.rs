//! Many captures, one per worker: each capture's tables go to their own
//! files, `DIR/TABLE/file=NAME/part.EXT` (Hive-style partitions, which
//! DuckDB, Spark, Polars and pyarrow read as a `file` column), so the
//! output of a capture is the same whether it was exported alone or with
//! others, and workers never share a file.
//!
//! A worker reads its capture on one thread; a single capture is read on
//! the threads asked for. Memory is what one run takes, per worker.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::har::Har;
use super::table::{Form, TableWriter};
use super::tables::TABLES;
use super::view::{ExportView, Sink, Tables};
use crate::capture::CaptureReader;
use crate::run::{Progress, RunError, RunOptions};

/// File names read from a directory: captures, also compressed.
const CAPTURE_SUFFIXES: &[&str] = &[
    ".pcap",
    ".pcapng",
    ".cap",
    ".pcap.gz",
    ".pcapng.gz",
    ".pcap.zst",
    ".pcapng.zst",
];
/// Directory levels read below a directory named on the command line.
pub const MAX_DEPTH: usize = 32;

/// What to export, and where.
pub struct Job {
    pub captures: Vec<PathBuf>,
    pub out: Option<PathBuf>,
    pub form: Form,
    pub har: Option<PathBuf>,
    /// Captures read at once.
    pub jobs: usize,
    /// Threads for a capture exported alone.
    pub threads: usize,
    pub opts: RunOptions,
}

/// How one capture went.
pub struct Outcome {
    pub capture: PathBuf,
    /// Rows per table, in [`TABLES`] order (None without `--out`).
    pub rows: Option<[u64; 5]>,
    pub result: Result<(), RunError>,
}

/// The captures named: files as given, directories read for capture files
/// (sorted, at most [`MAX_DEPTH`] levels down).
pub fn captures(named: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in named {
        if !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let mut found = Vec::new();
        let mut stack = vec![(p.clone(), 0)];
        while let Some((dir, depth)) = stack.pop() {
            let rd = std::fs::read_dir(&dir)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.to_string_lossy())))?;
            for e in rd {
                let path = e?.path();
                if path.is_dir() {
                    if depth < MAX_DEPTH {
                        stack.push((path, depth + 1));
                    }
                } else if path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_ascii_lowercase())
                    .is_some_and(|n| CAPTURE_SUFFIXES.iter().any(|s| n.ends_with(s)))
                {
                    found.push(path);
                }
            }
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// A capture's name in its partition directory and `file` column: its
/// file name, with characters a path or a partition value cannot hold as
/// `_`.
pub fn label(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(|| "stdin".into(), |n| n.to_string_lossy().into_owned());
    let name = if name == "-" { "stdin".into() } else { name };
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Two captures with one name would write one partition: said before
/// anything is written.
pub fn clashes(captures: &[PathBuf]) -> Option<(PathBuf, PathBuf)> {
    let mut seen: HashMap<String, &PathBuf> = HashMap::new();
    for c in captures {
        if let Some(first) = seen.insert(label(c), c) {
            return Some((first.clone(), c.clone()));
        }
    }
    None
}

/// The file of a capture's table.
pub fn part_path(out: &Path, table: &str, label: &str, form: Form) -> PathBuf {
    out.join(table)
        .join(format!("file={label}"))
        .join(format!("part.{}", form.extension()))
}

/// Files are written under a temporary name and renamed when complete, so
/// a reader never takes a half-written file for a table.
fn temporary(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

fn one(job: &Job, capture: &Path, threads: usize) -> Outcome {
    // Opened before any table is made: a capture that cannot be opened
    // writes none.
    let reader = match CaptureReader::open(capture) {
        Ok(r) => r,
        Err(e) => {
            return Outcome {
                capture: capture.to_owned(),
                rows: None,
                result: Err(RunError::Capture(e)),
            };
        }
    };
    let label = label(capture);
    let fail = |e: io::Error| Outcome {
        capture: capture.to_owned(),
        rows: None,
        result: Err(RunError::Output(e)),
    };
    let mut parts = Vec::new();
    let tables = match &job.out {
        Some(out) => {
            let mut sinks = Vec::new();
            for (name, cols) in TABLES {
                let path = part_path(out, name, &label, job.form);
                let made = path
                    .parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .and_then(|()| TableWriter::create(&temporary(&path), cols, job.form));
                match made {
                    Ok(w) => sinks.push(Sink { writer: w, rows: 0 }),
                    Err(e) => {
                        let p = path.to_string_lossy().into_owned();
                        return fail(io::Error::new(e.kind(), format!("{p}: {e}")));
                    }
                }
                parts.push(path);
            }
            let Ok([conn, websocket, ws_messages, socketio_events, http]) =
                <[Sink; 5]>::try_from(sinks)
            else {
                return fail(io::Error::other("the table list has five tables"));
            };
            Some(Tables {
                conn,
                websocket,
                ws_messages,
                socketio_events,
                http,
            })
        }
        None => None,
    };
    let har = match &job.har {
        Some(p) => match Har::create(&temporary(p)) {
            Ok(h) => {
                parts.push(p.clone());
                Some(h)
            }
            Err(e) => {
                let p = p.to_string_lossy().into_owned();
                return fail(io::Error::new(e.kind(), format!("{p}: {e}")));
            }
        },
        None => None,
    };
    let mut view = ExportView::new(label, tables, har);
    let opts = RunOptions {
        whole_texts: true,
        texts: true,
        tally: Default::default(),
        messages: None,
        ..job.opts.clone()
    };
    let progress = Progress::for_file(capture, opts.progress);
    let mut result = crate::run::capture(reader, progress, &mut view, opts, threads);
    let rows = view.counts();
    // What was read before a fault is kept: the files are completed either way.
    let closed = view.close().and_then(|()| {
        parts
            .iter()
            .try_for_each(|p| std::fs::rename(temporary(p), p))
    });
    if let Err(e) = closed
        && result.is_ok()
    {
        result = Err(RunError::Output(e));
    }
    Outcome {
        capture: capture.to_owned(),
        rows,
        result,
    }
}

/// Exports every capture, `job.jobs` at a time; outcomes in the order of
/// `job.captures`.
pub fn run(job: &Job) -> Vec<Outcome> {
    if job.captures.len() == 1 {
        return vec![one(job, &job.captures[0], job.threads)];
    }
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<Outcome>>> =
        Mutex::new((0..job.captures.len()).map(|_| None).collect());
    let workers = job.jobs.clamp(1, job.captures.len());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(c) = job.captures.get(i) else {
                        break;
                    };
                    let o = one(job, c, 1);
                    done.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(o);
                }
            });
        }
    });
    done.into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}
