//! Both directions of a WebSocket connection as an analyzer: frames and
//! messages counted, the closing handshake followed, each message handed to
//! the protocol it carries (Engine.IO, chosen by the offer's URI), and the
//! bytes booked: frame headers as WebSocket framing, control payloads as
//! WebSocket control, messages as the carried protocol's envelope and
//! application payload.

use std::collections::VecDeque;

use super::coding::{OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, opcode_name};
use super::deflate::DeflateParams;
use super::parser::{FrameInfo, MAX_MESSAGE_KEEP, MessageInfo, Side, WsEvent, WsParser};
use super::record::{CloseInfo, FrameRow, MessageRow, WebSocketEvent, WebSocketSummary};
use crate::flow::Dir;
use crate::proto::bytes::Part;
use crate::proto::latency::{self, Asked, Kind};
use crate::proto::stack::{
    CarriedAnalyzer, Carrier, Cx, MAX_LISTED, MAX_TEXT, SHARES, StreamAnalyzer, Unit,
};

/// A text message as listed: clipped like any text, and marked when the parser kept
/// only its head (a cut character at the end is dropped, not replaced).
/// The text of `kept` (the first bytes of a text of `total` bytes) as
/// listed, at most `cap` bytes of it, and whether it is cut.
fn listed_text(kept: &[u8], total: u64, cap: usize) -> (String, bool) {
    let t = crate::text::utf8_head(kept, cap).into_owned();
    let cut = (t.len() as u64) < total;
    (t, cut)
}

/// Pings waiting for their pong, per side (the oldest are dropped).
pub const MAX_PINGS_WAITING: usize = 64;

/// A WebSocket connection, both directions.
pub struct WebSocket {
    parsers: [WsParser; 2],
    /// The protocol its messages carry.
    carried: Option<Box<dyn CarriedAnalyzer>>,
    /// Frames and messages by direction and opcode, named in the summary at
    /// the end (counting by name per frame would format a string each time).
    frame_counts: [[u64; 16]; 2],
    message_counts: [[u64; 16]; 2],
    /// Reused for each push to a parser.
    events: Vec<WsEvent>,
    /// Pings each side sent that wait for a pong: when, and their payload.
    pings: [VecDeque<(Asked, Vec<u8>)>; 2],
    /// The first close, waiting for the other side's.
    close_asked: Option<Asked>,
    close_seen: bool,
}

impl WebSocket {
    /// After a handshake that agreed on `deflate`, with `carried` reading the
    /// messages. A carried protocol needs whole messages; plain ones are only
    /// previewed, so the parsers keep no more than the views show.
    pub fn new(
        cx: &Cx<'_>,
        deflate: Option<DeflateParams>,
        carried: Option<Box<dyn CarriedAnalyzer>>,
    ) -> Self {
        let parser = |side, deflate| {
            let mut p = WsParser::new(side, deflate);
            if let Some(l) = &cx.opts.messages {
                p = p.sharing(l);
            }
            p.keep_frames(cx.opts.keep_frames);
            if carried.is_none() {
                // The lists' text counts only where rows are listed: without
                // them (`flows`) a plain message is never copied.
                let listed = if cx.opts.detail { cx.opts.list_text } else { 0 };
                p.keep_messages(cx.opts.keep_messages.max(listed));
            }
            if cx.opts.detail {
                // Without a row, a data frame's payload is not shown, and a
                // plain message only as the head the events carry.
                let message = if carried.is_none() {
                    cx.opts.keep_messages
                } else {
                    MAX_MESSAGE_KEEP
                };
                p.keep_unlisted(0, message);
            }
            p
        };
        WebSocket {
            parsers: [
                parser(Side::Client, deflate.clone()),
                parser(Side::Server, deflate),
            ],
            carried,
            frame_counts: [[0; 16]; 2],
            message_counts: [[0; 16]; 2],
            events: Vec::new(),
            pings: Default::default(),
            close_asked: None,
            close_seen: false,
        }
    }

