//! Properties of the WebSocket parser: frames and messages do not depend on how the stream
//! is cut into pushes, masking round-trips, permessage-deflate restores the originals, and
//! no input makes it panic or keep more than its limits.

use flate2::{Compress, Compression, FlushCompress};
use osiscope::proto::websocket::*;
use proptest::prelude::*;
use proptest::sample::Index;

use osiscope::proto::websocket::encode_frame as encode;

/// Compresses one message as RFC 7692 §7.2.1 says: sync flush, trailing 00 00 ff ff removed.
fn deflate_msg(c: &mut Compress, data: &[u8]) -> Vec<u8> {
    if data.is_empty() {
        // A repeated sync flush emits nothing; an empty message is one empty stored
        // block (RFC 7692 §7.2.3.6).
        return vec![0x00];
    }
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    let mut input = data;
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(1024));
        }
        let before = c.total_in();
        c.compress_vec(input, &mut out, FlushCompress::Sync)
            .unwrap();
        input = &input[(c.total_in() - before) as usize..];
        if input.is_empty() && out.capacity() > out.len() {
            break;
        }
    }
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

/// A data message to send: its bytes, how to fragment it, pings between fragments.
#[derive(Clone, Debug)]
struct Msg {
    text: bool,
    data: Vec<u8>,
    /// Fragment boundaries, as positions into the (possibly compressed) payload.
    cuts: Vec<Index>,
    /// Per fragment boundary: a ping with this payload is sent there.
    pings: Vec<Option<Vec<u8>>>,
    compress: bool,
    keys: Vec<[u8; 4]>,
}

fn msg() -> impl Strategy<Value = Msg> {
    let data = prop_oneof![
        8 => any::<String>().prop_map(|s| (true, s.into_bytes())),
        8 => prop::collection::vec(any::<u8>(), 0..300).prop_map(|v| (false, v)),
        2 => "[a-z ]{100,400}".prop_map(|s| (true, s.into_bytes())),
        1 => prop::collection::vec(any::<u8>(), 65_530..65_600).prop_map(|v| (false, v)),
    ];
    (
        data,
        prop::collection::vec(any::<Index>(), 0..4),
        prop::collection::vec(
            prop::option::of(prop::collection::vec(any::<u8>(), 0..10)),
            4,
        ),
        any::<bool>(),
        prop::collection::vec(any::<[u8; 4]>(), 10),
    )
        .prop_map(|((text, data), cuts, pings, compress, keys)| Msg {
            text,
            data,
            cuts,
            pings,
            compress,
            keys,
        })
}

/// A frame the parser should report, and where it ends in the stream.
#[derive(Debug)]
struct Expected {
    end: usize,
    opcode: u8,
    fin: bool,
    rsv1: bool,
    payload: Vec<u8>,
    key: Option<[u8; 4]>,
}

/// A message the parser should report, and where its frames start and end in the stream.
#[derive(Debug)]
struct ExpectedMsg {
    start: usize,
    end: usize,
    opcode: u8,
    data: Vec<u8>,
    wire_len: u64,
    compressed: bool,
}

/// The negotiated deflate set-up of one test stream.
struct Deflate {
    params: DeflateParams,
    compressor: Compress,
    reset_each: bool,
}

/// Encodes the messages as `side` would send them.
fn build(
    side: Side,
    msgs: &[Msg],
    mut deflate: Option<&mut Deflate>,
) -> (Vec<u8>, Vec<Expected>, Vec<ExpectedMsg>) {
    let mut s = Vec::new();
    let mut frames = Vec::new();
    let mut out_msgs = Vec::new();
    for m in msgs {
        let compressed = m.compress && deflate.is_some();
        let wire = match deflate.as_deref_mut() {
            Some(d) if compressed => {
                let z = deflate_msg(&mut d.compressor, &m.data);
                if d.reset_each {
                    d.compressor.reset();
                }
                z
            }
            _ => m.data.clone(),
        };
        let mut cuts: Vec<usize> = m.cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        cuts.push(0);
        cuts.push(wire.len());
        cuts.sort_unstable();
        cuts.dedup();
        if cuts.len() == 1 {
            cuts.push(0);
        }
        let start = s.len();
        let n = cuts.len() - 1;
        let mut keys = m.keys.iter().cycle();
        for (i, w) in cuts.windows(2).enumerate() {
            let piece = &wire[w[0]..w[1]];
            let first = i == 0;
            let fin = i + 1 == n;
            let opcode = if first { if m.text { 1 } else { 2 } } else { 0 };
            let key = (side == Side::Client).then(|| *keys.next().unwrap());
            s.extend(encode(fin, first && compressed, opcode, piece, key));
            frames.push(Expected {
                end: s.len(),
                opcode,
                fin,
                rsv1: first && compressed,
                payload: piece.to_vec(),
                key,
            });
            if !fin && let Some(Some(p)) = m.pings.get(i) {
                let key = (side == Side::Client).then(|| *keys.next().unwrap());
                s.extend(encode(true, false, 9, p, key));
                frames.push(Expected {
                    end: s.len(),
                    opcode: 9,
                    fin: true,
                    rsv1: false,
                    payload: p.clone(),
                    key,
                });
            }
        }
        out_msgs.push(ExpectedMsg {
            start,
            end: s.len(),
            opcode: if m.text { 1 } else { 2 },
            data: m.data.clone(),
            wire_len: wire.len() as u64,
            compressed,
        });
    }
    (s, frames, out_msgs)
}

