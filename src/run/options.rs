//! What a run is asked to do: when to stop, what to show, how much to keep.
//! The command line builds these (`cli.rs`); the stages below take what they
//! need from them.

use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use etherparse::TransportSlice;

use crate::capture::CaptureError;
use crate::capture::write::PcapOut;
use crate::decode::Packet;
use crate::flow::{ConnSummary, Endpoint, SegmentContext};
use crate::limit::SharedLimit;
use crate::proto::Protocol;
use crate::proto::stack::{ListBudget, SHARES};
use crate::proto::tls::keylog::KeyLog;

/// Why a run stopped early.
#[derive(Debug)]
pub enum RunError {
    /// The capture is unreadable from some point on; everything before was shown.
    Capture(CaptureError),
    /// Writing the output failed (a closed pipe is not reported as an error).
    Output(io::Error),
    /// The filter left nothing to show; the text says what the capture has.
    Nothing(String),
}

/// What a run saw, for a filter that matched nothing to say what exists.
#[derive(Debug, Default)]
pub struct Tally {
    /// The number of the last frame read.
    pub frames: AtomicU64,
    pub connections: AtomicU64,
    /// Connections the filter listed.
    pub listed: AtomicU64,
}

impl Tally {
    /// The error for a filter that listed no connection, if it did not.
    pub fn nothing_listed(&self, f: &Filter) -> Option<RunError> {
        if f.is_empty() || self.listed.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let n = self.connections.load(Ordering::Relaxed);
        let has = match n {
            0 => "the capture has no TCP connection".to_owned(),
            1 => "the capture has 1 TCP connection, number 0".to_owned(),
            n => format!("the capture has {n} TCP connections, numbered 0–{}", n - 1),
        };
        let what = if f.connections.is_empty() {
            "no connection matches the filter".to_owned()
        } else {
            let ids: Vec<String> = f.connections.iter().map(u64::to_string).collect();
            format!("no connection {}", ids.join(", "))
        };
        Some(RunError::Nothing(format!("{what}: {has}")))
    }
}

impl From<io::Error> for RunError {
    fn from(e: io::Error) -> Self {
        RunError::Output(e)
    }
}

/// Bytes of unfinished WebSocket messages kept by all the connections of a
/// run together. Each message keeps at most [`MAX_MESSAGE_KEEP`] (1 MiB, for
/// Socket.IO); without this, thousands of connections with a large message
/// open would each hold that much.
///
/// [`MAX_MESSAGE_KEEP`]: crate::proto::websocket::MAX_MESSAGE_KEEP
pub const MAX_HELD_MESSAGES: usize = 64 << 20;

/// The options of one run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Stop after this many frames that pass the filter (all frames when
    /// there is none), as tcpdump's -c.
    pub count: Option<u64>,
    /// Stop after this frame number.
    pub last_frame: Option<u64>,
    pub filter: Filter,
    /// Connections tracked at once (default [`crate::flow::MAX_CONNECTIONS`]).
    pub max_connections: Option<usize>,
    /// Ports whose connections are decoded as a given protocol from their
    /// first byte (`--decode-as`; `--assume-websocket` is one).
    pub decode_as: Vec<(u16, Protocol)>,
    /// Live capture: report each connection as soon as it closes.
    pub live: bool,
    /// Keep the per-frame and per-message lists of each connection (walk).
    /// Walk's JSON: list whole message texts and payloads, up to
    /// [`MAX_MESSAGE_KEEP`](crate::proto::websocket::MAX_MESSAGE_KEEP) each.
    /// Counts kept for the end of the run.
    pub tally: Arc<Tally>,
    pub whole_messages: bool,
    pub detail: bool,
    /// Keep each message's text up to [`MAX_TEXT`](crate::proto::stack::MAX_TEXT)
    /// in its event (`messages` prints and searches it).
    pub texts: bool,
    /// Keep each message whole in its event, up to
    /// [`MAX_MESSAGE_KEEP`](crate::proto::websocket::MAX_MESSAGE_KEEP) (`export`).
    pub whole_texts: bool,
    /// Report what `layers` needs to open a frame's application units: each
    /// HTTP head where it is read, and the start of each WebSocket payload.
    pub units: bool,
    /// Show a progress bar while reading a file (when a person watches).
    pub progress: bool,
    /// Unfinished WebSocket messages' kept bytes, for all connections
    /// together (see [`MAX_HELD_MESSAGES`]), in its [`SHARES`]; made by the
    /// driver when None, so all threads of a run share them.
    pub messages: Option<[SharedLimit; SHARES]>,
    /// The detail lists' bytes, for all open connections together (see
    /// [`MAX_LISTED_BYTES`](crate::proto::stack::MAX_LISTED_BYTES)), in its
    /// shares; made by the driver when None, so all threads of a run share them.
    pub lists: Option<[ListBudget; SHARES]>,
    /// The TLS secrets to decrypt with.
    pub keylog: Option<Arc<KeyLog>>,
    /// Also write the frames that pass the filter here (`packets -w`). Shared
    /// only to keep the options cloneable; the reading thread alone writes.
    pub write: Option<Arc<Mutex<PcapOut>>>,
}

