//! The transport layer: TCP with its flags and options and what the
//! connection made of the segment, UDP, ICMP and ICMPv6, IGMP.

use std::fmt::Write as _;

use etherparse::TransportSlice;
use serde_json::Value;

use super::{Keep, LayerDetail, layer};
use crate::decode::tcp::{ACK, TcpView};
use crate::decode::tcp_options::{self, TcpOption};
use crate::decode::{Packet, segment_len};
use crate::flow::SegmentContext;
use crate::report::json_write;
use crate::text::push_int;

pub fn tcp_flags_text(bits: u16) -> String {
    // Wireshark's order: bit 0 upwards.
    const NAMES: [(u16, &str); 10] = [
        (0x001, "FIN"),
        (0x002, "SYN"),
        (0x004, "RST"),
        (0x008, "PSH"),
        (0x010, "ACK"),
        (0x020, "URG"),
        (0x040, "ECE"),
        (0x080, "CWR"),
        (0x100, "AE"),
        (0xe00, "Reserved"),
    ];
    let mut s = String::new();
    for (bit, name) in NAMES {
        if bits & bit != 0 {
            if !s.is_empty() {
                s.push_str(", ");
            }
            s.push_str(name);
        }
    }
    if s.is_empty() {
        s.push_str("<none>");
    }
    s
}

pub(super) fn tcp_layer(
    pkt: &Packet<'_>,
    keep: Keep,
    tcp: &TcpView<'_>,
    ctx: Option<&SegmentContext>,
) -> LayerDetail {
    let hs = tcp.header_bytes();
    let mut l = layer(keep, 4, "TCP", pkt.offset_of(hs), hs.len());
    let flags = tcp.flags();
    let fl = &mut l.fields;
    fl.add("src_port", "Source port", tcp.src_port());
    fl.add("dst_port", "Destination port", tcp.dst_port());
    if let Some(c) = ctx {
        fl.add("stream", "Stream index", c.stream)
            .means("connection number, as tshark's tcp.stream");
        fl.add("seq", "Sequence number", c.rel_seq)
            .means("relative to this side's first");
    }
    fl.add("seq_raw", "Sequence number (raw)", tcp.seq());
    if tcp.has(ACK) {
        if let Some(a) = ctx.and_then(|c| c.rel_ack) {
            fl.add("ack", "Acknowledgement", a)
                .means("next byte expected from the other side, relative");
        }
        fl.add("ack_raw", "Acknowledgement (raw)", tcp.ack_number());
    }
    fl.add("hdr_len", "Header length", tcp.header_len())
        .text(format_args!("{} bytes", tcp.header_len()));
    let names = tcp_flags_text(flags);
    fl.add("flags", "Flags", flags)
        .text(format_args!("{flags:#05x} [{names}]"));
    fl.add("window", "Window", tcp.window())
        .means("the raw field, before window scaling");
    if let Some(c) = ctx {
        fl.add("window_size", "Window size", c.window_size)
            .means("bytes the sender can still receive, scaled as the handshake agreed");
    }
    fl.add("checksum", "Checksum", tcp.checksum())
        .text(format_args!("{:#06x}", tcp.checksum()))
        .means("not verified");
    fl.add("urgent_ptr", "Urgent pointer", tcp.urgent_ptr());
    let opts = tcp_options::parse(tcp.options(), !tcp.complete());
    let o = tcp_options::summary(&opts);
    if !opts.is_empty() {
        fl.add_json("options", "Options", |out| options_json(&opts, out))
            .text(&o);
    }
    let seg_len = segment_len(pkt, tcp.header_len()).unwrap_or(tcp.payload().len());
    fl.add("len", "Segment length", seg_len)
        .means("payload bytes the IP header says the segment carries");
    fl.add("payload_len", "Captured payload", tcp.payload().len());
    if let Some(k) = ctx.and_then(|c| c.acked) {
        fl.add("acks_frame", "ACK to the segment in frame", k.frame)
            .means(
                "the segment this one acknowledges exactly, as tshark's tcp.analysis.acks_frame",
            );
        let rtt = k.rtt_ns as f64 / 1e9;
        fl.add("ack_rtt", "Round trip to this ACK", rtt)
            .text(format_args!("{rtt:.9} s"))
            .means("from that segment to this ACK, as tshark's tcp.analysis.ack_rtt");
    }
    if let Some(c) = ctx.filter(|c| !c.analysis.is_empty()) {
        let kinds: Vec<Value> = c.analysis.iter().map(|(k, _)| Value::from(k)).collect();
        let labels: Vec<&str> = c.analysis.iter().map(|(_, l)| l).collect();
        fl.add("analysis", "Analysis", Value::Array(kinds))
            .text(labels.join(", "))
            .means("as Wireshark's expert info");
    }
    // Written piece by piece: this runs for every TCP frame of a capture.
    let mut s = String::with_capacity(80 + o.len());
    s.push_str("TCP ");
    push_int(&mut s, tcp.src_port());
    s.push_str(" → ");
    push_int(&mut s, tcp.dst_port());
    s.push_str(" [");
    s.push_str(&names);
    s.push_str("] seq=");
    let ack = match ctx {
        Some(c) => {
            push_int(&mut s, c.rel_seq);
            c.rel_ack
        }
        None => {
            push_int(&mut s, tcp.seq());
            tcp.has(ACK).then(|| tcp.ack_number())
        }
    };
    if let Some(a) = ack {
        s.push_str(" ack=");
        push_int(&mut s, a);
    }
    s.push_str(" win=");
    push_int(
        &mut s,
        ctx.map_or(u32::from(tcp.window()), |c| c.window_size),
    );
    s.push_str(" len=");
    push_int(&mut s, seg_len);
    if !o.is_empty() {
        s.push(' ');
        s.push_str(&o);
    }
    l.summary = s;
    l
}

