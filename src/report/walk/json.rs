//! The walkthrough as JSON: the connection record with its timeline and
//! every frame, message and packet listed.
//!
//! The record is built as a JSON tree, but its long lists (the timeline,
//! WebSocket frames and messages, Socket.IO packets) only hold their place
//! in it: they are written straight from their rows, in that place. Built
//! as trees first, they cost 7 % more CPU time (100 MB benchmark capture,
//! one thread).

use std::io::{self, Write};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::WalkView;
use super::story::{Step, Story};
use crate::flow::{ConnSummary, Dir};
use crate::proto::engineio::record::SioRow;
use crate::proto::stack::AppSummary;
use crate::proto::websocket::record::{FrameRow, MessageRow};
use crate::report::{json_write, record};

/// A value of the record: a list written from its rows, or an object of the
/// tree some of whose keys are such lists.
enum Entry<'a> {
    Steps(&'a [Step]),
    Frames(&'a [FrameRow]),
    Messages(&'a [MessageRow]),
    Packets(&'a [SioRow]),
    Object(&'a Map<String, Value>, Vec<(&'static str, Entry<'a>)>),
}

impl Serialize for Entry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Entry::Steps(v) => v.serialize(s),
            Entry::Frames(v) => v.serialize(s),
            Entry::Messages(v) => v.serialize(s),
            Entry::Packets(v) => v.serialize(s),
            Entry::Object(m, lists) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in *m {
                    match lists.iter().find(|(name, _)| name == k) {
                        Some((_, e)) => map.serialize_entry(k, e)?,
                        None => map.serialize_entry(k, v)?,
                    }
                }
                map.end()
            }
        }
    }
}

