//! Text from the wire, made safe for a terminal.
//!
//! Packet bytes can hold ESC sequences (which recolour, move the cursor or set
//! the window title), other C0/C1 controls, and bidirectional overrides (which
//! make text read differently from what it is). Every view that prints
//! wire-derived text to a terminal passes it through [`escape`]; JSON output
//! relies on JSON escaping instead.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters a terminal acts on or that make text read other than it is.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() // C0, DEL and C1
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}')
}

/// Whether `b` may start a character [`is_unsafe`] names: a byte below 20,
/// DEL 7F, or the lead byte C2 (C1 controls), D8 (U+061C) or E2 (the bidi
/// controls). All of them are ASCII or lead bytes, so each one starts a
/// character; a scan decodes only the characters that start so.
pub const fn may_start_unsafe(b: u8) -> bool {
    (b < 0x20) | (b == 0x7f) | (b == 0xc2) | (b == 0xd8) | (b == 0xe2)
}

/// Whether `s` holds a character [`is_unsafe`] names.
fn any_unsafe(s: &str) -> bool {
    s.as_bytes().iter().enumerate().any(|(i, &b)| {
        may_start_unsafe(b)
            && s.get(i..)
                .and_then(|t| t.chars().next())
                .is_some_and(is_unsafe)
    })
}

/// Replaces control characters and bidi controls by visible escapes
/// (`\n`, `\t`, `\x1b`, `\u{202e}`); the backslash itself is left alone.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !any_unsafe(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_unsafe(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::{any_unsafe, escape, is_unsafe};

    /// The byte scan finds what looking at every character finds, for every
    /// character of the Basic Multilingual Plane alone and amid other text.
    #[test]
    fn the_byte_scan_finds_every_unsafe_character() {
        let mut unsafe_found = 0;
        for c in (0..=0xffff_u32).filter_map(char::from_u32) {
            for s in [c.to_string(), format!("a✓{c}→ b"), format!("é{c}")] {
                assert_eq!(
                    any_unsafe(&s),
                    s.chars().any(is_unsafe),
                    "U+{:04X}",
                    c as u32
                );
            }
            unsafe_found += usize::from(is_unsafe(c));
        }
        // C0, DEL, C1, U+061C and the eleven bidi controls.
        assert_eq!(unsafe_found, 32 + 1 + 32 + 1 + 11);
    }

    #[test]
    fn escapes_controls_and_bidi() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(escape("l\r\n\t"), "l\\r\\n\\t");
        assert_eq!(escape("\u{9b}2J"), "\\x9b2J");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape("é ✓"), "é ✓");
    }
}
