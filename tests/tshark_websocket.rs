//! Every WebSocket frame of every capture tshark decodes WebSocket in (the
//! bundled captures and the corpus WebSocket traces), checked against tshark
//! 4.0's recorded answers (tests/expected/tshark/*.ws.tsv): the capture frame
//! it ends in, FIN, RSV1, opcode, MASK and the real payload length; and the
//! unmasked, defragmented, inflated text of every text message. The same
//! for the wss:// captures, decrypted with their key logs, against tshark's
//! answers with the same key logs (*.wss.tsv).

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

/// Ports of captures without an HTTP upgrade, decoded as WebSocket on request.
const ASSUME: &[(&str, &str)] = &[("tests/corpus/ndpi/websocket.pcap", "12345")];

fn ws_files(suffix: &str) -> Vec<String> {
    common::summaries()
        .into_iter()
        .map(|s| s.path)
        .filter(|p| common::exists(p) && common::tshark_rows(p, suffix).is_some())
        .collect()
}

/// The key log beside a capture, as the capture script leaves it.
fn keys(path: &str) -> String {
    format!("{}.keys", path.trim_end_matches(".pcap"))
}

/// One WebSocket frame: (fin, rsv1, opcode, mask, payload length).
type WsFrame = (bool, bool, u64, bool, u64);

/// tshark's frames, per capture frame.
fn theirs(path: &str, suffix: &str) -> BTreeMap<u64, Vec<WsFrame>> {
    let mut out = BTreeMap::new();
    for r in common::tshark_rows(path, suffix).expect("rows") {
        let split = |k: &str| -> Vec<String> {
            r[k].split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let fin = split("websocket.fin");
        let rsv = split("websocket.rsv");
        let op = split("websocket.opcode");
        let mask = split("websocket.mask");
        let len7 = split("websocket.payload_length");
        let mut ext16 = split("websocket.payload_length_ext_16").into_iter();
        let mut ext64 = split("websocket.payload_length_ext_64").into_iter();
        let mut frames = Vec::new();
        for i in 0..op.len() {
            let l7: u64 = len7.get(i).and_then(|v| v.parse().ok()).unwrap_or(0);
            let len = match l7 {
                126 => ext16.next().and_then(|v| v.parse().ok()).unwrap_or(0),
                127 => ext64.next().and_then(|v| v.parse().ok()).unwrap_or(0),
                n => n,
            };
            let rsv_bits = rsv
                .get(i)
                .and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok())
                .unwrap_or(0);
            frames.push((
                fin.get(i).is_some_and(|v| v == "1" || v == "True"),
                rsv_bits & 0x4 != 0,
                op.get(i).and_then(|v| v.parse().ok()).unwrap_or(99),
                mask.get(i).is_some_and(|v| v == "1" || v == "True"),
                len,
            ));
        }
        out.insert(r["frame.number"].parse().expect("frame"), frames);
    }
    out
}

fn walk(path: &str, keylog: Option<&str>) -> Vec<Value> {
    let mut args = vec!["walk", "--format", "json", path];
    for (p, port) in ASSUME {
        if *p == path {
            args.extend(["--assume-websocket", port]);
        }
    }
    if let Some(k) = keylog {
        args.extend(["--keylog", k]);
    }
    common::json_lines(&args)
}

/// tshark writes CR, LF and TAB in text cells as \\r, \\n, \\t.
fn tshark_escape(s: &str) -> String {
    s.replace('\r', "\\r")
        .replace('\n', "\\n")
        .replace('\t', "\\t")
}

#[test]
fn websocket_frames_and_messages_match_tshark() {
    let (frames, texts) = compare(".ws.tsv", false);
    assert!(frames > 300, "only {frames} frames");
    assert!(texts > 40, "only {texts} texts");
}

/// Inside TLS, decrypted with the captures' key logs: 6 captures.
#[test]
fn wss_frames_and_messages_match_tshark_with_the_key_logs() {
    let (frames, texts) = compare(".wss.tsv", true);
    // Every frame and text message tshark decrypts in the seven captures.
    assert_eq!((frames, texts), (63, 23), "frames and texts checked");
}

