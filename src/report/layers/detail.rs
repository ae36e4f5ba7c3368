//! A packet described layer by layer: every header field with its value and,
//! where it helps, its meaning. This is the record behind `osiscope layers` and
//! the `layers` array of `packets --format json`.
//!
//! Values are JSON values (numbers stay numbers); `text` is how a person reads
//! the value (hex for checksums, names for codes). Strings taken from the wire
//! are not escaped here: each view escapes for its own medium.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use etherparse::{LaxNetSlice, LinkSlice, TransportSlice};
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::Value;

use crate::capture::{Frame, FrameKind, linktype};
use crate::decode::link::{ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use crate::decode::shim::ETHERTYPE_RARP;
use crate::decode::tcp::{ACK, TcpView};
use crate::decode::tcp_options::{self, TcpOption};
use crate::decode::{
    CutHeader, Link, NullFamily, Packet, Shim, arphrd_name, ethertype_name, segment_len,
    sll_packet_type,
};
use crate::flow::SegmentContext;

#[derive(Clone, Debug, Serialize)]
pub struct LayerDetail {
    pub osi: u8,
    pub name: &'static str,
    /// Byte offset of the layer within the frame, and its captured length.
    pub offset: usize,
    pub length: usize,
    pub fields: Fields,
    pub summary: String,
    /// A shorter summary for narrow table cells; empty means "same as summary".
    #[serde(skip)]
    pub brief: String,
}

impl LayerDetail {
    pub fn brief(&self) -> &str {
        if self.brief.is_empty() {
            &self.summary
        } else {
            &self.brief
        }
    }
}

#[derive(Clone, Debug)]
pub struct Field {
    /// Stable key used in JSON.
    pub key: &'static str,
    /// Label shown to a person.
    pub label: &'static str,
    pub value: Value,
    /// How the value reads, when it reads differently from `value`.
    pub text: Option<String>,
    /// What the value means, in words.
    pub meaning: Option<String>,
}

impl Field {
    pub fn display(&self) -> String {
        match (&self.text, &self.value) {
            (Some(t), _) => t.clone(),
            (None, Value::String(s)) => s.clone(),
            (None, v) => v.to_string(),
        }
    }
}

/// Fields serialize as one JSON object, key → value.
#[derive(Clone, Debug, Default)]
pub struct Fields(pub Vec<Field>);

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for f in &self.0 {
            m.serialize_entry(f.key, &f.value)?;
        }
        m.end()
    }
}

impl Fields {
    fn add(
        &mut self,
        key: &'static str,
        label: &'static str,
        value: impl Into<Value>,
    ) -> &mut Field {
        self.0.push(Field {
            key,
            label,
            value: value.into(),
            text: None,
            meaning: None,
        });
        self.0.last_mut().expect("just pushed")
    }
}

impl Field {
    fn text(&mut self, t: impl Into<String>) -> &mut Self {
        self.text = Some(t.into());
        self
    }
    fn means(&mut self, m: impl Into<String>) -> &mut Self {
        self.meaning = Some(m.into());
        self
    }
}

