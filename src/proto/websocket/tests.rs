//! The WebSocket parser, fed real and hostile streams.

use super::deflate::{CONTEXT_LOST, TRAILER};
use super::parser::INTERRUPTED;
use super::utf8::Utf8Stream;
use super::*;
use crate::limit::SharedLimit;
use flate2::{Compress, Compression, FlushCompress};
use std::sync::OnceLock;

/// Pushes each chunk as capture frame 1, 2, …
fn run(side: Side, deflate: Option<DeflateParams>, chunks: &[&[u8]]) -> Vec<WsEvent> {
    let mut p = WsParser::new(side, deflate);
    let mut out = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        p.push(c, i as u64 + 1, &mut out);
    }
    out
}

fn frames(ev: &[WsEvent]) -> Vec<&FrameInfo> {
    ev.iter()
        .filter_map(|e| match e {
            WsEvent::Frame(f) => Some(f),
            _ => None,
        })
        .collect()
}

/// Two parsers share a 100-byte limit on unfinished messages: one holds
/// 80 bytes of an open message, so the other's 50-byte message is cut
/// (kept empty, and said so); finished messages give their bytes back.
#[test]
fn unfinished_messages_share_one_limit() {
    let shared = SharedLimit::new(100);
    let mut a = WsParser::new(Side::Server, None).sharing(&shared);
    let mut b = WsParser::new(Side::Server, None).sharing(&shared);
    let mut out = Vec::new();
    a.push(
        &encode_frame(false, false, OP_TEXT, &[b'a'; 80], None),
        1,
        &mut out,
    );
    assert!(messages(&out).is_empty());
    assert_eq!(shared.used(), 80);
    b.push(
        &encode_frame(true, false, OP_TEXT, &[b'b'; 50], None),
        2,
        &mut out,
    );
    let m = messages(&out)[0];
    assert_eq!((m.data.len(), m.length), (0, Some(50)));
    assert_eq!(
        m.error.as_deref(),
        Some("not kept whole: the 100 bytes shared by unfinished messages were in use")
    );
    assert!(m.utf8_valid, "all 50 bytes were checked");
    assert_eq!(shared.used(), 80, "b's bytes given back");
    out.clear();
    a.push(
        &encode_frame(true, false, OP_CONTINUATION, b"!", None),
        3,
        &mut out,
    );
    let m = messages(&out)[0];
    assert_eq!((m.data.len(), m.error.as_deref()), (81, None));
    assert_eq!(shared.used(), 0);
    // A parser dropped with a message open gives its bytes back too.
    a.push(
        &encode_frame(false, false, OP_BINARY, &[0; 30], None),
        4,
        &mut out,
    );
    assert_eq!(shared.used(), 30);
    drop(a);
    assert_eq!(shared.used(), 0);
    drop(b);
}

fn messages(ev: &[WsEvent]) -> Vec<&MessageInfo> {
    ev.iter()
        .filter_map(|e| match e {
            WsEvent::Message(m) => Some(m),
            _ => None,
        })
        .collect()
}

fn violations(ev: &[WsEvent]) -> Vec<&'static str> {
    ev.iter()
        .filter_map(|e| match e {
            WsEvent::Violation { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect()
}

use super::encode_frame as encode;

/// Compresses one message as RFC 7692 §7.2.1 says: sync flush, trailer removed.
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
    assert!(out.ends_with(&TRAILER));
    out.truncate(out.len() - 4);
    out
}

const HELLO: &[u8] = b"Hello";
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

#[test]
fn rfc6455_single_frame_unmasked() {
    let ev = run(
        Side::Server,
        None,
        &[&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]],
    );
    assert_eq!(ev.len(), 2);
    let f = frames(&ev)[0];
    assert!(f.fin && !f.masked && f.mask_key.is_none());
    assert_eq!(
        (f.opcode, f.payload_len, f.header_len, f.frame),
        (1, 5, 2, 1)
    );
    assert_eq!(f.payload, HELLO);
    let m = messages(&ev)[0];
    assert_eq!(m.data, HELLO);
    assert_eq!(
        (m.opcode, m.wire_len, m.length, m.compressed),
        (1, 5, Some(5), false)
    );
    assert!(m.utf8_valid && m.error.is_none());
    assert_eq!((m.first_frame, m.last_frame), (1, 1));
}

