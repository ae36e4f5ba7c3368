//! `osiscope export`: the tables agree with Zeek's own logs of its WebSocket
//! traces and with tshark's packets and bytes; Parquet and JSON Lines hold
//! the same rows; the HAR file holds every message; many captures at once
//! give the same files as one by one; a broken capture keeps its rows.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{osiscope, repo, tshark_rows};
use serde_json::{Map, Value};

type Row = Map<String, Value>;

/// A fresh directory: tests run in parallel and export the same captures, so
/// each call gets its own number.
fn tmp(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("osiscope-export-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Runs `osiscope export ARGS`, which must succeed.
fn export(args: &[&str]) {
    let mut a = vec!["export"];
    a.extend_from_slice(args);
    let out = osiscope(&a);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{a:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn label(capture: &str) -> String {
    Path::new(capture)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The rows of one capture's table, as JSON Lines.
fn jsonl(out: &Path, table: &str, capture: &str) -> Vec<Row> {
    let p = out
        .join(table)
        .join(format!("file={}", label(capture)))
        .join("part.jsonl");
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(|l| match serde_json::from_str(l) {
            Ok(Value::Object(m)) => m,
            other => panic!("{}: not an object: {other:?}", p.display()),
        })
        .collect()
}

/// Exports one capture as JSON Lines; its tables by name.
fn tables(capture: &str) -> HashMap<&'static str, Vec<Row>> {
    let out = tmp(&label(capture));
    export(&[capture, "--out", out.to_str().unwrap()]);
    let t = [
        "conn",
        "websocket",
        "ws_messages",
        "socketio_events",
        "http",
    ]
    .into_iter()
    .map(|t| (t, jsonl(&out, t, capture)))
    .collect();
    let _ = std::fs::remove_dir_all(&out);
    t
}

/// A Zeek log (TSV with a header line): its rows, `-` as absent.
fn zeek_log(path: &Path) -> Vec<HashMap<String, Option<String>>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    lines
        .map(|l| {
            header
                .iter()
                .zip(l.split('\t'))
                .map(|(h, v)| (h.to_string(), (v != "-").then(|| v.to_owned())))
                .collect()
        })
        .collect()
}

fn s(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => Some(
            a.iter()
                .map(|x| x.as_str().expect("list of strings"))
                .collect::<Vec<_>>()
                .join(","),
        ),
        other => Some(other.to_string()),
    }
}

/// Zeek's WebSocket tests, with the trace each reads.
const ZEEK: &[(&str, &str)] = &[
    ("broker-websocket", "broker-websocket.pcap"),
    ("jupyter-websocket", "jupyter-websocket.pcap"),
    ("wstunnel-http", "wstunnel-http.pcap"),
    ("wstunnel-https", "wstunnel-https.pcap"),
    ("wstunnel-ssh", "wstunnel-ssh.pcap"),
    ("key-accept-wrong", "wrong-accept-header.pcap"),
];

/// Protocols Zeek found inside WebSocket binary messages (wstunnel carries
/// TLS and SSH in them); osiscope does not analyse what a WebSocket tunnels.
const TUNNELLED: &[&str] = &["ssl", "ssh"];

#[test]
fn conn_and_websocket_tables_agree_with_zeeks_logs() {
    let mut compared = 0;
    for (test, trace) in ZEEK {
        let capture = format!("tests/corpus/zeek/websocket/{trace}");
        let t = tables(&capture);
        let dir = repo().join("tests/expected/zeek").join(test);
        if dir.join("conn.log").exists() {
            let zeek = zeek_log(&dir.join("conn.log"));
            let ours = &t["conn"];
            assert_eq!(ours.len(), zeek.len(), "{test}: connections");
            for (o, z) in ours.iter().zip(&zeek) {
                assert_eq!(s(o.get("history")), z["history"], "{test}: history");
                let service: Vec<&str> = z["service"]
                    .as_deref()
                    .unwrap_or("")
                    .split(',')
                    .filter(|p| !p.is_empty() && !TUNNELLED.contains(p))
                    .collect();
                assert_eq!(
                    s(o.get("service")).unwrap_or_default(),
                    service.join(","),
                    "{test}: service"
                );
                compared += 2;
            }
        }
        let zeek = zeek_log(&dir.join("websocket.log"));
        let ours = &t["websocket"];
        assert_eq!(ours.len(), zeek.len(), "{test}: handshakes");
        for (o, z) in ours.iter().zip(&zeek) {
            for f in [
                "id.orig_h",
                "id.orig_p",
                "id.resp_h",
                "id.resp_p",
                "host",
                "uri",
                "user_agent",
                "subprotocol",
                "client_protocols",
                "server_extensions",
                "client_extensions",
            ] {
                assert_eq!(s(o.get(f)), z[f], "{test}: websocket.{f}");
                compared += 1;
            }
        }
        if dir.join("weird.log").exists() {
            // Zeek's websocket_wrong_accept_header: expected=X, found=Y.
            let weird = zeek_log(&dir.join("weird.log"));
            let addl = weird[0]["addl"].clone().expect("addl");
            let (expected, found) = addl
                .strip_prefix("expected=")
                .and_then(|a| a.split_once(", found="))
                .expect("expected=…, found=…");
            let o = &ours[0];
            assert_eq!(s(o.get("accept")).as_deref(), Some(found), "{test}");
            assert_ne!(expected, found);
            assert_eq!(o.get("accept_valid"), Some(&Value::Bool(false)), "{test}");
            compared += 2;
        }
    }
    assert_eq!(compared, 91, "fields compared with Zeek's logs");
}

/// One side of a connection by tshark: packets, IP bytes, payload bytes by
/// sequence numbers.
type Side = (u64, u64, u64);

/// Each side, by connection and the side's port, from tshark's dissection.
fn tshark_sides(capture: &str) -> Option<HashMap<(u64, u16), Side>> {
    let frames = tshark_rows(capture, ".tsv")?;
    let tcp = tshark_rows(capture, ".tcp.tsv")?;
    let mut sides: HashMap<(u64, u16), Side> = HashMap::new();
    for (f, t) in frames.iter().zip(&tcp) {
        assert_eq!(f["frame.number"], t["frame.number"]);
        let Ok(stream) = t["tcp.stream"].parse::<u64>() else {
            continue;
        };
        let port: u16 = f["tcp.srcport"].parse().expect("port");
        let ip: u64 = match (t["ip.len"].parse::<u64>(), t["ipv6.plen"].parse::<u64>()) {
            (Ok(n), _) => n,
            (_, Ok(n)) => n + 40,
            _ => panic!("{capture}: frame {} has no IP length", f["frame.number"]),
        };
        let flags = u16::from_str_radix(t["tcp.flags"].trim_start_matches("0x"), 16).unwrap();
        let e = sides.entry((stream, port)).or_default();
        e.0 += 1;
        e.1 += ip;
        let len = t["tcp.len"].parse::<u64>().unwrap();
        if flags & 0x4 == 0 && (len > 0 || flags & 0x1 != 0) {
            // The highest sequence number data (or the FIN) reached; the
            // SYN takes number 0.
            let end = t["tcp.seq"].parse::<u64>().unwrap() + len;
            e.2 = e.2.max(end.saturating_sub(1));
        }
    }
    Some(sides)
}

#[test]
fn conn_packets_and_bytes_agree_with_tshark() {
    let mut captures: Vec<String> = Vec::new();
    for dir in ["captures", "tests/corpus/zeek/websocket"] {
        for e in std::fs::read_dir(repo().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                captures.push(format!(
                    "{dir}/{}",
                    p.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    captures.sort();
    let mut checked = 0;
    for c in &captures {
        let sides = tshark_sides(c).unwrap_or_else(|| panic!("{c}: no tshark answers"));
        for r in &tables(c)["conn"] {
            let n = |f: &str| r[f].as_u64().unwrap_or_else(|| panic!("{c}: {f} in {r:?}"));
            let id = n("connection");
            let (orig, resp) = (n("id.orig_p") as u16, n("id.resp_p") as u16);
            let o = sides[&(id, orig)];
            let p = sides.get(&(id, resp)).copied().unwrap_or_default();
            assert_eq!(
                (n("orig_pkts"), n("resp_pkts")),
                (o.0, p.0),
                "{c} #{id}: packets"
            );
            assert_eq!(
                (n("orig_ip_bytes"), n("resp_ip_bytes")),
                (o.1, p.1),
                "{c} #{id}: IP bytes"
            );
            // Payload by sequence numbers, where the handshake fixed them.
            if r["history"].as_str().unwrap().starts_with("Sh") {
                assert_eq!(
                    (n("orig_bytes"), n("resp_bytes")),
                    (o.2, p.2),
                    "{c} #{id}: bytes"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "{checked} connections checked");
}

/// Every row of a Parquet file, as JSON.
fn parquet_rows(p: &Path) -> Vec<Value> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let f = std::fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let r = SerializedFileReader::new(f).expect("a Parquet file");
    r.get_row_iter(None)
        .expect("rows")
        .map(|row| row.expect("row").to_json_value())
        .collect()
}

#[test]
fn parquet_holds_the_same_rows_as_json_lines() {
    let (j, p) = (tmp("all-jsonl"), tmp("all-parquet"));
    export(&["captures", "--out", j.to_str().unwrap()]);
    export(&["captures", "--out", p.to_str().unwrap(), "--as", "parquet"]);
    let mut rows = 0;
    for table in [
        "conn",
        "websocket",
        "ws_messages",
        "socketio_events",
        "http",
    ] {
        for e in std::fs::read_dir(j.join(table)).unwrap() {
            let part = e.unwrap().path();
            let name = part.file_name().unwrap();
            let lines: Vec<Value> = std::fs::read_to_string(part.join("part.jsonl"))
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            let pq = parquet_rows(&p.join(table).join(name).join("part.parquet"));
            assert_eq!(pq.len(), lines.len(), "{table}/{name:?}");
            for (a, b) in lines.iter().zip(&pq) {
                assert_eq!(a, b, "{table}/{name:?}");
            }
            rows += lines.len();
        }
    }
    assert!(rows > 200, "{rows} rows compared");
    let _ = std::fs::remove_dir_all(&j);
    let _ = std::fs::remove_dir_all(&p);
}

#[test]
fn many_captures_at_once_write_what_each_writes_alone() {
    for form in ["jsonl", "parquet"] {
        let all = tmp(&format!("together-{form}"));
        export(&[
            "captures",
            "--out",
            all.to_str().unwrap(),
            "--as",
            form,
            "-j",
            "4",
        ]);
        let alone = tmp(&format!("alone-{form}"));
        let mut files = 0;
        for e in std::fs::read_dir(repo().join("captures")).unwrap() {
            let c = e.unwrap().path();
            if !c.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                continue;
            }
            export(&[
                c.to_str().unwrap(),
                "--out",
                alone.to_str().unwrap(),
                "--as",
                form,
            ]);
            for table in [
                "conn",
                "websocket",
                "ws_messages",
                "socketio_events",
                "http",
            ] {
                let part = Path::new(table)
                    .join(format!("file={}", c.file_name().unwrap().to_string_lossy()))
                    .join(format!("part.{form}"));
                let a = std::fs::read(all.join(&part)).unwrap();
                let b = std::fs::read(alone.join(&part)).unwrap();
                assert!(a == b, "{}: differs", part.display());
                files += 1;
            }
        }
        assert!(files >= 5 * 18, "{files} files compared");
        let _ = std::fs::remove_dir_all(&all);
        let _ = std::fs::remove_dir_all(&alone);
    }
}

/// Checks the parts of HAR 1.2 (the spec's required fields and their
/// types) that an entry of osiscope's has.
fn check_har(har: &Value) {
    let log = &har["log"];
    assert_eq!(log["version"], "1.2");
    assert!(log["creator"]["name"].is_string() && log["creator"]["version"].is_string());
    for e in log["entries"].as_array().expect("entries") {
        let t = e["startedDateTime"].as_str().expect("startedDateTime");
        assert!(
            t.len() == 27 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
            "ISO 8601: {t}"
        );
        assert!(e["time"].as_f64().expect("time") >= 0.0);
        let (q, r) = (&e["request"], &e["response"]);
        for f in ["method", "url", "httpVersion"] {
            assert!(q[f].is_string(), "request.{f}");
        }
        for f in ["cookies", "headers", "queryString"] {
            assert!(q[f].is_array(), "request.{f}");
        }
        for f in ["headersSize", "bodySize"] {
            assert!(q[f].is_i64(), "request.{f}");
            assert!(r[f].is_i64(), "response.{f}");
        }
        assert!(
            r["status"].is_u64() && r["statusText"].is_string() && r["httpVersion"].is_string()
        );
        assert!(r["cookies"].is_array() && r["headers"].is_array());
        assert!(r["content"]["size"].is_u64() && r["content"]["mimeType"].is_string());
        assert!(r["redirectURL"].is_string());
        for h in q["headers"]
            .as_array()
            .unwrap()
            .iter()
            .chain(r["headers"].as_array().unwrap())
        {
            assert!(h["name"].is_string() && h["value"].is_string());
        }
        assert!(e["cache"].is_object());
        let tm = &e["timings"];
        let mut sum = 0.0;
        for f in ["send", "wait", "receive"] {
            let v = tm[f].as_f64().expect("timing");
            assert!(v >= 0.0, "timings.{f}");
            sum += v;
        }
        for f in ["blocked", "dns", "connect", "ssl"] {
            assert!(tm[f].as_f64().is_some_and(|v| v == -1.0 || v >= 0.0));
        }
        assert!(
            (sum - e["time"].as_f64().unwrap()).abs() < 1e-6,
            "time is the timings' sum"
        );
    }
}

/// The HAR of a capture holding one WebSocket session: one entry, the
/// upgrade, whose messages are tshark's data frames (none is fragmented in
/// these captures), in order, with their direction, opcode, data and time.
/// `url` is (scheme and host, request target).
fn har_holds_tsharks_messages(
    capture: &str,
    tshark_ws: &str,
    keylog: Option<&str>,
    url: (&str, &str),
    messages: usize,
) {
    let out = tmp(&format!("har-{}", label(capture)));
    std::fs::create_dir_all(&out).unwrap();
    let har_path = out.join("x.har");
    let mut args = vec![capture, "--har", har_path.to_str().unwrap()];
    if let Some(k) = keylog {
        args.extend(["--keylog", k]);
    }
    export(&args);
    let har: Value = serde_json::from_slice(&std::fs::read(&har_path).unwrap()).expect("JSON");
    check_har(&har);
    let entries = har["log"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{capture}");
    let e = &entries[0];
    let u = e["request"]["url"].as_str().unwrap();
    assert!(u.starts_with(url.0) && u.ends_with(url.1), "{capture}: {u}");
    assert_eq!(e["response"]["status"], 101);
    assert_eq!(e["_resourceType"], "websocket");
    let ws = tshark_rows(capture, tshark_ws).unwrap();
    let data: Vec<_> = ws
        .iter()
        .filter(|r| matches!(r["websocket.opcode"].as_str(), "1" | "2"))
        .collect();
    let msgs = e["_webSocketMessages"].as_array().unwrap();
    assert_eq!(msgs.len(), data.len(), "{capture}");
    assert_eq!(msgs.len(), messages, "{capture}");
    let frames = tshark_rows(capture, ".tsv").unwrap();
    for (m, t) in msgs.iter().zip(data) {
        let dir = if t["websocket.mask"] == "1" {
            "send"
        } else {
            "receive"
        };
        assert_eq!(m["type"], dir);
        assert_eq!(m["opcode"].to_string(), t["websocket.opcode"]);
        let f = frames
            .iter()
            .find(|f| f["frame.number"] == t["frame.number"])
            .unwrap();
        let ts: f64 = f["frame.time_epoch"].parse().unwrap();
        assert!(
            (m["time"].as_f64().unwrap() - ts).abs() < 1e-6,
            "{capture}: time of frame {}",
            t["frame.number"]
        );
        let d = m["data"].as_str().unwrap();
        if t["websocket.opcode"] == "1" {
            assert_eq!(d, t["websocket.payload.text"]);
        } else {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD.decode(d).unwrap();
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, t["data.data"].replace(':', ""));
        }
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn har_of_ws_echo_holds_every_message() {
    har_holds_tsharks_messages(
        "captures/ws-echo.pcap",
        ".ws.tsv",
        None,
        ("ws://127.0.0.1:8801/", "/echo"),
        8,
    );
}

/// Inside TLS with the key log: the entry is `wss://` and the messages are
/// those tshark decrypts with the same keys.
#[test]
fn har_of_wss_with_its_key_log_holds_every_message() {
    for (c, messages) in [
        ("wss-python-tls13", 8),
        ("wss-python-tls12-chacha", 8),
        ("wss-node-tls13-aes256", 4),
    ] {
        let capture = format!("captures/{c}.pcap");
        let keys = format!("captures/{c}.keys");
        // The upgrade's target, as tshark decrypts it.
        let http = tshark_rows(&capture, ".http.tsv").unwrap();
        let uri = http
            .iter()
            .find(|r| r["http.request.method"] == "GET")
            .map(|r| r["http.request.uri"].clone())
            .unwrap_or_else(|| panic!("{c}: tshark saw no upgrade"));
        har_holds_tsharks_messages(
            &capture,
            ".wss.tsv",
            Some(&keys),
            ("wss://", &uri),
            messages,
        );
    }
}

#[test]
fn har_of_socketio_polling_pairs_each_request_with_its_response() {
    let out = tmp("har-sio");
    std::fs::create_dir_all(&out).unwrap();
    let har_path = out.join("sio.har");
    export(&[
        "captures/socketio-upgrade.pcap",
        "--har",
        har_path.to_str().unwrap(),
    ]);
    let har: Value = serde_json::from_slice(&std::fs::read(&har_path).unwrap()).unwrap();
    check_har(&har);
    let entries = har["log"]["entries"].as_array().unwrap();
    // tshark's requests and responses (http.request_in pairs them).
    let http = tshark_rows("captures/socketio-upgrade.pcap", ".http.tsv").unwrap();
    let requests = http
        .iter()
        .filter(|r| !r["http.request.method"].is_empty())
        .count();
    assert_eq!(entries.len(), requests);
    for r in http.iter().filter(|r| !r["http.response.code"].is_empty()) {
        let uri = &http
            .iter()
            .find(|q| q["frame.number"] == r["http.request_in"])
            .unwrap()["http.request.uri"];
        let e = entries
            .iter()
            .find(|e| {
                e["request"]["url"]
                    .as_str()
                    .unwrap()
                    .ends_with(uri.as_str())
            })
            .unwrap_or_else(|| panic!("no entry for {uri}"));
        assert_eq!(e["response"]["status"].to_string(), r["http.response.code"]);
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_capture_cut_short_keeps_its_rows_and_fails_alone() {
    let dir = tmp("cut");
    std::fs::create_dir_all(&dir).unwrap();
    let whole = std::fs::read(repo().join("captures/ws-echo.pcap")).unwrap();
    // Cut inside frame 12's record.
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &whole[..whole.len() * 2 / 3]).unwrap();
    let out = dir.join("out");
    let o = osiscope(&[
        "export",
        cut.to_str().unwrap(),
        "captures/ws-deflate.pcap",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cut.pcap:") && err.contains("frame"), "{err}");
    let msgs = jsonl(&out, "ws_messages", "cut.pcap");
    assert!(!msgs.is_empty(), "rows before the cut are kept");
    assert_eq!(jsonl(&out, "conn", "cut.pcap").len(), 1);
    assert_eq!(jsonl(&out, "conn", "captures/ws-deflate.pcap").len(), 1);
    assert!(err.contains("(1 failed, said above)"), "{err}");
    // One that cannot be opened writes no partition.
    let o = osiscope(&[
        "export",
        dir.join("missing.pcap").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.join("conn/file=missing.pcap").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["export", "captures/ws-echo.pcap"],
        vec!["export", "captures", "--har", "x.har"],
        vec![
            "export",
            "captures/ws-echo.pcap",
            "captures/../captures/ws-echo.pcap",
            "--out",
            "/tmp/x",
        ],
    ] {
        let o = osiscope(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
}

/// The README's list of the exported columns, as the code declares them.
fn schema_markdown() -> String {
    use osiscope::export::tables::TABLES;
    let mut md = String::new();
    for (name, cols) in TABLES {
        md.push_str(&format!(
            "#### `{name}`\n\n| column | type | meaning |\n|---|---|---|\n"
        ));
        for c in *cols {
            md.push_str(&format!("| `{}` | {} | {} |\n", c.name, c.ty.name(), c.doc));
        }
        md.push('\n');
    }
    md
}

#[test]
fn the_readme_lists_every_column() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let md = schema_markdown();
    assert!(
        readme.contains(&md),
        "README.md (Export tables) should hold, as the code declares them:\n\n{md}"
    );
}

/// The README's DuckDB query runs as written on an export of `captures/`
/// (where DuckDB is installed: CI installs it and sets
/// OSISCOPE_REQUIRE_DUCKDB).
#[test]
fn the_readmes_duckdb_query_runs_as_written() {
    let have = std::process::Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        assert!(
            std::env::var_os("OSISCOPE_REQUIRE_DUCKDB").is_none(),
            "python3 -c 'import duckdb' fails"
        );
        eprintln!("skipped: DuckDB for Python is not installed (pip install duckdb)");
        return;
    }
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let sql = readme
        .split("```sql\n")
        .nth(1)
        .and_then(|s| s.split("\n```").next())
        .expect("a ```sql block");
    let dir = tmp("duckdb");
    std::fs::create_dir_all(&dir).unwrap();
    let logs = dir.join("logs");
    export(&[
        "captures",
        "--out",
        logs.to_str().unwrap(),
        "--as",
        "parquet",
    ]);
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, duckdb\nfor r in duckdb.sql(sys.argv[1]).fetchall(): print('\\t'.join(map(str, r)))",
            sql,
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    // The slowest: the third save's ack, 121.533 ms (tests/latency.rs has it from tshark's frames).
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert_eq!(rows[0], "socketio-slow.pcap\t\"save\" #2\t121.5\t121.5");
    // The README shows what it prints.
    for r in &rows {
        let cells: Vec<&str> = r.split('\t').collect();
        assert!(
            readme.lines().any(|l| l
                .split("  ")
                .filter(|c| !c.is_empty())
                .map(str::trim)
                .eq(cells.iter().copied())),
            "README's result table lacks {r}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The `http` table holds each connection record's transactions: the same
/// frames, method, target, status and body sizes (which tests/tshark_http.rs
/// checks against tshark), and `ws_messages` as many messages as the record
/// counts.
#[test]
fn http_and_message_rows_match_the_connection_records() {
    let mut txs = 0;
    for e in std::fs::read_dir(repo().join("captures")).unwrap() {
        let c = e.unwrap().path();
        if !c.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
            continue;
        }
        let c = format!("captures/{}", c.file_name().unwrap().to_string_lossy());
        let t = tables(&c);
        for rec in common::json_lines(&["flows", "--format", "json", &c]) {
            let id = rec["id"].as_u64().unwrap();
            let rows: Vec<&Row> = t["http"]
                .iter()
                .filter(|r| r["connection"].as_u64() == Some(id))
                .collect();
            let want = rec["http"].as_array().unwrap();
            assert_eq!(rows.len(), want.len(), "{c} #{id}: transactions");
            for (r, w) in rows.iter().zip(want) {
                for (ours, theirs) in [
                    ("request_frame", "request_frame"),
                    ("response_frame", "response_frame"),
                    ("method", "method"),
                    ("uri", "uri"),
                    ("status_code", "status"),
                    ("request_body_len", "request_body"),
                    ("response_body_len", "response_body"),
                ] {
                    assert_eq!(r[ours], w[theirs], "{c} #{id}: {ours}");
                }
                txs += 1;
            }
            let msgs = t["ws_messages"]
                .iter()
                .filter(|r| {
                    r["connection"].as_u64() == Some(id)
                        && matches!(r["type"].as_str(), Some("text" | "binary"))
                })
                .count() as u64;
            let counted: u64 = rec["websocket"]["messages"]
                .as_object()
                .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
            assert_eq!(msgs, counted, "{c} #{id}: messages");
        }
    }
    assert!(txs >= 15, "{txs} transactions compared");
}

/// Node's `har-validator` (the HAR 1.2 JSON Schema of `har-schema`, with
/// ajv) accepts the HAR files of a WebSocket and a Socket.IO capture. Runs
/// where `node` finds it through OSISCOPE_HAR_VALIDATOR (a node_modules
/// directory); CI installs it and requires the check
/// (OSISCOPE_REQUIRE_HAR_VALIDATOR).
#[test]
fn har_files_pass_har_validator() {
    let Some(modules) = std::env::var_os("OSISCOPE_HAR_VALIDATOR") else {
        assert!(
            std::env::var_os("OSISCOPE_REQUIRE_HAR_VALIDATOR").is_none(),
            "OSISCOPE_HAR_VALIDATOR is not set (see .ci/run)"
        );
        eprintln!("skipped: set OSISCOPE_HAR_VALIDATOR to a node_modules with har-validator");
        return;
    };
    let dir = tmp("har-validator");
    std::fs::create_dir_all(&dir).unwrap();
    for c in ["captures/ws-echo.pcap", "captures/socketio-upgrade.pcap"] {
        let har = dir.join(format!("{}.har", label(c)));
        export(&[c, "--har", har.to_str().unwrap()]);
        let out = std::process::Command::new("node")
            .args([
                "-e",
                "require('har-validator').har(JSON.parse(require('fs').readFileSync(process.argv[1])))\
                 .then(() => console.log('valid'))\
                 .catch(e => { console.error(JSON.stringify(e.errors || e.message)); process.exit(1) })",
                har.to_str().unwrap(),
            ])
            .env("NODE_PATH", &modules)
            .output()
            .expect("node");
        assert!(
            out.status.success() && out.stdout.starts_with(b"valid"),
            "{c}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
