//! What the delivered bytes of a connection carried, part by part: each
//! analyzer books the bytes it recognised under its own [`Part`], and "bytes
//! by layer" is a fold over the parts in stack order.
//!
//! A new protocol that spends bytes of its own (a header, a record layer)
//! adds its part here, in the place of the stack where its bytes sit.

use serde::Serialize;
use serde::ser::SerializeMap;

/// A kind of byte above TCP, in stack order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// TLS record headers, handshake, alerts, and what encryption adds to
    /// each record (nonce, tag, inner type, padding).
    TlsRecord,
    /// TLS application data that was not decrypted.
    TlsEncrypted,
    /// HTTP request and response heads.
    HttpHead,
    /// HTTP bodies (chunk framing included), other than bodies a carried
    /// protocol took (Engine.IO polling).
    HttpBody,
    /// WebSocket frame headers and masking keys.
    WebSocketFraming,
    /// WebSocket close, ping and pong payloads.
    WebSocketControl,
    /// Engine.IO and Socket.IO packet types, ids, namespaces and separators.
    EngineIoEnvelope,
    /// What the application sent (WebSocket message payloads, Socket.IO data).
    Payload,
}

/// A part's JSON key, OSI layer and name, in [`Part`] order.
pub struct PartInfo {
    pub key: &'static str,
    pub osi: u8,
    pub name: &'static str,
}

/// Every part, in stack order (the order of [`Part`]).
pub const PARTS: [(Part, PartInfo); 8] = [
    (
        Part::TlsRecord,
        PartInfo {
            key: "tls_record",
            osi: 6,
            name: "TLS records",
        },
    ),
    (
        Part::TlsEncrypted,
        PartInfo {
            key: "tls_encrypted",
            osi: 6,
            name: "TLS encrypted data",
        },
    ),
    (
        Part::HttpHead,
        PartInfo {
            key: "http_head",
            osi: 7,
            name: "HTTP heads",
        },
    ),
    (
        Part::HttpBody,
        PartInfo {
            key: "http_body",
            osi: 7,
            name: "HTTP bodies",
        },
    ),
    (
        Part::WebSocketFraming,
        PartInfo {
            key: "websocket_framing",
            osi: 6,
            name: "WebSocket framing",
        },
    ),
    (
        Part::WebSocketControl,
        PartInfo {
            key: "websocket_control",
            osi: 5,
            name: "WebSocket control",
        },
    ),
    (
        Part::EngineIoEnvelope,
        PartInfo {
            key: "engineio_socketio",
            osi: 6,
            name: "Engine.IO/Socket.IO envelope",
        },
    ),
    (
        Part::Payload,
        PartInfo {
            key: "payload",
            osi: 7,
            name: "application payload",
        },
    ),
];

/// Bytes booked per part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ledger([u64; PARTS.len()]);

impl Ledger {
    pub fn add(&mut self, part: Part, n: u64) {
        self.0[part as usize] += n;
    }

    pub fn get(&self, part: Part) -> u64 {
        self.0[part as usize]
    }

    /// Bytes booked under any part.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// (part, bytes) in stack order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static PartInfo, u64)> + '_ {
        PARTS.iter().map(|(p, info)| (info, self.get(*p)))
    }
}

impl std::ops::AddAssign for Ledger {
    fn add_assign(&mut self, o: Ledger) {
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a += b;
        }
    }
}

impl Serialize for Ledger {
    /// The parts as a flat map, every part present (0 when none).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(PARTS.len()))?;
        for (info, n) in self.iter() {
            m.serialize_entry(info.key, &n)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table lists the parts in the enum's order: `Part as usize`
    /// indexes it.
    #[test]
    fn parts_are_in_enum_order() {
        for (i, (p, _)) in PARTS.iter().enumerate() {
            assert_eq!(*p as usize, i);
        }
    }
}
