//! Layers 4–5 across packets: TCP connections.
//!
//! Connections are numbered as tshark's `tcp.stream` numbers them: the first
//! segment of a 4-tuple opens stream N, and a SYN whose sequence number differs
//! from the one its side used before (port reuse) opens a new one. For each
//! connection the table follows the handshake, the options each side offered,
//! the teardown, per-direction counters, Wireshark-style analysis flags and a
//! Zeek-style history, and reassembles each direction's byte stream.
//!
//! Bounded: at most [`MAX_CONNECTIONS`] connections are tracked at once; when
//! the table is full the least recently seen eighth is finished early (their
//! summaries say `evicted`), and later segments of those open new streams.

pub mod analysis;
pub mod community;
mod conn;
pub mod history;
pub mod reassembly;
pub mod summary;

use foldhash::{HashMap, HashMapExt};
use std::net::IpAddr;

use serde::Serialize;

use crate::capture::Timestamp;
use crate::decode::tcp_options::TcpOption;
pub use analysis::{Acked, Analysis};
use conn::Conn;
use reassembly::{DEFAULT_SHARED_LIMIT, SharedLimit};
pub use summary::ConnSummary;

/// Connections tracked at once.
pub const MAX_CONNECTIONS: usize = 65_536;

/// Capture time a closed connection waits for late segments before it is
/// finished and reported (its state is then given up, so memory stays flat).
pub const LINGER_NS: i128 = 5_000_000_000;

/// Finished connections remembered so late segments keep tshark's numbering:
/// 7/8 of 65,536, the most a table of 65,536 slots holds before it doubles.
/// A slot takes 72 bytes (key and `Tomb`), so the table stays under 5 MiB
/// (under 7 MiB while it grows to that size).
pub const MAX_TOMBS: usize = 57_344;

/// What is left of a finished connection: enough to number a late segment
/// (stream and relative sequence numbers) as tshark would. 32 bytes, beside
/// its 40-byte key.
struct Tomb {
    stream: u64,
    tick: u64,
    /// Base sequence numbers by direction (client to server first), where
    /// `known`.
    base: [u32; 2],
    known: [bool; 2],
    /// The client is the key's first endpoint.
    client_first: bool,
}

impl Tomb {
    fn new(c: &Conn, key: &Key, tick: u64) -> Tomb {
        let bases = c.bases();
        Tomb {
            stream: c.id,
            tick,
            base: bases.map(|b| b.unwrap_or(0)),
            known: bases.map(|b| b.is_some()),
            client_first: c.client == key.0,
        }
    }

    fn base(&self, d: usize) -> Option<u32> {
        self.known[d].then_some(self.base[d])
    }

    /// The direction of a segment from `src`, as an index into `base`.
    fn dir(&self, key: &Key, src: Endpoint) -> usize {
        let client = if self.client_first { key.0 } else { key.1 };
        usize::from(src != client)
    }
}

/// One side of a 4-tuple.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub addr: IpAddr,
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    /// `addr:port`, IPv6 in brackets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

impl std::str::FromStr for Endpoint {
    type Err = ();

    /// What `Display` writes (`addr:port`, IPv6 in brackets): a connection
    /// record's `client` and `server` read back.
    fn from_str(s: &str) -> Result<Self, ()> {
        let (a, p) = s.rsplit_once(':').ok_or(())?;
        Ok(Endpoint {
            addr: a.trim_matches(['[', ']']).parse().map_err(|_| ())?,
            port: p.parse().map_err(|_| ())?,
        })
    }
}

/// Direction of a segment, from the connection's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Dir {
    #[serde(rename = "client")]
    ClientToServer = 0,
    #[serde(rename = "server")]
    ServerToClient = 1,
}

impl Dir {
    /// The direction stored at index `d` (0 client→server, else server→client).
    pub fn from_index(d: usize) -> Dir {
        if d == 0 {
            Dir::ClientToServer
        } else {
            Dir::ServerToClient
        }
    }

    pub fn other(self) -> Dir {
        match self {
            Dir::ClientToServer => Dir::ServerToClient,
            Dir::ServerToClient => Dir::ClientToServer,
        }
    }
    /// Who sends in this direction.
    pub fn sender(self) -> &'static str {
        match self {
            Dir::ClientToServer => "client",
            Dir::ServerToClient => "server",
        }
    }
}

