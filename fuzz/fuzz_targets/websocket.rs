//! WebSocket framing and permessage-deflate, client and server side, cut at
//! points the input chooses.
//!
//! Input: a flags byte (side, deflate parameters, keep limits, a gap at the
//! end), a count byte `k` (mod 16), `k` piece lengths, then the stream. The
//! stream is parsed twice, in one push and in pieces, all with the same frame
//! number: the parser is documented to take bytes "cut anywhere", so the
//! events, totals and end state must not depend on the cuts.

#![no_main]

use libfuzzer_sys::fuzz_target;
use osiscope::proto::websocket::{
    DeflateParams, MAX_FRAME_KEEP, MAX_MESSAGE_KEEP, OP_CLOSE, OP_PING, OP_PONG, Side, WsEvent,
    WsParser,
};
use osiscope_fuzz::{blur_inflate_errors, pieces, strict};

struct Setup {
    side: Side,
    deflate: Option<DeflateParams>,
    keep_messages: usize,
    keep_frames: usize,
}

impl Setup {
    fn new(flags: u8) -> Setup {
        let deflate = match (flags >> 1) & 3 {
            0 => None,
            1 => Some(DeflateParams::default()),
            // Resets after every message, small windows.
            2 => Some(DeflateParams {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: Some(9),
                client_max_window_bits: Some(8),
            }),
            _ => DeflateParams::from_extensions(
                "permessage-deflate; client_max_window_bits=10; server_max_window_bits=\"12\"",
            ),
        };
        // A caller showing only a preview keeps little of each message.
        let (keep_messages, keep_frames) = if flags & 8 != 0 {
            (256, 0)
        } else {
            (MAX_MESSAGE_KEEP, MAX_FRAME_KEEP)
        };
        Setup {
            side: if flags & 1 != 0 {
                Side::Server
            } else {
                Side::Client
            },
            deflate,
            keep_messages,
            keep_frames,
        }
    }

    fn parser(&self) -> WsParser {
        let mut p = WsParser::new(self.side, self.deflate.clone());
        p.keep_messages(self.keep_messages);
        p.keep_frames(self.keep_frames);
        p
    }
}

fn run(setup: &Setup, pieces: &[&[u8]]) -> (Vec<WsEvent>, WsParser) {
    let mut p = setup.parser();
    let mut out = Vec::new();
    for piece in pieces {
        p.push(piece, 7, &mut out);
    }
    (out, p)
}

/// What every event must satisfy whatever the input.
fn check(setup: &Setup, events: &[WsEvent]) {
    for ev in events {
        match ev {
            WsEvent::Frame(f) => {
                assert_eq!(f.frame, 7);
                let cap = if matches!(f.opcode, OP_CLOSE | OP_PING | OP_PONG) {
                    MAX_FRAME_KEEP
                } else {
                    setup.keep_frames
                };
                // The payload's head is kept, up to the cap.
                assert_eq!(f.payload.len() as u64, f.payload_len.min(cap as u64));
                assert_eq!(f.close.is_some(), f.opcode == OP_CLOSE);
                assert_eq!(f.mask_key.is_some(), f.masked);
            }
            WsEvent::Message(m) => {
                assert!(m.data.len() <= setup.keep_messages);
                if !m.compressed {
                    assert_eq!(m.length, Some(m.wire_len));
                    assert_eq!(
                        m.data.len() as u64,
                        m.wire_len.min(setup.keep_messages as u64)
                    );
                }
                if let Some(len) = m.length {
                    assert!(m.data.len() as u64 <= len);
                }
            }
            WsEvent::Violation { frame, .. } => assert_eq!(*frame, 7),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [flags, k, rest @ ..] = data else { return };
    let setup = Setup::new(*flags);
    let k = usize::from(*k % 16).min(rest.len());
    let (lens, stream) = rest.split_at(k);

    let (whole, mut whole_p) = run(&setup, &[stream]);
    check(&setup, &whole);
    let (frames, header_bytes, payload_bytes) = whole_p.totals();
    assert!(header_bytes + payload_bytes <= stream.len() as u64);
    assert!(frames <= header_bytes / 2);

    let pieces = pieces(stream, lens);
    let (mut split, split_p) = run(&setup, &pieces);

    let mut whole = whole;
    if !strict() {
        // Known: finding "inflate-message" (fuzz/README.md).
        blur_inflate_errors(&mut whole);
        blur_inflate_errors(&mut split);
    }
    assert_eq!(whole, split, "events depend on segmentation");
    assert_eq!(whole_p.totals(), split_p.totals());
    assert_eq!(whole_p.stop_reason(), split_p.stop_reason());
    assert_eq!(whole_p.unfinished(), split_p.unfinished());

    if flags & 0x10 != 0 {
        // After a gap, nothing more is reported.
        whole_p.gap();
        assert!(whole_p.stopped());
        let mut out = Vec::new();
        whole_p.push(stream, 8, &mut out);
        assert!(out.is_empty(), "events after a gap");
    }
});
