//! Properties of the TCP stream reassembler: whatever the segmentation,
//! order, retransmissions and losses, the delivered stream is the sent one,
//! with losses reported as gaps, and the out-of-order buffer stays bounded.

use osiscope::flow::reassembly::{Chunk, PushOutcome, Reassembler};
use proptest::prelude::*;
use proptest::sample::Index;

/// A chunk, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Data(u64, Vec<u8>),
    Gap(u64, u64),
}

fn owned(c: Chunk<'_>) -> Got {
    match c {
        Chunk::Data { offset, bytes } => Got::Data(offset, bytes.to_vec()),
        Chunk::Gap { offset, len } => Got::Gap(offset, len),
    }
}

/// ISNs anywhere, and often just before the wrap.
fn isn() -> impl Strategy<Value = u32> {
    prop_oneof![any::<u32>(), 0xFFFF_F000u32..=u32::MAX]
}

/// One segment: the stream's bytes `[a, b)`, every third byte XORed with
/// `flip` (a retransmission with different content when non-zero).
type Range = (usize, usize, u8);

/// A stream, an ISN, and the ranges of it sent: a segmentation covering
/// the whole stream, plus retransmitted ranges (possibly straddling segment
/// boundaries, sometimes with different bytes), all shuffled.
fn scenario() -> impl Strategy<Value = (Vec<u8>, u32, Vec<Range>)> {
    (
        prop::collection::vec(any::<u8>(), 0..4096),
        isn(),
        prop::collection::vec(any::<Index>(), 0..48),
        prop::collection::vec(
            (
                any::<Index>(),
                any::<Index>(),
                prop_oneof![3 => Just(0u8), 1 => any::<u8>()],
            ),
            0..12,
        ),
    )
        .prop_flat_map(|(data, isn, cuts, dups)| {
            let len = data.len();
            let mut bounds: Vec<usize> = cuts.iter().map(|i| i.index(len + 1)).collect();
            bounds.push(0);
            bounds.push(len);
            bounds.sort_unstable();
            bounds.dedup();
            let mut ranges: Vec<Range> = bounds.windows(2).map(|w| (w[0], w[1], 0)).collect();
            for (a, b, flip) in dups {
                let (a, b) = (a.index(len + 1), b.index(len + 1));
                if a != b {
                    ranges.push((a.min(b), a.max(b), flip));
                }
            }
            (Just(data), Just(isn), Just(ranges).prop_shuffle())
        })
}

/// Puts the range starting at 0 first (a mid-stream reassembler takes the
/// first segment it sees as offset 0).
fn zero_first(ranges: &mut [Range]) {
    if let Some(i) = ranges.iter().position(|r| r.0 == 0) {
        ranges.swap(0, i);
    }
}

/// The bytes a range carries.
fn payload(data: &[u8], &(a, b, flip): &Range) -> Vec<u8> {
    (a..b)
        .map(|o| if o % 3 == 0 { data[o] ^ flip } else { data[o] })
        .collect()
}

/// Pushes every range, then finishes; checks the buffer bound after every
/// call and that chunks are contiguous from offset 0.
fn run(
    r: &mut Reassembler,
    isn: u32,
    data: &[u8],
    ranges: &[Range],
    limit: usize,
) -> Result<(Vec<Got>, Vec<PushOutcome>), TestCaseError> {
    let mut got = Vec::new();
    let mut outcomes = Vec::new();
    for range in ranges {
        let seq = isn.wrapping_add(1).wrapping_add(range.0 as u32);
        let bytes = payload(data, range);
        outcomes.push(r.push(seq, &bytes, &mut |c| got.push(owned(c))));
        prop_assert!(r.buffered() <= limit);
    }
    outcomes.push(r.finish(&mut |c| got.push(owned(c))));
    prop_assert_eq!(r.buffered(), 0);
    let mut pos = 0u64;
    for g in &got {
        match g {
            Got::Data(o, b) => {
                prop_assert_eq!(*o, pos);
                prop_assert!(!b.is_empty());
                pos += b.len() as u64;
            }
            Got::Gap(o, l) => {
                prop_assert_eq!(*o, pos);
                prop_assert!(*l > 0);
                pos += l;
            }
        }
    }
    prop_assert_eq!(pos, r.next_offset());
    Ok((got, outcomes))
}

/// A sequence number near the stream's start, or anywhere.
#[derive(Debug, Clone)]
enum Seq {
    Near(i32),
    Any(u32),
}

