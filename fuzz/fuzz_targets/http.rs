//! HTTP/1.x over one direction of a stream, request or response side, cut at
//! points the input chooses.
//!
//! Input: a flags byte, a count byte `k` (mod 16), `k` piece lengths, then the
//! stream. The stream is parsed twice, in one push and in pieces, with the
//! same frame number: the module promises heads are parsed "however the bytes
//! were segmented", so both must yield the same items and consume the same
//! bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use osiscope::proto::engineio;
use osiscope::proto::http::{Head, HttpItem, HttpParser};
use osiscope::proto::websocket::DeflateParams;
use osiscope_fuzz::{pieces, strict};

/// Keeps the body of requests a decoder would read (Engine.IO polling).
fn keep_polling(h: &Head) -> bool {
    h.uri.as_deref().is_some_and(|u| u.contains("EIO="))
}

fn parser(flags: u8) -> HttpParser {
    let mut p = HttpParser::new(flags & 1 != 0);
    p.next_response_to_head = flags & 2 != 0;
    if flags & 4 != 0 {
        p.keep_request_body = keep_polling;
    }
    // Which of the next responses keep their body.
    p.keep_response_body = (0..4).map(|i| flags & (0x10 << i) != 0).collect();
    p
}

/// Pushes `pieces` in order; returns the items, the bytes consumed as HTTP
/// and the parser.
fn run(flags: u8, pieces: &[&[u8]]) -> (Vec<HttpItem>, usize, HttpParser) {
    let mut p = parser(flags);
    let mut out = Vec::new();
    let mut used = 0;
    let mut done = false;
    for piece in pieces {
        let n = p.push(piece, 1, &mut out);
        assert!(n <= piece.len());
        if done {
            assert_eq!(n, 0, "bytes consumed after the parser stopped or switched");
        }
        used += n;
        if n < piece.len() {
            // Only a switch or a stop leaves bytes unconsumed.
            assert!(p.switched() || p.stopped());
            done = true;
        }
    }
    p.close(2, &mut out);
    (out, used, p)
}

/// Reads what a view would read of a head.
fn look(h: &Head) {
    let _ = h.start_line();
    let _ = h.has_token("Connection", "upgrade");
    if let Some(key) = h.header("Sec-WebSocket-Key") {
        let _ = osiscope::proto::websocket::accept_key(key);
    }
    for (name, value) in &h.headers {
        if name.eq_ignore_ascii_case("Sec-WebSocket-Extensions") {
            let _ = DeflateParams::from_extensions(value);
        }
    }
    if let Some(uri) = &h.uri {
        let _ = engineio::parse_uri(uri);
    }
}

fuzz_target!(|data: &[u8]| {
    let [flags, k, rest @ ..] = data else { return };
    let k = usize::from(*k % 16).min(rest.len());
    let (lens, stream) = rest.split_at(k);

    let (whole, whole_used, whole_p) = run(*flags, &[stream]);

    let pieces = pieces(stream, lens);
    let (split, split_used, split_p) = run(*flags, &pieces);

    for item in &whole {
        if let HttpItem::Head(h) = item {
            look(h);
        }
    }
    if !strict()
        && whole_p.stopped()
        && !split_p.stopped()
        && matches!(whole.last(), Some(HttpItem::Error { .. }))
        && split[..] == whole[..whole.len() - 1]
    {
        // Known: finding "http-blank-lines" (fuzz/README.md): a malformed head after blank
        // lines is reported at once in one push, at the next blank line in
        // pieces.
        return;
    }
    assert_eq!(whole, split, "items depend on segmentation");
    assert_eq!(whole_p.switched(), split_p.switched());
    // What was consumed matters after a switch: the rest is the new protocol's.
    if whole_p.switched() {
        assert_eq!(
            whole_used, split_used,
            "switch point depends on segmentation"
        );
    }
    assert_eq!(whole_p.stopped(), split_p.stopped());
    assert_eq!(whole_p.head_bytes, split_p.head_bytes);
});
