//! TCP connection tracking against tshark 4.0, on every capture with TCP:
//! per frame the `tcp.analysis.*` flags; per connection (tshark's
//! `tcp.stream`) the frames, first and last frame, handshake frames, iRTT and
//! FIN/RST frames, derived from tshark's recorded per-frame fields.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use serde_json::Value;

/// (path, frame or 0, what, why osiscope differs).
const KNOWN_DIFFERENCES: &[(&str, u64, &str, &str)] = &[
    (
        "tests/corpus/zeek/tcp/rst-inject-rae.pcap",
        0,
        "initial_rtt",
        "osiscope measures SYN to the ACK that completes the handshake; tshark takes the first \
         ACK-flagged segment after the SYN, here an injected RST",
    ),
    (
        "tests/corpus/gopacket/pcapgo/tests/le/test300.pcapng",
        0,
        "initial_rtt",
        "SYN and ACK carry the same timestamp: osiscope reports 0, tshark treats 0 as unknown",
    ),
    (
        "tests/corpus/zeek/nflog-http.pcap",
        0,
        "initial_rtt",
        "SYN and ACK carry the same timestamp: osiscope reports 0, tshark treats 0 as unknown \
         and measures again at a later ACK",
    ),
    (
        "tests/corpus/zeek/websocket/oversized-close-frame.pcapng",
        0,
        "initial_rtt",
        "the SYN is stamped 0.000000: tshark treats a zero time as no SYN seen",
    ),
    (
        "tests/corpus/tcpdump/timestamp_invalid_micro.pcap",
        0,
        "initial_rtt",
        "invalid timestamp fractions are carried into the seconds (see tshark_agreement.rs)",
    ),
    (
        "tests/corpus/tcpdump/timestamp_invalid_nano.pcap",
        0,
        "initial_rtt",
        "invalid timestamp fractions are carried into the seconds (see tshark_agreement.rs)",
    ),
    (
        "tests/corpus/tcpdump/timestamp_invalid_micro.pcap",
        3,
        "ack_rtt",
        "invalid timestamp fractions are carried into the seconds (see tshark_agreement.rs)",
    ),
    (
        "tests/corpus/tcpdump/timestamp_invalid_nano.pcap",
        3,
        "ack_rtt",
        "invalid timestamp fractions are carried into the seconds (see tshark_agreement.rs)",
    ),
    (
        "tests/corpus/zeek/ipv4/fragmented-syn.pcap",
        2,
        "window_size",
        "IP fragments are not reassembled, so the TCP header inside them is not seen",
    ),
    (
        "tests/corpus/zeek/ipv4/fragmented-syn.pcap",
        0,
        "streams",
        "IP fragments are not reassembled, so the SYN inside them is not seen",
    ),
];

fn known(path: &str, frame: u64, what: &str) -> bool {
    KNOWN_DIFFERENCES
        .iter()
        .any(|(p, f, w, _)| *p == path && (*f == 0 || *f == frame) && *w == what)
}

const FLAGS: &[&str] = &[
    "retransmission",
    "fast_retransmission",
    "spurious_retransmission",
    "out_of_order",
    "duplicate_ack",
    "lost_segment",
    "ack_lost_segment",
    "zero_window",
    "window_full",
    "keep_alive",
    "keep_alive_ack",
    "window_update",
    "reused_ports",
];

fn files_with_tcp() -> Vec<String> {
    common::summaries()
        .into_iter()
        .map(|s| s.path)
        .filter(|p| common::exists(p) && common::tshark_rows(p, ".tcp.tsv").is_some())
        .collect()
}

fn flows(path: &str) -> Vec<Value> {
    let out = common::osiscope(&["flows", "--format", "json", path]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("flows json"))
        .collect()
}

/// tshark's TCP rows of a capture, and osiscope's packet records by frame.
fn rows_and_records(path: &str) -> (Vec<HashMap<String, String>>, HashMap<u64, Value>) {
    let rows = common::tshark_rows(path, ".tcp.tsv").expect("rows");
    let (_, recs, _) = common::packets_json(path);
    let by_frame = recs
        .into_iter()
        .map(|r| (r["frame"].as_u64().unwrap_or(0), r))
        .collect();
    (rows, by_frame)
}

