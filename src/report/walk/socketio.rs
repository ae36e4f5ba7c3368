//! Engine.IO and Socket.IO told as steps: the session's open, probes and
//! heartbeats, the upgrade, and each Socket.IO packet as the application
//! code that sent it (`socket.emit("chat", …)`) and the handler that runs.

use std::fmt::Write as _;

use super::story::At;
use crate::flow::Dir;
use crate::proto::engineio::record::{EngineIoEvent, SocketIoSummary};
use crate::proto::engineio::{EioData, EioPacket};
use crate::proto::socketio;
use crate::report::appline::AppLine;
use crate::text::{clip_chars, push_int};

/// The steps of an Engine.IO or Socket.IO event.
pub(super) fn steps(e: &EngineIoEvent, at: &mut At<'_>) {
    match e {
        EngineIoEvent::Packet {
            dir,
            frame,
            transport,
            packet,
        } => {
            // A message is told by the Socket.IO packet it carries.
            if matches!(packet, EioPacket::Message(_)) || at.omits() {
                return;
            }
            let who = dir.sender();
            let (text, label) = match packet {
                EioPacket::Open(o) => (
                    format!(
                        "Engine.IO session opened (over {transport}): sid {}, ping every {} ms, can upgrade to {}",
                        o.sid,
                        o.ping_interval.map_or("?".into(), |v| v.to_string()),
                        if o.upgrades.is_empty() {
                            "nothing".into()
                        } else {
                            o.upgrades.join(", ")
                        }
                    ),
                    format!("EIO open sid={}", o.sid),
                ),
                EioPacket::Ping(p) if p == "probe" => (
                    format!(
                        "Engine.IO probe ping from the {who}: is the new WebSocket transport working?"
                    ),
                    "EIO 2probe".into(),
                ),
                EioPacket::Pong(p) if p == "probe" => (
                    format!("Engine.IO probe pong from the {who}: the WebSocket transport works"),
                    "EIO 3probe".into(),
                ),
                EioPacket::Ping(_) => (
                    format!("Engine.IO ping from the {who} (heartbeat)"),
                    "EIO ping".into(),
                ),
                EioPacket::Pong(_) => (
                    format!("Engine.IO pong from the {who} (heartbeat answer)"),
                    "EIO pong".into(),
                ),
                EioPacket::Upgrade => (
                    "Engine.IO upgrade: the transport switches from polling to this WebSocket"
                        .into(),
                    "EIO upgrade".into(),
                ),
                EioPacket::Noop => (
                    "Engine.IO noop: ends a pending long-poll during the upgrade".into(),
                    "EIO noop".into(),
                ),
                EioPacket::Close => (
                    format!("Engine.IO close from the {who}"),
                    "EIO close".into(),
                ),
                EioPacket::Invalid(why) => (
                    format!("⚠ not an Engine.IO packet: {why}"),
                    "EIO invalid".into(),
                ),
                // Left out above.
                EioPacket::Message(_) => return,
            };
            at.step(*frame, 5, Some(*dir), "engineio", text, label);
        }
        EngineIoEvent::PostAck { dir, frame } => at.step(
            *frame,
            5,
            Some(*dir),
            "engineio",
            "ok — the server confirms it received the packets the client POSTed (Engine.IO's answer to every long-polling POST; packets for the client come in the answers to its GETs)".into(),
            "EIO ok".into(),
        ),
        EngineIoEvent::SocketIo {
            dir,
            frame,
            complete_frame,
            transport,
            packet,
        } => {
            if at.omits() {
                return;
            }
            let client = *dir == Dir::ClientToServer;
            let mut text = socketio::describe(packet, client);
            // Appended piece by piece, not formatted: a step per packet.
            match (packet.ptype, &packet.event) {
                (socketio::SioType::Event | socketio::SioType::BinaryEvent, Some(ev)) => {
                    text.push_str(if client {
                        " → handled by the server's socket.on(\""
                    } else {
                        " → handled by the client's socket.on(\""
                    });
                    text.push_str(ev);
                    text.push_str("\")");
                }
                (socketio::SioType::Connect, _) if client => {
                    text.push_str(" → the server's io.on(\"connection\") runs");
                }
                (socketio::SioType::Disconnect, _) if client => {
                    text.push_str(" → the server's socket.on(\"disconnect\") runs");
                }
                _ => {}
            }
            for piece in [" [Socket.IO ", packet.ptype.name(), " over ", transport, "]"] {
                text.push_str(piece);
            }
            if complete_frame != frame {
                text.push_str(" (the packet in frame ");
                push_int(&mut text, *frame);
                text.push_str(", its last attachment in frame ");
                push_int(&mut text, *complete_frame);
                text.push_str(": only then can the handler run)");
            }
            if let Some(w) = &packet.warning {
                text.push_str(" ⚠ ");
                text.push_str(w);
            }
            let mut label = packet.ptype.name().to_owned();
            if let Some(e) = &packet.event {
                label.push(' ');
                label.push_str(e);
            }
            at.step(*complete_frame, 7, Some(*dir), "socketio", text, label);
        }
    }
}

/// One line for the packets view and the packet JSON (an Engine.IO message
/// is told by the Socket.IO packet it carries).
pub(super) fn line(e: &EngineIoEvent) -> Option<AppLine> {
    let (osi, protocol, text) = match e {
        EngineIoEvent::Packet { packet, .. } => {
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
        EngineIoEvent::PostAck { .. } => (5, "engine.io", "EIO ok (POST received)".into()),
        EngineIoEvent::SocketIo { packet, .. } => {
            let mut t = format!("SIO {}", packet.ptype.name());
            if packet.namespace != "/" {
                let _ = write!(t, " {}", packet.namespace);
            }
            if let Some(e) = &packet.event {
                let _ = write!(t, " \"{}\"", clip_chars(e, 40));
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

/// The connection header's Socket.IO line.
pub(super) fn header(so: &SocketIoSummary) -> String {
    let mut l = format!(
        "  socket.io: session {} over {}",
        so.sid.as_deref().unwrap_or("?"),
        so.transports.join(" then ")
    );
    if so.upgraded {
        l.push_str(" · upgraded from polling to websocket on this connection");
    }
    if !so.events.is_empty() {
        let ev: Vec<String> = so.events.iter().map(|(k, v)| format!("{k} ×{v}")).collect();
        let _ = write!(l, " · events: {}", ev.join(", "));
    }
    l
}
