//! Engine.IO, and the Socket.IO packets it carries, as a carried analyzer:
//! one packet per WebSocket message, or a payload of packets per
//! long-polling HTTP body. Binary attachments are joined to their Socket.IO
//! packet, per direction, across both transports of a connection.
//!
//! Its envelope (packet types, ids, namespaces, separators) is booked as
//! [`Part::EngineIoEnvelope`]; the Socket.IO data as application payload.

use std::borrow::Cow;
use std::collections::VecDeque;

use super::record::{EngineIoEvent, MAX_CONNECTS, SioConnect, SioRow};
use super::{EioData, EioPacket};
use crate::flow::Dir;
use crate::latency::SAMPLE_BYTES;
use crate::proto::bytes::Part;
use crate::proto::http::Head;
use crate::proto::latency::{self, Asked, Heartbeat, Kind};
use crate::proto::socketio::{self, BinaryJoiner, SioPacket, SioType};
use crate::proto::stack::{CarriedAnalyzer, Carrier, Cx, MAX_LISTED, Unit, clip, clipped};

/// Socket.IO events waiting for their ACK, per connection (the oldest are
/// dropped).
pub const MAX_ACKS_WAITING: usize = 256;

/// An event sent with an ack id, waiting for its ACK.
struct AckWait {
    asked: Asked,
    namespace: String,
    id: u64,
    event: String,
}

/// Requests of Engine.IO and Socket.IO waiting for their reply.
#[derive(Default)]
struct Waiting {
    /// Each side's last ping (and whether it was the upgrade's probe).
    ping: [Option<(Asked, bool)>; 2],
    /// The time of each side's last heartbeat ping, for the interval.
    last_ping: [Option<Asked>; 2],
    acks: VecDeque<AckWait>,
}

/// The transport a carrier is, in Engine.IO's words.
fn transport(c: Carrier) -> &'static str {
    match c {
        Carrier::WebSocket => "websocket",
        Carrier::HttpBody => "polling",
    }
}

/// Engine.IO over one connection; see the module documentation.
#[derive(Default)]
pub struct EngineIo {
    /// Engine.IO v3 (Socket.IO 2), as the last request's URI said.
    v3: bool,
    /// The last request routed here was a POST: its answer is `ok`, not
    /// packets. Polling clients wait for each answer before the next request
    /// on a connection, so the last request is the one answered.
    post: bool,
    joiner: [BinaryJoiner; 2],
    /// The frame of the packet each joiner holds for its attachments, and of
    /// the one it gave up on.
    held_at: [u64; 2],
    incomplete_at: [u64; 2],
    waiting: Waiting,
}

impl EngineIo {
    /// One WebSocket message: one packet. Returns its envelope bytes.
    fn websocket(&mut self, cx: &mut Cx<'_>, u: &Unit<'_>) -> u64 {
        let (dir, frame) = (u.dir, u.frame);
        let d = dir as usize;
        if u.binary {
            let p = super::parse_binary(u.data, self.v3);
            if let EioPacket::Message(EioData::Binary(b)) = &p
                && let Some(joined) = self.joiner[d].attachment(b)
            {
                self.sio(cx, dir, self.held_at[d], frame, "websocket", joined);
            }
            self.packet(cx, dir, frame, "websocket", p);
            return 0;
        }
        let text = match simdutf8::basic::from_utf8(u.data) {
            Ok(t) => Cow::Borrowed(t),
            Err(_) => String::from_utf8_lossy(u.data),
        };
        let p = super::parse_text(&text);
        let env = match &p {
            EioPacket::Message(EioData::Text(t)) => {
                let parsed = parse_sio(cx, t);
                let data_len = parsed.as_ref().ok().map_or(0, |s| s.data_len);
                if let Ok(sp) = parsed {
                    self.packet_text(cx, dir, frame, "websocket", sp);
                }
                (text.len() as u64).saturating_sub(data_len as u64)
            }
            _ => text.len() as u64,
        };
        if let EioPacket::Upgrade = p {
            cx.app.socketio.get_or_insert_default().upgraded = true;
        }
        self.packet(cx, dir, frame, "websocket", p);
        env
    }

