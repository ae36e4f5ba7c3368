//! Per-direction TCP stream reassembly: segments arriving in any order, with
//! retransmissions and overlaps, become the byte stream one side sent, handed
//! out in order as [`Chunk`]s.
//!
//! Positions are 64-bit stream offsets: offset 0 is the byte after the SYN
//! ([`Reassembler::new`]) or the first byte of the first non-empty segment
//! seen ([`Reassembler::new_midstream`]). A segment's sequence number is
//! placed by its signed 32-bit distance from the next expected byte, so
//! sequence wrap-around and streams longer than 4 GiB need nothing special.
//!
//! What is checked for every pushed segment (nothing else is: flags,
//! checksums and windows are the caller's business):
//! - **Position.** A segment starting more than [`MAX_AHEAD`] bytes (1 GiB)
//!   after the next expected byte is taken to belong to another stream (or to
//!   be garbage) and is ignored whole; its bytes count in
//!   [`PushOutcome::dropped_bytes`]. Anything else is placed relative to the
//!   expected byte: up to 1 GiB ahead, or up to 2^31 bytes behind.
//! - **Bytes already seen.** The first copy of every byte wins. Bytes before
//!   the next expected byte, bytes already buffered, and bytes before offset
//!   0 (most likely sent before the capture began) count in
//!   [`PushOutcome::duplicate_bytes`] and deliver nothing.
//!   They are compared with the first copy where it is still known (buffered
//!   bytes, and the last `history` delivered bytes since the last gap); a
//!   difference sets [`PushOutcome::conflicting_overlap`]. Late bytes that
//!   fall in a hole already declared as a gap also count as duplicates.
//!
//! Limits, per direction:
//! - **Out-of-order buffer: `ooo_limit` payload bytes** (default
//!   [`DEFAULT_OOO_LIMIT`], 1 MiB; allocator and map overhead come on top,
//!   and there are never more buffered runs than buffered bytes). When a new
//!   out-of-order piece would not fit, the reassembler moves on rather than
//!   dropping data: it declares the hole before the lowest out-of-order data
//!   (buffered or the new piece itself) a [`Chunk::Gap`], delivers what became
//!   contiguous, and repeats until the piece fits or is itself in order. So
//!   [`Reassembler::buffered`] never exceeds the limit, and the limit never
//!   makes received bytes disappear; only the hole is given up.
//! - **Delivered-byte history: `history` bytes** (default
//!   [`DEFAULT_HISTORY`], 64 KiB; set with [`Reassembler::with_history`]),
//!   kept only to compare retransmissions with what was delivered.
//! - **Look-ahead: [`MAX_AHEAD`] bytes**, as above; so a declared gap is never
//!   longer than 1 GiB, and no allocation depends on sequence numbers.
//!
//! And across directions: reassemblers made [`Reassembler::sharing`] one
//! [`SharedLimit`] hold at most its limit of out-of-order bytes together,
//! each run counted with [`RUN_OVERHEAD`] more for its bookkeeping (the flow
//! table shares [`DEFAULT_SHARED_LIMIT`], 64 MiB, among all its
//! connections). Past it, a reassembler that needs room moves on the same
//! way, from its own buffered data; so thousands of connections cannot each
//! hold the per-direction limit.

pub use crate::limit::SharedLimit;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::ops::Bound::{Excluded, Unbounded};

/// Default bytes of out-of-order data held per direction.
pub const DEFAULT_OOO_LIMIT: usize = 1 << 20; // 1 MiB

/// Default out-of-order bytes held by all the reassemblers of one flow table.
pub const DEFAULT_SHARED_LIMIT: usize = 64 << 20; // 64 MiB

/// Memory a buffered run takes besides its bytes (its map entry, vector
/// header and allocation), as counted in a shared limit.
pub const RUN_OVERHEAD: usize = 64;

/// Default bytes of delivered data kept to compare retransmissions with: the
/// largest window without window scaling, which covers most retransmissions.
pub const DEFAULT_HISTORY: usize = 64 * 1024;

/// A segment starting further than this after the next expected byte is not
/// part of this stream (TCP windows are at most 2^30 bytes).
pub const MAX_AHEAD: u64 = 1 << 30;

/// What `push` and `finish` hand to the consumer, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// In-order bytes starting at `offset` (bytes since the first byte of the
    /// stream: offset 0 is ISN+1 when the SYN was seen).
    Data { offset: u64, bytes: &'a [u8] },
    /// Bytes that were never seen and are skipped over (a capture loss; data
    /// before the capture started is NOT reported as a gap, see
    /// [`Reassembler::new_midstream`]).
    Gap { offset: u64, len: u64 },
}

