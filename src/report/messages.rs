//! `osiscope messages`: every WebSocket message and Socket.IO packet of the
//! capture in time order, across connections: the capture-side twin of a
//! browser's WebSocket panel. A message that carries Engine.IO is listed as
//! the packet it carries (a Socket.IO event, an ack, a heartbeat); control
//! frames (ping, pong, close) are listed too.
//!
//! A reply says how long after its request it came ("41.200 ms after #53"):
//! the rows stream in capture order, so the time is told where it is known,
//! on the reply, as tshark tells `http.time` on the response.
//!
//! Memory: rows wait for one frame (its reply events come after them) and
//! then at most [`CHUNK_ROWS`] of them for the table's layout.

use std::fmt::Write as _;
use std::io::{self, Write};

use comfy_table::{Cell, CellAlignment, ColumnConstraint, ContentArrangement, Width};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::escape::escape;
use super::flows::human_secs;
use super::{Format, FrameEvent, View, rel_seconds};
use crate::flow::Dir;
use crate::proto::engineio::EioPacket;
use crate::proto::engineio::record::EngineIoEvent;
use crate::proto::latency::{Kind, Reply};
use crate::proto::stack::AppEvent;
use crate::proto::websocket::coding::{OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT};
use crate::proto::websocket::record::WebSocketEvent;

/// Rows rendered per table chunk.
const CHUNK_ROWS: usize = 256;
/// Characters of a message's text in the table (JSON has all that was kept).
const TABLE_TEXT: usize = 80;

/// Which rows to list.
#[derive(Clone, Debug, Default)]
pub struct MessageFilter {
    /// Only rows whose text, event name or arguments contain this.
    pub grep: Option<String>,
    /// Only Socket.IO packets of this event, and the acks that answer them.
    pub event: Option<String>,
}

/// One message or packet.
#[derive(Serialize)]
struct Row {
    /// Seconds since the capture's first frame.
    time: Box<RawValue>,
    /// The frame that completed it.
    frame: u64,
    connection: u64,
    from: Dir,
    /// "websocket", "engine.io" or "socket.io".
    protocol: &'static str,
    /// "text", "binary", "ping", "pong", "close"; Engine.IO's packet type;
    /// Socket.IO's ("event", "ack", "connect", …).
    #[serde(rename = "type")]
    kind: &'static str,
    /// Socket.IO and Engine.IO: "websocket" or "polling".
    #[serde(skip_serializing_if = "Option::is_none")]
    transport: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ack_id: Option<u64>,
    /// Payload bytes of the WebSocket message or frame on the wire (null
    /// for a packet of a long-polling body, which shares its body).
    wire_bytes: Option<u64>,
    /// After permessage-deflate's inflation, when compressed.
    #[serde(skip_serializing_if = "Option::is_none")]
    inflated_bytes: Option<u64>,
    /// Its text (a message's head, up to 4 KiB), or the Socket.IO arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    args: Option<Value>,
    /// The request this row answers, and how long it took.
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<Box<Reply>>,
}

impl Row {
    /// Everything a `--grep` looks in.
    fn contains(&self, needle: &str) -> bool {
        self.text.as_deref().is_some_and(|t| t.contains(needle))
            || self.event.as_deref().is_some_and(|e| e.contains(needle))
            || self
                .args
                .as_ref()
                .is_some_and(|a| a.to_string().contains(needle))
    }

    fn matches(&self, f: &MessageFilter) -> bool {
        let grep = f.grep.as_deref().is_none_or(|g| self.contains(g));
        let event = f.event.as_deref().is_none_or(|e| {
            self.event.as_deref() == Some(e)
                || self.reply_to.as_ref().is_some_and(|r| {
                    r.what.starts_with(&format!("\"{e}\"")) || r.what.contains(&format!(" \"{e}\""))
                })
        });
        grep && event
    }
}

pub struct MessagesView<W: Write> {
    out: W,
    format: Format,
    filter: MessageFilter,
    /// Rows of the current frame (a reply's time comes after its row).
    frame_rows: Vec<Row>,
    table: Vec<Row>,
    header_done: bool,
    shown: u64,
    live: bool,
}

impl<W: Write> MessagesView<W> {
    pub fn new(out: W, format: Format, filter: MessageFilter) -> Self {
        MessagesView {
            out,
            format,
            filter,
            frame_rows: Vec::new(),
            table: Vec::new(),
            header_done: false,
            shown: 0,
            live: false,
        }
    }

    /// Each frame's rows are printed at once.
    pub fn live(mut self) -> Self {
        self.live = true;
        self
    }

