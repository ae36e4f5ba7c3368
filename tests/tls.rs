//! TLS on the six wss/https captures recorded with their key logs
//! (captures/*.keys), checked against tshark 4.0's answers with the same key
//! logs (tests/expected/tshark/*.tls.tsv): per connection, the frames of the
//! ClientHello and ServerHello, the version, the cipher suite, the key
//! exchange group, the server name, the ALPN offered and chosen, the groups
//! offered, and the TLS records each way. Then what happens without keys,
//! with wrong keys, and with a capture that starts after the handshake.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

/// Every capture with a key log beside it.
fn captures() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(common::repo().join("captures"))
        .expect("captures")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".keys"))
        .map(|n| format!("captures/{}.pcap", n.trim_end_matches(".keys")))
        .collect();
    v.sort();
    v
}

fn keys(pcap: &str) -> String {
    format!("{}.keys", pcap.trim_end_matches(".pcap"))
}

/// tshark's version and suite names, from the numbers it records.
fn version_name(hex: &str) -> String {
    match hex {
        "0x0304" => "TLS 1.3",
        "0x0303" => "TLS 1.2",
        other => other,
    }
    .to_owned()
}

/// What tshark says of one connection.
#[derive(Debug, Default, PartialEq)]
struct Facts {
    client_hello_frame: Option<u64>,
    server_hello_frame: Option<u64>,
    version: Option<String>,
    cipher_suite: Option<String>,
    group: Option<String>,
    sni: Option<String>,
    alpn_offered: Vec<String>,
    alpn: Option<String>,
    groups_offered: Vec<String>,
    /// A full handshake: the server sends a Certificate. Not in a resumed one
    /// (osiscope's `resumed`), which tshark shows only by its absence.
    full_handshake: bool,
    records: (u64, u64),
}

fn list(cell: &str) -> Vec<String> {
    cell.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The server's port of each connection, by id (tshark's tcp.stream).
fn server_ports(conns: &[Value]) -> BTreeMap<u64, String> {
    conns
        .iter()
        .map(|c| {
            let port = c["server"].as_str().and_then(|s| s.rsplit(':').next());
            (
                c["id"].as_u64().expect("id"),
                port.expect("port").to_owned(),
            )
        })
        .collect()
}

/// tshark's facts per tcp.stream, from `suffix` (with or without keys).
fn theirs(path: &str, ports: &BTreeMap<u64, String>, suffix: &str) -> BTreeMap<u64, Facts> {
    let mut out: BTreeMap<u64, Facts> = BTreeMap::new();
    for r in common::tshark_rows(path, suffix).expect("tls.tsv") {
        let stream: u64 = r["tcp.stream"].parse().expect("stream");
        let f = out.entry(stream).or_default();
        let frame: u64 = r["frame.number"].parse().expect("frame");
        // One length per record (encrypted TLS 1.3 records have an opaque
        // type instead of a content type when tshark cannot open them).
        let records = list(&r["tls.record.length"]).len() as u64;
        let from_server = ports.get(&stream) == Some(&r["tcp.srcport"]);
        if from_server {
            f.records.1 += records;
        } else {
            f.records.0 += records;
        }
        let types = list(&r["tls.handshake.type"]);
        if types.contains(&"1".to_owned()) && !from_server {
            f.client_hello_frame.get_or_insert(frame);
            f.sni =
                Some(r["tls.handshake.extensions_server_name"].clone()).filter(|s| !s.is_empty());
            f.alpn_offered = list(&r["tls.handshake.extensions_alpn_str"]);
            f.groups_offered = list(&r["tls.handshake.extensions_supported_group"])
                .iter()
                .map(|g| group_name(g))
                .collect();
        }
        if types.contains(&"2".to_owned()) && from_server {
            f.server_hello_frame = Some(frame);
            let sv = &r["tls.handshake.extensions.supported_version"];
            f.version = Some(version_name(if sv.is_empty() {
                &r["tls.handshake.version"]
            } else {
                sv
            }));
            let id =
                u16::from_str_radix(r["tls.handshake.ciphersuite"].trim_start_matches("0x"), 16)
                    .expect("suite");
            f.cipher_suite = Some(osiscope::proto::tls::names::suite_name(id));
            f.group = Some(r["tls.handshake.extensions_key_share_group"].clone())
                .filter(|s| !s.is_empty())
                .map(|g| group_name(&g));
        }
        if from_server && types.contains(&"11".to_owned()) {
            f.full_handshake = true;
        }
        // The ALPN chosen: in the ServerHello (TLS 1.2) or EncryptedExtensions (1.3).
        if from_server
            && (types.contains(&"2".to_owned()) || types.contains(&"8".to_owned()))
            && let Some(a) = list(&r["tls.handshake.extensions_alpn_str"]).pop()
        {
            f.alpn = Some(a);
        }
    }
    out
}

