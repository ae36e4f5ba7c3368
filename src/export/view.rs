//! The view that turns one capture's events into table rows (and HAR
//! entries): a row is written as soon as what it says is known, a
//! connection's own rows (`conn`, `websocket`) when it ends.
//!
//! Memory: per open connection its id and addresses, at most
//! [`MAX_WAITING`] requests waiting for their responses, and the rows of
//! the current frame (a reply's timing comes after its row, in the same
//! frame).

use std::collections::{HashMap, VecDeque};
use std::io;

use base64::Engine as _;
use serde_json::Value;
use sha1::{Digest, Sha1};

use super::har::Har;
use super::table::{Cell, TableWriter};
use super::tables::{ConnRow, HttpRow, SocketIoRow, WebSocketRow, WsMessageRow};
use crate::flow::{ConnSummary, Dir, Endpoint};
use crate::proto::engineio::EioPacket;
use crate::proto::engineio::record::EngineIoEvent;
use crate::proto::http::record::HttpEvent;
use crate::proto::latency::{Kind, Reply};
use crate::proto::stack::{AppEvent, AppSummary};
use crate::proto::websocket::coding::{OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT};
use crate::proto::websocket::record::WebSocketEvent;
use crate::report::{FrameEvent, View};

/// Requests of one connection waiting for their responses (pipelining);
/// past it the oldest is written without one.
pub const MAX_WAITING: usize = 64;

/// Where a table's rows go: its writer, and how many it took.
pub struct Sink {
    pub writer: TableWriter,
    pub rows: u64,
}

/// The five tables of one capture (`None`: not asked for, with `--har` alone).
pub struct Tables {
    pub conn: Sink,
    pub websocket: Sink,
    pub ws_messages: Sink,
    pub socketio_events: Sink,
    pub http: Sink,
}

impl Tables {
    fn sinks(self) -> [Sink; 5] {
        [
            self.conn,
            self.websocket,
            self.ws_messages,
            self.socketio_events,
            self.http,
        ]
    }
}

/// A request waiting for its response.
struct Request {
    row: HttpRow,
    /// The frame of its head, by which a response names its request.
    frame: u64,
}

struct Conn {
    uid: String,
    client: Option<Endpoint>,
    server: Option<Endpoint>,
    requests: VecDeque<Request>,
    /// A response told before its body ended: completed by its `BodyEnd`.
    answering: Option<HttpRow>,
    trans_depth: u64,
    upgrade_ts: Option<f64>,
}

/// A row of the current frame, before its reply is known.
enum Pending {
    Ws(u64, Dir, Box<WsMessageRow>),
    Sio(u64, Dir, Box<SocketIoRow>),
    Http(u64, Box<HttpRow>),
}

pub struct ExportView {
    label: String,
    tables: Option<Tables>,
    har: Option<Har>,
    conns: HashMap<u64, Conn>,
    pending: Vec<Pending>,
    /// The first write error: later rows are not written, and the run ends
    /// with it.
    error: Option<io::Error>,
}

/// Zeek-style connection id: `C` and 17 base-62 digits of a hash of the
/// capture's name, the connection number and its first packet's time, so
/// the same capture exported twice gets the same ids.
pub fn uid(label: &str, conn: u64, first_ns: i128) -> String {
    let mut h = Sha1::new();
    h.update(label.as_bytes());
    h.update([0]);
    h.update(conn.to_be_bytes());
    h.update(first_ns.to_be_bytes());
    let d = h.finalize();
    let mut n = u128::from_be_bytes(d[..16].try_into().unwrap_or([0; 16])) >> 28;
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut s = String::with_capacity(18);
    s.push('C');
    for _ in 0..17 {
        s.push(char::from(DIGITS[(n % 62) as usize]));
        n /= 62;
    }
    s
}

fn addr(e: Option<&Endpoint>) -> Cell {
    e.map_or(Cell::Null, |e| Cell::Str(e.addr.to_string()))
}

fn port(e: Option<&Endpoint>) -> Cell {
    e.map_or(Cell::Null, |e| e.port.into())
}