    /// A ping waits for its pong; a pong answers the oldest ping of the
    /// other side with the same payload (RFC 6455 §5.5.3: an endpoint may
    /// answer only the latest of several, so the ones before it are given
    /// up); a close answers the other side's.
    fn reply(&mut self, cx: &mut Cx<'_>, dir: Dir, f: &FrameInfo) {
        let d = dir as usize;
        match f.opcode {
            OP_PING => {
                if let Some(a) = Asked::at(&cx.now, f.frame, dir) {
                    let q = &mut self.pings[d];
                    if q.len() >= MAX_PINGS_WAITING {
                        q.pop_front();
                    }
                    q.push_back((a, f.payload.clone()));
                }
            }
            OP_PONG => {
                let q = &mut self.pings[1 - d];
                let Some(i) = q.iter().position(|(_, p)| *p == f.payload) else {
                    return;
                };
                let answered = q.drain(..=i).next_back();
                if let Some((asked, payload)) = answered {
                    let what = || format!("ping{}", latency::quote(&payload));
                    if let Some(r) = latency::measure(Kind::WsPing, &asked, f.frame, &cx.now, what)
                    {
                        cx.reply(r);
                    }
                }
            }
            OP_CLOSE if !self.close_seen => {
                self.close_seen = true;
                self.close_asked = Asked::at(&cx.now, f.frame, dir);
            }
            OP_CLOSE => match self.close_asked {
                Some(a) if a.by != dir => {
                    self.close_asked = None;
                    let code = f.close.as_ref().and_then(|(c, _)| *c);
                    let what = || match code {
                        Some(c) => format!("close {c}"),
                        None => "close".into(),
                    };
                    if let Some(r) = latency::measure(Kind::WsClose, &a, f.frame, &cx.now, what) {
                        cx.reply(r);
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// A connection seen only after its handshake, taken to carry WebSocket
    /// frames because the user said so (`--decode-as PORT=websocket`).
    pub fn assumed(cx: &mut Cx<'_>) -> Self {
        cx.app.websocket = Some(WebSocketSummary {
            problems: vec!["inferred"],
            established: true,
            ..WebSocketSummary::default()
        });
        cx.app.protocol = Some("websocket");
        WebSocket::new(cx, None, None)
    }

    fn frame(&mut self, cx: &mut Cx<'_>, dir: Dir, f: FrameInfo) {
        let d = dir as usize;
        cx.book(Part::WebSocketFraming, f.header_len as u64);
        if f.opcode >= OP_CLOSE {
            cx.book(Part::WebSocketControl, f.payload_len);
        }
        if let Some(ws) = &mut cx.app.websocket {
            self.frame_counts[d][usize::from(f.opcode & 0x0f)] += 1;
            if f.opcode == OP_CLOSE {
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
        let listed = cx.app.websocket.as_ref().map_or(0, |w| w.frame_rows.len());
        let held = if f.opcode == OP_TEXT && f.fin && !f.rsv1 {
            f.payload.len().min(MAX_TEXT)
        } else {
            2 * f.payload.len().min(64)
        };
        if f.unlisted {
            cx.not_listed(listed);
        } else if cx.listable(listed, size_of::<FrameRow>() + held) {
            let (text, text_truncated) = if f.opcode == OP_TEXT && f.fin && !f.rsv1 {
                let (t, cut) = listed_text(&f.payload, f.payload_len, MAX_TEXT);
                (Some(t), cut)
            } else {
                (None, false)
            };
            let data_hex = (f.opcode != OP_TEXT && !f.payload.is_empty())
                .then(|| crate::text::hex(f.payload.get(..64).unwrap_or(&f.payload)));
            if let Some(ws) = &mut cx.app.websocket {
                ws.frame_rows.push(FrameRow {
                    frame: f.frame,
                    from: dir,
                    fin: f.fin,
                    rsv1: f.rsv1,
                    opcode: f.opcode,
                    masked: f.masked,
                    payload_len: f.payload_len,
                    text,
                    text_truncated,
                    data_hex,
                });
            }
        }
        let control = f.opcode >= OP_CLOSE;
        if control {
            // The frame's step first, then how long it took to answer.
            let mut replies = Vec::new();
            self.reply(&mut cx.with_out(&mut replies), dir, &f);
            cx.emit(WebSocketEvent::Frame { dir, frame: f });
            cx.out.append(&mut replies);
        } else {
            cx.emit(WebSocketEvent::Frame { dir, frame: f });
        }
    }

    fn message(&mut self, cx: &mut Cx<'_>, dir: Dir, mut m: MessageInfo) {
        let d = dir as usize;
        if cx.app.websocket.is_some() {
            self.message_counts[d][usize::from(m.opcode & 0x0f)] += 1;
        }
        if m.cut_by_shared {
            let size = crate::text::size_text(cx.opts.messages.as_ref().map_or(0, |l| l.limit()));
            cx.problem(format!(
                "{}: WebSocket message at frames {}–{} not kept whole: the {size} shared by the unfinished messages of its share of the connections (one in {SHARES}) were in use",
                dir.sender(),
                m.first_frame,
                m.last_frame
            ));
        }
        // The message first, then what the carried protocol found in it.
        let mut envelope = 0u64;
        let mut carried_events = Vec::new();
        let mut part = Part::Payload;
        if let Some(c) = self.carried.as_mut().filter(|_| m.error.is_none()) {
            let unit = Unit {
                dir,
                frame: m.last_frame,
                carrier: Carrier::WebSocket,
                binary: m.opcode == OP_BINARY,
                data: &m.data,
            };
            envelope = c.unit(&mut cx.with_out(&mut carried_events), &unit);
            part = c.envelope_part();
        }
        cx.book_carried(part, envelope, m.wire_len, m.compressed);
        let listed = cx
            .app
            .websocket
            .as_ref()
            .map_or(0, |w| w.message_rows.len());
        let cap = cx.opts.list_text;
        let head = m.data.len().min(cap);
        let held = match m.opcode {
            OP_TEXT => head,
            OP_BINARY => head.div_ceil(3) * 4,
            _ => 0,
        } + m.segments.frames.len() * size_of::<u64>()
            + m.error.as_ref().map_or(0, String::len);
        if m.unlisted {
            cx.not_listed(listed);
        } else if cx.listable(listed, size_of::<MessageRow>() + held) {
            let total = m.length.unwrap_or(m.wire_len);
            let (text, text_truncated) = if m.opcode == OP_TEXT {
                let (t, cut) = listed_text(&m.data, total, cap);
                (Some(t), cut)
            } else {
                (None, false)
            };
            let (data_b64, data_truncated) = if m.opcode == OP_BINARY {
                let head = &m.data[..m.data.len().min(cap)];
                (Some(base64_encode(head)), (head.len() as u64) < total)
            } else {
                (None, false)
            };
            let row = MessageRow {
                first_frame: m.first_frame,
                last_frame: m.last_frame,
                from: dir,
                opcode: m.opcode,
                length: m.length,
                wire_len: m.wire_len,
                compressed: m.compressed,
                fragments: m.fragments,
                segments: m.segments.frames.clone(),
                segments_count: m.segments.count,
                text,
                text_truncated,
                data_b64,
                data_truncated,
                error: m.error.clone(),
            };
            if let Some(ws) = &mut cx.app.websocket {
                ws.message_rows.push(row);
            }
        }
        // Decoded: the views print only the head of a message (as much as
        // plain messages keep), so the rest goes now rather than travel with
        // the event.
        if m.data.len() > cx.opts.keep_messages {
            m.data.truncate(cx.opts.keep_messages);
            m.data.shrink_to_fit();
        }
        cx.emit(WebSocketEvent::Message { dir, message: m });
        cx.out.append(&mut carried_events);
    }

    fn violation(cx: &mut Cx<'_>, dir: Dir, frame: u64, kind: &'static str) {
        if let Some(ws) = &mut cx.app.websocket {
            ws.violations += 1;
            if cx.opts.detail && ws.violation_rows.len() < MAX_LISTED {
                ws.violation_rows.push((frame, kind));
            }
        }
        cx.emit(WebSocketEvent::Violation { dir, frame, kind });
    }
}

impl StreamAnalyzer for WebSocket {
    fn data(&mut self, cx: &mut Cx<'_>, dir: Dir, frame: u64, bytes: &[u8]) {
        let mut evs = std::mem::take(&mut self.events);
        let p = &mut self.parsers[dir as usize];
        // The stream offset of the parser's byte 0.
        let base = cx.at.and_then(|a| a.checked_sub(p.seen()));
        if cx.opts.detail {
            let ws = cx.app.websocket.as_ref();
            let frames = ws.map_or(0, |w| w.frame_rows.len());
            let messages = ws.map_or(0, |w| w.message_rows.len());
            p.rows_listable(
                cx.may_list(frames, size_of::<FrameRow>()),
                cx.may_list(messages, size_of::<MessageRow>()),
            );
        }
        p.push(bytes, frame, &mut evs);
        for e in evs.drain(..) {
            match e {
                WsEvent::Frame(mut f) => {
                    f.stream_at = base.map(|b| b + f.at);
                    self.frame(cx, dir, f)
                }
                WsEvent::Message(m) => self.message(cx, dir, m),
                WsEvent::Violation { frame, kind } => Self::violation(cx, dir, frame, kind),
            }
        }
        self.events = evs;
    }

    fn gap(&mut self, _cx: &mut Cx<'_>, dir: Dir) {
        self.parsers[dir as usize].gap();
    }

    fn finish(&mut self, cx: &mut Cx<'_>, last_frame: u64) {
        if let Some(c) = self.carried.as_mut() {
            c.finish(cx, last_frame, Carrier::WebSocket);
        }
        for dir in [Dir::ClientToServer, Dir::ServerToClient] {
            let p = &self.parsers[dir as usize];
            if let Some(what) = p.unfinished() {
                cx.problem(format!("{}: WebSocket {what}", dir.sender()));
            }
            if let Some(why) = p.stop_reason() {
                cx.problem(format!(
                    "{}: WebSocket framing lost ({}); the rest of the direction is not decoded",
                    dir.sender(),
                    why.replace('_', " ")
                ));
            }
        }
        if let Some(ws) = &mut cx.app.websocket {
            for dir in [Dir::ClientToServer, Dir::ServerToClient] {
                let d = dir as usize;
                for (counts, map) in [
                    (&self.frame_counts[d], &mut ws.frames),
                    (&self.message_counts[d], &mut ws.messages),
                ] {
                    for (op, &n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
                        // op < 16: the opcode is a nibble.
                        let name = opcode_name(op as u8);
                        *map.entry(format!("{}:{name}", dir.sender())).or_insert(0) += n;
                    }
                }
            }
        }
    }
}

/// Standard base64 with padding, as JSON carries binary payloads.
fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
