//! What the WebSocket analyzer reports (events) and records (the handshake,
//! the close, counts, and every frame and message for `walk`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::parser::{FrameInfo, MessageInfo};
use crate::flow::Dir;

/// What the WebSocket analyzer reports.
#[derive(Clone, Debug)]
pub enum WebSocketEvent {
    /// The opening handshake was answered (also when refused).
    Upgrade(Box<WebSocketSummary>),
    Frame {
        dir: Dir,
        frame: FrameInfo,
    },
    Message {
        dir: Dir,
        message: MessageInfo,
    },
    Violation {
        dir: Dir,
        frame: u64,
        kind: &'static str,
    },
}

impl WebSocketEvent {
    /// Bytes the event points to.
    pub fn held(&self) -> usize {
        match self {
            WebSocketEvent::Upgrade(_) => std::mem::size_of::<WebSocketSummary>(),
            WebSocketEvent::Frame { frame, .. } => frame.payload.len(),
            WebSocketEvent::Message { message, .. } => message.data.len(),
            WebSocketEvent::Violation { .. } => 0,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct CloseInfo {
    /// Status code of the first close frame (the initiator's); null when it carried none.
    pub code: Option<u16>,
    pub reason: String,
    pub initiator: Option<Dir>,
    /// Frames of the close frames, initiator's first.
    pub frames: Vec<u64>,
}

/// The WebSocket part of a connection record.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WebSocketSummary {
    pub request_frame: Option<u64>,
    pub response_frame: Option<u64>,
    pub status: Option<u16>,
    pub uri: Option<String>,
    /// What the upgrade request says of where it comes from: `Origin` is
    /// what a server must check (a WebSocket is not bound by the same-origin
    /// policy). Cookies by name only: their values are credentials.
    pub host: Option<String>,
    pub origin: Option<String>,
    pub user_agent: Option<String>,
    pub cookie_names: Vec<String>,
    pub version: Option<String>,
    pub key: Option<String>,
    pub accept: Option<String>,
    /// The accept value the key calls for.
    pub expected_accept: Option<String>,
    pub accept_valid: Option<bool>,
    pub extensions_offered: Option<String>,
    pub extensions_negotiated: Option<String>,
    pub permessage_deflate: bool,
    pub subprotocols_offered: Option<String>,
    pub subprotocol: Option<String>,
    /// The connection switched to WebSocket.
    pub established: bool,
    /// Why it did not (or what was wrong): "rejected", "missing_accept", "wrong_accept",
    /// "101_without_request", "not_websocket", "inferred".
    pub problems: Vec<&'static str>,
    pub close: Option<CloseInfo>,
    /// Frames and messages by direction and opcode name.
    pub frames: BTreeMap<String, u64>,
    pub messages: BTreeMap<String, u64>,
    pub violations: u64,
    /// Every frame, message and violation (walk), up to [`MAX_LISTED`] each.
    #[serde(skip)]
    pub frame_rows: Vec<FrameRow>,
    #[serde(skip)]
    pub message_rows: Vec<MessageRow>,
    #[serde(skip)]
    pub violation_rows: Vec<(u64, &'static str)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FrameRow {
    pub frame: u64,
    pub from: Dir,
    pub fin: bool,
    pub rsv1: bool,
    pub opcode: u8,
    pub masked: bool,
    pub payload_len: u64,
    /// The frame's text, up to [`MAX_TEXT`](crate::proto::stack::MAX_TEXT) bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `text` is not the whole payload.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub text_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_hex: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MessageRow {
    pub first_frame: u64,
    pub last_frame: u64,
    pub from: Dir,
    pub opcode: u8,
    pub length: Option<u64>,
    pub wire_len: u64,
    pub compressed: bool,
    /// WebSocket frames of the message (more than 1: it was fragmented).
    pub fragments: u64,
    /// Capture frames that carried its bytes, the first
    /// [`MAX_SEGMENTS_LISTED`](super::parser::MAX_SEGMENTS_LISTED).
    pub segments: Vec<u64>,
    /// How many capture frames carried it.
    pub segments_count: u64,
    /// A text message's text, whole up to the list cap (1 MiB in walk's JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `text` is only the head of the message.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub text_truncated: bool,
    /// A binary message's bytes, base64, up to the same cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_b64: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub data_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
