//! Wireshark-style TCP analysis flags ("expert info"), computed per segment in
//! capture order from what each direction has shown so far, so that the flags
//! match tshark 4.0's `tcp.analysis.*` fields frame for frame.
//!
//! The rules, their order and their quirks are those of tshark's
//! `tcp_analyze_sequence_number`, written down in docs/tshark-tcp-analysis.md
//! (sections 5 and 6, cited below as §A1 … §F). As there, the analysis works
//! on the raw sequence and acknowledgement numbers (0 means "not seen yet"),
//! compares them modulo 2^32, compares raw windows, and measures time
//! differences as unsigned nanoseconds, so a negative difference never falls
//! below a threshold.
//!
//! Each side's unacknowledged segments are listed as tshark lists them
//! (§D), so that an ACK that matches one exactly names it and its round
//! trip (`tcp.analysis.acks_frame`, `tcp.analysis.ack_rtt`). Bounded: at
//! most [`MAX_UNACKED`] per side, as tshark, and [`UNACKED_SHARED`] bytes
//! across all the connections of a flow table; a segment sent while the
//! list is full is not listed (tshark's rule), so no ACK names it.
//! Not modelled: bytes in flight.

use crate::capture::Timestamp;
use crate::limit::SharedLimit;

/// Unacknowledged segments listed per side (tshark's limit).
pub const MAX_UNACKED: usize = 10_000;
/// Bytes the unacknowledged-segment lists of all the connections of one flow
/// table hold together: 16 MiB, about 500,000 segments.
pub const UNACKED_SHARED: usize = 16 << 20;
const UNACKED_SIZE: usize = std::mem::size_of::<Unacked>();

/// A segment not yet acknowledged: what an ACK is matched against.
#[derive(Clone, Copy, Debug)]
struct Unacked {
    frame: u64,
    ts: Timestamp,
    seq: u32,
    next_seq: u32,
}

/// An ACK that acknowledges one segment exactly: the segment's frame and
/// the time from it to the ACK, in ns (negative when the capture's clock
/// went back), as tshark's `acks_frame` and `ack_rtt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acked {
    pub frame: u64,
    pub rtt_ns: i64,
}

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

/// What one direction has shown so far (docs/tshark-tcp-analysis.md §3).
#[derive(Clone, Debug)]
pub struct DirAnalysis {
    next_seq: u32,
    next_seq_time: Timestamp,
    max_seq_to_be_acked: u32,
    last_ack: u32,
    last_ack_time: Timestamp,
    /// Last raw window sent; starts at a value no window can have.
    window: u32,
    /// −1 unknown, −2 no scaling, ≥ 0 the shift.
    win_scale: i8,
    is_first_ack: bool,
    last_flags: Analysis,
    /// Duplicate ACKs in a row; u32::MAX is tshark's "−1" after an ACKed-unseen segment.
    dup_acks: u32,
    /// Unacknowledged segments, oldest first (tshark walks them newest first).
    segments: Vec<Unacked>,
    /// The last acknowledgement number matched against `segments`, and how
    /// many of them were there after: the same number again only needs the
    /// segments listed since (a run of duplicate ACKs costs nothing more).
    matched: Option<(u32, usize)>,
}

impl Default for DirAnalysis {
    fn default() -> Self {
        DirAnalysis {
            next_seq: 0,
            next_seq_time: Timestamp::default(),
            max_seq_to_be_acked: 0,
            last_ack: 0,
            last_ack_time: Timestamp::default(),
            window: u32::MAX,
            win_scale: -1,
            is_first_ack: false,
            last_flags: Analysis::default(),
            dup_acks: 0,
            segments: Vec::new(),
            matched: None,
        }
    }
}

/// Analysis state of one connection: both directions and the first RTT.
#[derive(Debug, Default)]
pub struct ConnAnalysis {
    dirs: [DirAnalysis; 2],
    /// Time of the most recent pure SYN (zero: none).
    mru_syn: Timestamp,
    /// tshark's initial RTT in ns (zero: not known); its out-of-order threshold.
    first_rtt_ns: u64,
    /// Shared by the unacknowledged-segment lists of a flow table (none: only
    /// [`MAX_UNACKED`] per side bounds them).
    budget: Option<SharedLimit>,
}

