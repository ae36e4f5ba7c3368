//! Headers between the link layer and IP that etherparse does not unwrap:
//! MPLS label stacks, PPPoE sessions, 802.2 LLC/SNAP, and Linux NFLOG's TLVs.
//! Each is read iteratively with a fixed bound; nothing recurses on input.

use super::link::{ETHERTYPE_IPV4, ETHERTYPE_IPV6};

pub const ETHERTYPE_MPLS: u16 = 0x8847;
pub const ETHERTYPE_MPLS_MC: u16 = 0x8848;
pub const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
pub const ETHERTYPE_RARP: u16 = 0x8035;

/// Most shims unwrapped in one packet (labels of one stack count as one).
const MAX_SHIMS: usize = 8;
/// Most MPLS labels read in one stack.
const MAX_LABELS: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shim<'a> {
    Mpls {
        header: &'a [u8],
        /// (label, traffic class, TTL) from the top of the stack down.
        labels: Vec<(u32, u8, u8)>,
    },
    Pppoe {
        header: &'a [u8],
        session: u16,
        ppp_protocol: u16,
    },
    LlcSnap {
        header: &'a [u8],
        oui: u32,
        ethertype: u16,
    },
    Nflog {
        header: &'a [u8],
        family: u8,
    },
}

impl Shim<'_> {
    pub fn header(&self) -> &[u8] {
        match self {
            Shim::Mpls { header, .. }
            | Shim::Pppoe { header, .. }
            | Shim::LlcSnap { header, .. }
            | Shim::Nflog { header, .. } => header,
        }
    }
}

pub fn is_shim(et: u16) -> bool {
    matches!(
        et,
        ETHERTYPE_MPLS | ETHERTYPE_MPLS_MC | ETHERTYPE_PPPOE_SESSION
    ) || et < 0x0600
}

/// Unwraps shims starting at `data[off..]` announced by EtherType `et`;
/// returns the shims and the EtherType and offset of what follows them.
pub fn unwrap<'a>(data: &'a [u8], mut et: u16, mut off: usize) -> (Vec<Shim<'a>>, u16, usize) {
    let mut shims = Vec::new();
    for _ in 0..MAX_SHIMS {
        let rest = &data[off.min(data.len())..];
        let step = match et {
            ETHERTYPE_MPLS | ETHERTYPE_MPLS_MC => mpls(rest),
            ETHERTYPE_PPPOE_SESSION => pppoe(rest),
            x if x < 0x0600 => llc_snap(rest),
            _ => None,
        };
        let Some((shim, next_et)) = step else { break };
        off += shim.header().len();
        shims.push(shim);
        et = next_et;
    }
    (shims, et, off)
}

fn mpls(b: &[u8]) -> Option<(Shim<'_>, u16)> {
    let mut labels = Vec::new();
    let mut end = 0;
    for chunk in b.chunks_exact(4).take(MAX_LABELS) {
        let v = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        labels.push((v >> 12, ((v >> 9) & 7) as u8, (v & 0xff) as u8));
        end += 4;
        if v & 0x100 != 0 {
            // Bottom of stack: the payload's first nibble tells IPv4 from IPv6.
            let et = match b.get(end).map(|x| x >> 4) {
                Some(4) => ETHERTYPE_IPV4,
                Some(6) => ETHERTYPE_IPV6,
                _ => 0xffff,
            };
            return Some((
                Shim::Mpls {
                    header: &b[..end],
                    labels,
                },
                et,
            ));
        }
    }
    None
}

fn pppoe(b: &[u8]) -> Option<(Shim<'_>, u16)> {
    if b.len() < 8 {
        return None;
    }
    let ppp = u16::from_be_bytes([b[6], b[7]]);
    let et = match ppp {
        0x0021 => ETHERTYPE_IPV4,
        0x0057 => ETHERTYPE_IPV6,
        _ => 0xffff,
    };
    Some((
        Shim::Pppoe {
            header: &b[..8],
            session: u16::from_be_bytes([b[2], b[3]]),
            ppp_protocol: ppp,
        },
        et,
    ))
}

fn llc_snap(b: &[u8]) -> Option<(Shim<'_>, u16)> {
    // DSAP 0xAA, SSAP 0xAA, control 0x03 (UI): a SNAP header carrying an EtherType.
    if b.len() < 8 || b[0] != 0xaa || b[1] != 0xaa || b[2] != 0x03 {
        return None;
    }
    let et = u16::from_be_bytes([b[6], b[7]]);
    Some((
        Shim::LlcSnap {
            header: &b[..8],
            oui: u32::from_be_bytes([0, b[3], b[4], b[5]]),
            ethertype: et,
        },
        et,
    ))
}

/// NFLOG (LINKTYPE_NFLOG 239): a 4-byte header, then TLVs in host byte order;
/// the packet itself is the NFULA_PAYLOAD (type 9) attribute.
pub fn nflog(data: &[u8]) -> Option<(Shim<'_>, u16, usize)> {
    if data.len() < 4 {
        return None;
    }
    let family = data[0];
    let et = match family {
        2 => ETHERTYPE_IPV4,
        10 => ETHERTYPE_IPV6,
        _ => 0xffff,
    };
    let mut off = 4;
    // Each TLV is at least 4 bytes, so this loop ends within data.len()/4 steps.
    while off + 4 <= data.len() {
        let len = usize::from(u16::from_le_bytes([data[off], data[off + 1]]));
        let ty = u16::from_le_bytes([data[off + 2], data[off + 3]]) & 0x7fff;
        if len < 4 {
            return None;
        }
        if ty == 9 {
            return Some((
                Shim::Nflog {
                    header: &data[..off + 4],
                    family,
                },
                et,
                off + 4,
            ));
        }
        off += (len + 3) & !3;
    }
    None
}