#[test]
fn rfc6455_single_frame_masked() {
    let bytes = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let ev = run(Side::Client, None, &[&bytes]);
    assert!(violations(&ev).is_empty());
    let f = frames(&ev)[0];
    assert_eq!((f.masked, f.mask_key, f.header_len), (true, Some(KEY), 6));
    assert_eq!(f.payload, HELLO);
    assert_eq!(messages(&ev)[0].data, HELLO);
    assert_eq!(encode(true, false, 1, HELLO, Some(KEY)), bytes);
}

#[test]
fn rfc6455_fragmented() {
    let ev = run(
        Side::Server,
        None,
        &[&[0x01, 0x03, 0x48, 0x65, 0x6c], &[0x80, 0x02, 0x6c, 0x6f]],
    );
    let f = frames(&ev);
    assert_eq!(f.len(), 2);
    assert!(!f[0].fin && f[1].fin);
    assert_eq!((f[0].opcode, f[1].opcode), (1, 0));
    let m = messages(&ev);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].data, HELLO);
    assert_eq!(
        (m[0].first_frame, m[0].last_frame, m[0].wire_len),
        (1, 2, 5)
    );
    assert!(matches!(ev.last(), Some(WsEvent::Message(_))));
}

#[test]
fn control_frames_interleaved_in_a_message() {
    let mut s = encode(false, false, 1, b"Hel", Some(KEY));
    s.extend(encode(true, false, 9, b"", Some(KEY)));
    s.extend(encode(true, false, 0, b"lo", Some([1, 2, 3, 4])));
    let ev = run(Side::Client, None, &[&s]);
    assert!(violations(&ev).is_empty());
    let f = frames(&ev);
    assert_eq!(f.iter().map(|f| f.opcode).collect::<Vec<_>>(), [1, 9, 0]);
    assert_eq!(messages(&ev).len(), 1);
    assert_eq!(messages(&ev)[0].data, HELLO);
}

#[test]
fn rfc6455_ping_and_pong() {
    let ev = run(
        Side::Server,
        None,
        &[&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]],
    );
    assert_eq!(ev.len(), 1);
    assert_eq!(frames(&ev)[0].opcode, 9);
    assert_eq!(frames(&ev)[0].payload, HELLO);
    assert!(frames(&ev)[0].close.is_none());
    let pong = [
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let ev = run(Side::Client, None, &[&pong]);
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (frames(&ev)[0].opcode, &frames(&ev)[0].payload[..]),
        (10, HELLO)
    );
}

#[test]
fn rfc6455_16_and_64_bit_lengths() {
    let body: Vec<u8> = (0..=255u8).collect();
    let mut s = vec![0x82, 0x7e, 0x01, 0x00];
    s.extend_from_slice(&body);
    let ev = run(Side::Server, None, &[&s]);
    let f = frames(&ev)[0];
    assert_eq!((f.payload_len, f.header_len), (256, 4));
    assert_eq!(messages(&ev)[0].data, body);

    let body: Vec<u8> = (0..65536u32).map(|i| (i * 7) as u8).collect();
    let mut s = vec![0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0];
    s.extend_from_slice(&body);
    let ev = run(Side::Server, None, &[&s]);
    let f = frames(&ev)[0];
    assert_eq!((f.payload_len, f.header_len), (65536, 10));
    assert_eq!(f.payload, body[..MAX_FRAME_KEEP]);
    let m = messages(&ev)[0];
    assert_eq!(m.data, body);
    assert_eq!((m.opcode, m.length), (2, Some(65536)));
}

#[test]
fn frame_keep_is_capped_but_message_is_not() {
    let body = vec![b'x'; MAX_FRAME_KEEP + 1000];
    let ev = run(
        Side::Client,
        None,
        &[&encode(true, false, 1, &body, Some(KEY))],
    );
    let f = frames(&ev)[0];
    assert_eq!(f.payload.len(), MAX_FRAME_KEEP);
    assert_eq!(f.payload_len, body.len() as u64);
    assert_eq!(messages(&ev)[0].data, body);
}

/// A stream with every header form: 2, 4, 6, 8, 10 and 14 bytes.
fn mixed_stream() -> Vec<u8> {
    let mut s = encode(true, false, 1, b"short", Some(KEY));
    s.extend(encode(false, false, 2, &[7u8; 200], Some([9, 8, 7, 6])));
    s.extend(encode(true, false, 9, b"", Some(KEY)));
    // 64-bit length used for a short payload (legal framing, not minimal).
    let mut long = vec![0x80, 0xff, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4];
    let mut body = *b"end";
    apply_mask(&mut body, [1, 2, 3, 4], 0);
    long.extend_from_slice(&body);
    s.extend(long);
    s.extend(encode(true, false, 8, &[0x03, 0xe8], Some(KEY)));
    s
}