/// A comma-separated header value as its items (Zeek splits them so).
fn items(v: Option<&str>) -> Cell {
    match v {
        Some(v) => Cell::List(
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        None => Cell::Null,
    }
}

/// The connection's state, made at its first frame (its addresses from
/// that frame's packet).
fn conn_entry<'m>(
    conns: &'m mut HashMap<u64, Conn>,
    label: &str,
    id: u64,
    ev: &FrameEvent<'_, '_>,
) -> &'m mut Conn {
    conns.entry(id).or_insert_with(|| {
        let (mut client, mut server) = (None, None);
        if let Some(t) = ev.tcp.as_ref().filter(|t| t.stream == id) {
            let (src, dst) = crate::run::options::endpoints(ev.packet);
            (client, server) = match t.dir {
                Dir::ClientToServer => (src, dst),
                Dir::ServerToClient => (dst, src),
            };
        }
        let ts = ev.frame.ts;
        Conn {
            uid: uid(
                label,
                id,
                i128::from(ts.secs) * 1_000_000_000 + i128::from(ts.nanos),
            ),
            client,
            server,
            requests: VecDeque::new(),
            answering: None,
            trans_depth: 0,
            upgrade_ts: None,
        }
    })
}

impl ExportView {
    pub fn new(label: String, tables: Option<Tables>, har: Option<Har>) -> Self {
        ExportView {
            label,
            tables,
            har,
            conns: HashMap::new(),
            pending: Vec::new(),
            error: None,
        }
    }

    /// Rows written per table, by table name.
    pub fn counts(&self) -> Option<[u64; 5]> {
        self.tables.as_ref().map(|t| {
            [
                t.conn.rows,
                t.websocket.rows,
                t.ws_messages.rows,
                t.socketio_events.rows,
                t.http.rows,
            ]
        })
    }

    /// Completes every file; the first error of the run, if any.
    pub fn close(mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if let Some(t) = self.tables.take() {
            for s in t.sinks() {
                s.writer.finish()?;
            }
        }
        if let Some(h) = self.har.take() {
            h.finish()?;
        }
        Ok(())
    }

    fn write(&mut self, table: fn(&mut Tables) -> &mut Sink, cells: Vec<Cell>) {
        if self.error.is_some() {
            return;
        }
        if let Some(t) = &mut self.tables {
            let s = table(t);
            s.rows += 1;
            if let Err(e) = s.writer.row(cells) {
                self.error = Some(e);
            }
        }
    }

    /// Writes the frame's rows, each with the reply it carries.
    fn end_frame(&mut self) {
        for p in std::mem::take(&mut self.pending) {
            match p {
                Pending::Ws(_, _, r) => self.write(|t| &mut t.ws_messages, r.cells()),
                Pending::Sio(_, _, r) => self.write(|t| &mut t.socketio_events, r.cells()),
                Pending::Http(_, r) => self.write(|t| &mut t.http, r.cells()),
            }
        }
    }

    /// A reply's timing goes on the row that replied: the last of its
    /// connection and side in the frame, in the table of its kind.
    fn reply(&mut self, conn: u64, r: &Reply) {
        let replier = r.asked_by.other();
        let what = Cell::Str(r.what.clone());
        // reply_to_frame, reply_seconds, reply_network, reply_think.
        let timing = [
            r.from_frame.into(),
            r.seconds.into(),
            r.network.into(),
            r.think.into(),
        ];
        for p in self.pending.iter_mut().rev() {
            match (r.kind, p) {
                (Kind::WsPing | Kind::WsClose, Pending::Ws(c, d, w))
                    if *c == conn && *d == replier =>
                {
                    [
                        w.reply_to_frame,
                        w.reply_seconds,
                        w.reply_network,
                        w.reply_think,
                    ] = timing;
                    w.reply_to = what;
                    return;
                }
                (Kind::SocketioAck | Kind::Heartbeat, Pending::Sio(c, d, w))
                    if *c == conn && *d == replier =>
                {
                    [
                        w.reply_to_frame,
                        w.reply_seconds,
                        w.reply_network,
                        w.reply_think,
                    ] = timing;
                    w.late = r.late.into();
                    w.reply_to = what;
                    return;
                }
                (Kind::Http, Pending::Http(c, w)) if *c == conn => {
                    [_, w.reply_seconds, w.reply_network, w.reply_think] = timing;
                    if let Some(h) = &mut self.har {
                        h.timing(conn, r);
                    }
                    return;
                }
                _ => {}
            }
        }
    }

