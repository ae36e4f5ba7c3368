//! Hostile traffic, built in code: each capture aims at one bound (a head
//! that never ends, a frame that claims 2^63 bytes, a deflate bomb, ...).
//! osiscope must finish within a memory cap and a time limit, say what it
//! dropped, and still report what it could decode.

mod common;

use std::path::PathBuf;

use common::synth::{Session, capped_timed, tmp, websocket_upgrade, ws_frame, ws_header};

/// Address space allowed: far below what any of these captures would need
/// if a claimed length were believed.
const CAP_KIB: u64 = 300_000;
/// Seconds allowed per run (debug build).
const SECS: u32 = 120;

fn run(path: &std::path::Path, view: &str) -> (i32, String, String) {
    capped_timed(
        CAP_KIB,
        SECS,
        &format!("{view} --format json {}", path.display()),
    )
}

fn json(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

/// An HTTP request head that never ends: 8 MiB of header lines, no blank line.
fn endless_head(path: &PathBuf) {
    let mut s = Session::new(path);
    s.client(b"GET / HTTP/1.1\r\nHost: x\r\n");
    let line = format!("X-Filler: {}\r\n", "a".repeat(1000));
    let mut sent = 0;
    while sent < 8 << 20 {
        s.client(line.as_bytes());
        sent += line.len();
    }
    s.close();
}

/// A server frame whose 64-bit length has its top bit set, then more bytes.
fn length_msb(path: &PathBuf) {
    let mut s = Session::new(path);
    websocket_upgrade(&mut s, None, "/chat");
    s.server(&ws_frame(1, b"before"));
    s.server(&ws_header(2, false, false, 1 << 63, None));
    s.server(&vec![0u8; 100_000]);
    s.close();
}

/// A frame claiming 2^62 bytes (legal on the wire) of which 4 MiB arrive.
fn huge_claim(path: &PathBuf) {
    let mut s = Session::new(path);
    websocket_upgrade(&mut s, None, "/chat");
    s.server(&ws_header(2, false, false, 1 << 62, None));
    s.server(&vec![7u8; 4 << 20]);
    s.close();
}

/// A close frame of 258 bytes (control frames may carry 125).
fn long_close(path: &PathBuf) {
    let mut s = Session::new(path);
    websocket_upgrade(&mut s, None, "/chat");
    let mut p = 1000u16.to_be_bytes().to_vec();
    p.extend(std::iter::repeat_n(b'r', 256));
    s.server(&ws_frame(8, &p));
    s.close();
}

/// A text message in 1 KiB fragments that never gets its final frame: 8 MiB.
fn endless_fragments(path: &PathBuf) {
    let mut s = Session::new(path);
    websocket_upgrade(&mut s, None, "/chat");
    let chunk = vec![b'f'; 1024];
    let mut first = ws_header(1, true, false, 1024, None);
    first.extend_from_slice(&chunk);
    s.server(&first);
    for _ in 0..8 * 1024 {
        let mut f = ws_header(0, true, false, 1024, None);
        f.extend_from_slice(&chunk);
        s.server(&f);
    }
    s.close();
}

/// permessage-deflate: 64 MiB of zeros compressed into one message.
fn deflate_bomb(path: &PathBuf) {
    use flate2::{Compress, Compression, FlushCompress};
    let mut s = Session::new(path);
    websocket_upgrade(&mut s, Some("permessage-deflate"), "/chat");
    let mut c = Compress::new(Compression::best(), false);
    let zeros = vec![0u8; 1 << 20];
    let mut out = Vec::with_capacity(1 << 20);
    for _ in 0..64 {
        c.compress_vec(&zeros, &mut out, FlushCompress::None)
            .expect("deflate");
    }
    c.compress_vec(&[], &mut out, FlushCompress::Sync)
        .expect("deflate");
    out.truncate(out.len() - 4);
    let mut f = ws_header(2, false, true, out.len() as u64, None);
    f.extend_from_slice(&out);
    s.server(&f);
    s.server(&ws_frame(1, b"after the bomb"));
    s.close();
}

/// Socket.IO over WebSocket: a binary event announcing 10^9 attachments.
fn many_attachments(path: &PathBuf) {
    let mut s = Session::new(path);
    websocket_upgrade(&mut s, None, "/socket.io/?EIO=4&transport=websocket");
    s.server(&ws_frame(
        1,
        br#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000}"#,
    ));
    s.server(&ws_frame(1, b"40"));
    s.server(&ws_frame(
        1,
        br#"451000000000-["up",{"_placeholder":true,"num":0}]"#,
    ));
    for _ in 0..1000 {
        s.server(&ws_frame(2, &[1, 2, 3, 4]));
    }
    s.server(&ws_frame(1, br#"42["still",{"here":true}]"#));
    s.close();
}

/// A client segment more than 1 GiB ahead of the stream, then the stream goes on.
fn far_ahead(path: &PathBuf) {
    let mut s = Session::new(path);
    s.client(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    s.client_at((1 << 30) + 1000, b"far away");
    s.server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    s.close();
}

/// Overlapping client segments whose bytes disagree.
fn conflicting_overlap(path: &PathBuf) {
    let mut s = Session::new(path);
    s.client_at(0, b"GET /aaaa HTTP/1.1\r\n");
    s.client_at(4, b"bbbb");
    s.client(b"GET /aaaa HTTP/1.1\r\nHost: x\r\n\r\n");
    s.server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    s.close();
}

/// Writes a capture with `build`, runs `view` on it under the caps; the file goes afterwards.
fn hostile(name: &str, build: fn(&PathBuf), view: &str) -> (i32, String, String) {
    let path = tmp(&format!("{name}.pcap"));
    build(&path);
    let out = run(&path, view);
    std::fs::remove_file(&path).ok();
    out
}

/// The one connection record of a `flows --format json` run that must succeed.
fn one_flow(name: &str, build: fn(&PathBuf)) -> serde_json::Value {
    let (code, out, err) = hostile(name, build, "flows");
    assert_eq!(code, 0, "{name}: exit {code}, stderr {err}");
    let mut recs = json(&out);
    assert_eq!(recs.len(), 1, "{name}");
    let r = recs.remove(0);
    assert_eq!(
        r["state"], "closed",
        "{name}: the connection is followed to its end"
    );
    r
}

/// The kinds of a `walk` record's WebSocket violations, in order.
fn violation_kinds(ws: &serde_json::Value) -> Vec<&str> {
    ws["violations"]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v["kind"].as_str().expect("kind"))
        .collect()
}

fn problems(r: &serde_json::Value) -> Vec<String> {
    r["app_problems"]
        .as_array()
        .expect("app_problems")
        .iter()
        .map(|p| p.as_str().expect("text").to_owned())
        .collect()
}

#[test]
fn an_http_head_that_never_ends_is_given_up_at_64_kib() {
    let r = one_flow("endless_head", endless_head);
    assert_eq!(
        problems(&r),
        [
            "client: HTTP head longer than 65536 bytes (frame 69); the rest of the direction is not decoded"
        ]
    );
    assert_eq!(r["http"], serde_json::json!([]));
    // Every byte is still accounted for.
    assert_eq!(
        r["overhead"]["other"],
        r["stream_bytes"]["client_to_server"]
    );
}

#[test]
fn a_length_with_its_top_bit_set_stops_framing_and_says_so() {
    let r = one_flow("length_msb", length_msb);
    let ws = &r["websocket"];
    assert_eq!(
        ws["messages"]["server:text"], 1,
        "the message before it is decoded"
    );
    assert_eq!(ws["violations"], 1);
    assert_eq!(
        problems(&r),
        [
            "server: WebSocket framing lost (length msb set); the rest of the direction is not decoded"
        ]
    );
}

#[test]
fn a_frame_claiming_2_to_the_62_bytes_is_streamed_not_allocated() {
    let r = one_flow("huge_claim", huge_claim);
    assert_eq!(
        problems(&r),
        [
            "server: WebSocket binary frame unfinished at the end: 4194304 of 4611686018427387904 payload bytes seen"
        ]
    );
}

#[test]
fn a_close_frame_of_258_bytes_is_a_violation() {
    let (code, out, _) = hostile("long_close", long_close, "walk");
    assert_eq!(code, 0);
    let r = &json(&out)[0];
    let ws = &r["websocket"];
    let kinds = violation_kinds(ws);
    assert_eq!(kinds, ["control_frame_too_long"]);
    assert_eq!(ws["close"]["code"], 1000);
    assert_eq!(ws["close"]["reason"].as_str().map(str::len), Some(256));
}

#[test]
fn a_message_that_never_finishes_is_reported_at_the_end() {
    let r = one_flow("endless_fragments", endless_fragments);
    let ws = &r["websocket"];
    assert_eq!(ws["frames"]["server:continuation"], 8192);
    assert_eq!(ws["messages"], serde_json::json!({}));
    assert_eq!(
        problems(&r),
        [
            "server: WebSocket text message without its final frame at the end: 8389632 bytes in frames 6–8198"
        ]
    );
}

#[test]
fn a_deflate_bomb_stops_at_16_mib_and_what_follows_is_decoded() {
    let (code, out, _) = hostile("deflate_bomb", deflate_bomb, "walk");
    assert_eq!(code, 0);
    let r = &json(&out)[0];
    let ws = &r["websocket"];
    let kinds = violation_kinds(ws);
    assert_eq!(kinds, ["deflate_bomb"]);
    let msgs = ws["messages"].as_array().expect("messages");
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0]["error"], "deflate bomb: more than 16777216 bytes");
    assert_eq!(msgs[0]["length"], serde_json::Value::Null);
    assert_eq!(msgs[1]["text"], "after the bomb");
}

#[test]
fn a_socketio_packet_announcing_a_billion_attachments_is_not_waited_for() {
    let r = one_flow("many_attachments", many_attachments);
    assert_eq!(
        problems(&r),
        [
            "server: Socket.IO packet at frame 8 announces 1000000000 binary attachments, more than 256: not waiting for them"
        ]
    );
    // The packets after it are still decoded, and the attachments counted as messages.
    assert_eq!(r["socketio"]["events"]["still"], 1);
    assert_eq!(r["websocket"]["messages"]["server:binary"], 1000);
}

#[test]
fn a_segment_a_gigabyte_ahead_is_ignored_and_flagged() {
    let r = one_flow("far_ahead", far_ahead);
    assert_eq!(r["anomalies"]["reassembly_overflow"], 1);
    assert_eq!(r["http"][0]["status"], 200, "the stream goes on");
    assert_eq!(r["gap_bytes"]["client_to_server"], 0);
}

#[test]
fn overlapping_segments_with_other_bytes_keep_the_first_copy() {
    let r = one_flow("conflicting_overlap", conflicting_overlap);
    assert_eq!(r["anomalies"]["overlap_conflict"], 1);
    assert_eq!(r["http"][0]["uri"], "/aaaa", "the bytes seen first win");
}

// --- pcapng built byte by byte --------------------------------------------

fn block(btype: u32, body: &[u8]) -> Vec<u8> {
    let len = (12 + body.len().div_ceil(4) * 4) as u32;
    let mut v = btype.to_le_bytes().to_vec();
    v.extend_from_slice(&len.to_le_bytes());
    v.extend_from_slice(body);
    v.resize(len as usize - 4, 0);
    v.extend_from_slice(&len.to_le_bytes());
    v
}

fn shb() -> Vec<u8> {
    let mut b = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&(-1i64).to_le_bytes());
    block(0x0a0d_0d0a, &b)
}

