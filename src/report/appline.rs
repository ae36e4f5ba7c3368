//! One short line per application event, for the packets table and the
//! packet JSON (`app`).

use std::fmt::Write as _;

use serde::Serialize;

use crate::proto::app::{AppEvent, opcode_name, sio_type};
use crate::proto::engineio::{EioData, EioPacket};

#[derive(Clone, Debug, Serialize)]
pub struct AppLine {
    pub osi: u8,
    pub protocol: &'static str,
    pub text: String,
}

fn clip(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        out.push('…');
    }
    out
}

pub fn line(e: &AppEvent) -> Option<AppLine> {
    let (osi, protocol, text) = match e {
        AppEvent::Request { head, .. } => {
            (7, "http", format!("HTTP {}", clip(&head.start_line(), 120)))
        }
        AppEvent::Response { head, .. } => {
            (7, "http", format!("HTTP {}", clip(&head.start_line(), 120)))
        }
        AppEvent::HttpError { reason, .. } => (7, "http", format!("malformed HTTP: {reason}")),
        AppEvent::Upgrade(w) => (
            5,
            "websocket",
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
        // A final data frame is told as its message; frames are listed for
        // control frames and fragments.
        AppEvent::WsFrame { frame: f, .. } if f.fin && (f.opcode == 1 || f.opcode == 2) => {
            return None;
        }
        AppEvent::WsFrame { frame: f, .. } => {
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
            (6, "websocket", t)
        }
        AppEvent::WsMessage { message: m, .. } => {
            let mut t = format!("WS {}", opcode_name(m.opcode));
            if m.opcode == 1 && m.error.is_none() {
                let _ = write!(t, " \"{}\"", clip(&String::from_utf8_lossy(&m.data), 60));
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
            (7, "websocket", t)
        }
        AppEvent::WsViolation { kind, .. } => (6, "websocket", format!("WS violation: {kind}")),
        AppEvent::Eio { packet, .. } => {
            let t = match packet {
                EioPacket::Open(o) => format!("EIO open sid={}", o.sid),
                EioPacket::Ping(p) => format!("EIO ping {p}"),
                EioPacket::Pong(p) => format!("EIO pong {p}"),
                EioPacket::Upgrade => "EIO upgrade".into(),
                EioPacket::Noop => "EIO noop".into(),
                EioPacket::Close => "EIO close".into(),
                EioPacket::Invalid(w) => format!("EIO invalid: {w}"),
                EioPacket::Message(EioData::Text(_)) | EioPacket::Message(EioData::Binary(_)) => {
                    return None;
                }
            };
            (5, "engine.io", t.trim_end().to_owned())
        }
        AppEvent::Sio { packet, .. } => {
            let mut t = format!("SIO {}", sio_type(packet.ptype));
            if packet.namespace != "/" {
                let _ = write!(t, " {}", packet.namespace);
            }
            if let Some(e) = &packet.event {
                let _ = write!(t, " \"{}\"", clip(e, 40));
            }
            if let Some(id) = packet.ack_id {
                let _ = write!(t, " ack={id}");
            }
            if let Some(w) = &packet.warning {
                let _ = write!(t, " ⚠ {w}");
            }
            (7, "socket.io", t)
        }
    };
    Some(AppLine {
        osi,
        protocol,
        text,
    })
}
