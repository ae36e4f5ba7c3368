//! WebSocket and Socket.IO situations, each on a capture that shows it.
//! Expected values come from Zeek's baselines for its traces (named in each
//! test), from what the bundled captures' programs were made to send
//! (captures/README.md), and from tshark's recorded rows.

mod common;

use serde_json::Value;

fn walk(path: &str) -> Vec<Value> {
    common::json_lines(&["walk", "--format", "json", path])
}

fn has(list: &Value, item: &str) -> bool {
    list.as_array().is_some_and(|a| a.iter().any(|v| v == item))
}

#[test]
fn wrong_accept_key_is_named_as_zeek_names_it() {
    // Zeek: websocket_wrong_accept_header expected=N8ntNYkX6Qerw4tK3s/CYzpSZNc= found=…-wrong
    let c = &walk("tests/corpus/zeek/websocket/wrong-accept-header.pcap")[0];
    let ws = &c["websocket"];
    assert_eq!(ws["accept_valid"], false);
    assert_eq!(ws["expected_accept"], "N8ntNYkX6Qerw4tK3s/CYzpSZNc=");
    assert_eq!(ws["accept"], "N8ntNYkX6Qerw4tK3s/CYzpSZNc=-wrong");
    assert!(has(&ws["problems"], "wrong_accept"), "{ws}");
    // Zeek's websocket.log: subprotocol v1, client offers permessage-deflate, server declines.
    assert_eq!(ws["subprotocol"], "v1");
    assert_eq!(
        ws["extensions_offered"],
        "permessage-deflate; client_max_window_bits"
    );
    assert_eq!(ws["extensions_negotiated"], Value::Null);
    assert_eq!(ws["permessage_deflate"], false);
}

#[test]
fn oversized_close_frame_is_a_violation() {
    // Zeek: websocket_control_frame_size_exceeded 258 > 125; close reason of 256 bytes.
    let c = &walk("tests/corpus/zeek/websocket/oversized-close-frame.pcapng")[0];
    let ws = &c["websocket"];
    let frames = ws["frames"].as_array().unwrap();
    let close = frames
        .iter()
        .find(|f| f["opcode"] == 8)
        .expect("close frame");
    assert_eq!(close["payload_len"], 258);
    let v = ws["violations"].as_array().unwrap();
    assert!(
        v.iter()
            .any(|x| x["kind"] == "control_frame_too_long" && x["frame"] == close["frame"]),
        "{v:?}"
    );
}

#[test]
fn frames_in_the_same_segment_as_the_101_are_decoded() {
    // Zeek flags protocol_data_with_HTTP_upgrade_reply: the ping shares the 101's segment.
    let c = &walk("tests/corpus/zeek/websocket/reply-ping-coalesced.pcap")[0];
    let ws = &c["websocket"];
    let resp = ws["response_frame"].as_u64().unwrap();
    let ping = ws["frames"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["opcode"] == 9)
        .expect("ping");
    assert_eq!(ping["frame"].as_u64().unwrap(), resp);
    assert_eq!(ping["from"], "server");
}

