//! WebSocket told as steps: the handshake's outcome, control frames (close,
//! ping, pong), messages with how they were masked and compressed, and
//! protocol violations.

use std::fmt::Write as _;

use super::story::At;
use crate::flow::Dir;
use crate::proto::websocket::parser::Segments;
use crate::proto::websocket::record::{WebSocketEvent, WebSocketSummary};
use crate::proto::websocket::{
    OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, close_name, opcode_name,
};
use crate::report::appline::AppLine;
use crate::text::{clip_width, push_int, utf8_head};

/// The steps of a WebSocket event.
pub(super) fn steps(e: &WebSocketEvent, at: &mut At<'_>) {
    match e {
        WebSocketEvent::Upgrade(w) => {
            let f = w.response_frame.unwrap_or(0);
            if w.established {
                let mut text = String::from("The server switches the connection to WebSocket");
                match (w.accept_valid, &w.accept, &w.expected_accept) {
                    (Some(true), Some(a), _) => {
                        let _ = write!(
                            text,
                            "; Sec-WebSocket-Accept {a} is correct (base64 of SHA-1 of the key + RFC 6455's GUID)"
                        );
                    }
                    (Some(false), Some(a), Some(x)) => {
                        let _ = write!(
                            text,
                            "; ⚠ Sec-WebSocket-Accept {a} is WRONG: the key calls for {x}"
                        );
                    }
                    (None, _, _) if w.problems.contains(&"answer_cut") => text.push_str(
                        "; its Sec-WebSocket-Accept was not captured, so it cannot be checked",
                    ),
                    (None, _, _) => text.push_str("; ⚠ no Sec-WebSocket-Accept header"),
                    _ => {}
                }
                if let Some(x) = &w.extensions_negotiated {
                    let _ = write!(text, "; extensions agreed: {x}");
                }
                // An offer the server left out of its answer is declined.
                let offered = w.extensions_offered.as_deref().unwrap_or("");
                let agreed = w.extensions_negotiated.as_deref().unwrap_or("");
                for name in extension_names(offered) {
                    if !extension_names(agreed).any(|a| a.eq_ignore_ascii_case(name)) {
                        let _ = write!(
                            text,
                            "; {name} offered, not accepted{}",
                            if name.eq_ignore_ascii_case("permessage-deflate") {
                                " (messages travel uncompressed)"
                            } else {
                                ""
                            }
                        );
                    }
                }
                if let Some(p) = &w.subprotocol {
                    let _ = write!(text, "; subprotocol {p}");
                }
                text.push_str(
                    ". WebSocket session open: from now on both sides send WebSocket frames.",
                );
                at.step(
                    f,
                    5,
                    None,
                    "websocket_open",
                    text,
                    "WebSocket session open".into(),
                );
            } else {
                let text = format!(
                    "⚠ No WebSocket: the server answered {} instead of 101 Switching Protocols{}",
                    w.status.map_or("nothing".into(), |s| s.to_string()),
                    if w.problems.contains(&"not_websocket") {
                        " (it switched to another protocol)"
                    } else {
                        ""
                    }
                );
                at.step(
                    f,
                    5,
                    None,
                    "websocket_rejected",
                    text,
                    "upgrade refused".into(),
                );
            }
        }
        WebSocketEvent::Frame { dir, frame: fr } => {
            let who = dir.sender();
            match fr.opcode {
                OP_CLOSE => {
                    let (code, reason) = fr.close.clone().unwrap_or((None, String::new()));
                    let code_text = code.map_or("no status code".to_owned(), |c| {
                        format!("{c} ({})", close_name(c))
                    });
                    let text = format!(
                        "WebSocket close frame from the {who}: {code_text}{}",
                        if reason.is_empty() {
                            String::new()
                        } else {
                            format!(", reason \"{reason}\"")
                        }
                    );
                    let label = format!("close {}", code.map_or("–".into(), |c| c.to_string()));
                    at.step(fr.frame, 5, Some(*dir), "websocket_close", text, label);
                    let first = !at.story.ws_closed.iter().any(|c| *c);
                    at.story.ws_closed[*dir as usize] = true;
                    if at.story.ws_closed == [true, true] && !first {
                        at.step(
                            fr.frame,
                            5,
                            None,
                            "websocket_closed",
                            format!(
                                "WebSocket session closed: the closing handshake is complete (the {} closed first); TCP closes next.",
                                dir.other().sender()
                            ),
                            "WebSocket session closed".into(),
                        );
                    }
                }
                OP_PING | OP_PONG => {
                    if at.omits() {
                        return;
                    }
                    let name = if fr.opcode == OP_PING { "ping" } else { "pong" };
                    let mut text = format!(
                        "WebSocket {name} from the {who} ({} bytes){}",
                        fr.payload_len,
                        if fr.opcode == OP_PING {
                            ": are you still there?"
                        } else {
                            ": yes, still here"
                        }
                    );
                    if !fr.payload.is_empty() {
                        push_quoted_preview(&mut text, &fr.payload, 64);
                    }
                    at.step(fr.frame, 5, Some(*dir), "websocket_ping", text, name.into());
                }
                _ => {}
            }
        }
        WebSocketEvent::Message { dir, message: m } => {
            if at.omits() {
                return;
            }
            let who = dir.sender();
            let kind = opcode_name(m.opcode);
            let len = m.length.unwrap_or(m.wire_len);
            // Room for the longest wording, a 200-column preview and the
            // label, so the step's text is not moved as it grows. Pieces
            // are appended, not formatted: a step per message.
            let mut text = String::with_capacity(512);
            for piece in ["The ", who, " sends a ", kind, " message of "] {
                text.push_str(piece);
            }
            push_int(&mut text, len);
            text.push_str(if len == 1 { " byte" } else { " bytes" });
            if m.fragments > 1 {
                text.push_str(" in ");
                push_int(&mut text, m.fragments);
                text.push_str(" fragments (WebSocket frames)");
            }
            if m.segments.count > 1 {
                let one = if m.fragments > 1 { "" } else { "one frame, " };
                text.push_str(", ");
                text.push_str(one);
                if at.story.over_tls {
                    text.push_str("decrypted from TLS records completed in ");
                } else {
                    text.push_str("carried in ");
                    push_int(&mut text, m.segments.count);
                    text.push_str(" TCP segments (");
                }
                text.push_str(&frame_list(&m.segments));
                if !at.story.over_tls {
                    text.push(')');
                }
            }
            if *dir == Dir::ClientToServer {
                text.push_str(", masked (L6: every client frame is XORed with a 4-byte key)");
            }
            if m.compressed {
                text.push_str(", compressed with permessage-deflate (L6): ");
                push_int(&mut text, m.wire_len);
                text.push_str(" bytes on the wire");
            }
            if let Some(err) = &m.error {
                text.push_str(" ⚠ ");
                text.push_str(err);
            } else if m.opcode == OP_TEXT {
                text.push(':');
                push_quoted_preview(&mut text, &m.data, 200);
            } else {
                text.push_str(": ");
                text.push_str(&hex_preview(&m.data));
            }
            let mut label = String::with_capacity(kind.len() + 40);
            label.push_str(kind);
            label.push(' ');
            push_int(&mut label, len);
            label.push('B');
            if m.opcode == OP_TEXT {
                push_quoted_preview(&mut label, &m.data, 24);
            }
            at.step(
                m.last_frame,
                7,
                Some(*dir),
                "websocket_message",
                text,
                label,
            );
        }
        WebSocketEvent::Violation { dir, frame, kind } => {
            at.step(
                *frame,
                6,
                Some(*dir),
                "websocket_violation",
                format!("⚠ WebSocket protocol violation: {}", kind.replace('_', " ")),
                format!("violation {kind}"),
            );
        }
    }
}

