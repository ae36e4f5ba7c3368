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

/// Replaces control characters and bidi controls by visible escapes
/// (`\n`, `\t`, `\x1b`, `\u{202e}`); the backslash itself is left alone.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
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
    use super::escape;

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