/// An Ethernet interface with a name option of `name_len` bytes.
fn idb(name_len: usize) -> Vec<u8> {
    let mut b = 1u16.to_le_bytes().to_vec();
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&262_144u32.to_le_bytes());
    if name_len > 0 {
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&(name_len as u16).to_le_bytes());
        b.extend(std::iter::repeat_n(b'i', name_len));
        b.resize(b.len().div_ceil(4) * 4, 0);
        b.extend_from_slice(&[0, 0, 0, 0]);
    }
    block(1, &b)
}

fn epb(iface: u32, caplen: u32, data: &[u8]) -> Vec<u8> {
    let mut b = iface.to_le_bytes().to_vec();
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&caplen.to_le_bytes());
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(data);
    block(6, &b)
}

/// A small Ethernet/IPv4/UDP packet.
fn udp_packet() -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(5000, 53);
    let mut v = Vec::new();
    b.write(&mut v, b"hello").expect("build");
    v
}

fn run_bytes(name: &str, bytes: &[u8], view: &str) -> (i32, String, String) {
    let path = tmp(&format!("{name}.pcapng"));
    std::fs::write(&path, bytes).expect("write");
    let out = run(&path, view);
    std::fs::remove_file(&path).ok();
    out
}

#[test]
fn ten_thousand_interfaces_with_long_names_are_fine() {
    let mut f = shb();
    for _ in 0..10_000 {
        f.extend(idb(4000));
    }
    let pkt = udp_packet();
    f.extend(epb(9_999, pkt.len() as u32, &pkt));
    let (code, out, err) = run_bytes("ifaces", &f, "packets");
    assert_eq!(code, 0, "{err}");
    let recs = json(&out);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["interface"], 9_999);
    assert_eq!(recs[0]["layers"][3]["name"], "UDP");
}