    /// A long-polling body: a payload of packets. Returns its envelope bytes.
    fn polling(&mut self, cx: &mut Cx<'_>, u: &Unit<'_>) -> u64 {
        let (dir, frame) = (u.dir, u.frame);
        let d = dir as usize;
        if dir == Dir::ServerToClient && self.post && u.data == b"ok" {
            cx.emit(EngineIoEvent::PostAck { dir, frame });
            return u.data.len() as u64;
        }
        let (packets, _more) = super::split_polling(u.data, self.v3);
        let mut data = 0u64;
        for p in packets {
            match &p {
                EioPacket::Message(EioData::Text(t)) => {
                    if let Ok(sp) = parse_sio(cx, t) {
                        data += sp.data_len as u64;
                        self.packet_text(cx, dir, frame, "polling", sp);
                    }
                }
                EioPacket::Message(EioData::Binary(b)) => {
                    data += b.len() as u64;
                    if let Some(j) = self.joiner[d].attachment(b) {
                        self.sio(cx, dir, self.held_at[d], frame, "polling", j);
                    }
                }
                _ => {}
            }
            self.packet(cx, dir, frame, "polling", p);
        }
        let len = u.data.len() as u64;
        len - data.min(len)
    }

    /// A Socket.IO packet's text: reported now, or held by the joiner until
    /// its attachments come. A packet the joiner gave up on (this one came
    /// before all its attachments) is reported, flagged, rather than lost.
    fn packet_text(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Dir,
        frame: u64,
        t: &'static str,
        sp: SioPacket,
    ) {
        let d = dir as usize;
        let before = self.joiner[d].pending();
        let now = self.joiner[d].packet(sp);
        if before {
            self.incomplete_at[d] = self.held_at[d];
        }
        if self.joiner[d].pending() {
            self.held_at[d] = frame;
        }
        if let Some(p) = now {
            self.sio(cx, dir, frame, frame, t, p);
        }
        if let Some(p) = self.joiner[d].take_incomplete() {
            self.sio(cx, dir, self.incomplete_at[d], frame, t, p);
        }
    }

    /// An Engine.IO packet, then how long it took if it answers a ping.
    fn packet(&mut self, cx: &mut Cx<'_>, dir: Dir, frame: u64, t: &'static str, p: EioPacket) {
        let d = dir as usize;
        let mut reply = None;
        match &p {
            EioPacket::Open(o) => {
                let hb = cx.app.latency.heartbeat.get_or_insert_default();
                hb.ping_interval_ms = o.ping_interval;
                hb.ping_timeout_ms = o.ping_timeout;
            }
            EioPacket::Ping(data) => {
                let probe = data == "probe";
                let asked = Asked::at(&cx.now, frame, dir);
                if !probe {
                    heartbeat_interval(cx, self.waiting.last_ping[d], asked);
                    self.waiting.last_ping[d] = asked;
                }
                self.waiting.ping[d] = asked.map(|a| (a, probe));
            }
            EioPacket::Pong(_) => {
                if let Some((asked, probe)) = self.waiting.ping[1 - d].take() {
                    let what = || if probe { "probe" } else { "ping" }.to_owned();
                    reply = latency::measure(Kind::Heartbeat, &asked, frame, &cx.now, what);
                    if let Some(r) = &mut reply {
                        let timeout = cx
                            .app
                            .latency
                            .heartbeat
                            .as_ref()
                            .and_then(|h| h.ping_timeout_ms);
                        r.late = !probe && timeout.is_some_and(|t| r.seconds * 1e3 > t as f64);
                        if r.late {
                            cx.app.latency.heartbeat.get_or_insert_default().late_pongs += 1;
                        }
                    }
                }
            }
            _ => {}
        }
        packet(cx, dir, frame, t, p);
        if let Some(r) = reply {
            cx.reply(r);
        }
    }