/// One line for the packets view and the packet JSON. A final data frame
/// is told as its message; frames are listed for control frames and
/// fragments.
pub(super) fn line(e: &WebSocketEvent) -> Option<AppLine> {
    let (osi, text) = match e {
        WebSocketEvent::Upgrade(w) => (
            5,
            if w.established {
                format!(
                    "WebSocket open{}",
                    match w.accept_valid {
                        Some(false) => " (accept key wrong)",
                        None => " (no accept key)",
                        _ => "",
                    }
                )
            } else {
                "WebSocket upgrade refused".into()
            },
        ),
        WebSocketEvent::Frame { frame: f, .. }
            if f.fin && (f.opcode == OP_TEXT || f.opcode == OP_BINARY) =>
        {
            return None;
        }
        WebSocketEvent::Frame { frame: f, .. } => {
            let mut t = format!("WS {}", opcode_name(f.opcode));
            if !f.fin {
                t.push_str(" (not final)");
            }
            if f.rsv1 {
                t.push_str(" (compressed)");
            }
            let _ = write!(t, " {} bytes", f.payload_len);
            if f.masked {
                t.push_str(" masked");
            }
            if let Some((code, _)) = &f.close {
                let _ = write!(t, " code {}", code.map_or("–".into(), |c| c.to_string()));
            }
            (6, t)
        }
        WebSocketEvent::Message { message: m, .. } => {
            let mut t = format!("WS {}", opcode_name(m.opcode));
            if m.opcode == OP_TEXT && m.error.is_none() {
                push_quoted_preview(&mut t, &m.data, 60);
            }
            let n = m.length.unwrap_or(m.wire_len);
            let _ = write!(t, " ({n} byte{}", if n == 1 { "" } else { "s" });
            if m.compressed {
                let _ = write!(t, ", {} compressed", m.wire_len);
            }
            t.push(')');
            if let Some(e) = &m.error {
                let _ = write!(t, " ⚠ {e}");
            }
            (7, t)
        }
        WebSocketEvent::Violation { kind, .. } => (6, format!("WS violation: {kind}")),
    };
    Some(AppLine {
        osi,
        protocol: "websocket",
        text,
    })
}