impl Drop for ConnAnalysis {
    fn drop(&mut self) {
        if let Some(b) = &self.budget {
            let n = self.dirs[0].segments.len() + self.dirs[1].segments.len();
            b.give(n * UNACKED_SIZE);
        }
    }
}

const SYN: u16 = 0x002;
const FIN: u16 = 0x001;
const RST: u16 = 0x004;
const ACK: u16 = 0x010;

fn gt(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) < 0
}
fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
fn le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

/// `now - then` in ns, as an unsigned number: negative becomes huge.
fn elapsed(now: Timestamp, then: Timestamp) -> u64 {
    u64::try_from(now.since(then)).unwrap_or(u64::MAX)
}

/// The segment as the analysis sees it: raw header values.
pub struct Seg {
    pub frame: u64,
    pub seq: u32,
    /// Raw acknowledgement field, used even when the ACK flag is clear.
    pub ack: u32,
    /// Payload length by the IP header.
    pub len: u32,
    pub flags: u16,
    pub window: u16,
    /// Window-scale option of this header, if any.
    pub wscale: Option<u8>,
    pub ts: Timestamp,
}

impl ConnAnalysis {
    /// A connection whose unacknowledged segments share `budget` with others.
    pub fn sharing(budget: &SharedLimit) -> Self {
        let mut a = ConnAnalysis::default();
        a.budget = Some(budget.clone());
        a
    }

    /// tshark's initial RTT in seconds, once known.
    pub fn first_rtt(&self) -> Option<f64> {
        (self.first_rtt_ns != 0).then(|| self.first_rtt_ns as f64 / 1e9)
    }

    /// The window a segment advertises in bytes, as tshark's `tcp.window_size`
    /// (§5.5): scaled once its side's scale is known, never on a SYN.
    pub fn window_size(&self, d: usize, flags: u16, win: u16) -> u32 {
        match self.dirs[d].win_scale {
            sh if sh >= 0 && flags & SYN == 0 => u32::from(win) << sh,
            _ => u32::from(win),
        }
    }

    /// A pure SYN repeating its side's ISN: tshark rewinds that side before
    /// analysing it (§5.2), so the SYN shows as a retransmission.
    pub fn syn_repeated(&mut self, d: usize) {
        let f = &mut self.dirs[d];
        f.next_seq = f.max_seq_to_be_acked;
    }

    /// Analyses one segment sent in direction `d` (0 or 1) and updates the
    /// state (§5.4 to §5.10). `pre` holds flags decided before the analysis
    /// (reused ports). Returns the flags and the segment of the other side
    /// this one acknowledges exactly, if any.
    pub fn segment(&mut self, d: usize, s: &Seg, pre: Analysis) -> (Analysis, Option<Acked>) {
        let mut a = pre;
        let first_rtt = self.first_rtt_ns;
        let acked;
        {
            let [d0, d1] = &mut self.dirs;
            let (fwd, rev) = if d == 0 { (d0, d1) } else { (d1, d0) };
            analyze(fwd, rev, s, first_rtt, &mut a);
            list_unacked(fwd, s, self.budget.as_ref());
            let (a, removed) = acknowledge(rev, s);
            acked = a;
            if let Some(b) = &self.budget {
                b.give(removed * UNACKED_SIZE);
            }
        }
        // §5.7: SYN bookkeeping and the first RTT.
        let syn = s.flags & SYN != 0;
        let ack = s.flags & ACK != 0;
        if syn {
            if !ack {
                self.mru_syn = s.ts;
            }
            self.dirs[d].is_first_ack = true;
        }
        if ack && !syn {
            if self.mru_syn != Timestamp::default() && self.first_rtt_ns == 0 {
                self.first_rtt_ns = elapsed(s.ts, self.mru_syn);
            }
            self.dirs[d].is_first_ack = false;
        }
        // §5.8: a window-scale option, on any segment.
        if let Some(shift) = s.wscale {
            self.dirs[d].win_scale = shift.min(14) as i8;
        }
        // §5.10: a SYN without the option means no scaling, for both sides.
        if syn {
            if self.dirs[d].win_scale == -1 {
                self.dirs[0].win_scale = -2;
                self.dirs[1].win_scale = -2;
            } else if ack && self.dirs[1 - d].win_scale == -2 {
                self.dirs[d].win_scale = -2;
            }
        }
        (a, acked)
    }
}