#[test]
fn more_interfaces_than_the_limit_end_the_file_with_one_line() {
    let pkt = udp_packet();
    let mut f = shb();
    f.extend(idb(0));
    f.extend(epb(0, pkt.len() as u32, &pkt));
    for _ in 0..65_536 {
        f.extend(idb(0));
    }
    let at = f.len() - 20;
    let (code, out, err) = run_bytes("ifaces_flood", &f, "packets");
    assert_eq!(code, 1);
    assert_eq!(
        json(&out).len(),
        1,
        "the packet before the fault is printed"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "more than 65536 interface description blocks (at byte {at}, frame 2)"
        )),
        "{err}"
    );
}

#[test]
fn a_4_gib_captured_length_in_a_small_block_is_refused() {
    let pkt = udp_packet();
    let mut f = shb();
    f.extend(idb(0));
    f.extend(epb(0, pkt.len() as u32, &pkt));
    let bad_at = f.len();
    let mut bad = epb(0, pkt.len() as u32, &pkt);
    // The captured length says 4 GiB - 1; the block holds 60 bytes.
    bad[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
    f.extend(bad);
    let (code, out, err) = run_bytes("caplen", &f, "packets");
    assert_eq!(code, 1);
    assert_eq!(json(&out).len(), 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("(at byte {bad_at}, frame 2)")),
        "{err}"
    );
}

