//! JSON Lines records. Each line is one self-contained object; the schema is
//! documented in the README ("JSON output").

use std::io;

use serde::Serialize;
use serde_json::value::RawValue;

pub use super::json_write::write;
use super::json_write::{key, string, value};

use super::appline::AppLine;
use super::layers::detail::{self, Keep, LayerDetail};
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
    pub ts: Number,
    /// Seconds since the first frame.
    pub rel_ts: Number,
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

/// A JSON number already written, from integer formatting. Held as text
/// and checked only on serde's road: `packets --format json` writes two per
/// frame, and checking each cost more than writing it.
pub struct Number(String);

impl Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RawValue::from_string(self.0.clone())
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

impl PacketRecord {
    /// The record `layers` prints: with the application units as layers.
    pub fn with_units(ev: &FrameEvent<'_, '_>) -> Self {
        Self::with_units_kept(ev, Keep::Json)
    }

    fn with_units_kept(ev: &FrameEvent<'_, '_>, keep: Keep) -> Self {
        Self::with_layers(ev, detail::with_units(ev, keep))
    }

    pub fn new(ev: &FrameEvent<'_, '_>) -> Self {
        Self::kept(ev, Keep::Json)
    }

    /// The record, its layers keeping what `keep` says (the JSON is the same).
    fn kept(ev: &FrameEvent<'_, '_>, keep: Keep) -> Self {
        let mut layers = detail::describe_as(ev.frame, ev.packet, ev.tcp.as_ref(), keep);
        detail::tls::add_records(&mut layers, ev.app.iter().map(|(_, e)| e));
        Self::with_layers(ev, layers)
    }

    fn with_layers(ev: &FrameEvent<'_, '_>, layers: Vec<LayerDetail>) -> Self {
        let f = ev.frame;
        PacketRecord {
            frame: f.number,
            kind: match f.kind {
                FrameKind::Packet => "packet",
                FrameKind::Event(what) => what,
            },
            ts: Number(f.ts.text()),
            rel_ts: Number(rel_seconds(f.ts, ev.first_ts)),
            interface: f.interface,
            linktype: f.linktype,
            caplen: f.data.len(),
            len: f.orig_len,
            layers,
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
        out.extend_from_slice(self.ts.0.as_bytes());
        out.extend_from_slice(b",\"rel_ts\":");
        out.extend_from_slice(self.rel_ts.0.as_bytes());
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
    let mut first = true;
    if let Some(members) = l.fields.json_members() {
        out.extend_from_slice(members);
        first = members.is_empty();
    }
    let fields = &l.fields.all;
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

#[cfg(test)]
mod tests {
    use super::PacketRecord;
    use crate::capture::CaptureReader;
    use crate::report::layers::detail::Keep;
    use crate::report::{FrameEvent, View};
    use crate::run::{Progress, RunOptions, single};

    /// Writes every frame's record both ways and compares.
    struct BothRoads(usize);

    impl View for BothRoads {
        fn frame(&mut self, ev: &FrameEvent<'_, '_>) -> std::io::Result<()> {
            self.0 += 1;
            let all = PacketRecord::kept(ev, Keep::All);
            let with_units = PacketRecord::with_units_kept(ev, Keep::All);
            let pairs = [
                (&all, PacketRecord::new(ev)),
                (&all, PacketRecord::kept(ev, Keep::All)),
                (&with_units, PacketRecord::with_units(ev)),
                (&with_units, PacketRecord::with_units_kept(ev, Keep::All)),
            ];
            for (by_serde, rec) in pairs {
                let mut serde = Vec::new();
                super::write(&mut serde, by_serde)?;
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
    /// capture in the repository (with and without the application units),
    /// and layers that keep only their JSON write what layers that keep
    /// every field serialize to.
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
