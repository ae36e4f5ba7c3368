//! Layers 5–7 over reassembled TCP streams: an analyzer tree per connection.
//!
//! ```text
//! TCP stream ─► HTTP/1.1 ──101──► WebSocket ──messages──► Engine.IO ─► Socket.IO
//!                    └──polling bodies────────────────────► Engine.IO
//! ```
//!
//! [`stack`] holds the analyzer traits, the context they work in and the
//! per-connection [`stack::Stack`]; this module is the registry that chooses
//! which analyzer reads what; [`bytes`] lists the parts the bytes of a
//! connection are booked under; [`latency`] keeps the replies the analyzers
//! pair with their requests (each analyzer knows what answers what). Each protocol is a module of its own: a
//! pure, incremental parser that knows nothing of TCP (push bytes in, items
//! out, bounded buffers), a `record` of what it reports and keeps, and an
//! `analyzer` that runs the parser over a connection: [`http`],
//! [`websocket`], [`engineio`] (with [`socketio`] inside it). The protocols
//! are this module's children, so the registry may name them and they may
//! ask it for the protocol above them.
//!
//! # The registry
//!
//! Which analyzer reads what: the one place where the protocols of the
//! stack are registered and the edges between them chosen.
//!
//! - The first analyzer of a connection: by port (`--decode-as
//!   PORT=PROTO`), else HTTP, which reads any stream until its bytes stop
//!   making sense.
//! - A protocol switched to over HTTP: by the request's `Upgrade` token
//!   (WebSocket), answered by the 101.
//! - A protocol carried in HTTP bodies and WebSocket messages: by the
//!   request's URI (Engine.IO's `/socket.io/` path or `EIO=` query).
//!
//! # Adding a protocol
//!
//! Socket.IO is the worked example: it rides in Engine.IO, which rides in
//! WebSocket messages and HTTP long-polling bodies.
//!
//! 1. The parser: `proto/engineio/mod.rs` and `proto/socketio.rs` decode one
//!    packet from bytes, with every limit a named constant.
//! 2. The record: `proto/engineio/record.rs` holds its event type
//!    (`EngineIoEvent`) and its part of the connection record
//!    (`SocketIoSummary`).
//! 3. The analyzer: `proto/engineio/analyzer.rs` implements
//!    [`stack::CarriedAnalyzer`] (a protocol reached through a stream
//!    implements [`stack::StreamAnalyzer`] instead), books its bytes under
//!    its own [`bytes::Part`], and reports events, facts and problems
//!    through its [`stack::Cx`].
//! 4. Registration: a variant of [`stack::AppEvent`] for its events, a field
//!    of [`stack::AppSummary`] for its record, its part in [`bytes::PARTS`],
//!    and the edge that reaches it here ([`over_http`]: by URI).
//! 5. The narration: `report/walk/socketio.rs` tells its events as steps of
//!    the walkthrough and as one-line summaries (packets, JSON), and its
//!    header line. The views match on [`stack::AppEvent`], so the compiler
//!    names every place left to fill.

pub mod bytes;
pub mod engineio;
pub mod http;
pub mod latency;
pub mod socketio;
pub mod stack;
pub mod tls;
pub mod websocket;

use engineio::analyzer::EngineIo;
use http::Head;
use http::analyzer::Http;
use stack::{CarriedAnalyzer, Cx, StreamAnalyzer};
use tls::analyzer::Tls;
use websocket::analyzer::WebSocket;
use websocket::handshake;

/// A protocol a connection can be decoded as from its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Http,
    /// TLS records from the first byte (found by content anyway).
    Tls,
    /// Frames from the first byte: a connection whose handshake was not
    /// captured (marked "inferred").
    WebSocket,
}