/// `layers` opens every WebSocket frame where tshark shows it, with the same
/// FIN, RSV1, opcode, MASK, payload length and masking key, and places its
/// bytes in the packet: a frame that began in this packet spans exactly its
/// header and payload; one that began earlier starts at the payload's first
/// byte. Inside TLS the frames have no bytes of their own in the packet.
#[test]
fn layers_open_every_websocket_frame_as_tshark_does() {
    let mut report = String::new();
    let mut checked = 0;
    for (suffix, with_keys) in [(".ws.tsv", false), (".wss.tsv", true)] {
        for path in ws_files(suffix) {
            let keylog = with_keys.then(|| keys(&path));
            let mut args = vec!["layers", "--format", "json", path.as_str()];
            for (p, port) in ASSUME {
                if *p == path {
                    args.extend(["--assume-websocket", port]);
                }
            }
            if let Some(k) = &keylog {
                args.extend(["--keylog", k]);
            }
            let mut ours: BTreeMap<u64, Vec<WsFrame>> = BTreeMap::new();
            let mut keys_seen: BTreeMap<u64, Vec<String>> = BTreeMap::new();
            for rec in common::json_lines(&args) {
                let frame = rec["frame"].as_u64().expect("frame");
                let layers = rec["layers"].as_array().expect("layers");
                let data = layers.iter().rev().find(|l| l["name"] == "Data");
                for l in layers.iter().filter(|l| l["name"] == "WebSocket frame") {
                    let f = &l["fields"];
                    ours.entry(frame).or_default().push((
                        f["fin"] == 1,
                        f["rsv1"] == 1,
                        f["opcode"].as_u64().expect("opcode"),
                        f["mask"] == 1,
                        f["payload_length"].as_u64().expect("length"),
                    ));
                    if let Some(k) = f["masking_key"].as_str() {
                        keys_seen.entry(frame).or_default().push(k.to_owned());
                    }
                    let at = (l["offset"].as_u64(), l["length"].as_u64());
                    let whole = f["header_length"].as_u64().unwrap()
                        + f["payload_length"].as_u64().unwrap();
                    let placed = match (with_keys, l["reassembled"] == true, data) {
                        (true, true, _) => true,
                        (true, false, _) => false,
                        (false, false, Some(d)) if l["continues_from"].is_u64() => {
                            at.0 == d["offset"].as_u64()
                        }
                        (false, false, Some(_)) => at.1 == Some(whole),
                        _ => false,
                    };
                    if !placed {
                        let _ = writeln!(report, "{path} frame {frame}: misplaced {l}");
                    }
                }
            }
            let theirs_frames = theirs(&path, suffix);
            for (f, t) in &theirs_frames {
                if ours.get(f) != Some(t) {
                    let _ = writeln!(
                        report,
                        "{path} frame {f}: tshark {t:?}, layers {:?}",
                        ours.get(f)
                    );
                }
            }
            for f in ours.keys().filter(|f| !theirs_frames.contains_key(f)) {
                let _ = writeln!(
                    report,
                    "{path} frame {f}: layers {:?}, tshark none",
                    ours[f]
                );
            }
            for r in common::tshark_rows(&path, suffix).expect("rows") {
                let frame: u64 = r["frame.number"].parse().expect("frame");
                let theirs_keys: Vec<String> = r["websocket.masking_key"]
                    .split(',')
                    .filter(|k| !k.is_empty())
                    .map(str::to_owned)
                    .collect();
                let mine = keys_seen.get(&frame).cloned().unwrap_or_default();
                if mine != theirs_keys {
                    let _ = writeln!(
                        report,
                        "{path} frame {frame}: masking keys tshark {theirs_keys:?}, layers {mine:?}"
                    );
                }
            }
            checked += theirs_frames.values().map(Vec::len).sum::<usize>();
        }
    }
    assert!(report.is_empty(), "layers differs from tshark:\n{report}");
    // 446 frames in clear, 63 inside TLS.
    assert_eq!(checked, 509, "frames checked");
}

/// Compares every capture with a `suffix` file; returns (frames, texts) checked.
fn compare(suffix: &str, with_keys: bool) -> (usize, usize) {
    let mut report = String::new();
    let mut frames_checked = 0;
    let mut texts_checked = 0;
    let files = ws_files(suffix);
    assert!(
        files.len() >= if with_keys { 6 } else { 25 },
        "{} WebSocket captures",
        files.len()
    );
    for path in files {
        let keylog = with_keys.then(|| keys(&path));
        let conns = walk(&path, keylog.as_deref());
        let mut ours: BTreeMap<u64, Vec<WsFrame>> = BTreeMap::new();
        let mut texts: Vec<(u64, String)> = Vec::new();
        for c in &conns {
            let Some(ws) = c["websocket"].as_object() else {
                continue;
            };
            for f in ws["frames"].as_array().into_iter().flatten() {
                ours.entry(f["frame"].as_u64().unwrap()).or_default().push((
                    f["fin"].as_bool().unwrap(),
                    f["rsv1"].as_bool().unwrap(),
                    f["opcode"].as_u64().unwrap(),
                    f["masked"].as_bool().unwrap(),
                    f["payload_len"].as_u64().unwrap(),
                ));
            }
            for m in ws["messages"].as_array().into_iter().flatten() {
                if let Some(t) = m["text"].as_str() {
                    texts.push((m["last_frame"].as_u64().unwrap(), t.to_owned()));
                }
            }
        }
        let theirs = theirs(&path, suffix);
        if ours != theirs {
            for (f, t) in &theirs {
                let o = ours.get(f);
                if o != Some(t) {
                    let _ = writeln!(report, "{path} frame {f}: tshark {t:?}, osiscope {o:?}");
                }
            }
            for (f, o) in &ours {
                if !theirs.contains_key(f) {
                    let _ = writeln!(report, "{path} frame {f}: osiscope {o:?}, tshark none");
                }
            }
        }
        frames_checked += theirs.values().map(Vec::len).sum::<usize>();
        // Message text, where tshark's cell holds exactly one text payload.
        let rows = common::tshark_rows(&path, suffix).expect("rows");
        for (frame, text) in texts {
            let Some(r) = rows.iter().find(|r| r["frame.number"] == frame.to_string()) else {
                continue;
            };
            let ops: Vec<&str> = r["websocket.opcode"].split(',').collect();
            if ops.iter().filter(|o| **o == "1" || **o == "0").count() != 1 || text.contains(',') {
                continue;
            }
            let cell = &r["websocket.payload.text"];
            // A long message is listed cut, with "…": its head must match.
            let same = match text.strip_suffix('…') {
                Some(head) if text.len() > 4000 => cell.starts_with(&tshark_escape(head)),
                _ => *cell == tshark_escape(&text),
            };
            if !same {
                let _ = writeln!(
                    report,
                    "{path} frame {frame}: text tshark {cell:?}, osiscope {text:?}"
                );
            }
            texts_checked += 1;
        }
    }
    assert!(
        report.is_empty(),
        "WebSocket differs from tshark:\n{report}"
    );
    (frames_checked, texts_checked)
}