    /// A Socket.IO packet, then how long it took if it acknowledges an event.
    fn sio(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Dir,
        frame: u64,
        complete: u64,
        t: &'static str,
        p: SioPacket,
    ) {
        let mut reply = None;
        note_session(cx, dir, frame, &p);
        match (p.ptype, p.ack_id) {
            (SioType::Event | SioType::BinaryEvent, Some(id)) => {
                if let Some(asked) = Asked::at(&cx.now, complete, dir) {
                    let q = &mut self.waiting.acks;
                    if q.len() >= MAX_ACKS_WAITING {
                        q.pop_front();
                    }
                    q.push_back(AckWait {
                        asked,
                        namespace: p.namespace.clone(),
                        id,
                        event: clip(p.event.as_deref().unwrap_or("?")),
                    });
                }
            }
            (SioType::Ack | SioType::BinaryAck, Some(id)) => {
                let q = &mut self.waiting.acks;
                let found = q
                    .iter()
                    .position(|w| w.asked.by != dir && w.id == id && w.namespace == p.namespace);
                if let Some(w) = found.and_then(|i| q.remove(i)) {
                    let what = || {
                        let ns = if w.namespace == "/" {
                            String::new()
                        } else {
                            format!("{} ", w.namespace)
                        };
                        format!("{ns}\"{}\" #{id}", w.event)
                    };
                    reply = latency::measure(Kind::SocketioAck, &w.asked, complete, &cx.now, what);
                }
            }
            _ => {}
        }
        sio(cx, dir, frame, complete, t, p);
        if let Some(r) = reply {
            cx.reply(r);
        }
    }
}

/// A CONNECT's session ids, and who said goodbye first.
fn note_session(cx: &mut Cx<'_>, dir: Dir, frame: u64, p: &SioPacket) {
    let so = cx.app.socketio.get_or_insert_default();
    match p.ptype {
        SioType::Connect if so.connects.len() < MAX_CONNECTS => {
            let field = |k: &str| {
                p.data
                    .as_ref()
                    .and_then(|d| d.get(k))
                    .and_then(|v| v.as_str())
                    .map(clip)
            };
            so.connects.push(SioConnect {
                frame,
                from: dir,
                namespace: clip(&p.namespace),
                sid: field("sid"),
                pid: field("pid"),
                offset: field("offset"),
            });
        }
        SioType::Disconnect => {
            so.disconnect_from.get_or_insert(dir);
        }
        _ => {}
    }
}

/// A heartbeat ping after the one before: the interval between them, and
/// whether it came later than the client waits (interval + timeout).
fn heartbeat_interval(cx: &mut Cx<'_>, last: Option<Asked>, now: Option<Asked>) {
    let (Some(last), Some(now)) = (last, now) else {
        return;
    };
    let ns = now.ts.since(last.ts).clamp(0, i64::MAX as i128) as i64;
    let wants = cx
        .app
        .latency
        .heartbeat
        .as_ref()
        .is_none_or(|h| h.intervals.wants());
    let room = wants && cx.sample_room(SAMPLE_BYTES);
    let hb: &mut Heartbeat = cx.app.latency.heartbeat.get_or_insert_default();
    hb.intervals.push(ns, room);
    if let (Some(i), Some(t)) = (hb.ping_interval_ms, hb.ping_timeout_ms)
        && ns as f64 / 1e6 > (i + t) as f64
    {
        hb.late_pings += 1;
    }
}

impl CarriedAnalyzer for EngineIo {
    fn name(&self) -> &'static str {
        "socket.io"
    }

    fn envelope_part(&self) -> Part {
        Part::EngineIoEnvelope
    }

    fn http_request(&mut self, cx: &mut Cx<'_>, head: &Head) -> bool {
        let Some((v, transport, sid)) = head.uri.as_deref().and_then(super::parse_uri) else {
            return false;
        };
        self.v3 = v == 3;
        self.post = head.method.as_deref() == Some("POST");
        let so = cx.app.socketio.get_or_insert_default();
        let t: &'static str = if transport == "websocket" {
            "websocket"
        } else {
            "polling"
        };
        if !so.transports.contains(&t) {
            so.transports.push(t);
        }
        if so.sid.is_none() {
            so.sid = sid;
        }
        transport == "polling"
    }

    fn unit(&mut self, cx: &mut Cx<'_>, u: &Unit<'_>) -> u64 {
        match u.carrier {
            Carrier::WebSocket => self.websocket(cx, u),
            Carrier::HttpBody => self.polling(cx, u),
        }
    }

    fn finish(&mut self, cx: &mut Cx<'_>, last_frame: u64, carrier: Carrier) {
        if self.waiting.ping.iter().flatten().any(|(_, probe)| !probe)
            && let Some(hb) = &mut cx.app.latency.heartbeat
        {
            hb.unanswered_at_end = true;
        }
        for dir in [Dir::ClientToServer, Dir::ServerToClient] {
            if let Some(p) = self.joiner[dir as usize].finish() {
                let at = self.held_at[dir as usize];
                self.sio(cx, dir, at, last_frame, transport(carrier), p);
            }
        }
    }
}