/// The options a SYN or SYN-ACK offered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Offered {
    pub mss: Option<u16>,
    /// Window scale shift (the window is multiplied by 2^shift).
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    pub timestamps: bool,
    /// TCP Fast Open: `"cookie request"` or `"cookie"`.
    pub fast_open: Option<&'static str>,
}

impl Offered {
    /// What a SYN or SYN-ACK offered, from its options.
    pub fn from_options(opts: &[TcpOption]) -> Offered {
        let mut o = Offered::default();
        for opt in opts {
            match opt {
                TcpOption::Mss(v) => o.mss = Some(*v),
                TcpOption::WindowScale(s) => o.window_scale = Some(*s),
                TcpOption::SackPermitted => o.sack_permitted = true,
                TcpOption::Timestamp { .. } => o.timestamps = true,
                TcpOption::FastOpen(c) => {
                    o.fast_open = Some(if c.is_empty() {
                        "cookie request"
                    } else {
                        "cookie"
                    })
                }
                _ => {}
            }
        }
        o
    }
}

/// Facts of one TCP segment, taken from the decoded packet.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    pub frame: u64,
    pub ts: Timestamp,
    /// Frame length on the wire.
    pub wire_len: u32,
    pub src: Endpoint,
    pub dst: Endpoint,
    pub seq: u32,
    pub ack: u32,
    /// The 12 flag bits.
    pub flags: u16,
    pub window: u16,
    /// Payload length by the IP header (tshark's `tcp.len`).
    pub len: u32,
    /// Payload bytes as captured (may be fewer than `len`).
    pub payload: &'a [u8],
    /// Options of a SYN or SYN-ACK.
    pub offered: Option<&'a Offered>,
    /// Window-scale option of this header (any segment), for the analysis.
    pub wscale: Option<u8>,
    /// The header is shorter than it says in a frame captured whole.
    pub malformed: bool,
    /// The data offset is below 5 (a header shorter than 20 bytes): the
    /// analysis runs but, as in tshark, its flags are not reported.
    pub bogus_offset: bool,
    /// Captured bytes of the frame by layer: link, IP, TCP header, TCP payload.
    /// Their sum is the captured length; `wire_len` minus it was not captured.
    pub layer_bytes: [u32; 4],
}

pub mod flags {
    pub const FIN: u16 = 0x001;
    pub const SYN: u16 = 0x002;
    pub const RST: u16 = 0x004;
    pub const PSH: u16 = 0x008;
    pub const ACK: u16 = 0x010;
}

impl Segment<'_> {
    pub fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }

    /// Payload bytes captured.
    pub fn captured(&self) -> u32 {
        u32::try_from(self.payload.len()).unwrap_or(u32::MAX)
    }
}

/// When stream bytes were delivered: by which capture frame, at what time,
/// and the round trip from the capture point to each side as measured by
/// then (what part of a reply's delay the network took).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moment {
    pub frame: u64,
    pub ts: Timestamp,
    /// Smallest recent round trip in ns from the capture point to the
    /// receiver of each direction's data, by [`Dir`] index (`[0]`: to the
    /// server); None until measured. Seeded by the handshake's halves, then
    /// by TCP's ACKs.
    pub path_rtt: [Option<u64>; 2],
}

impl From<u64> for Moment {
    /// A frame whose time and paths are not known (tests, tools).
    fn from(frame: u64) -> Self {
        Moment {
            frame,
            ..Moment::default()
        }
    }
}

/// Receives each direction's reassembled bytes, in order, as the flow table
/// produces them. The flow table does not know what the bytes mean.
pub trait StreamSink {
    /// In-order bytes of connection `stream`, direction `dir`, delivered by
    /// the segment `at`.
    fn data(&mut self, stream: u64, dir: Dir, at: &Moment, bytes: &[u8]);
    /// Bytes of that direction were never seen (found by the segment `at`):
    /// what follows does not join up.
    fn gap(&mut self, stream: u64, dir: Dir, at: &Moment);
    /// That direction ended (FIN or RST) in the segment `at`: a message
    /// delimited by the close is complete there.
    fn end(&mut self, _stream: u64, _dir: Dir, _at: &Moment) {}
}

/// A sink that drops everything (views that need no application layer).
pub struct NoSink;