#[test]
fn analysis_flags_match_tshark_frame_by_frame() {
    let mut report = String::new();
    let mut checked = 0;
    let mut totals: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for path in files_with_tcp() {
        let (rows, by_frame) = rows_and_records(&path);
        for t in &rows {
            let frame: u64 = t["frame.number"].parse().expect("frame");
            let Some(rec) = by_frame.get(&frame) else {
                let _ = writeln!(report, "{path} frame {frame}: not in osiscope's output");
                continue;
            };
            let tcp = rec["layers"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| l["name"] == "TCP");
            let ours: BTreeSet<String> = tcp
                .and_then(|l| l["fields"]["analysis"].as_array())
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            // tshark's calculated window (scaled once the handshake is known).
            let win = tcp.map(|l| l["fields"]["window_size"].to_string());
            let theirs_win = &t["tcp.window_size"];
            if !theirs_win.is_empty()
                && win.as_deref() != Some(theirs_win.as_str())
                && !known(&path, frame, "window_size")
            {
                let _ = writeln!(
                    report,
                    "{path} frame {frame}: window_size: tshark {theirs_win}, osiscope {win:?}"
                );
            }
            for flag in FLAGS {
                let theirs = !t[&format!("tcp.analysis.{flag}")].is_empty();
                let mine = ours.contains(*flag);
                let e = totals.entry(flag).or_default();
                e.0 += u64::from(theirs);
                e.1 += u64::from(theirs && mine);
                if theirs != mine && !known(&path, frame, flag) {
                    let _ = writeln!(
                        report,
                        "{path} frame {frame}: {flag}: tshark {theirs}, osiscope {mine} (osiscope has {ours:?})"
                    );
                }
            }
            checked += 1;
        }
    }
    eprintln!("flag agreement (tshark total, matched): {totals:?}");
    assert!(checked > 2000, "only {checked} TCP frames checked");
    assert!(
        totals["retransmission"].0 > 100,
        "the corpus has retransmissions"
    );
    assert!(
        report.is_empty(),
        "analysis flags differ from tshark:\n{report}"
    );
}

#[test]
fn connections_match_tshark_streams() {
    let mut report = String::new();
    let mut conns = 0;
    for path in files_with_tcp() {
        let rows = common::tshark_rows(&path, ".tcp.tsv").expect("rows");
        let mut streams: BTreeMap<u64, Vec<&HashMap<String, String>>> = BTreeMap::new();
        for r in &rows {
            // A frame tshark could not place (malformed) has no stream.
            if let Ok(s) = r["tcp.stream"].split(',').next().unwrap_or("").parse() {
                streams.entry(s).or_default().push(r);
            }
        }
        let len_of: HashMap<u64, u64> = common::tshark_rows(&path, ".tsv")
            .expect("rows")
            .iter()
            .map(|r| {
                (
                    r["frame.number"].parse().unwrap_or(0),
                    r["frame.len"].parse().unwrap_or(0),
                )
            })
            .collect();
        let ours: BTreeMap<u64, Value> = flows(&path)
            .into_iter()
            .map(|f| (f["id"].as_u64().expect("id"), f))
            .collect();
        let theirs_ids: Vec<u64> = streams.keys().copied().collect();
        let ours_ids: Vec<u64> = ours.keys().copied().collect();
        if theirs_ids != ours_ids {
            if known(&path, 0, "streams") {
                continue;
            }
            let _ = writeln!(
                report,
                "{path}: streams tshark {theirs_ids:?}, osiscope {ours_ids:?}"
            );
            continue;
        }
        for (id, frames) in &streams {
            conns += 1;
            let f = &ours[id];
            let mut check = |what: &str, theirs: Value, mine: &Value| {
                if &theirs != mine && !known(&path, 0, what) {
                    let _ = writeln!(
                        report,
                        "{path} stream {id}: {what}: tshark {theirs}, osiscope {mine}"
                    );
                }
            };
            let num =
                |r: &HashMap<String, String>| -> u64 { r["frame.number"].parse().unwrap_or(0) };
            let fl = |r: &HashMap<String, String>| -> u64 {
                u64::from_str_radix(r["tcp.flags"].trim_start_matches("0x"), 16).unwrap_or(0)
            };
            check("frames", Value::from(frames.len()), &f["frames"]);
            // Bytes on the wire, as tshark's conversation statistics count them.
            let wire: u64 = frames
                .iter()
                .map(|r| len_of.get(&num(r)).copied().unwrap_or(0))
                .sum();
            let ours_wire = f["wire_bytes"]["client_to_server"].as_u64().unwrap_or(0)
                + f["wire_bytes"]["server_to_client"].as_u64().unwrap_or(0);
            check("wire_bytes", Value::from(wire), &Value::from(ours_wire));
            check(
                "first_frame",
                Value::from(num(frames[0])),
                &f["first_frame"],
            );
            check(
                "last_frame",
                Value::from(num(frames[frames.len() - 1])),
                &f["last_frame"],
            );
            let first = |pred: &dyn Fn(u64) -> bool| -> Value {
                frames
                    .iter()
                    .find(|r| pred(fl(r)))
                    .map_or(Value::Null, |r| Value::from(num(r)))
            };
            check(
                "syn_frame",
                first(&|x| x & 0x12 == 0x02),
                &f["handshake"]["syn_frame"],
            );
            check(
                "synack_frame",
                first(&|x| x & 0x12 == 0x12),
                &f["handshake"]["synack_frame"],
            );
            check("rst_frame", first(&|x| x & 0x04 != 0), &f["rst_frame"]);
            // Each side's first FIN must be one of the frames tshark saw with FIN set.
            let fins: Vec<u64> = frames
                .iter()
                .filter(|r| fl(r) & 0x01 != 0)
                .map(|r| num(r))
                .collect();
            let ours_fins: BTreeSet<u64> = [
                &f["fin_frames"]["client_to_server"],
                &f["fin_frames"]["server_to_client"],
            ]
            .iter()
            .filter_map(|v| v.as_u64())
            .collect();
            if (!ours_fins.iter().all(|x| fins.contains(x))
                || (fins.is_empty() != ours_fins.is_empty()))
                && !known(&path, 0, "fin_frames")
            {
                let _ = writeln!(
                    report,
                    "{path} stream {id}: FIN frames tshark {fins:?}, osiscope {ours_fins:?}"
                );
            }
            // iRTT: tshark's value (seconds, nine decimals) once known; osiscope reports it
            // only for a completed handshake, and then it must agree to the microsecond.
            let irtt = frames
                .iter()
                .find_map(|r| r["tcp.analysis.initial_rtt"].parse::<f64>().ok());
            let mine = f["handshake"]["initial_rtt"].as_f64();
            match (irtt, mine, f["handshake"]["complete"].as_bool()) {
                (Some(a), Some(b), _) if (a - b).abs() < 1e-6 => {}
                (Some(_), None, Some(false)) => {}
                (None, None, _) => {}
                (a, b, _) => {
                    if !known(&path, 0, "initial_rtt") {
                        let _ = writeln!(
                            report,
                            "{path} stream {id}: iRTT tshark {a:?}, osiscope {b:?}"
                        );
                    }
                }
            }
        }
    }
    assert!(conns > 100, "only {conns} connections checked");
    assert!(
        report.is_empty(),
        "connections differ from tshark:\n{report}"
    );
}

