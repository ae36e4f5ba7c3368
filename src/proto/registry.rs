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

use super::engineio;
use super::engineio::analyzer::EngineIo;
use super::http::Head;
use super::http::analyzer::Http;
use super::stack::{CarriedAnalyzer, Cx, StreamAnalyzer};
use super::websocket::analyzer::WebSocket;
use super::websocket::handshake;

/// A protocol a connection can be decoded as from its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Http,
    /// Frames from the first byte: a connection whose handshake was not
    /// captured (marked "inferred").
    WebSocket,
}

impl Protocol {
    /// Every protocol `--decode-as` takes, with its name there.
    pub const ALL: [(&'static str, Protocol); 2] =
        [("http", Protocol::Http), ("websocket", Protocol::WebSocket)];

    pub fn from_name(name: &str) -> Option<Protocol> {
        Self::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, p)| *p)
    }

    fn analyzer(self, cx: &mut Cx<'_>) -> Box<dyn StreamAnalyzer> {
        match self {
            Protocol::Http => Box::new(Http::new()),
            Protocol::WebSocket => Box::new(WebSocket::assumed(cx)),
        }
    }
}

/// The first analyzer of a connection between `ports` (when known).
pub fn first(cx: &mut Cx<'_>, ports: Option<(u16, u16)>) -> Box<dyn StreamAnalyzer> {
    let chosen = ports.and_then(|(a, b)| {
        cx.opts
            .decode_as
            .iter()
            .find(|(p, _)| *p == a || *p == b)
            .map(|(_, proto)| *proto)
    });
    chosen.unwrap_or(Protocol::Http).analyzer(cx)
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