#[test]
fn split_at_every_position_gives_the_same_events() {
    let s = mixed_stream();
    let whole = run(Side::Client, None, &[&s]);
    assert_eq!(frames(&whole).len(), 5);
    assert!(violations(&whole).is_empty(), "{whole:?}");
    assert_eq!(messages(&whole)[1].data.len(), 203);
    let same_frame = |ev: Vec<WsEvent>| -> Vec<WsEvent> {
        ev.into_iter()
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
    };
    let whole = same_frame(whole);
    for i in 0..=s.len() {
        let (a, b) = s.split_at(i);
        assert_eq!(
            same_frame(run(Side::Client, None, &[a, b])),
            whole,
            "split at {i}"
        );
    }
    let bytes: Vec<&[u8]> = s.chunks(1).collect();
    let ev = run(Side::Client, None, &bytes);
    // Byte i arrives in capture frame i + 1: the first frame ends at byte 11.
    assert_eq!(frames(&ev)[0].frame, 11);
    assert_eq!(messages(&ev)[0].first_frame, 1);
    assert_eq!(same_frame(ev), whole);
}

#[test]
fn frame_numbers_follow_the_segments() {
    let s = encode(false, false, 1, b"abc", None);
    let t = encode(true, false, 0, b"def", None);
    let ev = run(Side::Server, None, &[&s[..1], &s[1..], &t[..4], &t[4..]]);
    let f = frames(&ev);
    assert_eq!((f[0].frame, f[1].frame), (2, 4));
    let m = messages(&ev)[0];
    assert_eq!((m.first_frame, m.last_frame), (1, 4));
}

fn one_violation(side: Side, deflate: Option<DeflateParams>, s: &[u8], kind: &str) {
    let ev = run(side, deflate, &[s]);
    assert_eq!(violations(&ev), [kind], "{ev:?}");
}

#[test]
fn each_violation() {
    let c = Side::Client;
    let s = Side::Server;
    let pmd = Some(DeflateParams::default());
    one_violation(
        c,
        None,
        &encode(true, false, 1, HELLO, None),
        "unmasked_client_frame",
    );
    one_violation(
        s,
        None,
        &encode(true, false, 1, HELLO, Some(KEY)),
        "masked_server_frame",
    );
    one_violation(
        s,
        None,
        &encode(true, false, 9, &[0; 126], None),
        "control_frame_too_long",
    );
    one_violation(
        s,
        None,
        &encode(false, false, 10, b"", None),
        "fragmented_control_frame",
    );
    one_violation(
        s,
        None,
        &encode(true, false, 3, b"x", None),
        "reserved_opcode",
    );
    one_violation(
        s,
        None,
        &encode(true, false, 15, b"", None),
        "reserved_opcode",
    );
    one_violation(
        s,
        None,
        &encode(true, true, 1, HELLO, None),
        "rsv_without_extension",
    );
    one_violation(s, None, &[0xa1, 0x00], "rsv_without_extension");
    one_violation(s, None, &[0xb1, 0x00], "rsv_without_extension");
    one_violation(
        s,
        pmd.clone(),
        &encode(true, true, 9, b"", None),
        "rsv_without_extension",
    );
    one_violation(
        s,
        None,
        &encode(true, false, 0, b"lo", None),
        "continuation_without_start",
    );
    let mut v = encode(false, false, 1, b"a", None);
    v.extend(encode(true, false, 2, b"b", None));
    one_violation(s, None, &v, "message_interrupted");
    let mut v = encode(true, false, 8, &[0x03, 0xe8], None);
    v.extend(encode(true, false, 1, b"", None));
    one_violation(s, None, &v, "data_after_close");
    one_violation(
        s,
        None,
        &encode(true, false, 1, &[0xff, 0xfe], None),
        "invalid_utf8",
    );
    one_violation(
        s,
        None,
        &encode(true, false, 8, &[0x03, 0xed], None),
        "invalid_close_code",
    );
    one_violation(
        s,
        None,
        &encode(true, false, 8, &[0x03], None),
        "close_payload_too_short",
    );
    // The second message of RFC 7692 §7.2.3.2 alone refers to a window never seen.
    one_violation(
        s,
        pmd.clone(),
        &[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00],
        "inflate_error",
    );
    let mut v = vec![0x41, 0x03, 0xf2, 0x48, 0xcd];
    v.extend(encode(true, true, 0, &[0xc9, 0xc9, 0x07, 0x00], None));
    one_violation(s, pmd, &v, "rsv_without_extension");
}

