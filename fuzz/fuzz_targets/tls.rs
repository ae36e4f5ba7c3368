//! TLS as a connection's first protocol: the record splitter, the hello
//! parsers, the key schedules and the decrypting feed, with a key log or
//! without, on streams cut where the input says.
//!
//! Input: a selector byte (which of the captures' key logs to use, or none),
//! then chunks `dir len_lo len_hi bytes…` for one direction each (`dir` bit 0:
//! the server sends; bit 7: a gap instead of bytes). Checks: no panic, and
//! the bytes booked by layer never exceed the bytes delivered.

#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use osiscope::flow::Dir;
use osiscope::proto::Protocol;
use osiscope::proto::stack::{Stack, StackOptions};
use osiscope::proto::tls::keylog::KeyLog;

/// The key logs of the TLS captures, so that seeds made from them decrypt.
const KEYLOGS: &[&str] = &[
    include_str!("../../captures/wss-python-tls13.keys"),
    include_str!("../../captures/wss-python-tls12-chacha.keys"),
    include_str!("../../captures/wss-python-tls12-aesgcm.keys"),
    include_str!("../../captures/wss-node-tls13-aes256.keys"),
    include_str!("../../captures/socketio-https.keys"),
    include_str!("../../captures/wss-keyupdate.keys"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let keylog = KEYLOGS
        .get(usize::from(sel))
        .map(|t| Arc::new(KeyLog::from_text(t)));
    let opts = StackOptions {
        keylog,
        decode_as: vec![(443, Protocol::Tls)],
        ..StackOptions::default()
    };
    let mut stack = Stack::new(&opts, Some((50_000, 443)));
    let mut out = Vec::new();
    let (mut frame, mut delivered) = (1u64, 0u64);
    while let [d, lo, hi, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*lo, *hi]));
        let (chunk, r) = tail.split_at(len.min(tail.len()));
        let dir = if d & 1 == 0 {
            Dir::ClientToServer
        } else {
            Dir::ServerToClient
        };
        if d & 0x80 != 0 {
            stack.gap(&opts, dir, frame, &mut out);
        } else {
            stack.data(&opts, dir, frame, chunk, &mut out);
            delivered += chunk.len() as u64;
        }
        out.clear();
        frame += 1;
        rest = r;
    }
    let app = stack.finish(&opts, frame);
    assert!(
        app.bytes.total() <= delivered,
        "booked {} of {delivered} delivered",
        app.bytes.total()
    );
});