/// The connection header's WebSocket line.
pub(super) fn header(w: &WebSocketSummary) -> String {
    let mut l = format!(
        "  websocket: {} {}",
        w.uri.as_deref().unwrap_or("?"),
        if w.established {
            "established"
        } else {
            "not established"
        }
    );
    if let Some(f) = w.request_frame {
        let _ = write!(l, " (request #{f}");
        if let Some(r) = w.response_frame {
            let _ = write!(
                l,
                ", response #{r} {}",
                w.status.map_or("?".into(), |s| s.to_string())
            );
        }
        l.push(')');
    }
    match w.accept_valid {
        Some(true) => l.push_str(" · accept key valid"),
        Some(false) => l.push_str(" · ⚠ accept key WRONG"),
        None => {}
    }
    if w.permessage_deflate {
        l.push_str(" · permessage-deflate");
    }
    if let Some(p) = &w.subprotocol {
        let _ = write!(l, " · subprotocol {p}");
    }
    if let Some(c) = &w.close {
        let _ = write!(
            l,
            " · closed by the {} with {}",
            c.initiator.map_or("?", |d| d.sender()),
            c.code.map_or("no status".to_owned(), |c| format!(
                "{c} ({})",
                close_name(c)
            ))
        );
    }
    for p in &w.problems {
        let _ = write!(l, " · ⚠ {p}");
    }
    if w.violations > 0 {
        let _ = write!(l, " · ⚠ {} protocol violations", w.violations);
    }
    l
}

/// [`push_preview`] as a string of its own.
#[cfg(test)]
fn preview(data: &[u8], max: usize) -> String {
    let mut out = String::new();
    push_preview(&mut out, data, max);
    out
}

