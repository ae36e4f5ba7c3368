//! Wireshark-style TCP analysis flags ("expert info"), computed per segment in
//! capture order from what each direction has shown so far, so that the flags
//! match tshark's `tcp.analysis.*` fields frame for frame.
//!
//! Sequence numbers here are relative (as Wireshark's, where 0 means "not
//! seen yet") and compared modulo 2^32. Windows are the raw header values;
//! the window scale matters only for "window full".

use crate::capture::Timestamp;

/// A set of analysis flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Analysis(pub u16);

impl Analysis {
    pub const RETRANSMISSION: u16 = 1 << 0;
    pub const FAST_RETRANSMISSION: u16 = 1 << 1;
    pub const SPURIOUS_RETRANSMISSION: u16 = 1 << 2;
    pub const OUT_OF_ORDER: u16 = 1 << 3;
    pub const DUPLICATE_ACK: u16 = 1 << 4;
    pub const LOST_SEGMENT: u16 = 1 << 5;
    pub const ACK_LOST_SEGMENT: u16 = 1 << 6;
    pub const ZERO_WINDOW: u16 = 1 << 7;
    pub const ZERO_WINDOW_PROBE: u16 = 1 << 8;
    pub const ZERO_WINDOW_PROBE_ACK: u16 = 1 << 9;
    pub const WINDOW_FULL: u16 = 1 << 10;
    pub const KEEP_ALIVE: u16 = 1 << 11;
    pub const KEEP_ALIVE_ACK: u16 = 1 << 12;
    pub const WINDOW_UPDATE: u16 = 1 << 13;
    pub const REUSED_PORTS: u16 = 1 << 14;

    /// (flag, kind used in JSON and tests, tshark's Info-column label).
    pub const ALL: [(u16, &'static str, &'static str); 15] = [
        (Self::RETRANSMISSION, "retransmission", "TCP Retransmission"),
        (
            Self::FAST_RETRANSMISSION,
            "fast_retransmission",
            "TCP Fast Retransmission",
        ),
        (
            Self::SPURIOUS_RETRANSMISSION,
            "spurious_retransmission",
            "TCP Spurious Retransmission",
        ),
        (Self::OUT_OF_ORDER, "out_of_order", "TCP Out-Of-Order"),
        (Self::DUPLICATE_ACK, "duplicate_ack", "TCP Dup ACK"),
        (
            Self::LOST_SEGMENT,
            "lost_segment",
            "TCP Previous segment not captured",
        ),
        (
            Self::ACK_LOST_SEGMENT,
            "ack_lost_segment",
            "TCP ACKed unseen segment",
        ),
        (Self::ZERO_WINDOW, "zero_window", "TCP ZeroWindow"),
        (
            Self::ZERO_WINDOW_PROBE,
            "zero_window_probe",
            "TCP ZeroWindowProbe",
        ),
        (
            Self::ZERO_WINDOW_PROBE_ACK,
            "zero_window_probe_ack",
            "TCP ZeroWindowProbeAck",
        ),
        (Self::WINDOW_FULL, "window_full", "TCP Window Full"),
        (Self::KEEP_ALIVE, "keep_alive", "TCP Keep-Alive"),
        (Self::KEEP_ALIVE_ACK, "keep_alive_ack", "TCP Keep-Alive ACK"),
        (Self::WINDOW_UPDATE, "window_update", "TCP Window Update"),
        (
            Self::REUSED_PORTS,
            "reused_ports",
            "TCP Port numbers reused",
        ),
    ];

    pub fn has(self, f: u16) -> bool {
        self.0 & f != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn set(&mut self, f: u16) {
        self.0 |= f;
    }
    /// (kind, label) of every flag set, in a fixed order.
    pub fn iter(self) -> impl Iterator<Item = (&'static str, &'static str)> {
        Self::ALL
            .into_iter()
            .filter(move |(f, _, _)| self.0 & f != 0)
            .map(|(_, k, l)| (k, l))
    }
}

/// Window scaling as known for one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Scale {
    /// No SYN seen: the scale is unknown.
    #[default]
    Unknown,
    /// The handshake settled on no scaling.
    None,
    Shift(u8),
}

/// What one direction has shown so far.
#[derive(Clone, Debug, Default)]
pub struct DirAnalysis {
    /// Relative sequence number after the highest segment seen (0 = none yet).
    pub next_seq: u32,
    pub next_seq_time: Timestamp,
    /// Highest sequence number contiguous from the start (for "ACKed unseen").
    pub max_seq_to_be_acked: u32,
    /// Last acknowledgement number sent in this direction (relative).
    pub last_ack: u32,
    pub last_ack_time: Timestamp,
    pub window: u16,
    pub scale: Scale,
    /// Duplicate ACKs in a row.
    pub dup_acks: u32,
    /// Flags of the last segment sent this way.
    pub last_flags: Analysis,
}

const SYN: u16 = 0x002;
const FIN: u16 = 0x001;
const RST: u16 = 0x004;
const ACK: u16 = 0x010;

fn gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}
fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
fn le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

/// The segment as the analysis sees it (relative numbers).
pub struct Seg {
    pub seq: u32,
    /// Relative acknowledgement (raw value when the ACK flag is off, as Wireshark).
    pub ack: u32,
    pub len: u32,
    pub flags: u16,
    pub window: u16,
    pub ts: Timestamp,
}

