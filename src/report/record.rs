//! The JSON record of one connection, shared by `flows` and `walk`: the TCP
//! summary, what the application layer found, and the bytes spent per layer.

use serde::Serialize;

use crate::flow::ConnSummary;
use crate::flow::summary::TcpRtt;
use crate::latency::{Samples, Summary};
use crate::proto::bytes::Ledger;
use crate::proto::engineio::record::SocketIoSummary;
use crate::proto::http::record::HttpTx;
use crate::proto::latency::{AppLatency, Heartbeat, Kind, Reply};
use crate::proto::stack::AppSummary;
use crate::proto::tls::record::TlsSummary;
use crate::proto::websocket::record::WebSocketSummary;

/// Bytes of one connection by layer: the link, IP and TCP parts from the
/// connection's frames, then what the analyzers booked above TCP, part by
/// part ([`Ledger`]). The parts add up to `total`, the bytes the
/// connection's frames had on the wire.
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
    /// L5–L7: the analyzers' parts, in stack order.
    #[serde(flatten)]
    pub app: Ledger,
    /// Delivered bytes no analyzer recognised.
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
        self.app += o.app;
        self.other += o.other;
        self.not_captured += o.not_captured;
        self.total += o.total;
    }
}

impl Overhead {
    pub fn of(s: &ConnSummary, app: Option<&AppSummary>) -> Overhead {
        let lb = s.layer_bytes;
        let delivered = s.stream_bytes.client_to_server + s.stream_bytes.server_to_client;
        let booked = app.map(|a| a.bytes).unwrap_or_default();
        Overhead {
            link: lb.link,
            ip: lb.ip,
            tcp: lb.tcp,
            tcp_repeated: lb.tcp_payload.saturating_sub(delivered),
            app: booked,
            // Everything delivered that no analyzer claimed, including bytes
            // that arrived after the connection had closed.
            other: delivered.saturating_sub(booked.total()),
            not_captured: lb.not_captured,
            total: lb.link + lb.ip + lb.tcp + lb.tcp_payload + lb.not_captured,
        }
    }

    /// The parts as (OSI layer, name, bytes), in stack order; "other" has no layer.
    pub fn parts(&self) -> Vec<(u8, &'static str, u64)> {
        let mut v = vec![
            (2, "link headers", self.link),
            (3, "IP headers", self.ip),
            (4, "TCP headers", self.tcp),
            (4, "TCP repeated payload", self.tcp_repeated),
        ];
        v.extend(self.app.iter().map(|(p, n)| (p.osi, p.name, n)));
        v.push((0, "other", self.other));
        v.push((1, "not captured", self.not_captured));
        v
    }
}

/// The connection record, serialised straight to the output (no JSON tree):
/// `flows` prints it as is; `walk` adds detail ([`super::json_members`]).
#[derive(Serialize)]
pub struct ConnRecord<'a> {
    #[serde(flatten)]
    pub conn: &'a ConnSummary,
    /// "http", "websocket", "engine.io", "socket.io", "tls", or null.
    pub app_protocol: Option<&'static str>,
    pub tls: Option<&'a TlsSummary>,
    pub http: &'a [HttpTx],
    pub websocket: Option<&'a WebSocketSummary>,
    pub socketio: Option<&'a SocketIoSummary>,
    /// What the decoders gave up on or could not finish (the first 32), and how many.
    pub app_problems: &'a [String],
    pub app_problem_count: u64,
    pub overhead: Overhead,
    pub latency: LatencyRecord<'a>,
}

/// How long things took on the connection, layer by layer: TCP's round
/// trips, then each kind of reply. A kind without replies is null.
#[derive(Serialize)]
pub struct LatencyRecord<'a> {
    pub tcp_rtt: TcpRtt,
    pub http: Option<Replies<'a>>,
    pub ws_ping: Option<Replies<'a>>,
    pub ws_close: Option<Replies<'a>>,
    pub socketio_ack: Option<Replies<'a>>,
    pub heartbeat: Option<HeartbeatRecord<'a>>,
}