/// §D: a segment that carries data, SYN or FIN is listed as unacknowledged
/// (unless the side's list, or the shared budget, is full).
fn list_unacked(fwd: &mut DirAnalysis, s: &Seg, budget: Option<&SharedLimit>) {
    let synfin = s.flags & (SYN | FIN) != 0;
    if (s.len == 0 && !synfin) || fwd.segments.len() >= MAX_UNACKED {
        return;
    }
    if let Some(b) = budget {
        if !b.has_room(UNACKED_SIZE) {
            return;
        }
        b.take(UNACKED_SIZE);
    }
    fwd.segments.push(Unacked {
        frame: s.frame,
        ts: s.ts,
        seq: s.seq,
        next_seq: s.seq.wrapping_add(s.len).wrapping_add(u32::from(synfin)),
    });
}

/// The segments of the other side this frame's acknowledgement field covers
/// (the ACK flag is not checked, as tshark): those it covers whole leave the
/// list, one it covers in part stays with what is left. One it covers
/// exactly is named, with the time since it was sent: the oldest such one,
/// which is the last tshark meets as it walks the list newest first. Also
/// returns how many left the list.
fn acknowledge(rev: &mut DirAnalysis, s: &Seg) -> (Option<Acked>, usize) {
    let mut acked = None;
    let before = rev.segments.len();
    // Matched against this number already: those segments stay as they are.
    let from = match rev.matched {
        Some((ack, n)) if ack == s.ack => n.min(before),
        _ => 0,
    };
    // Those kept move down over those removed, in order.
    let mut kept = from;
    for r in from..before {
        let mut u = rev.segments[r];
        let keep = if s.ack == u.next_seq {
            if acked.is_none() {
                let rtt = s.ts.since(u.ts).clamp(i64::MIN as i128, i64::MAX as i128);
                acked = Some(Acked {
                    frame: u.frame,
                    rtt_ns: rtt as i64,
                });
            }
            false
        } else if gt(s.ack, u.seq) && le(s.ack, u.next_seq) {
            u.seq = s.ack;
            true
        } else {
            gt(u.next_seq, s.ack)
        };
        if keep {
            rev.segments[kept] = u;
            kept += 1;
        }
    }
    rev.segments.truncate(kept);
    // A burst's room is not kept once it is all acknowledged.
    if kept == 0 && rev.segments.capacity() > 16 {
        rev.segments = Vec::new();
    }
    rev.matched = Some((s.ack, rev.segments.len()));
    (acked, before - rev.segments.len())
}

