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

impl PacketRecord {
    /// Writes the record as [`write`] would, without serde's machinery:
    /// keys are written as they are (they are identifiers), numbers with
    /// itoa, strings through serde_json's escaper. `packets --format json`
    /// writes one per frame; a test holds both roads to the same bytes.
    pub fn write_to(&self, out: &mut Vec<u8>) -> io::Result<()> {
        let mut b = itoa::Buffer::new();
        out.extend_from_slice(b"{\"frame\":");
        out.extend_from_slice(b.format(self.frame).as_bytes());
        out.extend_from_slice(b",\"kind\":");
        string(out, self.kind)?;
        out.extend_from_slice(b",\"ts\":");
        out.extend_from_slice(self.ts.get().as_bytes());
        out.extend_from_slice(b",\"rel_ts\":");
        out.extend_from_slice(self.rel_ts.get().as_bytes());
        out.extend_from_slice(b",\"interface\":");
        out.extend_from_slice(b.format(self.interface).as_bytes());
        out.extend_from_slice(b",\"linktype\":");
        out.extend_from_slice(b.format(self.linktype).as_bytes());
        out.extend_from_slice(b",\"caplen\":");
        out.extend_from_slice(b.format(self.caplen).as_bytes());
        out.extend_from_slice(b",\"len\":");
        out.extend_from_slice(b.format(self.len).as_bytes());
        out.extend_from_slice(b",\"layers\":[");
        for (i, l) in self.layers.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            layer(out, l)?;
        }
        out.extend_from_slice(b"],\"problem\":");
        match &self.problem {
            Some(p) => string(out, p)?,
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"app\":[");
        for (i, a) in self.app.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"osi\":");
            out.extend_from_slice(b.format(a.osi).as_bytes());
            out.extend_from_slice(b",\"protocol\":");
            string(out, a.protocol)?;
            out.extend_from_slice(b",\"text\":");
            string(out, &a.text)?;
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
        Ok(())
    }
}

/// A JSON string, escaped as [`write`] escapes it.
fn string(out: &mut Vec<u8>, s: &str) -> io::Result<()> {
    use serde::Serializer as _;
    let mut ser = serde_json::Serializer::with_formatter(out, TerminalSafe);
    (&mut ser).serialize_str(s).map_err(io::Error::from)
}

/// A key and its colon; keys are identifiers, written as they are.
fn key(out: &mut Vec<u8>, k: &str) {
    debug_assert!(k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'));
    out.push(b'"');
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

fn value(out: &mut Vec<u8>, v: &serde_json::Value) -> io::Result<()> {
    use serde_json::Value;
    let mut b = itoa::Buffer::new();
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::String(s) => string(out, s)?,
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => out.extend_from_slice(b.format(u).as_bytes()),
            (None, Some(i)) => out.extend_from_slice(b.format(i).as_bytes()),
            // Floats as serde_json writes them (ryu).
            _ => write(&mut *out, n)?,
        },
        Value::Array(_) | Value::Object(_) => write(&mut *out, v)?,
    }
    Ok(())
}

fn layer(out: &mut Vec<u8>, l: &LayerDetail) -> io::Result<()> {
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b"{\"osi\":");
    out.extend_from_slice(b.format(l.osi).as_bytes());
    out.extend_from_slice(b",\"name\":");
    string(out, l.name)?;
    out.extend_from_slice(b",\"offset\":");
    out.extend_from_slice(b.format(l.offset).as_bytes());
    out.extend_from_slice(b",\"length\":");
    out.extend_from_slice(b.format(l.length).as_bytes());
    out.extend_from_slice(b",\"fields\":{");
    let fields = &l.fields.0;
    let mut first = true;
    for (i, f) in fields.iter().enumerate() {
        // A list is one array, at its first field.
        if f.list && fields[..i].iter().any(|g| g.list && g.key == f.key) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        key(out, f.key);
        if f.list {
            out.push(b'[');
            for (j, g) in fields[i..]
                .iter()
                .filter(|g| g.list && g.key == f.key)
                .enumerate()
            {
                if j > 0 {
                    out.push(b',');
                }
                value(out, &g.value)?;
            }
            out.push(b']');
        } else {
            value(out, &f.value)?;
        }
    }
    out.extend_from_slice(b"},\"summary\":");
    string(out, &l.summary)?;
    if l.reassembled {
        out.extend_from_slice(b",\"reassembled\":true");
    }
    if let Some(c) = l.continues_from {
        out.extend_from_slice(b",\"continues_from\":");
        out.extend_from_slice(b.format(c).as_bytes());
    }
    out.push(b'}');
    Ok(())
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
    use super::PacketRecord;
    use crate::capture::CaptureReader;
    use crate::report::{FrameEvent, View};
    use crate::run::{Progress, RunOptions, single};

    /// Writes every frame's record both ways and compares.
    struct BothRoads(usize);

    impl View for BothRoads {
        fn frame(&mut self, ev: &FrameEvent<'_, '_>) -> std::io::Result<()> {
            self.0 += 1;
            for rec in [PacketRecord::new(ev), PacketRecord::with_units(ev)] {
                let mut serde = Vec::new();
                super::write(&mut serde, &rec)?;
                let mut direct = Vec::new();
                rec.write_to(&mut direct)?;
                assert!(
                    serde == direct,
                    "frame {}:\n{}\n{}",
                    ev.frame.number,
                    String::from_utf8_lossy(&serde),
                    String::from_utf8_lossy(&direct)
                );
            }
            Ok(())
        }
        fn finish(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The direct writer writes what serde writes, on every frame of every
    /// capture in the repository (with and without the application units).
    #[test]
    fn direct_records_are_serde_records() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut stack: Vec<_> = [
            "captures",
            "tests/corpus",
            "tests/synthetic",
            "tests/fuzz-regressions",
        ]
        .iter()
        .map(|d| root.join(d))
        .collect();
        let (mut files, mut frames) = (0, 0);
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("read dir").flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let Ok(mut reader) = CaptureReader::open(&p) else {
                    continue;
                };
                files += 1;
                let mut v = BothRoads(0);
                let opts = RunOptions::default().shared();
                let _ = single::run(&mut reader, &mut v, &opts, &Progress::none());
                frames += v.0;
            }
        }
        assert!(
            files > 190 && frames > 4_000,
            "{files} files, {frames} frames"
        );
    }

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
