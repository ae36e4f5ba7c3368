//! `walk` and `flows` on the bundled captures and on corpus traces that
//! exercise one TCP situation each. Frame numbers, ports and round-trip times
//! come from tshark's recorded rows for the same files.

mod common;

use serde_json::Value;

use common::{json_lines, stdout};

fn tcp_rows(path: &str) -> Vec<std::collections::HashMap<String, String>> {
    common::tshark_rows(path, ".tcp.tsv").expect("tshark tcp rows")
}

fn flag(r: &std::collections::HashMap<String, String>) -> u64 {
    u64::from_str_radix(r["tcp.flags"].trim_start_matches("0x"), 16).expect("flags")
}

#[test]
fn walk_tells_the_websocket_echo_from_handshake_to_close() {
    let p = "captures/ws-echo.pcap";
    let rows = tcp_rows(p);
    let main = common::tshark_rows(p, ".tsv").expect("rows");
    let (c, s) = (&main[0]["tcp.srcport"], &main[0]["tcp.dstport"]);
    let irtt: f64 = rows
        .iter()
        .find_map(|r| r["tcp.analysis.initial_rtt"].parse().ok())
        .expect("irtt");
    // Who sent the first FIN, by its source port.
    let first_fin = main.iter().find(|r| flag_main(r) & 1 != 0).expect("fin");
    let closer = if &first_fin["tcp.srcport"] == s {
        "server"
    } else {
        "client"
    };
    let out = stdout(&["walk", p]);
    let first = out.lines().next().expect("line");
    assert_eq!(
        first,
        format!(
            "Connection 0 · client 127.0.0.1:{c} → server 127.0.0.1:{s} · IPv4 · {} packets · {} · closed by FIN ({closer} first)",
            main.len(),
            osiscope::report::flows::human_secs(
                main.last().unwrap()["frame.time_epoch"]
                    .parse::<f64>()
                    .unwrap()
                    - main[0]["frame.time_epoch"].parse::<f64>().unwrap()
            )
        )
    );
    assert!(out.contains(&format!(
        "  handshake: SYN #1 → SYN-ACK #2 → ACK #3, iRTT {}",
        osiscope::report::flows::human_secs(irtt)
    )));
    for needle in [
        "#1  L4 Transport     client → server  SYN — the client asks to open a connection",
        "#2  L4 Transport     server → client  SYN-ACK — the server agrees and picks its own numbering",
        "#3  L4 Transport     client → server  ACK — the client confirms the server's SYN-ACK",
        "#3  L5 Session                        Connection established after",
        "L5 Session                        Connection closed: both sides said goodbye",
        "  Ladder",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    let isn = &main[0]["tcp.seq_raw"];
    assert!(out.contains(&format!("(initial sequence number {isn})")));
    let j = &json_lines(&["walk", p, "--format", "json"])[0];
    let steps = j["timeline"].as_array().expect("timeline");
    // Every WebSocket message is a step of its own (the L7 layer of the story).
    let messages = steps
        .iter()
        .filter(|s| s["kind"] == "websocket_message")
        .count();
    assert_eq!(messages, 8, "4 messages each way");
    // A long run of plain data is folded; the fold accounts for every frame it covers.
    let q = "tests/corpus/zeek/tcp/missing-syn.pcap";
    let jq = &json_lines(&["walk", q, "--format", "json"])[0];
    let fold = jq["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .find(|s| s["kind"] == "folded")
        .expect("a folded run");
    let (a, b) = (
        fold["frame"].as_u64().unwrap(),
        fold["last_frame"].as_u64().unwrap(),
    );
    let n: u64 = fold["text"].as_str().unwrap()["… ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let in_range = tcp_rows(q)
        .iter()
        .filter(|r| (a..=b).contains(&r["frame.number"].parse::<u64>().unwrap()))
        .count() as u64;
    assert_eq!(n, in_range, "{fold}");
    for s in steps {
        for k in ["frame", "rel_ts", "osi", "from", "kind", "text"] {
            assert!(s.get(k).is_some(), "step without {k}: {s}");
        }
    }
    let osi: Vec<u64> = steps.iter().map(|s| s["osi"].as_u64().unwrap()).collect();
    assert!(osi.contains(&4) && osi.contains(&5));
}

fn flag_main(r: &std::collections::HashMap<String, String>) -> u64 {
    u64::from_str_radix(r["tcp.flags"].trim_start_matches("0x"), 16).unwrap_or(0)
}

#[test]
fn brief_walk_drops_the_explanations() {
    let out = stdout(&["walk", "captures/ws-echo.pcap", "--brief"]);
    assert!(!out.contains("can we talk?"));
    assert!(out.contains("client → server  SYN seq=0"), "{out}");
}

#[test]
fn refused_connection_is_named() {
    let p = "captures/refused.pcap";
    let main = common::tshark_rows(p, ".tsv").expect("rows");
    assert_eq!(main[1]["tcp.flags"], "0x0014", "tshark sees RST, ACK");
    let out = stdout(&["walk", p]);
    assert!(out.lines().next().unwrap().ends_with("· refused"));
    assert!(out.contains(&format!(
        "RST — the server refuses the connection: nothing is listening on port {}.",
        main[0]["tcp.dstport"]
    )));
    let f = &json_lines(&["flows", p, "--format", "json"])[0];
    assert_eq!(f["refused"], true);
    assert_eq!(f["state"], "refused");
    assert_eq!(f["conn_state"], "REJ");
    assert_eq!(f["history"], "Sr");
    assert_eq!(f["rst_from"], "server");
    assert_eq!(f["rst_frame"], 2);
    assert_eq!(f["closed_by"], "rst");
    assert_eq!(
        f["handshake"]["initial_rtt"],
        Value::Null,
        "no iRTT for a refused connection"
    );
}

#[test]
fn flows_lists_every_socketio_connection_like_tshark() {
    let p = "captures/socketio-upgrade.pcap";
    let rows = tcp_rows(p);
    let flows = json_lines(&["flows", p, "--format", "json"]);
    let streams: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["tcp.stream"].as_str()).collect();
    assert_eq!(flows.len(), streams.len());
    for f in &flows {
        let id = f["id"].as_u64().unwrap().to_string();
        let mine: Vec<&std::collections::HashMap<String, String>> =
            rows.iter().filter(|r| r["tcp.stream"] == id).collect();
        assert_eq!(f["frames"].as_u64().unwrap() as usize, mine.len());
        assert_eq!(f["state"], "closed");
        assert_eq!(f["conn_state"], "SF");
        assert_eq!(f["handshake"]["complete"], true);
        let syn = mine.iter().find(|r| flag(r) == 0x002).unwrap();
        assert_eq!(f["handshake"]["syn_frame"].to_string(), syn["frame.number"]);
        for k in [
            "id",
            "ip_version",
            "client",
            "server",
            "first_frame",
            "last_frame",
            "frames",
            "payload_bytes",
            "handshake",
            "refused",
            "closed_by",
            "first_fin_from",
            "rst_from",
            "state",
            "history",
            "anomalies",
        ] {
            assert!(f.get(k).is_some(), "flows record without {k}");
        }
        assert_eq!(f["handshake"]["agreed"]["sack"], true);
        assert_eq!(f["handshake"]["client_options"]["mss"], 65495);
    }
    let table = stdout(&["flows", p]);
    assert_eq!(table.lines().count(), 2 + flows.len());
    assert!(table.lines().nth(2).unwrap().contains("closed (SF)"));
}

#[test]
fn filters_pick_connections_without_renumbering() {
    let p = "captures/socketio-upgrade.pcap";
    let all = json_lines(&["flows", p, "--format", "json"]);
    let two = json_lines(&["flows", p, "--format", "json", "--connection", "2"]);
    assert_eq!(two.len(), 1);
    assert_eq!(two[0], all[2]);
    let out = stdout(&["walk", p, "--connection", "2"]);
    assert!(out.starts_with("Connection 2 ·"), "{out}");
    assert_eq!(out.matches("\nConnection ").count(), 0);
    let port = all[3]["client"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let by_port = json_lines(&["flows", p, "--format", "json", "--port", &port]);
    assert_eq!(by_port.len(), 1);
    assert_eq!(by_port[0]["id"], 3);
    let pk = json_lines(&["packets", p, "--format", "json", "--connection", "2"]);
    assert_eq!(pk.len() as u64, all[2]["frames"].as_u64().unwrap());
    // No connection has that host: nothing listed, a line says what exists, status 1.
    let none = common::osiscope(&["flows", p, "--format", "json", "--host", "10.9.9.9"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(none.stdout.is_empty());
    assert!(String::from_utf8_lossy(&none.stderr).contains("no connection matches the filter"));
}

#[test]
fn mermaid_is_a_sequence_diagram_of_the_same_steps() {
    let p = "captures/ws-echo.pcap";
    let m = stdout(&["walk", p, "--format", "mermaid"]);
    let lines: Vec<&str> = m.lines().collect();
    assert!(lines[0].starts_with("%% connection 0: client 127.0.0.1:"));
    assert_eq!(lines[1], "sequenceDiagram");
    assert!(lines[2].starts_with("    participant C as client 127.0.0.1:"));
    assert!(
        lines[4].starts_with("    C->>S: 1 · SYN seq=0 (L4)"),
        "{}",
        lines[4]
    );
    assert!(
        lines[5].starts_with("    S->>C: 2 · SYN, ACK seq=0 ack=1"),
        "{}",
        lines[5]
    );
    let j = &json_lines(&["walk", p, "--format", "json"])[0];
    assert_eq!(lines.len() - 4, j["timeline"].as_array().unwrap().len());
    assert!(
        !m.contains(';'),
        "no raw semicolons: Mermaid would split the line"
    );
}

/// One corpus trace per situation, checked against what the trace shows.
#[test]
fn corpus_handshake_and_teardown_situations() {
    let flow = |p: &str| json_lines(&["flows", p, "--format", "json"]);
    let f = &flow("tests/corpus/zeek/tcp/syn.pcap")[0];
    assert_eq!(
        (
            f["state"].as_str(),
            f["conn_state"].as_str(),
            f["history"].as_str()
        ),
        (Some("unanswered"), Some("S0"), Some("S"))
    );
    // The RST in this trace comes from the client itself (tshark: 1.1.1.1 → 1.1.1.2).
    let f = &flow("tests/corpus/zeek/tcp/syn-then-rst.pcap")[0];
    assert_eq!(
        (
            f["state"].as_str(),
            f["conn_state"].as_str(),
            f["history"].as_str(),
            f["rst_from"].as_str()
        ),
        (
            Some("unanswered"),
            Some("RSTOS0"),
            Some("SR"),
            Some("client")
        )
    );
    let f = &flow("tests/corpus/zeek/tcp/handshake-reorder.pcap")[0];
    assert!(
        f["handshake"]["notes"]
            .as_array()
            .unwrap()
            .contains(&Value::from("synack_before_syn")),
        "{f}"
    );
    assert_eq!(f["handshake"]["complete"], true);
    let f = &flow("tests/corpus/zeek/tcp/missing-syn.pcap")[0];
    assert!(
        f["handshake"]["notes"]
            .as_array()
            .unwrap()
            .contains(&Value::from("syn_not_captured")),
        "{f}"
    );
    assert_eq!(
        f["roles_guessed"], false,
        "the SYN-ACK tells who the server is"
    );
    let f = &flow("tests/corpus/zeek/tcp/no-handshake.pcap")[0];
    assert_eq!(f["roles_guessed"], true);
    assert_eq!(f["conn_state"], "OTH");
    let tfo = flow("tests/corpus/zeek/tcp/tcp-fast-open.pcap");
    assert!(
        tfo.iter()
            .any(|f| f["handshake"]["syn_data"].as_u64().unwrap() > 0),
        "data in a SYN"
    );
    assert!(
        tfo.iter()
            .all(|f| f["handshake"]["client_options"]["fast_open"].is_string())
    );
    let reuse = flow("tests/corpus/zeek/tcp/ctu-64702-888.pcap");
    assert_eq!(
        reuse.len(),
        common::tshark_rows("tests/corpus/zeek/tcp/ctu-64702-888.pcap", ".tcp.tsv")
            .unwrap()
            .iter()
            .map(|r| r["tcp.stream"].clone())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
    let retrans = &flow("tests/corpus/zeek/tcp/retransmit-fast009.pcap")[0];
    assert!(
        retrans["anomalies"]["fast_retransmission"]
            .as_u64()
            .unwrap()
            >= 1,
        "{retrans}"
    );
    assert!(
        retrans["history"]
            .as_str()
            .unwrap()
            .to_ascii_uppercase()
            .contains('T'),
        "{retrans}"
    );
}

/// walk's JSON record is flows' record, member for member and in the same
/// order, with walk's lists added and the counts they displace renamed
/// (README, "walk --format json"), on every bundled capture.
#[test]
fn walk_record_is_the_flows_record_with_its_lists() {
    let keys = |v: &Value| -> Vec<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut compared = (0, 0, 0, 0);
    let mut dir: Vec<_> = std::fs::read_dir("captures")
        .expect("captures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    dir.sort();
    for p in dir {
        let path = p.to_str().expect("utf-8 path");
        let keylog = p.with_extension("keys");
        let mut args = vec!["--format", "json", path];
        if keylog.exists() {
            args.extend(["--keylog", keylog.to_str().expect("utf-8")]);
        }
        let walk = json_lines(&[&["walk"], args.as_slice()].concat());
        let flows = json_lines(&[&["flows"], args.as_slice()].concat());
        assert_eq!(walk.len(), flows.len(), "{path}");
        for (mut w, f) in walk.into_iter().zip(flows) {
            let o = w.as_object_mut().expect("object");
            // The walk-only members end the record.
            let tail: Vec<String> = keys(&Value::Object(o.clone()))
                .into_iter()
                .rev()
                .take(4)
                .collect();
            assert_eq!(
                tail,
                [
                    "rows_not_listed",
                    "steps_omitted",
                    "timeline",
                    "anomaly_counts"
                ],
                "{path}"
            );
            let list = o.get("anomalies").cloned().expect("anomalies");
            let counts = o.shift_remove("anomaly_counts").expect("counts");
            let listed: u64 = counts
                .as_object()
                .expect("counts")
                .values()
                .filter_map(Value::as_u64)
                .sum();
            assert_eq!(
                list.as_array().expect("list").len() as u64,
                listed.min(1000),
                "{path}"
            );
            o.insert("anomalies".into(), counts);
            for k in ["timeline", "steps_omitted", "rows_not_listed"] {
                o.shift_remove(k);
            }
            if let Some(ws) = o.get_mut("websocket").and_then(Value::as_object_mut) {
                for (list, count) in [
                    ("frames", "frame_counts"),
                    ("messages", "message_counts"),
                    ("violations", "violation_count"),
                ] {
                    assert!(ws[list].is_array(), "{path}: websocket.{list}");
                    let c = ws.shift_remove(count).expect("count");
                    ws.insert(list.into(), c);
                }
                compared.1 += 1;
            }
            if let Some(so) = o.get_mut("socketio").and_then(Value::as_object_mut) {
                assert!(so.shift_remove("packets").expect("packets").is_array());
                so.shift_remove("resumes");
                compared.2 += 1;
            }
            if let Some(l) = o.get_mut("latency").and_then(Value::as_object_mut) {
                for (kind, r) in l.iter_mut() {
                    let r = match r.get_mut("pongs") {
                        Some(p) if kind == "heartbeat" => p,
                        _ => r,
                    };
                    if let Some(r) = r.as_object_mut().filter(|r| r.contains_key("count")) {
                        let pairs = r.shift_remove("pairs").expect("pairs");
                        assert!(pairs.is_array(), "{path}: latency.{kind}");
                        compared.3 += 1;
                    }
                }
            }
            assert_eq!(keys(&w), keys(&f), "{path}");
            for k in ["websocket", "socketio", "latency"] {
                assert_eq!(keys(&w[k]), keys(&f[k]), "{path}: {k}");
            }
            assert_eq!(w, f, "{path}");
            compared.0 += 1;
        }
    }
    // Connections, WebSocket ones, Socket.IO ones, kinds of replies listed.
    assert!(
        compared.0 >= 30 && compared.1 >= 15 && compared.2 >= 10 && compared.3 >= 20,
        "{compared:?}"
    );
}
