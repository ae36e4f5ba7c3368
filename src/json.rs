//! JSON values written by hand, byte for byte as serde_json's compact
//! writer writes them, without recursion and, when asked, only up to a
//! number of bytes.
//!
//! Socket.IO arguments are `serde_json::Value`s: the walkthrough describes
//! each in a couple of hundred characters, and walk's JSON lists them all.
//! Through serde, writing them took 6 % of `walk`'s instructions on the
//! 100 MB benchmark capture, much of it serde's machinery rather than the
//! bytes; written here, `walk` runs 1.7 % fewer. How strings are escaped
//! is the caller's: plain JSON ([`plain_string`]), or the terminal-safe
//! form of the report's writer.

use serde_json::Value;

/// How a string is written: after `out`'s bytes, with the room left
/// under the cap (a writer may stop once it has written more than that).
pub type StringWriter = fn(out: &mut Vec<u8>, s: &str, room: usize);

/// Writes `v` after `out`'s bytes, each string by `string`; stops once more
/// than `cap` bytes were written (the value is then cut anywhere, and
/// false is returned), so a huge value costs no more than its first `cap`
/// bytes. Nesting is followed with a stack of its own (a parsed value is
/// at most 128 deep: serde_json's recursion limit).
pub fn value(out: &mut Vec<u8>, v: &Value, cap: usize, string: StringWriter) -> bool {
    let start = out.len();
    write(out, start, Some(v), Vec::new(), cap, string)
}

/// [`value`] of an array of `items`, without making one.
pub fn array(out: &mut Vec<u8>, items: &[Value], cap: usize, string: StringWriter) -> bool {
    let start = out.len();
    out.push(b'[');
    write(
        out,
        start,
        None,
        vec![Open::Array(items.iter())],
        cap,
        string,
    )
}

/// Where a container stands: the members left to write.
enum Open<'a> {
    Array(std::slice::Iter<'a, Value>),
    Object(serde_json::map::Iter<'a>),
}

/// [`value`] from where it stands: `next` to write, then the containers
/// open in `stack`, with `start` where the value began in `out`.
fn write<'a>(
    out: &mut Vec<u8>,
    start: usize,
    mut next: Option<&'a Value>,
    mut stack: Vec<Open<'a>>,
    cap: usize,
    string: StringWriter,
) -> bool {
    loop {
        if out.len() - start > cap {
            return false;
        }
        // A value to write: a scalar now, a container opened.
        if let Some(v) = next.take() {
            match v {
                Value::Null => out.extend_from_slice(b"null"),
                Value::Bool(true) => out.extend_from_slice(b"true"),
                Value::Bool(false) => out.extend_from_slice(b"false"),
                Value::Number(n) => number(out, n),
                Value::String(s) => string(out, s, cap.saturating_sub(out.len() - start)),
                Value::Array(a) => {
                    out.push(b'[');
                    stack.push(Open::Array(a.iter()));
                }
                Value::Object(m) => {
                    out.push(b'{');
                    stack.push(Open::Object(m.iter()));
                }
            }
            continue;
        }
        // The next member of the innermost open container, or its end.
        let Some(top) = stack.last_mut() else {
            return true;
        };
        let first = matches!(out.last(), Some(b'[' | b'{'));
        match top {
            Open::Array(items) => match items.next() {
                Some(item) => {
                    if !first {
                        out.push(b',');
                    }
                    next = Some(item);
                }
                None => {
                    out.push(b']');
                    stack.pop();
                }
            },
            Open::Object(members) => match members.next() {
                Some((k, item)) => {
                    if !first {
                        out.push(b',');
                    }
                    string(out, k, cap.saturating_sub(out.len() - start));
                    if out.len() - start > cap {
                        // A key cut short: no colon after it.
                        return false;
                    }
                    out.push(b':');
                    next = Some(item);
                }
                None => {
                    out.push(b'}');
                    stack.pop();
                }
            },
        }
    }
}

/// A number as serde_json writes it: integers in full, floats in the
/// shortest form that reads back the same (its own formatter).
fn number(out: &mut Vec<u8>, n: &serde_json::Number) {
    let mut b = itoa::Buffer::new();
    match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => out.extend_from_slice(b.format(u).as_bytes()),
        (None, Some(i)) => out.extend_from_slice(b.format(i).as_bytes()),
        // Writing to a Vec cannot fail.
        _ => {
            let _ = serde_json::to_writer(&mut *out, n);
        }
    }
}

/// A string as plain JSON escapes it (serde_json): `"`, `\\` and C0 controls,
/// the usual ones by their short forms. Past `room` bytes it stops, at the
/// end of a character (an escaped character is never shorter).
pub fn plain_string(out: &mut Vec<u8>, s: &str, room: usize) {
    let mut b = s.as_bytes();
    if b.len() >= room {
        let end = s.ceil_char_boundary(room.saturating_add(1).min(b.len()));
        b = b.get(..end).unwrap_or(b);
        if end < s.len() {
            // Cut: the closing quote is not reached.
            out.push(b'"');
            escaped(out, b);
            return;
        }
    }
    out.reserve(b.len() + 2);
    out.push(b'"');
    escaped(out, b);
    out.push(b'"');
}

