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
use crate::flow::ConnSummary;
use crate::proto::engineio::record::SioRow;
use crate::proto::stack::AppSummary;
use crate::proto::websocket::record::{FrameRow, MessageRow};
use crate::report::record;

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
        match &v {
            Value::Object(m) => {
                let mut lists = vec![("timeline", Entry::Steps(&story.steps))];
                for (key, sub) in [("websocket", ws_lists), ("socketio", sio_lists)] {
                    if let (false, Some(Value::Object(o))) = (sub.is_empty(), m.get(key)) {
                        lists.push((key, Entry::Object(o, sub)));
                    }
                }
                crate::report::json::write(&mut self.out, &Entry::Object(m, lists))?;
            }
            v => crate::report::json::write(&mut self.out, v)?,
        }
        self.out.write_all(b"\n")
    }
}