    fn http(&mut self, conn: u64, e: &HttpEvent, ev: &FrameEvent<'_, '_>) {
        let ts = ev.frame.ts.as_f64();
        let file = self.label.clone();
        if let Some(h) = &mut self.har {
            h.http(conn, e, ts);
        }
        let c = conn_entry(&mut self.conns, &self.label, conn, ev);
        let mut out = None;
        match e {
            HttpEvent::Request {
                head,
                end_frame,
                body,
                ..
            } => {
                c.trans_depth += 1;
                let row = HttpRow {
                    ts: ts.into(),
                    uid: c.uid.clone().into(),
                    orig_h: addr(c.client.as_ref()),
                    orig_p: port(c.client.as_ref()),
                    resp_h: addr(c.server.as_ref()),
                    resp_p: port(c.server.as_ref()),
                    trans_depth: c.trans_depth.into(),
                    method: head.method.clone().into(),
                    host: head.header("Host").into(),
                    uri: head.uri.clone().into(),
                    referrer: head.header("Referer").into(),
                    version: Cell::Str(format!("1.{}", head.version)),
                    user_agent: head.header("User-Agent").into(),
                    origin: head.header("Origin").into(),
                    request_body_len: (*body).into(),
                    file: file.into(),
                    connection: conn.into(),
                    request_frame: (*end_frame).into(),
                    upgrade: head.header("Upgrade").into(),
                    ..HttpRow::default()
                };
                c.requests.push_back(Request {
                    row,
                    frame: head.frame,
                });
                if c.requests.len() > MAX_WAITING {
                    out = c.requests.pop_front().map(|r| r.row);
                }
            }
            HttpEvent::Response {
                head,
                request_frame,
                end_frame,
                body,
                ..
            } => {
                let status = head.status.unwrap_or(0);
                if status / 100 == 1 && status != 101 {
                    // Interim: Zeek's info_code, on the request it answers.
                    if let Some(r) = c.requests.front_mut() {
                        r.row.info_code = head.status.into();
                        r.row.info_msg = head.reason.clone().into();
                    }
                    return;
                }
                let at = c
                    .requests
                    .iter()
                    .position(|r| Some(r.frame) == *request_frame)
                    .or((!c.requests.is_empty()).then_some(0));
                let mut row = match at.and_then(|i| c.requests.remove(i)) {
                    Some(r) => r.row,
                    None => {
                        c.trans_depth += 1;
                        HttpRow {
                            uid: c.uid.clone().into(),
                            orig_h: addr(c.client.as_ref()),
                            orig_p: port(c.client.as_ref()),
                            resp_h: addr(c.server.as_ref()),
                            resp_p: port(c.server.as_ref()),
                            trans_depth: c.trans_depth.into(),
                            file: file.into(),
                            connection: conn.into(),
                            ..HttpRow::default()
                        }
                    }
                };
                row.status_code = head.status.into();
                row.status_msg = head.reason.clone().into();
                row.response_frame = (*end_frame).into();
                match body {
                    Some(b) => {
                        row.response_body_len = (*b).into();
                        self.pending.push(Pending::Http(conn, Box::new(row)));
                    }
                    None => out = c.answering.replace(row),
                }
            }
            HttpEvent::BodyEnd { end_frame, len, .. } => {
                if let Some(mut row) = c.answering.take() {
                    row.response_body_len = (*len).into();
                    row.response_frame = (*end_frame).into();
                    self.pending.push(Pending::Http(conn, Box::new(row)));
                }
            }
            HttpEvent::Head { .. } | HttpEvent::Error { .. } => {}
        }
        if let Some(r) = out {
            self.write(|t| &mut t.http, r.cells());
        }
    }