impl<W: Write> WalkView<W> {
    pub(super) fn write_json(
        &mut self,
        s: &ConnSummary,
        app: Option<&AppSummary>,
        story: &Story,
    ) -> io::Result<()> {
        let mut v = record::connection(s, app);
        // Where the long lists go in the record: each key holds a null in
        // the tree until it is written.
        let (mut ws_lists, mut sio_lists) = (Vec::new(), Vec::new());
        if let Value::Object(m) = &mut v {
            // Each reply listed under its kind (heartbeat: under its pongs).
            let lat = record::LatencyRecord::of(s, app.map(|a| &a.latency));
            if let Some(Value::Object(l)) = m.get_mut("latency") {
                for (name, pairs) in lat.pairs() {
                    let slot = match l.get_mut(name) {
                        Some(Value::Object(o)) if name == "heartbeat" => o.get_mut("pongs"),
                        other => other,
                    };
                    if let (Some(Value::Object(o)), Some(p)) = (slot, pairs) {
                        o.insert(
                            "pairs".into(),
                            serde_json::to_value(p).map_err(io::Error::other)?,
                        );
                    }
                }
            }
            if let Some(w) = app.and_then(|a| a.websocket.as_ref())
                && let Some(Value::Object(ws)) = m.get_mut("websocket")
            {
                for (from, to) in [
                    ("frames", "frame_counts"),
                    ("messages", "message_counts"),
                    ("violations", "violation_count"),
                ] {
                    if let Some(v) = ws.remove(from) {
                        ws.insert(to.into(), v);
                    }
                }
                ws.insert("frames".into(), Value::Null);
                ws.insert("messages".into(), Value::Null);
                ws_lists = vec![
                    ("frames", Entry::Frames(&w.frame_rows)),
                    ("messages", Entry::Messages(&w.message_rows)),
                ];
                let vio: Vec<Value> = w
                    .violation_rows
                    .iter()
                    .map(|(f, k)| serde_json::json!({"frame": f, "kind": k}))
                    .collect();
                ws.insert("violations".into(), Value::Array(vio));
            }
            if let Some(r) = &self.resume
                && let Some(Value::Object(so)) = m.get_mut("socketio")
            {
                so.insert(
                    "resumes".into(),
                    serde_json::to_value(r).map_err(io::Error::other)?,
                );
            }
            if let Some(sio) = app.and_then(|a| a.socketio.as_ref())
                && let Some(Value::Object(so)) = m.get_mut("socketio")
            {
                so.insert("packets".into(), Value::Null);
                sio_lists = vec![("packets", Entry::Packets(&sio.packet_rows))];
            }
            let list: Vec<Value> = s
                .anomaly_list
                .iter()
                .map(|(f, k)| serde_json::json!({"frame": f, "kind": k}))
                .collect();
            m.insert(
                "anomaly_counts".into(),
                m.get("anomalies").cloned().unwrap_or(Value::Null),
            );
            m.insert("anomalies".into(), Value::Array(list));
            m.insert("timeline".into(), Value::Null);
            m.insert("steps_omitted".into(), story.omitted.into());
            m.insert(
                "rows_not_listed".into(),
                app.map_or(0, |a| a.rows_not_listed).into(),
            );
        }
        let mut buf = std::mem::take(&mut self.json);
        buf.clear();
        match &v {
            Value::Object(m) => {
                let mut lists = vec![("timeline", Entry::Steps(&story.steps))];
                for (key, sub) in [("websocket", ws_lists), ("socketio", sio_lists)] {
                    if let (false, Some(Value::Object(o))) = (sub.is_empty(), m.get(key)) {
                        lists.push((key, Entry::Object(o, sub)));
                    }
                }
                Entry::Object(m, lists).write(&mut buf, &mut self.out)?;
            }
            v => json_write::value(&mut buf, v)?,
        }
        buf.push(b'\n');
        let res = self.out.write_all(&buf);
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

impl Entry<'_> {
    /// Writes the entry as [`Serialize`] would, by hand: numbers with itoa,
    /// strings through [`json_write::string`] (copied as they are when
    /// nothing needs escaping). `buf` goes to `out` whenever it holds
    /// [`FLUSH_AT`] bytes. A test holds both roads to the same bytes.
    fn write(&self, buf: &mut Vec<u8>, out: &mut impl Write) -> io::Result<()> {
        match self {
            Entry::Steps(v) => list(buf, out, v, step),
            Entry::Frames(v) => list(buf, out, v, frame_row),
            Entry::Messages(v) => list(buf, out, v, message_row),
            Entry::Packets(v) => list(buf, out, v, sio_row),
            Entry::Object(m, lists) => {
                buf.push(b'{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        buf.push(b',');
                    }
                    json_write::string(buf, k)?;
                    buf.push(b':');
                    match lists.iter().find(|(name, _)| name == k) {
                        Some((_, e)) => e.write(buf, out)?,
                        None => json_write::value(buf, v)?,
                    }
                }
                buf.push(b'}');
                Ok(())
            }
        }
    }
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

    /// The hand-written lists and objects are what serde writes from the
    /// same rows, every optional member present and absent.
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
                Value::Null,
            ],
        }];
        let mut m = Map::new();
        m.insert("id".into(), 7.into());
        m.insert("timeline".into(), Value::Null);
        m.insert("rel".into(), 0.1.into());
        m.insert(
            "websocket".into(),
            serde_json::json!({"frames": null, "n": 1}),
        );
        m.insert("messages".into(), Value::Null);
        m.insert(
            "socketio".into(),
            serde_json::json!({"sid": "a\"b", "packets": null}),
        );
        let ws = match m.get("websocket") {
            Some(Value::Object(o)) => o.clone(),
            _ => unreachable!(),
        };
        let so = match m.get("socketio") {
            Some(Value::Object(o)) => o.clone(),
            _ => unreachable!(),
        };
        let entry = Entry::Object(
            &m,
            vec![
                ("timeline", Entry::Steps(&story.steps)),
                (
                    "websocket",
                    Entry::Object(&ws, vec![("frames", Entry::Frames(&frames))]),
                ),
                ("messages", Entry::Messages(&messages)),
                (
                    "socketio",
                    Entry::Object(&so, vec![("packets", Entry::Packets(&packets))]),
                ),
            ],
        );
        let mut serde = Vec::new();
        json_write::write(&mut serde, &entry).expect("vec");
        let (mut buf, mut out) = (Vec::new(), Vec::new());
        entry.write(&mut buf, &mut out).expect("vec");
        out.extend_from_slice(&buf);
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&serde)
        );
    }
}
