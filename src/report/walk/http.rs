//! HTTP told as steps: each request and response, and a head that could
//! not be read.

use std::fmt::Write as _;

use super::story::At;
use crate::proto::http::Head;
use crate::proto::http::record::{HttpEvent, HttpTx};
use crate::report::appline::AppLine;
use crate::text::clip_chars;

/// Said of a head the capture lost the rest of.
const CUT: &str = " ⚠ only the start of this head was captured (the frame was cut by the capture's snap length, or the bytes after it were lost): its other lines, and what follows in this direction, are not known";

/// Says where a message with a body lay, and that its head was cut.
fn where_and_cut(text: &mut String, head: &Head, end_frame: u64) {
    if end_frame != head.frame {
        let _ = write!(
            text,
            " (head in frame {}, body to frame {end_frame})",
            head.frame
        );
    }
    if head.cut {
        text.push_str(CUT);
    }
}

/// The steps of an HTTP event.
pub(super) fn steps(e: &HttpEvent, at: &mut At<'_>) {
    match e {
        HttpEvent::Request {
            dir,
            head,
            end_frame,
            ..
        } => {
            let line = head.start_line();
            let upgrade = head.has_token("Upgrade", "websocket");
            let mut text = format!("HTTP request {line}");
            if upgrade {
                let _ = write!(
                    text,
                    " — the client asks to turn this connection into a WebSocket (Upgrade: websocket, Connection: Upgrade, version {}, key {}",
                    head.header("Sec-WebSocket-Version").unwrap_or("?"),
                    head.header("Sec-WebSocket-Key").unwrap_or("?")
                );
                if let Some(x) = head.header("Sec-WebSocket-Extensions") {
                    let _ = write!(text, "; offers {x}");
                }
                if let Some(p) = head.header("Sec-WebSocket-Protocol") {
                    let _ = write!(text, "; subprotocols {p}");
                }
                text.push(')');
                let mut from = Vec::new();
                if let Some(h) = head.header("Host") {
                    from.push(format!("Host {h}"));
                }
                match head.header("Origin") {
                    Some(o) => from.push(format!(
                        "Origin {o} (what the server must check: a WebSocket is not bound by the same-origin policy)"
                    )),
                    None => from.push("no Origin (browsers always send one; other clients need not)".to_owned()),
                }
                if let Some(u) = head.header("User-Agent") {
                    from.push(format!("User-Agent {}", clip_chars(u, 80)));
                }
                let cookies = crate::proto::websocket::handshake::cookie_names(head);
                if !cookies.is_empty() {
                    from.push(format!("cookies {} (values not shown)", cookies.join(", ")));
                }
                let _ = write!(text, "; {}", from.join(", "));
            } else if head.uri.as_deref().is_some_and(|u| u.contains("EIO=")) {
                text.push_str(" — an Engine.IO long-polling request");
            }
            let label = if upgrade {
                format!("{line} (upgrade)")
            } else {
                line
            };
            where_and_cut(&mut text, head, *end_frame);
            at.step(*end_frame, 7, Some(*dir), "http_request", text, label);
        }
        HttpEvent::Response {
            dir,
            head,
            end_frame,
            ..
        } => {
            let line = head.start_line();
            let mut text = format!("HTTP response {line}");
            where_and_cut(&mut text, head, *end_frame);
            at.step(*end_frame, 7, Some(*dir), "http_response", text, line);
        }
        // Told with its message, by Request or Response.
        HttpEvent::Head { .. } | HttpEvent::BodyEnd { .. } => {}
        HttpEvent::Error { dir, frame, reason } => {
            at.step(
                *frame,
                7,
                Some(*dir),
                "http_error",
                format!("⚠ {reason}"),
                "malformed HTTP".into(),
            );
        }
    }
}

/// One line for the packets view and the packet JSON.
pub(super) fn line(e: &HttpEvent) -> Option<AppLine> {
    let text = match e {
        HttpEvent::Request { head, .. } | HttpEvent::Response { head, .. } => {
            format!("HTTP {}", clip_chars(&head.start_line(), 120))
        }
        HttpEvent::Error { reason, .. } => format!("malformed HTTP: {reason}"),
        HttpEvent::Head { .. } | HttpEvent::BodyEnd { .. } => return None,
    };
    Some(AppLine {
        osi: 7,
        protocol: "http",
        text,
    })
}

/// The connection header's line, for a connection that stayed HTTP.
pub(super) fn header(txs: &[HttpTx]) -> String {
    let n = txs.len();
    format!("  http: {n} transaction{}", if n == 1 { "" } else { "s" })
}
