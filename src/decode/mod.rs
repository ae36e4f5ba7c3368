//! Layers 2–4 of one packet.
//!
//! Link-layer headers that etherparse does not take (BSD NULL/LOOP, Linux
//! cooked SLL and SLL2, raw IP) are read here; from the EtherType (or IP
//! version) on, etherparse's lax slicer does the work, so a packet cut by the
//! snap length still yields every layer whose bytes are present.
//!
//! Validated: every header length before a field is read (accessors never
//! index past the captured bytes). Not validated: checksums (shown, not
//! verified) and anything above the transport header.

pub mod detail;
mod link;
pub mod tcp_options;

use etherparse::err::packet::SliceError;
use etherparse::err::{Layer, LenError};
use etherparse::{LaxNetSlice, LaxSlicedPacket, LinkSlice, TransportSlice};

use crate::capture::{Frame, FrameKind};
pub use link::{Link, NullFamily, arphrd_name, ethertype_name, sll_packet_type};

/// One packet taken apart: zero-copy views into the frame's bytes.
pub struct Packet<'a> {
    pub data: &'a [u8],
    pub link: Link<'a>,
    /// The layers etherparse found, from Ethernet (or the network layer) down.
    pub sliced: Option<LaxSlicedPacket<'a>>,
    /// Why decoding stopped early, if it did.
    pub problem: Option<Problem>,
}

/// Decoding stopped before the end of the headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The capture holds fewer bytes than the layer needs (snap length).
    Truncated {
        osi: u8,
        what: &'static str,
        have: usize,
        need: usize,
    },
    /// The bytes are there but do not form a valid header.
    Malformed {
        osi: u8,
        what: &'static str,
        reason: String,
    },
}

impl Problem {
    pub fn text(&self) -> String {
        match self {
            Problem::Truncated {
                osi,
                what,
                have,
                need,
            } => format!("truncated in L{osi} {what}: {have} of {need} bytes captured"),
            Problem::Malformed { osi, what, reason } => {
                format!("malformed L{osi} {what}: {reason}")
            }
        }
    }
}

impl<'a> Packet<'a> {
    pub fn decode(frame: &Frame<'a>) -> Packet<'a> {
        let data = frame.data;
        if frame.kind != FrameKind::Packet {
            return Packet {
                data,
                link: Link::None,
                sliced: None,
                problem: None,
            };
        }
        let (link, next) = link::parse(frame.linktype, data);
        let mut problem = link.problem();
        let sliced = match next {
            link::Next::Ethernet => match LaxSlicedPacket::from_ethernet(data) {
                Ok(s) => Some(s),
                Err(e) => {
                    problem = Some(len_problem(&e, 2, "Ethernet header"));
                    None
                }
            },
            link::Next::EtherType(et, off) => Some(LaxSlicedPacket::from_ether_type(
                etherparse::EtherType(et),
                &data[off..],
            )),
            link::Next::Stop => None,
        };
        if let Some(s) = &sliced {
            if let Some((err, layer)) = &s.stop_err {
                problem = Some(slice_problem(err, *layer));
            } else if let Some(p) = payload_truncation(s) {
                problem = Some(p);
            }
        }
        Packet {
            data,
            link,
            sliced,
            problem,
        }
    }

    pub fn net(&self) -> Option<&LaxNetSlice<'a>> {
        self.sliced.as_ref()?.net.as_ref()
    }

    pub fn transport(&self) -> Option<&TransportSlice<'a>> {
        self.sliced.as_ref()?.transport.as_ref()
    }

    pub fn ethernet(&self) -> Option<&etherparse::Ethernet2Slice<'a>> {
        match self.sliced.as_ref()?.link.as_ref()? {
            LinkSlice::Ethernet2(e) => Some(e),
            _ => None,
        }
    }

    /// Offset of a sub-slice within the frame.
    pub fn offset_of(&self, part: &[u8]) -> usize {
        (part.as_ptr() as usize).saturating_sub(self.data.as_ptr() as usize)
    }

    /// The transport payload (TCP/UDP data) as captured.
    pub fn payload(&self) -> &'a [u8] {
        match self.transport() {
            Some(TransportSlice::Tcp(t)) => t.payload(),
            Some(TransportSlice::Udp(u)) => u.payload(),
            _ => &[],
        }
    }
}

