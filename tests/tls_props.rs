//! Property tests of the TLS record layer: a stream of records cut anywhere
//! gives the same records, and arbitrary bytes never panic nor hold more than
//! one record.

use osiscope::proto::tls::{HEADER_LEN, MAX_RECORD, Splitter};
use proptest::prelude::*;

/// Records as (content type, version minor, body).
fn records() -> impl Strategy<Value = Vec<(u8, u8, Vec<u8>)>> {
    prop::collection::vec(
        (
            20u8..=24,
            0u8..=4,
            prop::collection::vec(any::<u8>(), 0..600),
        ),
        0..12,
    )
}

fn stream(recs: &[(u8, u8, Vec<u8>)]) -> Vec<u8> {
    let mut s = Vec::new();
    for (t, minor, body) in recs {
        s.extend_from_slice(&[*t, 3, *minor]);
        s.extend_from_slice(&(body.len() as u16).to_be_bytes());
        s.extend_from_slice(body);
    }
    s
}

fn split(stream: &[u8], cuts: &[usize]) -> Vec<(u8, u8, Vec<u8>)> {
    let mut sp = Splitter::default();
    let mut out = Vec::new();
    let mut at = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    cuts.sort_unstable();
    for (i, c) in cuts
        .into_iter()
        .chain(std::iter::once(stream.len()))
        .enumerate()
    {
        sp.push(&stream[at..c], i as u64 + 1, |r| {
            out.push((r.content_type(), r.header[2], r.body.to_vec()))
        });
        at = c;
    }
    assert!(sp.lost().is_none());
    assert_eq!(sp.pending(), 0, "nothing left over");
    out
}

proptest! {
    #[test]
    fn records_cut_anywhere_come_out_the_same(recs in records(), cuts in prop::collection::vec(any::<usize>(), 0..20)) {
        let s = stream(&recs);
        prop_assert_eq!(split(&s, &cuts), recs);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_hold_at_most_a_record(bytes in prop::collection::vec(any::<u8>(), 0..4000), cuts in prop::collection::vec(any::<usize>(), 0..8)) {
        let mut sp = Splitter::default();
        let mut at = 0;
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.sort_unstable();
        for c in cuts.into_iter().chain(std::iter::once(bytes.len())) {
            sp.push(&bytes[at..c], 1, |r| assert!(r.body.len() <= MAX_RECORD));
            prop_assert!(sp.pending() <= HEADER_LEN + MAX_RECORD);
            at = c;
        }
    }
}
