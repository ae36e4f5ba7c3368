//! Bounded memory under floods and holes. The captures here are synthetic,
//! built in code with etherparse and written with pcap-file, so the numbers
//! are known exactly.

mod common;

use common::synth::{Synth, capped, tmp};
use osiscope::capture::CaptureReader;
use osiscope::report::walk::{MAX_STEP_BYTES, MAX_WAITING_IN_MEMORY, WalkFormat, WalkView};
use osiscope::run::{self, RunOptions};

#[test]
fn a_syn_flood_evicts_instead_of_growing() {
    let path = tmp("synflood.pcap");
    let n: u32 = 300_000;
    {
        let mut s = Synth::new(&path);
        for i in 0..n {
            let src = [10, 1, (i >> 16) as u8, (i >> 8) as u8];
            s.tcp(
                src,
                1024 + (i % 60000) as u16,
                [10, 0, 0, 1],
                80,
                i.wrapping_mul(7919),
                None,
                "S",
                &[],
            );
        }
    }
    let p = path.display().to_string();
    // 200 MB of address space: 300,000 tracked connections would need far more.
    let (code, out) = capped(
        200_000,
        &format!("flows --format json --max-connections 1000 {p}"),
    );
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.len(),
        n as usize,
        "one summary per connection, none lost"
    );
    let evicted = lines
        .iter()
        .filter(|l| l.contains("\"evicted\":true"))
        .count();
    assert!(evicted as u32 >= n - 1000, "{evicted} evicted");
    assert!(
        lines[0].starts_with("{\"id\":0,")
            && lines[lines.len() - 1].starts_with(&format!("{{\"id\":{},", n - 1))
    );
    assert!(lines.iter().all(|l| l.contains("\"state\":\"unanswered\"")));
    let (_, text) = capped(200_000, &format!("flows --max-connections 1000 {p}"));
    assert!(text.ends_with(&format!(
        "note: {} connections were finished early because the connection table was full (--max-connections)\n",
        evicted
    )));
    std::fs::remove_file(&path).ok();
    std::fs::remove_dir(path.parent().expect("dir")).ok();
}

#[test]
fn a_stream_full_of_holes_declares_gaps_within_the_buffer_limit() {
    let path = tmp("holes.pcap");
    let (c, s) = ([10, 0, 0, 2], [10, 0, 0, 1]);
    let seg = vec![b'x'; 1000];
    let segments = 3000u32;
    {
        let mut w = Synth::new(&path);
        w.tcp(c, 40000, s, 80, 0, None, "S", &[]);
        w.tcp(s, 80, c, 40000, 5000, Some(1), "SA", &[]);
        w.tcp(c, 40000, s, 80, 1, Some(5001), "A", &[]);
        // Every other 1000-byte segment is missing: 1.5 MB of holes, more than
        // the 1 MiB out-of-order buffer can hold.
        for i in (0..segments).filter(|i| i % 2 == 1) {
            w.tcp(c, 40000, s, 80, 1 + i * 1000, Some(5001), "PA", &seg);
        }
        w.tcp(c, 40000, s, 80, 1 + segments * 1000, Some(5001), "FA", &[]);
        w.tcp(s, 80, c, 40000, 5001, Some(2 + segments * 1000), "FA", &[]);
        w.tcp(c, 40000, s, 80, 2 + segments * 1000, Some(5002), "A", &[]);
    }
    let p = path.display().to_string();
    let (code, out) = capped(200_000, &format!("flows --format json {p}"));
    assert_eq!(code, 0);
    let f: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    let delivered = f["stream_bytes"]["client_to_server"].as_u64().unwrap();
    let gaps = f["gap_bytes"]["client_to_server"].as_u64().unwrap();
    assert_eq!(
        delivered,
        u64::from(segments / 2) * 1000,
        "every byte sent is delivered"
    );
    assert_eq!(
        gaps,
        u64::from(segments / 2) * 1000,
        "every missing byte is a declared gap"
    );
    assert!(f["anomalies"]["gap"].as_u64().unwrap() > 0);
    assert!(
        f["anomalies"]["lost_segment"].as_u64().unwrap() > 0,
        "tshark's 'previous segment not captured'"
    );
    assert!(f["history"].as_str().unwrap().contains('G'));
    assert_eq!(f["state"], "closed");
    std::fs::remove_file(&path).ok();
    std::fs::remove_dir(path.parent().expect("dir")).ok();
}