/// One kind's replies: their summary and (in walk's JSON) each of them.
#[derive(Serialize)]
pub struct Replies<'a> {
    #[serde(flatten)]
    pub summary: Summary,
    /// The replies listed, in order (walk's JSON; flows prints the summary only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pairs: Option<&'a [Reply]>,
}

/// Engine.IO's heartbeat: the pongs (as any replies), what the open packet
/// announced, and the intervals seen between one side's pings.
#[derive(Serialize)]
pub struct HeartbeatRecord<'a> {
    pub pongs: Option<Replies<'a>>,
    pub ping_interval_ms: Option<u64>,
    pub ping_timeout_ms: Option<u64>,
    pub interval: Option<Summary>,
    pub late_pongs: u64,
    pub late_pings: u64,
    /// The last ping was never answered: the connection ended first.
    pub unanswered_at_end: bool,
}

/// A heartbeat seen without the open packet that announces it.
static NO_HEARTBEAT_ANNOUNCED: Heartbeat = Heartbeat {
    ping_interval_ms: None,
    ping_timeout_ms: None,
    intervals: Samples::new(),
    late_pongs: 0,
    late_pings: 0,
    unanswered_at_end: false,
};

impl<'a> LatencyRecord<'a> {
    /// The record of `s`, each reply listed when `listed`.
    pub fn of(s: &ConnSummary, app: Option<&'a AppLatency>, listed: bool) -> Self {
        let kind = |k: Kind| {
            let r = app?.get(k);
            Some(Replies {
                summary: r.samples.summary()?,
                pairs: listed.then_some(r.listed.as_slice()),
            })
        };
        LatencyRecord {
            tcp_rtt: s.tcp_rtt,
            http: kind(Kind::Http),
            ws_ping: kind(Kind::WsPing),
            ws_close: kind(Kind::WsClose),
            socketio_ack: kind(Kind::SocketioAck),
            // Pongs on a connection that did not carry the open packet (the
            // WebSocket of a session opened over long-polling) still count.
            heartbeat: app
                .and_then(|a| {
                    let pongs = a.get(Kind::Heartbeat).samples.count() > 0;
                    a.heartbeat
                        .as_ref()
                        .or(pongs.then_some(&NO_HEARTBEAT_ANNOUNCED))
                })
                .map(|h| HeartbeatRecord {
                    pongs: kind(Kind::Heartbeat),
                    ping_interval_ms: h.ping_interval_ms,
                    ping_timeout_ms: h.ping_timeout_ms,
                    interval: h.intervals.summary(),
                    late_pongs: h.late_pongs,
                    late_pings: h.late_pings,
                    unanswered_at_end: h.unanswered_at_end,
                }),
        }
    }
}

/// The record of `s`; `listed` lists each reply under its kind in `latency`
/// (walk's JSON).
pub fn record<'a>(s: &'a ConnSummary, app: Option<&'a AppSummary>, listed: bool) -> ConnRecord<'a> {
    ConnRecord {
        conn: s,
        app_protocol: app.and_then(|a| a.protocol),
        tls: app.and_then(|a| a.tls.as_ref()),
        http: app.map_or(&[], |a| a.http.as_slice()),
        websocket: app.and_then(|a| a.websocket.as_ref()),
        socketio: app.and_then(|a| a.socketio.as_ref()),
        app_problems: app.map_or(&[], |a| a.problems.as_slice()),
        app_problem_count: app.map_or(0, |a| a.problem_count),
        overhead: Overhead::of(s, app),
        latency: LatencyRecord::of(s, app.map(|a| &a.latency), listed),
    }
}

/// The application protocol as the flows table names it: the highest
/// protocol reached, with "(tls)" when it ran over TLS.
pub fn app_label(app: Option<&AppSummary>) -> String {
    match app {
        Some(a) => match (a.protocol, a.tls.is_some()) {
            (Some("tls"), _) => "tls".into(),
            (Some(p), true) => format!("{p} (tls)"),
            (Some(p), false) => p.into(),
            (None, true) => "tls".into(),
            (None, false) => "–".into(),
        },
        None => "–".into(),
    }
}