/// A group as osiscope names it, from tshark's number (decimal or hex).
fn group_name(g: &str) -> String {
    let n = match g.strip_prefix("0x") {
        Some(h) => u16::from_str_radix(h, 16),
        None => g.parse(),
    }
    .expect("group");
    osiscope::proto::tls::names::group_name(n)
}

fn ours(c: &Value) -> Facts {
    let t = &c["tls"];
    let s = |k: &str| t[k].as_str().map(str::to_owned);
    let strings = |k: &str| -> Vec<String> {
        t[k].as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    Facts {
        client_hello_frame: t["client_hello_frame"].as_u64(),
        server_hello_frame: t["server_hello_frame"].as_u64(),
        version: s("version"),
        cipher_suite: s("cipher_suite"),
        group: s("group"),
        sni: s("sni"),
        alpn_offered: strings("alpn_offered"),
        alpn: s("alpn"),
        groups_offered: strings("groups_offered"),
        full_handshake: t["resumed"] == false,
        records: (
            t["records"]["client_to_server"].as_u64().unwrap_or(0),
            t["records"]["server_to_client"].as_u64().unwrap_or(0),
        ),
    }
}

#[test]
fn handshake_and_records_match_tshark_with_the_key_logs() {
    let files = captures();
    assert_eq!(files.len(), 7, "{files:?}");
    let mut report = String::new();
    let mut checked = 0;
    for path in &files {
        let conns =
            common::json_lines(&["flows", "--format", "json", path, "--keylog", &keys(path)]);
        let theirs = theirs(path, &server_ports(&conns), ".tls.tsv");
        assert_eq!(theirs.len(), conns.len(), "{path}: connections");
        for c in &conns {
            let id = c["id"].as_u64().expect("id");
            let ours = ours(c);
            if Some(&ours) != theirs.get(&id) {
                let _ = writeln!(
                    report,
                    "{path} connection {id}:\n  tshark   {:?}\n  osiscope {ours:?}",
                    theirs.get(&id)
                );
            }
            assert_eq!(c["tls"]["decrypted"], true, "{path} {id}");
            assert_eq!(c["tls"]["not_decrypted_reason"], Value::Null, "{path} {id}");
            checked += 1;
        }
    }
    assert!(report.is_empty(), "TLS differs from tshark:\n{report}");
    // 5 connections of the Socket.IO session, 3 of the browser's (the page, a
    // spare one it never used, the WebSocket), one in each other capture.
    assert_eq!(checked, 13);
    // The browser's WebSocket resumes the page's session with a pre-shared key.
    let resumed: Vec<(u64, bool)> = common::json_lines(&[
        "flows",
        "--format",
        "json",
        "captures/wss-chromium.pcap",
        "--keylog",
        "captures/wss-chromium.keys",
    ])
    .iter()
    .map(|c| (c["id"].as_u64().unwrap(), c["tls"]["resumed"] == true))
    .collect();
    assert_eq!(resumed, [(0, false), (1, false), (2, true)]);
}

/// Without keys, what the hellos say in the clear matches tshark's without
/// keys, on every capture where tshark sees TLS: the
/// seven above and two that other projects recorded (pcap-parser's, with a
/// HelloRetryRequest; gopacket's, a TLS 1.2 session to a public web server).
#[test]
fn without_keys_the_hellos_match_tshark_on_every_tls_capture() {
    let files: Vec<String> = common::summaries()
        .into_iter()
        .map(|s| s.path)
        .filter(|p| common::exists(p) && common::tshark_rows(p, ".tls-nokeys.tsv").is_some())
        .collect();
    assert_eq!(files.len(), 9, "{files:?}");
    let mut report = String::new();
    let mut checked = 0;
    for path in &files {
        let conns = common::json_lines(&["flows", "--format", "json", path]);
        let ports = server_ports(&conns);
        let theirs = theirs(path, &ports, ".tls-nokeys.tsv");
        for (id, t) in &theirs {
            let Some(c) = conns.iter().find(|c| c["id"].as_u64() == Some(*id)) else {
                let _ = writeln!(report, "{path} connection {id}: osiscope has none");
                continue;
            };
            // Compared with keys only: the kind of handshake (without keys
            // tshark cannot see a TLS 1.3 certificate) and the records (off
            // port 443 tshark finds TLS by a heuristic that takes the hellos
            // only, so it counts the records of the handshake's packets).
            let mut ours = Facts {
                full_handshake: t.full_handshake,
                ..ours(c)
            };
            if ports.get(id).map(String::as_str) != Some("443") {
                ours.records = t.records;
            }
            if ours != *t {
                let _ = writeln!(
                    report,
                    "{path} connection {id}:\n  tshark   {t:?}\n  osiscope {ours:?}"
                );
            }
            assert_eq!(c["tls"]["decrypted"], false, "{path} {id}");
            checked += 1;
        }
    }
    assert!(
        report.is_empty(),
        "TLS without keys differs from tshark:\n{report}"
    );
    // The 13 connections above, one in pcap-parser's file, one in gopacket's.
    assert_eq!(checked, 15);
}

/// Decrypted or not, the parts of "bytes by layer" add up to the wire bytes.
#[test]
fn bytes_by_layer_add_up_with_and_without_keys() {
    for path in captures() {
        for with_keys in [false, true] {
            let mut args = vec!["walk", "--format", "json", path.as_str()];
            let k = keys(&path);
            if with_keys {
                args.extend(["--keylog", &k]);
            }
            for c in common::json_lines(&args) {
                let o = c["overhead"].as_object().expect("overhead");
                let sum: u64 = o
                    .iter()
                    .filter(|(k, _)| *k != "total")
                    .map(|(_, v)| v.as_u64().expect("number"))
                    .sum();
                assert_eq!(Some(sum), o["total"].as_u64(), "{path} keys={with_keys}");
                let tls = o["tls_record"].as_u64().unwrap_or(0);
                let enc = o["tls_encrypted"].as_u64().unwrap_or(0);
                assert!(tls > 0, "{path}: TLS records booked");
                if with_keys {
                    assert_eq!(enc, 0, "{path}: everything decrypted");
                    if c["websocket"] != Value::Null {
                        assert!(o["payload"].as_u64().unwrap_or(0) > 0, "{path}");
                    }
                    assert_eq!(o["other"], 0, "{path}: every byte recognised");
                } else {
                    assert!(enc > 0, "{path}: encrypted data booked as such");
                    assert_eq!(o["payload"], 0, "{path}");
                }
            }
        }
    }
}

#[test]
fn without_keys_the_hellos_are_read_and_the_reason_given() {
    let conns = common::json_lines(&[
        "flows",
        "--format",
        "json",
        "captures/wss-python-tls12-chacha.pcap",
    ]);
    let t = &conns[0]["tls"];
    assert_eq!(t["version"], "TLS 1.2");
    assert_eq!(
        t["cipher_suite"],
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
    );
    assert_eq!(t["sni"], "osiscope.test");
    // TLS 1.2 sends the certificate in the clear.
    assert_eq!(
        t["certificate_subject"],
        "CN=osiscope.test, O=osiscope test certificate"
    );
    assert_eq!(t["decrypted"], false);
    assert_eq!(
        t["not_decrypted_reason"],
        "no key log (give one with --keylog FILE, or set SSLKEYLOGFILE)"
    );
    assert_eq!(conns[0]["app_protocol"], "tls");
    assert_eq!(conns[0]["websocket"], Value::Null);
    // TLS 1.3 encrypts the certificate: without keys, no subject.
    let conns = common::json_lines(&[
        "flows",
        "--format",
        "json",
        "captures/wss-python-tls13.pcap",
    ]);
    assert_eq!(conns[0]["tls"]["certificate_subject"], Value::Null);
    assert_eq!(conns[0]["tls"]["version"], "TLS 1.3");
}

#[test]
fn the_environment_key_log_is_used_and_said() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_osiscope"))
        .args(["flows", "--format", "json", "captures/wss-keyupdate.pcap"])
        .current_dir(common::repo())
        .env("SSLKEYLOGFILE", "captures/wss-keyupdate.keys")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("osiscope: decrypting TLS with the key log in SSLKEYLOGFILE (captures/wss-keyupdate.keys: 4 secrets for 1 sessions)"),
        "{err}"
    );
    let c: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(c["tls"]["decrypted"], true);
    assert_eq!(c["tls"]["key_updates"], 2);
    assert_eq!(c["app_protocol"], "websocket");
}