#[test]
fn interrupted_message_is_reported_cut() {
    let mut v = encode(false, false, 1, b"a", None);
    v.extend(encode(true, false, 2, b"b", None));
    let ev = run(Side::Server, None, &[&v]);
    let m = messages(&ev);
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].data, b"a");
    assert_eq!(m[0].error.as_deref(), Some(INTERRUPTED));
    assert_eq!(m[0].length, Some(1));
    assert_eq!(
        (m[1].opcode, &m[1].data[..], m[1].error.as_ref()),
        (2, &b"b"[..], None)
    );
    // Violation, then the cut message, then the new frame and its message.
    assert!(matches!(
        ev[1],
        WsEvent::Violation {
            kind: "message_interrupted",
            ..
        }
    ));
    assert!(matches!(ev[2], WsEvent::Message(_)));
}

#[test]
fn close_frames() {
    for (code, valid) in [
        (0u16, false),
        (999, false),
        (1000, true),
        (1001, true),
        (1002, true),
        (1003, true),
        (1004, false),
        (1005, false),
        (1006, false),
        (1007, true),
        (1011, true),
        (1012, true),
        (1014, true),
        (1015, false),
        (1016, false),
        (2999, false),
        (3000, true),
        (4999, true),
        (5000, false),
        (65535, false),
    ] {
        let mut p = code.to_be_bytes().to_vec();
        p.extend_from_slice("bye ✓".as_bytes());
        let ev = run(
            Side::Client,
            None,
            &[&encode(true, false, 8, &p, Some(KEY))],
        );
        let f = frames(&ev)[0];
        assert_eq!(f.close, Some((Some(code), "bye ✓".to_owned())));
        let want: &[&str] = if valid { &[] } else { &["invalid_close_code"] };
        assert_eq!(violations(&ev), want, "code {code}");
    }
    let ev = run(Side::Server, None, &[&encode(true, false, 8, b"", None)]);
    assert_eq!(frames(&ev)[0].close, Some((None, String::new())));
    assert!(violations(&ev).is_empty());
    let ev = run(
        Side::Server,
        None,
        &[&encode(true, false, 8, &[0x03, 0xe8, 0xc3], None)],
    );
    assert_eq!(violations(&ev), ["invalid_utf8"]);
    assert_eq!(
        frames(&ev)[0].close,
        Some((Some(1000), "\u{fffd}".to_owned()))
    );
}

#[test]
fn frames_after_close_are_flagged_each() {
    let mut v = encode(true, false, 8, b"", None);
    v.extend(encode(true, false, 9, b"", None));
    v.extend(encode(true, false, 8, b"", None));
    let ev = run(Side::Server, None, &[&v]);
    assert_eq!(violations(&ev), ["data_after_close", "data_after_close"]);
    assert_eq!(frames(&ev).len(), 3);
}

/// Every split of every sample into two and three pieces agrees with `str::from_utf8`
/// on the whole (incomplete endings count as such).
#[test]
fn utf8_stream_agrees_with_whole_validation() {
    let samples: [&[u8]; 8] = [
        "aé€😀z".as_bytes(),
        b"\xe2\x82",         // incomplete at the end
        b"\xe2\x28\xa1",     // bad continuation
        b"ab\xc0\xafcd",     // overlong
        b"\xed\xa0\x80",     // surrogate
        b"\xf4\x90\x80\x80", // above U+10FFFF
        "😀😀".as_bytes(),
        b"\xff",
    ];
    for s in samples {
        let whole = std::str::from_utf8(s);
        let want_bad = whole.as_ref().is_err_and(|e| e.error_len().is_some());
        let want_cut = whole.as_ref().is_err_and(|e| e.error_len().is_none());
        for i in 0..=s.len() {
            for j in i..=s.len() {
                let mut u = Utf8Stream::default();
                u.feed(&s[..i]);
                u.feed(&s[i..j]);
                u.feed(&s[j..]);
                assert_eq!(u.bad, want_bad, "{s:?} split at {i},{j}");
                assert_eq!(
                    u.carry_len > 0 && !u.bad,
                    want_cut,
                    "{s:?} split at {i},{j}"
                );
            }
        }
    }
}

