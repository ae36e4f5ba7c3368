//! The JSON record of one connection, shared by `flows` and `walk`: the TCP
//! summary, what the application layer found, and the bytes spent per layer.

use serde::Serialize;
use serde_json::Value;

use crate::flow::ConnSummary;
use crate::proto::app::{AppSummary, HttpTx, SocketIoSummary, WebSocketSummary};

/// Bytes of one connection by layer. The parts add up to `total`, the bytes
/// the connection's frames had on the wire.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Overhead {
    /// L2: link-layer headers and trailers.
    pub link: u64,
    /// L3: IP headers.
    pub ip: u64,
    /// L4: TCP headers.
    pub tcp: u64,
    /// L4: payload bytes that were not new data (retransmissions, overlaps).
    pub tcp_repeated: u64,
    /// L7: HTTP request and response heads.
    pub http_head: u64,
    /// L7: HTTP bodies (chunk framing included), other than Engine.IO polling bodies.
    pub http_body: u64,
    /// L6: WebSocket frame headers and masking keys.
    pub websocket_framing: u64,
    /// L5: WebSocket close, ping and pong payloads.
    pub websocket_control: u64,
    /// L5/L6: Engine.IO and Socket.IO packet types, ids, namespaces and separators.
    pub engineio_socketio: u64,
    /// L7: what the application sent (WebSocket message payloads, Socket.IO data).
    pub payload: u64,
    /// Delivered bytes no decoder recognised.
    pub other: u64,
    /// Bytes the capture did not keep (snap length).
    pub not_captured: u64,
    pub total: u64,
}

impl std::ops::AddAssign for Overhead {
    /// Sums part by part (a Socket.IO session over several connections).
    fn add_assign(&mut self, o: Overhead) {
        self.link += o.link;
        self.ip += o.ip;
        self.tcp += o.tcp;
        self.tcp_repeated += o.tcp_repeated;
        self.http_head += o.http_head;
        self.http_body += o.http_body;
        self.websocket_framing += o.websocket_framing;
        self.websocket_control += o.websocket_control;
        self.engineio_socketio += o.engineio_socketio;
        self.payload += o.payload;
        self.other += o.other;
        self.not_captured += o.not_captured;
        self.total += o.total;
    }
}

impl Overhead {
    pub fn of(s: &ConnSummary, app: Option<&AppSummary>) -> Overhead {
        let lb = s.layer_bytes;
        let delivered = s.stream_bytes.client_to_server + s.stream_bytes.server_to_client;
        let mut o = Overhead {
            link: lb.link,
            ip: lb.ip,
            tcp: lb.tcp,
            tcp_repeated: lb.tcp_payload.saturating_sub(delivered),
            not_captured: lb.not_captured,
            total: lb.link + lb.ip + lb.tcp + lb.tcp_payload + lb.not_captured,
            ..Overhead::default()
        };
        match app {
            Some(a) => {
                let b = a.bytes;
                o.http_head = b.http_head;
                o.http_body = b.http_body;
                o.websocket_framing = b.websocket_framing;
                o.websocket_control = b.websocket_control;
                o.engineio_socketio = b.engineio_socketio;
                o.payload = b.payload;
                // Everything delivered that no decoder claimed, including bytes
                // that arrived after the connection had closed.
                let claimed = b.http_head
                    + b.http_body
                    + b.websocket_framing
                    + b.websocket_control
                    + b.engineio_socketio
                    + b.payload;
                o.other = delivered.saturating_sub(claimed);
            }
            None => o.other = delivered,
        }
        o
    }

    /// The parts as (OSI layer, name, bytes), in stack order.
    pub fn parts(&self) -> [(u8, &'static str, u64); 12] {
        [
            (2, "link headers", self.link),
            (3, "IP headers", self.ip),
            (4, "TCP headers", self.tcp),
            (4, "TCP repeated payload", self.tcp_repeated),
            (7, "HTTP heads", self.http_head),
            (7, "HTTP bodies", self.http_body),
            (6, "WebSocket framing", self.websocket_framing),
            (5, "WebSocket control", self.websocket_control),
            (6, "Engine.IO/Socket.IO envelope", self.engineio_socketio),
            (7, "application payload", self.payload),
            (0, "other", self.other),
            (1, "not captured", self.not_captured),
        ]
    }
}

/// The connection record as JSON: `flows` prints it as is; `walk` adds detail.
pub fn connection(s: &ConnSummary, app: Option<&AppSummary>) -> Value {
    serde_json::to_value(record(s, app)).unwrap_or(Value::Null)
}

/// The connection record, serialised straight to the output (no JSON tree).
#[derive(Serialize)]
pub struct ConnRecord<'a> {
    #[serde(flatten)]
    pub conn: &'a ConnSummary,
    /// "http", "websocket", "socket.io", or null.
    pub app_protocol: Option<&'static str>,
    pub http: &'a [HttpTx],
    pub websocket: Option<&'a WebSocketSummary>,
    pub socketio: Option<&'a SocketIoSummary>,
    /// What the decoders gave up on or could not finish (the first 32), and how many.
    pub app_problems: &'a [String],
    pub app_problem_count: u64,
    pub overhead: Overhead,
}

pub fn record<'a>(s: &'a ConnSummary, app: Option<&'a AppSummary>) -> ConnRecord<'a> {
    ConnRecord {
        conn: s,
        app_protocol: app.and_then(|a| a.protocol),
        http: app.map_or(&[], |a| a.http.as_slice()),
        websocket: app.and_then(|a| a.websocket.as_ref()),
        socketio: app.and_then(|a| a.socketio.as_ref()),
        app_problems: app.map_or(&[], |a| a.problems.as_slice()),
        app_problem_count: app.map_or(0, |a| a.problem_count),
        overhead: Overhead::of(s, app),
    }
}
