//! One packet in one line: frame number, time since the first frame,
//! `source → destination` (with ports for TCP and UDP), and Info — what the
//! application layer found, else the TCP flags and numbers, else the
//! transport's or network's summary — then the analysis flags and any
//! problem. This is what `packets` prints to a file or pipe (as tcpdump
//! does), and the content of the narrow table's rows.
//!
//! A TCP segment over IPv4 or IPv6 (nearly every frame of a capture) is
//! written straight from the decoded headers; anything else goes through the
//! full layer description ([`detail::describe`]), and a test holds the two
//! roads to the same text on every capture.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::FrameEvent;
use super::escape::escape;
use super::layers::detail;
use crate::capture::FrameKind;
use crate::decode::segment_len;
use crate::decode::tcp::ACK;

/// The parts of a packet's line, each escaped for a terminal.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LineParts {
    /// `source → destination`; empty for a frame that is not a packet.
    pub conv: String,
    pub info: String,
    /// The frame has a problem (truncated or malformed).
    pub problem: bool,
}

impl LineParts {
    fn clear(&mut self) {
        self.conv.clear();
        self.info.clear();
        self.problem = false;
    }
}

/// Fills `parts` for the frame of `ev`.
pub fn parts(ev: &FrameEvent<'_, '_>, parts: &mut LineParts) {
    parts.clear();
    parts.problem = ev.packet.problem.is_some();
    if let FrameKind::Event(what) = ev.frame.kind {
        parts.info.push_str(what);
        return;
    }
    if !fast(ev, parts) {
        slow(ev, parts);
    }
}

/// The application layer's lines of this frame, escaped, joined by ` · `.
fn app_text(ev: &FrameEvent<'_, '_>, out: &mut String) {
    for l in ev.app.iter().filter_map(|(_, e)| super::walk::app_line(e)) {
        if !out.is_empty() {
            out.push_str(" · ");
        }
        out.push_str(&escape(&l.text));
    }
}

/// Analysis flags and problem, after the info.
fn extra(ev: &FrameEvent<'_, '_>, info: &mut String) {
    let start = info.len();
    let sep = |info: &mut String, s: &str| {
        if info.len() > start {
            info.push_str(s);
        } else if start > 0 {
            info.push(' ');
        }
    };
    if let Some(c) = ev.tcp.as_ref().filter(|c| !c.analysis.is_empty()) {
        sep(info, "");
        info.push('[');
        for (i, (_, l)) in c.analysis.iter().enumerate() {
            if i > 0 {
                info.push_str(", ");
            }
            info.push_str(l);
        }
        info.push(']');
    }
    if let Some(p) = &ev.packet.problem {
        sep(info, " · ");
        info.push_str("⚠ ");
        info.push_str(&escape(&p.text()));
    }
}

fn push_addr(out: &mut String, a: IpAddr, port: u16) {
    match a {
        IpAddr::V4(v) => crate::text::push_ipv4(out, v),
        IpAddr::V6(v) => {
            let _ = write!(out, "[{v}]");
        }
    }
    out.push(':');
    crate::text::push_int(out, port);
}

/// A TCP segment over IP, from its headers; false for anything else.
fn fast(ev: &FrameEvent<'_, '_>, parts: &mut LineParts) -> bool {
    let pkt = ev.packet;
    let Some(t) = pkt.tcp() else {
        return false;
    };
    let Some((src, dst)) = pkt.ip_addrs() else {
        return false;
    };
    let conv = &mut parts.conv;
    push_addr(conv, src, t.src_port());
    conv.push_str(" → ");
    push_addr(conv, dst, t.dst_port());
    let info = &mut parts.info;
    app_text(ev, info);
    if info.is_empty() {
        let mut b = itoa::Buffer::new();
        info.push('[');
        info.push_str(&detail::tcp_flags_text(t.flags()));
        info.push_str("] seq=");
        if let Some(c) = &ev.tcp {
            info.push_str(b.format(c.rel_seq));
            if let Some(a) = c.rel_ack.filter(|_| t.has(ACK)) {
                info.push_str(" ack=");
                info.push_str(b.format(a));
            }
        }
        info.push_str(" len=");
        let len = segment_len(pkt, t.header_len()).unwrap_or(t.payload().len());
        info.push_str(b.format(len));
    }
    extra(ev, info);
    true
}