/// Cuts `s` at the given points and pushes the pieces as capture frames 0, 1, …; also
/// returns where each piece starts.
fn parse(p: &mut WsParser, s: &[u8], splits: &[Index]) -> (Vec<WsEvent>, Vec<usize>) {
    let mut at: Vec<usize> = splits.iter().map(|i| i.index(s.len() + 1)).collect();
    at.push(0);
    at.sort_unstable();
    at.dedup();
    let mut out = Vec::new();
    for (n, w) in at
        .iter()
        .zip(at.iter().skip(1).chain(std::iter::once(&s.len())))
        .enumerate()
    {
        p.push(&s[*w.0..*w.1], n as u64, &mut out);
    }
    (out, at)
}

/// The capture frame (piece number) holding stream byte `pos`.
fn piece_of(starts: &[usize], pos: usize) -> u64 {
    (starts.partition_point(|&s| s <= pos) - 1) as u64
}

/// Events with every capture frame number set to 0.
fn without_frames(ev: &[WsEvent]) -> Vec<WsEvent> {
    ev.iter()
        .cloned()
        .map(|e| match e {
            WsEvent::Frame(f) => WsEvent::Frame(FrameInfo {
                frame: 0,
                first_frame: 0,
                ..f
            }),
            WsEvent::Message(m) => WsEvent::Message(MessageInfo {
                first_frame: 0,
                last_frame: 0,
                segments: Default::default(),
                ..m
            }),
            WsEvent::Violation { kind, .. } => WsEvent::Violation { frame: 0, kind },
        })
        .collect()
}

fn check(
    ev: &[WsEvent],
    starts: &[usize],
    frames: &[Expected],
    msgs: &[ExpectedMsg],
) -> Result<(), TestCaseError> {
    let got_frames: Vec<&FrameInfo> = ev
        .iter()
        .filter_map(|e| {
            if let WsEvent::Frame(f) = e {
                Some(f)
            } else {
                None
            }
        })
        .collect();
    let got_msgs: Vec<&MessageInfo> = ev
        .iter()
        .filter_map(|e| {
            if let WsEvent::Message(m) = e {
                Some(m)
            } else {
                None
            }
        })
        .collect();
    let violations: Vec<&WsEvent> = ev
        .iter()
        .filter(|e| matches!(e, WsEvent::Violation { .. }))
        .collect();
    prop_assert!(violations.is_empty(), "{:?}", violations);
    prop_assert_eq!(got_frames.len(), frames.len());
    for (g, e) in got_frames.iter().zip(frames) {
        prop_assert_eq!(g.frame, piece_of(starts, e.end - 1));
        prop_assert_eq!(
            (g.opcode, g.fin, g.rsv1, g.mask_key),
            (e.opcode, e.fin, e.rsv1, e.key)
        );
        prop_assert_eq!(g.payload_len, e.payload.len() as u64);
        prop_assert_eq!(
            &g.payload[..],
            &e.payload[..e.payload.len().min(MAX_FRAME_KEEP)]
        );
    }
    prop_assert_eq!(got_msgs.len(), msgs.len());
    for (g, e) in got_msgs.iter().zip(msgs) {
        prop_assert_eq!(&g.data, &e.data);
        prop_assert_eq!(g.error.as_ref(), None);
        prop_assert_eq!(
            (g.opcode, g.compressed, g.wire_len),
            (e.opcode, e.compressed, e.wire_len)
        );
        prop_assert_eq!(g.length, Some(e.data.len() as u64));
        prop_assert_eq!(g.first_frame, piece_of(starts, e.start));
        prop_assert_eq!(g.last_frame, piece_of(starts, e.end - 1));
        if e.opcode == 1 {
            prop_assert!(g.utf8_valid);
        }
    }
    Ok(())
}

/// The deflate set-up for one direction: compressor matching the negotiated parameters.
fn deflate_for(side: Side, no_takeover: bool, bits: Option<u8>) -> Deflate {
    let mut params = DeflateParams::default();
    match side {
        Side::Client => {
            params.client_no_context_takeover = no_takeover;
            params.client_max_window_bits = bits;
        }
        Side::Server => {
            params.server_no_context_takeover = no_takeover;
            params.server_max_window_bits = bits;
        }
    }
    let window = bits.unwrap_or(15).max(9);
    Deflate {
        params,
        compressor: Compress::new_with_window_bits(Compression::default(), false, window),
        reset_each: no_takeover,
    }
}