pub fn mac(m: &[u8]) -> String {
    // By hand: formatting machinery for two hex digits costs more than the rest
    // of an Ethernet layer (measured on `packets --format json`).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(m.len() * 3);
    for (i, b) in m.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

fn layer(osi: u8, name: &'static str, offset: usize, length: usize) -> LayerDetail {
    LayerDetail {
        osi,
        name,
        offset,
        length,
        fields: Fields::default(),
        summary: String::new(),
        brief: String::new(),
    }
}

/// Every layer of a packet, outermost first. `tcp` carries the connection
/// context (stream, relative numbers) when the caller tracks connections.
pub fn describe(
    frame: &Frame<'_>,
    pkt: &Packet<'_>,
    tcp: Option<&SegmentContext>,
) -> Vec<LayerDetail> {
    let mut out = Vec::with_capacity(6);
    out.push(frame_layer(frame));
    if frame.kind != FrameKind::Packet {
        return out;
    }
    link_layers(pkt, &mut out);
    if let Some((kind @ (CutHeader::Ipv4 | CutHeader::Ipv6), bytes)) = pkt.cut_header() {
        out.push(cut_layer(pkt, kind, bytes));
    }
    if let Some(s) = &pkt.sliced {
        if let Some(net) = &s.net {
            net_layer(pkt, net, &mut out);
        }
        if let Some((kind @ (CutHeader::Tcp | CutHeader::Udp), bytes)) = pkt.cut_header() {
            out.push(cut_layer(pkt, kind, bytes));
        }
        match (&s.transport, pkt.tcp()) {
            (_, Some(view)) => out.push(tcp_layer(pkt, &view, tcp)),
            (Some(t), None) => transport_layer(pkt, t, &mut out),
            (None, None) => {}
        }
    }
    let payload = pkt.payload();
    if !payload.is_empty() {
        let mut l = layer(7, "Data", pkt.offset_of(payload), payload.len());
        l.fields.add("length", "Length", payload.len());
        l.summary = format!("{} bytes of application data", payload.len());
        l.brief = format!("{} bytes", payload.len());
        out.push(l);
    }
    // Bytes after the last layer (Ethernet padding, trailers) belong to the link.
    let end = out
        .iter()
        .skip(1)
        .map(|l| l.offset + l.length)
        .max()
        .unwrap_or(0);
    let covered_to = if let Some(net) = pkt.net() {
        net_end(pkt, net)
    } else {
        end
    };
    let covered_to = covered_to.max(end);
    if pkt.problem.is_none() && covered_to > 0 && covered_to < pkt.data.len() {
        let n = pkt.data.len() - covered_to;
        let mut l = layer(2, "Trailer", covered_to, n);
        l.fields.add("length", "Length", n);
        l.summary = format!("{n} bytes after the network packet (padding or trailer)");
        out.push(l);
    }
    out
}

fn net_end(pkt: &Packet<'_>, net: &LaxNetSlice<'_>) -> usize {
    match net {
        LaxNetSlice::Ipv4(v) => {
            let p = &v.payload().payload;
            pkt.offset_of(p) + p.len()
        }
        LaxNetSlice::Ipv6(v) => {
            let p = &v.payload().payload;
            pkt.offset_of(p) + p.len()
        }
        LaxNetSlice::Arp(a) => pkt.offset_of(a.slice()) + a.slice().len(),
    }
}

fn frame_layer(f: &Frame<'_>) -> LayerDetail {
    let mut l = layer(1, "Frame", 0, f.data.len());
    let fl = &mut l.fields;
    fl.add("number", "Frame number", f.number);
    fl.add("interface", "Interface id", f.interface);
    fl.add("linktype", "Link type", f.linktype).text(format!(
        "{} ({})",
        linktype::name(f.linktype),
        f.linktype
    ));
    fl.add("caplen", "Captured length", f.data.len())
        .means("bytes saved in the capture");
    fl.add("len", "Wire length", f.orig_len)
        .means("bytes the frame had on the wire");
    fl.add("ts", "Arrival time", f.ts.to_string())
        .means("seconds since 1970-01-01 UTC");
    l.summary = match f.kind {
        FrameKind::Packet => {
            let mut s = format!(
                "{} bytes on wire, {} captured, {}",
                f.orig_len,
                f.data.len(),
                linktype::name(f.linktype)
            );
            if (f.data.len() as u64) < u64::from(f.orig_len) {
                s.push_str(" (cut by the snap length)");
            }
            s
        }
        FrameKind::Event(what) => format!("{what} (no packet data)"),
    };
    l
}

fn link_layers(pkt: &Packet<'_>, out: &mut Vec<LayerDetail>) {
    match &pkt.link {
        Link::Ethernet => {
            if let Some(s) = pkt.link_sliced() {
                if let Some(LinkSlice::Ethernet2(e)) = &s.link {
                    let mut l = layer(2, "Ethernet II", 0, e.header_slice().len());
                    let et = e.ether_type().0;
                    l.fields.add("dst", "Destination", mac(&e.destination()));
                    l.fields.add("src", "Source", mac(&e.source()));
                    l.fields
                        .add("ethertype", "EtherType", et)
                        .text(format!("{} ({et:#06x})", ethertype_name(et)));
                    l.summary =
                        format!("Ethernet {} → {}", mac(&e.source()), mac(&e.destination()));
                    l.brief = "Ethernet".into();
                    out.push(l);
                }
                for ext in &s.link_exts {
                    if let etherparse::LaxLinkExtSlice::Vlan(v) = ext {
                        let h = v.header_slice();
                        let mut l = layer(2, "802.1Q VLAN", pkt.offset_of(h), h.len());
                        let id = v.vlan_identifier().value();
                        let pcp = v.priority_code_point().value();
                        let et = v.ether_type().0;
                        l.fields.add("id", "VLAN id", id);
                        l.fields.add("pcp", "Priority", pcp);
                        l.fields
                            .add("dei", "Drop eligible", v.drop_eligible_indicator());
                        l.fields
                            .add("ethertype", "EtherType", et)
                            .text(format!("{} ({et:#06x})", ethertype_name(et)));
                        l.summary = format!("VLAN {id} pcp {pcp}");
                        l.brief = format!("VLAN {id}");
                        out.push(l);
                    }
                }
            }
        }
        Link::Null {
            header,
            family,
            kind,
        } => {
            let mut l = layer(2, "BSD loopback", 0, header.len());
            l.fields
                .add("family", "Address family", *family)
                .means(match kind {
                    NullFamily::Ipv4 => "IPv4",
                    NullFamily::Ipv6 => "IPv6",
                    NullFamily::Other => "not an IP family",
                });
            l.summary = match kind {
                NullFamily::Ipv4 => "Loopback, family IPv4".into(),
                NullFamily::Ipv6 => "Loopback, family IPv6".into(),
                NullFamily::Other => format!("Loopback, unknown family {family}"),
            };
            out.push(l);
        }
        Link::Sll {
            header,
            packet_type,
            arphrd,
            addr,
            protocol,
        } => {
            let mut l = layer(2, "Linux cooked (SLL)", 0, header.len());
            l.fields
                .add("packet_type", "Packet type", *packet_type)
                .means(sll_packet_type(*packet_type));
            l.fields
                .add("arphrd", "Device type", *arphrd)
                .means(arphrd_name(*arphrd));
            l.fields.add("addr", "Link-layer address", mac(addr));
            l.fields
                .add("protocol", "Protocol", *protocol)
                .text(format!("{} ({protocol:#06x})", ethertype_name(*protocol)));
            l.brief = format!("Linux cooked, {}", sll_packet_type(*packet_type));
            l.summary = format!(
                "Linux cooked, {}, {}",
                sll_packet_type(*packet_type),
                ethertype_name(*protocol)
            );
            out.push(l);
        }
        Link::Sll2 {
            header,
            protocol,
            ifindex,
            arphrd,
            packet_type,
            addr,
        } => {
            let mut l = layer(2, "Linux cooked v2 (SLL2)", 0, header.len());
            l.fields
                .add("protocol", "Protocol", *protocol)
                .text(format!("{} ({protocol:#06x})", ethertype_name(*protocol)));
            l.fields.add("ifindex", "Interface index", *ifindex);
            l.fields
                .add("arphrd", "Device type", *arphrd)
                .means(arphrd_name(*arphrd));
            l.fields
                .add("packet_type", "Packet type", *packet_type)
                .means(sll_packet_type(u16::from(*packet_type)));
            l.fields.add("addr", "Link-layer address", mac(addr));
            l.brief = format!(
                "Linux cooked v2, if {ifindex}, {}",
                sll_packet_type(u16::from(*packet_type))
            );
            l.summary = format!(
                "Linux cooked v2, if {ifindex}, {}, {}",
                sll_packet_type(u16::from(*packet_type)),
                ethertype_name(*protocol)
            );
            out.push(l);
        }
        Link::Raw { .. } | Link::None | Link::Nflog => {}
        Link::Unknown { linktype } => {
            let mut l = layer(2, "Unknown link layer", 0, pkt.data.len());
            l.fields.add("linktype", "Link type", *linktype);
            l.summary = format!("link type {linktype}, not decoded");
            out.push(l);
        }
        Link::Truncated { linktype, have, .. } => {
            let mut l = layer(2, "Link layer (truncated)", 0, *have);
            l.fields.add("linktype", "Link type", *linktype);
            l.summary = format!("{} header, cut short", linktype::name(*linktype));
            out.push(l);
        }
    }
    for shim in &pkt.shims {
        out.push(shim_layer(pkt, shim));
    }
    // An EtherType etherparse does not continue from (e.g. LLDP), or RARP.
    let last = pkt.sliced.as_ref().or(pkt.outer.as_ref());
    if let Some(s) = last
        && s.net.is_none()
        && s.stop_err.is_none()
        && let Some(p) = s.ether_payload()
    {
        let et = p.ether_type.0;
        if et == ETHERTYPE_RARP {
            out.push(arp_layer(pkt, p.payload));
        } else if et != ETHERTYPE_IPV4 && et != ETHERTYPE_IPV6 {
            let mut l = layer(
                3,
                "Unknown network layer",
                pkt.offset_of(p.payload),
                p.payload.len(),
            );
            l.fields
                .add("ethertype", "EtherType", et)
                .text(format!("{} ({et:#06x})", ethertype_name(et)));
            l.summary = format!("{} ({et:#06x}), not decoded", ethertype_name(et));
            out.push(l);
        }
    }
}

fn shim_layer(pkt: &Packet<'_>, shim: &Shim<'_>) -> LayerDetail {
    let h = shim.header();
    match shim {
        Shim::Mpls { labels, .. } => {
            // MPLS sits between the link and network layers ("layer 2.5"): filed under L2.
            let mut l = layer(2, "MPLS", pkt.offset_of(h), h.len());
            let list: Vec<Value> = labels
                .iter()
                .map(|(label, tc, ttl)| serde_json::json!({"label": label, "tc": tc, "ttl": ttl}))
                .collect();
            let text: Vec<String> = labels
                .iter()
                .map(|(label, _, _)| label.to_string())
                .collect();
            l.fields
                .add("labels", "Labels", Value::Array(list))
                .text(text.join(", "));
            l.summary = format!("MPLS labels {}", text.join(", "));
            l
        }
        Shim::Pppoe {
            session,
            ppp_protocol,
            ..
        } => {
            let mut l = layer(2, "PPPoE session", pkt.offset_of(h), h.len());
            l.fields
                .add("session", "Session id", *session)
                .text(format!("{session:#06x}"));
            l.fields
                .add("ppp_protocol", "PPP protocol", *ppp_protocol)
                .text(format!("{ppp_protocol:#06x}"));
            l.summary = format!("PPPoE session {session:#06x}");
            l
        }
        Shim::LlcSnap { oui, ethertype, .. } => {
            let mut l = layer(2, "802.2 LLC/SNAP", pkt.offset_of(h), h.len());
            l.fields.add("oui", "OUI", *oui).text(format!("{oui:06x}"));
            l.fields
                .add("ethertype", "EtherType", *ethertype)
                .text(format!("{} ({ethertype:#06x})", ethertype_name(*ethertype)));
            l.summary = format!("LLC/SNAP {}", ethertype_name(*ethertype));
            l
        }
        Shim::Nflog { family, .. } => {
            let mut l = layer(2, "Linux NFLOG", pkt.offset_of(h), h.len());
            l.fields
                .add("family", "Address family", *family)
                .means(match family {
                    2 => "IPv4",
                    10 => "IPv6",
                    _ => "other",
                });
            l.summary = "NFLOG (netfilter log)".into();
            l
        }
    }
}

/// The fields of a header cut short that are wholly present; nothing is guessed.
fn cut_layer(pkt: &Packet<'_>, kind: CutHeader, b: &[u8]) -> LayerDetail {
    // (key, label, offset, size); size 0 marks a sub-byte field read from one byte.
    type Spec = (&'static str, &'static str, usize, usize);
    const V4: &[Spec] = &[
        ("version", "Version", 0, 0),
        ("total_len", "Total length", 2, 2),
        ("id", "Identification", 4, 2),
        ("ttl", "Time to live", 8, 1),
        ("protocol", "Protocol", 9, 1),
        ("checksum", "Header checksum", 10, 2),
        ("flags_frag", "", 6, 2),
        ("src", "Source", 12, 4),
        ("dst", "Destination", 16, 4),
    ];
    const V6: &[Spec] = &[
        ("version", "Version", 0, 0),
        ("payload_len", "Payload length", 4, 2),
        ("next_header", "Next header", 6, 1),
        ("hop_limit", "Hop limit", 7, 1),
        ("src", "Source", 8, 16),
        ("dst", "Destination", 24, 16),
    ];
    const TCP: &[Spec] = &[
        ("src_port", "Source port", 0, 2),
        ("dst_port", "Destination port", 2, 2),
        ("seq_raw", "Sequence number (raw)", 4, 4),
        ("ack_raw", "Acknowledgement (raw)", 8, 4),
    ];
    const UDP: &[Spec] = &[
        ("src_port", "Source port", 0, 2),
        ("dst_port", "Destination port", 2, 2),
        ("length", "Length", 4, 2),
        ("checksum", "Checksum", 6, 2),
    ];
    let (osi, name, spec, full) = match kind {
        CutHeader::Ipv4 => (
            3,
            "IPv4",
            V4,
            usize::from(b.first().map_or(5, |x| x & 0x0f)) * 4,
        ),
        CutHeader::Ipv6 => (3, "IPv6", V6, 40),
        CutHeader::Tcp => (4, "TCP", TCP, 20),
        CutHeader::Udp => (4, "UDP", UDP, 8),
    };
    let mut l = layer(osi, name, pkt.offset_of(b), b.len());
    for &(key, label, off, size) in spec {
        if size == 0 {
            if let Some(x) = b.get(off) {
                l.fields.add(key, label, x >> 4);
            }
            continue;
        }
        let Some(v) = b.get(off..off + size) else {
            continue;
        };
        if key == "flags_frag" {
            let x = u16::from_be_bytes([v[0], v[1]]);
            l.fields.add("df", "Don't fragment", x & 0x4000 != 0);
            l.fields.add("mf", "More fragments", x & 0x2000 != 0);
            l.fields.add("frag_offset", "Fragment offset", x & 0x1fff);
            continue;
        }
        let value: Value = match (key, size) {
            ("src" | "dst", 4) => Ipv4Addr::new(v[0], v[1], v[2], v[3]).to_string().into(),
            ("src" | "dst", 16) => {
                let mut a = [0u8; 16];
                a.copy_from_slice(v);
                Ipv6Addr::from(a).to_string().into()
            }
            (_, 1) => v[0].into(),
            (_, 2) => u16::from_be_bytes([v[0], v[1]]).into(),
            _ => u32::from_be_bytes([v[0], v[1], v[2], v[3]]).into(),
        };
        l.fields.add(key, label, value);
    }
    l.fields
        .add("captured", "Captured header bytes", b.len())
        .means(format!("of {full}"));
    l.summary = format!("{name} header cut short ({} of {full} bytes)", b.len());
    l
}

fn ip_proto_name(p: u8) -> &'static str {
    match p {
        0 => "IPv6 hop-by-hop",
        1 => "ICMP",
        2 => "IGMP",
        4 => "IP-in-IP",
        6 => "TCP",
        17 => "UDP",
        41 => "IPv6",
        43 => "IPv6 routing",
        44 => "IPv6 fragment",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        58 => "ICMPv6",
        59 => "no next header",
        60 => "IPv6 destination options",
        89 => "OSPF",
        103 => "PIM",
        112 => "VRRP",
        132 => "SCTP",
        _ => "unknown",
    }
}

