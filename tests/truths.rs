//! Statements osiscope once got wrong, each pinned on a real capture: what
//! it says now, checked where possible against what tshark recorded for the
//! same file (tests/expected/tshark/).

mod common;

use common::{json_lines, osiscope, stdout};
use serde_json::Value;

const SIO: &str = "captures/socketio-upgrade.pcap";

fn conn(records: &[Value], id: u64) -> &Value {
    records
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("connection {id}"))
}

#[test]
fn the_ok_that_answers_a_polling_post_is_an_acknowledgement_not_an_invalid_packet() {
    let walk = stdout(&["walk", SIO, "--connection", "1"]);
    assert!(
        walk.contains("#26  L5 Session       server → client  ok — the server confirms it received the packets the client POSTed"),
        "{walk}"
    );
    assert!(!walk.contains("not an Engine.IO packet"), "{walk}");
    let flows = json_lines(&["flows", SIO, "--format", "json"]);
    let so = &conn(&flows, 1)["socketio"];
    assert!(so["engine_packets"].get("invalid").is_none(), "{so}");
    // tshark: frame 26 is the 200 answering the POST of frame 20 on stream 1.
    let rows = common::tshark_rows(SIO, ".http.tsv").expect("http.tsv");
    assert!(rows.iter().any(|r| r["frame.number"] == "26"
        && r["tcp.stream"] == "1"
        && r["http.response.code"] == "200"
        && r["http.request_in"] == "20"));
}

#[test]
fn engine_io_polling_connections_are_named_engine_io() {
    let flows = json_lines(&["flows", SIO, "--format", "json"]);
    let apps: Vec<&str> = (0..5)
        .map(|i| conn(&flows, i)["app_protocol"].as_str().unwrap_or("-"))
        .collect();
    // 0: the open packet; 4: the noop; 1 and 3 carry Socket.IO CONNECT
    // packets; 2 is the WebSocket with Socket.IO events.
    assert_eq!(
        apps,
        [
            "engine.io",
            "socket.io",
            "socket.io",
            "socket.io",
            "engine.io"
        ]
    );
    let table = stdout(&["flows", SIO]);
    assert!(table.contains("│ engine.io │"), "{table}");
}

#[test]
fn one_frame_over_several_segments_is_not_called_fragments() {
    // Zeek's wstunnel trace: a 3,776-byte binary frame whose bytes arrive in
    // frames 11, 12 and 13 (tshark reassembles it into frame 13).
    let path = "tests/corpus/zeek/websocket/wstunnel-https.pcap";
    let walk = json_lines(&["walk", path, "--format", "json"]);
    let m = walk[0]["websocket"]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["first_frame"] == 11)
        .expect("message from frame 11");
    assert_eq!(m["length"], 3776);
    assert_eq!(m["fragments"], 1);
    assert_eq!(m["segments"], serde_json::json!([11, 12, 13]));
    assert_eq!(m["segments_count"], 3);
    // The same frames carry payload in that direction for tshark.
    let rows = common::tshark_rows(path, ".tsv").expect("tsv");
    let sender = rows
        .iter()
        .find(|r| r["frame.number"] == "13")
        .map(|r| r["tcp.srcport"].clone())
        .expect("frame 13");
    let carried: Vec<u64> = rows
        .iter()
        .filter(|r| r["tcp.srcport"] == sender && r["tcp.len"] != "0" && !r["tcp.len"].is_empty())
        .filter_map(|r| r["frame.number"].parse().ok())
        .filter(|f| (11..=13).contains(f))
        .collect();
    assert_eq!(carried, [11, 12, 13]);
    let ws = common::tshark_rows(path, ".ws.tsv").expect("ws.tsv");
    assert!(
        ws.iter()
            .any(|r| r["frame.number"] == "13" && r["websocket.payload_length_ext_16"] == "3776")
    );
    let text = stdout(&["walk", path]);
    assert!(
        text.contains(
            "binary message of 3776 bytes, one frame, carried in 3 TCP segments (frames 11, 12, 13)"
        ),
        "{}",
        &text[..text.len().min(3000)]
    );
    assert!(!text.contains("in fragments (frames"), "{text}");
    // Inside TLS: the 40,000-byte text of the Node capture, one frame.
    let tls = stdout(&[
        "walk",
        "captures/wss-node-tls13-aes256.pcap",
        "--keylog",
        "captures/wss-node-tls13-aes256.keys",
    ]);
    assert!(
        tls.contains("text message of 40000 bytes, one frame, decrypted from TLS records completed in frames 12, 13"),
        "{tls}"
    );
}