impl StreamSink for NoSink {
    fn data(&mut self, _: u64, _: Dir, _: &Moment, _: &[u8]) {}
    fn gap(&mut self, _: u64, _: Dir, _: &Moment) {}
}

/// The part a segment plays in its connection's story.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The client's opening SYN (or a repeat of it).
    Syn,
    /// The server's SYN-ACK.
    SynAck,
    /// The client's ACK that completes the three-way handshake.
    HandshakeAck,
    /// A segment carrying payload.
    Data,
    /// A segment carrying only an acknowledgement.
    Ack,
    Fin,
    Rst,
    /// A SYN from the server side (simultaneous open) or other odd flag mixes.
    Other,
}

/// What a segment means in its connection, handed to the views.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SegmentContext {
    /// 0-based stream index, as tshark's `tcp.stream`.
    pub stream: u64,
    pub dir: Dir,
    /// Sequence number relative to this side's first one.
    pub rel_seq: u32,
    /// Acknowledgement number relative to the other side's first sequence
    /// number; None when the ACK flag is not set.
    pub rel_ack: Option<u32>,
    pub role: Role,
    /// Wireshark-style analysis flags of this segment.
    pub analysis: Analysis,
    /// Seconds since the connection's first segment.
    pub conn_rel_ts: f64,
    /// The first segment of a new connection.
    pub opens: bool,
    /// This segment completed the handshake: initial RTT in seconds.
    pub established_rtt: Option<f64>,
    /// Advertised window in bytes, scaled once the scale is known (tshark's
    /// `tcp.window_size`).
    pub window_size: u32,
    /// The segment of the other side this one acknowledges exactly, and
    /// the round trip (tshark's `acks_frame` and `ack_rtt`).
    pub acked: Option<Acked>,
    /// Payload length by the IP header (tshark's `tcp.len`): a view can
    /// tell it without the payload's bytes.
    pub len: u32,
    /// Payload bytes captured; fewer than `len` when the capture cut the
    /// frame short.
    pub captured: u32,
}

type Key = (Endpoint, Endpoint);

/// A connection that has just closed releases its streams and waits out
/// [`LINGER_NS`] in `closing`.
fn queue_if_closed(
    c: &mut Conn,
    (ts, k): (Timestamp, Key),
    closing: &mut std::collections::VecDeque<(Timestamp, Key, u64)>,
    just_closed: &mut Vec<u64>,
    sink: &mut dyn StreamSink,
) {
    if c.is_closed() && !c.queued {
        c.queued = true;
        c.release_streams(sink);
        closing.push_back((ts, k, c.id));
        just_closed.push(c.id);
    }
}

fn key(a: Endpoint, b: Endpoint) -> Key {
    if a <= b { (a, b) } else { (b, a) }
}

/// All connections of a capture.
pub struct FlowTable {
    /// Boxed: a connection's state is 1.5 KB, and closed connections linger
    /// ([`LINGER_NS`]), so the table holds thousands on a busy capture. Kept
    /// inline, every slot of the table, empty or not, would take that much,
    /// twice over while the table grows.
    conns: HashMap<Key, Box<Conn>>,
    next_stream: u64,
    tick: u64,
    max: usize,
    /// Summaries of connections finished before the end (replaced or evicted).
    finished: Vec<ConnSummary>,
    /// Connections evicted because the table was full.
    pub evicted: u64,
    tombs: HashMap<Key, Tomb>,
    /// Closed connections waiting out [`LINGER_NS`]: (time of last segment, key, stream).
    closing: std::collections::VecDeque<(Timestamp, Key, u64)>,
    /// Segments that arrived after their connection was finished.
    pub late_segments: u64,
    /// Connections that closed during the last segment (see [`Self::take_closed`]).
    just_closed: Vec<u64>,
    /// Out-of-order bytes all connections' reassemblers may hold together.
    ooo: SharedLimit,
    /// What the connections' measurements may hold together.
    limits: conn::Limits,
}

impl Default for FlowTable {
    fn default() -> Self {
        Self::with_capacity(MAX_CONNECTIONS)
    }
}

impl FlowTable {
    pub fn with_capacity(max: usize) -> Self {
        FlowTable {
            conns: HashMap::new(),
            next_stream: 0,
            tick: 0,
            max: max.max(1),
            finished: Vec::new(),
            evicted: 0,
            tombs: HashMap::new(),
            closing: std::collections::VecDeque::new(),
            late_segments: 0,
            just_closed: Vec::new(),
            ooo: SharedLimit::new(DEFAULT_SHARED_LIMIT),
            limits: conn::Limits::default(),
        }
    }