    fn flush_table(&mut self) -> io::Result<()> {
        if self.table.is_empty() {
            return Ok(());
        }
        let mut t = super::style::stacking_table();
        if !self.header_done {
            t.set_header([
                "Time", "Frame", "Conn", "From", "Type", "Bytes", "Reply", "Text",
            ]);
            self.header_done = true;
        }
        t.set_content_arrangement(ContentArrangement::Disabled);
        // The same widths in every chunk, so the columns line up.
        t.set_constraints(
            [10, 6, 4, 6, 16, 8, 24, 10].map(|w| ColumnConstraint::LowerBoundary(Width::Fixed(w))),
        );
        for r in self.table.drain(..) {
            let cells = table_cells(&r);
            t.add_row(cells.into_iter().enumerate().map(|(i, v)| {
                let c = Cell::new(v);
                if matches!(i, 0..=2 | 5) {
                    c.set_alignment(CellAlignment::Right)
                } else {
                    c
                }
            }));
        }
        for line in t.lines() {
            writeln!(self.out, "{}", line.trim_end())?;
        }
        Ok(())
    }

    /// The frame's rows, with their replies, go out.
    fn end_frame(&mut self) -> io::Result<()> {
        let mut rows = std::mem::take(&mut self.frame_rows);
        for r in rows.drain(..).filter(|r| r.matches(&self.filter)) {
            self.shown += 1;
            if self.format == Format::Json {
                super::json::write(&mut self.out, &r)?;
                self.out.write_all(b"\n")?;
            } else {
                self.table.push(r);
            }
        }
        self.frame_rows = rows;
        if self.table.len() >= CHUNK_ROWS || (self.live && !self.table.is_empty()) {
            self.flush_table()?;
        }
        if self.live {
            self.out.flush()?;
        }
        Ok(())
    }
}

/// The table's cells of a row, escaped.
fn table_cells(r: &Row) -> [String; 8] {
    let time = r.time.get().to_owned();
    // Six decimals, as the packets table.
    let time = time[..time.len().saturating_sub(3)].to_owned();
    let mut kind = r.kind.to_owned();
    if let Some(ns) = r.namespace.as_deref().filter(|n| *n != "/") {
        let _ = write!(kind, " {}", escape(ns));
    }
    if let Some(id) = r.ack_id {
        let _ = write!(kind, " #{id}");
    }
    let bytes = match (r.wire_bytes, r.inflated_bytes) {
        (Some(w), Some(i)) => format!("{w}→{i}"),
        (Some(w), None) => w.to_string(),
        _ => "–".into(),
    };
    let reply = r.reply_to.as_ref().map_or(String::new(), |q| {
        format!("{} after #{}", human_secs(q.seconds.max(0.0)), q.from_frame)
    });
    let mut text = String::new();
    if let Some(e) = &r.event {
        let _ = write!(text, "\"{e}\"");
    }
    if let Some(a) = &r.args {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&a.to_string());
    }
    if let Some(t) = &r.text {
        text.push_str(t);
    }
    [
        time,
        r.frame.to_string(),
        r.connection.to_string(),
        r.from.sender().to_owned(),
        kind,
        bytes,
        reply,
        crate::text::clip_chars(&escape(&text), TABLE_TEXT),
    ]
}

/// The text of a message's kept bytes: a text message as is, a ping's or
/// pong's payload as text when it is printable text, anything else in hex
/// (the first 32 bytes).
fn payload_text(opcode: u8, data: &[u8]) -> Option<String> {
    if data.is_empty() {
        return None;
    }
    if opcode == OP_TEXT || (opcode != OP_BINARY && crate::text::printable(data).is_some()) {
        return Some(String::from_utf8_lossy(data).into_owned());
    }
    let mut s = crate::text::hex(data.get(..32).unwrap_or(data));
    if data.len() > 32 {
        s.push('…');
    }
    Some(s)
}