#[test]
fn real_fragmentation_is_counted_in_websocket_frames() {
    // Zeek's two-binary-fragments trace: FIN=0 then a continuation, FIN=1.
    let path = "tests/corpus/zeek/websocket/two-binary-fragments.pcap";
    let walk = json_lines(&["walk", path, "--format", "json"]);
    let msgs = walk[0]["websocket"]["messages"]
        .as_array()
        .expect("messages");
    let frag: Vec<&Value> = msgs.iter().filter(|m| m["fragments"] == 2).collect();
    assert_eq!(frag.len(), 1, "{msgs:?}");
    assert_eq!(frag[0]["segments"], serde_json::json!([13]));
    assert_eq!(frag[0]["length"], 12);
    // tshark: frame 13 holds a binary frame with FIN clear (5 bytes) and its
    // continuation with FIN set (7 bytes).
    let ws = common::tshark_rows(path, ".ws.tsv").expect("ws.tsv");
    let f13 = ws.iter().find(|r| r["frame.number"] == "13").expect("13");
    assert_eq!(
        (
            f13["websocket.fin"].as_str(),
            f13["websocket.opcode"].as_str()
        ),
        ("0,1", "2,0")
    );
    assert_eq!(f13["websocket.payload_length"], "5,7");
    assert!(stdout(&["walk", path]).contains("in 2 fragments (WebSocket frames)"));
}

#[test]
fn short_labels_never_split_a_character() {
    let brief = stdout(&["walk", "captures/ws-echo.pcap", "--brief"]);
    assert!(
        brief.contains("text 44B \"Grüße aus Zürich — こん…\""),
        "{brief}"
    );
    for args in [
        ["walk", "captures/ws-echo.pcap", "--brief"],
        ["walk", "captures/ws-echo.pcap", "--format=mermaid"],
        ["walk", "captures/ws-echo.pcap", "--format=svg"],
    ] {
        assert!(!stdout(&args).contains('\u{fffd}'), "{args:?}");
    }
}

#[test]
fn a_filter_narrows_the_listing_not_the_facts_of_a_session() {
    let walk = stdout(&["walk", SIO, "--connection", "2"]);
    assert!(
        walk.contains("Socket.IO session KWfbzNo5zleIL6UgAAAA spans 5 TCP connections: long-polling on 0, 1, 3, 4; WebSocket on 2"),
        "{walk}"
    );
    // The connection's bytes by layer, then the session's (7,359 bytes on
    // the wire: the five connections).
    assert_eq!(walk.matches("Bytes by layer").count(), 2, "{walk}");
    assert!(walk.contains("Bytes by layer (7359 bytes on the wire)"));
    let all = stdout(&["walk", SIO]);
    assert!(all.contains("Bytes by layer (7359 bytes on the wire)"));
}

#[test]
fn keep_alive_probes_are_keep_alives_not_overlap_conflicts() {
    let path = "tests/corpus/arkime/websocket.pcap";
    let flows = json_lines(&["flows", path, "--format", "json"]);
    let a = &flows[0]["anomalies"];
    assert_eq!(a["keep_alive"], 2, "{a}");
    assert!(a.get("overlap_conflict").is_none(), "{a}");
    let rows = common::tshark_rows(path, ".tcp.tsv").expect("tcp.tsv");
    let ka: Vec<&str> = rows
        .iter()
        .filter(|r| !r["tcp.analysis.keep_alive"].is_empty())
        .map(|r| r["frame.number"].as_str())
        .collect();
    assert_eq!(ka, ["12", "18"]);
    let packets = json_lines(&["packets", path, "--format", "json"]);
    for f in [12, 18] {
        let p = packets.iter().find(|p| p["frame"] == f).expect("frame");
        let text = p.to_string();
        assert!(text.contains("keep_alive"), "{text}");
        assert!(!text.contains("overlap_conflict"), "{text}");
    }
}

