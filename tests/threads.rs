//! `--threads N` splits the work between a reading thread, N - 2 workers and
//! a printing thread (and, for `flows` and `packets` to a pipe, shares the
//! application decoding between them). Whatever the split, every view must
//! print exactly what one thread prints: same bytes on stdout and stderr,
//! same exit code, on every capture we have, on a capture cut short, and with
//! filters.

mod common;

use std::path::PathBuf;

use common::{osiscope, repo};

/// Every capture in the repository: the bundled samples, the public corpus and
/// the synthetic mix (12 interleaved WebSocket and Socket.IO connections).
fn captures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![
        repo().join("captures"),
        repo().join("tests/corpus"),
        repo().join("tests/synthetic"),
    ];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p
                .extension()
                .is_some_and(|x| matches!(x.to_str(), Some("pcap" | "pcapng" | "cap")))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `args` on one thread and on each of `threads`: the same output.
fn same_every_way(args: &[&str], threads: &[&str]) {
    let mut one: Vec<&str> = args.to_vec();
    one.extend(["--threads", "1"]);
    let a = osiscope(&one);
    for n in threads {
        let mut more: Vec<&str> = args.to_vec();
        more.extend(["--threads", n]);
        let b = osiscope(&more);
        assert_eq!(
            a.status.code(),
            b.status.code(),
            "{args:?} on {n}: exit code"
        );
        assert!(a.stdout == b.stdout, "{args:?} on {n}: stdout differs");
        assert_eq!(
            String::from_utf8_lossy(&a.stderr),
            String::from_utf8_lossy(&b.stderr),
            "{args:?} on {n}: stderr"
        );
    }
}

const VIEWS: [&[&str]; 9] = [
    &["walk"],
    &["walk", "--format", "json"],
    &["flows"],
    &["flows", "--format", "json"],
    &["packets"],
    &["packets", "--format", "json"],
    &["layers", "--format", "json"],
    &["messages"],
    &["messages", "--format", "json"],
];

#[test]
fn every_view_prints_the_same_on_one_two_or_three_threads() {
    let files = captures();
    assert!(files.len() > 190, "{} captures", files.len());
    for f in &files {
        let f = f.to_str().expect("utf-8 path");
        for v in VIEWS {
            let mut args = v.to_vec();
            args.push(f);
            same_every_way(&args, &["2", "3"]);
        }
    }
}

#[test]
fn filters_and_a_cut_capture_print_the_same() {
    let mix = "tests/synthetic/ws-mix-1m.pcap";
    for extra in [
        &["--connection", "4"][..],
        &["--connection", "3"],
        &["--port", "80", "--host", "10.0.0.2"],
    ] {
        for v in VIEWS {
            let mut args = v.to_vec();
            args.extend(extra);
            args.push(mix);
            same_every_way(&args, &["2", "3", "4", "16"]);
        }
    }
    // Cut inside a record: exit code 1, the same lines before the error line.
    let bytes = std::fs::read(repo().join(mix)).expect("read");
    let dir = std::env::temp_dir().join(format!("osiscope-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3 + 7]).expect("write");
    let cut = cut.to_str().expect("utf-8");
    for v in VIEWS {
        let mut args = v.to_vec();
        args.push(cut);
        same_every_way(&args, &["2", "3", "4"]);
        assert_eq!(osiscope(&args).status.code(), Some(1), "{args:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `walk` on two threads or more renders finished connections in runs, on
/// several threads (up to 64 at a time, and every open one at the end of a
/// capture): 200 WebSocket connections one after another, some finishing as
/// the capture goes and the rest at its end, print as on one thread.
#[test]
fn connections_rendered_in_runs_print_as_on_one_thread() {
    use common::synth::{Session, tmp, websocket_upgrade, ws_frame};
    let path = tmp("threads-runs.pcap");
    let mut s = Session::new(&path);
    for i in 0..200u16 {
        websocket_upgrade(&mut s, None, "/chat");
        s.server(&ws_frame(1, format!("hello {i} – \"quoted\"").as_bytes()));
        s.w.wait(100_000);
        s = s.reconnect(40001 + i);
    }
    s.close();
    let p = path.to_str().expect("utf-8 path");
    for v in [
        &["walk"][..],
        &["walk", "--format", "json"],
        &["walk", "--brief"],
    ] {
        let mut args = v.to_vec();
        args.push(p);
        same_every_way(&args, &["2", "3", "4"]);
    }
    let records = common::json_lines(&["walk", "--format", "json", "--threads", "3", p]);
    assert_eq!(records.len(), 201);
    let ids: Vec<u64> = records.iter().filter_map(|r| r["id"].as_u64()).collect();
    assert_eq!(ids, (0..201).collect::<Vec<u64>>());
}