/// Appends ` "`, [`push_preview`] and `"`: a preview as a step quotes it.
fn push_quoted_preview(out: &mut String, data: &[u8], max: usize) {
    out.push_str(" \"");
    push_preview(out, data, max);
    out.push('"');
}

/// Appends the head of a message's text to `out`, at most `max` terminal
/// columns, with `…` when something was cut.
fn push_preview(out: &mut String, data: &[u8], max: usize) {
    // Most messages are printable ASCII: a byte is a column.
    let head = &data[..data.len().min(max.saturating_add(1))];
    if head.iter().all(|b| (0x20..0x7f).contains(b)) {
        let shown = &head[..head.len().min(max)];
        out.push_str(std::str::from_utf8(shown).unwrap_or_default());
        if shown.len() < data.len() {
            out.push('…');
        }
        return;
    }
    push_preview_any(out, data, max);
}

/// [`push_preview`] for any bytes.
fn push_preview_any(out: &mut String, data: &[u8], max: usize) {
    // A column takes at most 4 bytes; more is read than can be shown.
    let text = utf8_head(data, max.saturating_mul(4));
    let clipped = clip_width(&text, max);
    out.push_str(&clipped);
    if !clipped.ends_with('…') && text.len() < data.len() {
        out.push('…');
    }
}

/// [`push_preview_any`] as a string of its own.
#[cfg(test)]
fn preview_any(data: &[u8], max: usize) -> String {
    let mut out = String::new();
    push_preview_any(&mut out, data, max);
    out
}

fn hex_preview(data: &[u8]) -> String {
    let mut s = crate::text::spaced_hex(data.get(..16).unwrap_or(data));
    if data.len() > 16 {
        s.push_str(" …");
    }
    s
}

/// "frames 14, 15, 17", or "frames 14–90" when there are many.
fn frame_list(s: &Segments) -> String {
    let Some(first) = s.frames.first() else {
        return String::new();
    };
    if s.count > 5 {
        return format!("frames {first}–{}", s.last);
    }
    let l: Vec<String> = s.frames.iter().map(u64::to_string).collect();
    format!("frames {}", l.join(", "))
}

/// The extension names of a `Sec-WebSocket-Extensions` value, each once.
fn extension_names(v: &str) -> impl Iterator<Item = &str> {
    let mut seen: Vec<&str> = Vec::new();
    v.split(',')
        .filter_map(|e| e.split(';').next().map(str::trim))
        .filter(|n| !n.is_empty())
        .filter(move |n| {
            let new = !seen.iter().any(|s| s.eq_ignore_ascii_case(n));
            if new {
                seen.push(n);
            }
            new
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_previews_show_sixteen_bytes_in_hex() {
        assert_eq!(hex_preview(&[]), "");
        assert_eq!(hex_preview(&[0x0a, 0xff]), "0a ff");
        let b: Vec<u8> = (0..17).collect();
        assert_eq!(
            hex_preview(&b),
            "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f …"
        );
        assert_eq!(hex_preview(&b[..16]).len(), 16 * 3 - 1);
    }

    #[test]
    fn ascii_previews_read_as_any_other() {
        let long = "a".repeat(250);
        let cases: [&[u8]; 10] = [
            b"",
            b"hello",
            b"42[\"chat\",\"hi\"]",
            long.as_bytes(),
            &long.as_bytes()[..24],
            &long.as_bytes()[..25],
            b"tab\there",
            b"bell\x07",
            "caf\u{e9} \u{1F600}".as_bytes(),
            b"\xff\xfe binary",
        ];
        for data in cases {
            for max in [0, 1, 24, 200] {
                assert_eq!(preview(data, max), preview_any(data, max), "{data:?} {max}");
            }
        }
        assert_eq!(preview(long.as_bytes(), 24), format!("{}…", "a".repeat(24)));
    }
}