#[test]
fn a_retransmitted_fin_is_the_same_fin_again() {
    let path = "tests/corpus/zeek/http/get-gzip.pcap";
    let walk = stdout(&["walk", path]);
    let line = walk
        .lines()
        .find(|l| l.contains("#12  L4"))
        .expect("frame 12");
    assert!(
        line.contains(
            "FIN again — the client sends its FIN once more (a retransmission of frame 10"
        ),
        "{line}"
    );
    assert!(
        line.contains("It also acknowledges the server's FIN."),
        "{line}"
    );
    assert!(!line.contains("closes its side too"), "{line}");
    let rows = common::tshark_rows(path, ".tcp.tsv").expect("tcp.tsv");
    let r12 = rows.iter().find(|r| r["frame.number"] == "12").expect("12");
    assert!(!r12["tcp.analysis.retransmission"].is_empty());
}

#[test]
fn a_socket_io_packet_is_where_it_is_and_completes_with_its_attachment() {
    let walk = json_lines(&["walk", SIO, "--format", "json", "--connection", "2"]);
    let rows = walk[0]["socketio"]["packets"].as_array().expect("packets");
    let upload = rows
        .iter()
        .find(|r| r["event"] == "upload")
        .expect("upload");
    assert_eq!(
        (upload["frame"].as_u64(), upload["complete_frame"].as_u64()),
        (Some(59), Some(60))
    );
    let chat = rows.iter().find(|r| r["event"] == "chat").expect("chat");
    assert_eq!(chat["frame"], chat["complete_frame"]);
    // tshark: 59 is the text frame announcing one attachment, 60 the binary frame.
    let ws = common::tshark_rows(SIO, ".ws.tsv").expect("ws.tsv");
    let f59 = ws.iter().find(|r| r["frame.number"] == "59").expect("59");
    assert!(f59["websocket.payload.text"].starts_with("451-[\"upload\""));
    let f60 = ws.iter().find(|r| r["frame.number"] == "60").expect("60");
    assert_eq!(f60["websocket.opcode"], "2");
}

#[test]
fn a_declined_deflate_offer_is_said() {
    let walk = stdout(&["walk", SIO, "--connection", "2"]);
    assert!(
        walk.contains("permessage-deflate offered, not accepted (messages travel uncompressed)"),
        "{walk}"
    );
    // Accepted offers are not called declined.
    let deflate = stdout(&["walk", "captures/ws-deflate.pcap"]);
    assert!(!deflate.contains("not accepted"), "{deflate}");
}

#[test]
fn walk_json_carries_whole_messages_and_says_when_it_cuts() {
    let walk = json_lines(&[
        "walk",
        "captures/wss-node-tls13-aes256.pcap",
        "--keylog",
        "captures/wss-node-tls13-aes256.keys",
        "--format",
        "json",
    ]);
    let m = &walk[0]["websocket"]["messages"][2];
    assert_eq!(m["length"], 40000);
    let text = m["text"].as_str().expect("text");
    assert_eq!(text.len(), 40000);
    assert!(text.starts_with("abcdefghijklmnopqrstuvwxyz") && !text.ends_with('…'));
    assert!(m.get("text_truncated").is_none(), "{m}");
    // A binary message in base64: the 32 bytes tshark shows as data.data.
    let echo = json_lines(&["walk", "captures/ws-echo.pcap", "--format", "json"]);
    let bin = echo[0]["websocket"]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["opcode"] == 2)
        .expect("binary");
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(bin["data_b64"].as_str().expect("data_b64"))
        .expect("base64");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let ws = common::tshark_rows("captures/ws-echo.pcap", ".ws.tsv").expect("ws.tsv");
    let f14 = ws.iter().find(|r| r["frame.number"] == "14").expect("14");
    assert_eq!(hex, f14["data.data"]);
}