    /// The stream number the segment will get (without changing anything).
    /// Connections being tracked now.
    pub fn open(&self) -> usize {
        self.conns.len()
    }

    pub fn peek_stream(&self, seg: &Segment<'_>) -> u64 {
        match self.conns.get(&key(seg.src, seg.dst)) {
            Some(c) if !c.is_new_connection(seg) => c.id,
            _ => self.next_stream,
        }
    }

    /// Places a segment in its connection and updates that connection.
    pub fn observe(&mut self, seg: &Segment<'_>, sink: &mut dyn StreamSink) -> SegmentContext {
        self.tick += 1;
        let k = key(seg.src, seg.dst);
        // Most segments belong to an open connection they do not restart:
        // one lookup for them.
        if let Some(c) = self.conns.get_mut(&k)
            && (seg.malformed || !c.is_new_connection(seg))
        {
            let ctx = c.update(seg, self.tick, false, false, &self.ooo, sink);
            queue_if_closed(
                c,
                (seg.ts, k),
                &mut self.closing,
                &mut self.just_closed,
                sink,
            );
            return ctx;
        }
        let mut replaced = false;
        if !self.conns.contains_key(&k)
            && let Some(t) = self.tombs.get(&k)
        {
            let d = t.dir(&k, seg.src);
            let reopens = seg.has(flags::SYN)
                && !seg.has(flags::ACK)
                && t.base(d).is_some_and(|b| b != seg.seq);
            if !reopens {
                // A late segment of a finished connection: numbered, not analysed.
                self.late_segments += 1;
                let b = t.base(d).unwrap_or(seg.seq.wrapping_sub(1));
                let rel_ack = seg.has(flags::ACK).then(|| {
                    seg.ack
                        .wrapping_sub(t.base(1 - d).unwrap_or(seg.ack.wrapping_sub(1)))
                });
                return SegmentContext {
                    stream: t.stream,
                    dir: Dir::from_index(d),
                    rel_seq: seg.seq.wrapping_sub(b),
                    rel_ack,
                    role: Role::Other,
                    analysis: Analysis::default(),
                    conn_rel_ts: 0.0,
                    opens: false,
                    established_rtt: None,
                    window_size: u32::from(seg.window),
                    acked: None,
                    len: seg.len,
                    captured: seg.captured(),
                };
            }
            self.tombs.remove(&k);
            replaced = true;
        }
        let reuse = match self.conns.get(&k) {
            Some(c) => !seg.malformed && c.is_new_connection(seg),
            None => true,
        };
        if reuse {
            if let Some(mut old) = self.conns.remove(&k) {
                old.end_of_capture(sink);
                self.finished.push(old.summary(false));
                replaced = true;
            } else if self.conns.len() >= self.max {
                self.evict_oldest(sink);
            }
            let stream = self.next_stream;
            self.next_stream += 1;
            self.conns
                .insert(k, Box::new(Conn::new(stream, seg, &self.limits)));
        }
        let tick = self.tick;
        match self.conns.get_mut(&k) {
            Some(c) => {
                let ctx = c.update(seg, tick, reuse, replaced, &self.ooo, sink);
                queue_if_closed(
                    c,
                    (seg.ts, k),
                    &mut self.closing,
                    &mut self.just_closed,
                    sink,
                );
                ctx
            }
            // Unreachable: inserted above when missing.
            None => SegmentContext {
                stream: 0,
                dir: Dir::ClientToServer,
                rel_seq: seg.seq,
                rel_ack: None,
                role: Role::Other,
                analysis: Analysis::default(),
                conn_rel_ts: 0.0,
                opens: false,
                established_rtt: None,
                window_size: u32::from(seg.window),
                acked: None,
                len: seg.len,
                captured: seg.captured(),
            },
        }
    }

