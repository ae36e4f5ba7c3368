//! gen_bench: writes a SYNTHETIC capture for benchmarks.
//!
//! Everything in the file is made up by this program from a seed. Nothing is
//! captured and nothing is sent anywhere: the packets only ever exist in the
//! output file. The traffic is meant to be protocol-correct, so that a decoder
//! reading it should report no anomaly at all:
//!
//! * little-endian microsecond pcap, snaplen 262144, Ethernet, IPv4 only,
//!   private addresses (clients 10.1.x.y, servers 10.0.0.1 to 10.0.0.4, port 80);
//! * N interleaved TCP connections (about 200 open at once), each with a
//!   SYN / SYN-ACK / ACK handshake carrying MSS, window scale, SACK-permitted and
//!   timestamps, exact sequence and acknowledgement numbers, IPv4 and TCP
//!   checksums, pure ACKs now and then, and a FIN teardown;
//! * an HTTP/1.1 WebSocket upgrade (random `Sec-WebSocket-Key`, the matching
//!   `Sec-WebSocket-Accept`, a `101 Switching Protocols` answer);
//! * then WebSocket messages both ways: masked client frames, unmasked server
//!   frames, text (valid UTF-8) and binary, some fragmented into continuation
//!   frames, occasional ping/pong, and a close handshake with code 1000;
//! * about 1 connection in 4 negotiates permessage-deflate (raw deflate, sync
//!   flush, `00 00 ff ff` tail removed, RSV1 set, context takeover in each
//!   direction);
//! * about 1 connection in 4 is Socket.IO (Engine.IO 4) over WebSocket: open
//!   packet, namespace connect, events, acknowledgements, pings, some binary
//!   events with their attachment;
//! * WebSocket frames are sometimes split across TCP segments and sometimes
//!   several are packed into one segment (at most 1448 payload bytes a segment).
//!
//! With `--tls KEYS`, every connection runs over TLS 1.3 instead (port 443):
//! a plaintext ClientHello and ServerHello (`TLS_AES_128_GCM_SHA256`,
//! x25519), each side's Finished under its handshake keys, then the same
//! HTTP upgrade and WebSocket traffic in application-data records of at most
//! 16 KiB, encrypted with AES-128-GCM under keys made from random secrets,
//! which are written to KEYS in the NSS key log format. The handshake proves
//! nothing (no certificate, random Finished): it only has the shape a
//! decrypting reader needs, to measure what decrypting costs.
//!
//! `--no-deflate` and `--small-messages` give the shape of a chat: no
//! compression and every message under 2,000 bytes, so about 2.5 times as
//! many packets per gigabyte, and per-packet work weighs more than per-byte.
//!
//! The output is a deterministic function of the arguments: the same
//! arguments give the same file, byte for byte.
//!
//! ```text
//! cargo run --release --example gen_bench -- --out /tmp/x.pcap --size 100M --seed 1
//! ```

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes128Gcm, KeyInit};
use base64::Engine as _;
use clap::Parser;
use etherparse::{IpHeaders, Ipv4Header, PacketBuilder, TcpHeader};
use flate2::{Compress, Compression, FlushCompress};
use osiscope::proto::tls::crypto::{Hash, expand_label};
use sha1::{Digest, Sha1};

/// Writes a SYNTHETIC pcap file of made-up, protocol-correct TCP/HTTP/WebSocket/
/// Socket.IO traffic, for benchmarks. Nothing is captured and nothing is sent on
/// any network: the packets only exist in the output file.
#[derive(Parser, Debug)]
#[command(
    name = "gen_bench",
    about = "Writes a SYNTHETIC pcap of made-up TCP/HTTP/WebSocket/Socket.IO traffic, for benchmarks",
    long_about = "Writes a SYNTHETIC pcap of made-up traffic, for benchmarks. Nothing is captured and \
nothing is sent on any network: every packet is generated from the seed and only exists in the \
output file.\n\nThe file holds interleaved TCP connections over IPv4 (clients 10.1.x.y, servers \
10.0.0.1-4 port 80, about 200 open at once), each an HTTP/1.1 WebSocket upgrade followed by \
WebSocket messages both ways (masked client frames, text and binary, fragments, ping/pong, \
close 1000) and a FIN teardown. About 1 connection in 4 negotiates permessage-deflate; about 1 in \
4 is Socket.IO (Engine.IO 4) over WebSocket. Checksums, sequence and acknowledgement numbers are \
correct. The same seed and size always give the same file.",
    after_help = "Example:\n  cargo run --release --example gen_bench -- --out /tmp/x.pcap --size 100M --seed 1"
)]
struct Args {
    /// Output pcap file
    #[arg(long)]
    out: PathBuf,
    /// Target file size: bytes, or with a K, M or G suffix (powers of 1024).
    /// Connections stop being opened once the target is reached; the ones still
    /// open are finished properly, so the file ends close to this size.
    #[arg(long, default_value = "100M", value_parser = parse_size)]
    size: u64,
    /// Seed of the pseudo-random generator (same seed, same file)
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How many connections are kept open at once
    #[arg(long, default_value_t = 200)]
    concurrent: usize,
    /// Wrap every connection in TLS 1.3 and write its secrets to this key log
    #[arg(long, value_name = "KEYS")]
    tls: Option<PathBuf>,
    /// No connection negotiates permessage-deflate (by default about 1 in 4
    /// does)
    #[arg(long)]
    no_deflate: bool,
    /// Every message under 2,000 bytes, as in a chat (by default 1 message in
    /// 12 is 2 KB to 150 KB, and those carry most of the bytes)
    #[arg(long)]
    small_messages: bool,
}