#[test]
fn an_empty_answer_says_what_exists() {
    let o = osiscope(&["layers", "--frame", "999", "captures/ws-echo.pcap"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "osiscope: captures/ws-echo.pcap: no frame 999: the capture has 22 frames\n"
    );
    let o = osiscope(&["walk", "--connection", "7", SIO]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "osiscope: captures/socketio-upgrade.pcap: no connection 7: the capture has 5 TCP connections, numbered 0–4\n"
    );
    let o = osiscope(&["flows", "--port", "9999", "captures/ws-echo.pcap"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no connection matches the filter"));
    // A filter that matches is quiet.
    assert_eq!(
        osiscope(&["walk", "--connection", "4", SIO]).status.code(),
        Some(0)
    );
}

#[test]
fn a_capture_cut_by_its_snap_length_says_what_it_kept_and_what_it_lost() {
    // tcpdump -s 96: 66 bytes of headers, 30 of data per frame.
    let path = "captures/ws-echo-snaplen96.pcap";
    let walk = stdout(&["walk", path]);
    assert!(
        walk.contains("#4  L4 Transport     client → server  The client sends 198 bytes (its bytes 1–198). Only 30 of them were captured: the capture kept the first 96 bytes of the frame (its snap length), so 168 bytes are not captured."),
        "{walk}"
    );
    assert!(
        walk.contains("#4  L7 Application   client → server  HTTP request GET /echo ⚠ only the start of this head was captured"),
        "{walk}"
    );
    assert!(
        walk.contains(
            "#6  L7 Application   server → client  HTTP response 101 Switching Protoco… ⚠"
        ),
        "{walk}"
    );
    let flows = json_lines(&["flows", path, "--format", "json"]);
    let c = &flows[0];
    assert_eq!(c["app_problem_count"], 2, "{c}");
    assert!(
        c["app_problems"][0].as_str().is_some_and(
            |p| p.starts_with("client: HTTP request head cut by the capture at frame 4")
        )
    );
    assert_eq!(c["http"][0]["method"], "GET");
    assert_eq!(c["http"][0]["status"], 101);
    // tshark reads the same two facts from the same bytes.
    let rows = common::tshark_rows(path, ".http.tsv").expect("http.tsv");
    assert!(rows.iter().any(|r| r["frame.number"] == "4"
        && r["http.request.method"] == "GET"
        && r["http.request.uri"] == "/echo"));
    assert!(
        rows.iter()
            .any(|r| r["frame.number"] == "6" && r["http.response.code"] == "101")
    );
    let tsv = common::tshark_rows(path, ".tsv").expect("tsv");
    let f4 = tsv.iter().find(|r| r["frame.number"] == "4").expect("4");
    assert_eq!(
        (f4["frame.cap_len"].as_str(), f4["tcp.len"].as_str()),
        ("96", "198")
    );
}

#[test]
fn the_upgrade_request_says_where_it_comes_from() {
    // Chromium's page at https://osiscope.test:8817 opens the WebSocket.
    let walk = json_lines(&[
        "walk",
        "captures/wss-chromium.pcap",
        "--keylog",
        "captures/wss-chromium.keys",
        "--format",
        "json",
        "--connection",
        "2",
    ]);
    let ws = &walk[0]["websocket"];
    assert_eq!(ws["host"], "osiscope.test:8817");
    assert_eq!(ws["origin"], "https://osiscope.test:8817");
    assert!(
        ws["user_agent"]
            .as_str()
            .is_some_and(|u| u.contains("HeadlessChrome")),
        "{ws}"
    );
    // Python's websockets client sends no Origin.
    let echo = json_lines(&["flows", "captures/ws-echo.pcap", "--format", "json"]);
    let ws = &echo[0]["websocket"];
    assert_eq!(ws["host"], "127.0.0.1:8801");
    assert!(ws["origin"].is_null());
    assert_eq!(ws["cookie_names"], serde_json::json!([]));
    let text = stdout(&["walk", "captures/ws-echo.pcap"]);
    assert!(text.contains("Host 127.0.0.1:8801, no Origin (browsers always send one; other clients need not), User-Agent Python/3.11 websockets/17.4"), "{text}");
}

#[test]
fn layers_open_engineio_and_socketio_packets_outer_first() {
    let layers_of = |frame: &str| -> Vec<serde_json::Value> {
        let recs = json_lines(&["layers", SIO, "--frame", frame, "--format", "json"]);
        recs[0]["layers"].as_array().expect("layers").clone()
    };
    let names = |ls: &[serde_json::Value]| -> Vec<String> {
        ls.iter()
            .skip(4)
            .map(|l| l["name"].as_str().expect("name").to_owned())
            .collect()
    };
    // Frame 53: the client's emit("chat", …) in one masked WebSocket frame.
    let ls = layers_of("53");
    assert_eq!(
        names(&ls),
        [
            "Data",
            "WebSocket frame",
            "WebSocket message",
            "Engine.IO packet",
            "Socket.IO packet"
        ]
    );
    let ws = &ls[5];
    assert_eq!(
        (
            ws["osi"].as_u64(),
            ws["offset"].as_u64(),
            ws["length"].as_u64()
        ),
        (Some(6), Some(66), Some(78))
    );
    assert_eq!(ws["fields"]["mask"], 1);
    assert_eq!(ws["fields"]["masking_key"], "33c5e0fc");
    let eio = &ls[7]["fields"];
    assert_eq!(
        (eio["type"].as_str(), eio["transport"].as_str()),
        (Some("message"), Some("websocket"))
    );
    let sio = &ls[8];
    assert_eq!(sio["reassembled"], true);
    assert_eq!(sio["fields"]["type"], "EVENT");
    assert_eq!(sio["fields"]["event"], "chat");
    assert_eq!(
        sio["fields"]["args"],
        serde_json::json!([{"text": "hello from socket.io-client", "tags": ["demo", "json"]}])
    );
    // Frame 60: the attachment that completes the BINARY_EVENT of frame 59.
    let ls = layers_of("60");
    let sio = ls
        .iter()
        .find(|l| l["name"] == "Socket.IO packet")
        .expect("socket.io");
    assert_eq!(sio["fields"]["type"], "BINARY_EVENT");
    assert_eq!(sio["fields"]["attachments"], 1);
    assert_eq!(sio["continues_from"], 59);
    // Frame 6: the polling handshake's open packet inside the HTTP body.
    let ls = layers_of("6");
    let http = ls
        .iter()
        .find(|l| l["name"] == "HTTP response")
        .expect("http");
    assert_eq!(http["fields"]["status"], 200);
    assert_eq!(
        (http["offset"].as_u64(), http["length"].as_u64()),
        (Some(66), Some(162))
    );
    let open = ls
        .iter()
        .find(|l| l["name"] == "Engine.IO packet")
        .expect("open");
    assert_eq!(open["fields"]["type"], "open");
    assert_eq!(open["fields"]["sid"], "KWfbzNo5zleIL6UgAAAA");
    assert_eq!(open["fields"]["upgrades"], serde_json::json!(["websocket"]));
}

/// Every connection's Community ID is the one Arkime's own tests expect for
/// the same session (tests/expected/arkime/community_id.tsv): the key that
/// joins osiscope's records to Zeek's, Suricata's and Arkime's.
#[test]
fn community_ids_are_those_arkime_expects() {
    let text =
        std::fs::read_to_string(common::repo().join("tests/expected/arkime/community_id.tsv"))
            .expect("community_id.tsv");
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        let [path, sip, sport, dip, dport, id] = f[..] else {
            panic!("bad line {line}");
        };
        let ep = |ip: &str, port: &str| {
            if ip.contains(':') {
                format!("[{ip}]:{port}")
            } else {
                format!("{ip}:{port}")
            }
        };
        let (a, b) = (ep(sip, sport), ep(dip, dport));
        let conns = common::json_lines(&["flows", "--format", "json", path]);
        let c = conns
            .iter()
            .find(|c| {
                let (cl, sv) = (c["client"].as_str(), c["server"].as_str());
                (cl, sv) == (Some(&a), Some(&b)) || (cl, sv) == (Some(&b), Some(&a))
            })
            .unwrap_or_else(|| panic!("{path}: no connection {a} – {b}"));
        assert_eq!(c["community_id"], id, "{path}: {a} – {b}");
        checked += 1;
    }
    assert_eq!(checked, 40);
}
