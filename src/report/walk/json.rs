//! The walkthrough as JSON: the connection record of `flows` with its
//! timeline and every frame, message and packet listed.
//!
//! The record is written straight to bytes ([`json_members`]), the shared
//! part by serde and the long lists (the timeline, WebSocket frames and
//! messages, Socket.IO packets) by hand from their rows, in pieces of
//! [`FLUSH_AT`] bytes. Built as a JSON tree first, the record took 9 % of
//! `walk`'s instructions, and its lists 7 % more CPU time (100 MB benchmark
//! capture, one thread).

use std::io::{self, Write};

use super::WalkView;
use super::story::{Step, Story};
use crate::flow::{ConnSummary, Dir};
use crate::proto::engineio::record::SioRow;
use crate::proto::stack::AppSummary;
use crate::proto::websocket::record::{FrameRow, MessageRow, WebSocketSummary};
use crate::report::{json_members, json_write, record};

impl<W: Write> WalkView<W> {
    /// The record of `flows` with walk's members: `anomalies`, and under
    /// `websocket` `frames`, `messages` and `violations`, become lists
    /// (the counts move to `anomaly_counts`, `message_counts`,
    /// `frame_counts` and `violation_count`, after the members they
    /// followed); `socketio` gains `resumes` and `packets`; each reply is
    /// listed under its kind in `latency`; `timeline`, `steps_omitted` and
    /// `rows_not_listed` end the record.
    pub(super) fn write_json(
        &mut self,
        s: &ConnSummary,
        app: Option<&AppSummary>,
        story: &Story,
    ) -> io::Result<()> {
        let mut buf = std::mem::take(&mut self.json);
        buf.clear();
        let (out, resume) = (&mut self.out, &self.resume);
        let r = record::record(s, app, true);
        json_members::open(&mut buf, &r, |buf, key| {
            match (key, r.websocket, r.socketio) {
                ("anomalies", _, _) => {
                    member(buf, key);
                    frame_kinds(buf, &s.anomaly_list)?;
                }
                ("websocket", Some(w), _) => {
                    member(buf, key);
                    websocket(buf, out, w)?;
                }
                ("socketio", _, Some(so)) => {
                    member(buf, key);
                    json_members::open(buf, so, |_, _| Ok(false))?;
                    if let Some(r) = resume {
                        member(buf, "resumes");
                        json_write::write(&mut *buf, r)?;
                    }
                    member(buf, "packets");
                    list(buf, out, &so.packet_rows, sio_row)?;
                    buf.push(b'}');
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        member(&mut buf, "anomaly_counts");
        json_write::write(&mut buf, &s.anomalies)?;
        member(&mut buf, "timeline");
        list(&mut buf, out, &story.steps, step)?;
        uint_member(&mut buf, "steps_omitted", story.omitted);
        uint_member(
            &mut buf,
            "rows_not_listed",
            app.map_or(0, |a| a.rows_not_listed),
        );
        buf.extend_from_slice(b"}\n");
        let res = out.write_all(&buf);
        // Kept for the next record, unless an unusually large one grew it.
        if buf.capacity() <= FLUSH_AT * 2 {
            self.json = buf;
        }
        res
    }
}

/// Bytes of a record gathered before they are handed to the output: a long
/// list is written in pieces of about this size.
const FLUSH_AT: usize = 64 * 1024;

/// The WebSocket object of the record. Its three counts, the last members
/// `flows` writes, are renamed and followed by the lists that take their
/// names; they come in the order walk's records have always had.
fn websocket(buf: &mut Vec<u8>, out: &mut impl Write, w: &WebSocketSummary) -> io::Result<()> {
    json_members::open(buf, w, |_, key| {
        Ok(matches!(key, "frames" | "messages" | "violations"))
    })?;
    member(buf, "message_counts");
    json_write::write(&mut *buf, &w.messages)?;
    member(buf, "frame_counts");
    json_write::write(&mut *buf, &w.frames)?;
    uint_member(buf, "violation_count", w.violations);
    member(buf, "frames");
    list(buf, out, &w.frame_rows, frame_row)?;
    member(buf, "messages");
    list(buf, out, &w.message_rows, message_row)?;
    member(buf, "violations");
    frame_kinds(buf, &w.violation_rows)?;
    buf.push(b'}');
    Ok(())
}

/// `[{frame, kind}]`: anomalies and violations by frame.
fn frame_kinds(buf: &mut Vec<u8>, rows: &[(u64, &'static str)]) -> io::Result<()> {
    buf.push(b'[');
    for (i, (f, k)) in rows.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(b"{\"frame\":");
        uint(buf, *f);
        member(buf, "kind");
        json_write::string(buf, k)?;
        buf.push(b'}');
    }
    buf.push(b']');
    Ok(())
}

/// A JSON array of `rows`, each written by `one`.
fn list<T>(
    buf: &mut Vec<u8>,
    out: &mut impl Write,
    rows: &[T],
    one: fn(&mut Vec<u8>, &T) -> io::Result<()>,
) -> io::Result<()> {
    buf.push(b'[');
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        one(buf, r)?;
        if buf.len() >= FLUSH_AT {
            out.write_all(buf)?;
            buf.clear();
        }
    }
    buf.push(b']');
    Ok(())
}

/// A member's key, after the comma that separates it from the one before.
fn member(buf: &mut Vec<u8>, key: &str) {
    buf.push(b',');
    json_write::key(buf, key);
}

/// A string member left out when absent (`skip_serializing_if = "Option::is_none"`).
fn str_member(buf: &mut Vec<u8>, key: &str, v: Option<&str>) -> io::Result<()> {
    match v {
        Some(v) => {
            member(buf, key);
            json_write::string(buf, v)
        }
        None => Ok(()),
    }
}

/// A flag member written only when set (`skip_serializing_if = "Not::not"`).
fn flag_member(buf: &mut Vec<u8>, key: &str, set: bool) {
    if set {
        member(buf, key);
        boolean(buf, true);
    }
}

fn uint_member(buf: &mut Vec<u8>, key: &str, n: u64) {
    member(buf, key);
    uint(buf, n);
}

fn boolean_member(buf: &mut Vec<u8>, key: &str, b: bool) {
    member(buf, key);
    boolean(buf, b);
}

fn dir_member(buf: &mut Vec<u8>, key: &str, d: Dir) {
    member(buf, key);
    dir(buf, d);
}

fn uint(buf: &mut Vec<u8>, n: u64) {
    buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn boolean(buf: &mut Vec<u8>, b: bool) {
    buf.extend_from_slice(if b { b"true" } else { b"false" });
}

fn dir(buf: &mut Vec<u8>, d: Dir) {
    buf.extend_from_slice(match d {
        Dir::ClientToServer => b"\"client\"",
        Dir::ServerToClient => b"\"server\"",
    });
}

fn opt_uint(buf: &mut Vec<u8>, n: Option<u64>) {
    match n {
        Some(n) => uint(buf, n),
        None => buf.extend_from_slice(b"null"),
    }
}

fn opt_str(buf: &mut Vec<u8>, s: Option<&str>) -> io::Result<()> {
    match s {
        Some(s) => json_write::string(buf, s),
        None => {
            buf.extend_from_slice(b"null");
            Ok(())
        }
    }
}

fn step(buf: &mut Vec<u8>, s: &Step) -> io::Result<()> {
    buf.extend_from_slice(b"{\"frame\":");
    uint(buf, s.frame);
    if let Some(l) = s.last_frame() {
        uint_member(buf, "last_frame", l);
    }
    member(buf, "rel_ts");
    json_write::float(buf, s.rel_ts);
    uint_member(buf, "osi", u64::from(s.osi));
    member(buf, "from");
    match s.from {
        Some(d) => dir(buf, d),
        None => buf.extend_from_slice(b"null"),
    }
    member(buf, "kind");
    json_write::string(buf, s.kind)?;
    member(buf, "text");
    json_write::string(buf, &s.text())?;
    buf.push(b'}');
    Ok(())
}

fn frame_row(buf: &mut Vec<u8>, f: &FrameRow) -> io::Result<()> {
    buf.extend_from_slice(b"{\"frame\":");
    uint(buf, f.frame);
    dir_member(buf, "from", f.from);
    boolean_member(buf, "fin", f.fin);
    boolean_member(buf, "rsv1", f.rsv1);
    uint_member(buf, "opcode", u64::from(f.opcode));
    boolean_member(buf, "masked", f.masked);
    uint_member(buf, "payload_len", f.payload_len);
    str_member(buf, "text", f.text.as_deref())?;
    flag_member(buf, "text_truncated", f.text_truncated);
    str_member(buf, "data_hex", f.data_hex.as_deref())?;
    buf.push(b'}');
    Ok(())
}

fn message_row(buf: &mut Vec<u8>, m: &MessageRow) -> io::Result<()> {
    buf.extend_from_slice(b"{\"first_frame\":");
    uint(buf, m.first_frame);
    uint_member(buf, "last_frame", m.last_frame);
    dir_member(buf, "from", m.from);
    uint_member(buf, "opcode", u64::from(m.opcode));
    member(buf, "length");
    opt_uint(buf, m.length);
    uint_member(buf, "wire_len", m.wire_len);
    boolean_member(buf, "compressed", m.compressed);
    uint_member(buf, "fragments", m.fragments);
    member(buf, "segments");
    buf.push(b'[');
    for (i, f) in m.segments.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        uint(buf, *f);
    }
    buf.push(b']');
    uint_member(buf, "segments_count", m.segments_count);
    str_member(buf, "text", m.text.as_deref())?;
    flag_member(buf, "text_truncated", m.text_truncated);
    str_member(buf, "data_b64", m.data_b64.as_deref())?;
    flag_member(buf, "data_truncated", m.data_truncated);
    str_member(buf, "error", m.error.as_deref())?;
    buf.push(b'}');
    Ok(())
}

fn sio_row(buf: &mut Vec<u8>, r: &SioRow) -> io::Result<()> {
    buf.extend_from_slice(b"{\"frame\":");
    uint(buf, r.frame);
    uint_member(buf, "complete_frame", r.complete_frame);
    dir_member(buf, "from", r.from);
    member(buf, "transport");
    json_write::string(buf, r.transport)?;
    member(buf, "engine_type");
    json_write::string(buf, r.engine_type)?;
    member(buf, "socket_type");
    opt_str(buf, r.socket_type)?;
    member(buf, "namespace");
    opt_str(buf, r.namespace.as_deref())?;
    member(buf, "ack_id");
    opt_uint(buf, r.ack_id);
    member(buf, "event");
    opt_str(buf, r.event.as_deref())?;
    member(buf, "args");
    buf.push(b'[');
    for (i, a) in r.args.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        json_write::value(buf, a)?;
    }
    buf.extend_from_slice(b"]}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::walk::story::Segment;

    /// The hand-written lists are what serde writes from the same rows,
    /// every optional member present and absent.
    #[test]
    fn records_written_by_hand_are_what_serde_writes() {
        let mut story = Story::default();
        story.room = true;
        story.push(Step::new(
            1,
            0.25,
            4,
            None,
            "note",
            "A \"quoted\" note – with\u{202e} a bidi control.".into(),
            "label",
        ));
        for i in 0..12 {
            let seg = Segment {
                dir: Dir::ServerToClient,
                flags: 0x10,
                len: 100,
                rel_seq: 1 + 100 * i,
                rel_ack: Some(7),
            };
            story.push_plain(Step::segment(10 + u64::from(i), 0.5, seg), 100);
        }
        story.end_run();
        assert!(story.steps.iter().any(|s| s.last_frame().is_some()));
        let frames = vec![
            FrameRow {
                frame: 3,
                from: Dir::ClientToServer,
                fin: true,
                rsv1: false,
                opcode: 1,
                masked: true,
                payload_len: 5,
                text: Some("h\"i\n".into()),
                text_truncated: true,
                data_hex: None,
            },
            FrameRow {
                frame: 4,
                from: Dir::ServerToClient,
                fin: false,
                rsv1: true,
                opcode: 2,
                masked: false,
                payload_len: 1 << 40,
                text: None,
                text_truncated: false,
                data_hex: Some("00ff".into()),
            },
        ];
        let message = |text: Option<&str>, b64: Option<&str>, cut: bool| MessageRow {
            first_frame: 3,
            last_frame: 9,
            from: Dir::ClientToServer,
            opcode: if text.is_some() { 1 } else { 2 },
            length: cut.then_some(77),
            wire_len: 70,
            compressed: cut,
            fragments: 2,
            segments: vec![3, 5, 9],
            segments_count: 4,
            text: text.map(str::to_owned),
            text_truncated: cut,
            data_b64: b64.map(str::to_owned),
            data_truncated: cut,
            error: cut.then(|| "inflate: \"bad\"".to_owned()),
        };
        let messages = vec![
            message(Some("42[\"chat\",{\"t\":\"ü\"}]"), None, false),
            message(None, Some("AAEC"), true),
        ];
        let packets = vec![SioRow {
            frame: 8,
            complete_frame: 9,
            from: Dir::ServerToClient,
            transport: "websocket",
            engine_type: "message",
            socket_type: Some("EVENT"),
            namespace: None,
            ack_id: Some(12),
            event: Some("chat".into()),
            args: vec![
                serde_json::json!({"a": [1, 2.5, null, "x\u{85}"]}),
                serde_json::Value::Null,
            ],
        }];
        let kinds = vec![(4, "retransmission"), (9, "zero \"window\"")];
        let want = serde_json::json!([
            {"frame": 4, "kind": "retransmission"},
            {"frame": 9, "kind": "zero \"window\""},
        ]);
        // Each list as serde writes it, and by hand; the longest is handed
        // to the output in pieces.
        let many: Vec<FrameRow> = frames.iter().cycle().take(2000).cloned().collect();
        let mut hand = Vec::new();
        let mut serde = Vec::new();
        let (mut buf, mut out) = (Vec::new(), Vec::new());
        list(&mut buf, &mut out, &story.steps, step).expect("vec");
        list(&mut buf, &mut out, &frames, frame_row).expect("vec");
        list(&mut buf, &mut out, &many, frame_row).expect("vec");
        assert!(out.len() >= FLUSH_AT && buf.len() < FLUSH_AT);
        list(&mut buf, &mut out, &messages, message_row).expect("vec");
        list(&mut buf, &mut out, &packets, sio_row).expect("vec");
        frame_kinds(&mut buf, &kinds).expect("vec");
        hand.extend_from_slice(&out);
        hand.extend_from_slice(&buf);
        json_write::write(&mut serde, &story.steps).expect("vec");
        json_write::write(&mut serde, &frames).expect("vec");
        json_write::write(&mut serde, &many).expect("vec");
        json_write::write(&mut serde, &messages).expect("vec");
        json_write::write(&mut serde, &packets).expect("vec");
        json_write::write(&mut serde, &want).expect("vec");
        assert_eq!(
            String::from_utf8_lossy(&hand),
            String::from_utf8_lossy(&serde)
        );
    }
}
