//! Every HTTP request and response in captures/ and tests/corpus/ is placed
//! where tshark 4.0 places it (tests/expected/tshark/*.http.tsv, recorded by
//! tests/tshark/record.sh): at the frame that ends the message, its body
//! included, on the same TCP stream, with the same method and status. Checked
//! in the connection records (`request_frame`, `response_frame`) and in the
//! walk's steps; inside TLS with the capture's key log, as tshark was given.

mod common;

use std::collections::BTreeSet;

use serde_json::Value;

/// (stream, frame, "GET" or a status code): one HTTP message.
type Message = (u64, u64, String);

/// Where osiscope knowingly differs from tshark: (path, stream, frame, why).
/// A frame of 0 is every frame of the stream.
const KNOWN_DIFFERENCES: &[(&str, u64, u64, &str)] = &[
    (
        "tests/corpus/arkime/no-syn-ack.pcap",
        1,
        10,
        "the capture ends inside the response's body: osiscope lists the response at its head, tshark (never completing it) not at all",
    ),
    (
        "tests/corpus/arkime/twovlan.pcap",
        0,
        6,
        "the capture ends inside the response's body: osiscope lists the response at its head, tshark not at all",
    ),
    (
        "tests/corpus/zeek/mixed-vlan-mpls.pcap",
        2,
        37,
        "an HTTP/0.9 request (`GET /` without a version): tshark reads it, osiscope reports a malformed head",
    ),
    (
        "tests/corpus/zeek/tcp-http-with-padding.pcap",
        0,
        18,
        "HTTP on port 27272: osiscope reads HTTP on any port, tshark only on the ports it knows",
    ),
    (
        "tests/corpus/zeek/tcp/payload-synack.pcap",
        0,
        2,
        "a request inside a SYN-ACK (a test of protocol abuse): tshark reads it as HTTP, osiscope as the server's bytes, which are not a response",
    ),
];

fn known(path: &str, stream: u64, frame: u64) -> bool {
    KNOWN_DIFFERENCES
        .iter()
        .any(|(p, s, f, _)| *p == path && *s == stream && (*f == 0 || *f == frame))
}

/// Frames tshark marks as retransmissions: it dissects their HTTP again,
/// osiscope reads each byte of the stream once.
fn retransmissions(path: &str) -> BTreeSet<u64> {
    common::tshark_rows(path, ".tcp.tsv")
        .unwrap_or_default()
        .into_iter()
        .filter(|r| {
            !r["tcp.analysis.retransmission"].is_empty()
                || !r["tcp.analysis.fast_retransmission"].is_empty()
        })
        .filter_map(|r| r["frame.number"].parse().ok())
        .collect()
}

/// A 1xx other than 101 is interim: a step of the walk, not the answer
/// that the connection record pairs with its request.
fn interim(m: &Message) -> bool {
    m.2.len() == 3 && m.2.starts_with('1') && m.2 != "101"
}

fn tshark_messages(path: &str) -> Option<BTreeSet<Message>> {
    let rows = common::tshark_rows(path, ".http.tsv")?;
    let again = retransmissions(path);
    let mut out = BTreeSet::new();
    for r in rows {
        let frame: u64 = r["frame.number"].parse().expect("frame.number");
        let stream: u64 = r["tcp.stream"].parse().expect("tcp.stream");
        if again.contains(&frame) {
            continue;
        }
        // A packet can end several pipelined messages: each is one value.
        for m in r["http.request.method"]
            .split(',')
            .filter(|s| !s.is_empty())
        {
            out.insert((stream, frame, m.to_owned()));
        }
        for c in r["http.response.code"].split(',').filter(|s| !s.is_empty()) {
            out.insert((stream, frame, c.to_owned()));
        }
    }
    Some(out)
}

fn args_for(path: &str) -> Vec<String> {
    let mut a = vec![path.to_owned()];
    let keys = format!("{}.keys", path.trim_end_matches(".pcap"));
    if path.starts_with("captures/") && common::exists(&keys) {
        a.extend(["--keylog".to_owned(), keys]);
    }
    a
}

/// Records of `view --format json` on a capture (with its key log).
fn json_of(view: &str, path: &str) -> Vec<Value> {
    let mut args = vec![view, "--format", "json"];
    let rest = args_for(path);
    args.extend(rest.iter().map(String::as_str));
    common::json_lines(&args)
}

/// Each message as the connection records place it: the request at
/// `request_key`, the response at `response_key` (`request_frame` and
/// `response_frame`, or the head frames).
fn record_messages(path: &str, request_key: &str, response_key: &str) -> BTreeSet<Message> {
    let mut out = BTreeSet::new();
    for c in json_of("flows", path) {
        let id = c["id"].as_u64().expect("id");
        for tx in c["http"].as_array().into_iter().flatten() {
            if let (Some(f), Some(m)) = (tx[request_key].as_u64(), tx["method"].as_str()) {
                out.insert((id, f, m.to_owned()));
            }
            if let (Some(f), Some(s)) = (tx[response_key].as_u64(), tx["status"].as_u64()) {
                out.insert((id, f, s.to_string()));
            }
        }
    }
    out
}

/// The frames of the walk's HTTP steps, by connection.
fn walk_frames(path: &str) -> BTreeSet<(u64, u64)> {
    let mut out = BTreeSet::new();
    for c in json_of("walk", path) {
        let id = c["id"].as_u64().expect("id");
        for st in c["timeline"].as_array().into_iter().flatten() {
            if matches!(st["kind"].as_str(), Some("http_request" | "http_response")) {
                out.insert((id, st["frame"].as_u64().expect("frame")));
            }
        }
    }
    out
}