proptest! {
    #[test]
    fn reordered_and_duplicated_segments_rebuild_the_stream(
        (data, isn, mut ranges) in scenario(),
        midstream in any::<bool>(),
    ) {
        // Buffered bytes are distinct bytes not yet delivered, so a limit of
        // the stream's length is never reached.
        let limit = data.len();
        let mut r = if midstream {
            zero_first(&mut ranges);
            Reassembler::new_midstream(limit)
        } else {
            Reassembler::new(isn, limit)
        };
        let (got, outcomes) = run(&mut r, isn, &data, &ranges, limit)?;
        // The model: the first copy of each byte wins; every later copy is a
        // duplicate, and a conflict when it differs.
        let mut first: Vec<Option<u8>> = vec![None; data.len()];
        for (range, oc) in ranges.iter().zip(&outcomes) {
            let mut dup = 0u64;
            let mut conflict = false;
            for (o, v) in (range.0..range.1).zip(payload(&data, range)) {
                match first[o] {
                    Some(f) => {
                        dup += 1;
                        conflict |= f != v;
                    }
                    None => first[o] = Some(v),
                }
            }
            prop_assert_eq!(oc.duplicate_bytes, dup, "{:?}", range);
            prop_assert_eq!(oc.conflicting_overlap, conflict, "{:?}", range);
            prop_assert_eq!(oc.dropped_bytes, 0);
            prop_assert!(!oc.gap_declared);
        }
        let expected: Vec<u8> = first.into_iter().flatten().collect();
        let mut delivered = Vec::new();
        for g in &got {
            match g {
                Got::Data(_, b) => delivered.extend_from_slice(b),
                Got::Gap(..) => prop_assert!(false, "gap in a complete stream: {:?}", g),
            }
        }
        prop_assert_eq!(expected.len(), data.len());
        prop_assert_eq!(&delivered, &expected);
        prop_assert_eq!(r.next_offset(), data.len() as u64);
    }

    #[test]
    fn lost_segments_become_gaps(
        (data, isn, ranges) in scenario(),
        keep in prop::collection::vec(prop::bool::weighted(0.7), 64),
        limit in prop_oneof![0usize..2048, Just(usize::MAX)],
    ) {
        // Same content in every copy here: each Data byte is checked against
        // the original.
        let kept: Vec<Range> = ranges
            .iter()
            .enumerate()
            .filter(|(i, _)| keep[i % keep.len()])
            .map(|(_, &(a, b, _))| (a, b, 0))
            .collect();
        let end = kept.iter().map(|r| r.1).max().unwrap_or(0);
        let mut r = Reassembler::new(isn, limit);
        let (got, _) = run(&mut r, isn, &data, &kept, limit)?;
        prop_assert_eq!(r.next_offset(), end as u64);
        let mut delivered = vec![false; end];
        for g in &got {
            if let Got::Data(o, b) = g {
                let o = *o as usize;
                prop_assert_eq!(&data[o..o + b.len()], &b[..]);
                delivered[o..o + b.len()].iter_mut().for_each(|d| *d = true);
            }
        }
        if limit >= data.len() {
            // No gap was forced: exactly the bytes never sent are missing.
            let mut sent = vec![false; end];
            for &(a, b, _) in &kept {
                sent[a..b].iter_mut().for_each(|s| *s = true);
            }
            prop_assert_eq!(delivered, sent);
        }
    }

    #[test]
    fn arbitrary_segments_stay_bounded(
        isn in isn(),
        midstream in any::<bool>(),
        history in prop_oneof![Just(None), (0usize..128).prop_map(Some)],
        segs in prop::collection::vec(
            (
                prop_oneof![
                    3 => (-2048i32..4096).prop_map(Seq::Near),
                    1 => any::<u32>().prop_map(Seq::Any),
                ],
                prop::collection::vec(any::<u8>(), 0..300),
            ),
            0..64,
        ),
    ) {
        const LIMIT: usize = 512;
        let mut r = if midstream {
            Reassembler::new_midstream(LIMIT)
        } else {
            Reassembler::new(isn, LIMIT)
        };
        if let Some(h) = history {
            r = r.with_history(h);
        }
        let mut pos = 0u64;
        let mut check = |c: Chunk<'_>| {
            let (o, l) = match c {
                Chunk::Data { offset, bytes } => (offset, bytes.len() as u64),
                Chunk::Gap { offset, len } => (offset, len),
            };
            assert_eq!(o, pos, "chunks out of order");
            assert!(l > 0, "empty chunk");
            pos += l;
        };
        for (seq, bytes) in &segs {
            let seq = match *seq {
                Seq::Near(d) => isn.wrapping_add(d as u32),
                Seq::Any(s) => s,
            };
            let oc = r.push(seq, bytes, &mut check);
            prop_assert!(r.buffered() <= LIMIT);
            prop_assert!(oc.duplicate_bytes + oc.dropped_bytes <= bytes.len() as u64);
        }
        r.finish(&mut check);
        prop_assert_eq!(r.buffered(), 0);
        prop_assert_eq!(pos, r.next_offset());
    }
}
