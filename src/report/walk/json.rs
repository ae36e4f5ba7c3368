//! The walkthrough as JSON: the connection record with its timeline and
//! every frame, message and packet listed.

use std::io::{self, Write};

use serde_json::Value;

use super::WalkView;
use super::story::Story;
use crate::flow::ConnSummary;
use crate::proto::stack::AppSummary;
use crate::report::record;

impl<W: Write> WalkView<W> {
    pub(super) fn write_json(
        &mut self,
        s: &ConnSummary,
        app: Option<&AppSummary>,
        story: &Story,
    ) -> io::Result<()> {
        let mut v = record::connection(s, app);
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
                ws.insert(
                    "frames".into(),
                    serde_json::to_value(&w.frame_rows).map_err(io::Error::other)?,
                );
                ws.insert(
                    "messages".into(),
                    serde_json::to_value(&w.message_rows).map_err(io::Error::other)?,
                );
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
                so.insert(
                    "packets".into(),
                    serde_json::to_value(&sio.packet_rows).map_err(io::Error::other)?,
                );
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
            m.insert(
                "timeline".into(),
                serde_json::to_value(&story.steps).map_err(io::Error::other)?,
            );
            m.insert("steps_omitted".into(), story.omitted.into());
            m.insert(
                "rows_not_listed".into(),
                app.map_or(0, |a| a.rows_not_listed).into(),
            );
        }
        crate::report::json::write(&mut self.out, &v)?;
        self.out.write_all(b"\n")
    }
}