/// What the traffic is like, beyond the seed.
#[derive(Clone, Copy)]
struct Shape {
    tls: bool,
    deflate: bool,
    small_messages: bool,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('m' | 'M') => (&s[..s.len() - 1], 1u64 << 20),
        Some('g' | 'G') => (&s[..s.len() - 1], 1u64 << 30),
        _ => (s, 1),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("bad size {s:?} (expected e.g. 100M, 1G, 500K, 1048576)"))?;
    if !n.is_finite() || n <= 0.0 {
        return Err(format!("size must be positive, got {s:?}"));
    }
    Ok((n * mult as f64) as u64)
}

// ---------------------------------------------------------------------------
// TLS 1.3 wrapping (--tls).

/// One direction's record protection: AES-128-GCM keys and sequence number.
struct Seal {
    aead: Aes128Gcm,
    iv: [u8; 12],
    seq: u64,
}

impl Seal {
    fn new(secret: &[u8]) -> Seal {
        let key = expand_label(Hash::Sha256, secret, "key", &[], 16).expect("key");
        let iv = expand_label(Hash::Sha256, secret, "iv", &[], 12).expect("iv");
        Seal {
            aead: Aes128Gcm::new_from_slice(&key).expect("key length"),
            iv: iv.try_into().expect("iv length"),
            seq: 0,
        }
    }

    /// `data` as records of content type `inner`, 16 KiB of plaintext at most each.
    fn records(&mut self, inner: u8, data: &[u8], out: &mut Vec<u8>) {
        for chunk in data.chunks(16 * 1024) {
            let mut body = chunk.to_vec();
            body.push(inner);
            let len = (body.len() + 16) as u16;
            let header = [23, 3, 3, (len >> 8) as u8, len as u8];
            let mut nonce = self.iv;
            for (b, s) in nonce[4..].iter_mut().zip(self.seq.to_be_bytes()) {
                *b ^= s;
            }
            self.seq += 1;
            let tag = self
                .aead
                .encrypt_inout_detached(&nonce.into(), &header, body.as_mut_slice().into())
                .expect("encrypt");
            out.extend_from_slice(&header);
            out.extend_from_slice(&body);
            out.extend_from_slice(&tag);
        }
    }
}

/// A handshake message: type, 24-bit length, body.
fn handshake(t: u8, body: &[u8]) -> Vec<u8> {
    let n = body.len();
    let mut v = vec![t, (n >> 16) as u8, (n >> 8) as u8, n as u8];
    v.extend_from_slice(body);
    v
}

/// An extension: type, 16-bit length, data.
fn extension(t: u16, data: &[u8]) -> Vec<u8> {
    let mut v = t.to_be_bytes().to_vec();
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    v.extend_from_slice(data);
    v
}

/// A plaintext handshake record.
fn plain_record(version: u16, msg: &[u8]) -> Vec<u8> {
    let mut v = vec![22];
    v.extend_from_slice(&version.to_be_bytes());
    v.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    v.extend_from_slice(msg);
    v
}

/// A TLS 1.3 session around one connection's bytes: the hellos, and sealing
/// for each side's records.
struct Tls {
    client_hello: Vec<u8>,
    /// The ServerHello and the server's Finished under its handshake keys.
    server_flight: Vec<u8>,
    /// The client's Finished, under its handshake keys.
    client_finished: Vec<u8>,
    /// Application keys: client, server.
    app: [Seal; 2],
    /// The key log lines of the session.
    keylog: String,
}

impl Tls {
    fn new(rng: &mut Rng, server_name: &str) -> Tls {
        let mut rand = |n: usize| {
            let mut v = vec![0u8; n];
            rng.fill(&mut v);
            v
        };
        let (client_random, server_random, session) = (rand(32), rand(32), rand(32));
        let secrets: Vec<Vec<u8>> = (0..4).map(|_| rand(32)).collect();
        let (share_c, share_s, fin_c, fin_s) = (rand(32), rand(32), rand(32), rand(32));
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let cr = hex(&client_random);
        let keylog = format!(
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET {cr} {}\nSERVER_HANDSHAKE_TRAFFIC_SECRET {cr} {}\n\
             CLIENT_TRAFFIC_SECRET_0 {cr} {}\nSERVER_TRAFFIC_SECRET_0 {cr} {}\n",
            hex(&secrets[0]),
            hex(&secrets[1]),
            hex(&secrets[2]),
            hex(&secrets[3])
        );
        let key_share = |share: &[u8], list: bool| {
            let mut e = 29u16.to_be_bytes().to_vec();
            e.extend_from_slice(&(share.len() as u16).to_be_bytes());
            e.extend_from_slice(share);
            if list {
                let mut l = (e.len() as u16).to_be_bytes().to_vec();
                l.extend_from_slice(&e);
                l
            } else {
                e
            }
        };
        let mut sni = vec![0];
        sni.extend_from_slice(&(server_name.len() as u16).to_be_bytes());
        sni.extend_from_slice(server_name.as_bytes());
        let mut sni_list = (sni.len() as u16).to_be_bytes().to_vec();
        sni_list.extend_from_slice(&sni);
        let mut exts = extension(0, &sni_list);
        exts.extend(extension(43, &[2, 3, 4]));
        exts.extend(extension(51, &key_share(&share_c, true)));
        let mut ch = vec![3, 3];
        ch.extend_from_slice(&client_random);
        ch.push(32);
        ch.extend_from_slice(&session);
        ch.extend_from_slice(&[0, 2, 0x13, 0x01, 1, 0]);
        ch.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        ch.extend_from_slice(&exts);
        let mut exts = extension(43, &[3, 4]);
        exts.extend(extension(51, &key_share(&share_s, false)));
        let mut sh = vec![3, 3];
        sh.extend_from_slice(&server_random);
        sh.push(32);
        sh.extend_from_slice(&session);
        sh.extend_from_slice(&[0x13, 0x01, 0]);
        sh.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        sh.extend_from_slice(&exts);
        let mut server_flight = plain_record(0x0303, &handshake(2, &sh));
        Seal::new(&secrets[1]).records(22, &handshake(20, &fin_s), &mut server_flight);
        let mut client_finished = Vec::new();
        Seal::new(&secrets[0]).records(22, &handshake(20, &fin_c), &mut client_finished);
        Tls {
            client_hello: plain_record(0x0301, &handshake(1, &ch)),
            server_flight,
            client_finished,
            app: [Seal::new(&secrets[2]), Seal::new(&secrets[3])],
            keylog,
        }
    }
}