    fn websocket(&mut self, conn: u64, e: &WebSocketEvent, ev: &FrameEvent<'_, '_>) {
        let ts = ev.frame.ts.as_f64();
        let file = self.label.clone();
        let c = conn_entry(&mut self.conns, &self.label, conn, ev);
        let base = |dir: Dir| WsMessageRow {
            ts: ts.into(),
            uid: c.uid.clone().into(),
            file: file.clone().into(),
            connection: conn.into(),
            is_orig: (dir == Dir::ClientToServer).into(),
            ..WsMessageRow::default()
        };
        let row = match e {
            WebSocketEvent::Upgrade(_) => {
                c.upgrade_ts = Some(ts);
                return;
            }
            WebSocketEvent::Message { dir, message: m } => {
                let data = &m.data;
                let whole = m.length.is_some_and(|l| l == data.len() as u64);
                let (text, b64) = if m.opcode == OP_TEXT {
                    // Checked at SIMD speed; a cut or broken text is decoded lossily.
                    let t = simdutf8::basic::from_utf8(data).map_or_else(
                        |_| String::from_utf8_lossy(data).into_owned(),
                        str::to_owned,
                    );
                    (Some(t), None)
                } else {
                    (
                        None,
                        Some(base64::engine::general_purpose::STANDARD.encode(data)),
                    )
                };
                if let Some(h) = &mut self.har {
                    h.message(conn, *dir, ts, m.opcode, text.as_deref(), b64.as_deref());
                }
                WsMessageRow {
                    first_frame: m.first_frame.into(),
                    frame: m.last_frame.into(),
                    kind: if m.opcode == OP_BINARY {
                        "binary"
                    } else {
                        "text"
                    }
                    .into(),
                    opcode: m.opcode.into(),
                    fragments: m.fragments.into(),
                    wire_bytes: m.wire_len.into(),
                    length: m.length.into(),
                    compressed: m.compressed.into(),
                    text: text.into(),
                    data_b64: b64.into(),
                    truncated: (!whole).into(),
                    error: m.error.clone().into(),
                    ..base(*dir)
                }
            }
            WebSocketEvent::Frame { dir, frame: f } if f.opcode >= OP_CLOSE => {
                let (code, text) = match &f.close {
                    Some((code, reason)) => (*code, (!reason.is_empty()).then(|| reason.clone())),
                    None => (None, crate::text::printable(&f.payload).map(str::to_owned)),
                };
                WsMessageRow {
                    first_frame: f.first_frame.into(),
                    frame: f.frame.into(),
                    kind: match f.opcode {
                        OP_PING => "ping",
                        OP_PONG => "pong",
                        OP_CLOSE => "close",
                        _ => "control",
                    }
                    .into(),
                    opcode: f.opcode.into(),
                    fragments: 1u64.into(),
                    wire_bytes: f.payload_len.into(),
                    length: f.payload_len.into(),
                    compressed: false.into(),
                    text: text.into(),
                    truncated: (f.payload.len() as u64 != f.payload_len).into(),
                    close_code: code.into(),
                    ..base(*dir)
                }
            }
            _ => return,
        };
        let dir = if row.is_orig == Cell::Bool(true) {
            Dir::ClientToServer
        } else {
            Dir::ServerToClient
        };
        self.pending.push(Pending::Ws(conn, dir, Box::new(row)));
    }

