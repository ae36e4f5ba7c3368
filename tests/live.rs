//! Live capture on the loopback interface, with a real WebSocket server and
//! client (tungstenite) on 127.0.0.1. Needs root or CAP_NET_RAW: CI runs as
//! root and there the test must capture; elsewhere it says why it skips.
//! Every loop is bounded and only loopback is used.
#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tungstenite::Message;

fn is_root() -> bool {
    // SAFETY: geteuid never fails.
    unsafe { libc::geteuid() == 0 }
}

/// False (with the reason printed) when this machine cannot capture; a
/// failure under CI, where capture must work.
fn can_capture() -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "CI must run the live capture test as root"
    );
    eprintln!("skipped: live capture needs root (run the tests as root, or with sudo)");
    false
}

fn status_uids(pid: u32) -> Option<Vec<u32>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("Uid:"))?;
    Some(
        line.split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect(),
    )
}

/// A WebSocket echo server for one client, and a client that sends three
/// messages and closes with 1000.
fn websocket_session(port: u16) {
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
        let mut ws = tungstenite::accept(stream).expect("handshake");
        for _ in 0..20 {
            match ws.read() {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => ws.send(m).expect("echo"),
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    let (mut ws, _) = tungstenite::connect(format!("ws://127.0.0.1:{port}/live")).expect("connect");
    for m in [
        Message::text("hello live"),
        Message::text("second message"),
        Message::binary(vec![1u8, 2, 3]),
    ] {
        ws.send(m).expect("send");
        ws.read().expect("echo");
    }
    ws.close(Some(tungstenite::protocol::CloseFrame {
        code: tungstenite::protocol::frame::coding::CloseCode::Normal,
        reason: "bye".into(),
    }))
    .ok();
    for _ in 0..10 {
        if ws.read().is_err() {
            break;
        }
    }
    server.join().expect("server");
}

/// Runs `osiscope live ARGS` around a WebSocket session on `port`: returns
/// its first line on standard error (the start line) and its output once
/// Ctrl-C ended it.
fn live_around_a_session(args: &[&str], port: u16) -> (String, std::process::Output) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_osiscope"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut first = String::new();
    err.read_line(&mut first).expect("start line");
    websocket_session(port);
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: a signal to our own child process.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    (first, child.wait_with_output().expect("wait"))
}

#[test]
fn live_walk_tells_a_real_websocket_session_and_writes_the_same_story() {
    if !can_capture() {
        return;
    }
    let port = 20000 + (std::process::id() % 20000) as u16;
    let dir = std::env::temp_dir().join(format!("osiscope-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    // The file is created after privileges are dropped: the directory must let nobody write.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let pcap = dir.join("out.pcap");
    let mut child = Command::new(env!("CARGO_BIN_EXE_osiscope"))
        .args([
            "live",
            "-i",
            "lo",
            "--port",
            &port.to_string(),
            "--duration",
            "30",
            "--format",
            "json",
            "-w",
        ])
        .arg(&pcap)
        .arg("walk")
        .env_remove("SUDO_UID")
        .env_remove("SUDO_GID")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut first = String::new();
    err.read_line(&mut first).expect("start line");
    assert!(
        first.starts_with("osiscope: capturing on lo as nobody"),
        "{first}"
    );
    // Privileges are gone before a packet is parsed.
    let uids = status_uids(child.id()).expect("/proc status");
    assert!(
        uids.iter().all(|u| *u != 0),
        "still root while capturing: {uids:?}"
    );
    websocket_session(port);
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: a signal to our own child process.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let started = Instant::now();
    let out = child.wait_with_output().expect("wait");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "Ctrl-C ends the capture promptly"
    );
    assert_eq!(out.status.code(), Some(0));
    let mut rest = String::new();
    while err.read_line(&mut rest).unwrap_or(0) > 0 {}
    assert!(rest.contains("packets captured"), "{rest}");
    let conns: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(conns.len(), 1, "one connection on the port");
    let check = |c: &Value| {
        assert_eq!(c["handshake"]["complete"], true, "{c}");
        assert_eq!(c["state"], "closed");
        let ws = &c["websocket"];
        assert_eq!(ws["accept_valid"], true);
        assert_eq!(ws["close"]["code"], 1000);
        assert_eq!(ws["close"]["reason"], "bye");
        assert_eq!(ws["close"]["initiator"], "client");
        let texts: Vec<&str> = ws["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["from"] == "client" && m["opcode"] == 1)
            .map(|m| m["text"].as_str().unwrap())
            .collect();
        assert_eq!(texts, vec!["hello live", "second message"]);
        // Each packet once: a doubled loopback packet would show as a retransmission.
        assert!(
            c["anomalies"].as_array().unwrap().is_empty(),
            "{}",
            c["anomalies"]
        );
    };
    check(&conns[0]);
    // The file tells the same story.
    // (-w keeps every packet of the interface: other tests' traffic too.)
    let back = common::osiscope(&[
        "walk",
        "--format",
        "json",
        "--port",
        &port.to_string(),
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(back.status.code(), Some(0));
    let b: Value =
        serde_json::from_str(String::from_utf8_lossy(&back.stdout).trim()).expect("json");
    check(&b);
    assert_eq!(b["frames"], conns[0]["frames"]);
    assert_eq!(b["websocket"]["frames"], conns[0]["websocket"]["frames"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn capture_without_privileges_says_what_is_missing() {
    let mut bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_osiscope"));
    if is_root() {
        // nobody may not reach the build directory (e.g. under /root): run a copy.
        let dir = std::env::temp_dir().join(format!("osiscope-noperm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let copy = dir.join("osiscope");
        std::fs::copy(&bin, &copy).expect("copy");
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        bin = copy;
    }
    let mut cmd = Command::new(&bin);
    cmd.args(["live", "-i", "lo", "-c", "1"])
        .current_dir(std::env::temp_dir());
    if is_root() {
        // Run as nobody (65534), as a user without privileges would.
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().expect("run");
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("needs root or the CAP_NET_RAW capability"),
        "{err}"
    );
    assert!(
        err.contains("sudo setcap cap_net_raw+ep $(which osiscope)"),
        "{err}"
    );
    if is_root() {
        std::fs::remove_dir_all(bin.parent().expect("dir")).ok();
    }
}

#[test]
fn an_unknown_interface_lists_the_available_ones() {
    let out = common::osiscope(&["live", "-i", "nosuch0", "-c", "1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("osiscope: no interface named nosuch0; available: any, "),
        "{err}"
    );
    assert!(err.contains("lo"), "{err}");
    let list = common::osiscope(&["live", "--list"]);
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.lines()
            .any(|l| l.starts_with("lo ") && l.contains("loopback"))
    );
    assert!(
        list.lines().next().is_some_and(|l| l.starts_with("any ")),
        "{list}"
    );
}

#[test]
fn a_write_file_nobody_may_create_is_a_usage_error_that_names_the_way_out() {
    if !can_capture() {
        return;
    }
    // As root the capture drops to nobody, who may not write under /root
    // (or anywhere in a directory that does not exist).
    let out = common::osiscope(&[
        "live",
        "-i",
        "lo",
        "-c",
        "1",
        "--duration",
        "1",
        "-w",
        "/nonexistent-dir/x.pcap",
    ]);
    assert_eq!(out.status.code(), Some(2), "same status as packets -w");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent-dir/x.pcap: cannot create"),
        "{err}"
    );
    assert!(err.contains("--no-drop or --user root"), "{err}");
    let p = common::osiscope(&[
        "packets",
        "captures/ws-echo.pcap",
        "-w",
        "/nonexistent-dir/x.pcap",
    ]);
    assert_eq!(p.status.code(), Some(2));
}

#[test]
fn live_write_dash_streams_the_pcap_to_standard_output() {
    if !can_capture() {
        return;
    }
    let child = Command::new(env!("CARGO_BIN_EXE_osiscope"))
        .args(["live", "-i", "lo", "-c", "2", "--duration", "5", "-w", "-"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(500));
    // Two packets on loopback: a SYN to a closed port and its RST.
    let _ = std::net::TcpStream::connect("127.0.0.1:9");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A pcap header (nanosecond magic, native order) and two records, nothing else.
    let magic = u32::from_ne_bytes(out.stdout[..4].try_into().expect("4 bytes"));
    assert_eq!(magic, 0xa1b2_3c4d);
    let mut at = 24;
    let mut records = 0;
    while at + 16 <= out.stdout.len() {
        let caplen =
            u32::from_ne_bytes(out.stdout[at + 8..at + 12].try_into().expect("4")) as usize;
        at += 16 + caplen;
        records += 1;
    }
    assert_eq!((records, at), (2, out.stdout.len()));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 written to -"));
}

/// `-i any`: every interface at once, in Linux cooked v2 frames as tcpdump
/// writes them; each loopback packet once (its outgoing copy left out).
#[test]
fn live_on_any_sees_each_loopback_packet_once_in_cooked_frames() {
    if !can_capture() {
        return;
    }
    let port = 40000 + (std::process::id() % 20000) as u16;
    let dir = std::env::temp_dir().join(format!("osiscope-any-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let pcap = dir.join("any.pcap");
    let pcap_arg = pcap.to_str().expect("utf-8 path");
    let port_arg = port.to_string();
    let args = [
        "live",
        "-i",
        "any",
        "--port",
        &port_arg,
        "--duration",
        "30",
        "--format",
        "json",
        "-w",
        pcap_arg,
        "walk",
    ];
    let (first, out) = live_around_a_session(&args, port);
    assert!(
        first.starts_with("osiscope: capturing on any as "),
        "{first}"
    );
    assert_eq!(out.status.code(), Some(0));
    let conns: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(conns.len(), 1, "one connection on the port");
    let c = &conns[0];
    assert_eq!(c["handshake"]["complete"], true, "{c}");
    assert_eq!(c["websocket"]["close"]["reason"], "bye");
    // A doubled loopback packet would be a retransmission or a duplicate ACK.
    assert!(
        c["anomalies"].as_array().unwrap().is_empty(),
        "{}",
        c["anomalies"]
    );
    let back = common::osiscope(&[
        "packets",
        "--format",
        "json",
        "--port",
        &port.to_string(),
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(back.status.code(), Some(0));
    let recs: Vec<Value> = String::from_utf8_lossy(&back.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    // The file holds each packet of the connection once, as the view counted them.
    assert_eq!(Some(recs.len() as u64), c["frames"].as_u64());
    for r in &recs {
        assert_eq!(r["linktype"], 276, "{r}");
        let l2 = &r["layers"][1];
        assert_eq!(l2["name"], "Linux cooked v2 (SLL2)");
        assert_eq!(l2["fields"]["arphrd"], 772, "loopback's hardware type");
        assert_eq!(l2["fields"]["protocol"], 0x0800);
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `live messages` lists a real session's messages as JSON, each echo after
/// its message, and times the close reply.
#[test]
fn live_messages_lists_a_real_sessions_messages() {
    if !can_capture() {
        return;
    }
    let port = 20000 + ((std::process::id() + 7) % 20000) as u16;
    let port_arg = port.to_string();
    let args = [
        "live",
        "messages",
        "-i",
        "lo",
        "--port",
        &port_arg,
        "--duration",
        "30",
        "--format",
        "json",
    ];
    let (first, out) = live_around_a_session(&args, port);
    assert!(first.starts_with("osiscope: capturing on lo"), "{first}");
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json row"))
        .collect();
    let got: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["from"].as_str().unwrap_or("").to_owned(),
                r["type"].as_str().unwrap_or("").to_owned(),
                r["text"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let want =
        |from: &str, kind: &str, text: &str| (from.to_owned(), kind.to_owned(), text.to_owned());
    assert_eq!(
        got[..6],
        [
            want("client", "text", "hello live"),
            want("server", "text", "hello live"),
            want("client", "text", "second message"),
            want("server", "text", "second message"),
            want("client", "binary", "010203"),
            want("server", "binary", "010203"),
        ],
        "{rows:?}"
    );
    assert_eq!(got[6], want("client", "close", "1000 bye"), "{rows:?}");
    let reply = &rows[7]["reply_to"];
    assert_eq!(reply["kind"], "ws_close", "{rows:?}");
    assert_eq!(reply["from_frame"], rows[6]["frame"]);
}
