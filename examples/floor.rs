//! floor: the least work a reader of WebSocket captures must do, as a yardstick
//! for `osiscope flows` (benches/bench.sh runs both on the same file).
//!
//! One thread reads a pcap file as a stream, slices each packet with
//! etherparse, keeps a table of TCP connections (by both endpoints, either
//! way round), follows each direction's bytes in sequence order (segments
//! out of order are counted and skipped, not reassembled), skips the HTTP
//! head up to its blank line, then walks the WebSocket frames that follow
//! and unmasks every payload byte. It checks nothing else: no TCP analysis,
//! no HTTP parsing, no inflating, no Engine.IO or Socket.IO, no output but a
//! summary line. A checksum of the unmasked bytes keeps the work from being
//! optimised away.
//!
//! With `--inflate` it also inflates the messages of connections whose two
//! heads name `permessage-deflate` (the first frame's RSV1 set), one raw
//! inflater per direction kept from message to message, as a reader that
//! counts or checks what messages say must: the same yardstick plus the one
//! decoding step no such reader can skip. The inflated bytes go into the
//! checksum; nothing is validated.
//!
//! ```text
//! cargo run --release --example floor -- /tmp/osiscope-bench-1G.pcap
//! cargo run --release --example floor -- --inflate /tmp/osiscope-bench-1G.pcap
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::net::IpAddr;

use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};
use flate2::{Decompress, FlushDecompress};
use pcap_file::pcap::PcapReader;

/// What a permessage-deflate sender leaves off each message.
const TRAILER: [u8; 4] = [0, 0, 0xff, 0xff];
/// Looked for in each HTTP head (`--inflate`).
const DEFLATE: &[u8] = b"permessage-deflate";

/// Where a direction's byte stream is.
#[derive(Default)]
struct Side {
    /// Next expected sequence number, once the SYN (or first data) was seen.
    next: Option<u32>,
    /// The HTTP head is over.
    ws: bool,
    /// Last bytes of the head seen, to find `\r\n\r\n` across segments.
    tail: u32,
    /// The frame header being read (at most 14 bytes).
    head: [u8; 14],
    head_len: usize,
    /// Payload bytes left in the current frame, its mask, and how far
    /// into the payload (for the mask's phase).
    left: u64,
    mask: [u8; 4],
    masked: bool,
    at: usize,
    fin: bool,
    /// `--inflate`: how much of "permessage-deflate" the head has matched
    /// (its length once found), the frame ends a message, the message is
    /// compressed, and this direction's inflater.
    deflate_at: usize,
    last: bool,
    compressed: bool,
    /// This frame's payload is part of a compressed message.
    inflating: bool,
    /// Boxed: most connections never inflate, and an inflater's state
    /// inline would double the size of every entry of the table.
    inflater: Option<Box<Decompress>>,
}

/// Buffers reused for inflating (`--inflate`).
struct Scratch {
    on: bool,
    plain: Vec<u8>,
    out: Vec<u8>,
}

#[derive(Default)]
struct Totals {
    packets: u64,
    tcp: u64,
    connections: u64,
    frames: u64,
    payload: u64,
    skipped: u64,
    sum: u64,
    messages_inflated: u64,
    inflated: u64,
}

