//! How long replies took, checked against the capture itself: every pair
//! osiscope reports is derived here again, independently, from tshark's
//! recorded dissection (tests/expected/tshark: the WebSocket opcodes, masks,
//! ping/pong payloads and texts, HTTP's `request_in`, each frame's capture
//! time), and every duration must be the difference of the two frames'
//! capture times to the nanosecond. Then the bundled captures of slow
//! servers and of a reconnecting client, value by value.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use serde_json::Value;

/// (path, connection, request frame, why tshark has no pair there).
const KNOWN_DIFFERENCES: &[(&str, u64, u64, &str)] = &[(
    "tests/corpus/zeek/tcp-http-with-padding.pcap",
    0,
    18,
    "HTTP on port 27272: tshark reads the response but not the request (it reads HTTP only on \
     the ports it knows), so it pairs nothing",
)];

fn known(path: &str, p: &Pair) -> bool {
    KNOWN_DIFFERENCES
        .iter()
        .any(|(f, c, r, _)| *f == path && *c == p.0 && *r == p.1)
}

/// (connection, from frame, to frame, seconds).
type Pair = (u64, u64, u64, i128);

/// `walk --format json` of a capture (with its key log, if it has one).
fn walk(path: &str) -> Vec<Value> {
    let mut args = vec!["walk", "--format", "json", path];
    let keys = format!("{}.keys", path.trim_end_matches(".pcap"));
    if common::exists(&keys) {
        args.extend(["--keylog", keys.as_str()]);
    }
    common::json_lines(&args)
}

/// The pairs of one kind in the walk records, durations in ns.
fn pairs_of(records: &[Value], kind: &str) -> BTreeSet<Pair> {
    let mut out = BTreeSet::new();
    for c in records {
        let id = c["id"].as_u64().expect("id");
        let obj = if kind == "heartbeat" {
            &c["latency"]["heartbeat"]["pongs"]
        } else {
            &c["latency"][kind]
        };
        for p in obj["pairs"].as_array().into_iter().flatten() {
            let s = p["seconds"].as_f64().expect("seconds");
            out.insert((
                id,
                p["from_frame"].as_u64().expect("from"),
                p["to_frame"].as_u64().expect("to"),
                (s * 1e9).round() as i128,
            ));
        }
    }
    out
}

/// Capture time of each frame in ns, from tshark's `frame.time_epoch`.
fn times(path: &str) -> HashMap<u64, i128> {
    common::tshark_rows(path, ".tsv")
        .expect("frames")
        .iter()
        .map(|r| {
            let (s, f) = r["frame.time_epoch"].split_once('.').expect("epoch");
            let ns = s.parse::<i128>().expect("secs") * 1_000_000_000
                + format!("{f:0<9}")[..9].parse::<i128>().expect("nanos");
            (r["frame.number"].parse().expect("frame"), ns)
        })
        .collect()
}

/// One WebSocket frame as tshark dissected it.
struct WsFrame {
    frame: u64,
    stream: u64,
    /// Masked: sent by the client.
    client: bool,
    opcode: u8,
    /// Ping/pong payload in hex, or the text.
    payload: String,
}

/// Whether each frame was sent by its connection's client (the side that
/// sent the SYN), when the capture has the SYN.
fn from_client(path: &str) -> HashMap<u64, bool> {
    let rows = common::tshark_rows(path, ".tsv").expect("frames");
    let mut client: HashMap<String, String> = HashMap::new();
    for r in &rows {
        if r["tcp.flags"] == "0x0002" {
            client
                .entry(r["tcp.stream"].clone())
                .or_insert_with(|| r["tcp.srcport"].clone());
        }
    }
    rows.iter()
        .filter_map(|r| {
            let c = client.get(&r["tcp.stream"])?;
            Some((r["frame.number"].parse().ok()?, *c == r["tcp.srcport"]))
        })
        .collect()
}

