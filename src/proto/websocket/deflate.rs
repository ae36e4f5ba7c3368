//! permessage-deflate (RFC 7692): the parameters agreed in the handshake
//! and the inflater of one direction.
//!
//! A data message whose first frame has RSV1 is inflated with one raw-deflate
//! context per direction, kept across messages (context takeover) unless the
//! sender declared `*_no_context_takeover`, in which case it is reset after
//! every message. After an inflate error, a deflate bomb or a compressed
//! message cut by a new one, that context is unusable: later compressed
//! messages of the direction are reported with an error and not inflated,
//! unless the context is reset after every message anyway. A message ending
//! its deflate stream (a block with BFINAL) also resets the context.

use flate2::Decompress;

/// Inflated bytes allowed per message; beyond it the message is a deflate bomb: flagged, not expanded further.
pub const MAX_INFLATE: usize = 16 * 1024 * 1024;
/// Inflated bytes produced per step; a deflate bomb is caught at most this far past
/// [`MAX_INFLATE`].
pub const INFLATE_CHUNK: usize = 32 * 1024;
/// LZ77 window used when none (or an invalid one) was negotiated: the largest, which decodes
/// any stream.
pub const DEFAULT_WINDOW_BITS: u8 = 15;
/// Smallest window zlib's raw inflate accepts; a negotiated 8 is inflated with 9, which
/// covers it.
pub const MIN_WINDOW_BITS: u8 = 9;

/// Removed by the sender from each compressed message; appended again before inflating
/// (RFC 7692 §7.2.2).
pub(super) const TRAILER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Error of a compressed message that follows a failed one when the window cannot be trusted.
pub(super) const CONTEXT_LOST: &str = "inflate context lost after an earlier error";

/// The permessage-deflate parameters agreed in the handshake (RFC 7692 §7.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeflateParams {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_max_window_bits: Option<u8>,
    pub client_max_window_bits: Option<u8>,
}

impl DeflateParams {
    /// Parses a negotiated `Sec-WebSocket-Extensions` response value; Some when it selects permessage-deflate (or the `x-webkit-deflate-frame` alias).
    ///
    /// The first matching extension wins. Names and parameters are case-insensitive, values
    /// may be quoted; a window size outside 8–15 is ignored (the default 15 decodes any
    /// stream). The alias gets default parameters: its own are named differently, and the
    /// defaults (no resets, largest window) decode whatever the peer sends.
    pub fn from_extensions(header_value: &str) -> Option<DeflateParams> {
        for extension in split_unquoted(header_value, ',') {
            let mut parts = split_unquoted(extension, ';').into_iter();
            let name = parts.next().unwrap_or_default().trim();
            if name.eq_ignore_ascii_case("x-webkit-deflate-frame") {
                return Some(DeflateParams::default());
            }
            if !name.eq_ignore_ascii_case("permessage-deflate") {
                continue;
            }
            let mut params = DeflateParams::default();
            for param in parts {
                let (key, value) = match param.split_once('=') {
                    Some((k, v)) => (k.trim(), Some(unquote(v.trim()))),
                    None => (param.trim(), None),
                };
                if key.eq_ignore_ascii_case("server_no_context_takeover") {
                    params.server_no_context_takeover = true;
                } else if key.eq_ignore_ascii_case("client_no_context_takeover") {
                    params.client_no_context_takeover = true;
                } else if key.eq_ignore_ascii_case("server_max_window_bits") {
                    params.server_max_window_bits = value.and_then(window_bits);
                } else if key.eq_ignore_ascii_case("client_max_window_bits") {
                    params.client_max_window_bits = value.and_then(window_bits);
                }
            }
            return Some(params);
        }
        None
    }
}

/// A negotiated window size, if it is one RFC 7692 allows.
fn window_bits(value: &str) -> Option<u8> {
    value.parse::<u8>().ok().filter(|b| (8..=15).contains(b))
}

/// Strips one pair of surrounding double quotes.
fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// Splits at `sep` outside double-quoted strings (a quoted value may contain `,` or `;`).
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(s.get(start..i).unwrap_or_default());
            start = i + c.len_utf8();
        }
    }
    parts.push(s.get(start..).unwrap_or_default());
    parts
}

/// This direction's inflater, kept across messages for context takeover.
pub(super) struct Inflater {
    pub(super) d: Decompress,
    /// Output buffer, INFLATE_CHUNK bytes, reused.
    pub(super) out: Vec<u8>,
    /// The sender starts every message with an empty window (`*_no_context_takeover`).
    pub(super) reset_each: bool,
    /// An earlier message broke the window; compressed messages cannot be decoded any more.
    pub(super) poisoned: bool,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("reset_each", &self.reset_each)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}
