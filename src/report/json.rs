//! JSON Lines records. Each line is one self-contained object; the schema is
//! documented in the README ("JSON output").

use serde::Serialize;
use serde_json::value::RawValue;

use super::appline::{AppLine, line};
use super::{FrameEvent, rel_seconds};
use crate::capture::FrameKind;
use crate::decode::detail::{self, LayerDetail};

/// One packet with all its layers.
#[derive(Serialize)]
pub struct PacketRecord {
    pub frame: u64,
    /// "packet", or what a non-packet frame is (e.g. "pcapng custom block").
    pub kind: &'static str,
    /// Epoch seconds, written with all nine decimals (a JSON number).
    pub ts: Box<RawValue>,
    /// Seconds since the first frame.
    pub rel_ts: Box<RawValue>,
    pub interface: u32,
    pub linktype: u32,
    pub caplen: usize,
    pub len: u32,
    pub layers: Vec<LayerDetail>,
    /// Why decoding stopped early (truncated or malformed), else null.
    pub problem: Option<String>,
    /// What the application layer found in this frame's bytes (HTTP heads,
    /// WebSocket frames and messages, Engine.IO/Socket.IO packets).
    pub app: Vec<AppLine>,
}

fn number(s: String) -> Box<RawValue> {
    // The strings come from integer formatting: always valid JSON numbers.
    RawValue::from_string(s)
        .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("literal"))
}

impl PacketRecord {
    pub fn new(ev: &FrameEvent<'_, '_>) -> Self {
        let f = ev.frame;
        PacketRecord {
            frame: f.number,
            kind: match f.kind {
                FrameKind::Packet => "packet",
                FrameKind::Event(what) => what,
            },
            ts: number(f.ts.to_string()),
            rel_ts: number(rel_seconds(f.ts, ev.first_ts)),
            interface: f.interface,
            linktype: f.linktype,
            caplen: f.data.len(),
            len: f.orig_len,
            layers: detail::describe(f, ev.packet, ev.tcp.as_ref()),
            problem: ev.packet.problem.as_ref().map(|p| p.text()),
            app: ev.app.iter().filter_map(|(_, e)| line(e)).collect(),
        }
    }
}
