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

pub mod link;
pub mod shim;
pub mod tcp;
pub mod tcp_options;

use etherparse::err::packet::SliceError;
use etherparse::err::{Layer, LenError};
use etherparse::{LaxNetSlice, LaxSlicedPacket, LinkSlice, TransportSlice};

use crate::capture::{Frame, FrameKind};
pub use link::{Link, NullFamily, arphrd_name, ethertype_name, sll_packet_type};
pub use shim::Shim;
pub use tcp::TcpView;

/// One packet taken apart: zero-copy views into the frame's bytes.
pub struct Packet<'a> {
    pub data: &'a [u8],
    pub link: Link<'a>,
    /// Ethernet and VLAN headers, when shims separate them from the network layer.
    pub outer: Option<LaxSlicedPacket<'a>>,
    /// MPLS, PPPoE, LLC/SNAP or NFLOG headers, outermost first.
    pub shims: Vec<Shim<'a>>,
    /// The layers etherparse found, from Ethernet (or the network layer) down.
    pub sliced: Option<LaxSlicedPacket<'a>>,
    /// Why decoding stopped early, if it did.
    pub problem: Option<Problem>,
    /// The capture kept fewer bytes than the frame had (snap length), so
    /// missing bytes are expected rather than a sign of a malformed packet.
    pub cut: bool,
}