/// Any frame, from its full layer description.
fn slow(ev: &FrameEvent<'_, '_>, parts: &mut LineParts) {
    let layers = detail::describe(ev.frame, ev.packet, ev.tcp.as_ref());
    let field = |l: &detail::LayerDetail, k: &str| {
        l.fields
            .all
            .iter()
            .find(|f| f.key == k)
            .map(|f| match &f.value {
                serde_json::Value::String(s) => s.clone(),
                v => v.to_string(),
            })
            .unwrap_or_default()
    };
    let net = layers
        .iter()
        .rev()
        .find(|l| l.osi == 3 && matches!(l.name, "IPv4" | "IPv6"));
    let l4 = layers
        .iter()
        .find(|l| l.osi == 4 && matches!(l.name, "TCP" | "UDP"));
    let conv = match net {
        Some(n) => {
            let host = |k: &str| {
                let a = field(n, k);
                if n.name == "IPv6" {
                    format!("[{a}]")
                } else {
                    a
                }
            };
            match l4 {
                Some(t) => format!(
                    "{}:{} → {}:{}",
                    host("src"),
                    field(t, "src_port"),
                    host("dst"),
                    field(t, "dst_port")
                ),
                None => format!("{} → {}", field(n, "src"), field(n, "dst")),
            }
        }
        // The link layer's summary: the first layer below the network.
        None => {
            let mut s = String::new();
            for l in layers.iter().skip(1).filter(|l| l.osi == 2) {
                if !s.is_empty() {
                    s.push_str(" · ");
                }
                s.push_str(l.brief());
            }
            s
        }
    };
    parts.conv.push_str(&escape(&conv));
    let info = &mut parts.info;
    app_text(ev, info);
    if info.is_empty() {
        match l4 {
            Some(t) if t.name == "TCP" => {
                let flags = t
                    .fields
                    .all
                    .iter()
                    .find(|f| f.key == "flags")
                    .and_then(|f| f.value.as_u64())
                    .unwrap_or(0);
                let _ = write!(
                    info,
                    "[{}] seq={}",
                    detail::tcp_flags_text(flags as u16),
                    field(t, "seq")
                );
                if t.fields.all.iter().any(|f| f.key == "ack") {
                    let _ = write!(info, " ack={}", field(t, "ack"));
                }
                let _ = write!(info, " len={}", field(t, "len"));
            }
            Some(t) => info.push_str(&escape(t.brief())),
            None => {
                if let Some(n) = net {
                    info.push_str(&escape(n.brief()));
                }
            }
        }
    }
    extra(ev, info);
}

/// The time column: seconds since the first frame, to the microsecond (as
/// tshark shows microsecond captures), cut rather than rounded.
pub fn push_time(ev: &FrameEvent<'_, '_>, out: &mut Vec<u8>) {
    let d = ev.frame.ts.since(ev.first_ts);
    if d < 0 {
        out.push(b'-');
    }
    let d = d.unsigned_abs();
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(d / 1_000_000_000).as_bytes());
    out.push(b'.');
    let us = ((d % 1_000_000_000) / 1000) as u32;
    let digits = b.format(us).as_bytes();
    out.extend_from_slice(&b"000000"[digits.len().min(6)..]);
    out.extend_from_slice(digits);
}

/// [`push_time`] as a string, for the table's Time column.
pub fn time_text(ev: &FrameEvent<'_, '_>) -> String {
    let mut t = Vec::with_capacity(16);
    push_time(ev, &mut t);
    String::from_utf8(t).unwrap_or_default()
}

