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

/// A JSON string, escaped as [`write`] escapes it, by hand: most strings of
/// a record have nothing to escape, and the rest (message texts full of
/// quotes, step texts full of dashes that share a lead byte with the bidi
/// controls) only a few characters, found 16 bytes at a time. A test holds
/// it to serde's bytes for every character of the Basic Multilingual Plane.
pub fn string(out: &mut Vec<u8>, s: &str) -> io::Result<()> {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let (mut start, mut from) = (0, 0);
    // A suspect byte is never inside a character (UTF-8 continuation bytes
    // are 80–BF), so each one starts a character to look at, and the bytes
    // of an escaped one are passed over like any other.
    while let Some(at) = next_suspect(b, from) {
        from = at + 1;
        if let Some((len, c)) = escape_at(b, at) {
            out.extend_from_slice(b.get(start..at).unwrap_or_default());
            crate::json::push_escape(out, c);
            start = at + len;
            from = start;
        }
    }
    out.extend_from_slice(b.get(start..).unwrap_or_default());
    out.push(b'"');
    Ok(())
}

/// Whether `b` may start a character to escape: `"`, `\\`, or one the
/// terminal escaper looks at (C0, DEL, and the lead bytes of C1, U+061C and
/// the bidi controls).
const fn may_escape(b: u8) -> bool {
    super::escape::may_start_unsafe(b) | (b == b'"') | (b == b'\\')
}

/// The first byte from `from` on that [`may_escape`].
fn next_suspect(b: &[u8], from: usize) -> Option<usize> {
    // Whole blocks of 16 first; the tail byte by byte.
    #[cfg(target_arch = "x86_64")]
    let from = {
        let mut i = from;
        while let Some(chunk) = b.get(i..i + 16).and_then(|c| <&[u8; 16]>::try_from(c).ok()) {
            // SAFETY: SSE2 is part of x86-64 itself: every such processor has it.
            let mask = unsafe { sse2::suspects(chunk) };
            if mask != 0 {
                return Some(i + mask.trailing_zeros() as usize);
            }
            i += 16;
        }
        i
    };
    b.get(from..)?
        .iter()
        .position(|&x| may_escape(x))
        .map(|k| from + k)
}

/// [`may_escape`] over 16 bytes with SSE2, which every x86-64 processor has.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    /// A bit for each byte of `chunk` that may start a character to
    /// escape, the first byte in the lowest bit.
    #[target_feature(enable = "sse2")]
    pub(super) fn suspects(chunk: &[u8; 16]) -> u32 {
        // SAFETY: `chunk` is 16 readable bytes, and an unaligned load reads
        // them at any address.
        let v = unsafe { _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>()) };
        let eq = |b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
        // C0: the bytes that the minimum with 1F leaves unchanged.
        let c0 = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        let quotes = _mm_or_si128(eq(b'"'), eq(b'\\'));
        let leads = _mm_or_si128(_mm_or_si128(eq(0xc2), eq(0xd8)), eq(0xe2));
        let any = _mm_or_si128(_mm_or_si128(c0, eq(0x7f)), _mm_or_si128(quotes, leads));
        _mm_movemask_epi8(any) as u32
    }
}

/// The character at `i` if it is escaped, with its length in bytes: C0,
/// `"`, `\\`, DEL, C1 (C2 80–9F), U+061C (D8 9C) and the bidi controls
/// (E2 80 8E–8F, E2 80 AA–AE, E2 81 A6–A9). Dashes, arrows and the
/// ellipsis (E2 80 93, E2 86 92, E2 80 A6) are not: the walkthrough is full
/// of them.
fn escape_at(s: &[u8], i: usize) -> Option<(usize, u32)> {
    let next = |k: usize| s.get(i + k).copied().unwrap_or(0);
    match s.get(i).copied()? {
        b @ (0x00..=0x1f | b'"' | b'\\' | 0x7f) => Some((1, u32::from(b))),
        0xc2 if (0x80..=0x9f).contains(&next(1)) => Some((2, u32::from(next(1)))),
        0xd8 if next(1) == 0x9c => Some((2, 0x061c)),
        0xe2 => match (next(1), next(2)) {
            (0x80, c @ (0x8e | 0x8f | 0xaa..=0xae)) => Some((3, 0x2000 + u32::from(c & 0x3f))),
            (0x81, c @ 0xa6..=0xa9) => Some((3, 0x2040 + u32::from(c & 0x3f))),
            _ => None,
        },
        _ => None,
    }
}

/// Whether [`string`] would escape a character of `s`.
#[cfg(test)]
fn needs_escape(s: &[u8]) -> bool {
    (0..s.len()).any(|i| escape_at(s, i).is_some())
}

/// A number as serde_json writes an `f64`: the shortest digits that read
/// back the same, `null` when not finite.
pub fn float(out: &mut Vec<u8>, v: f64) {
    // Writing to a Vec cannot fail.
    let _ = write(&mut *out, &v);
}