// ---------------------------------------------------------------------------
// Pseudo-random numbers: xorshift64*, seeded through splitmix64.

#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 0x1234_5678_9ABC_DEF1 } else { z })
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn usize(&mut self, lo: usize, hi: usize) -> usize {
        self.range(lo as u64, hi as u64) as usize
    }
    /// True with probability `num / den`.
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
    fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let v = self.next().to_le_bytes();
        let n = rest.len();
        rest.copy_from_slice(&v[..n]);
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------
// Text content.

#[rustfmt::skip]
const WORDS: &[&str] = &[
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "packet", "socket", "frame",
    "stream", "server", "client", "hello", "world", "message", "update", "status", "ready",
    "latency", "window", "segment", "buffer", "event", "room", "user", "channel", "ping",
    "pong", "data", "value", "price", "order", "quote", "ticker", "alpha", "beta", "gamma",
    "delta", "north", "south", "east", "west", "red", "green", "blue", "yellow", "one", "two",
    "three", "four", "five", "six", "seven", "eight", "nine", "ten", "and", "or", "with",
    "from", "into", "café", "naïve", "façade", "über", "日本語", "テキスト", "Ελληνικά", "русский",
    "→", "✓", "😀", "🚀",
];

const EVENTS: &[&str] = &[
    "chat", "message", "typing", "update", "presence", "move", "notify",
];
const ROOMS: &[&str] = &[
    "lobby", "general", "random", "dev", "ops", "sales", "support",
];
const PATHS: &[&str] = &[
    "/chat", "/ws", "/live", "/feed", "/echo", "/stream", "/updates",
];

/// Appends about `n` bytes of words (ASCII and UTF-8, no quotes or backslashes).
fn words(rng: &mut Rng, out: &mut Vec<u8>, n: usize) {
    let start = out.len();
    while out.len() - start < n {
        if out.len() > start {
            out.push(b' ');
        }
        out.extend_from_slice(rng.pick(WORDS).as_bytes());
    }
}

fn sid(rng: &mut Rng) -> String {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..20)
        .map(|_| ALPHA[rng.below(64) as usize] as char)
        .collect()
}

/// A message size: mostly small, sometimes a few KB, rarely over 64 KB; with
/// `small`, only the first two kinds, in the same proportion.
fn msg_size(rng: &mut Rng, small: bool) -> usize {
    match rng.below(if small { 920 } else { 1000 }) {
        0..=699 => rng.usize(8, 200),
        700..=919 => rng.usize(200, 2000),
        920..=994 => rng.usize(2000, 20000),
        _ => rng.usize(20000, 150_000),
    }
}

// ---------------------------------------------------------------------------
// WebSocket framing, per connection.

const OP_CONT: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// One burst of bytes written by one side; `with_next` lets the next step be
/// sent at the same time (it does not wait for this one).
struct Step {
    from_client: bool,
    bytes: Vec<u8>,
    with_next: bool,
}

/// Builds the application-level script of one connection.
struct Script<'a> {
    rng: &'a mut Rng,
    deflate: Option<[Compress; 2]>,
    /// Messages under 2,000 bytes only ([`msg_size`]).
    small: bool,
    steps: VecDeque<Step>,
    messages: u64,
    frames: u64,
}

