//! Link-layer headers that are read before etherparse takes over.

use crate::capture::linktype as lt;

use super::Problem;

/// The link layer of a frame, as far as it is not an Ethernet II header
/// (which etherparse slices itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link<'a> {
    /// Not a packet (a pcapng custom block).
    None,
    Ethernet,
    /// BSD loopback (DLT_NULL, host byte order) or OpenBSD DLT_LOOP (network order).
    Null {
        header: &'a [u8],
        family: u32,
        kind: NullFamily,
    },
    /// Linux cooked capture v1 (16-byte header).
    Sll {
        header: &'a [u8],
        packet_type: u16,
        arphrd: u16,
        addr: &'a [u8],
        protocol: u16,
    },
    /// Linux cooked capture v2 (20-byte header, carries the interface index).
    Sll2 {
        header: &'a [u8],
        protocol: u16,
        ifindex: u32,
        arphrd: u16,
        packet_type: u8,
        addr: &'a [u8],
    },
    /// No link header: the frame starts with an IP header.
    Raw {
        linktype: u32,
    },
    /// Linux NFLOG: the link layer is a set of netfilter attributes (a shim).
    Nflog,
    /// A link type osiscope does not decode; its bytes are shown raw.
    Unknown {
        linktype: u32,
    },
    /// The link header itself is cut short.
    Truncated {
        linktype: u32,
        have: usize,
        need: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NullFamily {
    Ipv4,
    Ipv6,
    Other,
}

/// Where etherparse should start.
pub enum Next {
    Ethernet,
    /// EtherType and the offset of the bytes it describes.
    EtherType(u16, usize),
    /// Linux NFLOG: the packet sits inside a TLV.
    Nflog,
    Stop,
}

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

impl Link<'_> {
    pub fn problem(&self) -> Option<Problem> {
        match *self {
            Link::Truncated { have, need, .. } => Some(Problem::Truncated {
                osi: 2,
                what: "link-layer header",
                have,
                need,
            }),
            _ => None,
        }
    }

    /// Length of the link header handled here (0 for Ethernet, done by etherparse).
    pub fn header_len(&self) -> usize {
        match self {
            Link::Null { header, .. } | Link::Sll { header, .. } | Link::Sll2 { header, .. } => {
                header.len()
            }
            _ => 0,
        }
    }
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn ip_by_version(data: &[u8], offset: usize) -> Next {
    match data.get(offset).map(|b| b >> 4) {
        Some(4) => Next::EtherType(ETHERTYPE_IPV4, offset),
        Some(6) => Next::EtherType(ETHERTYPE_IPV6, offset),
        // Let etherparse report the bad version as a malformed IP header.
        _ if data.len() > offset => Next::EtherType(ETHERTYPE_IPV4, offset),
        _ => Next::Stop,
    }
}

pub fn parse(linktype: u32, data: &[u8]) -> (Link<'_>, Next) {
    let short = |need: usize| {
        (
            Link::Truncated {
                linktype,
                have: data.len(),
                need,
            },
            Next::Stop,
        )
    };
    match linktype {
        lt::ETHERNET => (Link::Ethernet, Next::Ethernet),
        lt::NULL | lt::LOOP => {
            if data.len() < 4 {
                return short(4);
            }
            let family = if linktype == lt::LOOP {
                be32(data)
            } else {
                // Host byte order of the capturing machine: a family number is
                // small, so a value with high bits set was written the other way round.
                let le = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
                if le & 0xffff_0000 != 0 {
                    le.swap_bytes()
                } else {
                    le
                }
            };
            let kind = match family {
                2 => NullFamily::Ipv4,
                // NetBSD/OpenBSD, FreeBSD, Darwin number AF_INET6 differently.
                10 | 24 | 28 | 30 => NullFamily::Ipv6,
                _ => NullFamily::Other,
            };
            let next = match kind {
                NullFamily::Ipv4 => Next::EtherType(ETHERTYPE_IPV4, 4),
                NullFamily::Ipv6 => Next::EtherType(ETHERTYPE_IPV6, 4),
                NullFamily::Other => Next::Stop,
            };
            (
                Link::Null {
                    header: &data[..4],
                    family,
                    kind,
                },
                next,
            )
        }
        lt::LINUX_SLL => {
            if data.len() < 16 {
                return short(16);
            }
            let addr_len = usize::from(be16(&data[4..6])).min(8);
            let protocol = be16(&data[14..16]);
            let link = Link::Sll {
                header: &data[..16],
                packet_type: be16(&data[0..2]),
                arphrd: be16(&data[2..4]),
                addr: &data[6..6 + addr_len],
                protocol,
            };
            (link, sll_next(protocol, 16))
        }
        lt::LINUX_SLL2 => {
            if data.len() < 20 {
                return short(20);
            }
            let addr_len = usize::from(data[11]).min(8);
            let protocol = be16(&data[0..2]);
            let link = Link::Sll2 {
                header: &data[..20],
                protocol,
                ifindex: be32(&data[4..8]),
                arphrd: be16(&data[8..10]),
                packet_type: data[10],
                addr: &data[12..12 + addr_len],
            };
            (link, sll_next(protocol, 20))
        }
        lt::RAW | lt::RAW_BSD | lt::RAW_OPENBSD => (Link::Raw { linktype }, ip_by_version(data, 0)),
        lt::IPV4 => (Link::Raw { linktype }, Next::EtherType(ETHERTYPE_IPV4, 0)),
        lt::IPV6 => (Link::Raw { linktype }, Next::EtherType(ETHERTYPE_IPV6, 0)),
        lt::NFLOG => (Link::Nflog, Next::Nflog),
        _ => (Link::Unknown { linktype }, Next::Stop),
    }
}

/// SLL protocol values below 0x0600 are Linux pseudo-protocols, not EtherTypes.
fn sll_next(protocol: u16, offset: usize) -> Next {
    if protocol >= 0x0600 {
        Next::EtherType(protocol, offset)
    } else {
        Next::Stop
    }
}

/// Name of an EtherType, as Wireshark spells it.
pub fn ethertype_name(et: u16) -> &'static str {
    match et {
        0x0800 => "IPv4",
        0x0806 => "ARP",
        0x86dd => "IPv6",
        0x8100 => "802.1Q VLAN",
        0x88a8 => "802.1ad (QinQ)",
        0x9100 => "802.1Q (QinQ, legacy)",
        0x8847 => "MPLS unicast",
        0x8848 => "MPLS multicast",
        0x8863 => "PPPoE discovery",
        0x8864 => "PPPoE session",
        0x88cc => "LLDP",
        0x88e5 => "MACsec",
        0x8035 => "RARP",
        0x0842 => "Wake-on-LAN",
        0x88f7 => "PTP",
        _ => "unknown",
    }
}

/// Linux packet type (`sll_pkttype`) in words.
pub fn sll_packet_type(t: u16) -> &'static str {
    match t {
        0 => "unicast to us",
        1 => "broadcast",
        2 => "multicast",
        3 => "unicast to another host",
        4 => "sent by us",
        _ => "unknown",
    }
}

/// ARPHRD_* device types seen in cooked captures.
pub fn arphrd_name(t: u16) -> &'static str {
    match t {
        1 => "Ethernet",
        772 => "loopback",
        776 => "IPv6-in-IPv4 tunnel",
        778 => "GRE tunnel",
        65534 => "no header (tun)",
        _ => "other",
    }
}
