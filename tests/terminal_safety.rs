//! Text from the wire never reaches the terminal raw. A synthetic capture
//! (built here, labelled as such) carries a WebSocket session whose message and
//! close reason hold ESC sequences, a C1 control and a bidi override (HTTP
//! heads cannot: the parser rejects control characters there); every text
//! view must print them escaped. A second one carries them in Socket.IO event
//! names and arguments, an Engine.IO session id and, as bidi overrides (which
//! HTTP allows), in a WebSocket subprotocol. JSON views escape them too.

mod common;

use std::io::BufWriter;
use std::time::Duration;

use base64::Engine as _;
use etherparse::PacketBuilder;
use pcap_file::pcap::{PcapPacket, PcapWriter};
use sha1::{Digest, Sha1};

const EVIL: &str = "\u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}31m\u{202e}gnp.exe";

fn write_capture(path: &std::path::Path) {
    let f = std::fs::File::create(path).expect("create");
    let mut w = PcapWriter::new(BufWriter::new(f)).expect("writer");
    let (c, s) = ([127, 0, 0, 1], [127, 0, 0, 2]);
    let mut t = 1_700_000_000_000_000u64;
    let mut seq = [1000u32, 5000u32];
    let mut put = |from_client: bool, flags: &str, payload: &[u8], seq: &mut [u32; 2]| {
        let (src, dst, sp, dp, d) = if from_client {
            (c, s, 40000, 80, 0)
        } else {
            (s, c, 80, 40000, 1)
        };
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src, dst, 64)
            .tcp(sp, dp, seq[d], 65535);
        if flags.contains('S') {
            b = b.syn();
        }
        if flags.contains('F') {
            b = b.fin();
        }
        if flags.contains('A') {
            b = b.ack(seq[1 - d]);
        }
        let mut v = Vec::new();
        b.write(&mut v, payload).expect("build");
        seq[d] = seq[d].wrapping_add(
            payload.len() as u32 + u32::from(flags.contains('S') || flags.contains('F')),
        );
        t += 100;
        let p = PcapPacket::new(Duration::from_micros(t), v.len() as u32, v).expect("packet");
        w.write_packet(&p).expect("write");
    };
    put(true, "S", b"", &mut seq);
    put(false, "SA", b"", &mut seq);
    put(true, "A", b"", &mut seq);
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let req = format!(
        "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    put(true, "A", req.as_bytes(), &mut seq);
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = base64::engine::general_purpose::STANDARD.encode(h.finalize());
    let resp = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    put(false, "A", resp.as_bytes(), &mut seq);
    // A server text frame (unmasked) carrying the hostile text, and a close with it as reason.
    let mut frame = vec![0x81, EVIL.len() as u8];
    frame.extend_from_slice(EVIL.as_bytes());
    let mut close = vec![0x88, (2 + EVIL.len()) as u8, 0x03, 0xe8];
    close.extend_from_slice(EVIL.as_bytes());
    frame.extend_from_slice(&close);
    put(false, "A", &frame, &mut seq);
    put(false, "FA", b"", &mut seq);
    put(true, "FA", b"", &mut seq);
    put(false, "A", b"", &mut seq);
}