#[test]
fn block_lengths_of_4_gib_are_refused_before_reading_them() {
    for (len, why) in [
        (
            u32::MAX,
            "invalid block length 4294967295 in block type 0x6 (must be a multiple of 4, at least 12)",
        ),
        (u32::MAX - 3, "more than the 16777216-byte limit"),
    ] {
        let pkt = udp_packet();
        let mut f = shb();
        f.extend(idb(0));
        f.extend(epb(0, pkt.len() as u32, &pkt));
        let bad_at = f.len();
        f.extend(6u32.to_le_bytes());
        f.extend(len.to_le_bytes());
        f.extend([0u8; 64]);
        let (code, out, err) = run_bytes("blocklen", &f, "packets");
        assert_eq!(code, 1);
        assert_eq!(json(&out).len(), 1, "the packet before is printed");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(why) && err.contains(&format!("(at byte {bad_at}, frame 2)")),
            "{err}"
        );
    }
}

// --- many connections at once -------------------------------------------

/// 70 Socket.IO connections each open a message of almost 1 MiB (all but its
/// last fragment), so 70 MB would be held at once; then each finishes it.
fn many_open_messages(path: &PathBuf) {
    use common::synth::Synth;
    const C: [u8; 4] = [10, 0, 0, 2];
    const S: [u8; 4] = [10, 0, 0, 1];
    let mut w = Synth::new(path);
    let req = b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    let head = b"42[\"big\",\"";
    let mut first = ws_header(1, true, false, ((1 << 20) - 100) as u64, None);
    first.extend_from_slice(head);
    first.resize(first.len() + (1 << 20) - 100 - head.len(), b'a');
    let mut last = ws_header(0, false, false, 2, None);
    last.extend_from_slice(b"\"]");
    let mut open = Vec::new();
    for i in 0..70u16 {
        let port = 41_000 + i;
        w.tcp(C, port, S, 80, 0, None, "S", &[]);
        w.tcp(S, 80, C, port, 5000, Some(1), "SA", &[]);
        w.tcp(C, port, S, 80, 1, Some(5001), "A", &[]);
        w.tcp(C, port, S, 80, 1, Some(5001), "PA", req);
        let cseq = 1 + req.len() as u32;
        let mut sseq = 5001u32;
        for seg in std::iter::once(&resp[..]).chain(first.chunks(1400)) {
            w.tcp(S, 80, C, port, sseq, Some(cseq), "PA", seg);
            sseq += seg.len() as u32;
        }
        open.push((port, cseq, sseq));
    }
    for (port, cseq, sseq) in open {
        w.tcp(S, 80, C, port, sseq, Some(cseq), "PA", &last);
        let sseq = sseq + last.len() as u32;
        w.tcp(S, 80, C, port, sseq, Some(cseq), "FA", &[]);
        w.tcp(C, port, S, 80, cseq, Some(sseq + 1), "FA", &[]);
        w.tcp(S, 80, C, port, sseq + 1, Some(cseq + 1), "A", &[]);
    }
}