fn net_layer(pkt: &Packet<'_>, net: &LaxNetSlice<'_>, out: &mut Vec<LayerDetail>) {
    match net {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            let mut l = layer(3, "IPv4", pkt.offset_of(h.slice()), h.slice().len());
            let src = h.source_addr();
            let dst = h.destination_addr();
            let proto = h.protocol().0;
            let fl = &mut l.fields;
            fl.add("version", "Version", h.version());
            fl.add("ihl", "Header length", usize::from(h.ihl()) * 4)
                .text(format!("{} bytes", usize::from(h.ihl()) * 4));
            fl.add("dscp", "DSCP", h.dcp().value());
            fl.add("ecn", "ECN", h.ecn().value());
            fl.add("total_len", "Total length", h.total_len());
            fl.add("id", "Identification", h.identification())
                .text(format!(
                    "{:#06x} ({})",
                    h.identification(),
                    h.identification()
                ));
            fl.add("df", "Don't fragment", h.dont_fragment());
            fl.add("mf", "More fragments", h.more_fragments());
            let frag = h.fragments_offset().value();
            fl.add("frag_offset", "Fragment offset", frag)
                .text(format!("{frag} ({} bytes)", u32::from(frag) * 8));
            fl.add("ttl", "Time to live", h.ttl())
                .means("hops left before a router drops it");
            fl.add("protocol", "Protocol", proto)
                .text(format!("{} ({proto})", ip_proto_name(proto)));
            fl.add("checksum", "Header checksum", h.header_checksum())
                .text(format!("{:#06x}", h.header_checksum()))
                .means("not verified");
            fl.add("src", "Source", src.to_string());
            fl.add("dst", "Destination", dst.to_string());
            if !h.options().is_empty() {
                fl.add("options_len", "Options length", h.options().len());
            }
            l.summary = format!("IPv4 {src} → {dst} ttl {}", h.ttl());
            if v4.is_payload_fragmented() {
                let _ = write!(
                    l.summary,
                    " fragment off {}{}",
                    u32::from(frag) * 8,
                    if h.more_fragments() { " MF" } else { "" }
                );
            }
            out.push(l);
        }
        LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            let mut l = layer(3, "IPv6", pkt.offset_of(h.slice()), h.slice().len());
            let src: Ipv6Addr = h.source_addr();
            let dst: Ipv6Addr = h.destination_addr();
            let nh = h.next_header().0;
            let fl = &mut l.fields;
            fl.add("version", "Version", h.version());
            fl.add("traffic_class", "Traffic class", h.traffic_class());
            fl.add("flow_label", "Flow label", h.flow_label().value())
                .text(format!("{:#07x}", h.flow_label().value()));
            fl.add("payload_len", "Payload length", h.payload_length());
            fl.add("next_header", "Next header", nh)
                .text(format!("{} ({nh})", ip_proto_name(nh)));
            fl.add("hop_limit", "Hop limit", h.hop_limit())
                .means("hops left before a router drops it");
            fl.add("src", "Source", src.to_string());
            fl.add("dst", "Destination", dst.to_string());
            l.summary = format!("IPv6 {src} → {dst} hlim {}", h.hop_limit());
            out.push(l);
            let exts = v6.extensions();
            let ext_bytes = exts.slice();
            if !ext_bytes.is_empty() {
                let mut e = layer(
                    3,
                    "IPv6 extension headers",
                    pkt.offset_of(ext_bytes),
                    ext_bytes.len(),
                );
                // Walked here, within the slice: etherparse's own iterator does
                // not stop at the slice's end when the chain was cut (found by
                // the decode fuzz target).
                let names = exts
                    .first_header()
                    .map_or_else(Vec::new, |first| ipv6_extension_names(first, ext_bytes));
                e.fields.add("headers", "Headers", names.join(", "));
                e.fields.add("length", "Length", ext_bytes.len());
                e.summary = format!("IPv6 extensions: {}", names.join(", "));
                out.push(e);
            }
        }
        LaxNetSlice::Arp(a) => {
            out.push(arp_layer(pkt, a.slice()));
        }
    }
}

