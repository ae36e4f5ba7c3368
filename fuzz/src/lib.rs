//! Shared by the fuzz targets: allowances for the known issues still open
//! (fuzz/README.md, "Findings"), so that fuzzing goes on past them instead of
//! finding them again. `OSISCOPE_FUZZ_STRICT=1` turns them off, to check a
//! fix.

use std::sync::OnceLock;

use osiscope::proto::websocket::WsEvent;

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