fn analyze(
    fwd: &mut DirAnalysis,
    rev: &mut DirAnalysis,
    s: &Seg,
    first_rtt: u64,
    a: &mut Analysis,
) {
    let no_sfr = s.flags & (SYN | FIN | RST) == 0;
    let win = u32::from(s.window);
    // Block A: checks on the sending side; `break` is tshark's "goto finished_fwd".
    'a: {
        // §A1 zero-window probe.
        if s.len == 1 && s.seq == fwd.next_seq && rev.window == 0 {
            a.set(Analysis::ZERO_WINDOW_PROBE);
            break 'a;
        }
        // §A2 zero window.
        if win == 0 && no_sfr {
            a.set(Analysis::ZERO_WINDOW);
        }
        // §A3 previous segment not captured.
        if fwd.next_seq != 0 && gt(s.seq, fwd.next_seq) && s.flags & RST == 0 {
            a.set(Analysis::LOST_SEGMENT);
        }
        // §A4 keep-alive.
        if s.len <= 1 && s.seq == fwd.next_seq.wrapping_sub(1) && no_sfr {
            a.set(Analysis::KEEP_ALIVE);
        }
        let same = s.seq == fwd.next_seq && s.ack == fwd.last_ack && no_sfr;
        // §A5 window update.
        if s.len == 0 && win != 0 && win != fwd.window && same {
            a.set(Analysis::WINDOW_UPDATE);
        }
        // §A6 window full.
        if s.len > 0 && rev.win_scale != -1 && no_sfr {
            let sh = if rev.is_first_ack || rev.win_scale == -2 {
                0
            } else {
                rev.win_scale as u32
            };
            let edge = rev.last_ack.wrapping_add(rev.window.wrapping_shl(sh));
            if s.seq.wrapping_add(s.len) == edge {
                a.set(Analysis::WINDOW_FULL);
            }
        }
        // §A7 keep-alive ACK.
        if s.len == 0
            && win != 0
            && win == fwd.window
            && same
            && rev.last_flags.has(Analysis::KEEP_ALIVE)
        {
            a.set(Analysis::KEEP_ALIVE_ACK);
            break 'a;
        }
        // §A8 zero-window probe ACK.
        if s.len == 0
            && win == 0
            && fwd.window == 0
            && same
            && rev.last_flags.has(Analysis::ZERO_WINDOW_PROBE)
        {
            a.set(Analysis::ZERO_WINDOW_PROBE_ACK);
            break 'a;
        }
        // §A9 duplicate ACK.
        if s.len == 0 && win != 0 && win == fwd.window && same {
            fwd.dup_acks = if fwd.dup_acks == u32::MAX {
                1
            } else {
                fwd.dup_acks + 1
            };
            a.set(Analysis::DUPLICATE_ACK);
        }
    }
    if s.ack != fwd.last_ack {
        fwd.dup_acks = 0;
    }
    // §B ACKed unseen segment.
    if rev.max_seq_to_be_acked != 0 && gt(s.ack, rev.max_seq_to_be_acked) && s.flags & ACK != 0 {
        if lt(rev.max_seq_to_be_acked, rev.next_seq) {
            rev.max_seq_to_be_acked = rev.next_seq;
            a.set(Analysis::ACK_LOST_SEGMENT);
        } else {
            if rev.dup_acks == 0 {
                a.set(Analysis::ACK_LOST_SEGMENT);
            }
            rev.dup_acks = u32::MAX;
        }
    }
    // §C the retransmission family; `break` is "goto done".
    'c: {
        if !(s.len > 0 || s.flags & (SYN | FIN) != 0) || a.has(Analysis::KEEP_ALIVE) {
            break 'c;
        }
        let mut not_adv = fwd.next_seq != 0 && lt(s.seq, fwd.next_seq);
        if s.len > 1 && fwd.next_seq.wrapping_sub(1) == s.seq {
            not_adv = false;
        }
        // §C1 spurious: the other side had already acknowledged all of it.
        if s.len > 0 && rev.last_ack != 0 && le(s.seq.wrapping_add(s.len), rev.last_ack) {
            a.set(Analysis::SPURIOUS_RETRANSMISSION);
            break 'c;
        }
        // §C2 fast retransmission (tshark's dup-ACK counter is unsigned: "−1" counts).
        if not_adv
            && rev.dup_acks >= 2
            && rev.last_ack == s.seq
            && elapsed(s.ts, rev.last_ack_time) < 20_000_000
        {
            a.set(Analysis::FAST_RETRANSMISSION);
            break 'c;
        }
        // §C3 out of order, within one RTT (3 ms while the RTT is unknown).
        let thres = if first_rtt == 0 { 3_000_000 } else { first_rtt };
        let end = s
            .seq
            .wrapping_add(s.len)
            .wrapping_add(u32::from(s.flags & (SYN | FIN) != 0));
        if not_adv && elapsed(s.ts, fwd.next_seq_time) < thres && fwd.next_seq != end {
            a.set(Analysis::OUT_OF_ORDER);
            break 'c;
        }
        // §C4 plain retransmission.
        if not_adv {
            a.set(Analysis::RETRANSMISSION);
        }
    }
    // tshark's fields: a fast or spurious retransmission is a retransmission too.
    if a.has(Analysis::FAST_RETRANSMISSION) || a.has(Analysis::SPURIOUS_RETRANSMISSION) {
        a.set(Analysis::RETRANSMISSION);
    }
    // §D bookkeeping of the sending side.
    let mut nxt = s.seq.wrapping_add(s.len);
    if s.flags & (SYN | FIN) != 0 {
        nxt = nxt.wrapping_add(1);
    }
    let probe = a.has(Analysis::ZERO_WINDOW_PROBE);
    if (gt(nxt, fwd.next_seq) || fwd.next_seq == 0) && !probe {
        fwd.next_seq = nxt;
        fwd.next_seq_time = s.ts;
    }
    if (s.seq == fwd.max_seq_to_be_acked || fwd.max_seq_to_be_acked == 0) && !probe {
        fwd.max_seq_to_be_acked = fwd.next_seq;
    }
    fwd.window = win;
    fwd.last_ack = s.ack;
    fwd.last_ack_time = s.ts;
    fwd.last_flags = *a;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(frame: u64, seq: u32, ack: u32, len: u32, flags: u16, ms: u32) -> Seg {
        Seg {
            frame,
            seq,
            ack,
            len,
            flags,
            window: 512,
            wscale: None,
            ts: Timestamp {
                secs: 0,
                nanos: ms * 1_000_000,
            },
        }
    }

    /// An ACK names the segment it acknowledges exactly and the time since;
    /// one that covers part of a segment, or repeats, names none; the
    /// segments and the shared budget are given back as they are covered.
    #[test]
    fn acks_name_the_segment_they_acknowledge_exactly() {
        let budget = SharedLimit::new(UNACKED_SHARED);
        let mut a = ConnAnalysis::sharing(&budget);
        let none = Analysis::default();
        let acked = |a: &mut ConnAnalysis, d, s: &Seg| a.segment(d, s, none).1;
        assert_eq!(acked(&mut a, 0, &seg(1, 1000, 5000, 100, ACK, 0)), None);
        assert_eq!(acked(&mut a, 0, &seg(2, 1100, 5000, 100, ACK, 1)), None);
        assert_eq!(budget.used(), 2 * UNACKED_SIZE);
        let first = acked(&mut a, 1, &seg(3, 5000, 1100, 0, ACK, 5));
        assert_eq!(
            first,
            Some(Acked {
                frame: 1,
                rtt_ns: 5_000_000
            })
        );
        // The same number again, and part of the second segment: no match.
        assert_eq!(acked(&mut a, 1, &seg(4, 5000, 1100, 0, ACK, 6)), None);
        assert_eq!(acked(&mut a, 1, &seg(5, 5000, 1150, 0, ACK, 7)), None);
        assert_eq!(budget.used(), UNACKED_SIZE);
        let second = acked(&mut a, 1, &seg(6, 5000, 1200, 0, ACK, 9));
        assert_eq!(
            second,
            Some(Acked {
                frame: 2,
                rtt_ns: 8_000_000
            })
        );
        assert_eq!(budget.used(), 0);
        // New data after a run of duplicate ACKs is still matched.
        acked(&mut a, 0, &seg(7, 1200, 5000, 50, ACK, 10));
        assert_eq!(acked(&mut a, 1, &seg(8, 5000, 1200, 0, ACK, 11)), None);
        let third = acked(&mut a, 1, &seg(9, 5000, 1250, 0, ACK, 12));
        assert_eq!(third.map(|k| k.frame), Some(7));
        // What is still listed when the connection goes is given back.
        acked(&mut a, 0, &seg(10, 1250, 5000, 50, ACK, 13));
        assert_eq!(budget.used(), UNACKED_SIZE);
        drop(a);
        assert_eq!(budget.used(), 0);
    }
}