/// `b`'s characters, escaped as serde_json escapes them.
fn escaped(out: &mut Vec<u8>, b: &[u8]) {
    let mut start = 0;
    for (i, &x) in b.iter().enumerate() {
        if x >= 0x20 && x != b'"' && x != b'\\' {
            continue;
        }
        out.extend_from_slice(b.get(start..i).unwrap_or_default());
        push_escape(out, u32::from(x));
        start = i + 1;
    }
    out.extend_from_slice(b.get(start..).unwrap_or_default());
}

/// An escaped character as serde_json writes it: the short forms of JSON,
/// else `\\u` and four lowercase hex digits.
pub fn push_escape(out: &mut Vec<u8>, c: u32) {
    let short: &[u8] = match c {
        0x22 => b"\\\"",
        0x5c => b"\\\\",
        0x08 => b"\\b",
        0x09 => b"\\t",
        0x0a => b"\\n",
        0x0c => b"\\f",
        0x0d => b"\\r",
        _ => b"",
    };
    if !short.is_empty() {
        out.extend_from_slice(short);
        return;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[((c >> shift) & 0xf) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{plain_string, value};

    fn samples() -> Vec<Value> {
        let deep = (0..200).fold(json!(1), |v, _| json!([v]));
        vec![
            json!(null),
            json!([]),
            json!({}),
            json!([[], {}, [[]], {"a": {}}]),
            json!({"b": 1, "a": [true, false, null], "": ""}),
            json!([0, -1, u64::MAX, i64::MIN, 0.1, 1e300, -2.5e-8, 3.0]),
            json!("quote \" backslash \\ nl \n tab \t bell \u{7} del \u{7f} c1 \u{85} é 日 😀"),
            json!({"k\u{1}ey": ["\u{0}\u{1f}", {"\u{202e}": "x"}]}),
            json!({"long": "x".repeat(5000), "list": (0..300).collect::<Vec<_>>()}),
            deep,
        ]
    }

    /// Every sample, whole, is serde_json's compact text.
    #[test]
    fn values_are_what_serde_json_writes() {
        for v in samples() {
            let mut ours = b"prefix".to_vec();
            assert!(value(&mut ours, &v, usize::MAX, plain_string));
            // A string alone, whole and cut.
            if let Value::String(text) = &v {
                for room in [0, 1, 2, 10, 11, 12, 13, 14, 15, 16, 50, 500] {
                    let mut cut = Vec::new();
                    plain_string(&mut cut, text, room);
                    let whole = serde_json::to_string(text).expect("json");
                    assert!(whole.as_bytes().starts_with(&cut), "{room}");
                    assert!(cut.len() > room || cut == whole.as_bytes(), "{room}");
                    // Never more than the room's characters, escaped.
                    assert!(cut.len() <= 6 * (room + 4) + 1, "{room}: {}", cut.len());
                }
            }
            let want = serde_json::to_string(&v).expect("json");
            assert_eq!(String::from_utf8_lossy(&ours[6..]), want);
        }
        for c in (0..0x80_u8).map(char::from) {
            let mut ours = Vec::new();
            plain_string(&mut ours, &format!("a{c}b"), usize::MAX);
            let want = serde_json::to_string(&format!("a{c}b")).expect("json");
            assert_eq!(String::from_utf8_lossy(&ours), want, "{c:?}");
        }
    }

    /// An array written from its items is the array's value.
    #[test]
    fn arrays_from_slices() {
        for v in samples() {
            let items = vec![v.clone(), json!("x"), v];
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for cap in [0, 3, 40, usize::MAX] {
                a.clear();
                b.clear();
                let done = super::array(&mut a, &items, cap, plain_string);
                assert_eq!(done, value(&mut b, &json!(items), cap, plain_string));
                assert_eq!(a, b);
            }
        }
    }

    /// Cut at `cap`, the bytes written begin serde's text; false exactly
    /// when the whole did not fit.
    #[test]
    fn a_capped_value_begins_the_whole() {
        for v in samples() {
            let whole = serde_json::to_string(&v).expect("json");
            let caps: Vec<usize> = if whole.len() < 3000 {
                (0..=whole.len() + 1).collect()
            } else {
                vec![0, 1, 5, 17, 100, 803, 804, whole.len() - 1, whole.len()]
            };
            for cap in caps {
                let mut ours = Vec::new();
                let done = value(&mut ours, &v, cap, plain_string);
                assert_eq!(done, whole.len() <= cap, "{cap} {whole}");
                assert!(whole.as_bytes().starts_with(&ours), "{cap} {whole}");
                assert!(done || ours.len() > cap);
                // A long string or list is not written whole.
                assert!(ours.len() <= 6 * (cap + 4) + 16, "{cap}: {}", ours.len());
            }
        }
    }
}