/// `walk` of the synthetic 1 MB mix with the steps of all open connections
/// limited to `budget` bytes.
fn walk(budget: usize) -> String {
    let path = common::repo().join("tests/synthetic/ws-mix-1m.pcap");
    let mut reader = CaptureReader::open(&path).expect("open");
    let mut out = Vec::new();
    let mut view = WalkView::new(&mut out, WalkFormat::Text, false, false).step_budget(budget);
    let opts = RunOptions {
        detail: true,
        ..RunOptions::default()
    };
    assert!(run::source(&mut reader, &mut view, opts).is_ok());
    drop(view);
    String::from_utf8(out).expect("utf-8")
}

/// A SYNTHETIC capture: connection 0 opens and stays open while `n`
/// others open, close and linger out (6 s, past the flow table's 5 s), so
/// they finish before it; then it talks and closes.
fn one_long_many_short(n: u16) -> std::path::PathBuf {
    let path = tmp("one-long-many-short.pcap");
    let mut s = Synth::new(&path);
    let (client, server) = ([10, 1, 0, 1], [10, 0, 0, 1]);
    let long = |s: &mut Synth, seq: u32, flags: &str, data: &[u8], back: bool| {
        if back {
            s.tcp(server, 80, client, 1000, 5000 + seq, Some(101), flags, data);
        } else {
            s.tcp(client, 1000, server, 80, 100 + seq, Some(5001), flags, data);
        }
    };
    s.tcp(client, 1000, server, 80, 100, None, "S", &[]);
    s.tcp(server, 80, client, 1000, 5000, Some(101), "SA", &[]);
    long(&mut s, 1, "A", &[], false);
    for i in 0..n {
        let port = 2000 + i;
        s.tcp(client, port, server, 80, 7, None, "S", &[]);
        s.tcp(server, 80, client, port, 70, Some(8), "SA", &[]);
        s.tcp(client, port, server, 80, 8, Some(71), "PA", b"hi");
        s.tcp(server, 80, client, port, 71, Some(10), "FA", &[]);
        s.tcp(client, port, server, 80, 10, Some(72), "FA", &[]);
        s.tcp(server, 80, client, port, 72, Some(11), "A", &[]);
    }
    s.wait(6_000_000);
    long(&mut s, 1, "PA", b"late", false);
    long(&mut s, 1, "FA", &[], true);
    s.tcp(client, 1000, server, 80, 105, Some(5002), "FA", &[]);
    s.tcp(server, 80, client, 1000, 5002, Some(106), "A", &[]);
    drop(s);
    path
}

/// `walk --format FORMAT` of `path`, with `in_memory` bytes of finished
/// connections waiting in memory; and how many waited in the temporary file.
fn walk_waiting(path: &std::path::Path, format: WalkFormat, in_memory: usize) -> (Vec<u8>, u64) {
    let mut reader = CaptureReader::open(path).expect("open");
    let mut out = Vec::new();
    let mut view = WalkView::new(&mut out, format, false, false).waiting_in_memory(in_memory);
    assert!(run::source(&mut reader, &mut view, RunOptions::default()).is_ok());
    let to_file = view.waited_in_file();
    drop(view);
    (out, to_file)
}

/// Finished connections that wait for a lower-numbered one in the temporary
/// file come back in order, byte for byte.
#[test]
fn walk_waits_in_a_file_and_prints_the_same() {
    let path = one_long_many_short(40);
    for format in [WalkFormat::Text, WalkFormat::Json, WalkFormat::Svg] {
        let (memory, none) = walk_waiting(&path, format, MAX_WAITING_IN_MEMORY);
        let (file, waited) = walk_waiting(&path, format, 0);
        assert_eq!(none, 0, "{format:?}: the default keeps these in memory");
        assert_eq!(
            waited, 40,
            "{format:?}: all short connections waited in the file"
        );
        assert!(memory == file, "{format:?}: the file changed the output");
    }
    let (text, _) = walk_waiting(&path, WalkFormat::Text, 0);
    let text = String::from_utf8(text).expect("utf-8");
    let ids: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("Connection ")?.split(' ').next())
        .collect();
    let want: Vec<String> = (0..=40).map(|i| i.to_string()).collect();
    assert_eq!(ids, want, "printed in connection order");
    std::fs::remove_file(&path).ok();
}

/// Past the budget for all open connections, steps are counted and the
/// reason is printed; within it, every step is kept.
#[test]
fn walk_steps_share_one_budget() {
    let full = walk(MAX_STEP_BYTES);
    assert!(!full.contains("more steps not kept"), "{full}");
    let short = walk(16 * 1024);
    assert!(
        short.contains("more steps not kept (limit 16 KiB of steps held for all open connections)"),
        "{short}"
    );
    assert!(short.len() < full.len());
    // Every connection is still told.
    let told = |t: &str| t.lines().filter(|l| l.starts_with("Connection ")).count();
    assert_eq!((told(&short), told(&full)), (12, 12));
}