    /// Finishes the least recently seen eighth of the table in one pass, so a
    /// flood of new connections costs O(1) per segment on average.
    fn evict_oldest(&mut self, sink: &mut dyn StreamSink) {
        let mut ticks: Vec<(u64, Key)> =
            self.conns.iter().map(|(k, c)| (c.last_tick, *k)).collect();
        let n = (ticks.len() / 8).max(1);
        if n < ticks.len() {
            ticks.select_nth_unstable(n);
        }
        ticks.truncate(n);
        ticks.sort_unstable();
        for (_, k) in ticks {
            if let Some(mut c) = self.conns.remove(&k) {
                c.end_of_capture(sink);
                self.evicted += 1;
                self.finished.push(c.summary(true));
            }
        }
    }

    /// Live capture: finishes the connections that have closed (RST, or FIN
    /// both ways and acknowledged), so they can be reported at once. A late
    /// segment of such a connection starts a new one.
    pub fn finish_closed(&mut self, sink: &mut dyn StreamSink) -> Vec<ConnSummary> {
        let closed: Vec<Key> = self
            .conns
            .iter()
            .filter(|(_, c)| c.is_closed())
            .map(|(k, _)| *k)
            .collect();
        let mut out = Vec::new();
        for k in closed {
            if let Some(mut c) = self.conns.remove(&k) {
                c.end_of_capture(sink);
                out.push(c.summary(false));
            }
        }
        out.sort_by_key(|s| s.id);
        out
    }

    /// Finishes the connections that closed at least [`LINGER_NS`] of capture
    /// time before `now` and saw nothing since; their summaries join
    /// [`Self::take_finished`]. This keeps memory flat on long captures.
    pub fn sweep(&mut self, now: Timestamp, sink: &mut dyn StreamSink) {
        while let Some(&(ts, k, id)) = self.closing.front() {
            if now.since(ts) < LINGER_NS {
                break;
            }
            self.closing.pop_front();
            let last = match self.conns.get(&k) {
                Some(c) if c.id == id => c.last_ts,
                _ => continue,
            };
            if now.since(last) < LINGER_NS {
                self.closing.push_back((last, k, id));
                continue;
            }
            if let Some(mut c) = self.conns.remove(&k) {
                c.end_of_capture(sink);
                self.finished.push(c.summary(false));
                if self.tombs.len() >= MAX_TOMBS {
                    let mut ticks: Vec<(u64, Key)> =
                        self.tombs.iter().map(|(k, t)| (t.tick, *k)).collect();
                    let n = (ticks.len() / 8).max(1);
                    if n < ticks.len() {
                        ticks.select_nth_unstable(n);
                    }
                    for (_, k) in ticks.into_iter().take(n) {
                        self.tombs.remove(&k);
                    }
                }
                self.tombs.insert(k, Tomb::new(&c, &k, self.tick));
            }
        }
    }