fn arp_layer(pkt: &Packet<'_>, b: &[u8]) -> LayerDetail {
    let mut l = layer(2, "ARP", pkt.offset_of(b), b.len());
    let be16 = |i: usize| b.get(i..i + 2).map(|x| u16::from_be_bytes([x[0], x[1]]));
    let (Some(htype), Some(ptype), Some(op)) = (be16(0), be16(2), be16(6)) else {
        l.summary = "ARP (too short)".into();
        return l;
    };
    let hlen = usize::from(b.get(4).copied().unwrap_or(0));
    let plen = usize::from(b.get(5).copied().unwrap_or(0));
    let fl = &mut l.fields;
    fl.add("htype", "Hardware type", htype);
    fl.add("ptype", "Protocol type", ptype)
        .text(format!("{ptype:#06x}"));
    fl.add("opcode", "Operation", op).means(match op {
        1 => "request",
        2 => "reply",
        3 => "RARP request",
        4 => "RARP reply",
        _ => "other",
    });
    let addr = |off: usize, len: usize, ip: bool| -> Option<String> {
        let s = b.get(off..off + len)?;
        Some(if ip && len == 4 {
            Ipv4Addr::new(s[0], s[1], s[2], s[3]).to_string()
        } else {
            mac(s)
        })
    };
    let is_ip = ptype == ETHERTYPE_IPV4;
    let sha = addr(8, hlen, false);
    let spa = addr(8 + hlen, plen, is_ip);
    let tha = addr(8 + hlen + plen, hlen, false);
    let tpa = addr(8 + 2 * hlen + plen, plen, is_ip);
    for (k, label, v) in [
        ("sender_mac", "Sender hardware address", &sha),
        ("sender_ip", "Sender protocol address", &spa),
        ("target_mac", "Target hardware address", &tha),
        ("target_ip", "Target protocol address", &tpa),
    ] {
        if let Some(v) = v {
            fl.add(k, label, v.clone());
        }
    }
    let q = |o: &Option<String>| o.clone().unwrap_or_else(|| "?".into());
    l.summary = match op {
        1 => format!("ARP who-has {} tell {}", q(&tpa), q(&spa)),
        2 => format!("ARP {} is-at {}", q(&spa), q(&sha)),
        3 => format!("RARP who-is {} tell {}", q(&tha), q(&sha)),
        4 => format!("RARP {} at {}", q(&tha), q(&tpa)),
        _ => format!("ARP operation {op}"),
    };
    l
}

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

