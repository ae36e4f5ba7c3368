//! The application layer of one TCP connection: HTTP transactions, the
//! WebSocket upgrade, WebSocket frames and messages, and the Engine.IO /
//! Socket.IO packets inside them (over WebSocket or HTTP long-polling).
//!
//! It is fed the in-order bytes of each direction by the driver (flow/ hands
//! them over without knowing what they are) and answers with typed
//! [`AppEvent`]s, each placed at the capture frame whose bytes complete it.
//! At the end it gives an [`AppSummary`]: the record the views print.
//!
//! Bounded: transactions, frames, messages and packets are listed up to
//! [`MAX_LISTED`] each per connection (counts go on); bytes a client sends
//! after an upgrade request and before the answer are held up to
//! [`MAX_HOLD`].

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;
use serde_json::Value;

use super::engineio::{self, EioData, EioPacket};
use super::http::{Head, HttpItem, HttpParser, websocket_accept};
use super::socketio::{self, BinaryJoiner, SioPacket};
use super::websocket::{
    DeflateParams, FrameInfo, MAX_FRAME_KEEP, MessageInfo, Side, WsEvent, WsParser,
};
use crate::flow::Dir;
use crate::limit::SharedLimit;

pub use super::websocket::opcode_name;

/// Items listed per connection in each detail list.
pub const MAX_LISTED: usize = 10_000;
/// Client bytes held between an upgrade request and its answer.
pub const MAX_HOLD: usize = 64 * 1024;
/// Requests waiting for their response.
const MAX_PENDING: usize = 256;
/// Text kept per listed message or packet argument string in the detail lists.
pub const MAX_TEXT: usize = 4096;
/// Bytes the detail lists (rows and their text) take across all connections
/// being decoded; past it, rows are counted in `rows_not_listed`, not listed,
/// until finished connections free room.
pub const MAX_LISTED_BYTES: usize = 32 * 1024 * 1024;

/// Problems listed per connection in `app_problems` (the count goes on).
pub const MAX_PROBLEMS: usize = 32;

/// The detail-list budget, shared by the connections of one run.
pub type ListBudget = std::sync::Arc<std::sync::atomic::AtomicUsize>;

/// Something the application layer found.
#[derive(Clone, Debug)]
pub enum AppEvent {
    Request {
        dir: Dir,
        head: Head,
    },
    Response {
        dir: Dir,
        head: Head,
        request_frame: Option<u64>,
    },
    HttpError {
        dir: Dir,
        frame: u64,
        reason: String,
    },
    /// The WebSocket opening handshake was answered.
    Upgrade(Box<WebSocketSummary>),
    WsFrame {
        dir: Dir,
        frame: FrameInfo,
    },
    WsMessage {
        dir: Dir,
        message: MessageInfo,
    },
    WsViolation {
        dir: Dir,
        frame: u64,
        kind: &'static str,
    },
    Eio {
        dir: Dir,
        frame: u64,
        transport: &'static str,
        packet: EioPacket,
    },
    Sio {
        dir: Dir,
        frame: u64,
        transport: &'static str,
        packet: SioPacket,
    },
}

impl AppEvent {
    /// Bytes the event holds, roughly (its size and what it points to): what
    /// counts when many of them wait to be handed between threads.
    pub fn weight(&self) -> usize {
        std::mem::size_of::<AppEvent>()
            + match self {
                AppEvent::Request { head, .. } | AppEvent::Response { head, .. } => head.head_len,
                AppEvent::HttpError { reason, .. } => reason.len(),
                AppEvent::Upgrade(_) => std::mem::size_of::<WebSocketSummary>(),
                AppEvent::WsFrame { frame, .. } => frame.payload.len(),
                AppEvent::WsMessage { message, .. } => message.data.len(),
                AppEvent::WsViolation { .. } => 0,
                AppEvent::Eio { packet, .. } => match packet {
                    EioPacket::Message(EioData::Text(t))
                    | EioPacket::Ping(t)
                    | EioPacket::Pong(t) => t.len(),
                    EioPacket::Message(EioData::Binary(b)) => b.len(),
                    _ => 0,
                },
                AppEvent::Sio { packet, .. } => packet.data_len,
            }
    }