/// A caller keeping a preview still gets the whole text judged.
#[test]
fn short_keep_still_validates_every_byte() {
    let mut text = "x".repeat(5000).into_bytes();
    text.push(0xff);
    let mut p = WsParser::new(Side::Server, None);
    p.keep_messages(100);
    let mut ev = Vec::new();
    p.push(&encode(true, false, 1, &text, None), 1, &mut ev);
    assert_eq!(messages(&ev)[0].data.len(), 100);
    assert_eq!(violations(&ev), ["invalid_utf8"]);
}

#[test]
fn text_utf8_cut_mid_character_is_valid() {
    // 'a' then 2-byte characters: byte MAX_MESSAGE_KEEP falls inside one.
    let mut text = String::from("a");
    while text.len() < 2 * MAX_MESSAGE_KEEP {
        text.push('é');
    }
    let ev = run(
        Side::Server,
        None,
        &[&encode(true, false, 1, text.as_bytes(), None)],
    );
    let m = messages(&ev)[0];
    assert_eq!(m.data.len(), MAX_MESSAGE_KEEP);
    assert!(std::str::from_utf8(&m.data).is_err());
    assert!(m.utf8_valid);
    assert_eq!(m.length, Some(text.len() as u64));
    assert!(violations(&ev).is_empty());
    // The same cut in a complete message is invalid.
    let ev = run(
        Side::Server,
        None,
        &[&encode(
            true,
            false,
            1,
            &text.as_bytes()[..MAX_MESSAGE_KEEP],
            None,
        )],
    );
    assert_eq!(violations(&ev), ["invalid_utf8"]);
    assert!(!messages(&ev)[0].utf8_valid);
}

fn pmd() -> Option<DeflateParams> {
    Some(DeflateParams::default())
}

#[test]
fn rfc7692_compressed_hello() {
    let ev = run(
        Side::Server,
        pmd(),
        &[&[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]],
    );
    assert!(violations(&ev).is_empty());
    let m = messages(&ev)[0];
    assert_eq!(m.data, HELLO);
    assert_eq!((m.compressed, m.wire_len, m.length), (true, 7, Some(5)));
    assert!(m.utf8_valid && m.error.is_none());
    assert!(frames(&ev)[0].rsv1);
}

#[test]
fn rfc7692_context_takeover() {
    let first = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let second = [0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00];
    let ev = run(Side::Server, pmd(), &[&first, &second]);
    assert!(violations(&ev).is_empty(), "{ev:?}");
    let m = messages(&ev);
    assert_eq!((&m[0].data[..], &m[1].data[..]), (HELLO, HELLO));
    assert_eq!(m[1].wire_len, 5);
}