impl Script<'_> {
    fn push(&mut self, from_client: bool, bytes: Vec<u8>, with_next: bool) {
        self.steps.push_back(Step {
            from_client,
            bytes,
            with_next,
        });
    }

    fn frame(
        &mut self,
        out: &mut Vec<u8>,
        from_client: bool,
        fin: bool,
        rsv1: bool,
        op: u8,
        payload: &[u8],
    ) {
        self.frames += 1;
        out.push(((fin as u8) << 7) | ((rsv1 as u8) << 6) | op);
        let mask_bit = if from_client { 0x80 } else { 0 };
        let n = payload.len();
        if n < 126 {
            out.push(mask_bit | n as u8);
        } else if n <= 0xFFFF {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
        if from_client {
            let key = (self.rng.next() as u32).to_be_bytes();
            out.extend_from_slice(&key);
            let start = out.len();
            out.extend_from_slice(payload);
            let body = &mut out[start..];
            let k = u32::from_ne_bytes(key);
            let mut chunks = body.chunks_exact_mut(4);
            for c in &mut chunks {
                let v = u32::from_ne_bytes([c[0], c[1], c[2], c[3]]) ^ k;
                c.copy_from_slice(&v.to_ne_bytes());
            }
            for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
                *b ^= key[i];
            }
        } else {
            out.extend_from_slice(payload);
        }
    }

    /// A data message (text or binary), compressed when the connection
    /// negotiated permessage-deflate, sometimes fragmented.
    fn message(&mut self, out: &mut Vec<u8>, from_client: bool, op: u8, payload: &[u8]) {
        self.messages += 1;
        let compressed;
        let (body, rsv1) = match self.deflate.as_mut() {
            Some(d) => {
                compressed = deflate(&mut d[!from_client as usize], payload);
                (&compressed[..], true)
            }
            None => (payload, false),
        };
        let fragments = if body.len() >= 64 && self.rng.chance(1, 8) {
            self.rng.usize(2, 5)
        } else {
            1
        };
        if fragments == 1 {
            self.frame(out, from_client, true, rsv1, op, body);
            return;
        }
        // Cut points anywhere, even inside a UTF-8 character: only the whole
        // message has to be valid UTF-8.
        let mut cuts: Vec<usize> = (0..fragments - 1)
            .map(|_| self.rng.usize(1, body.len() - 1))
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut prev = 0;
        for (i, &c) in cuts.iter().chain(std::iter::once(&body.len())).enumerate() {
            let first = i == 0;
            let last = c == body.len();
            let opcode = if first { op } else { OP_CONT };
            self.frame(
                out,
                from_client,
                last,
                rsv1 && first,
                opcode,
                &body[prev..c],
            );
            prev = c;
        }
    }

    fn ping_pong(&mut self, from_client: bool) {
        let mut payload = vec![0u8; self.rng.usize(0, 8)];
        self.rng.fill(&mut payload);
        let mut a = Vec::new();
        self.frame(&mut a, from_client, true, false, OP_PING, &payload);
        self.push(from_client, a, false);
        let mut b = Vec::new();
        self.frame(&mut b, !from_client, true, false, OP_PONG, &payload);
        self.push(!from_client, b, false);
    }

    fn close(&mut self, client_first: bool) {
        let mut payload = 1000u16.to_be_bytes().to_vec();
        if self.rng.chance(1, 2) {
            payload.extend_from_slice(b"bye");
        }
        let mut a = Vec::new();
        self.frame(&mut a, client_first, true, false, OP_CLOSE, &payload);
        self.push(client_first, a, false);
        let mut b = Vec::new();
        self.frame(
            &mut b,
            !client_first,
            true,
            false,
            OP_CLOSE,
            &1000u16.to_be_bytes(),
        );
        self.push(!client_first, b, false);
    }

    /// Plain WebSocket traffic: free text, JSON and binary messages.
    fn plain(&mut self, count: usize) {
        let mut seq = 0u64;
        let mut i = 0;
        while i < count {
            if self.rng.chance(1, 20) {
                let from_client = self.rng.chance(1, 2);
                self.ping_pong(from_client);
                continue;
            }
            let from_client = self.rng.chance(1, 2);
            // A burst: one to four messages from the same side, packed together.
            let burst = if self.rng.chance(1, 4) {
                self.rng.usize(2, 4)
            } else {
                1
            };
            let mut out = Vec::new();
            for _ in 0..burst.min(count - i) {
                i += 1;
                seq += 1;
                let size = msg_size(self.rng, self.small);
                let mut payload = Vec::with_capacity(size + 64);
                match self.rng.below(10) {
                    0..=3 => {
                        words(self.rng, &mut payload, size);
                        self.message(&mut out, from_client, OP_TEXT, &payload);
                    }
                    4..=7 => {
                        payload.extend_from_slice(b"{\"type\":\"");
                        payload.extend_from_slice(self.rng.pick(EVENTS).as_bytes());
                        payload
                            .extend_from_slice(format!("\",\"seq\":{seq},\"room\":\"").as_bytes());
                        payload.extend_from_slice(self.rng.pick(ROOMS).as_bytes());
                        payload.extend_from_slice(b"\",\"body\":\"");
                        words(self.rng, &mut payload, size);
                        payload.extend_from_slice(b"\"}");
                        self.message(&mut out, from_client, OP_TEXT, &payload);
                    }
                    _ => {
                        payload.resize(size, 0);
                        self.rng.fill(&mut payload);
                        self.message(&mut out, from_client, OP_BINARY, &payload);
                    }
                }
            }
            let with_next = self.rng.chance(1, 3);
            self.push(from_client, out, with_next);
        }
    }

    /// Socket.IO (Engine.IO 4) over WebSocket.
    fn socketio(&mut self, count: usize) {
        let eio_sid = sid(self.rng);
        let open = format!(
            "0{{\"sid\":\"{eio_sid}\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}}"
        );
        let mut out = Vec::new();
        self.message(&mut out, false, OP_TEXT, open.as_bytes());
        self.push(false, out, false);
        let mut out = Vec::new();
        self.message(&mut out, true, OP_TEXT, b"40");
        self.push(true, out, false);
        let sock = sid(self.rng);
        let mut out = Vec::new();
        self.message(
            &mut out,
            false,
            OP_TEXT,
            format!("40{{\"sid\":\"{sock}\"}}").as_bytes(),
        );
        self.push(false, out, false);

        let mut ack_id = [0u64; 2];
        let mut seq = 0u64;
        let mut i = 0;
        while i < count {
            i += 1;
            seq += 1;
            let from_client = self.rng.chance(1, 2);
            let r = self.rng.below(100);
            if r < 6 {
                // Engine.IO heartbeat: the server pings, the client pongs.
                let mut a = Vec::new();
                self.message(&mut a, false, OP_TEXT, b"2");
                self.push(false, a, false);
                let mut b = Vec::new();
                self.message(&mut b, true, OP_TEXT, b"3");
                self.push(true, b, false);
                continue;
            }
            let event = *self.rng.pick(EVENTS);
            let room = *self.rng.pick(ROOMS);
            let size = msg_size(self.rng, self.small).min(30_000);
            let mut data = Vec::with_capacity(size + 64);
            data.extend_from_slice(
                format!("\",{{\"seq\":{seq},\"room\":\"{room}\",\"text\":\"").as_bytes(),
            );
            words(self.rng, &mut data, size);
            data.extend_from_slice(b"\"}]");
            if r < 10 {
                // A binary event with one attachment, sent as a binary frame.
                let mut head = Vec::new();
                head.extend_from_slice(b"451-[\"upload\",{\"name\":\"file.bin\",\"data\":{\"_placeholder\":true,\"num\":0}}]");
                let mut att = vec![0u8; self.rng.usize(16, 4000)];
                self.rng.fill(&mut att);
                let mut out = Vec::new();
                self.message(&mut out, from_client, OP_TEXT, &head);
                self.message(&mut out, from_client, OP_BINARY, &att);
                self.push(from_client, out, false);
                continue;
            }
            let mut pkt = Vec::with_capacity(data.len() + 32);
            pkt.extend_from_slice(b"42");
            let with_ack = r < 35;
            let id = ack_id[from_client as usize];
            if with_ack {
                ack_id[from_client as usize] += 1;
                pkt.extend_from_slice(id.to_string().as_bytes());
            }
            pkt.extend_from_slice(b"[\"");
            pkt.extend_from_slice(event.as_bytes());
            pkt.extend_from_slice(&data);
            let mut out = Vec::new();
            self.message(&mut out, from_client, OP_TEXT, &pkt);
            let with_next = !with_ack && self.rng.chance(1, 3);
            self.push(from_client, out, with_next);
            if with_ack {
                let reply = format!("43{id}[{{\"ok\":true,\"seq\":{seq}}}]");
                let mut out = Vec::new();
                self.message(&mut out, !from_client, OP_TEXT, reply.as_bytes());
                self.push(!from_client, out, false);
            }
        }
        if self.rng.chance(7, 10) {
            let mut out = Vec::new();
            self.message(&mut out, true, OP_TEXT, b"41");
            self.push(true, out, false);
        }
    }
}

