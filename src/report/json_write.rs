//! The JSON writer every record shares: strings escaped so that JSON on a
//! terminal is as safe as the text views, keys and values written without
//! building a tree where the caller already knows the shape.

use std::io;

use serde::Serialize;

/// Writes `v` as JSON whose strings also escape what a terminal would act on
/// or show misleadingly (DEL, C1 controls, bidi controls: serde_json escapes
/// only C0), so JSON printed on a terminal is as safe as the text views. It
/// stays plain JSON: any character may be written as `\uXXXX`.
pub fn write<W: io::Write, T: Serialize + ?Sized>(out: W, v: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, TerminalSafe);
    v.serialize(&mut ser).map_err(io::Error::from)
}

/// A JSON string, escaped as [`write`] escapes it.
pub fn string(out: &mut Vec<u8>, s: &str) -> io::Result<()> {
    use serde::Serializer as _;
    // Most strings of a record (names, summaries, addresses) have nothing
    // to escape: copied as they are.
    if !needs_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return Ok(());
    }
    let mut ser = serde_json::Serializer::with_formatter(out, TerminalSafe);
    (&mut ser).serialize_str(s).map_err(io::Error::from)
}

/// Whether serde_json or [`TerminalSafe`] would escape a character of `s`:
/// C0, `"`, `\\`, DEL, C1 (C2 80–9F), U+061C (D8 9C) and the bidi controls
/// (E2 80 8E–8F, E2 80 AA–AE, E2 81 A6–A9). Dashes, arrows and the
/// ellipsis (E2 80 93, E2 86 92, E2 80 A6) are not: the walkthrough is full of them.
fn needs_escape(s: &[u8]) -> bool {
    s.iter().enumerate().any(|(i, &b)| match b {
        0x00..=0x1f | b'"' | b'\\' | 0x7f => true,
        0xc2 => matches!(s.get(i + 1), Some(0x80..=0x9f)),
        0xd8 => s.get(i + 1) == Some(&0x9c),
        0xe2 => matches!(
            (s.get(i + 1), s.get(i + 2)),
            (Some(0x80), Some(0x8e | 0x8f | 0xaa..=0xae)) | (Some(0x81), Some(0xa6..=0xa9))
        ),
        _ => false,
    })
}

/// A key and its colon; keys are identifiers, written as they are.
pub fn key(out: &mut Vec<u8>, k: &str) {
    debug_assert!(k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'));
    out.push(b'"');
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

/// A value as [`write`] writes it: scalars by hand, arrays and objects
/// through serde.
pub fn value(out: &mut Vec<u8>, v: &serde_json::Value) -> io::Result<()> {
    use serde_json::Value;
    let mut b = itoa::Buffer::new();
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::String(s) => string(out, s)?,
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => out.extend_from_slice(b.format(u).as_bytes()),
            (None, Some(i)) => out.extend_from_slice(b.format(i).as_bytes()),
            // Floats as serde_json writes them (ryu).
            _ => write(&mut *out, n)?,
        },
        Value::Array(_) | Value::Object(_) => write(&mut *out, v)?,
    }
    Ok(())
}

struct TerminalSafe;

impl serde_json::ser::Formatter for TerminalSafe {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // serde_json has escaped C0 already. What is left to escape starts
        // with one of four bytes (all of them ASCII or lead bytes, so char
        // boundaries): DEL 7F, C1 controls C2 xx, U+061C D8 9C, the bidi
        // controls E2 80/81 xx. Only characters there are looked at.
        let lead = |b: &u8| matches!(b, 0x7f | 0xc2 | 0xd8 | 0xe2);
        let bytes = fragment.as_bytes();
        let (mut start, mut i) = (0, 0);
        while let Some(p) = bytes.get(i..).and_then(|rest| rest.iter().position(lead)) {
            let at = i + p;
            let c = fragment
                .get(at..)
                .and_then(|t| t.chars().next())
                .unwrap_or(' ');
            if super::escape::is_unsafe(c) {
                w.write_all(bytes.get(start..at).unwrap_or_default())?;
                // All of them are in the Basic Multilingual Plane: four digits.
                write!(w, "\\u{:04x}", c as u32)?;
                start = at + c.len_utf8();
            }
            i = at + c.len_utf8();
        }
        w.write_all(fragment.as_bytes().get(start..).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    /// The shortcut for strings with nothing to escape writes what serde
    /// and the terminal-safe formatter write, for every character of the
    /// Basic Multilingual Plane alone and between ordinary text.
    #[test]
    fn strings_are_written_as_serde_writes_them() {
        let mut checked = 0;
        for c in (0..=0xffff_u32).filter_map(char::from_u32) {
            for s in [c.to_string(), format!("a{c}→ b")] {
                let mut fast = Vec::new();
                super::string(&mut fast, &s).expect("vec");
                let mut serde = Vec::new();
                super::write(&mut serde, &s).expect("vec");
                assert_eq!(fast, serde, "U+{:04X}", c as u32);
                checked += 1;
            }
        }
        assert!(checked > 120_000, "{checked}");
        // The shortcut was taken for plain text and not for a control.
        assert!(!super::needs_escape("IPv4 10.0.0.1 → 10.0.0.2".as_bytes()));
        assert!(!super::needs_escape(
            "FIN — its bytes 1–120, ©, ؛ …".as_bytes()
        ));
        assert!(super::needs_escape("a\u{202e}b".as_bytes()));
    }
}
