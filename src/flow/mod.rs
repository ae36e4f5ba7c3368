//! Layers 4–5 across packets: which TCP connection a segment belongs to.
//!
//! Connections are numbered as tshark's `tcp.stream` numbers them: the first
//! segment of a 4-tuple opens stream N, and a SYN whose sequence number differs
//! from the one that opened the current stream (port reuse) opens a new one.
//! Sequence numbers are made relative to each side's first sequence number.

use std::collections::HashMap;
use std::net::IpAddr;

/// Connections tracked at once; when full, the least recently seen is forgotten
/// (its later segments then start a new stream number).
pub const MAX_TRACKED: usize = 262_144;

/// One side of a 4-tuple.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub addr: IpAddr,
    pub port: u16,
}

/// What the segment needs from its connection's past.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentContext {
    /// 0-based stream index, as tshark's `tcp.stream`.
    pub stream: u64,
    /// Sequence number relative to this side's first one.
    pub rel_seq: u32,
    /// Acknowledgement number relative to the other side's first sequence
    /// number; None when the ACK flag is not set.
    pub rel_ack: Option<u32>,
}

struct Conn {
    stream: u64,
    /// Base sequence numbers: [side that sent the first segment, the other side].
    base: [Option<u32>; 2],
    first: Endpoint,
    last_seen: u64,
}

#[derive(Default)]
pub struct Tracker {
    conns: HashMap<(Endpoint, Endpoint), Conn>,
    next_stream: u64,
    tick: u64,
}

/// Facts of a TCP segment the tracker needs.
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    pub src: Endpoint,
    pub dst: Endpoint,
    pub seq: u32,
    pub ack: u32,
    pub syn: bool,
    pub ack_flag: bool,
}

impl Tracker {
    /// A malformed segment (header shorter than it says, in a frame captured
    /// whole) belongs to its connection but moves no base: its numbers stay
    /// absolute, as in tshark.
    pub fn observe_malformed(&mut self, seg: &Segment) -> SegmentContext {
        let key = if seg.src <= seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let stream = match self.conns.get(&key) {
            Some(c) => c.stream,
            None => self.open(key, seg.src),
        };
        SegmentContext {
            stream,
            rel_seq: seg.seq,
            rel_ack: seg.ack_flag.then_some(seg.ack),
        }
    }

    fn open(&mut self, key: (Endpoint, Endpoint), first: Endpoint) -> u64 {
        if self.conns.len() >= MAX_TRACKED && !self.conns.contains_key(&key) {
            self.evict_oldest();
        }
        let stream = self.next_stream;
        self.next_stream += 1;
        self.conns.insert(
            key,
            Conn {
                stream,
                base: [None, None],
                first,
                last_seen: self.tick,
            },
        );
        stream
    }

    pub fn observe(&mut self, seg: &Segment) -> SegmentContext {
        self.tick += 1;
        let key = if seg.src <= seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let reuse = match self.conns.get(&key) {
            Some(c) => {
                let side = usize::from(c.first != seg.src);
                seg.syn && !seg.ack_flag && c.base[side].is_some_and(|b| b != seg.seq)
            }
            None => true,
        };
        if reuse {
            self.open(key, seg.src);
        }
        let tick = self.tick;
        let Some(c) = self.conns.get_mut(&key) else {
            // Unreachable: inserted above.
            return SegmentContext {
                stream: 0,
                rel_seq: seg.seq,
                rel_ack: None,
            };
        };
        c.last_seen = tick;
        let side = usize::from(c.first != seg.src);
        // As Wireshark: a side first seen mid-stream starts at relative 1, and
        // so does an acknowledgement of a side not seen yet.
        // A SYN (also a SYN-ACK) always sets its side's base, as in Wireshark.
        if seg.syn {
            c.base[side] = Some(seg.seq);
        }
        let base = *c.base[side].get_or_insert(seg.seq.wrapping_sub(1));
        let rel_ack = if seg.ack_flag {
            let b = *c.base[1 - side].get_or_insert(seg.ack.wrapping_sub(1));
            Some(seg.ack.wrapping_sub(b))
        } else {
            None
        };
        SegmentContext {
            stream: c.stream,
            rel_seq: seg.seq.wrapping_sub(base),
            rel_ack,
        }
    }

    fn evict_oldest(&mut self) {
        if let Some(k) = self
            .conns
            .iter()
            .min_by_key(|(_, c)| c.last_seen)
            .map(|(k, _)| *k)
        {
            self.conns.remove(&k);
        }
    }
}