impl Side {
    /// Walks `data`, the next bytes of the stream; `other_named` says
    /// whether the other direction's head named permessage-deflate.
    fn feed(&mut self, mut data: &[u8], t: &mut Totals, x: &mut Scratch, other_named: bool) {
        while !self.ws {
            let Some((&b, rest)) = data.split_first() else {
                return;
            };
            data = rest;
            self.tail = (self.tail << 8) | u32::from(b);
            self.ws = self.tail == 0x0d0a_0d0a;
            if x.on && self.deflate_at < DEFLATE.len() {
                self.deflate_at = match DEFLATE.get(self.deflate_at) {
                    Some(&c) if c == b => self.deflate_at + 1,
                    _ => usize::from(b == DEFLATE[0]),
                };
            }
        }
        // Both heads named the extension (this one may end in the same
        // segment as the first frames).
        let deflate = other_named && self.deflate_at == DEFLATE.len();
        while !data.is_empty() {
            if self.left == 0 {
                // Between frames: read the header, whose length its second
                // byte tells.
                loop {
                    let need = header_len(&self.head[..self.head_len]);
                    if self.head_len >= need {
                        break;
                    }
                    if data.is_empty() {
                        return;
                    }
                    let take = (need - self.head_len).min(data.len());
                    self.head[self.head_len..self.head_len + take].copy_from_slice(&data[..take]);
                    self.head_len += take;
                    data = &data[take..];
                }
                let h = &self.head;
                let (len, off) = match h[1] & 0x7f {
                    126 => (u64::from(u16::from_be_bytes([h[2], h[3]])), 4),
                    127 => (
                        u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]),
                        10,
                    ),
                    n => (u64::from(n), 2),
                };
                self.masked = h[1] & 0x80 != 0;
                if self.masked {
                    self.mask.copy_from_slice(&h[off..off + 4]);
                }
                let opcode = h[0] & 0x0f;
                if opcode == 1 || opcode == 2 {
                    // A message's first frame says whether it is compressed.
                    self.compressed = deflate && h[0] & 0x40 != 0;
                }
                // Control frames (8 and up) may come between a message's
                // frames; they are never compressed.
                self.inflating = opcode < 8 && self.compressed;
                self.last = h[0] & 0x80 != 0 && opcode < 8;
                self.left = len;
                self.at = 0;
                self.head_len = 0;
                t.frames += 1;
                if len == 0 {
                    self.end_frame(t, x);
                }
                continue;
            }
            let take = (self.left.min(data.len() as u64)) as usize;
            let (chunk, rest) = data.split_at(take);
            let sum = if self.inflating {
                x.plain.clear();
                x.plain.extend(chunk.iter().enumerate().map(|(i, &b)| {
                    b ^ if self.masked {
                        self.mask[(self.at + i) & 3]
                    } else {
                        0
                    }
                }));
                let plain = std::mem::take(&mut x.plain);
                let s = self.inflate(&plain, t, x);
                x.plain = plain;
                s
            } else if self.masked {
                unmask_sum(chunk, self.mask, self.at)
            } else {
                chunk.iter().map(|&b| u64::from(b)).sum()
            };
            self.at += take;
            data = rest;
            t.sum = t.sum.wrapping_add(sum);
            t.payload += take as u64;
            self.left -= take as u64;
            if self.left == 0 {
                self.end_frame(t, x);
            }
        }
    }

    /// The end of a frame: a compressed message's last frame gets its
    /// trailer back.
    fn end_frame(&mut self, t: &mut Totals, x: &mut Scratch) {
        if self.inflating && self.last {
            let s = self.inflate(&TRAILER, t, x);
            t.sum = t.sum.wrapping_add(s);
            t.messages_inflated += 1;
        }
    }

    /// Inflates `input` (this direction's stream goes on from message to
    /// message) and adds up what comes out.
    fn inflate(&mut self, mut input: &[u8], t: &mut Totals, x: &mut Scratch) -> u64 {
        let d = self
            .inflater
            .get_or_insert_with(|| Box::new(Decompress::new_with_window_bits(false, 15)));
        let mut sum = 0u64;
        loop {
            x.out.clear();
            let before = d.total_in();
            if d.decompress_vec(input, &mut x.out, FlushDecompress::Sync)
                .is_err()
            {
                return sum;
            }
            let used = (d.total_in() - before) as usize;
            input = &input[used.min(input.len())..];
            sum += x.out.iter().map(|&b| u64::from(b)).sum::<u64>();
            t.inflated += x.out.len() as u64;
            if x.out.len() < x.out.capacity() || (input.is_empty() && used == 0) {
                return sum;
            }
        }
    }
}

