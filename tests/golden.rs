//! Output digests: every command line of `tests/golden/commands.txt` on every
//! capture in the repository (captures/, tests/corpus/, tests/synthetic/,
//! tests/fuzz-regressions/), and the live views replayed over each capture,
//! must print exactly what is recorded in `tests/golden/digests.tsv`: the
//! exit status and a SHA-1 of standard output and of standard error.
//!
//! This is what proves a redesign changed nothing a user sees. After an
//! intended change of output, re-record and read the diff of the digests
//! beside the snapshot diffs:
//!
//! ```sh
//! OSISCOPE_GOLDEN=record cargo test --test golden
//! ```
//!
//! Large files (the benchmark captures) are checked the same way with a
//! release binary, outside `cargo test`: `tests/golden/big.sh`.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use sha1::{Digest, Sha1};

fn to_hex(digest: &[u8]) -> String {
    let mut s = String::with_capacity(40);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn hex(bytes: &[u8]) -> String {
    to_hex(&Sha1::digest(bytes))
}

/// The command templates, `{}` standing for the capture.
fn commands() -> Vec<String> {
    let text = std::fs::read_to_string(common::repo().join("tests/golden/commands.txt"))
        .expect("tests/golden/commands.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Captures under `dir` (relative to the repository), sorted.
fn captures_in(dir: &str, out: &mut Vec<String>) {
    let root = common::repo();
    let mut stack = vec![root.join(dir)];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                let rel = p.strip_prefix(&root).expect("under the repository");
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
}

fn small_captures() -> Vec<String> {
    let mut v = Vec::new();
    for d in [
        "captures",
        "tests/corpus",
        "tests/synthetic",
        "tests/fuzz-regressions",
    ] {
        captures_in(d, &mut v);
    }
    v.sort();
    v
}

/// Runs one command line; returns its record line (without the file and
/// command columns). Standard output is hashed as it comes: `layers` on a big
/// capture prints gigabytes.
fn run(bin: &Path, line: &str, file: &str) -> String {
    use std::io::Read;
    let args: Vec<String> = line
        .split_whitespace()
        .map(|a| {
            if a == "{}" {
                file.to_owned()
            } else {
                a.to_owned()
            }
        })
        .collect();
    let mut child = Command::new(bin)
        .args(&args)
        .current_dir(common::repo())
        .env_remove("NO_COLOR")
        .env_remove("SSLKEYLOGFILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run osiscope");
    let mut stderr = child.stderr.take().expect("stderr");
    let errs = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let mut stdout = child.stdout.take().expect("stdout");
    let mut h = Sha1::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match stdout.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("reading osiscope's output: {e}"),
        }
    }
    let status = child.wait().expect("wait");
    let err = errs.join().expect("stderr thread");
    format!(
        "{}\t{}\t{}",
        status.code().unwrap_or(-1),
        to_hex(&h.finalize()),
        hex(&err)
    )
}

/// Digests of every command on every file, keyed by "file\tcommand".
fn digest_all(bin: &Path, files: &[String]) -> BTreeMap<String, String> {
    let cmds = commands();
    let jobs: Vec<(String, String)> = files
        .iter()
        .flat_map(|f| cmds.iter().map(move |c| (f.clone(), c.clone())))
        .collect();
    let next = Mutex::new(0usize);
    let results = Mutex::new(BTreeMap::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().expect("lock");
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some((f, c)) = jobs.get(i) else { break };
                    let r = run(bin, c, f);
                    results.lock().expect("lock").insert(format!("{f}\t{c}"), r);
                }
            });
        }
    });
    results.into_inner().expect("lock")
}

fn read_digests(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let c: Vec<&str> = l.splitn(3, '\t').collect();
            (c.len() == 3).then(|| (format!("{}\t{}", c[0], c[1]), c[2].to_owned()))
        })
        .collect()
}

fn write_digests(path: &Path, got: &BTreeMap<String, String>) {
    let mut s = String::from(
        "# file\tcommand\texit\tsha1(stdout)\tsha1(stderr) — written by tests/golden.rs\n",
    );
    for (k, v) in got {
        let _ = writeln!(s, "{k}\t{v}");
    }
    std::fs::write(path, s).expect("write digests");
}