/// Any parameters, window sizes out of range included.
fn any_params() -> impl Strategy<Value = DeflateParams> {
    let bits = || prop::option::of(any::<u8>());
    (any::<bool>(), any::<bool>(), bits(), bits()).prop_map(|(a, b, c, d)| DeflateParams {
        server_no_context_takeover: a,
        client_no_context_takeover: b,
        server_max_window_bits: c,
        client_max_window_bits: d,
    })
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Client), Just(Side::Server)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn split_does_not_matter(
        side in side(),
        msgs in prop::collection::vec(msg(), 0..6),
        splits in prop::collection::vec(any::<Index>(), 0..24),
    ) {
        let (s, frames, expected) = build(side, &msgs, None);
        let (ev, starts) = parse(&mut WsParser::new(side, None), &s, &splits);
        check(&ev, &starts, &frames, &expected)?;
        let (whole, _) = parse(&mut WsParser::new(side, None), &s, &[]);
        prop_assert_eq!(without_frames(&ev), without_frames(&whole));
        let mut p = WsParser::new(side, None);
        parse(&mut p, &s, &splits);
        let (n, h, b) = p.totals();
        prop_assert_eq!(n, frames.len() as u64);
        prop_assert_eq!(h + b, s.len() as u64);
    }

    #[test]
    fn deflated_messages_come_back(
        side in side(),
        no_takeover in any::<bool>(),
        bits in prop::option::of(8u8..=15),
        msgs in prop::collection::vec(msg(), 0..6),
        splits in prop::collection::vec(any::<Index>(), 0..24),
    ) {
        let mut d = deflate_for(side, no_takeover, bits);
        let params = d.params.clone();
        let (s, frames, expected) = build(side, &msgs, Some(&mut d));
        let (ev, starts) = parse(&mut WsParser::new(side, Some(params.clone())), &s, &splits);
        check(&ev, &starts, &frames, &expected)?;
        let (whole, _) = parse(&mut WsParser::new(side, Some(params)), &s, &[]);
        prop_assert_eq!(without_frames(&ev), without_frames(&whole));
    }

    #[test]
    fn masking_round_trips(
        data in prop::collection::vec(any::<u8>(), 0..200),
        key in any::<[u8; 4]>(),
        offset in any::<u64>(),
        cut in any::<Index>(),
    ) {
        let mut whole = data.clone();
        apply_mask(&mut whole, key, offset);
        let mut pieces = data.clone();
        let at = cut.index(data.len() + 1);
        let (a, b) = pieces.split_at_mut(at);
        apply_mask(a, key, offset);
        apply_mask(b, key, offset.wrapping_add(at as u64));
        // 2^64 is a multiple of 4: a wrapped offset keeps the key phase.
        prop_assert_eq!(&pieces, &whole);
        apply_mask(&mut whole, key, offset);
        prop_assert_eq!(whole, data);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        side in side(),
        deflate in prop::option::of(any_params()),
        bytes in prop::collection::vec(any::<u8>(), 0..3000),
        splits in prop::collection::vec(any::<Index>(), 0..16),
    ) {
        let mut p = WsParser::new(side, deflate);
        let (ev, _) = parse(&mut p, &bytes, &splits);
        within_limits(&ev)?;
        let (_, h, b) = p.totals();
        prop_assert!(h + b <= bytes.len() as u64);
    }

    #[test]
    fn corrupted_streams_never_panic(
        side in side(),
        msgs in prop::collection::vec(msg(), 1..5),
        flips in prop::collection::vec((any::<Index>(), any::<u8>()), 1..6),
        splits in prop::collection::vec(any::<Index>(), 0..16),
    ) {
        let mut d = deflate_for(side, false, None);
        let params = d.params.clone();
        let (mut s, _, _) = build(side, &msgs, Some(&mut d));
        for (at, x) in flips {
            let i = at.index(s.len());
            s[i] ^= x;
        }
        let (ev, _) = parse(&mut WsParser::new(side, Some(params)), &s, &splits);
        within_limits(&ev)?;
    }
}

/// No event holds more than the limits allow.
fn within_limits(ev: &[WsEvent]) -> Result<(), TestCaseError> {
    for e in ev {
        match e {
            WsEvent::Frame(f) => {
                prop_assert!(f.payload.len() <= MAX_FRAME_KEEP);
                prop_assert!(f.payload.len() as u64 <= f.payload_len);
            }
            WsEvent::Message(m) => {
                prop_assert!(m.data.len() <= MAX_MESSAGE_KEEP);
                prop_assert!(m.opcode == 1 || m.opcode == 2);
            }
            WsEvent::Violation { .. } => {}
        }
    }
    Ok(())
}
