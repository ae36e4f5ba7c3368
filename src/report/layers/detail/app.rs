//! The application units a frame carries or completes, as layers after L4:
//! HTTP heads, WebSocket frames and messages, permessage-deflate, Engine.IO
//! and Socket.IO packets.
//!
//! A unit read from the TCP stream as it is (an HTTP head, a WebSocket
//! frame) gets the bytes it has in this frame, found from its offset in the
//! stream ([`Cx::at`](crate::proto::stack::Cx::at)) and the segment's
//! relative sequence number; one that began in an earlier frame says so.
//! A unit made of other units (a message, an inflated message, a packet
//! inside it) or read from decrypted bytes has no bytes of its own here: it
//! is shown in the frame that completed it, as TLS records are.
//!
//! Layers follow the README's OSI mapping: WebSocket framing, masking and
//! compression at L6, HTTP, messages and events at L7.

use serde_json::Value;

use super::{Keep, LayerDetail, layer};
use crate::flow::{Dir, Role, SegmentContext};
use crate::proto::engineio::record::EngineIoEvent;
use crate::proto::engineio::{EioData, EioPacket};
use crate::proto::http::Head;
use crate::proto::http::record::HttpEvent;
use crate::proto::stack::AppEvent;
use crate::proto::websocket::coding::opcode_name;
use crate::proto::websocket::parser::{FrameInfo, MessageInfo};
use crate::proto::websocket::record::WebSocketEvent;
use crate::text::{clip_chars, spaced_hex};

/// Characters of a payload, a message or an argument list shown in a field.
const PREVIEW_CHARS: usize = 120;
/// Bytes of a binary payload shown, in hex.
const PREVIEW_HEX: usize = 32;

/// Where this frame's TCP payload lies: in the frame, and in its direction's
/// stream (low 32 bits, as sequence numbers wrap).
#[derive(Clone, Copy)]
struct Payload {
    dir: Dir,
    offset: usize,
    len: usize,
    stream: u32,
}

impl Payload {
    fn of(layers: &[LayerDetail], tcp: Option<&SegmentContext>) -> Option<Self> {
        let tcp = tcp?;
        let data = layers.iter().rev().find(|l| l.name == "Data")?;
        // A SYN's payload starts after the SYN's own sequence number.
        let first = match tcp.role {
            Role::Syn | Role::SynAck => tcp.rel_seq,
            _ => tcp.rel_seq.wrapping_sub(1),
        };
        Some(Payload {
            dir: tcp.dir,
            offset: data.offset,
            len: data.length,
            stream: first,
        })
    }

    /// The part of `[start, start + len)` of `dir`'s stream in this frame:
    /// its offset in the frame and length, and whether bytes of it came
    /// before.
    fn place(&self, dir: Dir, start: Option<u64>, len: u64) -> Option<(usize, usize, bool)> {
        let start = start?;
        if dir != self.dir {
            return None;
        }
        // Truncation intended: positions compare modulo 2^32, as sequence numbers.
        let d = i64::from((start as u32).wrapping_sub(self.stream) as i32);
        let from = d.max(0);
        let to = d
            .saturating_add(i64::try_from(len).unwrap_or(i64::MAX))
            .min(self.len as i64);
        (to > from).then(|| (self.offset + from as usize, (to - from) as usize, d < 0))
    }
}

/// Adds a layer per application unit among `app`, the events of one frame.
pub fn add_units<'a>(
    layers: &mut Vec<LayerDetail>,
    frame: u64,
    tcp: Option<&SegmentContext>,
    app: impl Iterator<Item = &'a AppEvent>,
) {
    let payload = Payload::of(layers, tcp);
    let mut units = Vec::new();
    // A Socket.IO packet is reported before the Engine.IO packet that
    // carries (or completes) it: shown after it, outer layer first.
    let mut inner = Vec::new();
    for e in app {
        match e {
            AppEvent::Http(HttpEvent::Head { dir, head }) => {
                units.push(http_head(*dir, head, payload));
            }
            AppEvent::WebSocket(WebSocketEvent::Frame { dir, frame: f }) => {
                units.push(ws_frame(*dir, f, frame, payload));
            }
            AppEvent::WebSocket(WebSocketEvent::Message { dir, message }) => {
                if message.compressed {
                    units.push(deflate(*dir, message));
                }
                units.push(ws_message(*dir, message));
            }
            AppEvent::EngineIo(e @ EngineIoEvent::SocketIo { .. }) => inner.push(engineio(e)),
            AppEvent::EngineIo(e) => {
                units.push(engineio(e));
                units.append(&mut inner);
            }
            _ => {}
        }
    }
    units.append(&mut inner);
    layers.extend(units);
}