impl<W: Write> View for MessagesView<W> {
    fn frame(&mut self, ev: &FrameEvent<'_, '_>) -> io::Result<()> {
        if ev.app.is_empty() {
            return self.end_frame();
        }
        let time = RawValue::from_string(rel_seconds(ev.frame.ts, ev.first_ts))
            .map_err(io::Error::other)?;
        // The WebSocket message that carried the Engine.IO packets listed next.
        let mut carrier: Option<(u64, u64, Option<u64>)> = None;
        for (i, (conn, e)) in ev.app.iter().enumerate() {
            let row = |from: Dir, protocol, kind| Row {
                time: time.clone(),
                frame: ev.frame.number,
                connection: *conn,
                from,
                protocol,
                kind,
                transport: None,
                namespace: None,
                event: None,
                ack_id: None,
                wire_bytes: None,
                inflated_bytes: None,
                text: None,
                args: None,
                reply_to: None,
            };
            match e {
                AppEvent::WebSocket(WebSocketEvent::Message { dir, message: m }) => {
                    let carries = ev.app[i + 1..]
                        .iter()
                        .find(|(c, _)| c == conn)
                        .is_some_and(|(_, e)| matches!(e, AppEvent::EngineIo(_)));
                    let inflated = m.compressed.then_some(m.length).flatten();
                    if carries {
                        carrier = Some((*conn, m.wire_len, inflated));
                        continue;
                    }
                    let kind = if m.opcode == OP_BINARY {
                        "binary"
                    } else {
                        "text"
                    };
                    self.frame_rows.push(Row {
                        wire_bytes: Some(m.wire_len),
                        inflated_bytes: inflated,
                        text: payload_text(m.opcode, &m.data),
                        ..row(*dir, "websocket", kind)
                    });
                }
                AppEvent::WebSocket(WebSocketEvent::Frame { dir, frame: f })
                    if f.opcode >= OP_CLOSE =>
                {
                    let kind = match f.opcode {
                        OP_PING => "ping",
                        OP_PONG => "pong",
                        OP_CLOSE => "close",
                        _ => "control",
                    };
                    let text = match &f.close {
                        Some((Some(code), reason)) if reason.is_empty() => Some(code.to_string()),
                        Some((Some(code), reason)) => Some(format!("{code} {reason}")),
                        Some((None, _)) => None,
                        None => payload_text(f.opcode, &f.payload),
                    };
                    self.frame_rows.push(Row {
                        wire_bytes: Some(f.payload_len),
                        text,
                        ..row(*dir, "websocket", kind)
                    });
                }
                AppEvent::EngineIo(EngineIoEvent::Packet {
                    dir,
                    transport,
                    packet,
                    ..
                }) => {
                    let text = match packet {
                        // Told as the Socket.IO packet it carries.
                        EioPacket::Message(_) => continue,
                        EioPacket::Open(o) => Some(format!(
                            "sid {} · ping every {} ms, timeout {} ms",
                            o.sid,
                            o.ping_interval.unwrap_or(0),
                            o.ping_timeout.unwrap_or(0)
                        )),
                        EioPacket::Ping(t) | EioPacket::Pong(t) if !t.is_empty() => Some(t.clone()),
                        EioPacket::Invalid(w) => Some(w.clone()),
                        _ => None,
                    };
                    let wire = carrier.filter(|c| c.0 == *conn);
                    self.frame_rows.push(Row {
                        transport: Some(transport),
                        wire_bytes: wire.map(|c| c.1),
                        inflated_bytes: wire.and_then(|c| c.2),
                        text,
                        ..row(*dir, "engine.io", packet.type_name())
                    });
                }
                AppEvent::EngineIo(EngineIoEvent::SocketIo {
                    dir,
                    transport,
                    packet: p,
                    ..
                }) => {
                    let wire = carrier.filter(|c| c.0 == *conn);
                    // A CONNECT's payload is an object (its session ids), not arguments.
                    let args = if p.args().is_empty() {
                        p.data.clone().filter(|d| d.is_object())
                    } else {
                        Some(Value::Array(p.args().to_vec()))
                    };
                    self.frame_rows.push(Row {
                        transport: Some(transport),
                        namespace: Some(p.namespace.clone()),
                        event: p.event.clone(),
                        ack_id: p.ack_id,
                        wire_bytes: wire.map(|c| c.1),
                        inflated_bytes: wire.and_then(|c| c.2),
                        args,
                        text: p.warning.as_ref().map(|w| format!("⚠ {w}")),
                        ..row(*dir, "socket.io", p.ptype.name())
                    });
                }
                // An HTTP response is not listed (its packets follow it).
                AppEvent::Reply(r) if r.kind != Kind::Http => {
                    // On the reply's own row: the last of its connection and side.
                    let replier = r.asked_by.other();
                    if let Some(row) = self
                        .frame_rows
                        .iter_mut()
                        .rev()
                        .find(|x| x.connection == *conn && x.from == replier)
                    {
                        row.reply_to = Some(r.clone());
                    }
                }
                _ => {}
            }
        }
        self.end_frame()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.end_frame()?;
        if self.format == Format::Table {
            self.flush_table()?;
            if self.shown == 0 {
                writeln!(self.out, "no WebSocket messages or Socket.IO packets")?;
            }
        }
        self.out.flush()
    }
}
