//! Shared by the fuzz targets: how a stream is cut into pieces, and
//! allowances for the known issues still open (fuzz/README.md, "Findings"),
//! so that fuzzing goes on past them instead of finding them again.
//! `OSISCOPE_FUZZ_STRICT=1` turns the allowances off, to check a fix.

use std::sync::OnceLock;

use osiscope::proto::websocket::WsEvent;

/// `stream` cut into pieces of the given lengths (each at most what is left),
/// the rest as the last piece: one segmentation of the same bytes.
pub fn pieces<'a>(stream: &'a [u8], lens: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::with_capacity(lens.len() + 1);
    let mut s = stream;
    for &l in lens {
        let (a, b) = s.split_at(usize::from(l).min(s.len()));
        out.push(a);
        s = b;
    }
    out.push(s);
    out
}

/// True when `OSISCOPE_FUZZ_STRICT=1`: no allowance for known issues.
pub fn strict() -> bool {
    static STRICT: OnceLock<bool> = OnceLock::new();
    *STRICT.get_or_init(|| std::env::var_os("OSISCOPE_FUZZ_STRICT").is_some_and(|v| v == "1"))
}

/// Finding "inflate-message": zlib-rs 0.6.8 reports a data error found on
/// its fast path (15 or more input bytes at hand) as "repeated call with bad
/// state" instead of the real cause, so the text of an inflate error depends
/// on how the message was segmented. Keeps only the "inflate: " prefix.
pub fn blur_inflate_errors(events: &mut [WsEvent]) {
    for ev in events {
        if let WsEvent::Message(m) = ev
            && let Some(e) = &mut m.error
            && e.starts_with("inflate: ")
        {
            *e = "inflate: …".to_owned();
        }
    }
}