#[test]
fn unfinished_messages_of_all_connections_share_one_limit() {
    let path = tmp("many_open_messages.pcap");
    many_open_messages(&path);
    for view in ["flows --threads 1", "walk"] {
        let (code, out, err) = run(&path, view);
        assert_eq!(code, 0, "{view}: {err}");
        let recs = json(&out);
        assert_eq!(recs.len(), 70, "{view}");
        // 64 MiB hold 63 messages of 1 MiB - 100 bytes, 21 in each of the
        // three shares (connections numbered alike modulo 3): the 22nd and
        // later of each (connections 63 to 69) are cut, said so, and their
        // event not decoded.
        for r in &recs {
            let id = r["id"].as_u64().expect("id");
            let p = problems(r);
            if id < 63 {
                assert!(p.is_empty(), "{view}: connection {id}: {p:?}");
                assert_eq!(r["socketio"]["events"]["big"], 1, "{view}: {id}");
            } else {
                assert_eq!(p.len(), 1, "{view}: connection {id}: {p:?}");
                assert!(
                    p[0].starts_with("server: WebSocket message at frames ")
                        && p[0].ends_with(
                            " not kept whole: the 21.3 MiB shared by the unfinished messages of its share of the connections (one in 3) were in use"
                        ),
                    "{view}: {id}: {}",
                    p[0]
                );
                assert!(r["socketio"]["events"]["big"].is_null(), "{view}: {id}");
            }
        }
    }
    std::fs::remove_file(&path).ok();
}