fn tcp_layer(pkt: &Packet<'_>, tcp: &TcpView<'_>, ctx: Option<&SegmentContext>) -> LayerDetail {
    let hs = tcp.header_bytes();
    let mut l = layer(4, "TCP", pkt.offset_of(hs), hs.len());
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
        .text(format!("{} bytes", tcp.header_len()));
    fl.add("flags", "Flags", flags)
        .text(format!("{flags:#05x} [{}]", tcp_flags_text(flags)));
    fl.add("window", "Window", tcp.window())
        .means("the raw field, before window scaling");
    if let Some(c) = ctx {
        fl.add("window_size", "Window size", c.window_size)
            .means("bytes the sender can still receive, scaled as the handshake agreed");
    }
    fl.add("checksum", "Checksum", tcp.checksum())
        .text(format!("{:#06x}", tcp.checksum()))
        .means("not verified");
    fl.add("urgent_ptr", "Urgent pointer", tcp.urgent_ptr());
    let opts = tcp_options::parse(tcp.options(), !tcp.complete());
    if !opts.is_empty() {
        fl.add("options", "Options", options_json(&opts))
            .text(tcp_options::summary(&opts));
    }
    let seg_len = segment_len(pkt, tcp.header_len()).unwrap_or(tcp.payload().len());
    fl.add("len", "Segment length", seg_len)
        .means("payload bytes the IP header says the segment carries");
    fl.add("payload_len", "Captured payload", tcp.payload().len());
    if let Some(c) = ctx.filter(|c| !c.analysis.is_empty()) {
        let kinds: Vec<Value> = c.analysis.iter().map(|(k, _)| Value::from(k)).collect();
        let labels: Vec<&str> = c.analysis.iter().map(|(_, l)| l).collect();
        fl.add("analysis", "Analysis", Value::Array(kinds))
            .text(labels.join(", "))
            .means("as Wireshark's expert info");
    }
    let mut s = format!(
        "TCP {} → {} [{}]",
        tcp.src_port(),
        tcp.dst_port(),
        tcp_flags_text(flags)
    );
    match ctx {
        Some(c) => {
            let _ = write!(s, " seq={}", c.rel_seq);
            if let Some(a) = c.rel_ack {
                let _ = write!(s, " ack={a}");
            }
        }
        None => {
            let _ = write!(s, " seq={}", tcp.seq());
            if tcp.has(ACK) {
                let _ = write!(s, " ack={}", tcp.ack_number());
            }
        }
    }
    let win = ctx.map_or(u32::from(tcp.window()), |c| c.window_size);
    let _ = write!(s, " win={win} len={seg_len}");
    let o = tcp_options::summary(&opts);
    if !o.is_empty() {
        s.push(' ');
        s.push_str(&o);
    }
    l.summary = s;
    l
}

