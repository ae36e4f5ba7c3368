//! What a person sees: the packets table, the layers detail with its hex dump,
//! the JSON schema, standard input and colour. Expected values come from
//! tshark's recorded answers for the same frames (tests/expected/tshark/).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

const WS: &str = "captures/ws-echo.pcap";

use common::stdout;

fn tshark(path: &str) -> Vec<std::collections::HashMap<String, String>> {
    common::tshark_rows(path, ".tsv").expect("recorded tshark rows")
}

#[test]
fn packets_table_tells_the_handshake_like_tshark() {
    let rows = tshark(WS);
    let table = stdout(&["packets", WS, "--table"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].contains("L2 Link") && lines[0].contains("L4 Transport"),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines.len(),
        2 + rows.len(),
        "header, rule, one row per packet"
    );
    let (c, s) = (&rows[0]["tcp.srcport"], &rows[0]["tcp.dstport"]);
    let mss = &rows[0]["tcp.options.mss_val"];
    let syn = format!(
        "TCP {c} → {s} [SYN] seq=0 win={} len=0 MSS={mss} SACK_PERM",
        rows[0]["tcp.window_size_value"]
    );
    assert!(
        lines[2].contains(&syn),
        "{}\nshould contain {syn}",
        lines[2]
    );
    assert!(
        lines[2].trim_start().starts_with("1 │ 0.000000 │ Ethernet"),
        "{}",
        lines[2]
    );
    let synack = format!("TCP {s} → {c} [SYN, ACK] seq=0 ack=1");
    assert!(lines[3].contains(&synack), "{}", lines[3]);
    let ack = format!("TCP {c} → {s} [ACK] seq=1 ack=1");
    assert!(lines[4].contains(&ack), "{}", lines[4]);
    assert!(
        lines[2].contains("IPv4 127.0.0.1 → 127.0.0.1 ttl 64"),
        "{}",
        lines[2]
    );
    // The last packet is the final ACK of the FIN teardown.
    let last = rows.last().expect("rows");
    assert_eq!(last["tcp.flags"], "0x0010");
    let fin_ack = format!("[ACK] seq={} ack={}", last["tcp.seq"], last["tcp.ack"]);
    assert!(
        lines.last().expect("row").contains(&fin_ack),
        "{:?}",
        lines.last()
    );
}

#[test]
fn count_stops_early() {
    assert_eq!(stdout(&["packets", WS, "-c", "3"]).lines().count(), 3);
    let table = stdout(&["packets", WS, "-c", "3", "--table"]);
    assert_eq!(table.lines().count(), 2 + 3);
}

/// Nanoseconds of tshark's `frame.time_epoch` ("secs.nnnnnnnnn").
fn ns(epoch: &str) -> u64 {
    let (s, f) = epoch.split_once('.').expect("seconds.fraction");
    s.parse::<u64>().expect("seconds") * 1_000_000_000 + f.parse::<u64>().expect("fraction")
}

/// To a pipe: one line per packet, numbered and timed as tshark numbers and
/// times them, with its addresses, ports and relative numbers.
#[test]
fn packets_to_a_pipe_is_one_line_per_packet_like_tshark() {
    let rows = tshark(WS);
    let out = stdout(&["packets", WS]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), rows.len(), "one line per packet, no header");
    for (line, r) in lines.iter().zip(&rows) {
        let conv = format!(
            "{}:{} → {}:{}",
            r["ip.src"], r["tcp.srcport"], r["ip.dst"], r["tcp.dstport"]
        );
        let rel = ns(&r["frame.time_epoch"]) - ns(&rows[0]["frame.time_epoch"]);
        let start = format!(
            "{} {}.{:06} {conv} ",
            r["frame.number"],
            rel / 1_000_000_000,
            rel % 1_000_000_000 / 1000
        );
        assert!(
            line.starts_with(&start),
            "{line}\nshould start with {start}"
        );
    }
    assert_eq!(rows[1]["tcp.flags"], "0x0012");
    assert!(
        lines[1].ends_with(" [SYN, ACK] seq=0 ack=1 len=0"),
        "{}",
        lines[1]
    );
    assert_eq!(rows[4]["tcp.ack"], "199");
    assert!(
        lines[4].ends_with(" [ACK] seq=1 ack=199 len=0"),
        "{}",
        lines[4]
    );
    assert!(lines[3].ends_with(" HTTP GET /echo"), "{}", lines[3]);
}

