//! Synthetic captures built in code (etherparse builds the packets, pcap-file
//! writes them), so every number in them is known; and a way to run osiscope
//! under an address-space cap and a time limit.

use std::io::BufWriter;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use etherparse::PacketBuilder;
use pcap_file::pcap::{PcapPacket, PcapWriter};

pub struct Synth {
    w: PcapWriter<BufWriter<std::fs::File>>,
    t: u64,
}

impl Synth {
    pub fn new(path: &PathBuf) -> Self {
        let f = std::fs::File::create(path).expect("create");
        Synth {
            w: PcapWriter::new(BufWriter::new(f)).expect("writer"),
            t: 1_700_000_000_000_000,
        }
    }

    /// Moves the clock on: the next segment is `micros` later.
    #[allow(dead_code)]
    pub fn wait(&mut self, micros: u64) {
        self.t += micros;
    }

    /// One IPv4 TCP segment; `flags` as "S", "SA", "A", "PA", "FA", "R".
    #[allow(clippy::too_many_arguments)]
    pub fn tcp(
        &mut self,
        src: [u8; 4],
        sp: u16,
        dst: [u8; 4],
        dp: u16,
        seq: u32,
        ack: Option<u32>,
        flags: &str,
        payload: &[u8],
    ) {
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src, dst, 64)
            .tcp(sp, dp, seq, 65535);
        if flags.contains('S') {
            b = b.syn();
        }
        if flags.contains('F') {
            b = b.fin();
        }
        if flags.contains('R') {
            b = b.rst();
        }
        if flags.contains('P') {
            b = b.psh();
        }
        if let Some(a) = ack {
            b = b.ack(a);
        }
        let mut v = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut v, payload).expect("build");
        self.t += 10;
        let p = PcapPacket::new(Duration::from_micros(self.t), v.len() as u32, v).expect("packet");
        self.w.write_packet(&p).expect("write");
    }
}

pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("osiscope-limits-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("tmp dir");
    d.join(name)
}

/// Runs osiscope under an address-space cap; returns (exit code, stdout).
pub fn capped(limit_kib: u64, args: &str) -> (i32, String) {
    let (code, out, _) = capped_timed(limit_kib, 600, args);
    (code, out)
}

/// Runs osiscope under an address-space cap and a time limit (exit code 124
/// when it ran out of time); returns (exit code, stdout, stderr).
pub fn capped_timed(limit_kib: u64, secs: u32, args: &str) -> (i32, String, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {limit_kib}; exec timeout {secs} '{}' {args}",
            env!("CARGO_BIN_EXE_osiscope")
        ))
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One TCP connection between 10.0.0.2:40000 (client) and 10.0.0.1:80, with
/// its handshake written on creation; payloads are cut into 1,400-byte segments.
pub struct Session {
    pub w: Synth,
    port: u16,
    cseq: u32,
    sseq: u32,
}

const C: [u8; 4] = [10, 0, 0, 2];
const S: [u8; 4] = [10, 0, 0, 1];

impl Session {
    pub fn new(path: &PathBuf) -> Self {
        Self::open(Synth::new(path), 40000)
    }

    /// The handshake of a connection from client port `port`, written by `w`.
    fn open(mut w: Synth, port: u16) -> Self {
        w.tcp(C, port, S, 80, 0, None, "S", &[]);
        w.tcp(S, 80, C, port, 5000, Some(1), "SA", &[]);
        w.tcp(C, port, S, 80, 1, Some(5001), "A", &[]);
        Session {
            w,
            port,
            cseq: 1,
            sseq: 5001,
        }
    }

    pub fn client(&mut self, bytes: &[u8]) {
        for seg in bytes.chunks(1400) {
            self.w
                .tcp(C, self.port, S, 80, self.cseq, Some(self.sseq), "PA", seg);
            self.cseq = self.cseq.wrapping_add(seg.len() as u32);
        }
    }

    pub fn server(&mut self, bytes: &[u8]) {
        for seg in bytes.chunks(1400) {
            self.w
                .tcp(S, 80, C, self.port, self.sseq, Some(self.cseq), "PA", seg);
            self.sseq = self.sseq.wrapping_add(seg.len() as u32);
        }
    }

    /// A client segment at `offset` bytes past the next expected one.
    pub fn client_at(&mut self, offset: u32, bytes: &[u8]) {
        let seq = self.cseq.wrapping_add(offset);
        self.w
            .tcp(C, self.port, S, 80, seq, Some(self.sseq), "PA", bytes);
    }

    /// Both FINs and the last ACK.
    pub fn close(self) {
        self.closed();
    }

    /// Both FINs and the last ACK; the writer goes on.
    fn closed(mut self) -> Synth {
        let (p, c, s) = (self.port, self.cseq, self.sseq);
        self.w.tcp(C, p, S, 80, c, Some(s), "FA", &[]);
        self.w.tcp(S, 80, C, p, s, Some(c + 1), "FA", &[]);
        self.w.tcp(C, p, S, 80, c + 1, Some(s + 1), "A", &[]);
        self.w
    }

    /// This connection closed, the same client opens another from `port`.
    pub fn reconnect(self, port: u16) -> Session {
        Self::open(self.closed(), port)
    }
}

/// The WebSocket handshake on a session (key and accept of RFC 6455 §1.3).
pub fn websocket_upgrade(s: &mut Session, extensions: Option<&str>, uri: &str) {
    let ext = extensions.map_or(String::new(), |e| {
        format!("Sec-WebSocket-Extensions: {e}\r\n")
    });
    s.client(
        format!(
            "GET {uri} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n"
        )
        .as_bytes(),
    );
    s.server(
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n{ext}\r\n"
        )
        .as_bytes(),
    );
}

/// A WebSocket frame header (FIN set unless `more`), without payload.
pub fn ws_header(opcode: u8, more: bool, rsv1: bool, len: u64, mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut v = vec![(u8::from(!more) << 7) | (u8::from(rsv1) << 6) | opcode];
    let m = if mask.is_some() { 0x80 } else { 0 };
    if len < 126 {
        v.push(m | len as u8);
    } else if len < 65536 {
        v.push(m | 126);
        v.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        v.push(m | 127);
        v.extend_from_slice(&len.to_be_bytes());
    }
    if let Some(k) = mask {
        v.extend_from_slice(&k);
    }
    v
}

/// A whole unmasked server frame.
pub fn ws_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = ws_header(opcode, false, false, payload.len() as u64, None);
    v.extend_from_slice(payload);
    v
}