#[test]
fn close_code_and_reason_and_who_closed_first() {
    // Zeek's trace: close 1009 "over size limit (4 > 2 bytes)" answered by close 1000.
    let c = &walk("tests/corpus/zeek/websocket/message-too-big-status.pcap")[0];
    let close = &c["websocket"]["close"];
    assert_eq!(close["code"], 1009);
    assert_eq!(close["reason"], "over size limit (4 > 2 bytes)");
    let out = common::osiscope(&[
        "walk",
        "tests/corpus/zeek/websocket/message-too-big-status.pcap",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1009 (message too big)"), "{text}");
}

#[test]
fn a_refused_upgrade_is_not_a_websocket() {
    let c = &walk("captures/ws-upgrade-rejected.pcap")[0];
    let ws = &c["websocket"];
    assert_eq!(ws["status"], 426);
    assert_eq!(ws["established"], false);
    assert!(has(&ws["problems"], "rejected"));
    assert_eq!(c["app_protocol"], "http");
    // Docker's 101 to "tcp" is a switch, but not to WebSocket: no WebSocket record.
    let d = walk("tests/corpus/zeek/http/docker-http-upgrade.pcap");
    assert!(
        d.iter().all(|c| c["websocket"].is_null()),
        "docker upgrade is not WebSocket"
    );
    assert!(d.iter().any(|c| {
        c["http"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["status"] == 101)
    }));
}

#[test]
fn the_echo_session_is_told_message_by_message() {
    // captures/README.md: the client sends 3 texts (one over 125 bytes, one non-ASCII),
    // a binary message, a ping, and closes with 1000 "normal closure, goodbye".
    let c = &walk("captures/ws-echo.pcap")[0];
    let ws = &c["websocket"];
    assert_eq!(ws["accept_valid"], true);
    assert_eq!(ws["established"], true);
    let msgs = ws["messages"].as_array().unwrap();
    let client_texts: Vec<&str> = msgs
        .iter()
        .filter(|m| m["from"] == "client" && m["opcode"] == 1)
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(client_texts.len(), 3);
    assert_eq!(client_texts[0], "Hello, osiscope!");
    assert!(client_texts[1].len() > 125);
    assert!(client_texts[2].contains("Zürich"));
    let server_texts: Vec<&str> = msgs
        .iter()
        .filter(|m| m["from"] == "server" && m["opcode"] == 1)
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(client_texts, server_texts, "an echo");
    assert_eq!(ws["close"]["code"], 1000);
    assert_eq!(ws["close"]["reason"], "normal closure, goodbye");
    assert_eq!(ws["close"]["initiator"], "client");
    assert_eq!(
        ws["frames"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["opcode"] == 9)
            .count(),
        1
    );
    assert!(ws["violations"].as_array().unwrap().is_empty());
}

#[test]
fn permessage_deflate_messages_are_inflated_with_context_takeover() {
    // captures/README.md: the same 74-byte JSON text three times compresses to 60, 6, 5 bytes.
    let c = &walk("captures/ws-deflate.pcap")[0];
    let ws = &c["websocket"];
    assert_eq!(ws["permessage_deflate"], true);
    let msgs = ws["messages"].as_array().unwrap();
    let first3: Vec<(u64, u64)> = msgs
        .iter()
        .filter(|m| m["from"] == "client")
        .take(3)
        .map(|m| {
            (
                m["wire_len"].as_u64().unwrap(),
                m["length"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(first3, vec![(60, 74), (6, 74), (5, 74)]);
    assert!(
        msgs.iter()
            .all(|m| m["compressed"] == true && m["error"].is_null())
    );
}

#[test]
fn socketio_events_acks_attachments_and_the_upgrade() {
    // captures/README.md lists what gen/socketio_client.js and gen/socketio_server.js send.
    let conns = walk("captures/socketio-upgrade.pcap");
    let sids: Vec<&str> = conns
        .iter()
        .filter_map(|c| c["socketio"]["sid"].as_str())
        .collect();
    assert_eq!(
        sids.len(),
        conns.len(),
        "every connection belongs to the Engine.IO session"
    );
    assert!(
        sids.windows(2).all(|w| w[0] == w[1]),
        "one session across connections: {sids:?}"
    );
    let ws = conns
        .iter()
        .find(|c| !c["websocket"].is_null())
        .expect("the WebSocket connection");
    assert_eq!(ws["app_protocol"], "socket.io");
    assert_eq!(ws["socketio"]["upgraded"], true);
    assert_eq!(
        ws["socketio"]["transports"],
        serde_json::json!(["websocket"])
    );
    let packets = ws["socketio"]["packets"].as_array().unwrap();
    let find = |ty: &str, ev: Option<&str>| {
        packets
            .iter()
            .find(|p| p["socket_type"] == ty && ev.is_none_or(|e| p["event"] == e))
            .cloned()
    };
    let chat = find("EVENT", Some("chat")).expect("client emits chat");
    assert_eq!(chat["from"], "client");
    assert_eq!(chat["args"][0]["text"], "hello from socket.io-client");
    let add = find("EVENT", Some("add")).expect("event with ack");
    assert_eq!(add["ack_id"], 0);
    assert_eq!(add["args"], serde_json::json!([2, 40]));
    let ack = find("ACK", None).expect("the ack");
    assert_eq!(
        (ack["ack_id"].as_u64(), ack["from"].as_str()),
        (Some(0), Some("server"))
    );
    assert_eq!(ack["args"], serde_json::json!([{"sum": 42}]));
    let up = find("BINARY_EVENT", Some("upload")).expect("binary event");
    assert_eq!(
        up["args"][1]["_binary"], 8,
        "the 8-byte attachment joined to its placeholder"
    );
    assert!(find("EVENT", Some("chat reply")).is_some_and(|p| p["from"] == "server"));
    assert!(find("DISCONNECT", None).is_some());
    let engine: Vec<&str> = packets
        .iter()
        .map(|p| p["engine_type"].as_str().unwrap())
        .collect();
    for t in ["ping", "pong", "upgrade"] {
        assert!(engine.contains(&t), "{t} in {engine:?}");
    }
    // The polling connections carry the open packet and the namespace CONNECT.
    let polling: Vec<&Value> = conns.iter().filter(|c| c["websocket"].is_null()).collect();
    assert!(polling.iter().any(|c| {
        c["socketio"]["packets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["engine_type"] == "open")
    }));
    assert!(polling.iter().any(|c| {
        c["socketio"]["packets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["socket_type"] == "CONNECT")
    }));
    let text = String::from_utf8_lossy(
        &common::osiscope(&["walk", "captures/socketio-upgrade.pcap"]).stdout,
    )
    .into_owned();
    assert!(text.contains("socket.emit(\"chat\""), "{text}");
    assert!(text.contains("→ handled by the server's socket.on(\"chat\")"));
    assert!(
        text.contains("Engine.IO upgrade: the transport switches from polling to this WebSocket")
    );
}

#[test]
fn bytes_by_layer_add_up_to_the_wire_bytes_on_every_capture() {
    let mut checked = 0;
    for s in common::summaries() {
        if !common::exists(&s.path) || s.exit != 0 {
            continue;
        }
        let rows = common::tshark_rows(&s.path, ".tsv").unwrap_or_default();
        let out = common::osiscope(&["flows", "--format", "json", &s.path]);
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let c: Value = serde_json::from_str(line).expect("json");
            let o = &c["overhead"];
            let parts: u64 = [
                "link",
                "ip",
                "tcp",
                "tcp_repeated",
                "tls_record",
                "tls_encrypted",
                "http_head",
                "http_body",
                "websocket_framing",
                "websocket_control",
                "engineio_socketio",
                "payload",
                "other",
                "not_captured",
            ]
            .iter()
            .map(|k| o[*k].as_u64().unwrap())
            .sum();
            assert_eq!(
                parts,
                o["total"].as_u64().unwrap(),
                "{} connection {}: {o}",
                s.path,
                c["id"]
            );
            let wire = c["wire_bytes"]["client_to_server"].as_u64().unwrap()
                + c["wire_bytes"]["server_to_client"].as_u64().unwrap();
            assert_eq!(wire, o["total"].as_u64().unwrap(), "{}", s.path);
            checked += 1;
        }
        let _ = rows;
    }
    assert!(checked >= 150, "{checked} connections");
}