impl Protocol {
    /// Every protocol `--decode-as` takes, with its name there.
    pub const ALL: [(&'static str, Protocol); 3] = [
        ("http", Protocol::Http),
        ("tls", Protocol::Tls),
        ("websocket", Protocol::WebSocket),
    ];

    pub fn from_name(name: &str) -> Option<Protocol> {
        Self::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, p)| *p)
    }

    fn analyzer(self, cx: &mut Cx<'_>) -> Box<dyn StreamAnalyzer> {
        match self {
            Protocol::Http => Box::new(Http::new()),
            Protocol::Tls => Box::new(Tls::new(cx.opts.keylog.clone())),
            Protocol::WebSocket => Box::new(WebSocket::assumed(cx)),
        }
    }
}

/// The first analyzer of a connection between `ports` (when known), whose
/// first delivered bytes are `first_bytes`: by port, else by content (TLS
/// records), else HTTP.
pub fn first(
    cx: &mut Cx<'_>,
    ports: Option<(u16, u16)>,
    first_bytes: &[u8],
) -> Box<dyn StreamAnalyzer> {
    let by_port = ports.and_then(|(a, b)| {
        cx.opts
            .decode_as
            .iter()
            .find(|(p, _)| *p == a || *p == b)
            .map(|(_, proto)| *proto)
    });
    let by_content = tls::sniff(first_bytes).then_some(Protocol::Tls);
    by_port
        .or(by_content)
        .unwrap_or(Protocol::Http)
        .analyzer(cx)
}

/// The protocol carried by a TLS session whose ALPN is `alpn`, decrypted:
/// HTTP/1.x (also when no ALPN was agreed); None for HTTP/2, which is not
/// decoded.
pub fn over_tls(alpn: Option<&str>) -> Option<Box<dyn StreamAnalyzer>> {
    match alpn {
        Some("h2") => None,
        _ => Some(Box::new(Http::new())),
    }
}

/// A protocol carried in whole units (HTTP bodies, WebSocket messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carried {
    EngineIo,
}

impl Carried {
    pub fn name(self) -> &'static str {
        match self {
            Carried::EngineIo => "socket.io",
        }
    }

    pub fn analyzer(self) -> Box<dyn CarriedAnalyzer> {
        match self {
            Carried::EngineIo => Box::<EngineIo>::default(),
        }
    }
}

/// The protocol carried by the bodies (and the WebSocket) of this request.
pub fn over_http(head: &Head) -> Option<Carried> {
    head.uri
        .as_deref()
        .and_then(engineio::parse_uri)
        .map(|_| Carried::EngineIo)
}

/// The request's body, and its response's, are wanted whole by the protocol
/// carried in them (decided as the head is read, before its body).
pub fn http_body_wanted(head: &Head) -> bool {
    head.uri
        .as_deref()
        .and_then(engineio::parse_uri)
        .is_some_and(|(_, transport, _)| transport == "polling")
}

/// A protocol an HTTP request offers to switch to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Upgrade {
    WebSocket {
        /// The offer's key (None: a 101 that answers no offer).
        key: Option<String>,
        /// The offer's URI names a protocol its messages carry.
        carried: bool,
    },
}

/// What the request offers to switch to, if it is a protocol we read.
pub fn upgrade_offered(head: &Head) -> Option<Upgrade> {
    handshake::offered(head).then(|| Upgrade::WebSocket {
        key: Some(handshake::key(head)),
        carried: over_http(head).is_some(),
    })
}

impl Upgrade {
    /// The offer was made: noted in the connection's summary.
    pub fn offer(&self, cx: &mut Cx<'_>, head: &Head) {
        match self {
            Upgrade::WebSocket { .. } => handshake::offer(cx, head),
        }
    }

    /// The new protocol's messages carry the protocol of the offer's URI.
    pub fn carries(&self) -> bool {
        match self {
            Upgrade::WebSocket { carried, .. } => *carried,
        }
    }

    /// The server answered: the analyzer of what follows when it switched.
    pub fn answer(
        self,
        cx: &mut Cx<'_>,
        head: &Head,
        switching: bool,
        carried: Option<Box<dyn CarriedAnalyzer>>,
    ) -> Option<Box<dyn StreamAnalyzer>> {
        match self {
            Upgrade::WebSocket { key, .. } => {
                handshake::answer(cx, head, key.as_deref(), switching, carried)
            }
        }
    }
}