/// Writes the frame's line, `\n` included. With `color`, the conversation in
/// the network layer's colour and Info in the application's (red when the
/// frame has a problem).
pub fn write(ev: &FrameEvent<'_, '_>, color: bool, parts: &mut LineParts, out: &mut Vec<u8>) {
    self::parts(ev, parts);
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(ev.frame.number).as_bytes());
    out.push(b' ');
    push_time(ev, out);
    let paint = |out: &mut Vec<u8>, style: anstyle::Style, s: &str| {
        if color {
            let _ = std::io::Write::write_fmt(out, format_args!("{style}{s}{style:#}"));
        } else {
            out.extend_from_slice(s.as_bytes());
        }
    };
    if !parts.conv.is_empty() {
        out.push(b' ');
        paint(out, super::style::layer_style(3), &parts.conv);
    }
    if !parts.info.is_empty() {
        out.push(b' ');
        let style = if parts.problem {
            super::style::warn_style()
        } else {
            super::style::layer_style(7)
        };
        paint(out, style, &parts.info);
    }
    out.push(b'\n');
}

#[cfg(test)]
pub(crate) fn slow_parts(ev: &FrameEvent<'_, '_>) -> LineParts {
    let mut p = LineParts {
        problem: ev.packet.problem.is_some(),
        ..LineParts::default()
    };
    if let FrameKind::Event(what) = ev.frame.kind {
        p.info.push_str(what);
    } else {
        slow(ev, &mut p);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureReader;
    use crate::run::{Progress, RunOptions, single};

    /// Compares the two roads on every frame it is handed.
    struct BothRoads {
        frames: usize,
        fast: usize,
        parts: LineParts,
    }

    impl crate::report::View for BothRoads {
        fn frame(&mut self, ev: &FrameEvent<'_, '_>) -> std::io::Result<()> {
            self.frames += 1;
            parts(ev, &mut self.parts);
            let slow = slow_parts(ev);
            assert_eq!(self.parts, slow, "frame {}", ev.frame.number);
            let mut probe = LineParts::default();
            self.fast += usize::from(ev.frame.kind == FrameKind::Packet && fast(ev, &mut probe));
            Ok(())
        }
        fn finish(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn captures(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("read dir").flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p
                    .extension()
                    .is_some_and(|x| matches!(x.to_str(), Some("pcap" | "pcapng")))
                {
                    out.push(p);
                }
            }
        }
    }

    /// The line written from the headers is the line the full description
    /// gives, on every frame of every capture in the repository.
    #[test]
    fn headers_and_description_give_the_same_line() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for d in [
            "captures",
            "tests/corpus",
            "tests/synthetic",
            "tests/fuzz-regressions",
        ] {
            captures(&root.join(d), &mut files);
        }
        assert!(files.len() > 190, "{} captures", files.len());
        let (mut frames, mut fast) = (0, 0);
        for f in &files {
            let Ok(mut reader) = CaptureReader::open(f) else {
                continue;
            };
            let mut v = BothRoads {
                frames: 0,
                fast: 0,
                parts: LineParts::default(),
            };
            let opts = RunOptions::default().shared();
            let _ = single::run(&mut reader, &mut v, &opts, &Progress::none());
            frames += v.frames;
            fast += v.fast;
        }
        // Most frames take the fast road (4554 of 4891), and a few hundred
        // (UDP, ICMP, ARP, cut and broken headers, blocks) the described one.
        assert!(frames > 4_000, "{frames} frames");
        assert!(
            fast * 10 > frames * 8,
            "{fast} of {frames} from the headers"
        );
        assert!(frames - fast > 300, "{} frames described", frames - fast);
    }

    #[test]
    fn time_is_cut_to_the_microsecond() {
        use crate::capture::{Frame, Timestamp};
        use crate::decode::Packet;
        let first = Timestamp {
            secs: 100,
            nanos: 999_999_999,
        };
        let mut out = Vec::new();
        for (secs, nanos) in [(100, 999_999_999), (101, 0), (102, 1_999), (100, 5)] {
            let frame = Frame {
                number: 1,
                kind: FrameKind::Packet,
                ts: Timestamp { secs, nanos },
                linktype: crate::capture::linktype::ETHERNET,
                interface: 0,
                orig_len: 0,
                data: &[],
                offset: 0,
            };
            let packet = Packet::decode(&frame);
            let ev = FrameEvent {
                frame: &frame,
                packet: &packet,
                tcp: None,
                first_ts: first,
                app: &[],
            };
            push_time(&ev, &mut out);
            out.push(b' ');
        }
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "0.000000 0.000000 1.000002 -0.999999 "
        );
    }
}