/// An Engine.IO packet: counted, listed (but messages: their Socket.IO
/// packet is), reported.
fn packet(cx: &mut Cx<'_>, dir: Dir, frame: u64, transport: &'static str, mut p: EioPacket) {
    let detail = cx.opts.detail;
    if cx.app.protocol != Some("socket.io") {
        // Socket.IO names the connection once one of its packets is seen.
        cx.app.protocol = Some("engine.io");
    }
    let so = cx.app.socketio.get_or_insert_default();
    count(&mut so.engine_packets, p.type_name());
    if let EioPacket::Open(o) = &p {
        so.sid.get_or_insert_with(|| o.sid.clone());
    }
    if detail && !matches!(p, EioPacket::Message(_)) && so.packet_rows.len() < MAX_LISTED {
        so.packet_rows.push(SioRow {
            frame,
            complete_frame: frame,
            from: dir,
            transport,
            engine_type: p.type_name(),
            socket_type: None,
            namespace: None,
            ack_id: None,
            event: None,
            args: Vec::new(),
        });
    }
    // A message's text was decoded above; the views show none of it, so
    // the event carries only a head of it (a Socket.IO message may be 1 MiB).
    let keep = cx.opts.keep_messages;
    if let EioPacket::Message(EioData::Text(t)) = &mut p
        && t.len() > keep
    {
        t.truncate(t.floor_char_boundary(keep));
        t.shrink_to_fit();
    }
    cx.emit(EngineIoEvent::Packet {
        dir,
        frame,
        transport,
        packet: p,
    });
}

/// A Socket.IO packet, its arguments decoded only when a view reads them.
fn parse_sio(cx: &Cx<'_>, text: &str) -> Result<SioPacket, String> {
    if cx.opts.values {
        socketio::parse(text)
    } else {
        socketio::parse_shape(text)
    }
}

/// Adds one to `key`'s count; only a key not counted yet is copied.
fn count(counts: &mut std::collections::BTreeMap<String, u64>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_owned(), 1);
        }
    }
}

/// A Socket.IO packet: counted, listed, reported. `frame` holds the
/// packet, `complete` its last attachment (the same frame without any).
fn sio(
    cx: &mut Cx<'_>,
    dir: Dir,
    frame: u64,
    complete: u64,
    transport: &'static str,
    p: SioPacket,
) {
    if let Some(w) = &p.warning {
        cx.problem(format!(
            "{}: Socket.IO packet at frame {frame} {w}",
            dir.sender()
        ));
    }
    let so = cx.app.socketio.get_or_insert_default();
    count(&mut so.socket_packets, p.ptype.name());
    if let Some(e) = &p.event {
        count(&mut so.events, &clipped(e));
    }
    let listed = so.packet_rows.len();
    // What the row would hold is weighed only where rows are listed.
    if cx.lists(listed) && {
        let held = size_of::<SioRow>()
            + p.namespace.len()
            + p.event.as_ref().map_or(0, String::len)
            + p.args().iter().map(value_bytes).sum::<usize>();
        cx.listable(listed, held)
    } {
        let row = SioRow {
            frame,
            complete_frame: complete,
            from: dir,
            transport,
            engine_type: "message",
            socket_type: Some(p.ptype.name()),
            namespace: Some(p.namespace.clone()),
            ack_id: p.ack_id,
            event: p.event.clone(),
            args: p.args().to_vec(),
        };
        cx.app
            .socketio
            .get_or_insert_default()
            .packet_rows
            .push(row);
    }
    cx.app.protocol = Some("socket.io");
    cx.emit(EngineIoEvent::SocketIo {
        dir,
        frame,
        complete_frame: complete,
        transport,
        packet: p,
    });
}

/// Bytes a JSON value holds: its node, and the strings, arrays and maps
/// under it (walked with a stack of its own, not by recursion).
fn value_bytes(v: &serde_json::Value) -> usize {
    use serde_json::Value;
    let mut bytes = 0;
    let mut todo = vec![v];
    while let Some(v) = todo.pop() {
        bytes += size_of::<Value>();
        match v {
            Value::String(s) => bytes += s.len(),
            Value::Array(a) => todo.extend(a),
            Value::Object(m) => {
                for (k, v) in m {
                    // A key, and its slot in the map's index and entries.
                    bytes += k.len() + size_of::<String>() + size_of::<usize>();
                    todo.push(v);
                }
            }
            _ => {}
        }
    }
    bytes
}