pub(super) fn transport_layer(
    pkt: &Packet<'_>,
    keep: Keep,
    t: &TransportSlice<'_>,
    out: &mut Vec<LayerDetail>,
) {
    match t {
        TransportSlice::Tcp(_) => {}
        TransportSlice::Udp(udp) => {
            let hs = udp.header_slice();
            let mut l = layer(keep, 4, "UDP", pkt.offset_of(hs), hs.len());
            let len = u16::from_be_bytes([hs[4], hs[5]]);
            let csum = u16::from_be_bytes([hs[6], hs[7]]);
            l.fields.add("src_port", "Source port", udp.source_port());
            l.fields
                .add("dst_port", "Destination port", udp.destination_port());
            l.fields
                .add("length", "Length", len)
                .means("header + payload");
            l.fields
                .add("checksum", "Checksum", csum)
                .text(format_args!("{csum:#06x}"))
                .means("not verified");
            l.summary = format!(
                "UDP {} → {} len={}",
                udp.source_port(),
                udp.destination_port(),
                udp.payload().len()
            );
            out.push(l);
        }
        TransportSlice::Icmpv4(icmp) => {
            let (ty, code) = (icmp.type_u8(), icmp.code_u8());
            let echo = matches!(ty, 0 | 8).then(|| icmp.bytes5to8());
            let head = Icmp {
                bytes: icmp.slice(),
                name: "ICMP",
                ty,
                code,
                meaning: icmpv4_name(ty, code),
                checksum: icmp.checksum(),
                echo,
            };
            out.push(icmp_layer(pkt, keep, &head));
        }
        TransportSlice::Icmpv6(icmp) => {
            let (ty, code) = (icmp.type_u8(), icmp.code_u8());
            let echo = matches!(ty, 128 | 129).then(|| icmp.bytes5to8());
            let head = Icmp {
                bytes: icmp.slice(),
                name: "ICMPv6",
                ty,
                code,
                meaning: icmpv6_name(ty),
                checksum: icmp.checksum(),
                echo,
            };
            out.push(icmp_layer(pkt, keep, &head));
        }
        TransportSlice::Igmp(igmp) => {
            let b = igmp.slice();
            let mut l = layer(keep, 3, "IGMP", pkt.offset_of(b), b.len());
            if let Some(&ty) = b.first() {
                l.fields
                    .add("type", "Type", ty)
                    .text(format_args!("{ty:#04x}"));
            }
            l.summary = "IGMP".into();
            out.push(l);
        }
    }
}

