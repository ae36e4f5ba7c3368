//! JSON Lines records. Each line is one self-contained object; the schema is
//! documented in the README ("JSON output").

use std::io;

use serde::Serialize;
use serde_json::value::RawValue;

use super::appline::AppLine;
use super::layers::detail::{self, LayerDetail};
use super::walk::app_line;
use super::{FrameEvent, rel_seconds};
use crate::capture::FrameKind;

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
    /// The record `layers` prints: with the application units as layers.
    pub fn with_units(ev: &FrameEvent<'_, '_>) -> Self {
        PacketRecord {
            layers: detail::with_units(ev),
            ..Self::new(ev)
        }
    }

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
            layers: {
                let mut l = detail::describe(f, ev.packet, ev.tcp.as_ref());
                detail::tls::add_records(&mut l, ev.app.iter().map(|(_, e)| e));
                l
            },
            problem: ev.packet.problem.as_ref().map(|p| p.text()),
            app: ev.app.iter().filter_map(|(_, e)| app_line(e)).collect(),
        }
    }
}

/// Writes `v` as JSON whose strings also escape what a terminal would act on
/// or show misleadingly (DEL, C1 controls, bidi controls: serde_json escapes
/// only C0), so JSON printed on a terminal is as safe as the text views. It
/// stays plain JSON: any character may be written as `\uXXXX`.
pub fn write<W: io::Write, T: Serialize + ?Sized>(out: W, v: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, TerminalSafe);
    v.serialize(&mut ser).map_err(io::Error::from)
}

struct TerminalSafe;

impl serde_json::ser::Formatter for TerminalSafe {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // serde_json has escaped C0 already. What is left to escape starts
        // with one of four bytes (all of them ASCII or lead bytes, so char
        // boundaries): DEL 7F, C1 controls C2 xx, U+061C D8 9C, the bidi
        // controls E2 80/81 xx. Only characters there are looked at.
        let lead = |b: &u8| matches!(b, 0x7f | 0xc2 | 0xd8 | 0xe2);
        let bytes = fragment.as_bytes();
        let (mut start, mut i) = (0, 0);
        while let Some(p) = bytes.get(i..).and_then(|rest| rest.iter().position(lead)) {
            let at = i + p;
            let c = fragment
                .get(at..)
                .and_then(|t| t.chars().next())
                .unwrap_or(' ');
            if super::escape::is_unsafe(c) {
                w.write_all(bytes.get(start..at).unwrap_or_default())?;
                // All of them are in the Basic Multilingual Plane: four digits.
                write!(w, "\\u{:04x}", c as u32)?;
                start = at + c.len_utf8();
            }
            i = at + c.len_utf8();
        }
        w.write_all(fragment.as_bytes().get(start..).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn terminal_controls_are_escaped_and_the_json_reads_back_the_same() {
        let s = "a\u{1b}[2J b\u{7f} c\u{9b}31m d\u{202e}gnp.exe é ✓ 😀";
        let mut out = Vec::new();
        super::write(&mut out, &serde_json::json!({ "t": s })).expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            text,
            r#"{"t":"a\u001b[2J b\u007f c\u009b31m d\u202egnp.exe é ✓ 😀"}"#
        );
        let back: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(back["t"], s);
    }
}
