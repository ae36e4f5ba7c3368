//! What the Engine.IO analyzer reports (events) and records (the session,
//! counts, and every packet for `walk`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{EioData, EioPacket};
use crate::flow::Dir;
use crate::proto::socketio::SioPacket;

/// What the Engine.IO analyzer reports.
#[derive(Clone, Debug)]
pub enum EngineIoEvent {
    /// An Engine.IO packet (a message packet's text is cut to what the views show).
    Packet {
        dir: Dir,
        frame: u64,
        transport: &'static str,
        packet: EioPacket,
    },
    /// The server's `ok`, the body that answers a long-polling POST: not a
    /// packet, the acknowledgement that the POST's packets arrived.
    PostAck { dir: Dir, frame: u64 },
    /// A Socket.IO packet, joined with its binary attachments.
    SocketIo {
        dir: Dir,
        /// The frame of the packet itself.
        frame: u64,
        /// The frame of its last binary attachment (`frame` without any):
        /// where the receiver's handler can run.
        complete_frame: u64,
        transport: &'static str,
        packet: SioPacket,
    },
}

impl EngineIoEvent {
    /// Bytes the event points to.
    pub fn held(&self) -> usize {
        match self {
            EngineIoEvent::Packet { packet, .. } => match packet {
                EioPacket::Message(EioData::Text(t)) | EioPacket::Ping(t) | EioPacket::Pong(t) => {
                    t.len()
                }
                EioPacket::Message(EioData::Binary(b)) => b.len(),
                _ => 0,
            },
            EngineIoEvent::SocketIo { packet, .. } => packet.data_len,
            EngineIoEvent::PostAck { .. } => 0,
        }
    }
}

/// The Engine.IO/Socket.IO part of a connection record.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SocketIoSummary {
    pub sid: Option<String>,
    pub transports: Vec<&'static str>,
    /// The transport moved from polling to websocket on this connection.
    pub upgraded: bool,
    pub engine_packets: BTreeMap<String, u64>,
    pub socket_packets: BTreeMap<String, u64>,
    pub events: BTreeMap<String, u64>,
    /// Socket.IO CONNECT packets, both ways, the first [`MAX_CONNECTS`]:
    /// what ties a client's sessions together across reconnects.
    pub connects: Vec<SioConnect>,
    /// Who sent the first Socket.IO DISCONNECT, if anyone.
    pub disconnect_from: Option<Dir>,
    /// Every packet but Engine.IO messages (walk), up to [`MAX_LISTED`].
    #[serde(skip)]
    pub packet_rows: Vec<SioRow>,
}

/// CONNECT packets kept per connection.
pub const MAX_CONNECTS: usize = 16;

/// A Socket.IO CONNECT: the client's asks for a namespace (offering the
/// session it had, with connection-state recovery: Socket.IO >= 4.6); the
/// server's grants it (the socket's id, and the session id to offer next time).
#[derive(Clone, Debug, Serialize)]
pub struct SioConnect {
    pub frame: u64,
    pub from: Dir,
    pub namespace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SioRow {
    pub frame: u64,
    /// Where its last binary attachment arrived (`frame` without any).
    pub complete_frame: u64,
    pub from: Dir,
    pub transport: &'static str,
    pub engine_type: &'static str,
    pub socket_type: Option<&'static str>,
    pub namespace: Option<String>,
    pub ack_id: Option<u64>,
    pub event: Option<String>,
    pub args: Vec<Value>,
}