    pub fn frame(&self) -> u64 {
        match self {
            AppEvent::Request { head, .. } | AppEvent::Response { head, .. } => head.frame,
            AppEvent::HttpError { frame, .. }
            | AppEvent::WsViolation { frame, .. }
            | AppEvent::Eio { frame, .. }
            | AppEvent::Sio { frame, .. } => *frame,
            AppEvent::Upgrade(w) => w.response_frame.or(w.request_frame).unwrap_or(0),
            AppEvent::WsFrame { frame, .. } => frame.frame,
            AppEvent::WsMessage { message, .. } => message.last_frame,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct HttpTx {
    pub request_frame: Option<u64>,
    pub response_frame: Option<u64>,
    pub method: Option<String>,
    pub uri: Option<String>,
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub request_body: u64,
    pub response_body: u64,
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

#[derive(Clone, Debug, Default, Serialize)]
pub struct WebSocketSummary {
    pub request_frame: Option<u64>,
    pub response_frame: Option<u64>,
    pub status: Option<u16>,
    pub uri: Option<String>,
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
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct SocketIoSummary {
    pub sid: Option<String>,
    pub transports: Vec<&'static str>,
    /// The transport moved from polling to websocket on this connection.
    pub upgraded: bool,
    pub engine_packets: BTreeMap<String, u64>,
    pub socket_packets: BTreeMap<String, u64>,
    pub events: BTreeMap<String, u64>,
}

/// Bytes of this connection's delivered stream by what they carried. The
/// link/IP/TCP part is added by the connection record.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct AppBytes {
    pub http_head: u64,
    pub http_body: u64,
    pub websocket_framing: u64,
    pub websocket_control: u64,
    pub engineio_socketio: u64,
    pub payload: u64,
    /// Delivered bytes no decoder took (unknown protocol, after a gap).
    pub other: u64,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SioRow {
    pub frame: u64,
    pub from: Dir,
    pub transport: &'static str,
    pub engine_type: &'static str,
    pub socket_type: Option<&'static str>,
    pub namespace: Option<String>,
    pub ack_id: Option<u64>,
    pub event: Option<String>,
    pub args: Vec<Value>,
}

/// What the application layer found on one connection.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AppSummary {
    /// "http", "websocket", "socket.io", or null.
    pub protocol: Option<&'static str>,
    pub http: Vec<HttpTx>,
    pub websocket: Option<WebSocketSummary>,
    pub socketio: Option<SocketIoSummary>,
    pub bytes: AppBytes,
    #[serde(skip)]
    pub frames: Vec<FrameRow>,
    #[serde(skip)]
    pub messages: Vec<MessageRow>,
    #[serde(skip)]
    pub violations: Vec<(u64, &'static str)>,
    #[serde(skip)]
    pub sio_packets: Vec<SioRow>,
    /// Rows not listed because [`MAX_LISTED_BYTES`] was reached.
    #[serde(skip)]
    pub rows_not_listed: u64,
    /// What the decoders gave up on or could not finish, in words ("request head
    /// longer than 65536 bytes", "server: binary frame unfinished at the end: …"),
    /// the first [`MAX_PROBLEMS`]; `problem_count` counts them all.
    #[serde(skip)]
    pub problems: Vec<String>,
    #[serde(skip)]
    pub problem_count: u64,
    /// The rows' share of the budget, given back when the summary is dropped.
    #[serde(skip)]
    held: Held,
}

impl AppSummary {
    /// Bytes the summary holds, roughly: its size and its listed rows.
    pub fn weight(&self) -> usize {
        std::mem::size_of::<AppSummary>() + self.held.bytes
    }
}

/// Bytes taken from a [`ListBudget`], given back on drop.
#[derive(Debug, Default)]
struct Held {
    budget: Option<ListBudget>,
    bytes: usize,
}

impl Clone for Held {
    /// A copy holds nothing: the budget is given back once, by the original.
    fn clone(&self) -> Self {
        Held::default()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(b) = &self.budget {
            b.fetch_sub(self.bytes, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

fn eio_type(p: &EioPacket) -> &'static str {
    match p {
        EioPacket::Open(_) => "open",
        EioPacket::Close => "close",
        EioPacket::Ping(_) => "ping",
        EioPacket::Pong(_) => "pong",
        EioPacket::Message(_) => "message",
        EioPacket::Upgrade => "upgrade",
        EioPacket::Noop => "noop",
        EioPacket::Invalid(_) => "invalid",
    }
}

pub fn sio_type(t: socketio::SioType) -> &'static str {
    use socketio::SioType as T;
    match t {
        T::Connect => "CONNECT",
        T::Disconnect => "DISCONNECT",
        T::Event => "EVENT",
        T::Ack => "ACK",
        T::ConnectError => "CONNECT_ERROR",
        T::BinaryEvent => "BINARY_EVENT",
        T::BinaryAck => "BINARY_ACK",
    }
}

fn clip(s: &str) -> String {
    if s.len() <= MAX_TEXT {
        return s.to_owned();
    }
    format!("{}…", &s[..s.floor_char_boundary(MAX_TEXT)])
}

/// A text message as listed: clipped like any text, and marked when the parser kept
/// only its head (a cut character at the end is dropped, not replaced).
fn clip_message(m: &MessageInfo) -> String {
    clip_kept(&m.data, m.length.unwrap_or(m.wire_len))
}

/// `kept`, the first bytes of a text of `total` bytes, as listed.
fn clip_kept(kept: &[u8], total: u64) -> String {
    if (kept.len() as u64) >= total {
        return clip(&String::from_utf8_lossy(kept));
    }
    let whole = match simdutf8::compat::from_utf8(kept) {
        Err(e) if e.error_len().is_none() => &kept[..e.valid_up_to()],
        _ => kept,
    };
    let mut t = clip(&String::from_utf8_lossy(whole));
    if !t.ends_with('…') {
        t.push('…');
    }
    t
}

fn is_eio_head(h: &Head) -> bool {
    h.uri
        .as_deref()
        .and_then(engineio::parse_uri)
        .is_some_and(|(_, t, _)| t == "polling")
}

struct Pending {
    frame: u64,
    tx: usize,
    ws_key: Option<String>,
    eio_polling: bool,
}

/// One connection's application-layer state.
pub struct ConnApp {
    req: HttpParser,
    resp: HttpParser,
    pending: VecDeque<Pending>,
    ws: [Option<WsParser>; 2],
    /// Bytes of the client held after an upgrade request, before its answer.
    hold: Vec<(u64, Vec<u8>)>,
    hold_len: usize,
    upgrade_asked: bool,
    /// HTTP switched to something that is not WebSocket: bytes are only counted.
    opaque: bool,
    eio_ws: bool,
    eio_v3: bool,
    joiner: [BinaryJoiner; 2],
    sum: AppSummary,
    delivered: u64,
    /// Polling body bytes moved from "HTTP body" to Engine.IO/payload.
    eio_body_bytes: u64,
    /// Keep the per-frame, per-message and per-packet lists (only `walk` prints them).
    detail: bool,
    /// WebSocket frames and messages by direction and opcode, named in the summary at
    /// the end (counting by name per frame would format a string each time).
    ws_frames: [[u64; 16]; 2],
    ws_messages: [[u64; 16]; 2],
    /// Reused for each push to a WebSocket parser.
    ws_events: Vec<WsEvent>,
    /// Bytes of each plain WebSocket message and data frame kept to be shown.
    keep_messages: usize,
    keep_frames: usize,
    budget: ListBudget,
    /// Limit on unfinished WebSocket messages' kept bytes, shared with the
    /// other connections.
    messages: Option<SharedLimit>,
}

impl Default for ConnApp {
    fn default() -> Self {
        Self::new()
    }
}

impl ConnApp {
    pub fn new() -> Self {
        let mut req = HttpParser::new(true);
        req.keep_request_body = is_eio_head;
        ConnApp {
            req,
            resp: HttpParser::new(false),
            pending: VecDeque::new(),
            ws: [None, None],
            hold: Vec::new(),
            hold_len: 0,
            upgrade_asked: false,
            opaque: false,
            eio_ws: false,
            eio_v3: false,
            joiner: [BinaryJoiner::new(), BinaryJoiner::new()],
            sum: AppSummary::default(),
            delivered: 0,
            eio_body_bytes: 0,
            detail: true,
            ws_frames: [[0; 16]; 2],
            ws_messages: [[0; 16]; 2],
            ws_events: Vec::new(),
            keep_messages: MAX_TEXT,
            keep_frames: MAX_FRAME_KEEP,
            budget: ListBudget::default(),
            messages: None,
        }
    }

    /// Counts unfinished WebSocket messages' kept bytes in `limit`, shared
    /// with the other connections.
    pub fn share_messages(&mut self, limit: SharedLimit) {
        self.messages = Some(limit);
    }

    fn ws_parser(&self, side: Side, deflate: Option<DeflateParams>) -> WsParser {
        let p = WsParser::new(side, deflate);
        match &self.messages {
            Some(l) => p.sharing(l),
            None => p,
        }
    }

    /// Lists every frame, message and packet (for `walk`); without, only counts.
    pub fn keep_detail(&mut self, on: bool) {
        self.detail = on;
    }

    /// Takes rows' bytes from `budget`, shared with the other connections.
    pub fn share_budget(&mut self, budget: ListBudget) {
        self.sum.held = Held {
            budget: Some(budget.clone()),
            bytes: 0,
        };
        self.budget = budget;
    }

    /// A direction's HTTP parser stopped: noted as a problem and as an event.
    fn http_error(&mut self, dir: Dir, frame: u64, reason: String, out: &mut Vec<AppEvent>) {
        self.problem(format!(
            "{}: HTTP {reason} (frame {frame}); the rest of the direction is not decoded",
            dir.sender()
        ));
        out.push(AppEvent::HttpError { dir, frame, reason });
    }

    /// Notes something a decoder gave up on.
    fn problem(&mut self, what: String) {
        self.sum.problem_count += 1;
        if self.sum.problems.len() < MAX_PROBLEMS {
            self.sum.problems.push(what);
        }
    }

    /// Room for a row of about `bytes` bytes in the detail lists; counts it either way.
    fn list_room(&mut self, bytes: usize) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let bytes = bytes + 64;
        if self.budget.load(Relaxed) + bytes > MAX_LISTED_BYTES {
            self.sum.rows_not_listed += 1;
            return false;
        }
        self.budget.fetch_add(bytes, Relaxed);
        self.sum.held.bytes += bytes;
        true
    }

    /// How much of each plain WebSocket message and data frame to keep for display
    /// (Socket.IO messages are always kept whole, to be decoded). A view that shows
    /// no message text asks for none and spares copying it.
    pub fn keep_previews(&mut self, messages: usize, frames: usize) {
        self.keep_messages = messages.min(MAX_TEXT);
        self.keep_frames = frames;
    }

    /// A connection seen only after its handshake, assumed to carry WebSocket
    /// frames (the user said so): both directions are parsed as frames.
    pub fn assume_websocket(&mut self) {
        self.ws = [
            Some(self.ws_parser(Side::Client, None)),
            Some(self.ws_parser(Side::Server, None)),
        ];
        for p in self.ws.iter_mut().flatten() {
            p.keep_messages(self.keep_messages);
            p.keep_frames(self.keep_frames);
        }
        self.sum.websocket = Some(WebSocketSummary {
            problems: vec!["inferred"],
            established: true,
            ..WebSocketSummary::default()
        });
        self.sum.protocol = Some("websocket");
    }

    /// In-order bytes of one direction, delivered by the segment of `frame`.
    pub fn data(&mut self, dir: Dir, frame: u64, bytes: &[u8], out: &mut Vec<AppEvent>) {
        self.delivered += bytes.len() as u64;
        let d = dir as usize;
        if self.opaque {
            self.sum.bytes.other += bytes.len() as u64;
            return;
        }
        if self.ws[d].is_some() {
            self.ws_push(dir, frame, bytes, out);
            return;
        }
        if dir == Dir::ClientToServer {
            if self.req.switched() || (self.upgrade_asked && !self.pending.is_empty()) {
                // After an upgrade request, wait for the answer before parsing more.
                let room = MAX_HOLD.saturating_sub(self.hold_len);
                let keep = &bytes[..bytes.len().min(room)];
                self.hold_len += keep.len();
                self.hold.push((frame, keep.to_vec()));
                self.sum.bytes.other += (bytes.len() - keep.len()) as u64;
                return;
            }
            let mut items = Vec::new();
            let used = self.req.push(bytes, frame, &mut items);
            self.sum.bytes.other += (bytes.len() - used) as u64;
            for it in items {
                self.request_item(frame, it, out);
            }
            if self.req.stopped() {
                // Not HTTP (or broken): the rest is counted, not parsed.
            }
        } else {
            let mut items = Vec::new();
            let used = self.resp.push(bytes, frame, &mut items);
            for it in items {
                self.response_item(frame, it, out);
            }
            let rest = &bytes[used..];
            if !rest.is_empty() {
                if self.ws[d].is_some() {
                    // Frames in the same segment as the 101: decoded all the same.
                    self.ws_push(dir, frame, rest, out);
                } else {
                    self.sum.bytes.other += rest.len() as u64;
                }
            }
        }
    }

    /// The stream of `dir` lost bytes: framing after it cannot be trusted.
    pub fn gap(&mut self, dir: Dir) {
        let d = dir as usize;
        if let Some(w) = &mut self.ws[d] {
            w.gap();
        }
        if dir == Dir::ClientToServer {
            self.req.gap();
        } else {
            self.resp.gap();
        }
    }

    fn request_item(&mut self, frame: u64, it: HttpItem, out: &mut Vec<AppEvent>) {
        match it {
            HttpItem::Head(head) => {
                let ws = head.has_token("Upgrade", "websocket")
                    && head.has_token("Connection", "upgrade");
                let eio = head.uri.as_deref().and_then(engineio::parse_uri);
                if let Some((v, transport, _)) = &eio {
                    self.eio_v3 = *v == 3;
                    let so = self
                        .sum
                        .socketio
                        .get_or_insert_with(SocketIoSummary::default);
                    let t: &'static str = if transport == "websocket" {
                        "websocket"
                    } else {
                        "polling"
                    };
                    if !so.transports.contains(&t) {
                        so.transports.push(t);
                    }
                    if let (None, Some((_, _, Some(sid)))) = (&so.sid, &eio) {
                        so.sid = Some(sid.clone());
                    }
                }
                let eio_polling = eio.as_ref().is_some_and(|(_, t, _)| t == "polling");
                self.resp.keep_response_body.push_back(eio_polling);
                let tx = self.sum.http.len();
                if tx < MAX_LISTED {
                    self.sum.http.push(HttpTx {
                        request_frame: Some(head.frame),
                        response_frame: None,
                        method: head.method.clone(),
                        uri: head.uri.clone(),
                        status: None,
                        reason: None,
                        request_body: 0,
                        response_body: 0,
                    });
                }
                if ws {
                    self.upgrade_asked = true;
                    self.eio_ws = eio.is_some();
                    self.sum.websocket = Some(WebSocketSummary {
                        request_frame: Some(head.frame),
                        uri: head.uri.clone(),
                        version: head.header("Sec-WebSocket-Version").map(str::to_owned),
                        key: head
                            .header("Sec-WebSocket-Key")
                            .map(|k| k.trim().to_owned()),
                        extensions_offered: head
                            .header("Sec-WebSocket-Extensions")
                            .map(str::to_owned),
                        subprotocols_offered: head
                            .header("Sec-WebSocket-Protocol")
                            .map(str::to_owned),
                        ..WebSocketSummary::default()
                    });
                }
                if self.pending.len() < MAX_PENDING {
                    self.pending.push_back(Pending {
                        frame: head.frame,
                        tx,
                        ws_key: if ws {
                            Some(
                                head.header("Sec-WebSocket-Key")
                                    .unwrap_or("")
                                    .trim()
                                    .to_owned(),
                            )
                        } else {
                            None
                        },
                        eio_polling,
                    });
                }
                self.sum.protocol.get_or_insert("http");
                out.push(AppEvent::Request {
                    dir: Dir::ClientToServer,
                    head,
                });
            }
            HttpItem::BodyEnd { frame, len, body } => {
                if let Some(tx) = self.sum.http.last_mut() {
                    tx.request_body = len;
                }
                if let Some(b) = body {
                    self.polling(Dir::ClientToServer, frame, &b, out);
                }
            }
            HttpItem::Error { frame, reason } => {
                self.http_error(Dir::ClientToServer, frame, reason, out)
            }
        }
        let _ = frame;
    }

    fn response_item(&mut self, frame: u64, it: HttpItem, out: &mut Vec<AppEvent>) {
        match it {
            HttpItem::Head(head) => {
                let status = head.status.unwrap_or(0);
                // 1xx other than 101 are interim: the request still waits.
                let interim = status / 100 == 1 && status != 101;
                let p = if interim {
                    None
                } else {
                    self.pending.pop_front()
                };
                if let Some(p) = &p
                    && let Some(tx) = self.sum.http.get_mut(p.tx)
                {
                    tx.response_frame = Some(head.frame);
                    tx.status = head.status;
                    tx.reason = head.reason.clone();
                }
                let request_frame = p.as_ref().map(|p| p.frame);
                let ws_key = p.as_ref().and_then(|p| p.ws_key.clone());
                let switching = status == 101;
                // The response comes first in the story, then what it opened.
                let mut opened = Vec::new();
                if switching || ws_key.is_some() {
                    self.upgrade_answer(&head, ws_key, switching, &mut opened);
                }
                if switching && self.ws[1].is_none() {
                    // 101 to something other than WebSocket: the rest is opaque.
                    self.opaque = true;
                }
                let _ = p.map(|p| p.eio_polling);
                out.push(AppEvent::Response {
                    dir: Dir::ServerToClient,
                    head,
                    request_frame,
                });
                out.append(&mut opened);
                self.release_hold(out);
            }
            HttpItem::BodyEnd { frame, len, body } => {
                if let Some(tx) = self
                    .sum
                    .http
                    .iter_mut()
                    .rev()
                    .find(|t| t.response_frame.is_some())
                {
                    tx.response_body = len;
                }
                if let Some(b) = body {
                    self.polling(Dir::ServerToClient, frame, &b, out);
                }
            }
            HttpItem::Error { frame, reason } => {
                self.http_error(Dir::ServerToClient, frame, reason, out)
            }
        }
        let _ = frame;
    }

    fn upgrade_answer(
        &mut self,
        head: &Head,
        key: Option<String>,
        switching: bool,
        out: &mut Vec<AppEvent>,
    ) {
        let mut w = self.sum.websocket.take().unwrap_or_default();
        w.response_frame = Some(head.frame);
        w.status = head.status;
        let upgrade_ws = head.has_token("Upgrade", "websocket");
        if key.is_none() {
            if !(switching && upgrade_ws) {
                self.sum.websocket = None;
                return;
            }
            w.problems.push("101_without_request");
        }
        if !switching {
            // A 426 carrying "Upgrade: websocket" is still a refusal.
            w.problems.push("rejected");
        } else if !upgrade_ws {
            w.problems.push("not_websocket");
        }
        w.accept = head
            .header("Sec-WebSocket-Accept")
            .map(|a| a.trim().to_owned());
        if let Some(k) = &key {
            let expected = websocket_accept(k);
            w.accept_valid = w.accept.as_ref().map(|a| *a == expected);
            w.expected_accept = Some(expected);
            if switching && upgrade_ws {
                match w.accept_valid {
                    None => w.problems.push("missing_accept"),
                    Some(false) => w.problems.push("wrong_accept"),
                    Some(true) => {}
                }
            }
        }
        w.extensions_negotiated = head.header("Sec-WebSocket-Extensions").map(str::to_owned);
        w.subprotocol = head.header("Sec-WebSocket-Protocol").map(str::to_owned);
        let deflate = w
            .extensions_negotiated
            .as_deref()
            .and_then(DeflateParams::from_extensions);
        w.permessage_deflate = deflate.is_some();
        if switching && upgrade_ws {
            // Decode the frames even when the accept key is wrong: say so, show them.
            w.established = true;
            self.ws = [
                Some(self.ws_parser(Side::Client, deflate.clone())),
                Some(self.ws_parser(Side::Server, deflate)),
            ];
            for p in self.ws.iter_mut().flatten() {
                p.keep_frames(self.keep_frames);
                if !self.eio_ws {
                    // Plain WebSocket messages are only previewed: no need to copy them whole.
                    p.keep_messages(self.keep_messages);
                }
            }
            self.req.switch();
            self.sum.protocol = Some(if self.eio_ws {
                "socket.io"
            } else {
                "websocket"
            });
        }
        out.push(AppEvent::Upgrade(Box::new(w.clone())));
        self.sum.websocket = Some(w);
    }

    fn release_hold(&mut self, out: &mut Vec<AppEvent>) {
        if self.hold.is_empty() || self.pending.iter().any(|p| p.ws_key.is_some()) {
            return;
        }
        let held = std::mem::take(&mut self.hold);
        self.hold_len = 0;
        self.upgrade_asked = false;
        for (frame, b) in held {
            if self.ws[0].is_some() {
                self.ws_push(Dir::ClientToServer, frame, &b, out);
            } else if self.opaque {
                self.sum.bytes.other += b.len() as u64;
            } else {
                let mut items = Vec::new();
                let used = self.req.push(&b, frame, &mut items);
                self.sum.bytes.other += (b.len() - used) as u64;
                for it in items {
                    self.request_item(frame, it, out);
                }
            }
        }
    }

    fn ws_push(&mut self, dir: Dir, frame: u64, bytes: &[u8], out: &mut Vec<AppEvent>) {
        let d = dir as usize;
        let Some(w) = self.ws[d].as_mut() else { return };
        let mut evs = std::mem::take(&mut self.ws_events);
        w.push(bytes, frame, &mut evs);
        for e in evs.drain(..) {
            match e {
                WsEvent::Frame(f) => {
                    self.sum.bytes.websocket_framing += f.header_len as u64;
                    if f.opcode >= 8 {
                        self.sum.bytes.websocket_control += f.payload_len;
                    }
                    if let Some(ws) = &mut self.sum.websocket {
                        self.ws_frames[d][usize::from(f.opcode & 0x0f)] += 1;
                        if f.opcode == 8 {
                            let c = ws.close.get_or_insert_with(CloseInfo::default);
                            if c.frames.is_empty() {
                                c.initiator = Some(dir);
                                if let Some((code, reason)) = &f.close {
                                    c.code = *code;
                                    c.reason = reason.clone();
                                }
                            }
                            if c.frames.len() < 8 {
                                c.frames.push(f.frame);
                            }
                        }
                    }
                    if self.detail
                        && self.sum.frames.len() < MAX_LISTED
                        && self.list_room(f.payload.len().min(MAX_TEXT))
                    {
                        let text = (f.opcode == 1 && f.fin && !f.rsv1)
                            .then(|| clip_kept(&f.payload, f.payload_len));
                        let data_hex = (f.opcode != 1 && !f.payload.is_empty()).then(|| {
                            f.payload
                                .iter()
                                .take(64)
                                .map(|b| format!("{b:02x}"))
                                .collect()
                        });
                        self.sum.frames.push(FrameRow {
                            frame: f.frame,
                            from: dir,
                            fin: f.fin,
                            rsv1: f.rsv1,
                            opcode: f.opcode,
                            masked: f.masked,
                            payload_len: f.payload_len,
                            text,
                            data_hex,
                        });
                    }
                    out.push(AppEvent::WsFrame { dir, frame: f });
                }
                WsEvent::Message(m) => {
                    if self.sum.websocket.is_some() {
                        self.ws_messages[d][usize::from(m.opcode & 0x0f)] += 1;
                    }
                    if m.cut_by_shared {
                        let mib = self.messages.as_ref().map_or(0, |l| l.limit() >> 20);
                        self.problem(format!(
                            "{}: WebSocket message at frames {}–{} not kept whole: the {mib} MiB shared by all unfinished messages were in use",
                            dir.sender(),
                            m.first_frame,
                            m.last_frame
                        ));
                    }
                    // The message first, then the Engine.IO/Socket.IO packet it carries.
                    let mut envelope = 0u64;
                    let mut carried = Vec::new();
                    if self.eio_ws && m.error.is_none() {
                        envelope = self.eio_message(dir, m.last_frame, &m, &mut carried);
                    }
                    let wire = m.wire_len;
                    // Compressed Socket.IO bytes cannot be split: all count as payload.
                    let env = if m.compressed { 0 } else { envelope.min(wire) };
                    self.sum.bytes.engineio_socketio += env;
                    self.sum.bytes.payload += wire - env;
                    if self.detail
                        && self.sum.messages.len() < MAX_LISTED
                        && self.list_room(m.data.len().min(MAX_TEXT))
                    {
                        self.sum.messages.push(MessageRow {
                            first_frame: m.first_frame,
                            last_frame: m.last_frame,
                            from: dir,
                            opcode: m.opcode,
                            length: m.length,
                            wire_len: m.wire_len,
                            compressed: m.compressed,
                            text: (m.opcode == 1).then(|| clip_message(&m)),
                            error: m.error.clone(),
                        });
                    }
                    // Decoded: the views print only the head of a message (as
                    // much as plain messages keep), so the rest goes now
                    // rather than travel with the event.
                    let mut m = m;
                    if m.data.len() > self.keep_messages {
                        m.data.truncate(self.keep_messages);
                        m.data.shrink_to_fit();
                    }
                    out.push(AppEvent::WsMessage { dir, message: m });
                    out.append(&mut carried);
                }
                WsEvent::Violation { frame, kind } => {
                    if let Some(ws) = &mut self.sum.websocket {
                        ws.violations += 1;
                    }
                    if self.detail && self.sum.violations.len() < MAX_LISTED {
                        self.sum.violations.push((frame, kind));
                    }
                    out.push(AppEvent::WsViolation { dir, frame, kind });
                }
            }
        }
        self.ws_events = evs;
    }

    /// An Engine.IO packet carried by one WebSocket message; returns the
    /// envelope bytes (everything but the application data).
    fn eio_message(
        &mut self,
        dir: Dir,
        frame: u64,
        m: &MessageInfo,
        out: &mut Vec<AppEvent>,
    ) -> u64 {
        let d = dir as usize;
        if m.opcode == 2 {
            let p = engineio::parse_binary(&m.data, self.eio_v3);
            if let EioPacket::Message(EioData::Binary(b)) = &p
                && let Some(joined) = self.joiner[d].attachment(b)
            {
                self.sio(dir, frame, "websocket", joined, out);
            }
            self.eio_event(dir, frame, "websocket", p, out);
            return 0;
        }
        let text = match simdutf8::basic::from_utf8(&m.data) {
            Ok(t) => std::borrow::Cow::Borrowed(t),
            Err(_) => String::from_utf8_lossy(&m.data),
        };
        let p = engineio::parse_text(&text);
        let env = match &p {
            EioPacket::Message(EioData::Text(t)) => {
                let sio = socketio::parse(t);
                let data_len = sio.as_ref().ok().map_or(0, |s| s.data_len);
                if let Ok(sp) = sio
                    && let Some(joined) = self.joiner[d].packet(sp)
                {
                    self.sio(dir, frame, "websocket", joined, out);
                }
                self.flush_incomplete(dir, frame, "websocket", out);
                (text.len() as u64).saturating_sub(data_len as u64)
            }
            _ => text.len() as u64,
        };
        if let EioPacket::Upgrade = p {
            let so = self
                .sum
                .socketio
                .get_or_insert_with(SocketIoSummary::default);
            so.upgraded = true;
        }
        self.eio_event(dir, frame, "websocket", p, out);
        env
    }

    fn eio_event(
        &mut self,
        dir: Dir,
        frame: u64,
        transport: &'static str,
        p: EioPacket,
        out: &mut Vec<AppEvent>,
    ) {
        let so = self
            .sum
            .socketio
            .get_or_insert_with(SocketIoSummary::default);
        *so.engine_packets
            .entry(eio_type(&p).to_owned())
            .or_insert(0) += 1;
        if let EioPacket::Open(o) = &p {
            so.sid.get_or_insert_with(|| o.sid.clone());
        }
        if self.detail
            && !matches!(p, EioPacket::Message(_))
            && self.sum.sio_packets.len() < MAX_LISTED
        {
            self.sum.sio_packets.push(SioRow {
                frame,
                from: dir,
                transport,
                engine_type: eio_type(&p),
                socket_type: None,
                namespace: None,
                ack_id: None,
                event: None,
                args: Vec::new(),
            });
        }
        // A message's text was decoded above; the views show none of it, so
        // the event carries only a head of it (a Socket.IO message may be 1 MiB).
        let mut p = p;
        if let EioPacket::Message(EioData::Text(t)) = &mut p
            && t.len() > self.keep_messages
        {
            t.truncate(t.floor_char_boundary(self.keep_messages));
            t.shrink_to_fit();
        }
        out.push(AppEvent::Eio {
            dir,
            frame,
            transport,
            packet: p,
        });
    }

    /// A packet the joiner gave up on (a new one came before all its
    /// attachments): reported, flagged, rather than lost.
    fn flush_incomplete(
        &mut self,
        dir: Dir,
        frame: u64,
        transport: &'static str,
        out: &mut Vec<AppEvent>,
    ) {
        if let Some(p) = self.joiner[dir as usize].take_incomplete() {
            self.sio(dir, frame, transport, p, out);
        }
    }

    fn sio(
        &mut self,
        dir: Dir,
        frame: u64,
        transport: &'static str,
        p: SioPacket,
        out: &mut Vec<AppEvent>,
    ) {
        if let Some(w) = &p.warning {
            self.problem(format!(
                "{}: Socket.IO packet at frame {frame} {w}",
                dir.sender()
            ));
        }
        let so = self
            .sum
            .socketio
            .get_or_insert_with(SocketIoSummary::default);
        *so.socket_packets
            .entry(sio_type(p.ptype).to_owned())
            .or_insert(0) += 1;
        if let Some(e) = &p.event {
            *so.events.entry(clip(e)).or_insert(0) += 1;
        }
        if self.detail && self.sum.sio_packets.len() < MAX_LISTED && self.list_room(p.data_len) {
            self.sum.sio_packets.push(SioRow {
                frame,
                from: dir,
                transport,
                engine_type: "message",
                socket_type: Some(sio_type(p.ptype)),
                namespace: Some(p.namespace.clone()),
                ack_id: p.ack_id,
                event: p.event.clone(),
                args: p.args.clone(),
            });
        }
        if self.sum.protocol != Some("socket.io") {
            self.sum.protocol = Some("socket.io");
        }
        out.push(AppEvent::Sio {
            dir,
            frame,
            transport,
            packet: p,
        });
    }

    /// An Engine.IO long-polling body.
    fn polling(&mut self, dir: Dir, frame: u64, body: &[u8], out: &mut Vec<AppEvent>) {
        let d = dir as usize;
        let (packets, _more) = engineio::split_polling(body, self.eio_v3);
        let mut data = 0u64;
        for p in packets {
            match &p {
                EioPacket::Message(EioData::Text(t)) => {
                    if let Ok(sp) = socketio::parse(t) {
                        data += sp.data_len as u64;
                        if let Some(j) = self.joiner[d].packet(sp) {
                            self.sio(dir, frame, "polling", j, out);
                        }
                        self.flush_incomplete(dir, frame, "polling", out);
                    }
                }
                EioPacket::Message(EioData::Binary(b)) => {
                    data += b.len() as u64;
                    if let Some(j) = self.joiner[d].attachment(b) {
                        self.sio(dir, frame, "polling", j, out);
                    }
                }
                _ => {}
            }
            self.eio_event(dir, frame, "polling", p, out);
        }
        // The body's bytes were counted as HTTP body; move the data part to payload
        // and the rest to the Engine.IO/Socket.IO envelope.
        let len = body.len() as u64;
        let data = data.min(len);
        self.sum.bytes.payload += data;
        self.sum.bytes.engineio_socketio += len - data;
        self.eio_body_bytes += len;
    }

    /// Ends the connection: the summary, with every delivered byte accounted for.
    pub fn finish(mut self, last_frame: u64) -> AppSummary {
        let mut items = Vec::new();
        self.resp.close(last_frame, &mut items);
        let mut sink = Vec::new();
        for it in items {
            self.response_item(last_frame, it, &mut sink);
        }
        for dir in [Dir::ClientToServer, Dir::ServerToClient] {
            if let Some(p) = self.joiner[dir as usize].finish() {
                let transport = if self.ws[0].is_some() {
                    "websocket"
                } else {
                    "polling"
                };
                self.sio(dir, last_frame, transport, p, &mut sink);
            }
        }
        for dir in [Dir::ClientToServer, Dir::ServerToClient] {
            if let Some(what) = self.ws[dir as usize].as_ref().and_then(|p| p.unfinished()) {
                self.problem(format!("{}: WebSocket {what}", dir.sender()));
            }
            if let Some(why) = self.ws[dir as usize].as_ref().and_then(|p| p.stop_reason()) {
                self.problem(format!(
                    "{}: WebSocket framing lost ({}); the rest of the direction is not decoded",
                    dir.sender(),
                    why.replace('_', " ")
                ));
            }
        }
        if let Some(ws) = &mut self.sum.websocket {
            for dir in [Dir::ClientToServer, Dir::ServerToClient] {
                let d = dir as usize;
                for (counts, map) in [
                    (&self.ws_frames[d], &mut ws.frames),
                    (&self.ws_messages[d], &mut ws.messages),
                ] {
                    for (op, &n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
                        // op < 16: the opcode is a nibble.
                        let name = opcode_name(op as u8);
                        *map.entry(format!("{}:{name}", dir.sender())).or_insert(0) += n;
                    }
                }
            }
        }
        let b = &mut self.sum.bytes;
        b.http_head = self.req.head_bytes + self.resp.head_bytes;
        b.http_body =
            (self.req.body_bytes + self.resp.body_bytes).saturating_sub(self.eio_body_bytes);
        let counted = b.http_head
            + b.http_body
            + b.websocket_framing
            + b.websocket_control
            + b.engineio_socketio
            + b.payload
            + b.other;
        // Whatever no decoder accounted for (bytes held at the end, a parser
        // that stopped) is "other", so the parts add up to what was delivered.
        if counted < self.delivered {
            b.other += self.delivered - counted;
        }
        self.sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::Relaxed;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    /// A WebSocket session: the upgrade, then `n` unmasked server text frames.
    fn session(app: &mut ConnApp, n: usize) {
        let mut out = Vec::new();
        let req = format!(
            "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        app.data(Dir::ClientToServer, 1, req.as_bytes(), &mut out);
        let resp = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            websocket_accept(KEY)
        );
        app.data(Dir::ServerToClient, 2, resp.as_bytes(), &mut out);
        for i in 0..n {
            let frame = [&[0x81, 5][..], b"hello"].concat();
            app.data(Dir::ServerToClient, 3 + i as u64, &frame, &mut out);
        }
    }

    /// Rows past the shared budget are counted, not listed; the rows' share
    /// comes back when their summary is dropped, not before.
    #[test]
    fn detail_lists_share_one_budget() {
        let budget = ListBudget::default();
        // Room for about three rows (64 bytes of overhead + 5 of text each).
        let start = MAX_LISTED_BYTES - 3 * 69 - 10;
        budget.store(start, Relaxed);
        let mut app = ConnApp::new();
        app.share_budget(budget.clone());
        session(&mut app, 4);
        let sum = app.finish(10);
        let ws = sum.websocket.as_ref().expect("websocket");
        assert_eq!(ws.messages.get("server:text"), Some(&4));
        // 4 frames and 4 messages: 3 rows fit, 5 do not.
        assert_eq!(sum.frames.len() + sum.messages.len(), 3);
        assert_eq!(sum.rows_not_listed, 5);
        assert_eq!(budget.load(Relaxed), start + 3 * 69);
        // A copy holds nothing; the original gives the rows' share back once.
        let copy = sum.clone();
        drop(sum);
        assert_eq!(budget.load(Relaxed), start);
        drop(copy);
        assert_eq!(budget.load(Relaxed), start);
    }

    /// Without detail nothing is listed and nothing is taken.
    #[test]
    fn counting_only_takes_no_budget() {
        let budget = ListBudget::default();
        let mut app = ConnApp::new();
        app.keep_detail(false);
        app.share_budget(budget.clone());
        session(&mut app, 50);
        let sum = app.finish(100);
        assert!(sum.frames.is_empty() && sum.messages.is_empty());
        assert_eq!(sum.rows_not_listed, 0);
        assert_eq!(budget.load(Relaxed), 0);
    }
}