/// Which header [`Packet::cut_header`] found cut short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CutHeader {
    Ipv4,
    Ipv6,
    Tcp,
    Udp,
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
        let mut pkt = Packet {
            data,
            link: Link::None,
            outer: None,
            shims: Vec::new(),
            sliced: None,
            problem: None,
            cut: frame.data.len() < frame.orig_len as usize,
        };
        if frame.kind != FrameKind::Packet {
            return pkt;
        }
        let (link, next) = link::parse(frame.linktype, data);
        pkt.problem = link.problem();
        pkt.link = link;
        let start = match next {
            link::Next::Ethernet => {
                // Sliced in its final place (the slices are a few hundred
                // bytes, and most packets have no shim to move them for).
                pkt.sliced = match LaxSlicedPacket::from_ethernet(data) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        pkt.problem = Some(len_problem(&e, 2, "Ethernet header"));
                        None
                    }
                };
                let shim_at = match pkt.sliced.as_ref() {
                    Some(s) => match (&s.net, &s.stop_err, s.ether_payload()) {
                        (None, None, Some(p)) if shim::is_shim(p.ether_type.0) => {
                            Some((p.ether_type.0, pkt.offset_of(p.payload)))
                        }
                        _ => None,
                    },
                    None => None,
                };
                if shim_at.is_some() {
                    pkt.outer = pkt.sliced.take();
                }
                shim_at
            }
            link::Next::EtherType(et, off) => Some((et, off)),
            link::Next::Nflog => match shim::nflog(data) {
                Some((s, et, off)) => {
                    pkt.shims.push(s);
                    Some((et, off))
                }
                None => None,
            },
            link::Next::Stop => None,
        };
        if let Some((et, off)) = start {
            let (shims, et, off) = shim::unwrap(data, et, off);
            pkt.shims.extend(shims);
            if off <= data.len() && et != 0xffff && !shim::is_shim(et) {
                pkt.sliced = Some(LaxSlicedPacket::from_ether_type(
                    etherparse::EtherType(et),
                    &data[off..],
                ));
            }
        }
        if let Some(s) = &pkt.sliced {
            if let Some((err, layer)) = &s.stop_err {
                pkt.problem = Some(slice_problem(err, *layer));
            } else if let Some(p) = payload_truncation(s) {
                pkt.problem = Some(p);
            }
        }
        // Missing bytes in a frame the capture kept whole: the frame itself is
        // shorter than its headers say, which is malformation, not truncation.
        if !pkt.cut
            && let Some(Problem::Truncated {
                osi,
                what,
                have,
                need,
            }) = pkt.problem
        {
            pkt.problem = Some(Problem::Malformed {
                osi,
                what,
                reason: format!(
                    "{have} of {need} bytes present: the frame is shorter than its headers say"
                ),
            });
        }
        pkt
    }

    pub fn net(&self) -> Option<&LaxNetSlice<'a>> {
        self.sliced.as_ref()?.net.as_ref()
    }

    /// Source and destination address of the IPv4 or IPv6 header.
    pub fn ip_addrs(&self) -> Option<(std::net::IpAddr, std::net::IpAddr)> {
        match self.net()? {
            LaxNetSlice::Ipv4(v) => {
                let h = v.header();
                Some((h.source_addr().into(), h.destination_addr().into()))
            }
            LaxNetSlice::Ipv6(v) => {
                let h = v.header();
                Some((h.source_addr().into(), h.destination_addr().into()))
            }
            LaxNetSlice::Arp(_) => None,
        }
    }

    pub fn transport(&self) -> Option<&TransportSlice<'a>> {
        self.sliced.as_ref()?.transport.as_ref()
    }

    /// The sliced packet that holds the Ethernet/VLAN headers, if any.
    pub fn link_sliced(&self) -> Option<&LaxSlicedPacket<'a>> {
        self.outer.as_ref().or(self.sliced.as_ref())
    }

    pub fn ethernet(&self) -> Option<&etherparse::Ethernet2Slice<'a>> {
        match self.link_sliced()?.link.as_ref()? {
            LinkSlice::Ethernet2(e) => Some(e),
            _ => None,
        }
    }

    /// The TCP header, also when the snap length cut it after its first 20 bytes.
    pub fn tcp(&self) -> Option<TcpView<'a>> {
        if let Some(TransportSlice::Tcp(t)) = self.transport() {
            return Some(TcpView::from_slice(t));
        }
        let s = self.sliced.as_ref()?;
        let (_, layer) = s.stop_err.as_ref()?;
        if *layer != Layer::TcpHeader {
            return None;
        }
        let ip_payload = s.net.as_ref()?.ip_payload_ref()?;
        if ip_payload.fragmented || ip_payload.ip_number != etherparse::IpNumber::TCP {
            return None;
        }
        TcpView::partial(ip_payload.payload)
    }

    /// A header the snap length cut short, with the bytes that were captured,
    /// so that the fields that are complete can still be shown.
    pub fn cut_header(&self) -> Option<(CutHeader, &'a [u8])> {
        let s = self.sliced.as_ref()?;
        let (err, layer) = s.stop_err.as_ref()?;
        if !matches!(err, SliceError::Len(_) | SliceError::Tcp(_)) {
            return None;
        }
        match layer {
            Layer::Ipv4Header | Layer::Ipv6Header | Layer::IpHeader => {
                let bytes = s.ether_payload()?.payload;
                let kind = match bytes.first().map(|b| b >> 4) {
                    Some(4) => CutHeader::Ipv4,
                    Some(6) => CutHeader::Ipv6,
                    _ => return None,
                };
                Some((kind, bytes))
            }
            Layer::TcpHeader if self.tcp().is_none() => {
                Some((CutHeader::Tcp, s.net.as_ref()?.ip_payload_ref()?.payload))
            }
            Layer::UdpHeader => Some((CutHeader::Udp, s.net.as_ref()?.ip_payload_ref()?.payload)),
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
            _ => self.tcp().map(|t| t.payload()).unwrap_or(&[]),
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

/// TCP payload length by the IP header's count (tshark's `tcp.len`), which
/// stays right when the capture cut the payload short.
///
/// When the frame was kept whole but the IP header claims more bytes than it
/// holds, the bytes present are counted instead, as tshark does.
pub fn segment_len(pkt: &Packet<'_>, tcp_hdr_len: usize) -> Option<usize> {
    let declared = declared_segment_len(pkt, tcp_hdr_len)?;
    if !pkt.cut
        && let Some(TransportSlice::Tcp(t)) = pkt.transport()
    {
        return Some(declared.min(t.payload().len()));
    }
    Some(declared)
}

fn declared_segment_len(pkt: &Packet<'_>, tcp_hdr_len: usize) -> Option<usize> {
    let ip_payload_len = match pkt.net()? {
        LaxNetSlice::Ipv4(v) => {
            let h = v.header();
            // A zero total length (TCP segmentation offload) says nothing.
            if h.total_len() == 0 {
                return None;
            }
            usize::from(h.total_len()).checked_sub(h.slice().len())?
        }
        LaxNetSlice::Ipv6(v) => {
            if v.header().payload_length() == 0 {
                return None;
            }
            let ext = v.extensions().slice().len();
            usize::from(v.header().payload_length()).checked_sub(ext)?
        }
        LaxNetSlice::Arp(_) => return None,
    };
    ip_payload_len.checked_sub(tcp_hdr_len)
}
