//! Every capture in captures/ and tests/corpus/, run through
//! `osiscope packets --format json`, must agree with what tshark 4.0 reports
//! for the same file (recorded by tests/tshark/record.sh): frame count, how
//! reading ends, and per frame the timestamps, lengths, addresses, ports,
//! flags and sequence numbers.

mod common;

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::Value;

/// Where osiscope deliberately or knowingly differs from tshark, and why:
/// (path, frame or 0 for every frame, field or "*" for every field, reason).
const KNOWN_DIFFERENCES: &[(&str, u64, &str, &str)] = &[
    (
        "tests/corpus/tcpdump/timestamp_invalid_micro.pcap",
        0,
        "frame.time_epoch",
        "a fraction of 1 s or more is carried into the seconds; tshark prints 10 fraction digits",
    ),
    (
        "tests/corpus/tcpdump/timestamp_invalid_nano.pcap",
        0,
        "frame.time_epoch",
        "a fraction of 1 s or more is carried into the seconds; tshark prints 10 fraction digits",
    ),
    (
        "tests/corpus/zeek/ipv4/fragmented-syn.pcap",
        2,
        "tcp.*",
        "IP fragments are shown, not reassembled: the TCP header is in the reassembled datagram",
    ),
    (
        "tests/corpus/gopacket/layers/testdata/linux_sll_oversized_addr.pcapng",
        95,
        "tcp.len",
        "data offset 0 is malformed; osiscope gives no segment length, tshark the whole IP payload",
    ),
];

fn known(path: &str, frame: u64, field: &str) -> bool {
    KNOWN_DIFFERENCES.iter().any(|(p, f, name, _)| {
        *p == path
            && (*f == 0 || *f == frame)
            && (*name == "*"
                || *name == field
                || name
                    .strip_suffix('*')
                    .is_some_and(|pre| field.starts_with(pre)))
    })
}

/// The first layer with this name in a JSON record.
fn layer<'a>(rec: &'a Value, name: &str) -> Option<&'a Value> {
    rec["layers"].as_array()?.iter().find(|l| l["name"] == name)
}

fn layers<'a>(rec: &'a Value, name: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    rec["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |l| l["name"] == name)
}

fn field(rec: &Value, lname: &str, key: &str) -> Option<String> {
    let v = &layer(rec, lname)?["fields"][key];
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "1".into() } else { "0".into() }),
        other => Some(other.to_string()),
    }
}

fn first(s: &str) -> &str {
    s.split(',').next().unwrap_or("")
}