impl RunOptions {
    /// The same, with the shared limits made if not given.
    pub(crate) fn shared(mut self) -> Self {
        self.messages.get_or_insert_with(|| {
            std::array::from_fn(|_| SharedLimit::new(MAX_HELD_MESSAGES / SHARES))
        });
        self.lists.get_or_insert_with(Default::default);
        self
    }
}

/// An address or a block of them (`10.0.0.5`, `10.0.0.0/8`, `fe80::/10`), as
/// `--host` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostBlock {
    pub addr: IpAddr,
    /// Leading bits that must match (32 or 128: one address).
    pub prefix: u8,
}

impl HostBlock {
    pub fn contains(&self, a: IpAddr) -> bool {
        let bits = |p: u8, total: u32| -> u128 {
            if p == 0 {
                0
            } else {
                (u128::MAX << (total - u32::from(p))) & (u128::MAX >> (128 - total))
            }
        };
        match (self.addr, a) {
            (IpAddr::V4(n), IpAddr::V4(x)) => {
                let m = bits(self.prefix, 32);
                u128::from(u32::from(n)) & m == u128::from(u32::from(x)) & m
            }
            (IpAddr::V6(n), IpAddr::V6(x)) => {
                let m = bits(self.prefix, 128);
                u128::from(n) & m == u128::from(x) & m
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for HostBlock {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{a} is not an IPv4 or IPv6 address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("/{p}: a prefix length from 0 to {max}")),
            },
        };
        Ok(HostBlock { addr, prefix })
    }
}

/// Which packets and connections a view is shown. Tracking always sees every
/// packet, so stream numbers do not depend on the filter.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub ports: Vec<u16>,
    pub hosts: Vec<HostBlock>,
    pub connections: Vec<u64>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty() && self.hosts.is_empty() && self.connections.is_empty()
    }

    /// Connection `id` may be shown (`--connection`, when given, names it).
    pub fn shows_stream(&self, id: u64) -> bool {
        self.connections.is_empty() || self.connections.contains(&id)
    }

    fn matches_endpoints(&self, a: Option<Endpoint>, b: Option<Endpoint>) -> bool {
        let ports_ok = self.ports.is_empty()
            || [a, b]
                .iter()
                .flatten()
                .any(|e| self.ports.contains(&e.port));
        let hosts_ok = self.hosts.is_empty()
            || [a, b]
                .iter()
                .flatten()
                .any(|e| self.hosts.iter().any(|h| h.contains(e.addr)));
        ports_ok && hosts_ok
    }

    pub(crate) fn matches_packet(&self, pkt: &Packet<'_>, tcp: Option<&SegmentContext>) -> bool {
        if self.is_empty() {
            return true;
        }
        if !tcp.map_or(self.connections.is_empty(), |c| self.shows_stream(c.stream)) {
            return false;
        }
        let (src, dst) = endpoints(pkt);
        if (!self.ports.is_empty() || !self.hosts.is_empty()) && src.is_none() {
            return false;
        }
        self.matches_endpoints(src, dst)
    }

    pub fn matches_connection(&self, s: &ConnSummary) -> bool {
        if !self.shows_stream(s.id) {
            return false;
        }
        // The endpoints are kept as text: read back only when a filter asks.
        if self.ports.is_empty() && self.hosts.is_empty() {
            return true;
        }
        self.matches_endpoints(s.client.parse().ok(), s.server.parse().ok())
    }
}

/// Source and destination (address, port) of an IP packet; port 0 without TCP/UDP.
pub(crate) fn endpoints(pkt: &Packet<'_>) -> (Option<Endpoint>, Option<Endpoint>) {
    let Some((sa, da)) = pkt.ip_addrs() else {
        return (None, None);
    };
    let (sp, dp) = match (pkt.tcp(), pkt.transport()) {
        (Some(t), _) => (t.src_port(), t.dst_port()),
        (None, Some(TransportSlice::Udp(u))) => (u.source_port(), u.destination_port()),
        _ => (0, 0),
    };
    (
        Some(Endpoint { addr: sa, port: sp }),
        Some(Endpoint { addr: da, port: dp }),
    )
}