/// What happened to one pushed segment (for analysis and for the user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PushOutcome {
    /// Bytes of this segment that had been seen before (retransmitted /
    /// overlapping); the first copy wins.
    pub duplicate_bytes: u64,
    /// Some overlapping byte differed from the first copy (the first copy is
    /// kept).
    pub conflicting_overlap: bool,
    /// The segment starts beyond the next expected byte (its new bytes were
    /// buffered, or delivered after a gap when the buffer was full).
    pub out_of_order: bool,
    /// Bytes ignored: here only a segment more than [`MAX_AHEAD`] bytes ahead
    /// (the buffer limit declares gaps instead of dropping).
    pub dropped_bytes: u64,
    /// A gap was declared (reported through `Chunk::Gap`) to make room or to
    /// move on.
    pub gap_declared: bool,
}

/// Reassembles one direction of a TCP connection.
pub struct Reassembler {
    /// Sequence number of offset 0; None until a mid-stream reassembler sees
    /// its first data.
    base: Option<u32>,
    /// Offset of the next byte expected.
    next: u64,
    /// Out-of-order runs by offset: disjoint, all at or after `next`.
    ooo: BTreeMap<u64, Vec<u8>>,
    /// Sum of the lengths in `ooo`.
    buffered: usize,
    ooo_limit: usize,
    /// The last delivered bytes, ending at `next`; emptied by a gap so it is
    /// always contiguous.
    history: VecDeque<u8>,
    history_limit: usize,
    /// The limit shared with other reassemblers, if any.
    shared: Option<SharedLimit>,
}

impl Drop for Reassembler {
    /// Gives this reassembler's charge back to the shared limit.
    fn drop(&mut self) {
        if let Some(s) = &self.shared {
            s.give(self.charge());
        }
    }
}

impl fmt::Debug for Reassembler {
    /// A summary: the byte buffers would drown everything else.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reassembler")
            .field("base", &self.base)
            .field("next", &self.next)
            .field("runs", &self.ooo.len())
            .field("buffered", &self.buffered)
            .field("ooo_limit", &self.ooo_limit)
            .field("history", &self.history.len())
            .finish()
    }
}

/// The part of `data` (whose first byte is at offset `at`) covering offsets
/// `[from, to)`; empty when out of range, so callers never index.
fn part(data: &[u8], at: u64, from: u64, to: u64) -> &[u8] {
    let a = usize::try_from(from.saturating_sub(at));
    let b = usize::try_from(to.saturating_sub(at));
    match (a, b) {
        (Ok(a), Ok(b)) => data.get(a..b).unwrap_or_default(),
        _ => &[],
    }
}

fn len64(b: &[u8]) -> u64 {
    b.len() as u64
}

impl Reassembler {
    /// Stream whose SYN was seen: `isn` is the SYN's sequence number; data
    /// starts at isn+1.
    pub fn new(isn: u32, ooo_limit: usize) -> Self {
        let mut r = Self::new_midstream(ooo_limit);
        r.base = Some(isn.wrapping_add(1));
        r
    }

    /// Stream first seen mid-way: the first pushed segment's seq becomes
    /// offset 0.
    pub fn new_midstream(ooo_limit: usize) -> Self {
        Reassembler {
            base: None,
            next: 0,
            ooo: BTreeMap::new(),
            buffered: 0,
            ooo_limit,
            history: VecDeque::new(),
            history_limit: DEFAULT_HISTORY,
            shared: None,
        }
    }

    /// Holds out-of-order bytes within `limit` together with every other
    /// reassembler sharing it, as well as within its own limit.
    pub fn sharing(mut self, limit: &SharedLimit) -> Self {
        if let Some(old) = self.shared.replace(limit.clone()) {
            old.give(self.charge());
        }
        limit.take(self.charge());
        self
    }

    /// What this reassembler counts in the shared limit: its buffered bytes
    /// and [`RUN_OVERHEAD`] for each run, so that many tiny runs count for
    /// the memory they take, not only for their bytes.
    pub fn charge(&self) -> usize {
        self.buffered + self.ooo.len() * RUN_OVERHEAD
    }

    fn grow(&mut self, n: usize) {
        self.buffered += n;
        if let Some(s) = &self.shared {
            s.take(n);
        }
    }

    fn shrink(&mut self, n: usize) {
        let n = n.min(self.buffered);
        self.buffered -= n;
        if let Some(s) = &self.shared {
            s.give(n);
        }
    }

    /// Takes a run out of the buffer (its bytes still counted until shrunk).
    fn run_removed(&mut self) {
        if let Some(s) = &self.shared {
            s.give(RUN_OVERHEAD);
        }
    }