#[test]
fn wrong_or_missing_keys_are_said_once_and_nothing_is_made_up() {
    let dir = std::env::temp_dir().join(format!("osiscope-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    // The right client random with wrong secrets; and a log for another session.
    let good = std::fs::read_to_string(common::repo().join("captures/wss-python-tls13.keys"))
        .expect("keys");
    let wrong: String = good
        .lines()
        .map(|l| match l.rsplit_once(' ') {
            Some((head, secret)) if !l.starts_with('#') => {
                format!("{head} {}\n", "ab".repeat(secret.len() / 2))
            }
            _ => format!("{l}\n"),
        })
        .collect();
    let wrong_path = dir.join("wrong.keys");
    std::fs::write(&wrong_path, wrong).expect("write");
    let other = dir.join("other.keys");
    std::fs::copy(common::repo().join("captures/wss-keyupdate.keys"), &other).expect("copy");
    let run = |keys: &std::path::Path| {
        common::json_lines(&[
            "walk",
            "--format",
            "json",
            "captures/wss-python-tls13.pcap",
            "--keylog",
            &keys.to_string_lossy(),
        ])
    };
    let c = &run(&wrong_path)[0];
    assert_eq!(
        c["tls"]["not_decrypted_reason"],
        "the server's record at frame 6 does not open with the logged keys (wrong keys, or a damaged record)"
    );
    assert_eq!(c["websocket"], Value::Null, "no garbage decoded");
    assert_eq!(c["overhead"]["payload"], 0);
    let c = &run(&other)[0];
    let why = c["tls"]["not_decrypted_reason"].as_str().expect("reason");
    assert!(why.starts_with("no key for its client random in "), "{why}");
    assert_eq!(c["tls"]["decrypted"], false);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_capture_that_starts_after_the_handshake_says_so() {
    use osiscope::capture::CaptureReader;
    use osiscope::capture::write::PcapOut;
    // The wss session from frame 12 on: the upgrade's answer and the messages, no hellos.
    let dir = std::env::temp_dir().join(format!("osiscope-tls-late-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let cut = dir.join("late.pcap");
    {
        let mut r = CaptureReader::open(&common::repo().join("captures/wss-python-tls13.pcap"))
            .expect("open");
        let mut w = PcapOut::create(&cut).expect("create");
        w.input_linktype(1);
        while let Some(f) = r.next_frame() {
            let f = f.expect("frame");
            if f.number >= 12 {
                w.write(&f).expect("write");
            }
        }
        w.finish().expect("finish");
    }
    let cut_s = cut.to_string_lossy().into_owned();
    let c = &common::json_lines(&[
        "flows",
        "--format",
        "json",
        &cut_s,
        "--keylog",
        "captures/wss-python-tls13.keys",
    ])[0];
    assert_eq!(
        c["tls"]["not_decrypted_reason"],
        "the capture started after the TLS handshake: no ClientHello, so no client random to find keys by"
    );
    assert_eq!(c["app_protocol"], "tls");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Malformed, foreign and duplicate key log lines: a warning each with its
/// line number, and the run goes on.
#[test]
fn a_bad_key_log_line_is_a_warning_not_a_stop() {
    let dir = std::env::temp_dir().join(format!("osiscope-tls-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let keys = dir.join("bad.keys");
    let good = std::fs::read_to_string(common::repo().join("captures/wss-python-tls13.keys"))
        .expect("keys");
    std::fs::write(&keys, format!("hello world\n{good}NOT_A_LABEL 00 00\n")).expect("write");
    let out = common::osiscope(&[
        "flows",
        "--format",
        "json",
        "captures/wss-python-tls13.pcap",
        "--keylog",
        &keys.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.keys: line 1: not LABEL CLIENT_RANDOM SECRET"),
        "{err}"
    );
    assert!(err.contains("unknown label NOT_A_LABEL"), "{err}");
    let c: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(c["tls"]["decrypted"], true);
    // A key log that cannot be read at all is a usage error.
    let out = common::osiscope(&[
        "flows",
        "captures/wss-python-tls13.pcap",
        "--keylog",
        "/nonexistent/keys",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the key log"));
    let _ = std::fs::remove_dir_all(&dir);
}