/// Every ACK that acknowledges a segment exactly names it and its round
/// trip as tshark does (`tcp.analysis.acks_frame`, `tcp.analysis.ack_rtt`,
/// which tshark leaves out when it is 0), frame by frame; and each
/// connection's `latency.tcp_rtt` counts exactly those round trips.
#[test]
fn ack_round_trips_match_tshark_frame_by_frame() {
    let mut report = String::new();
    let mut samples = 0;
    for path in files_with_tcp() {
        let (rows, by_frame) = rows_and_records(&path);
        let mut per_stream: BTreeMap<u64, u64> = BTreeMap::new();
        for t in &rows {
            let frame: u64 = t["frame.number"].parse().expect("frame");
            let fields = by_frame
                .get(&frame)
                .and_then(|r| r["layers"].as_array())
                .into_iter()
                .flatten()
                .find(|l| l["name"] == "TCP")
                .map(|l| &l["fields"]);
            let mine_frame = fields.and_then(|f| f["acks_frame"].as_u64());
            let mine_rtt = fields.and_then(|f| f["ack_rtt"].as_f64());
            let theirs_frame = t["tcp.analysis.acks_frame"].parse::<u64>().ok();
            let theirs_rtt = t["tcp.analysis.ack_rtt"].parse::<f64>().ok();
            if theirs_frame.is_some()
                && let Ok(s) = t["tcp.stream"].parse::<u64>()
            {
                *per_stream.entry(s).or_default() += 1;
            }
            // tshark prints no round trip of 0.
            let mine_rtt = mine_rtt.filter(|r| *r != 0.0);
            if (mine_frame, mine_rtt) != (theirs_frame, theirs_rtt)
                && !(mine_frame == theirs_frame && known(&path, frame, "ack_rtt"))
            {
                let _ = writeln!(
                    report,
                    "{path} frame {frame}: tshark acks {theirs_frame:?} after {theirs_rtt:?} s, osiscope {mine_frame:?} after {mine_rtt:?} s"
                );
            }
            samples += u64::from(theirs_frame.is_some());
        }
        for f in flows(&path) {
            let id = f["id"].as_u64().expect("id");
            let rtt = &f["latency"]["tcp_rtt"];
            let count = |d: &str| rtt[d]["count"].as_u64().unwrap_or(0);
            let ours = count("to_server") + count("to_client");
            let theirs = per_stream.get(&id).copied().unwrap_or(0);
            if ours != theirs && !known(&path, 0, "streams") {
                let _ = writeln!(
                    report,
                    "{path} connection {id}: tshark has {theirs} ACK round trips, osiscope counts {ours}"
                );
            }
        }
    }
    eprintln!("{samples} ACK round trips compared");
    assert!(samples > 1000, "only {samples} round trips compared");
    assert!(
        report.is_empty(),
        "ACK round trips differ from tshark:\n{report}"
    );
}