    fn engineio(&mut self, conn: u64, e: &EngineIoEvent, ev: &FrameEvent<'_, '_>) {
        let ts = ev.frame.ts.as_f64();
        let file = self.label.clone();
        let c = conn_entry(&mut self.conns, &self.label, conn, ev);
        let base = |dir: Dir, transport: &str, frame: u64| SocketIoRow {
            ts: ts.into(),
            uid: c.uid.clone().into(),
            file: file.clone().into(),
            connection: conn.into(),
            frame: frame.into(),
            complete_frame: frame.into(),
            is_orig: (dir == Dir::ClientToServer).into(),
            transport: transport.into(),
            ..SocketIoRow::default()
        };
        let (dir, row) = match e {
            EngineIoEvent::Packet {
                dir,
                frame,
                transport,
                packet,
            } => {
                let (text, sid) = match packet {
                    // Listed as the Socket.IO packet it carries.
                    EioPacket::Message(_) => return,
                    EioPacket::Open(o) => (None, Some(o.sid.clone())),
                    EioPacket::Ping(t) | EioPacket::Pong(t) if !t.is_empty() => {
                        (Some(t.clone()), None)
                    }
                    EioPacket::Invalid(w) => (Some(w.clone()), None),
                    _ => (None, None),
                };
                let args = match packet {
                    EioPacket::Open(o) => serde_json::to_string(&serde_json::json!({
                        "sid": o.sid,
                        "upgrades": o.upgrades,
                        "pingInterval": o.ping_interval,
                        "pingTimeout": o.ping_timeout,
                        "maxPayload": o.max_payload,
                    }))
                    .ok(),
                    _ => text.map(|t| Value::String(t).to_string()),
                };
                (
                    *dir,
                    SocketIoRow {
                        protocol: "engine.io".into(),
                        kind: packet.type_name().into(),
                        args: args.into(),
                        sid: sid.into(),
                        ..base(*dir, transport, *frame)
                    },
                )
            }
            EngineIoEvent::SocketIo {
                dir,
                frame,
                complete_frame,
                transport,
                packet: p,
            } => {
                let args = if p.args().is_empty() {
                    p.data.clone().filter(Value::is_object)
                } else {
                    Some(Value::Array(p.args().to_vec()))
                };
                (
                    *dir,
                    SocketIoRow {
                        complete_frame: (*complete_frame).into(),
                        protocol: "socket.io".into(),
                        kind: p.ptype.name().into(),
                        namespace: p.namespace.clone().into(),
                        event: p.event.clone().into(),
                        ack_id: p.ack_id.into(),
                        args: args.map(|a| a.to_string()).into(),
                        attachments: p.attachments.into(),
                        warning: p.warning.clone().into(),
                        ..base(*dir, transport, *frame)
                    },
                )
            }
            EngineIoEvent::PostAck { .. } => return,
        };
        self.pending.push(Pending::Sio(conn, dir, Box::new(row)));
    }

    fn conn_row(&mut self, s: &ConnSummary, app: Option<&AppSummary>, c: Option<&Conn>) {
        let client: Option<Endpoint> = s.client.parse().ok();
        let server: Option<Endpoint> = s.server.parse().ok();
        let uid = c.map_or_else(
            || {
                uid(
                    &self.label,
                    s.id,
                    (s.start * 1e9) as i128, // not seen frame by frame (filtered out)
                )
            },
            |c| c.uid.clone(),
        );
        let mut service = Vec::new();
        if let Some(a) = app {
            if a.tls.is_some() {
                service.push("ssl");
            }
            if !a.http.is_empty() {
                service.push("http");
            }
            if a.websocket.as_ref().is_some_and(|w| w.established) {
                service.push("websocket");
            }
        }
        let tls = app.and_then(|a| a.tls.as_ref());
        let row = ConnRow {
            ts: s.start.into(),
            uid: uid.clone().into(),
            orig_h: addr(client.as_ref()),
            orig_p: port(client.as_ref()),
            resp_h: addr(server.as_ref()),
            resp_p: port(server.as_ref()),
            proto: "tcp".into(),
            service: (!service.is_empty()).then(|| service.join(",")).into(),
            duration: s.duration.into(),
            orig_bytes: (s.stream_bytes.client_to_server + s.gap_bytes.client_to_server).into(),
            resp_bytes: (s.stream_bytes.server_to_client + s.gap_bytes.server_to_client).into(),
            conn_state: s.conn_state.into(),
            missed_bytes: (s.gap_bytes.client_to_server + s.gap_bytes.server_to_client).into(),
            history: s.history.clone().into(),
            orig_pkts: s.packets.client_to_server.into(),
            orig_ip_bytes: s.ip_bytes.client_to_server.into(),
            resp_pkts: s.packets.server_to_client.into(),
            resp_ip_bytes: s.ip_bytes.server_to_client.into(),
            community_id: s.community_id.clone().into(),
            file: self.label.clone().into(),
            connection: s.id.into(),
            first_frame: s.first_frame.into(),
            last_frame: s.last_frame.into(),
            syn_frame: s.handshake.syn_frame.into(),
            synack_frame: s.handshake.synack_frame.into(),
            ack_frame: s.handshake.ack_frame.into(),
            irtt: s.handshake.initial_rtt.into(),
            roles_guessed: s.roles_guessed.into(),
            state: s.state.into(),
            closed_by: s.closed_by.into(),
            anomalies: Cell::List(
                s.anomalies
                    .iter()
                    .map(|(k, n)| format!("{k}:{n}"))
                    .collect(),
            ),
            app_protocol: app.and_then(|a| a.protocol).into(),
            tls_version: tls.and_then(|t| t.version.clone()).into(),
            tls_sni: tls.and_then(|t| t.sni.clone()).into(),
            tls_alpn: tls.and_then(|t| t.alpn.clone()).into(),
            tls_cipher: tls.and_then(|t| t.cipher_suite.clone()).into(),
            tls_decrypted: tls.map(|t| t.decrypted).into(),
            tcp_rtt_p50_to_server: s.tcp_rtt.to_server.map(|r| r.p50).into(),
            tcp_rtt_p50_to_client: s.tcp_rtt.to_client.map(|r| r.p50).into(),
            app_problems: app.map(|a| a.problem_count).into(),
        };
        self.write(|t| &mut t.conn, row.cells());
        let Some(ws) = app.and_then(|a| a.websocket.as_ref()) else {
            return;
        };
        let close = ws.close.as_ref();
        let row = WebSocketRow {
            ts: c.and_then(|c| c.upgrade_ts).unwrap_or(s.start).into(),
            uid: uid.into(),
            orig_h: addr(client.as_ref()),
            orig_p: port(client.as_ref()),
            resp_h: addr(server.as_ref()),
            resp_p: port(server.as_ref()),
            host: ws.host.clone().into(),
            uri: ws.uri.clone().into(),
            user_agent: ws.user_agent.clone().into(),
            subprotocol: ws.subprotocol.clone().into(),
            client_protocols: items(ws.subprotocols_offered.as_deref()),
            server_extensions: items(ws.extensions_negotiated.as_deref()),
            client_extensions: items(ws.extensions_offered.as_deref()),
            file: self.label.clone().into(),
            connection: s.id.into(),
            request_frame: ws.request_frame.into(),
            response_frame: ws.response_frame.into(),
            status_code: ws.status.into(),
            origin: ws.origin.clone().into(),
            key: ws.key.clone().into(),
            accept: ws.accept.clone().into(),
            accept_valid: ws.accept_valid.into(),
            established: ws.established.into(),
            permessage_deflate: ws.permessage_deflate.into(),
            messages: ws.messages.values().sum::<u64>().into(),
            frames: ws.frames.values().sum::<u64>().into(),
            close_code: close.and_then(|c| c.code).into(),
            close_reason: close
                .map(|c| c.reason.clone())
                .filter(|r| !r.is_empty())
                .into(),
            close_initiator: close.and_then(|c| c.initiator).map(Dir::sender).into(),
            problems: Cell::List(ws.problems.iter().map(|p| (*p).to_owned()).collect()),
        };
        self.write(|t| &mut t.websocket, row.cells());
    }
}

