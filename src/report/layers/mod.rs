//! `osiscope layers`: one packet taken apart, like Wireshark's detail pane,
//! followed by a hex dump in which every byte shows the layer it belongs to.

pub mod detail;

use std::io::{self, Write};

use super::Format;
use super::escape::escape;
use super::json::PacketRecord;
use super::style::{layer_style, osi_name, paint, warn_style};
use super::{FrameEvent, View};
use detail::LayerDetail;

/// An inclusive range of 1-based frame numbers; `last` None means "to the end".
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FrameRange {
    pub first: u64,
    pub last: Option<u64>,
}
impl FrameRange {
    pub fn contains(&self, n: u64) -> bool {
        n >= self.first && self.last.is_none_or(|l| n <= l)
    }
}

pub struct LayersView<W: Write> {
    out: W,
    format: Format,
    color: bool,
    ranges: Vec<FrameRange>,
    shown: u64,
}

impl<W: Write> LayersView<W> {
    pub fn new(out: W, format: Format, color: bool, ranges: Vec<FrameRange>) -> Self {
        LayersView {
            out,
            format,
            color,
            ranges,
            shown: 0,
        }
    }

    /// The frames asked for, as the user wrote them ("999", "5-7", "9-").
    pub fn asked(&self) -> String {
        let r: Vec<String> = self
            .ranges
            .iter()
            .map(|r| match r.last {
                Some(l) if l == r.first => r.first.to_string(),
                Some(l) => format!("{}-{l}", r.first),
                None => format!("{}-", r.first),
            })
            .collect();
        r.join(", ")
    }

    /// The last frame any range asks for, when all ranges are bounded.
    pub fn last_wanted(&self) -> Option<u64> {
        if self.ranges.is_empty() {
            return None;
        }
        self.ranges
            .iter()
            .map(|r| r.last)
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .max()
    }

    fn wanted(&self, n: u64) -> bool {
        self.ranges.is_empty() || self.ranges.iter().any(|r| r.contains(n))
    }

    pub fn shown(&self) -> u64 {
        self.shown
    }
}

impl<W: Write> View for LayersView<W> {
    fn frame(&mut self, ev: &FrameEvent<'_, '_>) -> io::Result<()> {
        if !self.wanted(ev.frame.number) {
            return Ok(());
        }
        self.shown += 1;
        if self.format == Format::Json {
            let mut line = Vec::with_capacity(4096);
            PacketRecord::with_units(ev).write_to(&mut line)?;
            line.push(b'\n');
            return self.out.write_all(&line);
        }
        let layers = detail::with_units(ev, detail::Keep::All);
        let c = self.color;
        let out = &mut self.out;
        if self.shown > 1 {
            writeln!(out)?;
        }
        let head = format!("Frame {} · {}", ev.frame.number, layers[0].summary);
        writeln!(out, "{}", paint(c, anstyle::Style::new().bold(), &head))?;
        for l in &layers {
            let tag = format!("L{} {:<12}", l.osi, osi_name(l.osi));
            let mut range = if l.reassembled {
                "completed in this frame".to_owned()
            } else if l.length == 0 {
                "no bytes".to_owned()
            } else {
                format!("bytes {}–{}", l.offset, l.offset + l.length - 1)
            };
            if let Some(f) = l.continues_from {
                range.push_str(&format!(" (began in frame {f})"));
            }
            writeln!(
                out,
                "  {}  {:<24} {}",
                paint(c, layer_style(l.osi).bold(), &tag),
                l.name,
                range
            )?;
            for f in &l.fields.all {
                let mut line = format!("      {}: {}", f.label, escape(&f.display()));
                if let Some(m) = &f.meaning {
                    line.push_str(&format!("  ({})", escape(m)));
                }
                writeln!(out, "{line}")?;
            }
        }
        if let Some(p) = &ev.packet.problem {
            writeln!(
                out,
                "  {}",
                paint(c, warn_style(), &format!("⚠ {}", p.text()))
            )?;
        }
        writeln!(out)?;
        hexdump(out, ev.frame.data, &layers, c)?;
        if !c {
            let six = if layers.iter().any(|l| l.osi == 6) {
                "6 presentation · "
            } else {
                ""
            };
            writeln!(
                out,
                "      layer key: 1 frame · 2 data link · 3 network · 4 transport · {six}7 application · - not decoded"
            )?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The innermost layer owning each byte (0 = no layer decoded it).
fn byte_layers(len: usize, layers: &[LayerDetail]) -> Vec<u8> {
    let mut owner = vec![0u8; len];
    for l in layers.iter().skip(1) {
        let end = (l.offset + l.length).min(len);
        for o in owner.iter_mut().take(end).skip(l.offset) {
            *o = l.osi;
        }
    }
    owner
}

fn hexdump(
    out: &mut impl Write,
    data: &[u8],
    layers: &[LayerDetail],
    color: bool,
) -> io::Result<()> {
    let owner = byte_layers(data.len(), layers);
    for (row, chunk) in data.chunks(16).enumerate() {
        let base = row * 16;
        let mut hex = String::with_capacity(64);
        let mut legend = String::with_capacity(64);
        let mut ascii = String::with_capacity(16);
        for (i, b) in chunk.iter().enumerate() {
            if i == 8 {
                hex.push(' ');
                legend.push(' ');
            }
            let osi = owner[base + i];
            let h = format!("{b:02x}");
            if color && osi > 0 {
                hex.push_str(&paint(true, layer_style(osi), &h));
            } else {
                hex.push_str(&h);
            }
            hex.push(' ');
            legend.push(if osi == 0 {
                '-'
            } else {
                char::from(b'0' + osi)
            });
            legend.push_str("  ");
            // Printable ASCII only: nothing from the packet reaches the terminal raw.
            ascii.push(if b.is_ascii_graphic() || *b == b' ' {
                char::from(*b)
            } else {
                '.'
            });
        }
        let pad = (16 - chunk.len()) * 3 + usize::from(chunk.len() <= 8);
        writeln!(out, "  {base:04x}  {hex}{:pad$} {ascii}", "")?;
        if !color {
            writeln!(out, "        {}", legend.trim_end())?;
        }
    }
    Ok(())
}
