//! The Community ID of a connection (version 1 of the community-id spec, as
//! Zeek, Suricata and Arkime write it): one string that names the same
//! 5-tuple in every tool's logs, so records of one connection can be joined
//! across them.
//!
//! `1:` then base64 of the SHA-1 of: the seed (2 bytes, big-endian; 0), the
//! two addresses and then the two ports of the tuple ordered so that the
//! smaller endpoint (address bytes, then port) comes first, with the IP
//! protocol number and a zero byte between addresses and ports.

use std::net::IpAddr;

use sha1::{Digest, Sha1};

use super::Endpoint;

/// The IP protocol number of TCP.
const TCP: u8 = 6;

/// The Community ID (seed 0) of the TCP connection between `a` and `b`; the
/// same whichever side is given first.
pub fn tcp(a: &Endpoint, b: &Endpoint) -> String {
    let bytes = |ip: &IpAddr| match ip {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    };
    let (ka, kb) = ((bytes(&a.addr), a.port), (bytes(&b.addr), b.port));
    let (lo, hi) = if ka <= kb { (ka, kb) } else { (kb, ka) };
    let mut h = Sha1::new();
    h.update(0u16.to_be_bytes());
    h.update(&lo.0);
    h.update(&hi.0);
    h.update([TCP, 0]);
    h.update(lo.1.to_be_bytes());
    h.update(hi.1.to_be_bytes());
    use base64::Engine as _;
    format!(
        "1:{}",
        base64::engine::general_purpose::STANDARD.encode(h.finalize())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str) -> Endpoint {
        let (a, p) = s.rsplit_once(':').expect("addr:port");
        Endpoint {
            addr: a.trim_matches(['[', ']']).parse().expect("addr"),
            port: p.parse().expect("port"),
        }
    }

    /// Arkime's expected session of its websocket.pcap (and one over IPv6),
    /// both ways round; tests/truths.rs checks every Arkime session.
    #[test]
    fn as_arkime_writes_it() {
        let (a, b) = (ep("192.168.43.1:50999"), ep("192.168.43.135:12345"));
        assert_eq!(tcp(&a, &b), "1:yZ/zFnzytWD2m5zDTLLA4crCFdg=");
        assert_eq!(tcp(&b, &a), tcp(&a, &b));
        let (a, b) = (
            ep("[102:304:ef6e:0:586c:40b9:519f:7bae]:61273"),
            ep("[102:305:220:1:248:1893:25c8:1946]:80"),
        );
        assert_eq!(tcp(&a, &b), "1:sUieXKbsJ2FhfxmjSMYdjlRe8x0=");
    }
}