/// A layer with no bytes of its own in this frame.
fn completed(osi: u8, name: &'static str) -> LayerDetail {
    let mut l = layer(Keep::All, osi, name, 0, 0);
    l.reassembled = true;
    l
}

/// A layer with the bytes it has in this frame, if its place is known.
fn placed(
    osi: u8,
    name: &'static str,
    payload: Option<Payload>,
    dir: Dir,
    start: Option<u64>,
    len: u64,
) -> LayerDetail {
    match payload.and_then(|p| p.place(dir, start, len)) {
        Some((offset, length, _)) => layer(Keep::All, osi, name, offset, length),
        None => completed(osi, name),
    }
}

fn http_head(dir: Dir, h: &Head, payload: Option<Payload>) -> LayerDetail {
    let request = h.method.is_some();
    let name = if request {
        "HTTP request"
    } else {
        "HTTP response"
    };
    let mut l = placed(7, name, payload, dir, h.stream_at, h.head_len as u64);
    if h.first_frame != 0 && h.first_frame != h.frame {
        l.continues_from = Some(h.first_frame);
    }
    let version = format!("HTTP/1.{}", h.version);
    if request {
        l.fields
            .add("method", "Method", h.method.clone().unwrap_or_default());
        l.fields
            .add("uri", "Target", h.uri.clone().unwrap_or_default());
        l.fields.add("version", "Version", version);
    } else {
        l.fields.add("version", "Version", version);
        let mut f = l.fields.add("status", "Status", h.status.unwrap_or(0));
        if let Some(r) = &h.reason {
            f.means(r.clone());
        }
    }
    for (i, (name, value)) in h.headers.iter().enumerate() {
        let mut v = serde_json::Map::new();
        v.insert("name".into(), Value::from(name.as_str()));
        v.insert("value".into(), Value::from(value.as_str()));
        // Where the header line starts in this frame, when it is in it.
        let at = h.lines.get(i).map(|o| u64::from(*o));
        if let (Some(at), Some(start)) = (at, h.stream_at)
            && let Some((offset, _, false)) =
                payload.and_then(|p| p.place(dir, Some(start + at), 1))
        {
            v.insert("offset".into(), Value::from(offset));
        }
        l.fields
            .add("headers", name.clone(), Value::Object(v))
            .in_list()
            .text(value);
    }
    l.fields.add("head_length", "Head length", h.head_len);
    if h.cut {
        l.fields
            .add("cut", "Cut", true)
            .means("the capture lost the rest of this head");
    }
    l.summary = format!("HTTP {} · {}", h.start_line(), dir.sender());
    l
}

fn ws_frame(dir: Dir, f: &FrameInfo, this: u64, payload: Option<Payload>) -> LayerDetail {
    let total = f.header_len as u64 + f.payload_len;
    let mut l = placed(6, "WebSocket frame", payload, dir, f.stream_at, total);
    if f.first_frame != this {
        l.continues_from = Some(f.first_frame);
    }
    let bit = |b: bool| u8::from(b);
    l.fields.add("fin", "FIN", bit(f.fin)).means(if f.fin {
        "the last frame of its message"
    } else {
        "more frames of this message follow"
    });
    let first_data = matches!(f.opcode, 1 | 2);
    let mut rsv1 = l.fields.add("rsv1", "RSV1", bit(f.rsv1));
    if f.rsv1 && first_data {
        rsv1.means("compressed (permessage-deflate)");
    }
    l.fields.add("rsv2", "RSV2", bit(f.rsv2));
    l.fields.add("rsv3", "RSV3", bit(f.rsv3));
    let kind = opcode_name(f.opcode);
    l.fields
        .add("opcode", "Opcode", f.opcode)
        .text(format_args!("{} ({kind})", f.opcode))
        .means(match (f.opcode, f.fin) {
            (1 | 2, true) => "a whole message in one frame",
            (1 | 2, false) => "the first fragment of a message",
            (0, true) => "the last fragment of a message",
            (0, false) => "a middle fragment of a message",
            (8..=10, _) => "a control frame",
            _ => "a reserved opcode",
        });
    l.fields
        .add("mask", "Mask", bit(f.masked))
        .means(if f.masked {
            "the payload is XORed with the masking key, as every client frame's is"
        } else {
            "not masked, as server frames are not"
        });
    let coding = match f.header_len - if f.masked { 4 } else { 0 } {
        2 => "in the 7-bit length field",
        4 => "in the 16-bit extended length, after length byte 126",
        _ => "in the 64-bit extended length, after length byte 127",
    };
    l.fields
        .add("payload_length", "Payload length", f.payload_len)
        .means(coding);
    if let Some(k) = f.mask_key {
        l.fields.add(
            "masking_key",
            "Masking key",
            format!("{:02x}{:02x}{:02x}{:02x}", k[0], k[1], k[2], k[3]),
        );
    }
    l.fields.add("header_length", "Header length", f.header_len);
    if let Some((code, reason)) = &f.close {
        let mut c = l
            .fields
            .add("close_code", "Close code", code.map(Value::from));
        if code.is_none() {
            c.text("none");
        }
        l.fields.add("close_reason", "Close reason", reason.clone());
    } else if !f.payload.is_empty() {
        let text = f.opcode == 1 && !f.rsv1;
        let (v, cut) = preview(&f.payload, f.payload_len, text);
        let mut p = l.fields.add("payload", "Payload", v);
        match (f.masked, cut) {
            (true, true) => p.means("unmasked; its start"),
            (true, false) => p.means("unmasked"),
            (false, true) => p.means("its start"),
            (false, false) => &mut p,
        };
    }
    l.summary = format!(
        "WebSocket {kind} frame{}{}, {} payload bytes · {}",
        if f.fin { ", FIN" } else { "" },
        if f.masked { ", masked" } else { "" },
        f.payload_len,
        dir.sender()
    );
    l
}