impl View for ExportView {
    fn frame(&mut self, ev: &FrameEvent<'_, '_>) -> io::Result<()> {
        if let Some(t) = &ev.tcp {
            conn_entry(&mut self.conns, &self.label, t.stream, ev);
        }
        for (conn, e) in ev.app {
            match e {
                AppEvent::Http(h) => self.http(*conn, h, ev),
                AppEvent::WebSocket(w) => self.websocket(*conn, w, ev),
                AppEvent::EngineIo(e) => self.engineio(*conn, e, ev),
                AppEvent::Reply(r) => self.reply(*conn, r),
                _ => {}
            }
        }
        self.end_frame();
        Ok(())
    }

    fn connection(&mut self, s: &ConnSummary, app: Option<&AppSummary>) -> io::Result<()> {
        self.end_frame();
        let c = self.conns.remove(&s.id);
        if let Some(mut c) = c {
            // Requests never answered, then a response whose body never ended.
            let waiting: Vec<HttpRow> = c.requests.drain(..).map(|r| r.row).collect();
            for r in waiting.into_iter().chain(c.answering.take()) {
                self.write(|t| &mut t.http, r.cells());
            }
            if let Some(h) = &mut self.har
                && let Err(e) = h.connection(s, app)
            {
                self.error.get_or_insert(e);
            }
            self.conn_row(s, app, Some(&c));
        } else {
            self.conn_row(s, app, None);
        }
        Ok(())
    }

    fn unlisted(&mut self, s: &ConnSummary, _app: Option<&AppSummary>) {
        self.conns.remove(&s.id);
        if let Some(h) = &mut self.har {
            h.forget(s.id);
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        self.end_frame();
        Ok(())
    }
}