/// Compares (or, with OSISCOPE_GOLDEN=record, records) `got` against `path`.
fn check(path: &Path, got: BTreeMap<String, String>) {
    if std::env::var("OSISCOPE_GOLDEN").as_deref() == Ok("record") {
        write_digests(path, &got);
        return;
    }
    let want = read_digests(path);
    assert!(
        !want.is_empty(),
        "{}: no digests recorded (OSISCOPE_GOLDEN=record)",
        path.display()
    );
    let mut diffs = Vec::new();
    for (k, w) in &want {
        match got.get(k) {
            Some(g) if g == w => {}
            Some(g) => diffs.push(format!("changed: {k}\n   was {w}\n   now {g}")),
            None => diffs.push(format!("not run: {k}")),
        }
    }
    for k in got.keys().filter(|k| !want.contains_key(*k)) {
        diffs.push(format!("not recorded: {k}"));
    }
    assert!(
        diffs.is_empty(),
        "{} of {} outputs differ from {} (first 30 below). Rerun a command to see its output; \
         if the change is intended, re-record with OSISCOPE_GOLDEN=record cargo test --test golden\n{}",
        diffs.len(),
        want.len(),
        path.display(),
        diffs
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_view_on_every_capture() {
    let files = small_captures();
    assert!(files.len() > 190, "captures found: {}", files.len());
    let got = digest_all(Path::new(env!("CARGO_BIN_EXE_osiscope")), &files);
    check(&common::repo().join("tests/golden/digests.tsv"), got);
}

/// `export`'s tables: every capture exported as JSON Lines on one thread and
/// on two, and as Parquet, must write exactly the recorded bytes (one SHA-1
/// over the five tables' files in order) and say the same on standard error.
#[test]
fn export_tables_on_every_capture() {
    let bin = Path::new(env!("CARGO_BIN_EXE_osiscope"));
    let tmp = std::env::temp_dir().join(format!("osiscope-golden-export-{}", std::process::id()));
    let forms = [
        ("export {} --threads 1", "jsonl", "1"),
        ("export {} --threads 2", "jsonl", "2"),
        ("export {} --as parquet", "parquet", "2"),
    ];
    let jobs: Vec<(String, usize)> = small_captures()
        .into_iter()
        .flat_map(|f| (0..forms.len()).map(move |i| (f.clone(), i)))
        .collect();
    let next = Mutex::new(0usize);
    let results = Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8)) {
            s.spawn(|| {
                loop {
                    let n = {
                        let mut n = next.lock().expect("lock");
                        *n += 1;
                        *n - 1
                    };
                    let Some((f, i)) = jobs.get(n) else { break };
                    let (name, form, threads) = forms[*i];
                    let out = tmp.join(n.to_string());
                    let o = Command::new(bin)
                        .args(["export", f, "--out"])
                        .arg(&out)
                        .args(["--as", form, "--threads", threads])
                        .current_dir(common::repo())
                        .env_remove("SSLKEYLOGFILE")
                        .output()
                        .expect("run osiscope");
                    let label = Path::new(f).file_name().expect("name").to_string_lossy();
                    let mut h = Sha1::new();
                    for t in [
                        "conn",
                        "websocket",
                        "ws_messages",
                        "socketio_events",
                        "http",
                    ] {
                        let p = out
                            .join(t)
                            .join(format!("file={label}"))
                            .join(format!("part.{form}"));
                        // A capture that cannot be opened writes none.
                        h.update(std::fs::read(p).unwrap_or_default());
                    }
                    let err = String::from_utf8_lossy(&o.stderr)
                        .replace(&out.to_string_lossy().into_owned(), "OUT");
                    let _ = std::fs::remove_dir_all(&out);
                    results.lock().expect("lock").insert(
                        format!("{f}\t{name}"),
                        format!(
                            "{}\t{}\t{}",
                            o.status.code().unwrap_or(-1),
                            to_hex(&h.finalize()),
                            hex(err.as_bytes())
                        ),
                    );
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&tmp);
    let got = results.into_inner().expect("lock");
    // One thread or two: the same tables.
    for (k, v) in &got {
        if let Some(f) = k.strip_suffix("\texport {} --threads 1") {
            let two = &got[&format!("{f}\texport {{}} --threads 2")];
            assert_eq!(v, two, "{f}: --threads 1 and 2 differ");
        }
    }
    check(&common::repo().join("tests/golden/export-digests.tsv"), got);
}

/// The live views (`osiscope live walk|packets|flows|messages`, text and JSON) replayed
/// over each capture: they report connections as they close, which the file
/// views do not.
#[test]
fn live_views_on_every_capture() {
    let mut got = BTreeMap::new();
    for f in small_captures() {
        for (name, out) in live::all(&common::repo().join(&f)) {
            got.insert(format!("{f}\tlive {name}"), format!("0\t{}\t-", hex(&out)));
        }
    }
    check(&common::repo().join("tests/golden/live-digests.tsv"), got);
}

/// Big files with a release binary: `OSISCOPE_GOLDEN_BIG="file…"
/// OSISCOPE_BIN=target/release/osiscope cargo test --test golden -- --ignored`
/// (tests/golden/big.sh does this).
#[test]
#[ignore = "needs the benchmark captures; run by tests/golden/big.sh"]
fn every_view_on_big_captures() {
    let files: Vec<String> = std::env::var("OSISCOPE_GOLDEN_BIG")
        .expect("OSISCOPE_GOLDEN_BIG")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let bin = std::env::var("OSISCOPE_BIN").map_or_else(
        |_| PathBuf::from(env!("CARGO_BIN_EXE_osiscope")),
        PathBuf::from,
    );
    let got = digest_all(&bin, &files);
    let path = std::env::var("OSISCOPE_GOLDEN_BIG_DIGESTS").map_or_else(
        |_| common::repo().join("tests/golden/big-digests.tsv"),
        PathBuf::from,
    );
    check(&path, got);
}

/// The live views, driven in process as `osiscope live` drives them.
mod live {
    use std::path::Path;

    use osiscope::capture::CaptureReader;
    use osiscope::report::flows::FlowsView;
    use osiscope::report::messages::MessagesView;
    use osiscope::report::packets::PacketsView;
    use osiscope::report::walk::{WalkFormat, WalkView};
    use osiscope::report::{Format, View};
    use osiscope::run::{self, RunOptions};

    fn drive(path: &Path, view: &mut dyn View, detail: bool) {
        drive_with(path, view, detail, false)
    }

    fn drive_with(path: &Path, view: &mut dyn View, detail: bool, texts: bool) {
        let Ok(mut reader) = CaptureReader::open(path) else {
            return;
        };
        let opts = RunOptions {
            live: true,
            detail,
            texts,
            ..RunOptions::default()
        };
        let _ = run::source(&mut reader, view, opts);
    }

    pub fn all(path: &Path) -> Vec<(&'static str, Vec<u8>)> {
        let mut res = Vec::new();
        for (name, f) in [("walk", WalkFormat::Text), ("walk json", WalkFormat::Json)] {
            let mut out = Vec::new();
            let mut v = WalkView::new(&mut out, f, false, false).live();
            drive(path, &mut v, true);
            drop(v);
            res.push((name, out));
        }
        for (name, f, table) in [
            ("packets", Format::Table, false),
            ("packets table", Format::Table, true),
            ("packets json", Format::Json, false),
        ] {
            let mut out = Vec::new();
            let mut v = PacketsView::new(&mut out, f, false).table(table).live();
            drive(path, &mut v, false);
            drop(v);
            res.push((name, out));
        }
        for (name, f) in [("flows", Format::Table), ("flows json", Format::Json)] {
            let mut out = Vec::new();
            let mut v = FlowsView::new(&mut out, f).live();
            drive(path, &mut v, false);
            drop(v);
            res.push((name, out));
        }
        for (name, f) in [("messages", Format::Table), ("messages json", Format::Json)] {
            let mut out = Vec::new();
            let mut v = MessagesView::new(&mut out, f, Default::default()).live();
            drive_with(path, &mut v, false, true);
            drop(v);
            res.push((name, out));
        }
        res
    }
}