/// The WebSocket frames tshark dissected, in order; None when a packet
/// holds several frames whose payloads cannot be told apart. The sender is
/// the TCP side; without a SYN, the mask says (a client masks).
fn ws_frames(path: &str, suffix: &str) -> Option<Vec<WsFrame>> {
    let rows = common::tshark_rows(path, suffix)?;
    let sides = from_client(path);
    let mut out = Vec::new();
    for r in rows {
        let ops: Vec<&str> = r["websocket.opcode"].split(',').collect();
        let masks: Vec<&str> = r["websocket.mask"].split(',').collect();
        let frame = r["frame.number"].parse().ok()?;
        let stream = r["tcp.stream"].split(',').next()?.parse().ok()?;
        let field = |name: &str| -> Vec<String> {
            r[name]
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let (pings, pongs) = (
            field("websocket.payload.ping"),
            field("websocket.payload.pong"),
        );
        let n_ping = ops.iter().filter(|o| **o == "9").count();
        let n_pong = ops.iter().filter(|o| **o == "10").count();
        // An empty payload has no field: only countable when alone.
        let fits = |n: usize, got: usize| got == n || (n == 1 && got == 0);
        if !fits(n_ping, pings.len()) || !fits(n_pong, pongs.len()) {
            return None;
        }
        let (mut pi, mut po) = (pings.into_iter(), pongs.into_iter());
        for (i, op) in ops.iter().enumerate() {
            let Ok(opcode) = op.parse::<u8>() else {
                continue;
            };
            let payload = match opcode {
                9 => pi.next().unwrap_or_default(),
                10 => po.next().unwrap_or_default(),
                1 if ops.len() == 1 => r["websocket.payload.text"].clone(),
                _ => String::new(),
            };
            out.push(WsFrame {
                frame,
                stream,
                client: sides
                    .get(&frame)
                    .copied()
                    .unwrap_or_else(|| masks.get(i).is_some_and(|m| *m == "1")),
                opcode,
                payload,
            });
        }
    }
    Some(out)
}

/// Ping → pong pairs as RFC 6455 §5.5.3 has them: a pong answers the oldest
/// waiting ping of the other side with the same payload (those before it
/// are given up).
fn expected_pings(frames: &[WsFrame], t: &HashMap<u64, i128>) -> BTreeSet<Pair> {
    let mut waiting: BTreeMap<(u64, bool), Vec<(u64, String)>> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for f in frames {
        match f.opcode {
            9 => waiting
                .entry((f.stream, f.client))
                .or_default()
                .push((f.frame, f.payload.clone())),
            10 => {
                let q = waiting.entry((f.stream, !f.client)).or_default();
                if let Some(i) = q.iter().position(|(_, p)| *p == f.payload) {
                    let (from, _) = q.drain(..=i).next_back().expect("found");
                    out.insert((f.stream, from, f.frame, t[&f.frame] - t[&from]));
                }
            }
            _ => {}
        }
    }
    out
}

/// A Socket.IO packet's type, namespace and ack id from its Engine.IO text
/// (`42/admin,7["x"]`, `437[...]`).
fn sio_ack(text: &str) -> Option<(char, String, u64)> {
    let rest = text.strip_prefix('4')?;
    let kind = rest.chars().next()?;
    if !matches!(kind, '2' | '3') {
        return None;
    }
    let mut rest = &rest[1..];
    let mut ns = "/".to_owned();
    if rest.starts_with('/') {
        let (n, r) = rest.split_once(',')?;
        ns = n.to_owned();
        rest = r;
    }
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((kind, ns, digits.parse().ok()?))
}

/// Emit → ack pairs (same namespace and id, the other side) and Engine.IO
/// ping → pong pairs, from the texts of single-frame packets.
fn expected_sio(frames: &[WsFrame], t: &HashMap<u64, i128>) -> (BTreeSet<Pair>, BTreeSet<Pair>) {
    let mut acks = BTreeSet::new();
    let mut beats = BTreeSet::new();
    let mut emits: Vec<(u64, bool, String, u64, u64)> = Vec::new();
    let mut pings: BTreeMap<(u64, bool), u64> = BTreeMap::new();
    for f in frames.iter().filter(|f| f.opcode == 1) {
        match f.payload.as_str() {
            "2" | "2probe" => {
                pings.insert((f.stream, f.client), f.frame);
            }
            "3" | "3probe" => {
                if let Some(from) = pings.remove(&(f.stream, !f.client)) {
                    beats.insert((f.stream, from, f.frame, t[&f.frame] - t[&from]));
                }
            }
            text => match sio_ack(text) {
                Some(('2', ns, id)) => emits.push((f.stream, f.client, ns, id, f.frame)),
                Some(('3', ns, id)) => {
                    if let Some(i) = emits
                        .iter()
                        .position(|e| e.0 == f.stream && e.1 != f.client && e.2 == ns && e.3 == id)
                    {
                        let e = emits.remove(i);
                        acks.insert((f.stream, e.4, f.frame, t[&f.frame] - t[&e.4]));
                    }
                }
                _ => {}
            },
        }
    }
    (acks, beats)
}

/// Every capture tshark dissected WebSocket in: (path, its table's suffix).
fn websocket_captures() -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for s in common::summaries() {
        for suffix in [".ws.tsv", ".wss.tsv"] {
            if common::exists(&s.path) && common::tshark_rows(&s.path, suffix).is_some() {
                out.push((s.path.clone(), suffix));
            }
        }
    }
    out
}

