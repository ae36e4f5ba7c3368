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
    let mut ser = serde_json::Serializer::with_formatter(out, TerminalSafe);
    (&mut ser).serialize_str(s).map_err(io::Error::from)
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