    /// Connections that have just closed (RST, or FIN each way and
    /// acknowledged): their streams will carry nothing more, so what was
    /// built on them can be finished now, before the connection lingers.
    pub fn take_closed(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.just_closed)
    }

    /// Summaries of connections finished since the last call (port reuse, eviction).
    pub fn take_finished(&mut self) -> Vec<ConnSummary> {
        std::mem::take(&mut self.finished)
    }

    /// Ends the capture: summaries of every connection still tracked, by id.
    pub fn finish(&mut self, sink: &mut dyn StreamSink) -> Vec<ConnSummary> {
        let mut out = std::mem::take(&mut self.finished);
        let mut conns: Vec<Box<Conn>> = std::mem::take(&mut self.conns).into_values().collect();
        conns.sort_by_key(|c| c.id);
        out.extend(conns.into_iter().map(|mut c| {
            c.end_of_capture(sink);
            c.summary(false)
        }));
        out.sort_by_key(|s| s.id);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(
        frame: u64,
        port: u16,
        to_server: bool,
        seq: u32,
        fl: u16,
        payload: &[u8],
    ) -> Segment<'_> {
        let client = Endpoint {
            addr: IpAddr::from([10, 0, 0, 2]),
            port,
        };
        let server = Endpoint {
            addr: IpAddr::from([10, 0, 0, 1]),
            port: 80,
        };
        let (src, dst) = if to_server {
            (client, server)
        } else {
            (server, client)
        };
        Segment {
            frame,
            ts: Timestamp {
                secs: 1_700_000_000,
                nanos: (frame % 1_000_000) as u32,
            },
            wire_len: 54 + payload.len() as u32,
            src,
            dst,
            seq,
            ack: 1,
            flags: fl,
            window: 65535,
            len: payload.len() as u32,
            payload,
            offered: None,
            wscale: None,
            malformed: false,
            bogus_offset: false,
            layer_bytes: [14, 20, 20, payload.len() as u32],
        }
    }

    /// 100 connections each hold 900,000 bytes beyond a one-byte hole: 90 MB
    /// in all, more than the table's shared 64 MiB. The table holds no more
    /// than that, and nothing once the connections are finished.
    #[test]
    fn out_of_order_bytes_of_all_connections_share_one_limit() {
        let mut t = FlowTable::default();
        let data = vec![7u8; 60_000];
        let mut frame = 0;
        let mut next = || {
            frame += 1;
            frame
        };
        for i in 0..100u16 {
            let port = 10_000 + i;
            t.observe(&seg(next(), port, true, 0, flags::SYN, &[]), &mut NoSink);
            t.observe(
                &seg(next(), port, false, 0, flags::SYN | flags::ACK, &[]),
                &mut NoSink,
            );
            for k in 0..15u32 {
                // Data starts at seq 1; byte 1 is never sent.
                let s = seg(next(), port, true, 2 + k * 60_000, flags::ACK, &data);
                t.observe(&s, &mut NoSink);
            }
            assert!(t.ooo.used() <= DEFAULT_SHARED_LIMIT, "after {i}");
        }
        assert!(
            t.ooo.used() > DEFAULT_SHARED_LIMIT - 1_000_000,
            "{}",
            t.ooo.used()
        );
        let summaries = t.finish(&mut NoSink);
        assert_eq!(summaries.len(), 100);
        assert_eq!(t.ooo.used(), 0);
        // Every connection gave up its one-byte hole, no more.
        assert!(
            summaries.iter().all(|s| s.gap_bytes.client_to_server == 1),
            "gaps"
        );
    }

    /// A segment that comes after its connection was finished (closed, then
    /// [`LINGER_NS`] of quiet) is numbered as tshark numbers it, from what
    /// the table keeps of the connection. Past [`MAX_TOMBS`] finished
    /// connections the oldest eighth is forgotten: a late segment of one of
    /// those starts a new connection.
    #[test]
    fn late_segments_are_numbered_while_their_connection_is_remembered() {
        let mut t = FlowTable::default();
        let port = |i: u64| 1_000 + i as u16;
        let at = |s: Segment<'static>, i: u64| Segment {
            ts: Timestamp {
                secs: 1_700_000_000 + 10 * i as i64,
                nanos: 0,
            },
            ..s
        };
        let conns = MAX_TOMBS as u64 + 1;
        for i in 0..conns {
            let p = port(i);
            for s in [
                seg(3 * i + 1, p, true, 1_000, flags::SYN, &[]),
                seg(3 * i + 2, p, false, 5_000, flags::SYN | flags::ACK, &[]),
                seg(3 * i + 3, p, true, 1_001, flags::RST, &[]),
            ] {
                let s = at(s, i);
                t.observe(&s, &mut NoSink);
                // The connection before lingered 10 s: it is finished now.
                t.sweep(s.ts, &mut NoSink);
            }
        }
        t.sweep(at(seg(0, 1, true, 0, 0, &[]), conns + 1).ts, &mut NoSink);
        assert_eq!(t.open(), 0);
        let forgotten = MAX_TOMBS as u64 / 8;
        assert_eq!(t.tombs.len() as u64, MAX_TOMBS as u64 - forgotten + 1);

        let late = |t: &mut FlowTable, i: u64| {
            let mut s = at(seg(0, port(i), true, 1_011, flags::ACK, &[]), conns + 2);
            s.ack = 5_008;
            t.observe(&s, &mut NoSink)
        };
        for i in [forgotten, conns - 1] {
            let c = late(&mut t, i);
            assert_eq!((c.stream, c.rel_seq, c.rel_ack), (i, 11, Some(8)), "{i}");
        }
        assert_eq!(t.late_segments, 2);
        // Forgotten: a new connection, its numbers relative to itself.
        let c = late(&mut t, forgotten - 1);
        assert_eq!((c.stream, c.rel_seq), (conns, 1));
        assert_eq!(t.late_segments, 2);
        // What MAX_TOMBS's memory bound is made of.
        assert!(std::mem::size_of::<(Key, Tomb)>() <= 72);
        assert!(std::mem::size_of::<(Key, Box<Conn>)>() <= 48);
    }
}