fn transport_layer(pkt: &Packet<'_>, t: &TransportSlice<'_>, out: &mut Vec<LayerDetail>) {
    match t {
        TransportSlice::Tcp(_) => {}
        TransportSlice::Udp(udp) => {
            let hs = udp.header_slice();
            let mut l = layer(4, "UDP", pkt.offset_of(hs), hs.len());
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
                .text(format!("{csum:#06x}"))
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
            out.push(icmp_layer(pkt, &head));
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
            out.push(icmp_layer(pkt, &head));
        }
        TransportSlice::Igmp(igmp) => {
            let b = igmp.slice();
            let mut l = layer(3, "IGMP", pkt.offset_of(b), b.len());
            if let Some(&ty) = b.first() {
                l.fields.add("type", "Type", ty).text(format!("{ty:#04x}"));
            }
            l.summary = "IGMP".into();
            out.push(l);
        }
    }
}

fn options_json(opts: &[TcpOption]) -> Value {
    let v: Vec<Value> = opts
        .iter()
        .map(|o| match o {
            TcpOption::Eol => serde_json::json!({"kind": 0, "name": "EOL"}),
            TcpOption::Nop => serde_json::json!({"kind": 1, "name": "NOP"}),
            TcpOption::Mss(v) => serde_json::json!({"kind": 2, "name": "MSS", "value": v}),
            TcpOption::WindowScale(v) => serde_json::json!({"kind": 3, "name": "WS", "shift": v}),
            TcpOption::SackPermitted => serde_json::json!({"kind": 4, "name": "SACK_PERM"}),
            TcpOption::Sack(e) => serde_json::json!({"kind": 5, "name": "SACK", "blocks": e}),
            TcpOption::Timestamp { val, ecr } => {
                serde_json::json!({"kind": 8, "name": "TS", "val": val, "ecr": ecr})
            }
            TcpOption::FastOpen(c) => {
                let hex: String = c.iter().map(|b| format!("{b:02x}")).collect();
                serde_json::json!({"kind": 34, "name": "TFO", "cookie": hex})
            }
            TcpOption::Other { kind, len } => {
                serde_json::json!({"kind": kind, "name": tcp_options::kind_name(*kind), "len": len})
            }
            TcpOption::Malformed { kind, reason } => {
                serde_json::json!({"kind": kind, "name": "malformed", "reason": reason})
            }
            TcpOption::Cut { kind } => {
                serde_json::json!({"kind": kind, "name": tcp_options::kind_name(*kind), "cut": true})
            }
        })
        .collect();
    Value::Array(v)
}