/// A key and its colon; keys are identifiers, written as they are.
pub fn key(out: &mut Vec<u8>, k: &str) {
    debug_assert!(k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'));
    out.push(b'"');
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

/// A value as [`write`] writes it, by hand ([`crate::json::value`]).
pub fn value(out: &mut Vec<u8>, v: &serde_json::Value) -> io::Result<()> {
    crate::json::value(out, v, usize::MAX, |out, s, _| {
        // Writing to a Vec cannot fail.
        let _ = string(out, s);
    });
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
        // with DEL 7F or a lead byte (C1 controls C2 xx, U+061C D8 9C, the
        // bidi controls E2 80/81 xx), so char boundaries: only characters
        // there are looked at.
        let lead = |b: &u8| super::escape::may_start_unsafe(*b);
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
    /// The writer writes what serde and the terminal-safe formatter write,
    /// for every character of the Basic Multilingual Plane alone, between
    /// ordinary text, and where the 16-byte search finds it.
    #[test]
    fn strings_are_written_as_serde_writes_them() {
        let mut checked = 0;
        for c in (0..=0xffff_u32).filter_map(char::from_u32) {
            for s in [
                c.to_string(),
                format!("a{c}→ b"),
                format!("{c}{}", "p".repeat(20)),
                format!("{}{c}{}", "p".repeat(7), "q".repeat(9)),
                format!("{}{c}{}", "p".repeat(15), "q".repeat(16)),
            ] {
                let mut fast = Vec::new();
                super::string(&mut fast, &s).expect("vec");
                let mut serde = Vec::new();
                super::write(&mut serde, &s).expect("vec");
                assert_eq!(fast, serde, "U+{:04X}", c as u32);
                assert_eq!(serde, by_definition(&s).into_bytes(), "U+{:04X}", c as u32);
                checked += 1;
            }
        }
        assert!(checked > 300_000, "{checked}");
        // The shortcut was taken for plain text and not for a control.
        assert!(!super::needs_escape("IPv4 10.0.0.1 → 10.0.0.2".as_bytes()));
        assert!(!super::needs_escape(
            "FIN — its bytes 1–120, ©, ؛ …".as_bytes()
        ));
        assert!(super::needs_escape("a\u{202e}b".as_bytes()));
    }

    /// The terminal-safe JSON of `s` by its definition, without either
    /// writer's search: plain serde_json, then every character the terminal
    /// escaper names (beyond C0, which serde_json escapes) as `\\u` and four
    /// lowercase hex digits.
    fn by_definition(s: &str) -> String {
        let plain = serde_json::to_string(s).expect("string");
        plain
            .chars()
            .map(|c| match c {
                c if c > '\u{1f}' && crate::report::escape::is_unsafe(c) => {
                    format!("\\u{:04x}", c as u32)
                }
                c => c.to_string(),
            })
            .collect()
    }

    /// Values written by hand are what serde writes with the terminal-safe
    /// formatter: strings (keys too) escaped alike, numbers, nesting.
    #[test]
    fn values_are_written_as_serde_writes_them() {
        let deep = (0..150).fold(serde_json::json!({"x": 1}), |v, _| {
            serde_json::json!([v, {}])
        });
        for v in [
            serde_json::json!({"a\u{202e}": ["x\u{85}y", "\"q\"\n", 1, -2, 2.5, 1e-7, null, true]}),
            serde_json::json!([[], {}, {"": ""}, u64::MAX, i64::MIN]),
            serde_json::json!("bidi \u{2066} and \u{7f} and \u{1b}[31m"),
            deep,
        ] {
            let mut hand = Vec::new();
            super::value(&mut hand, &v).expect("vec");
            let mut serde = Vec::new();
            super::write(&mut serde, &v).expect("vec");
            assert_eq!(
                String::from_utf8_lossy(&hand),
                String::from_utf8_lossy(&serde)
            );
        }
    }

    /// Characters to escape, and ones that share their lead bytes, at every
    /// place around the 16-byte steps the writer takes.
    #[test]
    fn escapes_across_chunk_edges_are_written_as_serde_writes_them() {
        let specials = [
            "\"", "\\", "\n", "\u{1}", "\u{7f}", "\u{85}", "\u{a9}", "\u{61c}", "\u{61b}",
            "\u{200e}", "\u{2013}", "\u{202e}", "\u{2069}", "\u{2192}", "é", "日",
        ];
        for pad in 0..40 {
            for a in specials {
                for b in specials {
                    let s = format!("{}{a}{}{b}x", "p".repeat(pad), "é".repeat(pad % 7));
                    let mut fast = Vec::new();
                    super::string(&mut fast, &s).expect("vec");
                    let mut serde = Vec::new();
                    super::write(&mut serde, &s).expect("vec");
                    assert_eq!(fast, serde, "{s:?}");
                }
            }
        }
        let mut out = Vec::new();
        super::string(&mut out, "say \"hi\"\u{202e}").expect("vec");
        assert_eq!(out, b"\"say \\\"hi\\\"\\u202e\"");
    }
}
