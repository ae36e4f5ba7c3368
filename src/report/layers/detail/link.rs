//! The frame's link layers: Ethernet, VLAN, cooked captures, BSD loopback,
//! the shims etherparse does not take (MPLS, PPPoE, LLC/SNAP, NFLOG), and
//! headers the capture cut short.

use std::net::{Ipv4Addr, Ipv6Addr};

use etherparse::LinkSlice;
use serde_json::Value;

use super::net::arp_layer;
use super::{Keep, LayerDetail, layer, mac};
use crate::capture::linktype;
use crate::decode::link::{ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use crate::decode::shim::ETHERTYPE_RARP;
use crate::decode::{
    CutHeader, Link, NullFamily, Packet, Shim, arphrd_name, ethertype_name, sll_packet_type,
};

pub(super) fn link_layers(pkt: &Packet<'_>, keep: Keep, out: &mut Vec<LayerDetail>) {
    match &pkt.link {
        Link::Ethernet => {
            if let Some(s) = pkt.link_sliced() {
                if let Some(LinkSlice::Ethernet2(e)) = &s.link {
                    let mut l = layer(keep, 2, "Ethernet II", 0, e.header_slice().len());
                    let et = e.ether_type().0;
                    let (dst, src) = (mac(&e.destination()), mac(&e.source()));
                    l.fields.add("dst", "Destination", dst.as_str());
                    l.fields.add("src", "Source", src.as_str());
                    l.fields
                        .add("ethertype", "EtherType", et)
                        .text(format_args!("{} ({et:#06x})", ethertype_name(et)));
                    l.summary = ["Ethernet ", &src, " → ", &dst].concat();
                    l.brief = "Ethernet".into();
                    out.push(l);
                }
                for ext in &s.link_exts {
                    if let etherparse::LaxLinkExtSlice::Vlan(v) = ext {
                        let h = v.header_slice();
                        let mut l = layer(keep, 2, "802.1Q VLAN", pkt.offset_of(h), h.len());
                        let id = v.vlan_identifier().value();
                        let pcp = v.priority_code_point().value();
                        let et = v.ether_type().0;
                        l.fields.add("id", "VLAN id", id);
                        l.fields.add("pcp", "Priority", pcp);
                        l.fields
                            .add("dei", "Drop eligible", v.drop_eligible_indicator());
                        l.fields
                            .add("ethertype", "EtherType", et)
                            .text(format_args!("{} ({et:#06x})", ethertype_name(et)));
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
            let mut l = layer(keep, 2, "BSD loopback", 0, header.len());
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
            let mut l = layer(keep, 2, "Linux cooked (SLL)", 0, header.len());
            l.fields
                .add("packet_type", "Packet type", *packet_type)
                .means(sll_packet_type(*packet_type));
            l.fields
                .add("arphrd", "Device type", *arphrd)
                .means(arphrd_name(*arphrd));
            l.fields.add("addr", "Link-layer address", mac(addr));
            l.fields
                .add("protocol", "Protocol", *protocol)
                .text(format_args!(
                    "{} ({protocol:#06x})",
                    ethertype_name(*protocol)
                ));
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
            let mut l = layer(keep, 2, "Linux cooked v2 (SLL2)", 0, header.len());
            l.fields
                .add("protocol", "Protocol", *protocol)
                .text(format_args!(
                    "{} ({protocol:#06x})",
                    ethertype_name(*protocol)
                ));
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
            let mut l = layer(keep, 2, "Unknown link layer", 0, pkt.data.len());
            l.fields.add("linktype", "Link type", *linktype);
            l.summary = format!("link type {linktype}, not decoded");
            out.push(l);
        }
        Link::Truncated { linktype, have, .. } => {
            let mut l = layer(keep, 2, "Link layer (truncated)", 0, *have);
            l.fields.add("linktype", "Link type", *linktype);
            l.summary = format!("{} header, cut short", linktype::name(*linktype));
            out.push(l);
        }
    }
    for shim in &pkt.shims {
        out.push(shim_layer(pkt, keep, shim));
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
            out.push(arp_layer(pkt, keep, p.payload));
        } else if et != ETHERTYPE_IPV4 && et != ETHERTYPE_IPV6 {
            let mut l = layer(
                keep,
                3,
                "Unknown network layer",
                pkt.offset_of(p.payload),
                p.payload.len(),
            );
            l.fields
                .add("ethertype", "EtherType", et)
                .text(format_args!("{} ({et:#06x})", ethertype_name(et)));
            l.summary = format!("{} ({et:#06x}), not decoded", ethertype_name(et));
            out.push(l);
        }
    }
}

fn shim_layer(pkt: &Packet<'_>, keep: Keep, shim: &Shim<'_>) -> LayerDetail {
    let h = shim.header();
    match shim {
        Shim::Mpls { labels, .. } => {
            // MPLS sits between the link and network layers ("layer 2.5"): filed under L2.
            let mut l = layer(keep, 2, "MPLS", pkt.offset_of(h), h.len());
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
            let mut l = layer(keep, 2, "PPPoE session", pkt.offset_of(h), h.len());
            l.fields
                .add("session", "Session id", *session)
                .text(format_args!("{session:#06x}"));
            l.fields
                .add("ppp_protocol", "PPP protocol", *ppp_protocol)
                .text(format_args!("{ppp_protocol:#06x}"));
            l.summary = format!("PPPoE session {session:#06x}");
            l
        }
        Shim::LlcSnap { oui, ethertype, .. } => {
            let mut l = layer(keep, 2, "802.2 LLC/SNAP", pkt.offset_of(h), h.len());
            l.fields
                .add("oui", "OUI", *oui)
                .text(format_args!("{oui:06x}"));
            l.fields
                .add("ethertype", "EtherType", *ethertype)
                .text(format_args!(
                    "{} ({ethertype:#06x})",
                    ethertype_name(*ethertype)
                ));
            l.summary = format!("LLC/SNAP {}", ethertype_name(*ethertype));
            l
        }
        Shim::Nflog { family, .. } => {
            let mut l = layer(keep, 2, "Linux NFLOG", pkt.offset_of(h), h.len());
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
pub(super) fn cut_layer(pkt: &Packet<'_>, keep: Keep, kind: CutHeader, b: &[u8]) -> LayerDetail {
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
    let mut l = layer(keep, osi, name, pkt.offset_of(b), b.len());
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