/// Analyses one segment sent by `fwd` (towards `rev`) and updates both sides'
/// state. `first_rtt` is the connection's initial RTT in ns, if known: the
/// out-of-order threshold.
pub fn analyze(
    fwd: &mut DirAnalysis,
    rev: &mut DirAnalysis,
    s: &Seg,
    first_rtt_ns: Option<i128>,
) -> Analysis {
    let mut a = Analysis::default();
    let sfr = s.flags & (SYN | FIN | RST) != 0;
    'fwd: {
        if s.len == 1 && s.seq == fwd.next_seq && rev.window == 0 {
            a.set(Analysis::ZERO_WINDOW_PROBE);
            break 'fwd;
        }
        if s.window == 0 && !sfr {
            a.set(Analysis::ZERO_WINDOW);
        }
        if fwd.next_seq != 0 && gt(s.seq, fwd.next_seq) && s.flags & RST == 0 {
            a.set(Analysis::LOST_SEGMENT);
        }
        if s.len <= 1 && s.seq == fwd.next_seq.wrapping_sub(1) && !sfr {
            a.set(Analysis::KEEP_ALIVE);
        }
        if s.len == 0
            && s.window != 0
            && s.window != fwd.window
            && s.seq == fwd.next_seq
            && s.ack == fwd.last_ack
            && !sfr
        {
            a.set(Analysis::WINDOW_UPDATE);
        }
        if s.len > 0 && rev.scale != Scale::Unknown && !sfr {
            let shift = match rev.scale {
                Scale::Shift(n) => u32::from(n.min(14)),
                _ => 0,
            };
            let edge = rev.last_ack.wrapping_add(u32::from(rev.window) << shift);
            if s.seq.wrapping_add(s.len) == edge {
                a.set(Analysis::WINDOW_FULL);
            }
        }
        if s.len == 0
            && s.window != 0
            && s.window == fwd.window
            && s.seq == fwd.next_seq
            && s.ack == fwd.last_ack
            && rev.last_flags.has(Analysis::KEEP_ALIVE)
            && !sfr
        {
            a.set(Analysis::KEEP_ALIVE_ACK);
            break 'fwd;
        }
        if s.len == 0
            && s.window == 0
            && s.window == fwd.window
            && s.seq == fwd.next_seq
            && (s.ack == fwd.last_ack || s.ack == fwd.last_ack.wrapping_add(1))
            && rev.last_flags.has(Analysis::ZERO_WINDOW_PROBE)
            && !sfr
        {
            a.set(Analysis::ZERO_WINDOW_PROBE_ACK);
            break 'fwd;
        }
        if s.len == 0
            && s.window != 0
            && s.window == fwd.window
            && s.seq == fwd.next_seq
            && s.ack == fwd.last_ack
            && !sfr
        {
            fwd.dup_acks += 1;
            a.set(Analysis::DUPLICATE_ACK);
        }
    }
    if s.ack != fwd.last_ack {
        fwd.dup_acks = 0;
    }
    if rev.max_seq_to_be_acked != 0 && gt(s.ack, rev.max_seq_to_be_acked) && s.flags & ACK != 0 {
        a.set(Analysis::ACK_LOST_SEGMENT);
        rev.max_seq_to_be_acked = rev.next_seq;
    }
    'retrans: {
        if !(s.len > 0 || s.flags & (SYN | FIN) != 0) || a.has(Analysis::KEEP_ALIVE) {
            break 'retrans;
        }
        let mut not_advanced = fwd.next_seq != 0 && lt(s.seq, fwd.next_seq);
        if s.len > 1 && fwd.next_seq.wrapping_sub(1) == s.seq {
            not_advanced = false;
        }
        if s.len > 0 && rev.last_ack != 0 && le(s.seq.wrapping_add(s.len), rev.last_ack) {
            a.set(Analysis::SPURIOUS_RETRANSMISSION);
            break 'retrans;
        }
        if not_advanced {
            let since_ack = s.ts.since(rev.last_ack_time);
            if since_ack < 20_000_000 && rev.dup_acks >= 2 && rev.last_ack == s.seq {
                a.set(Analysis::FAST_RETRANSMISSION);
                break 'retrans;
            }
            let since_next = s.ts.since(fwd.next_seq_time);
            let thres = first_rtt_ns.filter(|r| *r != 0).unwrap_or(3_000_000);
            let end = s
                .seq
                .wrapping_add(s.len)
                .wrapping_add(u32::from(s.flags & (SYN | FIN) != 0));
            if since_next < thres && fwd.next_seq != end {
                a.set(Analysis::OUT_OF_ORDER);
                break 'retrans;
            }
            a.set(Analysis::RETRANSMISSION);
        }
    }
    // As tshark: a fast or spurious retransmission is a retransmission too.
    if a.has(Analysis::FAST_RETRANSMISSION) || a.has(Analysis::SPURIOUS_RETRANSMISSION) {
        a.set(Analysis::RETRANSMISSION);
    }
    if s.len > 0 || s.flags & (SYN | FIN) != 0 {
        let next = s
            .seq
            .wrapping_add(s.len)
            .wrapping_add(u32::from(s.flags & (SYN | FIN) != 0));
        if (fwd.next_seq == 0 || gt(next, fwd.next_seq)) && !a.has(Analysis::ZERO_WINDOW_PROBE) {
            fwd.next_seq = next;
            fwd.next_seq_time = s.ts;
        }
        if (s.seq == fwd.max_seq_to_be_acked || fwd.max_seq_to_be_acked == 0)
            && !a.has(Analysis::ZERO_WINDOW_PROBE)
        {
            fwd.max_seq_to_be_acked = fwd.next_seq;
        }
    }
    fwd.window = s.window;
    fwd.last_ack = s.ack;
    fwd.last_ack_time = s.ts;
    fwd.last_flags = a;
    a
}