#[test]
fn every_http_message_is_where_tshark_puts_it() {
    let mut checked = 0;
    let mut files = 0;
    let mut report = String::new();
    for s in common::summaries() {
        let Some(want) = tshark_messages(&s.path) else {
            continue;
        };
        files += 1;
        checked += want.len();
        let path = s.path.as_str();
        let want: BTreeSet<Message> = want
            .into_iter()
            .filter(|m| !known(path, m.0, m.1))
            .collect();
        let got: BTreeSet<Message> = record_messages(path, "request_frame", "response_frame")
            .into_iter()
            .filter(|m| !known(path, m.0, m.1))
            .collect();
        let want_records: BTreeSet<Message> =
            want.iter().filter(|m| !interim(m)).cloned().collect();
        if got != want_records {
            report.push_str(&format!(
                "{}: records\n  only osiscope: {:?}\n  only tshark:   {:?}\n",
                s.path,
                got.difference(&want_records).collect::<Vec<_>>(),
                want_records.difference(&got).collect::<Vec<_>>()
            ));
        }
        let steps: BTreeSet<(u64, u64)> = walk_frames(path)
            .into_iter()
            .filter(|(st, f)| !known(path, *st, *f))
            .collect();
        let want_steps: BTreeSet<(u64, u64)> = want.iter().map(|(s, f, _)| (*s, *f)).collect();
        if steps != want_steps {
            report.push_str(&format!(
                "{}: walk steps\n  only osiscope: {:?}\n  only tshark:   {:?}\n",
                s.path,
                steps.difference(&want_steps).collect::<Vec<_>>(),
                want_steps.difference(&steps).collect::<Vec<_>>()
            ));
        }
    }
    assert!(report.is_empty(), "{report}");
    // The bundled captures and the corpus hold well over a hundred messages.
    assert!(
        files >= 20 && checked >= 150,
        "{files} files, {checked} messages"
    );
}

#[test]
fn a_response_is_placed_at_the_end_of_its_body_and_keeps_its_head_frame() {
    // Zeek's pipelined-requests trace: the fifth response's head is in frame
    // 21, its 27,579-byte body ends in frame 45 (tshark: 45).
    let c = &common::json_lines(&[
        "flows",
        "--format",
        "json",
        "tests/corpus/zeek/http/pipelined-requests.pcap",
    ])[0];
    let tx: &Value = &c["http"][4];
    assert_eq!(tx["request_frame"], 20);
    assert_eq!(tx["response_head_frame"], 21);
    assert_eq!(tx["response_frame"], 45);
    assert_eq!(tx["response_body"], 27579);
    let walk = common::stdout(&["walk", "tests/corpus/zeek/http/pipelined-requests.pcap"]);
    assert!(
        walk.contains("#45  L7 Application   server → client  HTTP response 200 OK (head in frame 21, body to frame 45)"),
        "{walk}"
    );
}

/// Every HTTP head `layers` opens, by connection: (stream, frame, method or
/// status); and what is wrong with where it places the head's bytes.
fn layers_heads(path: &str, report: &mut String) -> BTreeSet<Message> {
    let mut out = BTreeSet::new();
    for rec in json_of("layers", path) {
        let frame = rec["frame"].as_u64().expect("frame");
        let layers = rec["layers"].as_array().expect("layers");
        let Some(stream) = layers
            .iter()
            .find(|l| l["name"] == "TCP")
            .and_then(|l| l["fields"]["stream"].as_u64())
        else {
            continue;
        };
        let data = layers.iter().rev().find(|l| l["name"] == "Data");
        for l in layers
            .iter()
            .filter(|l| l["name"] == "HTTP request" || l["name"] == "HTTP response")
        {
            let f = &l["fields"];
            let what = match f["method"].as_str() {
                Some(m) => m.to_owned(),
                None => f["status"].to_string(),
            };
            out.insert((stream, frame, what));
            // In the clear, a head read from this frame alone spans exactly
            // its head length; one begun earlier starts at the payload.
            if l["reassembled"] == true || f["cut"] == true {
                continue;
            }
            let d = data.expect("a placed head lies in the payload");
            let ok = if l["continues_from"].is_u64() {
                l["offset"] == d["offset"]
            } else {
                l["length"] == f["head_length"]
            };
            if !ok {
                report.push_str(&format!("{path} frame {frame}: misplaced {l}\n"));
            }
        }
    }
    out
}

#[test]
fn layers_open_every_http_head_where_it_was_read() {
    let mut report = String::new();
    let mut heads = 0;
    let mut agreed_with_tshark = 0;
    for s in common::summaries() {
        let path = s.path.as_str();
        let Some(tshark) = tshark_messages(path) else {
            continue;
        };
        let ours = layers_heads(path, &mut report);
        // Where the connection records say each head was read; these are
        // tshark's frames when the message has no body.
        let records = record_messages(path, "request_head_frame", "response_head_frame");
        // Interim responses (100 Continue) are not transactions of their own.
        let ours_tx: BTreeSet<Message> = ours.iter().filter(|m| !interim(m)).cloned().collect();
        if ours_tx != records {
            report.push_str(&format!(
                "{path}: heads\n  only layers:  {:?}\n  only records: {:?}\n",
                ours_tx.difference(&records).collect::<Vec<_>>(),
                records.difference(&ours_tx).collect::<Vec<_>>()
            ));
        }
        heads += ours.len();
        agreed_with_tshark += tshark.intersection(&ours).count();
    }
    assert!(report.is_empty(), "{report}");
    assert!(heads >= 150, "{heads} heads");
    // Messages without a body end in their head's frame: there tshark and
    // layers name the same frame.
    assert!(agreed_with_tshark >= 100, "{agreed_with_tshark} agree");
}