/// Unmasks `bytes` (the mask's position `at` onwards) and adds them up,
/// eight at a time.
fn unmask_sum(bytes: &[u8], mask: [u8; 4], at: usize) -> u64 {
    let mut m = [0u8; 8];
    for (i, b) in m.iter_mut().enumerate() {
        *b = mask[(at + i) & 3];
    }
    let m8 = u64::from_ne_bytes(m);
    let mut chunks = bytes.chunks_exact(8);
    let mut sum = 0u64;
    for c in &mut chunks {
        let x = u64::from_ne_bytes(c.try_into().unwrap_or_default()) ^ m8;
        sum += x.to_ne_bytes().iter().map(|&b| u64::from(b)).sum::<u64>();
    }
    let tail = chunks.remainder();
    sum + tail
        .iter()
        .zip(m)
        .map(|(&b, k)| u64::from(b ^ k))
        .sum::<u64>()
}

/// Bytes of a WebSocket frame header that starts with `h` (2 until its
/// second byte is known).
fn header_len(h: &[u8]) -> usize {
    let Some(&b) = h.get(1) else {
        return 2;
    };
    let mask = if b & 0x80 != 0 { 4 } else { 0 };
    2 + mask
        + match b & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        }
}

type Key = (IpAddr, u16, IpAddr, u16);

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let inflate = args.first().is_some_and(|a| a == "--inflate");
    if inflate {
        args.remove(0);
    }
    let path = args
        .first()
        .expect("usage: floor [--inflate] FILE.pcap")
        .clone();
    let mut x = Scratch {
        on: inflate,
        plain: Vec::new(),
        out: Vec::with_capacity(32 * 1024),
    };
    let file = File::open(&path).expect("open the capture");
    let mut reader = PcapReader::new(BufReader::with_capacity(1 << 20, file)).expect("a pcap file");
    let mut conns: HashMap<Key, [Side; 2], foldhash::fast::RandomState> = HashMap::default();
    let mut t = Totals::default();
    while let Some(pkt) = reader.next_packet() {
        let Ok(pkt) = pkt else { break };
        t.packets += 1;
        let Ok(p) = LaxSlicedPacket::from_ethernet(pkt.data()) else {
            continue;
        };
        let (src, dst): (IpAddr, IpAddr) = match &p.net {
            Some(LaxNetSlice::Ipv4(v)) => (
                v.header().source_addr().into(),
                v.header().destination_addr().into(),
            ),
            Some(LaxNetSlice::Ipv6(v)) => (
                v.header().source_addr().into(),
                v.header().destination_addr().into(),
            ),
            _ => continue,
        };
        let Some(TransportSlice::Tcp(tcp)) = &p.transport else {
            continue;
        };
        t.tcp += 1;
        let (sp, dp) = (tcp.source_port(), tcp.destination_port());
        let forward = (src, sp) <= (dst, dp);
        let key = if forward {
            (src, sp, dst, dp)
        } else {
            (dst, dp, src, sp)
        };
        let sides = conns.entry(key).or_default();
        t.connections += u64::from(tcp.syn() && !tcp.ack());
        let side = &mut sides[usize::from(!forward)];
        let seq = tcp.sequence_number();
        let payload = tcp.payload();
        if tcp.syn() {
            side.next = Some(seq.wrapping_add(1));
            continue;
        }
        let next = *side.next.get_or_insert(seq);
        side.fin |= tcp.fin();
        if !payload.is_empty() {
            if seq == next {
                // The other side's head is over before this side's frames
                // start: a WebSocket server answers the request's head.
                let other_named = sides[usize::from(forward)].deflate_at == DEFLATE.len();
                let side = &mut sides[usize::from(!forward)];
                side.feed(payload, &mut t, &mut x, other_named);
                side.next = Some(seq.wrapping_add(payload.len() as u32));
            } else {
                t.skipped += 1;
            }
        }
        // A connection is forgotten once reset or closed both ways.
        if tcp.rst() || sides.iter().all(|s| s.fin) {
            conns.remove(&key);
        }
    }
    println!(
        "{} packets, {} TCP, {} connections, {} WebSocket frames, {} payload bytes unmasked \
         (sum {}), {} segments out of order, {} messages inflated to {} bytes",
        t.packets,
        t.tcp,
        t.connections,
        t.frames,
        t.payload,
        t.sum,
        t.skipped,
        t.messages_inflated,
        t.inflated
    );
}