fn deflate(dir: Dir, m: &MessageInfo) -> LayerDetail {
    let mut l = completed(6, "permessage-deflate");
    l.fields.add("compressed", "Compressed", m.wire_len);
    let mut inflated = l
        .fields
        .add("inflated", "Inflated", m.length.map(Value::from));
    match (&m.error, m.length) {
        (Some(e), _) => {
            inflated.means(e.clone());
        }
        (None, Some(n)) if m.wire_len > 0 => {
            inflated.means(format!(
                "{:.1}× the compressed size",
                n as f64 / m.wire_len as f64
            ));
        }
        _ => {}
    }
    l.summary = format!(
        "permessage-deflate: {} bytes inflated to {} · {}",
        m.wire_len,
        m.length.map_or("?".to_owned(), |n| n.to_string()),
        dir.sender()
    );
    l
}

fn ws_message(dir: Dir, m: &MessageInfo) -> LayerDetail {
    let mut l = completed(7, "WebSocket message");
    let kind = if m.opcode == 1 { "text" } else { "binary" };
    l.fields.add("type", "Type", kind);
    l.fields
        .add("length", "Length", m.length.map(Value::from))
        .means("bytes of the message, unmasked, joined and inflated");
    l.fields.add("fragments", "Fragments", m.fragments);
    l.fields
        .add("first_frame", "First frame", m.first_frame)
        .means(if m.first_frame == m.last_frame {
            "it came whole in this frame"
        } else {
            "where its first byte came"
        });
    if !m.data.is_empty() {
        let (v, _) = preview(&m.data, m.length.unwrap_or(m.wire_len), m.opcode == 1);
        l.fields.add("data", "Data", v);
    }
    if let Some(e) = &m.error {
        l.fields.add("error", "Error", e.clone());
    }
    l.summary = format!(
        "WebSocket {kind} message, {} bytes · {}",
        m.length.map_or("?".to_owned(), |n| n.to_string()),
        dir.sender()
    );
    l
}

fn engineio(e: &EngineIoEvent) -> LayerDetail {
    match e {
        EngineIoEvent::Packet {
            dir,
            transport,
            packet,
            ..
        } => {
            let mut l = completed(7, "Engine.IO packet");
            l.fields.add("type", "Type", packet.type_name());
            l.fields.add("transport", "Transport", *transport);
            match packet {
                EioPacket::Open(o) => {
                    l.fields.add("sid", "Session id", o.sid.clone());
                    l.fields.add("upgrades", "Upgrades", o.upgrades.clone());
                    if let Some(p) = o.ping_interval {
                        l.fields.add("ping_interval", "Ping interval (ms)", p);
                    }
                    if let Some(p) = o.ping_timeout {
                        l.fields.add("ping_timeout", "Ping timeout (ms)", p);
                    }
                }
                EioPacket::Ping(t) | EioPacket::Pong(t) if !t.is_empty() => {
                    l.fields.add("data", "Data", clip_chars(t, PREVIEW_CHARS));
                }
                EioPacket::Message(EioData::Text(t)) => {
                    l.fields.add("data", "Data", clip_chars(t, PREVIEW_CHARS));
                }
                EioPacket::Message(EioData::Binary(b)) => {
                    l.fields
                        .add("data", "Data", preview(b, b.len() as u64, false).0);
                }
                EioPacket::Invalid(why) => {
                    l.fields.add("error", "Error", why.clone());
                }
                _ => {}
            }
            l.summary = format!("Engine.IO {} · {}", packet.type_name(), dir.sender());
            l
        }
        EngineIoEvent::PostAck { dir, .. } => {
            let mut l = completed(7, "Engine.IO");
            l.fields
                .add("body", "Body", "ok")
                .means("the server received the packets of the POST");
            l.summary = format!("Engine.IO ok · {}", dir.sender());
            l
        }
        EngineIoEvent::SocketIo {
            dir,
            frame,
            complete_frame,
            transport,
            packet,
        } => {
            let mut l = completed(7, "Socket.IO packet");
            l.fields.add("type", "Type", packet.ptype.name());
            l.fields
                .add("namespace", "Namespace", packet.namespace.clone());
            if let Some(ev) = &packet.event {
                l.fields.add("event", "Event", ev.clone());
            }
            if let Some(id) = packet.ack_id {
                l.fields
                    .add("ack_id", "Ack id", id)
                    .means("the sender waits for an acknowledgement with this id");
            }
            if !packet.args().is_empty() {
                let args = Value::from(packet.args().to_vec());
                l.fields
                    .add("args", "Arguments", args.clone())
                    .text(clip_chars(&args.to_string(), PREVIEW_CHARS));
            }
            if packet.attachments > 0 {
                l.fields
                    .add("attachments", "Binary attachments", packet.attachments)
                    .means(format!(
                        "the packet is in frame {frame}, its last attachment completes it here"
                    ));
            }
            if complete_frame != frame {
                l.continues_from = Some(*frame);
            }
            l.fields.add("transport", "Transport", *transport);
            l.summary = format!(
                "Socket.IO {}{} · {}",
                packet.ptype.name(),
                packet
                    .event
                    .as_ref()
                    .map_or(String::new(), |e| format!(" {e:?}")),
                dir.sender()
            );
            l
        }
    }
}

