//! The network layer: IPv4, IPv6 with its extension headers, ARP.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use etherparse::LaxNetSlice;

use super::{Keep, LayerDetail, layer, mac};
use crate::decode::Packet;
use crate::decode::link::ETHERTYPE_IPV4;
use crate::text::{push_int, push_ipv4};

pub(super) fn ip_proto_name(p: u8) -> &'static str {
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

pub(super) fn net_layer(
    pkt: &Packet<'_>,
    keep: Keep,
    net: &LaxNetSlice<'_>,
    out: &mut Vec<LayerDetail>,
) {
    match net {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            let mut l = layer(keep, 3, "IPv4", pkt.offset_of(h.slice()), h.slice().len());
            let src = h.source_addr();
            let dst = h.destination_addr();
            let proto = h.protocol().0;
            let fl = &mut l.fields;
            fl.add("version", "Version", h.version());
            fl.add("ihl", "Header length", usize::from(h.ihl()) * 4)
                .text(format_args!("{} bytes", usize::from(h.ihl()) * 4));
            fl.add("dscp", "DSCP", h.dcp().value());
            fl.add("ecn", "ECN", h.ecn().value());
            fl.add("total_len", "Total length", h.total_len());
            fl.add("id", "Identification", h.identification())
                .text(format_args!(
                    "{:#06x} ({})",
                    h.identification(),
                    h.identification()
                ));
            fl.add("df", "Don't fragment", h.dont_fragment());
            fl.add("mf", "More fragments", h.more_fragments());
            let frag = h.fragments_offset().value();
            fl.add("frag_offset", "Fragment offset", frag)
                .text(format_args!("{frag} ({} bytes)", u32::from(frag) * 8));
            fl.add("ttl", "Time to live", h.ttl())
                .means("hops left before a router drops it");
            fl.add("protocol", "Protocol", proto)
                .text(format_args!("{} ({proto})", ip_proto_name(proto)));
            fl.add("checksum", "Header checksum", h.header_checksum())
                .text(format_args!("{:#06x}", h.header_checksum()))
                .means("not verified");
            let mut s = String::with_capacity(48);
            s.push_str("IPv4 ");
            push_ipv4(&mut s, src);
            let src_at = "IPv4 ".len()..s.len();
            s.push_str(" → ");
            let at = s.len();
            push_ipv4(&mut s, dst);
            let dst_at = at..s.len();
            fl.add("src", "Source", s.get(src_at).unwrap_or_default());
            fl.add("dst", "Destination", s.get(dst_at).unwrap_or_default());
            s.push_str(" ttl ");
            push_int(&mut s, h.ttl());
            l.summary = s;
            if !h.options().is_empty() {
                fl.add("options_len", "Options length", h.options().len());
            }
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
            let mut l = layer(keep, 3, "IPv6", pkt.offset_of(h.slice()), h.slice().len());
            let src: Ipv6Addr = h.source_addr();
            let dst: Ipv6Addr = h.destination_addr();
            let nh = h.next_header().0;
            let fl = &mut l.fields;
            fl.add("version", "Version", h.version());
            fl.add("traffic_class", "Traffic class", h.traffic_class());
            fl.add("flow_label", "Flow label", h.flow_label().value())
                .text(format_args!("{:#07x}", h.flow_label().value()));
            fl.add("payload_len", "Payload length", h.payload_length());
            fl.add("next_header", "Next header", nh)
                .text(format_args!("{} ({nh})", ip_proto_name(nh)));
            fl.add("hop_limit", "Hop limit", h.hop_limit())
                .means("hops left before a router drops it");
            let (src, dst) = (src.to_string(), dst.to_string());
            l.summary = format!("IPv6 {src} → {dst} hlim {}", h.hop_limit());
            fl.add("src", "Source", src);
            fl.add("dst", "Destination", dst);
            out.push(l);
            let exts = v6.extensions();
            let ext_bytes = exts.slice();
            if !ext_bytes.is_empty() {
                let mut e = layer(
                    keep,
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
            out.push(arp_layer(pkt, keep, a.slice()));
        }
    }
}

pub(super) fn arp_layer(pkt: &Packet<'_>, keep: Keep, b: &[u8]) -> LayerDetail {
    let mut l = layer(keep, 2, "ARP", pkt.offset_of(b), b.len());
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
        .text(format_args!("{ptype:#06x}"));
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

/// Names of the IPv6 extension headers in `bytes`, the first being `first`;
/// stops at a header that does not fit (named, then "…").
pub(super) fn ipv6_extension_names(first: etherparse::IpNumber, bytes: &[u8]) -> Vec<&'static str> {
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
