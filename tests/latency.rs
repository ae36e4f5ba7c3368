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
    // Every pair of every capture with WebSocket, counted: a pair lost by
    // both derivations at once would show here.
    assert_eq!((pings, acks, beats), (13, 11, 7));
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
    assert_eq!(n, 91, "pairs tshark makes");
}

/// The pairs of one kind on one connection: (from, to, ns, network ns, think ns, what).
fn listed(record: &Value, kind: &str) -> Vec<(u64, u64, i128, i128, i128, String)> {
    let obj = if kind == "heartbeat" {
        &record["latency"]["heartbeat"]["pongs"]
    } else {
        &record["latency"][kind]
    };
    let ns = |v: &Value| (v.as_f64().expect("seconds") * 1e9).round() as i128;
    obj["pairs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["from_frame"].as_u64().expect("from"),
                p["to_frame"].as_u64().expect("to"),
                ns(&p["seconds"]),
                ns(&p["network"]),
                ns(&p["think"]),
                p["what"].as_str().expect("what").to_owned(),
            )
        })
        .collect()
}

/// A Socket.IO server whose handlers sleep (40, 80, 120 ms asked by the
/// client): each ack comes later than the sleep, the network's share is the
/// loopback's microseconds, and the rest is the server's.
#[test]
fn slow_socketio_handlers_show_as_server_time() {
    let w = walk("captures/socketio-slow.pcap");
    assert_eq!(w.len(), 1);
    let acks = listed(&w[0], "socketio_ack");
    let frames: Vec<(u64, u64)> = acks.iter().map(|a| (a.0, a.1)).collect();
    assert_eq!(
        frames,
        [(12, 14), (15, 17), (18, 20), (21, 23), (26, 27), (30, 32)]
    );
    for (ack, sleep_ms) in acks.iter().zip([40, 80, 120]) {
        assert!(ack.2 > sleep_ms * 1_000_000, "{ack:?}");
        assert!(ack.3 < 1_000_000, "loopback: {ack:?}");
        assert_eq!(
            ack.3 + ack.4,
            ack.2,
            "network + server = the whole: {ack:?}"
        );
        assert!(ack.4 > sleep_ms * 1_000_000, "{ack:?}");
    }
    assert_eq!(acks[0].5, r#""save" #0"#);
    // The namespace's own id 0, and the server's own question (asked by it).
    assert_eq!(acks[4].5, r#"/admin "stats" #0"#);
    assert_eq!(acks[5].5, r#""confirm" #0"#);
    let confirm = &w[0]["latency"]["socketio_ack"]["pairs"][5];
    assert_eq!(confirm["asked_by"], "server");
    let hb = &w[0]["latency"]["heartbeat"];
    assert_eq!(hb["ping_interval_ms"], 300);
    assert_eq!(hb["ping_timeout_ms"], 200);
    assert_eq!(hb["pongs"]["count"], 3);
    assert_eq!(
        (hb["late_pongs"].as_u64(), hb["late_pings"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(hb["interval"]["count"], 2);
    let beats: Vec<(u64, u64)> = listed(&w[0], "heartbeat")
        .iter()
        .map(|b| (b.0, b.1))
        .collect();
    assert_eq!(beats, [(28, 31), (34, 35), (37, 38)]);
    // flows: the same summary, nearest-rank percentiles, no pairs.
    let f = &common::json_lines(&["flows", "--format", "json", "captures/socketio-slow.pcap"])[0];
    let s = &f["latency"]["socketio_ack"];
    assert_eq!(s["count"], 6);
    assert_eq!(
        s["p50"],
        w[0]["latency"]["socketio_ack"]["pairs"][5]["seconds"]
    );
    assert_eq!(
        s["max"],
        w[0]["latency"]["socketio_ack"]["pairs"][2]["seconds"]
    );
    assert!(s.get("pairs").is_none());
    // messages: the saves and their acks, the time on the ack.
    let m = common::json_lines(&[
        "messages",
        "--format",
        "json",
        "captures/socketio-slow.pcap",
        "--event",
        "save",
    ]);
    let rows: Vec<(u64, &str, Option<u64>)> = m
        .iter()
        .map(|r| {
            (
                r["frame"].as_u64().expect("frame"),
                r["type"].as_str().expect("type"),
                r["reply_to"]["from_frame"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (12, "EVENT", None),
            (14, "ACK", Some(12)),
            (15, "EVENT", None),
            (17, "ACK", Some(15)),
            (18, "EVENT", None),
            (20, "ACK", Some(18))
        ]
    );
}

/// A WebSocket server that pongs 50 ms late.
#[test]
fn a_late_pong_shows_as_server_time() {
    let w = walk("captures/ws-slow-pong.pcap");
    let pings = listed(&w[0], "ws_ping");
    let got: Vec<(u64, u64, &str)> = pings.iter().map(|p| (p.0, p.1, p.5.as_str())).collect();
    assert_eq!(
        got,
        [
            (8, 10, r#"ping "hb-1""#),
            (11, 13, r#"ping "hb-2""#),
            (14, 16, r#"ping "hb-3""#)
        ]
    );
    for p in &pings {
        assert!(p.4 >= 50_000_000 && p.3 < 1_000_000, "{p:?}");
    }
    let text = common::stdout(&["walk", "captures/ws-slow-pong.pcap"]);
    let line = text.lines().find(|l| l.contains("#10 ")).expect("frame 10");
    assert!(
        line.ends_with("; pong 55.187 ms after frame 8: network 17 µs, server 55.170 ms"),
        "{line}"
    );
}

/// One Socket.IO client across three connections: recovered after the
/// server closed its transport, a new session after the server restarted
/// (one attempt refused in between).
#[test]
fn a_reconnecting_client_is_followed_across_connections() {
    let path = "captures/socketio-reconnect.pcap";
    let w = walk(path);
    let flows = common::json_lines(&["flows", "--format", "json", path]);
    let end = |id: usize| {
        flows[id]["start"].as_f64().expect("start") + flows[id]["duration"].as_f64().expect("d")
    };
    let resumes: Vec<(u64, &Value)> = w
        .iter()
        .filter_map(|c| {
            let r = &c["socketio"]["resumes"];
            (!r.is_null()).then(|| (c["id"].as_u64().expect("id"), r))
        })
        .collect();
    assert_eq!(resumes.len(), 2, "{resumes:?}");
    let (id, r) = resumes[0];
    assert_eq!((id, r["connection"].as_u64()), (1, Some(0)));
    assert_eq!(r["by"], "recovery_pid");
    assert_eq!(r["recovered"], true);
    assert_eq!(r["refused_between"], 0);
    assert_eq!(
        r["earlier_ended"],
        "the server closed the transport with a WebSocket close"
    );
    // The pid offered is the one connection 0 was granted.
    let granted = w[0]["socketio"]["connects"]
        .as_array()
        .expect("connects")
        .iter()
        .find(|c| c["from"] == "server")
        .expect("granted")["pid"]
        .clone();
    assert_eq!(r["pid"], granted);
    let gap = flows[1]["start"].as_f64().expect("start") - end(0);
    assert!((r["gap_seconds"].as_f64().expect("gap") - gap).abs() < 1e-9);
    let (id, r) = resumes[1];
    assert_eq!((id, r["connection"].as_u64()), (3, Some(1)));
    assert_eq!(r["recovered"], false);
    assert_eq!(r["refused_between"], 1);
    assert_eq!(flows[2]["state"], "refused");
}

/// Without a session id to offer (no connection-state recovery), a client
/// that comes back is tied by a guess: the same address and server, in
/// time order, under another Engine.IO session. A synthetic capture (made
/// here, not recorded): two Socket.IO connections from one client, the
/// first ended by the server's DISCONNECT.
#[test]
fn a_client_without_a_session_id_is_tied_by_a_marked_guess() {
    use common::synth::{Session, tmp, websocket_upgrade, ws_frame, ws_header};
    let masked = |text: &str| {
        let mut f = ws_header(1, false, false, text.len() as u64, Some([0; 4]));
        f.extend_from_slice(text.as_bytes());
        f
    };
    let open = |s: &mut Session, sid: &str| {
        websocket_upgrade(s, None, "/socket.io/?EIO=4&transport=websocket");
        let o =
            format!(r#"0{{"sid":"{sid}","upgrades":[],"pingInterval":25000,"pingTimeout":20000}}"#);
        s.server(&ws_frame(1, o.as_bytes()));
        s.client(&masked("40"));
        s.server(&ws_frame(1, br#"40{"sid":"sock1"}"#));
    };
    let path = tmp("guess.pcap");
    let mut s = Session::new(&path);
    open(&mut s, "EIO-A");
    s.client(&masked(r#"420["save",1]"#));
    s.server(&ws_frame(1, br#"430[{"ok":1}]"#));
    s.server(&ws_frame(1, b"41"));
    let mut s = s.reconnect(40001);
    open(&mut s, "EIO-B");
    s.close();
    let p = path.to_str().expect("utf-8 path");
    let w = walk(p);
    assert_eq!(w.len(), 2);
    assert!(w[0]["socketio"].get("resumes").is_none());
    let r = &w[1]["socketio"]["resumes"];
    assert_eq!(r["connection"], 0);
    assert_eq!(r["by"], "guess");
    assert_eq!(r["earlier_ended"], "the server sent a Socket.IO DISCONNECT");
    assert!(r.get("recovered").is_none() && r.get("pid").is_none());
    // The ack of the first session, timed in the capture's microseconds.
    assert_eq!(listed(&w[0], "socketio_ack").len(), 1);
    let text = common::stdout(&["walk", p, "-q"]);
    assert!(
        text.contains("a guess: same client address, server and path, in time order"),
        "{text}"
    );
    assert!(
        text.contains("Socket.IO client across 2 connections"),
        "{text}"
    );
}