fn assert_clean(what: &str, out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    for (i, ch) in text.char_indices() {
        let bad = (ch.is_control() && ch != '\n')
            || matches!(ch, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(!bad, "{what}: raw {ch:?} at byte {i} in:\n{text}");
    }
}

#[test]
fn hostile_text_is_escaped_in_every_text_view() {
    let dir = std::env::temp_dir().join(format!("osiscope-term-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let p = dir.join("evil.pcap");
    write_capture(&p);
    let path = p.to_str().unwrap();
    for args in [
        vec!["walk", path],
        vec!["walk", path, "--brief"],
        vec!["walk", path, "--format", "mermaid"],
        vec!["walk", path, "--format", "svg"],
        vec!["flows", path],
        vec!["packets", path],
        vec!["layers", path],
        vec!["messages", path],
        vec!["walk", path, "--color", "always"],
    ] {
        let out = common::osiscope(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        if args.contains(&"always") {
            // With colour on, only osiscope's own SGR sequences may appear: strip them first.
            let s = String::from_utf8_lossy(&out.stdout);
            let stripped: String = strip_sgr(&s);
            assert_clean(&format!("{args:?}"), stripped.as_bytes());
        } else {
            assert_clean(&format!("{args:?}"), &out.stdout);
        }
    }
    // The text is still there, visibly escaped, and JSON keeps it exact.
    let walk = String::from_utf8_lossy(&common::osiscope(&["walk", path]).stdout).into_owned();
    assert!(
        walk.contains("\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m\\u{202e}gnp.exe"),
        "{walk}"
    );
    let json = common::osiscope(&["walk", path, "--format", "json"]);
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&json.stdout).trim()).expect("json");
    assert_eq!(v["websocket"]["messages"][0]["text"], EVIL);
    assert_eq!(v["websocket"]["close"]["reason"], EVIL);
    // Exported tables may be read with `cat`: as clean, and as exact.
    let tables = exported(&dir, path);
    let texts: Vec<&serde_json::Value> = tables["ws_messages"]
        .iter()
        .filter_map(|r| r.get("text"))
        .collect();
    assert!(texts.iter().any(|t| *t == EVIL), "{texts:?}");
    assert_eq!(tables["websocket"][0]["close_reason"], EVIL);
    std::fs::remove_dir_all(&dir).ok();
}

/// Exports a capture as JSON Lines, checks every file is clean for a
/// terminal, and returns the rows by table.
fn exported(
    dir: &std::path::Path,
    capture: &str,
) -> std::collections::HashMap<String, Vec<serde_json::Value>> {
    let out = dir.join("export");
    let har = dir.join("export.har");
    let o = common::osiscope(&[
        "export",
        capture,
        "--out",
        out.to_str().unwrap(),
        "--har",
        har.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_clean("export stderr", &o.stderr);
    let har = std::fs::read(&har).expect("HAR");
    assert_clean("HAR", &har);
    serde_json::from_slice::<serde_json::Value>(&har).expect("the HAR is JSON");
    let mut tables = std::collections::HashMap::new();
    for t in std::fs::read_dir(&out).expect("tables") {
        let t = t.expect("entry").path();
        for part in std::fs::read_dir(&t).expect("partitions") {
            let file = part.expect("entry").path().join("part.jsonl");
            let bytes = std::fs::read(&file).expect("read");
            assert_clean(&file.to_string_lossy(), &bytes);
            let rows = String::from_utf8_lossy(&bytes)
                .lines()
                .map(|l| serde_json::from_str(l).expect("json"))
                .collect();
            tables.insert(t.file_name().unwrap().to_string_lossy().into_owned(), rows);
        }
    }
    tables
}

/// Removes `ESC [ … m` sequences (colour), which osiscope itself writes.
fn strip_sgr(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\u{1b}' && it.peek() == Some(&'[') {
            for d in it.by_ref() {
                if d == 'm' {
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Socket.IO over WebSocket with the hostile text in every place a person reads.
fn write_socketio_capture(path: &std::path::PathBuf) {
    use common::synth::{Session, ws_frame};
    let mut s = Session::new(path);
    let proto = "chat\u{202e}txt.exe";
    s.client(
        format!(
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {proto}\r\n\r\n"
        )
        .as_bytes(),
    );
    s.server(
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: {proto}\r\n\r\n"
        )
        .as_bytes(),
    );
    let evil = serde_json::to_string(EVIL).expect("json");
    s.server(&ws_frame(
        1,
        format!(r#"0{{"sid":{evil},"upgrades":[],"pingInterval":25000,"pingTimeout":20000}}"#)
            .as_bytes(),
    ));
    s.server(&ws_frame(1, b"40"));
    s.server(&ws_frame(
        1,
        format!(r#"42[{evil},{{"k":{evil}}},{evil}]"#).as_bytes(),
    ));
    s.server(&ws_frame(1, format!(r#"42["chat",{evil}]"#).as_bytes()));
    s.close();
}

#[test]
fn hostile_socketio_and_headers_are_escaped_in_every_view_and_json() {
    let dir = std::env::temp_dir().join(format!("osiscope-term-sio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let p = dir.join("evil-sio.pcap");
    write_socketio_capture(&p);
    let path = p.to_str().unwrap();
    for args in [
        vec!["walk", path],
        vec!["walk", path, "--brief"],
        vec!["walk", path, "--format", "mermaid"],
        vec!["walk", path, "--format", "svg"],
        vec!["walk", path, "--format", "json"],
        vec!["flows", path],
        vec!["flows", path, "--format", "json"],
        vec!["packets", path],
        vec!["packets", path, "--format", "json"],
        vec!["layers", path],
        vec!["layers", path, "--format", "json"],
        vec!["messages", path],
        vec!["messages", path, "--format", "json"],
    ] {
        let out = common::osiscope(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_clean(&format!("{args:?}"), &out.stdout);
        assert_clean(&format!("{args:?} stderr"), &out.stderr);
    }
    // The walk names the event and the session as they are, escaped.
    let walk = String::from_utf8_lossy(&common::osiscope(&["walk", path]).stdout).into_owned();
    let shown = "\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m\\u{202e}gnp.exe";
    assert!(walk.contains(&format!("socket.on(\"{shown}\")")), "{walk}");
    assert!(walk.contains(&format!("sid {shown}")), "{walk}");
    assert!(walk.contains("chat\\u{202e}txt.exe"), "{walk}");
    // JSON reads back exactly what was sent.
    let json = common::osiscope(&["flows", path, "--format", "json"]);
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&json.stdout).trim()).expect("json");
    assert_eq!(v["socketio"]["sid"], EVIL);
    assert_eq!(v["socketio"]["events"][EVIL], 1);
    assert_eq!(v["websocket"]["subprotocol"], "chat\u{202e}txt.exe");
    let tables = exported(&dir, path);
    assert!(tables["socketio_events"].iter().any(|r| r["event"] == EVIL));
    assert_eq!(tables["websocket"][0]["subprotocol"], "chat\u{202e}txt.exe");
    // An error naming a hostile file name escapes it too.
    let bad = dir.join("\u{1b}[31mred\u{202e}.pcap");
    std::fs::write(&bad, b"not a capture").expect("write");
    let out = common::osiscope(&["flows", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_clean("error line", &out.stderr);
    assert!(String::from_utf8_lossy(&out.stderr).contains("\\x1b[31mred\\u{202e}.pcap"));
    std::fs::remove_dir_all(&dir).ok();
}