/// permessage-deflate: raw deflate, sync flush, without the 00 00 ff ff tail.
fn deflate(c: &mut Compress, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 8 + 64);
    let start = c.total_in();
    loop {
        let done = (c.total_in() - start) as usize;
        c.compress_vec(&input[done..], &mut out, FlushCompress::Sync)
            .expect("deflate");
        if (c.total_in() - start) as usize == input.len() && out.len() < out.capacity() {
            break;
        }
        out.reserve(out.capacity().max(256));
    }
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]), "sync flush tail");
    out.truncate(out.len() - 4);
    out
}

// ---------------------------------------------------------------------------
// TCP connections.

const MSS: u16 = 1460;
const MAX_SEG: usize = 1448; // MSS minus the 12 bytes of the timestamps option
const MAX_IN_FLIGHT: u32 = 256 * 1024;
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

struct Side {
    mac: [u8; 6],
    ip: [u8; 4],
    port: u16,
    /// Next sequence number this side sends.
    nxt: u32,
    /// Last acknowledgement number this side sent.
    acked: u32,
    /// Raw window field after the handshake, in the SYN, and the window-scale
    /// shift. The window never changes, so no packet is a window update.
    win: u16,
    syn_win: u16,
    wscale: u8,
    ts_off: u32,
    last_tsval: u32,
    ip_id: u16,
    out: Vec<u8>,
    pos: usize,
}