#[test]
fn every_ping_and_ack_is_paired_and_timed_by_the_capture() {
    let mut report = String::new();
    let (mut pings, mut acks, mut beats) = (0, 0, 0);
    for (path, suffix) in websocket_captures() {
        let Some(frames) = ws_frames(&path, suffix) else {
            let _ = writeln!(report, "{path}: tshark's frames cannot be told apart");
            continue;
        };
        let t = times(&path);
        let records = walk(&path);
        let want = expected_pings(&frames, &t);
        let got = pairs_of(&records, "ws_ping");
        if want != got {
            let _ = writeln!(
                report,
                "{path}: ping → pong\n  tshark {want:?}\n  osiscope {got:?}"
            );
        }
        pings += want.len();
        let (want_acks, want_beats) = expected_sio(&frames, &t);
        let got_acks = pairs_of(&records, "socketio_ack");
        if want_acks != got_acks {
            let _ = writeln!(
                report,
                "{path}: emit → ack\n  tshark {want_acks:?}\n  osiscope {got_acks:?}"
            );
        }
        let got_beats = pairs_of(&records, "heartbeat");
        if want_beats != got_beats {
            let _ = writeln!(
                report,
                "{path}: Engine.IO ping → pong\n  tshark {want_beats:?}\n  osiscope {got_beats:?}"
            );
        }
        acks += want_acks.len();
        beats += want_beats.len();
    }
    eprintln!("{pings} ping → pong, {acks} emit → ack, {beats} Engine.IO ping → pong pairs");
    assert!(report.is_empty(), "{report}");
    assert!(
        pings >= 10 && acks >= 10 && beats >= 8,
        "too few pairs: {pings} {acks} {beats}"
    );
}

#[test]
fn every_http_response_is_timed_from_its_request_as_tshark_pairs_them() {
    let mut report = String::new();
    let mut n = 0;
    for s in common::summaries() {
        let Some(rows) = common::tshark_rows(&s.path, ".http.tsv") else {
            continue;
        };
        if !common::exists(&s.path) {
            continue;
        }
        let t = times(&s.path);
        let want: BTreeSet<Pair> = rows
            .iter()
            .filter_map(|r| {
                let to: u64 = r["frame.number"].parse().ok()?;
                let from: u64 = r["http.request_in"].parse().ok()?;
                let stream = r["tcp.stream"].parse().ok()?;
                // Interim answers (100 Continue) are not the reply.
                let code: u64 = r["http.response.code"].parse().ok()?;
                (code / 100 != 1 || code == 101).then(|| (stream, from, to, t[&to] - t[&from]))
            })
            .collect();
        let got = pairs_of(&walk(&s.path), "http");
        let missing: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got
            .difference(&want)
            .filter(|p| !known(&s.path, p))
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            let _ = writeln!(
                report,
                "{}: tshark only {missing:?}, osiscope only {extra:?}",
                s.path
            );
        }
        n += want.len();
    }
    eprintln!("{n} HTTP request → response pairs");
    assert!(report.is_empty(), "{report}");
    assert!(n >= 50, "only {n} pairs");
}