#[test]
fn rfc7692_no_compression_block_bfinal_and_two_blocks() {
    for s in [
        &[
            0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ][..],
        &[0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
        &[
            0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07,
            0x00,
        ],
    ] {
        let ev = run(Side::Server, pmd(), &[s, s]);
        assert!(violations(&ev).is_empty(), "{ev:?}");
        let m = messages(&ev);
        assert_eq!((&m[0].data[..], &m[1].data[..]), (HELLO, HELLO));
    }
}

#[test]
fn rfc7692_empty_message() {
    let ev = run(
        Side::Server,
        pmd(),
        &[&[0xc1, 0x01, 0x00], &[0xc1, 0x01, 0x00]],
    );
    assert!(violations(&ev).is_empty());
    let m = messages(&ev);
    assert_eq!(
        (m[1].data.len(), m[1].length, m[1].wire_len),
        (0, Some(0), 1)
    );
}

#[test]
fn rfc7692_fragmented_compressed() {
    let ev = run(
        Side::Server,
        pmd(),
        &[
            &[0x41, 0x03, 0xf2, 0x48, 0xcd],
            &[0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00],
        ],
    );
    assert!(violations(&ev).is_empty());
    let m = messages(&ev)[0];
    assert_eq!(m.data, HELLO);
    assert_eq!(
        (m.wire_len, m.length, m.first_frame, m.last_frame),
        (7, Some(5), 1, 2)
    );
}

#[test]
fn inflate_error_poisons_unless_no_context_takeover() {
    let bad = [0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00];
    let good = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let plain = encode(true, false, 1, b"plain", None);
    let ev = run(Side::Server, pmd(), &[&bad, &good, &plain]);
    assert_eq!(violations(&ev), ["inflate_error"]);
    let m = messages(&ev);
    assert_eq!(
        m[0].error.as_deref(),
        Some("inflate: invalid distance too far back")
    );
    assert_eq!(m[0].length, None);
    assert_eq!(m[1].error.as_deref(), Some(CONTEXT_LOST));
    assert_eq!((m[1].length, m[1].data.len()), (None, 0));
    assert_eq!((m[2].error.as_ref(), &m[2].data[..]), (None, &b"plain"[..]));

    let reset = Some(DeflateParams {
        server_no_context_takeover: true,
        ..Default::default()
    });
    let ev = run(Side::Server, reset.clone(), &[&bad, &good]);
    assert_eq!(messages(&ev)[1].data, HELLO);
    // The client side's parameter does not apply to the server's messages.
    let other = Some(DeflateParams {
        client_no_context_takeover: true,
        ..Default::default()
    });
    let ev = run(Side::Server, other, &[&bad, &good]);
    assert_eq!(messages(&ev)[1].error.as_deref(), Some(CONTEXT_LOST));
}

#[test]
fn interrupted_compressed_message_loses_the_context() {
    let good = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let ev = run(
        Side::Server,
        pmd(),
        &[&[0x41, 0x03, 0xf2, 0x48, 0xcd], &good],
    );
    assert_eq!(violations(&ev), ["message_interrupted"]);
    let m = messages(&ev);
    assert_eq!(
        (m[0].error.as_deref(), m[0].length),
        (Some(INTERRUPTED), None)
    );
    assert_eq!(m[1].error.as_deref(), Some(CONTEXT_LOST));
}

#[test]
fn context_takeover_across_many_masked_messages() {
    let mut c = Compress::new(Compression::default(), false);
    let mut s = Vec::new();
    let texts: Vec<String> = (0..20)
        .map(|i| format!("message number {i} repeats message number {i}"))
        .collect();
    for (i, t) in texts.iter().enumerate() {
        s.extend(encode(
            true,
            true,
            1,
            &deflate_msg(&mut c, t.as_bytes()),
            Some([i as u8, 1, 2, 3]),
        ));
    }
    let ev = run(Side::Client, pmd(), &[&s]);
    assert!(violations(&ev).is_empty());
    let got: Vec<&[u8]> = messages(&ev).iter().map(|m| &m.data[..]).collect();
    let want: Vec<&[u8]> = texts.iter().map(|t| t.as_bytes()).collect();
    assert_eq!(got, want);
}

#[test]
fn window_bits_8_is_inflated_with_9() {
    let params =
        DeflateParams::from_extensions("permessage-deflate; client_max_window_bits=8").unwrap();
    assert_eq!(params.client_max_window_bits, Some(8));
    let mut c = Compress::new_with_window_bits(Compression::default(), false, 9);
    let text: Vec<u8> = (0..3000u32)
        .map(|i| b"abcdefgh"[(i * i % 8) as usize])
        .collect();
    let mut s = encode(true, true, 2, &deflate_msg(&mut c, &text), Some(KEY));
    s.extend(encode(
        true,
        true,
        2,
        &deflate_msg(&mut c, &text),
        Some(KEY),
    ));
    let ev = run(Side::Client, Some(params), &[&s]);
    assert!(violations(&ev).is_empty(), "{ev:?}");
    assert_eq!(messages(&ev)[1].data, text);
}

#[test]
fn compressed_message_longer_than_the_keep() {
    let mut c = Compress::new(Compression::fast(), false);
    let text: Vec<u8> = (0..3 * MAX_MESSAGE_KEEP as u32)
        .map(|i| (i % 251) as u8)
        .collect();
    let z = deflate_msg(&mut c, &text);
    let ev = run(Side::Server, pmd(), &[&encode(true, true, 2, &z, None)]);
    let m = messages(&ev)[0];
    assert_eq!(m.length, Some(text.len() as u64));
    assert_eq!(m.wire_len, z.len() as u64);
    assert_eq!(m.data, &text[..MAX_MESSAGE_KEEP]);
}

/// 32 MiB of zeros, compressed (about 32 KB).
fn bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let mut c = Compress::new(Compression::default(), false);
        let zeros = vec![0u8; 1 << 20];
        let mut out = Vec::with_capacity(64 * 1024);
        for _ in 0..31 {
            c.compress_vec(&zeros, &mut out, FlushCompress::None)
                .unwrap();
            assert_eq!(c.total_in() % (1 << 20), 0);
        }
        out.extend(deflate_msg(&mut c, &zeros));
        out
    })
}