impl Side {
    fn pending(&self) -> usize {
        self.out.len() - self.pos
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Syn,
    SynAck,
    HandshakeAck,
    Request,
    Response,
    Data,
    /// Teardown: one side (`fin_first_client`) sends FIN/ACK; in a four-way
    /// close the other side acks it before sending its own FIN/ACK; then the
    /// last ACK.
    Fin1,
    Fin2Ack,
    Fin2,
    LastAck,
    Done,
}

struct Conn {
    rng: Rng,
    sides: [Side; 2], // 0 = client, 1 = server
    phase: Phase,
    fin_first_client: bool,
    fin_four_way: bool,
    request: Vec<u8>,
    response: Vec<u8>,
    steps: VecDeque<Step>,
    /// Bytes still to be written to the file, estimated (for the size target).
    remaining_estimate: u64,
    /// With --tls: the session's key log lines.
    keylog: String,
}

/// Per-packet bytes besides the TCP payload: record header, Ethernet, IPv4, TCP
/// with the timestamps option.
const PKT_OVERHEAD: u64 = 16 + 14 + 20 + 32;

struct Stats {
    connections: u64,
    deflate_connections: u64,
    socketio_connections: u64,
    messages: u64,
    frames: u64,
}

impl Conn {
    fn new(index: u64, seed: u64, shape: Shape, stats: &mut Stats) -> Conn {
        let tls = shape.tls;
        let mut rng = Rng::new(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
        // Unique (client address, client port) for every connection: no port reuse.
        let block = index / 28000;
        let port = 32768 + ((index % 28000) * 7919 % 28000) as u16;
        let cip = [
            10,
            1 + (block / (254 * 256)) as u8,
            ((block / 254) % 256) as u8,
            (block % 254 + 1) as u8,
        ];
        let server_n = (index % 4) as u8 + 1;
        let mk = |rng: &mut Rng,
                  mac: [u8; 6],
                  ip: [u8; 4],
                  port: u16,
                  win: u16,
                  syn_win: u16,
                  wscale: u8| {
            let isn = rng.next() as u32;
            Side {
                mac,
                ip,
                port,
                nxt: isn,
                acked: 0,
                win,
                syn_win,
                wscale,
                ts_off: rng.next() as u32,
                last_tsval: 0,
                ip_id: rng.next() as u16,
                out: Vec::new(),
                pos: 0,
            }
        };
        let client = mk(
            &mut rng,
            [0x02, 0, 0x0a, cip[1], cip[2], cip[3]],
            cip,
            port,
            16384,
            64240,
            7,
        );
        let server = mk(
            &mut rng,
            [0x02, 0, 0x0a, 0, 0, server_n],
            [10, 0, 0, server_n],
            if tls { 443 } else { 80 },
            4096,
            65160,
            9,
        );

        let pmd = rng.chance(1, 4) && shape.deflate;
        let sio = rng.chance(1, 4);
        let mut key = [0u8; 16];
        rng.fill(&mut key);
        let key = base64::engine::general_purpose::STANDARD.encode(key);
        let mut h = Sha1::new();
        h.update(key.as_bytes());
        h.update(GUID.as_bytes());
        let accept = base64::engine::general_purpose::STANDARD.encode(h.finalize());

        let uri = if sio {
            "/socket.io/?EIO=4&transport=websocket".to_string()
        } else {
            let p = *rng.pick(PATHS);
            if rng.chance(1, 2) {
                format!("{p}?room={}", rng.pick(ROOMS))
            } else {
                p.to_string()
            }
        };
        let mut request = format!(
            "GET {uri} HTTP/1.1\r\nHost: 10.0.0.{server_n}\r\nUser-Agent: gen_bench/1.0\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n\
             Sec-WebSocket-Version: 13\r\n"
        );
        // Some clients offer the extension, only `pmd` connections get it.
        if pmd || rng.chance(1, 3) {
            request.push_str(
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
            );
        }
        request.push_str("\r\n");
        let mut response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n"
        );
        if pmd {
            response.push_str("Sec-WebSocket-Extensions: permessage-deflate\r\n");
        }
        response.push_str("\r\n");

        let count = match rng.below(100) {
            0..=59 => rng.usize(2, 20),
            60..=89 => rng.usize(20, 80),
            _ => rng.usize(80, 300),
        };
        let mut script_rng = Rng::new(rng.next());
        let mut script = Script {
            rng: &mut script_rng,
            deflate: pmd.then(|| {
                [
                    Compress::new(Compression::new(6), false),
                    Compress::new(Compression::new(6), false),
                ]
            }),
            small: shape.small_messages,
            steps: VecDeque::new(),
            messages: 0,
            frames: 0,
        };
        if sio {
            script.socketio(count);
        } else {
            script.plain(count);
        }
        let client_closes = script.rng.chance(1, 2);
        script.close(client_closes);
        let Script {
            steps,
            messages,
            frames,
            ..
        } = script;

        stats.connections += 1;
        stats.deflate_connections += pmd as u64;
        stats.socketio_connections += sio as u64;
        stats.messages += messages;
        stats.frames += frames;

        let (mut request, mut response, mut steps) =
            (request.into_bytes(), response.into_bytes(), steps);
        let mut keylog = String::new();
        if tls {
            // The hellos take the place of the upgrade; the upgrade and every
            // step after it travel sealed.
            let mut t = Tls::new(&mut rng, &format!("ws{server_n}.bench.test"));
            let mut first = std::mem::take(&mut t.client_finished);
            t.app[0].records(23, &request, &mut first);
            let mut answer = Vec::new();
            t.app[1].records(23, &response, &mut answer);
            for s in &mut steps {
                let mut sealed = Vec::new();
                t.app[!s.from_client as usize].records(23, &s.bytes, &mut sealed);
                s.bytes = sealed;
            }
            steps.push_front(Step {
                from_client: false,
                bytes: answer,
                with_next: false,
            });
            steps.push_front(Step {
                from_client: true,
                bytes: first,
                with_next: false,
            });
            request = std::mem::take(&mut t.client_hello);
            response = std::mem::take(&mut t.server_flight);
            keylog = t.keylog;
        }
        let app: u64 = steps.iter().map(|s| s.bytes.len() as u64).sum::<u64>()
            + request.len() as u64
            + response.len() as u64;
        let pkts = app / 1200 + steps.len() as u64 * 3 / 2 + 10;
        Conn {
            fin_first_client: rng.chance(1, 5),
            fin_four_way: rng.chance(1, 3),
            rng,
            sides: [client, server],
            phase: Phase::Syn,
            request,
            response,
            steps,
            keylog,
            remaining_estimate: app + pkts * PKT_OVERHEAD,
        }
    }