fn layer_name(layer: Layer) -> (u8, &'static str) {
    match layer {
        Layer::LinuxSllHeader => (2, "Linux cooked header"),
        Layer::Ethernet2Header => (2, "Ethernet header"),
        Layer::EtherPayload => (2, "Ethernet payload"),
        Layer::VlanHeader => (2, "802.1Q VLAN tag"),
        Layer::MacsecHeader | Layer::MacsecPacket => (2, "MACsec header"),
        Layer::Arp => (2, "ARP packet"),
        Layer::IpHeader => (3, "IP header"),
        Layer::Ipv4Header => (3, "IPv4 header"),
        Layer::Ipv4Packet => (3, "IPv4 packet"),
        Layer::IpAuthHeader => (3, "IP authentication header"),
        Layer::Ipv6Header => (3, "IPv6 header"),
        Layer::Ipv6Packet => (3, "IPv6 packet"),
        Layer::Ipv6ExtHeader
        | Layer::Ipv6HopByHopHeader
        | Layer::Ipv6DestOptionsHeader
        | Layer::Ipv6RouteHeader
        | Layer::Ipv6FragHeader => (3, "IPv6 extension header"),
        Layer::Icmpv4 | Layer::Icmpv4Timestamp | Layer::Icmpv4TimestampReply => (3, "ICMP message"),
        Layer::Icmpv6 => (3, "ICMPv6 message"),
        Layer::Igmp => (3, "IGMP message"),
        Layer::UdpHeader => (4, "UDP header"),
        Layer::UdpPayload => (4, "UDP payload"),
        Layer::TcpHeader => (4, "TCP header"),
    }
}

fn len_problem(e: &LenError, osi: u8, what: &'static str) -> Problem {
    Problem::Truncated {
        osi,
        what,
        have: e.len,
        need: e.required_len,
    }
}

fn slice_problem(err: &SliceError, layer: Layer) -> Problem {
    let (osi, what) = layer_name(layer);
    match err {
        SliceError::Len(e) => {
            let (osi, what) = layer_name(e.layer);
            len_problem(e, osi, what)
        }
        other => Problem::Malformed {
            osi,
            what,
            reason: other.to_string(),
        },
    }
}

/// A complete transport header whose payload the snap length cut short.
fn payload_truncation(s: &LaxSlicedPacket<'_>) -> Option<Problem> {
    let net = s.net.as_ref()?;
    let ip_payload = net.ip_payload_ref()?;
    if !ip_payload.incomplete || ip_payload.fragmented {
        return None;
    }
    let declared = match net {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            usize::from(h.total_len()).saturating_sub(h.slice().len())
        }
        LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            let ext_len = v6.extensions().slice().len();
            usize::from(h.payload_length()).saturating_sub(ext_len)
        }
        LaxNetSlice::Arp(_) => return None,
    };
    let have = ip_payload.payload.len();
    let (what, hdr) = match s.transport.as_ref() {
        Some(TransportSlice::Tcp(t)) => ("TCP payload", t.header_slice().len()),
        Some(TransportSlice::Udp(_)) => ("UDP payload", 8),
        Some(_) => ("ICMP payload", 0),
        None => ("IP payload", 0),
    };
    let osi = if what == "ICMP payload" || what == "IP payload" {
        3
    } else {
        4
    };
    Some(Problem::Truncated {
        osi,
        what,
        have: have.saturating_sub(hdr),
        need: declared.saturating_sub(hdr),
    })
}