/// The options as a JSON array of objects, written by hand: Linux puts a
/// timestamp in every segment, so this runs for nearly every TCP packet.
fn options_json(opts: &[TcpOption], out: &mut Vec<u8>) {
    let mut b = itoa::Buffer::new();
    out.push(b'[');
    for (i, o) in opts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let (kind, name) = match o {
            TcpOption::Eol => (0, "EOL"),
            TcpOption::Nop => (1, "NOP"),
            TcpOption::Mss(_) => (2, "MSS"),
            TcpOption::WindowScale(_) => (3, "WS"),
            TcpOption::SackPermitted => (4, "SACK_PERM"),
            TcpOption::Sack(_) => (5, "SACK"),
            TcpOption::Timestamp { .. } => (8, "TS"),
            TcpOption::FastOpen(_) => (34, "TFO"),
            TcpOption::Other { kind, .. } | TcpOption::Cut { kind } => {
                (*kind, tcp_options::kind_name(*kind))
            }
            TcpOption::Malformed { kind, .. } => (*kind, "malformed"),
        };
        out.extend_from_slice(b"{\"kind\":");
        out.extend_from_slice(b.format(kind).as_bytes());
        out.extend_from_slice(b",\"name\":");
        let _ = json_write::string(out, name);
        let mut number = |out: &mut Vec<u8>, key: &str, n: u32| {
            out.push(b',');
            json_write::key(out, key);
            out.extend_from_slice(b.format(n).as_bytes());
        };
        match o {
            TcpOption::Mss(v) => number(out, "value", u32::from(*v)),
            TcpOption::WindowScale(v) => number(out, "shift", u32::from(*v)),
            TcpOption::Sack(edges) => {
                out.extend_from_slice(b",\"blocks\":[");
                for (j, (l, r)) in edges.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    out.push(b'[');
                    out.extend_from_slice(b.format(*l).as_bytes());
                    out.push(b',');
                    out.extend_from_slice(b.format(*r).as_bytes());
                    out.push(b']');
                }
                out.push(b']');
            }
            TcpOption::Timestamp { val, ecr } => {
                number(out, "val", *val);
                number(out, "ecr", *ecr);
            }
            TcpOption::FastOpen(c) => {
                let hex = crate::text::hex(c);
                out.extend_from_slice(b",\"cookie\":");
                let _ = json_write::string(out, &hex);
            }
            TcpOption::Other { len, .. } => {
                out.extend_from_slice(b",\"len\":");
                out.extend_from_slice(b.format(*len).as_bytes());
            }
            TcpOption::Malformed { reason, .. } => {
                out.extend_from_slice(b",\"reason\":");
                let _ = json_write::string(out, reason);
            }
            TcpOption::Cut { .. } => out.extend_from_slice(b",\"cut\":true"),
            TcpOption::Eol | TcpOption::Nop | TcpOption::SackPermitted => {}
        }
        out.push(b'}');
    }
    out.push(b']');
}

/// The fields ICMPv4 and ICMPv6 headers share.
struct Icmp<'a> {
    bytes: &'a [u8],
    name: &'static str,
    ty: u8,
    code: u8,
    meaning: &'static str,
    checksum: u16,
    /// An echo request or reply: the identifier and sequence number bytes.
    echo: Option<[u8; 4]>,
}

fn icmp_layer(pkt: &Packet<'_>, keep: Keep, h: &Icmp<'_>) -> LayerDetail {
    let mut l = layer(keep, 3, h.name, pkt.offset_of(h.bytes), h.bytes.len());
    l.fields.add("type", "Type", h.ty).means(h.meaning);
    l.fields.add("code", "Code", h.code);
    l.fields
        .add("checksum", "Checksum", h.checksum)
        .text(format_args!("{:#06x}", h.checksum));
    let mut s = format!("{} {}", h.name, h.meaning);
    if let Some(r) = h.echo {
        let id = u16::from_be_bytes([r[0], r[1]]);
        let seq = u16::from_be_bytes([r[2], r[3]]);
        l.fields.add("id", "Identifier", id);
        l.fields.add("seq", "Sequence number", seq);
        let _ = write!(s, " id={id} seq={seq}");
    }
    l.summary = s;
    l
}

fn icmpv4_name(ty: u8, code: u8) -> &'static str {
    match (ty, code) {
        (0, _) => "echo reply",
        (3, 0) => "destination network unreachable",
        (3, 1) => "destination host unreachable",
        (3, 3) => "destination port unreachable",
        (3, 4) => "fragmentation needed",
        (3, _) => "destination unreachable",
        (4, _) => "source quench",
        (5, _) => "redirect",
        (8, _) => "echo request",
        (11, 0) => "TTL exceeded in transit",
        (11, _) => "time exceeded",
        (12, _) => "parameter problem",
        (13, _) => "timestamp request",
        (14, _) => "timestamp reply",
        _ => "other type",
    }
}

fn icmpv6_name(ty: u8) -> &'static str {
    match ty {
        1 => "destination unreachable",
        2 => "packet too big",
        3 => "time exceeded",
        4 => "parameter problem",
        128 => "echo request",
        129 => "echo reply",
        130 => "multicast listener query",
        131 => "multicast listener report",
        133 => "router solicitation",
        134 => "router advertisement",
        135 => "neighbor solicitation",
        136 => "neighbor advertisement",
        137 => "redirect",
        143 => "multicast listener report v2",
        _ => "other type",
    }
}