/// Names of the IPv6 extension headers in `bytes`, the first being `first`;
/// stops at a header that does not fit (named, then "…").
fn ipv6_extension_names(first: etherparse::IpNumber, bytes: &[u8]) -> Vec<&'static str> {
    use etherparse::IpNumber;
    let mut names = Vec::new();
    let (mut next, mut at) = (first, 0usize);
    // Each header is at least 8 bytes: the loop ends within bytes.len() / 8 turns.
    while at < bytes.len() {
        let (name, len) = match next {
            IpNumber::IPV6_HEADER_HOP_BY_HOP => ("hop-by-hop", 8),
            IpNumber::IPV6_ROUTE_HEADER => ("routing", 8),
            IpNumber::IPV6_DESTINATION_OPTIONS => ("destination options", 8),
            IpNumber::IPV6_FRAGMENTATION_HEADER => ("fragment", 0),
            IpNumber::AUTHENTICATION_HEADER => ("authentication", 4),
            _ => break,
        };
        let size = match (len, bytes.get(at + 1)) {
            (0, _) => 8,
            (unit, Some(&l)) => (usize::from(l) + if unit == 4 { 2 } else { 1 }) * unit,
            (_, None) => usize::MAX,
        };
        names.push(name);
        if size > bytes.len() - at {
            names.push("…");
            break;
        }
        next = IpNumber(bytes[at]);
        at += size;
    }
    names
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

