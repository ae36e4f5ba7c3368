//! TCP stream reassembly against a model of its documented contract.
//!
//! Input: an 8-byte header (mode, history, out-of-order limit, ISN), then
//! operations of 7 bytes each: op, 4 bytes of sequence distance, 2 bytes of
//! length. Payload bytes are a function of their sequence number, so
//! retransmissions agree, unless the op asks for bytes taken from the input
//! (then overlaps may conflict).
//!
//! The model keeps the first copy of every byte placed at or after the next
//! expected offset and checks, after every operation:
//! - chunks are contiguous from the previous next offset, never empty, and
//!   `next_offset()` ends where they end;
//! - delivered bytes are the first copy of those offsets; gaps skip no byte
//!   that was received (the limit gives up holes, never data), and no gap is
//!   longer than `MAX_AHEAD`;
//! - `buffered()` never exceeds the limit given at construction, nor the
//!   shared limit when the header asks for one (mode bit 1; its size from the
//!   rest of the mode byte); the shared count is always the reassembler's
//!   charge (buffered bytes and a fixed overhead per run), and zero once it
//!   is dropped;
//! - `PushOutcome` accounts for every byte: duplicates (before offset 0,
//!   behind the next expected byte, or already buffered) + dropped + new =
//!   payload length; `out_of_order`, `gap_declared` and `conflicting_overlap`
//!   say what happened;
//! - after `finish`, nothing is buffered and every received byte was delivered.

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use osiscope::flow::reassembly::{
    Chunk, DEFAULT_HISTORY, DEFAULT_OOO_LIMIT, MAX_AHEAD, PushOutcome, Reassembler, SharedLimit,
};

/// Operations per input: enough for any interesting interleaving, few enough
/// that the byte-per-entry model stays fast.
const MAX_OPS: usize = 128;
/// Longest payload of one push (10 bits of the length field).
const MAX_PAYLOAD: usize = 1023;

#[derive(Debug)]
enum Got {
    Data(u64, Vec<u8>),
    Gap(u64, u64),
}

struct Model {
    /// Sequence number of offset 0, once known.
    base: Option<u32>,
    /// First copy of every byte received at or after the next expected offset.
    first: BTreeMap<u64, u8>,
    /// Offset of the next expected byte.
    next: u64,
    /// Where the last gap ended: delivered bytes before it are forgotten.
    gap_end: u64,
    history: usize,
    limit: usize,
    shared: Option<SharedLimit>,
}

/// The byte a well-behaved sender puts at `seq`.
fn pattern(seq: u32) -> u8 {
    (seq as u8).wrapping_mul(31) ^ (seq >> 8) as u8
}

impl Model {
    /// Checks the chunks of one operation and moves the model on; returns
    /// whether a gap was declared.
    fn chunks(&mut self, got: &[Got], r: &Reassembler) -> bool {
        let mut cur = self.next;
        let mut gap = false;
        for g in got {
            match g {
                Got::Data(off, bytes) => {
                    assert_eq!(*off, cur, "data chunk not at the next offset: {got:?}");
                    assert!(!bytes.is_empty(), "empty data chunk");
                    for (i, b) in bytes.iter().enumerate() {
                        let o = off + i as u64;
                        match self.first.get(&o) {
                            Some(f) => assert_eq!(f, b, "offset {o}: delivered a later copy"),
                            None => panic!("offset {o}: delivered a byte never received"),
                        }
                    }
                    cur += bytes.len() as u64;
                }
                Got::Gap(off, len) => {
                    assert_eq!(*off, cur, "gap not at the next offset: {got:?}");
                    assert!(*len > 0, "empty gap");
                    assert!(*len <= MAX_AHEAD, "gap of {len} bytes");
                    if let Some((o, _)) = self.first.range(off..&(off + len)).next() {
                        panic!("gap {off}+{len} skips received offset {o}");
                    }
                    cur += len;
                    self.gap_end = cur;
                    gap = true;
                }
            }
        }
        assert_eq!(
            r.next_offset(),
            cur,
            "next_offset does not follow the chunks"
        );
        self.next = cur;
        assert!(
            r.buffered() <= self.limit,
            "{} bytes buffered, limit {}",
            r.buffered(),
            self.limit
        );
        if let Some(sh) = &self.shared {
            assert_eq!(sh.used(), r.charge(), "shared count differs");
        }
        gap
    }