    /// Writes this connection's next packet. Returns false once it is finished.
    fn step(&mut self, w: &mut PcapOut, now_us: u64) -> bool {
        const SYN: u8 = 1;
        const ACK: u8 = 2;
        const FIN: u8 = 4;
        const PSH: u8 = 8;
        let (from_client, flags, len): (bool, u8, usize) = match self.phase {
            Phase::Syn => {
                self.phase = Phase::SynAck;
                (true, SYN, 0)
            }
            Phase::SynAck => {
                self.phase = Phase::HandshakeAck;
                (false, SYN | ACK, 0)
            }
            Phase::HandshakeAck => {
                self.phase = Phase::Request;
                (true, ACK, 0)
            }
            Phase::Request => {
                let req = std::mem::take(&mut self.request);
                self.sides[0].out = req;
                self.sides[0].pos = 0;
                self.phase = Phase::Response;
                let n = self.sides[0].pending();
                (true, ACK | PSH, n)
            }
            Phase::Response => {
                if self.rng.chance(1, 4) && self.sides[1].acked != self.sides[0].nxt {
                    // The server acks the request before answering.
                    (false, ACK, 0)
                } else {
                    let resp = std::mem::take(&mut self.response);
                    self.sides[1].out = resp;
                    self.sides[1].pos = 0;
                    self.phase = Phase::Data;
                    let n = self.sides[1].pending();
                    (false, ACK | PSH, n)
                }
            }
            Phase::Data => match self.data_action() {
                Some(x) => x,
                None => {
                    self.phase = Phase::Fin1;
                    return self.step(w, now_us);
                }
            },
            Phase::Fin1 => {
                self.phase = if self.fin_four_way {
                    Phase::Fin2Ack
                } else {
                    Phase::Fin2
                };
                (self.fin_first_client, FIN | ACK, 0)
            }
            Phase::Fin2Ack => {
                self.phase = Phase::Fin2;
                (!self.fin_first_client, ACK, 0)
            }
            Phase::Fin2 => {
                self.phase = Phase::LastAck;
                (!self.fin_first_client, FIN | ACK, 0)
            }
            Phase::LastAck => {
                self.phase = Phase::Done;
                (self.fin_first_client, ACK, 0)
            }
            Phase::Done => return false,
        };
        self.emit(w, now_us, from_client, flags, len);
        self.phase != Phase::Done
    }

    /// Picks the next packet of the data phase: (from_client, flags, payload length).
    fn data_action(&mut self) -> Option<(bool, u8, usize)> {
        const ACK: u8 = 2;
        const PSH: u8 = 8;
        if self.sides[0].pending() == 0 && self.sides[1].pending() == 0 {
            if self.steps.is_empty() {
                return None;
            }
            for s in &mut self.sides {
                s.out.clear();
                s.pos = 0;
            }
            while let Some(step) = self.steps.pop_front() {
                let side = &mut self.sides[!step.from_client as usize];
                side.out.extend_from_slice(&step.bytes);
                if !step.with_next {
                    break;
                }
            }
        }
        let pending = [self.sides[0].pending(), self.sides[1].pending()];
        // Who owes an ACK: side d has unacknowledged data from the other side.
        let owes = |d: usize| self.sides[d].acked != self.sides[1 - d].nxt;
        let d = match (pending[0] > 0, pending[1] > 0) {
            (true, true) => self.rng.below(2) as usize,
            (true, false) => 0,
            (false, true) => 1,
            (false, false) => unreachable!(),
        };
        let peer = 1 - d;
        let in_flight = self.sides[d].nxt.wrapping_sub(self.sides[peer].acked);
        if owes(peer) && (in_flight >= MAX_IN_FLIGHT || self.rng.chance(1, 6)) {
            return Some((peer == 0, ACK, 0));
        }
        let avail = pending[d];
        let len = if avail <= MAX_SEG {
            if avail > 1 && self.rng.chance(1, 10) {
                self.rng.usize(1, avail - 1)
            } else {
                avail
            }
        } else if self.rng.chance(1, 6) {
            self.rng.usize(1, MAX_SEG)
        } else {
            MAX_SEG
        };
        let flags = if len == avail { ACK | PSH } else { ACK };
        Some((d == 0, flags, len))
    }

    fn emit(&mut self, w: &mut PcapOut, now_us: u64, from_client: bool, flags: u8, len: usize) {
        let syn = flags & 1 != 0;
        let ackf = flags & 2 != 0;
        let fin = flags & 4 != 0;
        let psh = flags & 8 != 0;
        let (d, p) = if from_client { (0, 1) } else { (1, 0) };
        let peer = &self.sides[p];
        let (peer_nxt, peer_tsval) = (peer.nxt, peer.last_tsval);
        let (peer_mac, peer_ip, peer_port) = (peer.mac, peer.ip, peer.port);
        let s = &mut self.sides[d];
        let tsval = ((now_us / 1000) as u32).wrapping_add(s.ts_off);
        s.last_tsval = tsval;
        let tsecr = if syn && !ackf { 0 } else { peer_tsval };

        let mut opts = [0u8; 20];
        let opts_len = if syn {
            // Linux order: MSS, SACK permitted, timestamps, NOP, window scale.
            opts[0..4].copy_from_slice(&[2, 4, (MSS >> 8) as u8, MSS as u8]);
            opts[4..6].copy_from_slice(&[4, 2]);
            opts[6] = 8;
            opts[7] = 10;
            opts[8..12].copy_from_slice(&tsval.to_be_bytes());
            opts[12..16].copy_from_slice(&tsecr.to_be_bytes());
            opts[16] = 1;
            opts[17..20].copy_from_slice(&[3, 3, s.wscale]);
            20
        } else {
            opts[0] = 1;
            opts[1] = 1;
            opts[2] = 8;
            opts[3] = 10;
            opts[4..8].copy_from_slice(&tsval.to_be_bytes());
            opts[8..12].copy_from_slice(&tsecr.to_be_bytes());
            12
        };

        let mut tcp = TcpHeader::new(
            s.port,
            peer_port,
            s.nxt,
            if syn { s.syn_win } else { s.win },
        );
        tcp.syn = syn;
        tcp.fin = fin;
        tcp.psh = psh;
        if ackf {
            tcp.ack = true;
            tcp.acknowledgment_number = peer_nxt;
            s.acked = peer_nxt;
        }
        tcp.set_options_raw(&opts[..opts_len]).expect("tcp options");
        let ip = Ipv4Header {
            source: s.ip,
            destination: peer_ip,
            time_to_live: 64,
            dont_fragment: true,
            identification: s.ip_id,
            ..Default::default()
        };
        s.ip_id = s.ip_id.wrapping_add(1);
        let payload_range = s.pos..s.pos + len;
        s.pos += len;
        s.nxt = s
            .nxt
            .wrapping_add(len as u32)
            .wrapping_add(syn as u32 + fin as u32);
        let builder = PacketBuilder::ethernet2(s.mac, peer_mac)
            .ip(IpHeaders::Ipv4(ip, Default::default()))
            .tcp_header(tcp);
        let payload = &self.sides[d].out[payload_range];
        w.write(now_us, builder, payload);
        self.remaining_estimate = self
            .remaining_estimate
            .saturating_sub(len as u64 + PKT_OVERHEAD);
    }
}

// ---------------------------------------------------------------------------
// pcap output.

struct PcapOut {
    out: BufWriter<File>,
    buf: Vec<u8>,
    packets: u64,
    bytes: u64,
}

impl PcapOut {
    fn create(path: &PathBuf) -> std::io::Result<PcapOut> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        // Little-endian, microsecond timestamps, version 2.4, snaplen 262144, Ethernet.
        out.write_all(&0xA1B2_C3D4u32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?;
        out.write_all(&0u32.to_le_bytes())?;
        out.write_all(&262_144u32.to_le_bytes())?;
        out.write_all(&1u32.to_le_bytes())?;
        Ok(PcapOut {
            out,
            buf: Vec::with_capacity(2048),
            packets: 0,
            bytes: 24,
        })
    }