#[test]
fn deflate_bomb_is_flagged_and_not_expanded() {
    let z = bomb();
    assert!(z.len() < 200_000, "{}", z.len());
    let good = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let mut p = WsParser::new(Side::Server, pmd());
    let mut out = Vec::new();
    let s = encode(true, true, 2, z, None);
    for (i, chunk) in s.chunks(1460).enumerate() {
        p.push(chunk, i as u64, &mut out);
        if let Some(m) = &p.msg {
            assert!(m.data.capacity() <= MAX_MESSAGE_KEEP);
        }
        if let Some(inf) = &p.inflater {
            assert!(inf.out.capacity() <= INFLATE_CHUNK);
        }
    }
    p.push(&good, 1000, &mut out);
    assert_eq!(violations(&out), ["deflate_bomb"]);
    let m = messages(&out);
    let error = format!("deflate bomb: more than {MAX_INFLATE} bytes");
    assert_eq!(m[0].error.as_deref(), Some(error.as_str()));
    assert_eq!(
        (m[0].length, m[0].data.len(), m[0].wire_len),
        (None, MAX_MESSAGE_KEEP, z.len() as u64)
    );
    assert!(m[0].data.iter().all(|&b| b == 0));
    assert_eq!(m[1].error.as_deref(), Some(CONTEXT_LOST));
    // Where each message starts afresh, the next one is decodable.
    let reset = Some(DeflateParams {
        server_no_context_takeover: true,
        ..Default::default()
    });
    let ev = run(Side::Server, reset, &[&s, &good]);
    assert_eq!(violations(&ev), ["deflate_bomb"]);
    assert_eq!(messages(&ev)[1].data, HELLO);
}

#[test]
fn huge_claimed_length_is_streamed() {
    let mut p = WsParser::new(Side::Server, None);
    let mut out = Vec::new();
    p.push(&[0x82, 0x7f, 0x40, 0, 0, 0, 0, 0, 0, 0], 1, &mut out);
    let chunk = vec![0xabu8; 64 * 1024];
    for i in 0..160 {
        p.push(&chunk, i + 2, &mut out);
    }
    assert!(out.is_empty());
    assert!(!p.stopped());
    assert_eq!(p.totals(), (1, 10, 160 * 64 * 1024));
    let f = p.frame.as_ref().unwrap();
    assert_eq!((f.payload_len, f.keep.len()), (1 << 62, MAX_FRAME_KEEP));
    assert!(f.keep.capacity() <= MAX_FRAME_KEEP);
    let m = p.msg.as_ref().unwrap();
    assert_eq!(
        (m.data.len(), m.wire_len),
        (MAX_MESSAGE_KEEP, 160 * 64 * 1024)
    );
    assert!(m.data.capacity() <= MAX_MESSAGE_KEEP);
    assert!(p.scratch.capacity() <= UNMASK_CHUNK);
}