#[test]
fn truncation_is_named_with_its_layer_and_byte_counts() {
    // Zeek's trace: a SYN whose TCP options the snap length cut (68 of 74 bytes kept).
    let p = "tests/corpus/zeek/tcp/truncated-header.pcap";
    let t = tshark(p);
    assert_eq!(
        (t[0]["frame.cap_len"].as_str(), t[0]["tcp.hdr_len"].as_str()),
        ("68", "40")
    );
    let table = stdout(&["packets", p, "-c", "4"]);
    assert!(
        table.contains("⚠ truncated in L4 TCP header: 34 of 40 bytes captured"),
        "{table}"
    );
    // Frame 4: the header is whole, the 84-byte payload (tshark's tcp.len) is not there.
    assert_eq!(t[3]["tcp.len"], "84");
    assert!(
        table.contains("⚠ truncated in L4 TCP payload: 0 of 84 bytes captured"),
        "{table}"
    );
    let six = "tests/corpus/zeek/trunc/ip6-trunc.pcap";
    let j = stdout(&["packets", six, "--format", "json"]);
    let r: Value = serde_json::from_str(j.lines().next().expect("row")).expect("json");
    assert_eq!(
        r["problem"],
        "truncated in L3 IPv6 header: 34 of 40 bytes captured"
    );
    // The fields whose bytes are there are still shown; the cut destination is not invented.
    let v6 = r["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .find(|l| l["name"] == "IPv6")
        .expect("IPv6");
    assert_eq!(v6["fields"]["src"], tshark(six)[0]["ipv6.src"].as_str());
    assert!(v6["fields"].get("dst").is_none());
}

#[test]
fn a_frame_shorter_than_its_headers_is_malformed_not_truncated() {
    let p = "tests/corpus/gopacket/layers/testdata/linux_sll_oversized_addr.pcapng";
    let j = stdout(&["layers", p, "--frame", "87", "--format", "json"]);
    let r: Value = serde_json::from_str(j.trim()).expect("json");
    assert_eq!(r["caplen"], r["len"]);
    assert_eq!(
        r["problem"],
        "malformed L4 TCP header: 20 of 32 bytes present: the frame is shorter than its headers say"
    );
}

#[test]
fn layers_view_takes_a_packet_apart_with_a_marked_hex_dump() {
    let rows = tshark(WS);
    let out = stdout(&["layers", WS, "--frame", "1"]);
    assert!(
        out.starts_with("Frame 1 · 74 bytes on wire, 74 captured, Ethernet"),
        "{out}"
    );
    for needle in [
        "L1 Physical      Frame                    bytes 0–73",
        "L2 Data link     Ethernet II              bytes 0–13",
        "L3 Network       IPv4                     bytes 14–33",
        "L4 Transport     TCP                      bytes 34–73",
        "      Flags: 0x002 [SYN]",
        "      Time to live: 64  (hops left before a router drops it)",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    assert!(out.contains(&format!("      Source port: {}", rows[0]["tcp.srcport"])));
    assert!(out.contains(&format!(
        "      Sequence number (raw): {}",
        rows[0]["tcp.seq_raw"]
    )));
    // Hex dump: 74 bytes = 5 rows, each followed by a row of layer numbers.
    assert!(out.contains(
        "\n  0000  00 00 00 00 00 00 00 00  00 00 00 00 08 00 45 00  ..............E.\n"
    ));
    assert!(
        out.contains("\n        2  2  2  2  2  2  2  2   2  2  2  2  2  2  3  3\n"),
        "{out}"
    );
    assert!(
        out.contains("\n        3  3  4  4  4  4  4  4   4  4  4  4  4  4  4  4\n"),
        "{out}"
    );
    assert!(out.contains("layer key: 1 frame · 2 data link · 3 network · 4 transport"));
}

#[test]
fn layers_view_selects_frames_and_ranges() {
    let out = stdout(&["layers", WS, "--frame", "2-3", "-f", "5"]);
    let heads: Vec<&str> = out.lines().filter(|l| l.starts_with("Frame ")).collect();
    assert_eq!(heads.len(), 3, "{heads:?}");
    assert!(
        heads[0].starts_with("Frame 2 ·")
            && heads[1].starts_with("Frame 3 ·")
            && heads[2].starts_with("Frame 5 ·")
    );
}

#[test]
fn json_lines_follow_the_documented_schema() {
    let rows = tshark(WS);
    let out = stdout(&["packets", WS, "--format", "json"]);
    let recs: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(recs.len(), rows.len());
    for (r, t) in recs.iter().zip(&rows) {
        for k in [
            "frame",
            "kind",
            "ts",
            "rel_ts",
            "interface",
            "linktype",
            "caplen",
            "len",
            "layers",
            "problem",
        ] {
            assert!(r.get(k).is_some(), "missing {k} in {r}");
        }
        assert_eq!(r["frame"].to_string(), t["frame.number"]);
        for l in r["layers"].as_array().expect("layers") {
            for k in ["osi", "name", "offset", "length", "fields", "summary"] {
                assert!(l.get(k).is_some(), "layer without {k}: {l}");
            }
        }
    }
    // Timestamps keep every digit: the raw text of "ts" is tshark's frame.time_epoch.
    let first_line = out.lines().next().expect("line");
    assert!(
        first_line.contains(&format!("\"ts\":{},", rows[0]["frame.time_epoch"])),
        "{first_line}"
    );
    assert!(first_line.contains("\"rel_ts\":0.000000000,"));
    let osi: Vec<u64> = recs[0]["layers"]
        .as_array()
        .expect("l")
        .iter()
        .map(|l| l["osi"].as_u64().expect("osi"))
        .collect();
    assert_eq!(osi, vec![1, 2, 3, 4]);
    let tcp = &recs[3]["layers"][3]["fields"];
    assert_eq!(tcp["len"].to_string(), rows[3]["tcp.len"]);
    assert_eq!(recs[3]["layers"][4]["name"], "Data");
    assert_eq!(recs[3]["layers"][4]["osi"], 7);
}

#[test]
fn standard_input_reads_the_same_capture() {
    let bytes = std::fs::read(common::repo().join(WS)).expect("capture");
    let mut child = Command::new(env!("CARGO_BIN_EXE_osiscope"))
        .args(["packets", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&bytes)
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).expect("utf-8"),
        stdout(&["packets", "--format", "json", WS])
    );
    assert_eq!(
        stdout(&["packets", "-r", WS, "--format", "json"]),
        stdout(&["packets", "--format", "json", WS])
    );
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let plain = stdout(&["packets", WS, "-c", "2"]);
    assert!(!plain.contains('\x1b'), "no colour on a pipe");
    let forced = stdout(&["packets", WS, "-c", "2", "--color", "always"]);
    assert!(forced.contains('\x1b'), "colour when forced");
    let layers = stdout(&["layers", WS, "-f", "1", "--color", "always"]);
    assert!(
        layers.contains('\x1b') && !layers.contains("layer key:"),
        "colour replaces the legend"
    );
}

#[test]
fn help_lists_exit_codes_and_examples() {
    let help = stdout(&["--help"]);
    assert!(
        help.contains("1  the capture could not be read to its end"),
        "{help}"
    );
    let help = stdout(&["packets", "--help"]);
    assert!(help.contains("Examples:") && help.contains("osiscope packets captures/ws-echo.pcap"));
}

/// On a narrow terminal each packet stays one line: No., (Time from 100
/// columns), source → destination with ports, and Info, whose TCP numbers
/// are tshark's.
#[test]
fn the_packets_table_fits_a_narrow_terminal_one_line_per_packet() {
    let rows = common::tshark_rows(WS, ".tsv").expect("tshark rows");
    for width in [80usize, 100, 120] {
        let w = width.to_string();
        let out = stdout(&["packets", WS, "--width", &w]);
        let lines: Vec<&str> = out.lines().collect();
        // A header, its rule, and one line per packet (22 packets, as tshark).
        assert_eq!(lines.len(), 2 + rows.len(), "{out}");
        for l in &lines {
            let cols = unicode_width::UnicodeWidthStr::width(*l);
            assert!(cols <= width, "{cols} > {width}: {l}");
        }
        assert_eq!(lines[0].contains("Time"), width >= 100, "{}", lines[0]);
        for r in &rows {
            let n: usize = r["frame.number"].parse().expect("frame");
            let line = lines[n + 1];
            let conv = format!(
                "{}:{} → {}:{}",
                r["ip.src"], r["tcp.srcport"], r["ip.dst"], r["tcp.dstport"]
            );
            assert!(line.contains(&conv), "{line} lacks {conv}");
            assert!(line.starts_with(&format!("{n:>5} │")), "{line}");
        }
    }
    let out = stdout(&["packets", WS, "--width", "100"]);
    let line = |n: usize| out.lines().nth(n + 1).expect("line").to_owned();
    // tshark: frame 2 is SYN-ACK seq=0 ack=1 len=0; frame 5 acks 199; frame 4 is the GET.
    assert!(
        line(2).ends_with("│ [SYN, ACK] seq=0 ack=1 len=0"),
        "{}",
        line(2)
    );
    assert_eq!(rows[4]["tcp.ack"], "199");
    assert!(
        line(5).ends_with("│ [ACK] seq=1 ack=199 len=0"),
        "{}",
        line(5)
    );
    assert!(line(4).ends_with("│ HTTP GET /echo"), "{}", line(4));
    assert!(line(1).starts_with("    1 │ 0.000000 │ 127.0.0.1:43266 → 127.0.0.1:8801"));
    // Without --width and not on a terminal: one line per packet, the same
    // content unpadded; with --table, the full table, every layer's column.
    assert_eq!(
        stdout(&["packets", WS]).lines().nth(3),
        Some("4 0.001320 127.0.0.1:43266 → 127.0.0.1:8801 HTTP GET /echo")
    );
    assert!(
        stdout(&["packets", WS, "--table"])
            .lines()
            .next()
            .expect("header")
            .contains("L4 Transport")
    );
}