/// The start of a payload: text when it is UTF-8 and meant as text, else
/// hex; and whether it is cut.
fn preview(kept: &[u8], len: u64, text: bool) -> (String, bool) {
    if text {
        let valid = match std::str::from_utf8(kept) {
            Ok(s) => s,
            // A cut may end inside a character: what comes before it.
            Err(e) => std::str::from_utf8(&kept[..e.valid_up_to()]).unwrap_or(""),
        };
        if valid.len() + 4 >= kept.len() {
            let cut = valid.chars().count() > PREVIEW_CHARS || (valid.len() as u64) < len;
            return (clip_chars(valid, PREVIEW_CHARS), cut);
        }
    }
    let mut hex = spaced_hex(kept.get(..PREVIEW_HEX).unwrap_or(kept));
    let cut = (kept.len().min(PREVIEW_HEX) as u64) < len;
    if cut {
        hex.push_str(" …");
    }
    (hex, cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(stream: u32) -> Payload {
        Payload {
            dir: Dir::ClientToServer,
            offset: 66,
            len: 100,
            stream,
        }
    }

    #[test]
    fn a_unit_is_placed_by_its_stream_offset_across_the_sequence_wrap() {
        let c = Dir::ClientToServer;
        // Inside, at the start, cut by the end, begun earlier, elsewhere.
        assert_eq!(
            payload(1000).place(c, Some(1010), 20),
            Some((76, 20, false))
        );
        assert_eq!(
            payload(1000).place(c, Some(1000), 100),
            Some((66, 100, false))
        );
        assert_eq!(
            payload(1000).place(c, Some(1090), 50),
            Some((156, 10, false))
        );
        assert_eq!(payload(1000).place(c, Some(990), 30), Some((66, 20, true)));
        assert_eq!(payload(1000).place(c, Some(1100), 5), None);
        assert_eq!(payload(1000).place(c, Some(900), 100), None);
        assert_eq!(
            payload(1000).place(Dir::ServerToClient, Some(1000), 5),
            None
        );
        assert_eq!(payload(1000).place(c, None, 5), None);
        // Past 4 GiB of stream the low 32 bits still place it.
        let far = (5u64 << 32) + 10;
        assert_eq!(payload(4).place(c, Some(far), 2), Some((72, 2, false)));
        assert_eq!(
            payload(u32::MAX - 1).place(c, Some(1 << 32), 3),
            Some((68, 3, false))
        );
    }

    #[test]
    fn previews_say_when_they_are_cut() {
        assert_eq!(preview(b"hello", 5, true), ("hello".to_owned(), false));
        assert_eq!(preview(b"hello", 9, true), ("hello".to_owned(), true));
        // A cut inside a character keeps the characters before it.
        assert_eq!(
            preview("héllo".as_bytes()[..2].as_ref(), 6, true),
            ("h".to_owned(), true)
        );
        assert_eq!(
            preview(&[0, 1, 0xff], 3, false),
            ("00 01 ff".to_owned(), false)
        );
        assert_eq!(preview(&[0, 1], 40, false), ("00 01 …".to_owned(), true));
    }
}