fn icmp_layer(pkt: &Packet<'_>, h: &Icmp<'_>) -> LayerDetail {
    let mut l = layer(3, h.name, pkt.offset_of(h.bytes), h.bytes.len());
    l.fields.add("type", "Type", h.ty).means(h.meaning);
    l.fields.add("code", "Code", h.code);
    l.fields
        .add("checksum", "Checksum", h.checksum)
        .text(format!("{:#06x}", h.checksum));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_extension_walk_stops_inside_the_slice() {
        use etherparse::IpNumber;
        // Hop-by-hop (8 bytes, next: hop-by-hop), then one claiming 48 bytes of 8.
        let mut b = vec![0u8; 16];
        b[0] = 0; // next header: hop-by-hop
        b[8] = 6; // next header: TCP
        b[9] = 5; // (5 + 1) * 8 = 48 bytes
        let names = ipv6_extension_names(IpNumber::IPV6_HEADER_HOP_BY_HOP, &b);
        assert_eq!(names, ["hop-by-hop", "hop-by-hop", "…"]);
        // A whole chain: fragment (8 bytes) then destination options (8), then TCP.
        let mut c = vec![0u8; 16];
        c[0] = 60;
        c[8] = 6;
        let names = ipv6_extension_names(IpNumber::IPV6_FRAGMENTATION_HEADER, &c);
        assert_eq!(names, ["fragment", "destination options"]);
        assert!(ipv6_extension_names(IpNumber::IPV6_HEADER_HOP_BY_HOP, &[]).is_empty());
    }
}