#[test]
fn length_with_top_bit_stops() {
    let mut p = WsParser::new(Side::Server, None);
    let mut out = Vec::new();
    p.push(
        &[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1, 0x81, 0x00],
        1,
        &mut out,
    );
    // Said once, then nothing more: what follows cannot be located.
    assert_eq!(violations(&out), ["length_msb_set"]);
    assert_eq!(out.len(), 1);
    assert!(p.stopped());
    assert_eq!(p.stop_reason(), Some("length_msb_set"));
    p.push(&[0x81, 0x00], 2, &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn gap_stops_everything() {
    let mut p = WsParser::new(Side::Server, None);
    let mut out = Vec::new();
    p.push(&[0x01, 0x03, b'a'], 1, &mut out);
    p.gap();
    p.push(&[b'b', b'c', 0x81, 0x00], 2, &mut out);
    assert!(out.is_empty());
    assert!(p.stopped());
    assert_eq!(p.stop_reason(), Some("gap"));
}

#[test]
fn totals_count_headers_and_payload() {
    let ev_stream = mixed_stream();
    let mut p = WsParser::new(Side::Client, None);
    let mut out = Vec::new();
    p.push(&ev_stream, 1, &mut out);
    let (n, h, b) = p.totals();
    assert_eq!(n, 5);
    assert_eq!(h + b, ev_stream.len() as u64);
    assert_eq!(b, 5 + 200 + 3 + 2);
}

#[test]
fn mask_at_any_offset() {
    let data: Vec<u8> = (0..100u8).collect();
    let mut whole = data.clone();
    apply_mask(&mut whole, KEY, 0);
    for cut in 0..data.len() {
        let mut pieces = data.clone();
        let (a, b) = pieces.split_at_mut(cut);
        apply_mask(a, KEY, 0);
        apply_mask(b, KEY, cut as u64);
        assert_eq!(pieces, whole);
    }
    apply_mask(&mut whole, KEY, 0);
    assert_eq!(whole, data);
}

#[test]
fn extensions_header() {
    let d = DeflateParams::default();
    assert_eq!(
        DeflateParams::from_extensions("permessage-deflate"),
        Some(d.clone())
    );
    assert_eq!(
        DeflateParams::from_extensions(
            "permessage-deflate; client_max_window_bits=10; server_no_context_takeover"
        ),
        Some(DeflateParams {
            server_no_context_takeover: true,
            client_max_window_bits: Some(10),
            ..Default::default()
        })
    );
    assert_eq!(
        DeflateParams::from_extensions(
            "foo; x=\"a,b\", Permessage-Deflate ; Server_Max_Window_Bits=\"12\" \
             ;client_no_context_takeover"
        ),
        Some(DeflateParams {
            client_no_context_takeover: true,
            server_max_window_bits: Some(12),
            ..Default::default()
        })
    );
    assert_eq!(
        DeflateParams::from_extensions(
            "permessage-deflate; server_max_window_bits=99; client_max_window_bits"
        ),
        Some(d.clone())
    );
    assert_eq!(
        DeflateParams::from_extensions("x-webkit-deflate-frame; no_context_takeover"),
        Some(d)
    );
    assert_eq!(DeflateParams::from_extensions(""), None);
    assert_eq!(
        DeflateParams::from_extensions("permessage-deflate-x, foo"),
        None
    );
    assert_eq!(
        DeflateParams::from_extensions("foo; permessage-deflate"),
        None
    );
}

#[test]
fn arbitrary_window_bits_never_panic() {
    for bits in [
        None,
        Some(0),
        Some(7),
        Some(8),
        Some(9),
        Some(15),
        Some(16),
        Some(255),
    ] {
        for side in [Side::Client, Side::Server] {
            let params = DeflateParams {
                client_max_window_bits: bits,
                server_max_window_bits: bits,
                ..Default::default()
            };
            let mut p = WsParser::new(side, Some(params));
            p.push(
                &[0xc1, 0x80, 0, 0, 0, 0, 0xc1, 0x00, 0xc1, 0x01, 0xff],
                1,
                &mut Vec::new(),
            );
        }
    }
}

/// A frame or message that begins while its row cannot be listed keeps
/// only what an unlisted one shows, and says so; one that began with room
/// keeps its bytes even if the room goes while it is read, and a close
/// frame always keeps its reason.
#[test]
fn frames_and_messages_begun_without_a_row_keep_only_their_head() {
    let mut p = WsParser::new(Side::Client, None);
    p.keep_messages(MAX_MESSAGE_KEEP);
    p.keep_unlisted(0, 10);
    let mut ev = Vec::new();
    let key = Some([1, 2, 3, 4]);
    p.rows_listable(false, false);
    p.push(&encode(true, false, OP_TEXT, &[b'a'; 300], key), 1, &mut ev);
    let wire = encode(true, false, OP_TEXT, &[b'b'; 300], key);
    let (head, tail) = wire.split_at(100);
    p.rows_listable(true, true);
    p.push(head, 2, &mut ev);
    p.rows_listable(false, false);
    p.push(tail, 3, &mut ev);
    p.push(
        &encode(true, false, OP_CLOSE, b"\x03\xe8bye", key),
        4,
        &mut ev,
    );
    let f = frames(&ev);
    assert_eq!(
        f.iter()
            .map(|f| (f.frame, f.payload.len(), f.unlisted))
            .collect::<Vec<_>>(),
        [(1, 0, true), (3, 300, false), (4, 5, false)]
    );
    assert_eq!(f[2].close, Some((Some(1000), "bye".into())));
    let m = messages(&ev);
    assert_eq!(m[0].data, [b'a'; 10]);
    assert_eq!((m[0].length, m[0].unlisted), (Some(300), true));
    assert_eq!(m[1].data, [b'b'; 300]);
    assert!(!m[1].unlisted);
    // Without a smaller keep for unlisted ones (a carried protocol needs
    // whole messages), nothing is marked.
    let mut q = WsParser::new(Side::Client, None);
    q.rows_listable(false, false);
    let mut ev = Vec::new();
    q.push(&encode(true, false, OP_TEXT, &[b'c'; 300], key), 1, &mut ev);
    assert_eq!(
        (messages(&ev)[0].data.len(), messages(&ev)[0].unlisted),
        (300, false)
    );
    assert!(frames(&ev)[0].payload.len() == 300 && !frames(&ev)[0].unlisted);
}