    fn push(&mut self, r: &mut Reassembler, seq: u32, payload: &[u8]) {
        let mut got = Vec::new();
        let oc = r.push(seq, payload, &mut |c| got.push(own(c)));
        if payload.is_empty() {
            assert_eq!(oc, PushOutcome::default());
            assert!(got.is_empty());
            return;
        }
        let base = *self.base.get_or_insert(seq);
        assert_eq!(r.start_seq(), Some(base));
        let next = self.next;
        let expected = base.wrapping_add(next as u32);
        let dist = i64::from(seq.wrapping_sub(expected) as i32);
        if dist > MAX_AHEAD as i64 {
            assert_eq!(
                oc,
                PushOutcome {
                    dropped_bytes: payload.len() as u64,
                    ..PushOutcome::default()
                }
            );
            assert!(got.is_empty());
            return;
        }
        let start = next as i64 + dist;
        // Delivered bytes still remembered for comparison: since the last gap,
        // at most `history` of them.
        let hist_from = self.gap_end.max(next.saturating_sub(self.history as u64));
        let (mut dup, mut new) = (0u64, 0u64);
        let (mut must_conflict, mut may_conflict) = (false, false);
        for (i, &b) in payload.iter().enumerate() {
            let off = start + i as i64;
            if off < 0 {
                dup += 1;
                continue;
            }
            let off = off as u64;
            match self.first.get(&off) {
                Some(&f) => {
                    dup += 1;
                    if f != b {
                        may_conflict = true;
                        // Buffered bytes are always compared, delivered ones
                        // while remembered.
                        if off >= next || off >= hist_from {
                            must_conflict = true;
                        }
                    }
                }
                None if off < next => dup += 1,
                None => {
                    new += 1;
                    self.first.insert(off, b);
                }
            }
        }
        assert_eq!(oc.dropped_bytes, 0);
        assert_eq!(oc.duplicate_bytes, dup, "duplicates miscounted: {oc:?}");
        assert_eq!(dup + new, payload.len() as u64);
        assert_eq!(oc.out_of_order, start > next as i64, "{oc:?}");
        if must_conflict {
            assert!(oc.conflicting_overlap, "differing overlap not flagged");
        }
        if oc.conflicting_overlap {
            assert!(may_conflict, "overlap flagged as conflicting, bytes agree");
        }
        let gap = self.chunks(&got, r);
        assert_eq!(oc.gap_declared, gap);
    }

    fn finish(&mut self, r: &mut Reassembler) {
        let mut got = Vec::new();
        let oc = r.finish(&mut |c| got.push(own(c)));
        let gap = self.chunks(&got, r);
        assert_eq!(
            oc,
            PushOutcome {
                gap_declared: gap,
                ..PushOutcome::default()
            }
        );
        assert_eq!(r.buffered(), 0, "bytes still buffered after finish");
        if let Some((&o, _)) = self.first.last_key_value() {
            assert!(o < r.next_offset(), "offset {o} never delivered");
        }
    }
}

fn own(c: Chunk<'_>) -> Got {
    match c {
        Chunk::Data { offset, bytes } => Got::Data(offset, bytes.to_vec()),
        Chunk::Gap { offset, len } => Got::Gap(offset, len),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((head, mut ops)) = data.split_first_chunk::<8>() else {
        return;
    };
    let [mode, hist, l0, l1, i0, i1, i2, i3] = *head;
    let isn = u32::from_le_bytes([i0, i1, i2, i3]);
    let limit = match u16::from_le_bytes([l0, l1]) {
        0xffff => DEFAULT_OOO_LIMIT,
        n => usize::from(n & 0x1fff),
    };
    let history = match hist % 4 {
        0 => DEFAULT_HISTORY,
        1 => 0,
        _ => usize::from(hist >> 2),
    };
    let midstream = mode & 1 != 0;
    let r = if midstream {
        Reassembler::new_midstream(limit)
    } else {
        Reassembler::new(isn, limit)
    };
    let mut r = r.with_history(history);
    assert_eq!(r.ooo_limit(), limit);
    let shared = (mode & 2 != 0).then(|| SharedLimit::new(usize::from(mode >> 2) * 16));
    if let Some(sh) = &shared {
        r = r.sharing(sh);
    }
    let mut m = Model {
        base: (!midstream).then(|| isn.wrapping_add(1)),
        first: BTreeMap::new(),
        next: 0,
        gap_end: 0,
        history,
        limit: shared
            .as_ref()
            .map_or(limit, |_| limit.min(usize::from(mode >> 2) * 16)),
        shared: shared.clone(),
    };
    // Sequence numbers are chosen near the first byte, or anywhere.
    let origin = isn.wrapping_add(1);
    for _ in 0..MAX_OPS {
        let Some((op, rest)) = ops.split_first_chunk::<7>() else {
            break;
        };
        ops = rest;
        let [kind, d0, d1, d2, d3, n0, n1] = *op;
        if kind % 8 == 7 {
            m.finish(&mut r);
            continue;
        }
        let delta = u32::from_le_bytes([d0, d1, d2, d3]);
        let seq = if kind & 0x80 != 0 {
            delta
        } else {
            origin.wrapping_add(delta % 8192).wrapping_sub(1024)
        };
        let len = usize::from(u16::from_le_bytes([n0, n1])) & MAX_PAYLOAD;
        let mut payload: Vec<u8> = (0..len as u32)
            .map(|i| pattern(seq.wrapping_add(i)))
            .collect();
        if kind & 0x40 != 0 {
            // Bytes from the input: a sender that changed its mind.
            let take = len.min(ops.len());
            for (p, b) in payload.iter_mut().zip(&ops[..take]) {
                *p ^= b;
            }
            ops = &ops[take..];
        }
        m.push(&mut r, seq, &payload);
    }
    m.finish(&mut r);
    drop(r);
    if let Some(sh) = shared {
        assert_eq!(sh.used(), 0, "bytes not given back on drop");
    }
});