    /// Whether `len` more buffered bytes (perhaps in a new run) would pass
    /// this reassembler's limit or the shared one.
    fn over(&self, len: usize) -> bool {
        self.buffered.saturating_add(len) > self.ooo_limit
            || self
                .shared
                .as_ref()
                .is_some_and(|s| !s.has_room(len.saturating_add(RUN_OVERHEAD)))
    }

    /// Keeps the last `bytes` delivered bytes to compare retransmissions with
    /// (0: retransmissions of delivered data are counted, never compared).
    pub fn with_history(mut self, bytes: usize) -> Self {
        self.history_limit = bytes;
        self.history.clear();
        self
    }

    /// Offset of the next byte expected (= bytes delivered + gaps declared so
    /// far).
    pub fn next_offset(&self) -> u64 {
        self.next
    }

    /// Bytes currently buffered out of order.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// The out-of-order limit this reassembler was made with.
    pub fn ooo_limit(&self) -> usize {
        self.ooo_limit
    }

    /// Sequence number of offset 0; None while a mid-stream reassembler has
    /// seen no data.
    pub fn start_seq(&self) -> Option<u32> {
        self.base
    }

    /// Hands a segment's payload (`seq` = its TCP sequence number) to the
    /// reassembler; in-order bytes (and any buffered bytes they make
    /// contiguous) are passed to `out` at once, in order.
    pub fn push(
        &mut self,
        seq: u32,
        payload: &[u8],
        out: &mut dyn FnMut(Chunk<'_>),
    ) -> PushOutcome {
        let mut oc = PushOutcome::default();
        if payload.is_empty() {
            return oc;
        }
        let base = *self.base.get_or_insert(seq);
        // Truncation intended: sequence numbers are offsets mod 2^32.
        let expected = base.wrapping_add(self.next as u32);
        let dist = i64::from(seq.wrapping_sub(expected) as i32);
        if dist > MAX_AHEAD as i64 {
            oc.dropped_bytes = len64(payload);
            return oc;
        }
        // Offset of the payload's first byte; bytes before offset 0 are
        // clipped (counted as duplicates: most likely data sent before the
        // capture began).
        let back = dist.unsigned_abs();
        let (start, data) = if dist >= 0 {
            (self.next.saturating_add(back), payload)
        } else if let Some(s) = self.next.checked_sub(back) {
            (s, payload)
        } else {
            let pre = back - self.next;
            let kept = part(payload, 0, pre, len64(payload));
            oc.duplicate_bytes = len64(payload) - len64(kept);
            (0, kept)
        };
        let end = start.saturating_add(len64(data));
        oc.out_of_order = start > self.next;

        // Bytes behind the next expected one: already delivered (or given up).
        let old_end = end.min(self.next);
        if start < old_end {
            oc.duplicate_bytes += old_end - start;
            if self.differs_from_history(start, part(data, start, start, old_end)) {
                oc.conflicting_overlap = true;
            }
        }

        // Each step consumes part of the segment or a buffered run.
        let mut cur = start;
        loop {
            cur = cur.max(self.next);
            if cur >= end {
                break;
            }
            cur = if cur == self.next {
                self.push_in_order(cur, start, data, end, out, &mut oc)
            } else {
                self.push_ahead(cur, start, data, end, out, &mut oc)
            };
        }
        self.drain_ready(out);
        oc
    }

    /// The bytes of the segment at `next`: a buffered run starting there came
    /// first and is delivered instead; otherwise the segment's own bytes up to
    /// the next buffered run. Returns where to go on from.
    fn push_in_order(
        &mut self,
        cur: u64,
        start: u64,
        data: &[u8],
        end: u64,
        out: &mut dyn FnMut(Chunk<'_>),
        oc: &mut PushOutcome,
    ) -> u64 {
        match self.ooo.first_key_value() {
            Some((&k, _)) if k <= cur => {
                let Some((k, run)) = self.ooo.pop_first() else {
                    return cur;
                };
                self.run_removed();
                self.shrink(run.len());
                let run_end = k.saturating_add(len64(&run));
                let to = run_end.min(end);
                if cur < to {
                    oc.duplicate_bytes += to - cur;
                    if part(&run, k, cur, to) != part(data, start, cur, to) {
                        oc.conflicting_overlap = true;
                    }
                }
                self.deliver(cur, part(&run, k, cur, run_end), out);
                cur
            }
            first => {
                let to = first.map_or(end, |(&k, _)| k.min(end));
                self.deliver(cur, part(data, start, cur, to), out);
                to
            }
        }
    }

    /// The bytes of the segment at `cur` > `next`: compared where already
    /// buffered, buffered where not (making room first). Returns where to go
    /// on from.
    fn push_ahead(
        &mut self,
        cur: u64,
        start: u64,
        data: &[u8],
        end: u64,
        out: &mut dyn FnMut(Chunk<'_>),
        oc: &mut PushOutcome,
    ) -> u64 {
        if let Some((&k, run)) = self.ooo.range(..=cur).next_back() {
            let run_end = k.saturating_add(len64(run));
            if run_end > cur {
                let to = run_end.min(end);
                oc.duplicate_bytes += to - cur;
                if part(run, k, cur, to) != part(data, start, cur, to) {
                    oc.conflicting_overlap = true;
                }
                return to;
            }
        }
        let to = self
            .ooo
            .range((Excluded(cur), Unbounded))
            .next()
            .map_or(end, |(&k, _)| k.min(end));
        let piece = part(data, start, cur, to);
        if piece.is_empty() {
            return to;
        }
        if !self.make_room(cur, piece.len(), out, oc) {
            // The hole before `cur` was given up: the piece is now in order.
            return cur;
        }
        self.grow(piece.len());
        // Appending to a run that ends here keeps forward-arriving segments
        // in one run (amortised copying; prepending could be quadratic).
        if let Some((&k, run)) = self.ooo.range_mut(..cur).next_back()
            && k.saturating_add(len64(run)) == cur
        {
            run.extend_from_slice(piece);
        } else {
            self.ooo.insert(cur, piece.to_vec());
            if let Some(s) = &self.shared {
                s.take(RUN_OVERHEAD);
            }
        }
        to
    }

    /// Declares gaps until `len` more bytes at `at` fit under the limits.
    /// Returns false when the gap reached `at` itself (the piece is then in
    /// order and must be delivered, not buffered).
    fn make_room(
        &mut self,
        at: u64,
        len: usize,
        out: &mut dyn FnMut(Chunk<'_>),
        oc: &mut PushOutcome,
    ) -> bool {
        while self.over(len) {
            match self.ooo.first_key_value() {
                Some((&k, _)) if k < at => {
                    self.gap_to(k, out, oc);
                    self.drain_ready(out);
                }
                _ => {
                    self.gap_to(at, out, oc);
                    return false;
                }
            }
        }
        true
    }

    /// The `len` bytes from `seq` are known lost (a segment cut by the
    /// capture's snap length: they were sent, never captured): when they are
    /// the next expected bytes, the hole is declared at once instead of when
    /// later data or the FIN shows it. Bytes already buffered beyond are
    /// delivered as usual.
    pub fn lost(&mut self, seq: u32, len: u64, out: &mut dyn FnMut(Chunk<'_>)) -> PushOutcome {
        let mut oc = PushOutcome::default();
        let Some(base) = self.base else {
            return oc;
        };
        // Truncation intended: sequence numbers are offsets mod 2^32.
        let expected = base.wrapping_add(self.next as u32);
        if seq != expected || len == 0 || len > MAX_AHEAD {
            return oc;
        }
        let to = self.next + len;
        // Buffered data inside the hole would be skipped: keep the usual path.
        if self.ooo.keys().next().is_some_and(|&k| k < to) {
            return oc;
        }
        self.gap_to(to, out, &mut oc);
        self.drain_ready(out);
        oc
    }

    /// A FIN (or RST/end of capture): if data is still buffered beyond a hole,
    /// declare the hole a `Gap` and deliver the buffered data, repeatedly,
    /// until nothing is buffered.
    pub fn finish(&mut self, out: &mut dyn FnMut(Chunk<'_>)) -> PushOutcome {
        let mut oc = PushOutcome::default();
        while let Some(&k) = self.ooo.keys().next() {
            self.gap_to(k, out, &mut oc);
            self.drain_ready(out);
        }
        oc
    }

    /// Skips the hole up to `to` (nothing when `to` is not ahead).
    fn gap_to(&mut self, to: u64, out: &mut dyn FnMut(Chunk<'_>), oc: &mut PushOutcome) {
        if to > self.next {
            out(Chunk::Gap {
                offset: self.next,
                len: to - self.next,
            });
            self.next = to;
            self.history.clear();
            oc.gap_declared = true;
        }
    }

    /// Delivers every buffered run that has become contiguous.
    fn drain_ready(&mut self, out: &mut dyn FnMut(Chunk<'_>)) {
        while let Some(entry) = self.ooo.first_entry() {
            if *entry.key() > self.next {
                break;
            }
            let (k, run) = entry.remove_entry();
            self.run_removed();
            self.shrink(run.len());
            let run_end = k.saturating_add(len64(&run));
            let next = self.next;
            self.deliver(next, part(&run, k, next, run_end), out);
        }
    }

    /// Hands out in-order bytes at `offset` (= `next`) and remembers them.
    fn deliver(&mut self, offset: u64, bytes: &[u8], out: &mut dyn FnMut(Chunk<'_>)) {
        if bytes.is_empty() {
            return;
        }
        out(Chunk::Data { offset, bytes });
        self.next = offset.saturating_add(len64(bytes));
        let cap = self.history_limit;
        if cap == 0 {
            return;
        }
        if bytes.len() >= cap {
            self.history.clear();
            self.history
                .extend(bytes.get(bytes.len() - cap..).unwrap_or_default());
        } else {
            let excess = (self.history.len() + bytes.len()).saturating_sub(cap);
            self.history.drain(..excess.min(self.history.len()));
            // Grow by doubling but never past `cap`, so a long stream holds
            // `cap` bytes, not up to twice that.
            let needed = self.history.len() + bytes.len();
            if needed > self.history.capacity() {
                let want = (self.history.capacity() * 2).max(needed).min(cap);
                self.history
                    .reserve_exact(want.saturating_sub(self.history.len()));
            }
            self.history.extend(bytes);
        }
    }

    /// Whether `bytes` at `start` (all behind `next`) differ from the
    /// delivered bytes still remembered.
    fn differs_from_history(&self, start: u64, bytes: &[u8]) -> bool {
        let hist_start = self.next.saturating_sub(self.history.len() as u64);
        let from = start.max(hist_start);
        let to = start.saturating_add(len64(bytes)).min(self.next);
        if from >= to {
            return false;
        }
        let seg = part(bytes, start, from, to);
        let Ok(skip) = usize::try_from(from - hist_start) else {
            return false;
        };
        !self
            .history
            .iter()
            .skip(skip)
            .take(seg.len())
            .eq(seg.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a reassembler handed out, owned.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Got {
        Data(u64, Vec<u8>),
        Gap(u64, u64),
    }

    #[derive(Default)]
    struct Sink(Vec<Got>);

    impl Sink {
        fn push(&mut self, r: &mut Reassembler, seq: u32, payload: &[u8]) -> PushOutcome {
            r.push(seq, payload, &mut |c| self.0.push(owned(c)))
        }
        fn finish(&mut self, r: &mut Reassembler) -> PushOutcome {
            r.finish(&mut |c| self.0.push(owned(c)))
        }
        /// All delivered bytes, concatenated.
        fn bytes(&self) -> Vec<u8> {
            let mut v = Vec::new();
            for g in &self.0 {
                if let Got::Data(_, b) = g {
                    v.extend_from_slice(b);
                }
            }
            v
        }
        fn gaps(&self) -> Vec<(u64, u64)> {
            self.0
                .iter()
                .filter_map(|g| match g {
                    Got::Gap(o, l) => Some((*o, *l)),
                    Got::Data(..) => None,
                })
                .collect()
        }
    }

    fn owned(c: Chunk<'_>) -> Got {
        match c {
            Chunk::Data { offset, bytes } => Got::Data(offset, bytes.to_vec()),
            Chunk::Gap { offset, len } => Got::Gap(offset, len),
        }
    }

    fn stream(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    /// A segment cut by the snap length: its lost tail is a gap at once, and
    /// the next segment follows in order, not held as out of order.
    #[test]
    fn bytes_lost_to_the_snap_length_are_a_gap_at_once() {
        let mut r = Reassembler::new(1000, DEFAULT_OOO_LIMIT);
        let mut s = Sink::default();
        // 10 bytes sent, 4 captured.
        s.push(&mut r, 1001, b"GET ");
        let oc = r.lost(1005, 6, &mut |c| s.0.push(owned(c)));
        assert!(oc.gap_declared);
        assert_eq!(s.0, [Got::Data(0, b"GET ".to_vec()), Got::Gap(4, 6)]);
        let oc = s.push(&mut r, 1011, b"next");
        assert!(!oc.out_of_order);
        assert_eq!(s.0.last(), Some(&Got::Data(10, b"next".to_vec())));
        // Not at the next expected byte (already past it, or ahead of a
        // hole): nothing is declared.
        assert!(!r.lost(1005, 6, &mut |c| s.0.push(owned(c))).gap_declared);
        assert!(!r.lost(2000, 6, &mut |c| s.0.push(owned(c))).gap_declared);
        // Data buffered inside the would-be hole keeps the usual path.
        s.push(&mut r, 1020, b"later");
        assert!(!r.lost(1015, 10, &mut |c| s.0.push(owned(c))).gap_declared);
        assert_eq!(r.buffered(), 5);
    }

    #[test]
    fn in_order_delivery() {
        let mut r = Reassembler::new(1000, DEFAULT_OOO_LIMIT);
        let mut s = Sink::default();
        assert_eq!(s.push(&mut r, 1001, b"hello "), PushOutcome::default());
        assert_eq!(s.push(&mut r, 1007, b"world"), PushOutcome::default());
        assert_eq!(
            s.0,
            vec![
                Got::Data(0, b"hello ".to_vec()),
                Got::Data(6, b"world".to_vec())
            ]
        );
        assert_eq!(r.next_offset(), 11);
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn empty_payload_does_nothing() {
        let mut r = Reassembler::new_midstream(DEFAULT_OOO_LIMIT);
        let mut s = Sink::default();
        assert_eq!(s.push(&mut r, 5, b""), PushOutcome::default());
        assert_eq!(r.start_seq(), None);
        s.push(&mut r, 9, b"ab");
        assert_eq!(s.0, vec![Got::Data(0, b"ab".to_vec())]);
    }

    #[test]
    fn retransmission_is_counted_not_delivered() {
        let mut r = Reassembler::new(0, DEFAULT_OOO_LIMIT);
        let mut s = Sink::default();
        s.push(&mut r, 1, b"abcdef");
        let oc = s.push(&mut r, 1, b"abcdef");
        assert_eq!(oc.duplicate_bytes, 6);
        assert!(!oc.conflicting_overlap);
        assert!(!oc.out_of_order);
        assert_eq!(s.0.len(), 1);
        assert_eq!(r.next_offset(), 6);
    }

    #[test]
    fn partial_overlap_delivers_only_new_bytes() {
        let mut r = Reassembler::new(0, DEFAULT_OOO_LIMIT);
        let mut s = Sink::default();
        s.push(&mut r, 1, b"abcdef");
        let oc = s.push(&mut r, 4, b"defghi");
        assert_eq!(oc.duplicate_bytes, 3);
        assert!(!oc.conflicting_overlap);
        assert_eq!(s.0[1], Got::Data(6, b"ghi".to_vec()));
        assert_eq!(s.bytes(), b"abcdefghi");
    }

    #[test]
    fn conflicting_overlap_keeps_first_copy() {
        // Against delivered data.
        let mut r = Reassembler::new(0, DEFAULT_OOO_LIMIT);
        let mut s = Sink::default();
        s.push(&mut r, 1, b"abcdef");
        let oc = s.push(&mut r, 5, b"XXgh");
        assert!(oc.conflicting_overlap);
        assert_eq!(oc.duplicate_bytes, 2);
        assert_eq!(s.bytes(), b"abcdefgh");

        // Against buffered data, then when the buffered run is delivered.
        let mut r = Reassembler::new(0, DEFAULT_OOO_LIMIT);
        let mut s = Sink::default();
        s.push(&mut r, 5, b"efgh");
        let oc = s.push(&mut r, 7, b"GHij");
        assert!(oc.conflicting_overlap && oc.out_of_order);
        assert_eq!(oc.duplicate_bytes, 2);
        let oc = s.push(&mut r, 1, b"abcdEf");
        assert!(oc.conflicting_overlap);
        assert_eq!(oc.duplicate_bytes, 2);
        assert_eq!(s.bytes(), b"abcdefghij");
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn conflict_beyond_history_is_not_compared() {
        let mut r = Reassembler::new(0, DEFAULT_OOO_LIMIT).with_history(2);
        let mut s = Sink::default();
        s.push(&mut r, 1, b"abcdef");
        let oc = s.push(&mut r, 1, b"XXXX");
        assert_eq!(oc.duplicate_bytes, 4);
        assert!(!oc.conflicting_overlap);
        assert!(s.push(&mut r, 5, b"eX").conflicting_overlap);
    }

    #[test]
    fn history_stays_within_its_limit() {
        let data = stream(5000);
        let mut r = Reassembler::new(0, DEFAULT_OOO_LIMIT).with_history(1000);
        let mut s = Sink::default();
        for (i, c) in data.chunks(37).enumerate() {
            s.push(&mut r, 1 + 37 * i as u32, c);
            assert!(r.history.len() <= 1000);
            assert!(r.history.capacity() < 2000);
        }
        assert_eq!(r.history.len(), 1000);
        assert!(r.history.iter().eq(data[4000..].iter()));
        assert!(s.push(&mut r, 4001, b"x").conflicting_overlap);
        assert!(!s.push(&mut r, 4002, &data[4001..4100]).conflicting_overlap);
    }

    #[test]
    fn out_of_order_then_fill() {
        let data = stream(30);
        let mut r = Reassembler::new(77, DEFAULT_OOO_LIMIT);
        let mut s = Sink::default();
        let oc = s.push(&mut r, 78 + 20, &data[20..30]);
        assert!(oc.out_of_order);
        let oc = s.push(&mut r, 78 + 10, &data[10..20]);
        assert!(oc.out_of_order);
        assert!(s.0.is_empty());
        assert_eq!(r.buffered(), 20);
        let oc = s.push(&mut r, 78, &data[0..10]);
        assert!(!oc.out_of_order);
        assert_eq!(s.bytes(), data);
        assert_eq!(r.buffered(), 0);
        assert_eq!(r.next_offset(), 30);
        assert!(s.gaps().is_empty());
    }

    #[test]
    fn sequence_wraps_around() {
        let isn = 0xFFFF_FF00u32;
        let data = stream(1024);
        let mut r = Reassembler::new(isn, DEFAULT_OOO_LIMIT);
        let mut s = Sink::default();
        // Out of order across the wrap, then in order.
        for (a, b) in [(512usize, 1024usize), (100, 512), (0, 100)] {
            let seq = isn.wrapping_add(1).wrapping_add(a as u32);
            s.push(&mut r, seq, &data[a..b]);
        }
        assert_eq!(s.bytes(), data);
        assert_eq!(r.next_offset(), 1024);
        // A retransmission from before the wrap is old data.
        let oc = s.push(&mut r, isn.wrapping_add(1), &data[0..300]);
        assert_eq!(oc.duplicate_bytes, 300);
        assert!(!oc.conflicting_overlap);
    }

    #[test]
    fn a_shared_limit_bounds_the_sum_of_all_sharers() {
        // Each run also counts RUN_OVERHEAD (64) bytes.
        let shared = SharedLimit::new(200);
        let mut a = Reassembler::new(0, 1000).sharing(&shared);
        let mut b = Reassembler::new(1000, 1000).sharing(&shared);
        let (mut sa, mut sb) = (Sink::default(), Sink::default());
        // a holds 80 bytes beyond a 1-byte hole: 144 counted, within both limits.
        let oc = sa.push(&mut a, 2, &[1; 80]);
        assert!(!oc.gap_declared);
        assert_eq!((a.buffered(), a.charge(), shared.used()), (80, 144, 144));
        // b's 40 bytes beyond its hole would count 104 more, past the shared
        // 200, though b holds nothing: b gives up its hole and delivers them.
        let oc = sb.push(&mut b, 1002, &[2; 40]);
        assert!(oc.gap_declared);
        assert_eq!(sb.0, vec![Got::Gap(0, 1), Got::Data(1, vec![2; 40])]);
        assert_eq!((b.buffered(), shared.used()), (0, 144));
        // a needs room for 30 more beyond a second hole: it gives up its own
        // first hole, delivering its 80 bytes, and buffers the new 30.
        let oc = sa.push(&mut a, 100, &[3; 30]);
        assert!(oc.gap_declared);
        assert_eq!(sa.bytes(), vec![1; 80]);
        assert_eq!((a.buffered(), shared.used()), (30, 94));
        // A tiny run counts for its overhead: 1 byte, 65 counted.
        let _ = sb.push(&mut b, 1100, &[4]);
        assert_eq!((b.charge(), shared.used()), (65, 159));
        // Dropping a reassembler gives everything back.
        drop(a);
        assert_eq!(shared.used(), 65);
        drop(b);
        assert_eq!(shared.used(), 0);
    }

    #[test]
    fn streams_longer_than_4_gib() {
        let mut r = Reassembler::new(10, DEFAULT_OOO_LIMIT);
        // Pretend 4 GiB - 4 bytes went by.
        r.next = (1u64 << 32) - 4;
        let mut s = Sink::default();
        let seq = 11u32.wrapping_add(r.next as u32);
        s.push(&mut r, seq.wrapping_add(8), b"ijkl");
        s.push(&mut r, seq, b"abcdefgh");
        assert_eq!(
            s.0,
            vec![
                Got::Data((1 << 32) - 4, b"abcdefgh".to_vec()),
                Got::Data((1 << 32) + 4, b"ijkl".to_vec()),
            ]
        );
        assert_eq!(r.next_offset(), (1 << 32) + 8);
    }

    #[test]
    fn limit_reached_declares_gap() {
        let limit = 100;
        let data = stream(400);
        let mut r = Reassembler::new(0, limit);
        let mut s = Sink::default();
        // Hole at [0, 10); runs at [10, 60) and [70, 120).
        s.push(&mut r, 11, &data[10..60]);
        s.push(&mut r, 71, &data[70..120]);
        assert_eq!(r.buffered(), 100);
        // [130, 160) does not fit: the hole before 10 is given up and
        // [10, 60) delivered; then it fits.
        let oc = s.push(&mut r, 131, &data[130..160]);
        assert!(oc.gap_declared && oc.out_of_order);
        assert_eq!(oc.dropped_bytes, 0);
        assert_eq!(s.gaps(), vec![(0, 10)]);
        assert_eq!(r.next_offset(), 60);
        assert_eq!(r.buffered(), 80);
        // A piece larger than the limit: every hole before it is given up,
        // the buffered runs delivered, then the piece itself.
        let oc = s.push(&mut r, 161, &data[160..400]);
        assert!(oc.gap_declared);
        assert!(r.buffered() <= limit);
        s.finish(&mut r);
        assert_eq!(s.gaps(), vec![(0, 10), (60, 10), (120, 10)]);
        assert_eq!(r.next_offset(), 400);
        for g in &s.0 {
            if let Got::Data(o, b) = g {
                assert_eq!(&data[*o as usize..*o as usize + b.len()], &b[..]);
            }
        }
    }

    #[test]
    fn new_piece_below_buffered_runs_is_delivered_when_full() {
        let data = stream(200);
        let mut r = Reassembler::new(0, 50);
        let mut s = Sink::default();
        s.push(&mut r, 101, &data[100..150]);
        // [20, 40) is lower than everything buffered and does not fit.
        let oc = s.push(&mut r, 21, &data[20..40]);
        assert!(oc.gap_declared);
        assert_eq!(s.0[0], Got::Gap(0, 20));
        assert_eq!(s.0[1], Got::Data(20, data[20..40].to_vec()));
        assert_eq!(r.buffered(), 50);
        assert_eq!(r.next_offset(), 40);
    }

    #[test]
    fn finish_reports_gap_then_data() {
        let mut r = Reassembler::new(0, DEFAULT_OOO_LIMIT);
        let mut s = Sink::default();
        s.push(&mut r, 1, b"ab");
        s.push(&mut r, 6, b"fg");
        s.push(&mut r, 11, b"k");
        let oc = s.finish(&mut r);
        assert!(oc.gap_declared);
        assert_eq!(
            s.0,
            vec![
                Got::Data(0, b"ab".to_vec()),
                Got::Gap(2, 3),
                Got::Data(5, b"fg".to_vec()),
                Got::Gap(7, 3),
                Got::Data(10, b"k".to_vec()),
            ]
        );
        assert_eq!(r.buffered(), 0);
        assert_eq!(r.next_offset(), 11);
        assert_eq!(s.finish(&mut r), PushOutcome::default());
    }

    #[test]
    fn midstream_start() {
        let mut r = Reassembler::new_midstream(DEFAULT_OOO_LIMIT);
        let mut s = Sink::default();
        s.push(&mut r, 5000, b"middle");
        assert_eq!(r.start_seq(), Some(5000));
        s.push(&mut r, 5006, b" end");
        assert_eq!(s.bytes(), b"middle end");
        assert!(s.gaps().is_empty());
        // Data from before the capture began is old, not a gap.
        let oc = s.push(&mut r, 4990, b"0123456789midd");
        assert_eq!(oc.duplicate_bytes, 14);
        assert!(!oc.conflicting_overlap);
        assert_eq!(r.next_offset(), 10);
    }

    #[test]
    fn far_future_segment_ignored() {
        let mut r = Reassembler::new(0, DEFAULT_OOO_LIMIT);
        let mut s = Sink::default();
        s.push(&mut r, 1, b"abc");
        let far = 4u32.wrapping_add((MAX_AHEAD + 1) as u32);
        let oc = s.push(&mut r, far, b"zzz");
        assert_eq!(oc.dropped_bytes, 3);
        assert!(!oc.out_of_order && !oc.gap_declared);
        assert_eq!(r.buffered(), 0);
        // Exactly MAX_AHEAD ahead is still this stream.
        let oc = s.push(&mut r, 4u32.wrapping_add(MAX_AHEAD as u32), b"y");
        assert!(oc.out_of_order);
        assert_eq!(r.buffered(), 1);
        s.push(&mut r, 4, b"d");
        assert_eq!(s.bytes(), b"abcd");
    }

    #[test]
    fn zero_limit_never_buffers() {
        let mut r = Reassembler::new(0, 0);
        let mut s = Sink::default();
        let oc = s.push(&mut r, 11, b"xyz");
        assert!(oc.gap_declared);
        assert_eq!(r.buffered(), 0);
        assert_eq!(s.0, vec![Got::Gap(0, 10), Got::Data(10, b"xyz".to_vec())]);
    }
}