    fn write(
        &mut self,
        ts_us: u64,
        builder: etherparse::PacketBuilderStep<TcpHeader>,
        payload: &[u8],
    ) {
        self.buf.clear();
        builder
            .write_to_vec(&mut self.buf, payload)
            .expect("build packet");
        let n = self.buf.len() as u32;
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
        rec[4..8].copy_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&n.to_le_bytes());
        rec[12..16].copy_from_slice(&n.to_le_bytes());
        self.out.write_all(&rec).expect("write pcap");
        self.out.write_all(&self.buf).expect("write pcap");
        self.packets += 1;
        self.bytes += 16 + n as u64;
    }
}

// ---------------------------------------------------------------------------

fn main() {
    let args = Args::parse();
    let started = Instant::now();
    let mut w = match PcapOut::create(&args.out) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("gen_bench: cannot create {}: {e}", args.out.display());
            std::process::exit(1);
        }
    };
    let mut sched = Rng::new(args.seed.wrapping_mul(0x9E37_79B9).wrapping_add(7));
    let mut stats = Stats {
        connections: 0,
        deflate_connections: 0,
        socketio_connections: 0,
        messages: 0,
        frames: 0,
    };
    let concurrent = args.concurrent.max(1);
    let shape = Shape {
        tls: args.tls.is_some(),
        deflate: !args.no_deflate,
        small_messages: args.small_messages,
    };
    let mut keys = args.tls.as_ref().map(|p| match File::create(p) {
        Ok(f) => BufWriter::new(f),
        Err(e) => {
            eprintln!("gen_bench: cannot create {}: {e}", p.display());
            std::process::exit(1);
        }
    });
    let mut open: Vec<Conn> = Vec::with_capacity(concurrent);
    // 2026-01-01T00:00:00Z
    let mut now_us: u64 = 1_767_225_600_000_000;
    let mut next_index = 0u64;
    let mut opening = true;
    let (mut tick, mut committed) = (0u64, 0u64);
    loop {
        if opening {
            // What the file will hold once the open connections are finished.
            if tick % 64 == 0 {
                committed = w.bytes + open.iter().map(|c| c.remaining_estimate).sum::<u64>();
            }
            tick += 1;
            if committed >= args.size {
                opening = false;
            } else if open.len() < concurrent && (open.len() < concurrent / 2 || sched.chance(1, 4))
            {
                let conn = Conn::new(next_index, args.seed, shape, &mut stats);
                if let Some(k) = keys.as_mut() {
                    k.write_all(conn.keylog.as_bytes()).expect("write key log");
                }
                committed += conn.remaining_estimate;
                open.push(conn);
                next_index += 1;
            }
        }
        if open.is_empty() {
            if opening {
                continue;
            }
            break;
        }
        let i = sched.below(open.len() as u64) as usize;
        now_us += sched.range(1, 60);
        if !open[i].step(&mut w, now_us) {
            open.swap_remove(i);
        }
    }
    w.out.flush().expect("write pcap");
    if let Some(mut k) = keys {
        k.flush().expect("write key log");
    }
    drop(w.out);
    let secs = started.elapsed().as_secs_f64();
    println!("SYNTHETIC capture written: {}", args.out.display());
    println!("  packets:              {}", w.packets);
    println!(
        "  connections:          {} ({} permessage-deflate, {} Socket.IO)",
        stats.connections, stats.deflate_connections, stats.socketio_connections
    );
    println!("  WebSocket messages:   {}", stats.messages);
    println!("  WebSocket frames:     {}", stats.frames);
    println!(
        "  bytes:                {} ({:.1} MiB)",
        w.bytes,
        w.bytes as f64 / (1u64 << 20) as f64
    );
    println!(
        "  generated in {secs:.1} s ({:.0} MiB/s)",
        w.bytes as f64 / (1u64 << 20) as f64 / secs
    );
}