fn parse_num(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x") {
        u64::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

/// Compares one frame; appends a line per disagreement.
fn compare(path: &str, t: &HashMap<String, String>, rec: &Value, out: &mut String) {
    let frame = &t["frame.number"];
    let frame_no: u64 = frame.parse().unwrap_or(0);
    let mut check = |name: &str, theirs: Option<&str>, ours: Option<String>| {
        let theirs = theirs.filter(|s| !s.is_empty());
        if theirs.is_none() || known(path, frame_no, name) {
            return;
        }
        let theirs = theirs.unwrap_or_default();
        let equal = match (&ours, parse_num(theirs)) {
            (Some(o), Some(n)) => parse_num(o) == Some(n) || o == theirs,
            (Some(o), None) => o == theirs,
            (None, _) => false,
        };
        if !equal {
            let _ = writeln!(
                out,
                "{path} frame {frame}: {name}: tshark {theirs:?}, osiscope {ours:?}"
            );
        }
    };
    let g = |k: &str| t.get(k).map(String::as_str);
    check(
        "frame.number",
        g("frame.number"),
        Some(rec["frame"].to_string()),
    );
    check(
        "frame.time_epoch",
        g("frame.time_epoch"),
        field(rec, "Frame", "ts"),
    );
    check(
        "frame.cap_len",
        g("frame.cap_len"),
        Some(rec["caplen"].to_string()),
    );
    check("frame.len", g("frame.len"), Some(rec["len"].to_string()));
    check(
        "frame.interface_id",
        g("frame.interface_id"),
        Some(rec["interface"].to_string()),
    );
    if layer(rec, "Ethernet II").is_some() {
        check(
            "eth.src",
            g("eth.src").map(first),
            field(rec, "Ethernet II", "src"),
        );
        check(
            "eth.dst",
            g("eth.dst").map(first),
            field(rec, "Ethernet II", "dst"),
        );
    }
    let vlans: Vec<String> = layers(rec, "802.1Q VLAN")
        .map(|l| l["fields"]["id"].to_string())
        .collect();
    if !vlans.is_empty() || g("vlan.id").is_some_and(|v| !v.is_empty()) {
        check("vlan.id", g("vlan.id"), Some(vlans.join(",")));
    }
    // Only the outermost IP header: tshark also decodes tunnels and ICMP quotes.
    let ip_first = t["frame.protocols"]
        .split(':')
        .find(|p| *p == "ip" || *p == "ipv6");
    match ip_first {
        Some("ip") => {
            check("ip.src", g("ip.src").map(first), field(rec, "IPv4", "src"));
            check("ip.dst", g("ip.dst").map(first), field(rec, "IPv4", "dst"));
            check("ip.ttl", g("ip.ttl").map(first), field(rec, "IPv4", "ttl"));
            check("ip.id", g("ip.id").map(first), field(rec, "IPv4", "id"));
            check(
                "ip.proto",
                g("ip.proto").map(first),
                field(rec, "IPv4", "protocol"),
            );
            check(
                "ip.flags.mf",
                g("ip.flags.mf").map(first),
                field(rec, "IPv4", "mf"),
            );
            check(
                "ip.frag_offset",
                g("ip.frag_offset").map(first),
                field(rec, "IPv4", "frag_offset"),
            );
        }
        Some("ipv6") => {
            check(
                "ipv6.src",
                g("ipv6.src").map(first),
                field(rec, "IPv6", "src"),
            );
            check(
                "ipv6.dst",
                g("ipv6.dst").map(first),
                field(rec, "IPv6", "dst"),
            );
            check(
                "ipv6.hlim",
                g("ipv6.hlim").map(first),
                field(rec, "IPv6", "hop_limit"),
            );
            check(
                "ipv6.nxt",
                g("ipv6.nxt").map(first),
                field(rec, "IPv6", "next_header"),
            );
        }
        _ => {}
    }
    // TCP fields of a single-TCP-header packet (tunnels and ICMP quotes aside).
    let protos = &t["frame.protocols"];
    let tcp_once = protos.matches(":tcp").count() == 1 && !protos.contains("icmp");
    if tcp_once {
        let flags: Option<u64> = g("tcp.flags").and_then(parse_num);
        let ack_set = flags.is_some_and(|f| f & 0x10 != 0);
        check(
            "tcp.srcport",
            g("tcp.srcport"),
            field(rec, "TCP", "src_port"),
        );
        check(
            "tcp.dstport",
            g("tcp.dstport"),
            field(rec, "TCP", "dst_port"),
        );
        check("tcp.stream", g("tcp.stream"), field(rec, "TCP", "stream"));
        check("tcp.flags", g("tcp.flags"), field(rec, "TCP", "flags"));
        check("tcp.seq", g("tcp.seq"), field(rec, "TCP", "seq"));
        check(
            "tcp.seq_raw",
            g("tcp.seq_raw"),
            field(rec, "TCP", "seq_raw"),
        );
        if ack_set {
            check("tcp.ack", g("tcp.ack"), field(rec, "TCP", "ack"));
            check(
                "tcp.ack_raw",
                g("tcp.ack_raw"),
                field(rec, "TCP", "ack_raw"),
            );
        }
        check("tcp.len", g("tcp.len"), field(rec, "TCP", "len"));
        check(
            "tcp.hdr_len",
            g("tcp.hdr_len"),
            field(rec, "TCP", "hdr_len"),
        );
        check(
            "tcp.window_size_value",
            g("tcp.window_size_value"),
            field(rec, "TCP", "window"),
        );
        let opts = layer(rec, "TCP")
            .map(|l| l["fields"]["options"].clone())
            .unwrap_or(Value::Null);
        let opt = |name: &str, key: &str| -> Option<String> {
            opts.as_array()?
                .iter()
                .find(|o| o["name"] == name)
                .map(|o| {
                    if key.is_empty() {
                        "present".into()
                    } else {
                        o[key].to_string()
                    }
                })
        };
        check(
            "tcp.options.mss_val",
            g("tcp.options.mss_val"),
            opt("MSS", "value"),
        );
        check(
            "tcp.options.wscale.shift",
            g("tcp.options.wscale.shift"),
            opt("WS", "shift"),
        );
        check(
            "tcp.options.timestamp.tsval",
            g("tcp.options.timestamp.tsval"),
            opt("TS", "val"),
        );
        if g("tcp.options.sack_perm").is_some_and(|v| !v.is_empty()) {
            check(
                "tcp.options.sack_perm",
                Some("present"),
                opt("SACK_PERM", ""),
            );
        }
    }
    let udp_once = protos.matches(":udp").count() == 1 && !protos.contains("icmp");
    if udp_once {
        check(
            "udp.srcport",
            g("udp.srcport"),
            field(rec, "UDP", "src_port"),
        );
        check(
            "udp.dstport",
            g("udp.dstport"),
            field(rec, "UDP", "dst_port"),
        );
        check("udp.length", g("udp.length"), field(rec, "UDP", "length"));
    }
    check(
        "icmp.type",
        g("icmp.type").map(first),
        field(rec, "ICMP", "type"),
    );
    check(
        "icmp.code",
        g("icmp.code").map(first),
        field(rec, "ICMP", "code"),
    );
    check(
        "icmpv6.type",
        g("icmpv6.type").map(first),
        field(rec, "ICMPv6", "type"),
    );
    check(
        "icmpv6.code",
        g("icmpv6.code").map(first),
        field(rec, "ICMPv6", "code"),
    );
    check(
        "arp.opcode",
        g("arp.opcode").map(first),
        field(rec, "ARP", "opcode"),
    );
}

#[test]
fn every_capture_agrees_with_tshark() {
    let mut report = String::new();
    let mut files = 0;
    let mut frames = 0;
    for s in common::summaries() {
        if !common::exists(&s.path) {
            continue;
        }
        files += 1;
        let (code, recs, stderr) = common::packets_json(&s.path);
        assert!(
            !stderr.contains("panicked"),
            "{}: osiscope panicked: {stderr}",
            s.path
        );
        // How reading ends: tshark's error means ours must be the one-line error.
        if s.exit == 0 && code != 0 && !known(&s.path, 0, "exit") {
            let _ = writeln!(
                report,
                "{}: tshark reads it all, osiscope exits {code}: {stderr}",
                s.path
            );
        }
        if s.exit != 0 && code != 1 && !known(&s.path, 0, "exit") {
            let _ = writeln!(
                report,
                "{}: tshark fails ({}), osiscope exits {code}",
                s.path, s.stderr
            );
        }
        if code == 1 {
            let line = stderr.trim_end();
            let ok = line.lines().count() == 1
                && line.starts_with(&format!("osiscope: {}: ", s.path))
                && line.contains("(at byte ");
            if !ok {
                let _ = writeln!(
                    report,
                    "{}: error is not one 'osiscope: FILE: what (at byte N…)' line: {line:?}",
                    s.path
                );
            }
        }
        if recs.len() != s.frames && !known(&s.path, 0, "count") {
            let _ = writeln!(
                report,
                "{}: tshark {} frames, osiscope {}",
                s.path,
                s.frames,
                recs.len()
            );
        }
        if let Some(rows) = common::tshark_rows(&s.path, ".tsv") {
            for (t, rec) in rows.iter().zip(&recs) {
                compare(&s.path, t, rec, &mut report);
                frames += 1;
            }
        }
    }
    assert!(files > 150, "only {files} files checked");
    assert!(frames > 3000, "only {frames} frames compared");
    assert!(report.is_empty(), "disagreements with tshark:\n{report}");
}
