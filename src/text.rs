//! Cutting text from the wire to a size a line can show, and writing
//! numbers into text without the formatting machinery.

/// `s` cut after `n` characters, with `…` when something was cut.
pub fn clip_chars(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((cut, _)) => format!("{}…", s.get(..cut).unwrap_or("")),
        None => s.to_owned(),
    }
}

/// `s` cut to at most `n` bytes at a character boundary, with `…` when
/// something was cut.
pub fn clip_bytes(s: &str, n: usize) -> String {
    clipped(s, n).into_owned()
}

/// [`clip_bytes`], borrowing `s` when it is short enough.
pub fn clipped(s: &str, n: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= n {
        return s.into();
    }
    format!("{}…", &s[..s.floor_char_boundary(n)]).into()
}

/// A size as a person reads it: "100 bytes", "32 MiB", "21.3 MiB".
pub fn size_text(bytes: usize) -> String {
    if bytes < 1 << 20 {
        return format!("{bytes} bytes");
    }
    let mib = format!("{:.1}", bytes as f64 / f64::from(1 << 20));
    format!("{} MiB", mib.strip_suffix(".0").unwrap_or(&mib))
}

/// Terminal columns `s` takes (a CJK character or an emoji takes 2, a
/// combining mark 0), as `unicode-width` counts them.
pub fn width(s: &str) -> usize {
    columns_over(s, usize::MAX).0
}

/// Whether `b` is a character `unicode-width` always counts as one column
/// whatever follows it, and after which it reads the text before as if
/// nothing followed: printable ASCII, but not the bases of keycap emoji
/// (`#`, `*`, digits), which a following U+FE0F widens, nor `<`, `=`, `>`,
/// which its CJK mode joins with an overlay.
fn resets_width(b: u8) -> bool {
    matches!(b, b' '..=b'~') && !matches!(b, b'#' | b'*' | b'0'..=b'9' | b'<' | b'=' | b'>')
}

/// The columns of `s` as `unicode-width` counts them, and whether they are
/// more than `cols`; the count stops (too low) as soon as they are.
///
/// `unicode-width` reads a text from its end, each character's width
/// depending on what follows it; after a [`resets_width`] character it
/// reads on as at the end of a text. So the width is that of the runs
/// between such characters, each measured alone, plus one per such
/// character: most text from the wire is ASCII, counted here a byte at a
/// time, and a long text is not read past `cols`.
fn columns_over(s: &str, cols: usize) -> (usize, bool) {
    let mut sum = 0usize;
    let mut run = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if resets_width(b) {
            if run < i {
                sum += unicode_width::UnicodeWidthStr::width(s.get(run..i).unwrap_or_default());
            }
            sum += 1;
            run = i + 1;
            if sum > cols {
                return (sum, true);
            }
        }
    }
    sum += unicode_width::UnicodeWidthStr::width(s.get(run..).unwrap_or_default());
    (sum, sum > cols)
}

/// `s` cut to at most `cols` terminal columns at a character boundary, with
/// `…` after it when something was cut.
pub fn clip_width(s: &str, cols: usize) -> String {
    if !columns_over(s, cols).1 {
        return s.to_owned();
    }
    // By each character's own width; printable ASCII, a column a byte,
    // without decoding it.
    let bytes = s.as_bytes();
    let (mut used, mut end) = (0, 0);
    while let Some(&b) = bytes.get(end) {
        let (w, len) = if matches!(b, b' '..=b'~') {
            (1, 1)
        } else {
            let Some(c) = s.get(end..).and_then(|t| t.chars().next()) else {
                break;
            };
            let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
            (w, c.len_utf8())
        };
        if used + w > cols {
            break;
        }
        used += w;
        end += len;
    }
    let mut out = String::with_capacity(end + '…'.len_utf8());
    out.push_str(s.get(..end).unwrap_or_default());
    out.push('…');
    out
}

/// The text at the start of `data`, at most `max` bytes of it: a character
/// cut by the limit (or by the end of what was kept) is left out rather
/// than shown as U+FFFD; other invalid bytes are U+FFFD.
pub fn utf8_head(data: &[u8], max: usize) -> std::borrow::Cow<'_, str> {
    let head = &data[..data.len().min(max)];
    // simdutf8's checker says what std's does, several times faster on text
    // that is not all ASCII.
    match simdutf8::compat::from_utf8(head) {
        Ok(s) => s.into(),
        Err(e) if e.error_len().is_none() => String::from_utf8_lossy(&head[..e.valid_up_to()]),
        Err(_) => {
            // Invalid inside: lossy, but still without a cut last character.
            let cut = (1..4.min(head.len() + 1))
                .map(|k| head.len() - k)
                .find(|&i| head[i] & 0xC0 != 0x80)
                .filter(|&i| {
                    let need = match head[i] {
                        b if b >= 0xF0 => 4,
                        b if b >= 0xE0 => 3,
                        b if b >= 0xC0 => 2,
                        _ => 1,
                    };
                    head.len() - i < need
                })
                .unwrap_or(head.len());
            String::from_utf8_lossy(&head[..cut])
        }
    }
}

/// Bytes that read as text: valid UTF-8 without control characters (a
/// ping's or a close's payload often is); None for anything else, and for
/// nothing at all.
pub fn printable(data: &[u8]) -> Option<&str> {
    let t = std::str::from_utf8(data).ok()?;
    (!t.is_empty() && !t.chars().any(char::is_control)).then_some(t)
}

/// Lower-case hex of `b`.
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        push_hex_byte(&mut s, x);
    }
    s
}

/// Lower-case hex of `b`, a space between bytes: "0a ff 3c".
pub fn spaced_hex(b: &[u8]) -> String {
    joined_hex(b, ' ')
}

/// Lower-case hex of `b`, `sep` between bytes: a MAC address with ':'.
/// By hand: formatting two hex digits with `format!` costs more than the
/// rest of an Ethernet layer (measured on `packets --format json`).
pub fn joined_hex(b: &[u8], sep: char) -> String {
    let mut s = String::with_capacity(b.len() * 3);
    for (i, &x) in b.iter().enumerate() {
        if i > 0 {
            s.push(sep);
        }
        push_hex_byte(&mut s, x);
    }
    s
}

fn push_hex_byte(s: &mut String, x: u8) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for nibble in [x >> 4, x & 0xf] {
        s.push(char::from(
            DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'?'),
        ));
    }
}

/// Appends `n` in decimal. `write!` goes through the formatting machinery,
/// which costs more than the rest of a layer when every frame of a capture
/// is described (`packets --format json`).
pub fn push_int(s: &mut String, n: impl itoa::Integer) {
    s.push_str(itoa::Buffer::new().format(n));
}

/// Appends `secs.nanos` with nine decimals, as `format!("{secs}.{nanos:09}")`
/// writes it.
pub fn push_secs_nanos(s: &mut String, secs: impl itoa::Integer, nanos: u32) {
    push_int(s, secs);
    if nanos > 999_999_999 {
        // Not a fraction of a second: written as it is, as `{:09}` would.
        s.push('.');
        push_int(s, nanos);
        return;
    }
    let mut frac = *b".000000000";
    let mut n = nanos;
    for d in frac.iter_mut().skip(1).rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    s.push_str(std::str::from_utf8(&frac).unwrap_or_default());
}

/// Appends an IPv4 address in dotted decimal, as `Ipv4Addr` displays it.
pub fn push_ipv4(s: &mut String, a: std::net::Ipv4Addr) {
    for (i, o) in a.octets().into_iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        push_int(s, o);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Characters whose width depends on their neighbours, beside plain ones.
    const TRICKY: &[char] = &[
        'a',
        ' ',
        '~',
        '#',
        '*',
        '1',
        '9',
        '<',
        '=',
        '>',
        '\n',
        '\r',
        '\t',
        '\0',
        '\u{7f}',
        '\u{85}',
        '\u{a0}',
        '\u{a9}',
        '\u{ae}',
        '\u{ad}',
        'é',
        '\u{301}',
        '\u{200d}',
        '\u{fe0f}',
        '\u{fe0e}',
        '\u{fe00}',
        '\u{fe01}',
        '\u{20e3}',
        '\u{20d2}',
        '\u{338}',
        '\u{2018}',
        '\u{201d}',
        '❤',
        '⌚',
        '☺',
        '✓',
        '🚀',
        '👩',
        '🏻',
        '\u{1f1fa}',
        '\u{1f1f8}',
        'テ',
        '中',
        '\u{ff21}',
        '\u{644}',
        '\u{627}',
        '\u{a4f8}',
        '\u{a4fc}',
        '\u{17a4}',
        '\u{e0067}',
        '\u{e007f}',
        '\u{1f3f4}',
        '\u{2764}',
        '\u{1f468}',
        '\u{1f9d1}',
        '\u{1f384}',
    ];

    fn tricky_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(TRICKY), 0..40)
            .prop_map(|v| v.into_iter().collect())
    }

    /// `clip_width` as the plain reading of its contract: the whole text
    /// when `unicode-width` says it fits, else the longest head whose
    /// characters' own widths fit, and `…`.
    fn clip_by_characters(s: &str, cols: usize) -> String {
        if unicode_width::UnicodeWidthStr::width(s) <= cols {
            return s.to_owned();
        }
        let (mut used, mut end) = (0, 0);
        for (i, c) in s.char_indices() {
            let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
            if used + w > cols {
                break;
            }
            used += w;
            end = i + c.len_utf8();
        }
        format!("{}…", &s[..end])
    }

    proptest! {
        /// The run-by-run count is unicode-width's, and the early stop says
        /// the same as the whole count.
        #[test]
        fn width_is_unicode_widths(s in tricky_text(), cols in 0usize..30) {
            let whole = unicode_width::UnicodeWidthStr::width(s.as_str());
            prop_assert_eq!(width(&s), whole);
            prop_assert_eq!(columns_over(&s, cols).1, whole > cols);
        }

        #[test]
        fn clipping_reads_the_characters_as_their_own_widths(s in tricky_text(), cols in 0usize..30) {
            prop_assert_eq!(clip_width(&s, cols), clip_by_characters(&s, cols));
        }

        /// Long runs of ASCII between tricky characters.
        #[test]
        fn mostly_ascii_text_is_counted_as_unicode_width_counts_it(
            parts in proptest::collection::vec(
                prop_oneof![
                    "[ -~]{0,40}",
                    "[a-z0-9#*<=> ]{0,24}",
                    proptest::sample::select(TRICKY).prop_map(String::from),
                ],
                0..12,
            ),
            cols in 0usize..120,
        ) {
            let s: String = parts.concat();
            let whole = unicode_width::UnicodeWidthStr::width(s.as_str());
            prop_assert_eq!(width(&s), whole);
            prop_assert_eq!(columns_over(&s, cols).1, whole > cols);
            prop_assert_eq!(clip_width(&s, cols), clip_by_characters(&s, cols));
        }
    }

    /// What [`columns_over`] rests on, for every character it counts alone:
    /// one column whatever follows, and the text before it measured as if
    /// it ended there.
    #[test]
    fn a_resetting_character_splits_the_count() {
        let w = |s: &str| unicode_width::UnicodeWidthStr::width(s);
        for b in (0u8..128).filter(|&b| resets_width(b)) {
            let r = char::from(b);
            for &x in TRICKY {
                for &y in TRICKY {
                    for (before, after) in [
                        (x.to_string(), y.to_string()),
                        (format!("{x}{y}"), format!("{y}\u{fe0f}\u{20e3}")),
                        (format!("\u{1f468}\u{200d}{x}"), format!("{x}\u{200d}{y}")),
                    ] {
                        let whole = format!("{before}{r}{after}");
                        assert_eq!(w(&whole), w(&before) + 1 + w(&after), "{whole:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn width_counts_sequences_as_unicode_width_does() {
        for s in [
            "",
            "plain text",
            "1\u{fe0f}",
            "1\u{fe0f}\u{20e3} keycap",
            // Sixteen ASCII bytes whose last one a keycap sequence widens.
            "abcdefghijklmno1\u{fe0f}\u{20e3}",
            "0123456789abcdef#\u{fe0f}\u{20e3} and on",
            "#\u{fe0f}\u{20e3}",
            "x\r\ny",
            "⌚\u{fe0e}a",
            "👩\u{200d}👩 b",
            "\u{1f1fa}\u{1f1f8}c",
            "\u{644}\u{627} lam-alef",
            "façade テキスト ✓ 🚀",
        ] {
            assert_eq!(width(s), unicode_width::UnicodeWidthStr::width(s), "{s:?}");
        }
        assert_eq!(clip_width("façade テキスト", 9), "façade テ…");
        assert_eq!(clip_width("1\u{fe0f}\u{20e3}", 2), "1\u{fe0f}\u{20e3}");
    }

    #[test]
    fn numbers_and_addresses_are_pushed_as_format_writes_them() {
        let mut s = String::new();
        push_int(&mut s, -42i64);
        push_int(&mut s, u64::MAX);
        assert_eq!(s, format!("{}{}", -42i64, u64::MAX));
        for (secs, nanos) in [
            (0i64, 0u32),
            (1_767_225_600, 549_000),
            (-3, 999_999_999),
            (7, 5),
            (1, 4_000_000_000),
        ] {
            let mut s = String::new();
            push_secs_nanos(&mut s, secs, nanos);
            assert_eq!(s, format!("{secs}.{nanos:09}"));
        }
        for a in [
            [0, 0, 0, 0],
            [10, 1, 0, 255],
            [255, 255, 255, 255],
            [192, 168, 7, 10],
        ] {
            let mut s = String::new();
            push_ipv4(&mut s, a.into());
            assert_eq!(s, std::net::Ipv4Addr::from(a).to_string());
        }
    }

    #[test]
    fn hex_is_lower_case_with_or_without_spaces() {
        assert_eq!(hex(&[0x0a, 0xff, 0x3c]), "0aff3c");
        assert_eq!(joined_hex(&[0x02, 0x00, 0x0a, 0xff], ':'), "02:00:0a:ff");
        assert_eq!(joined_hex(&[], ':'), "");
        assert_eq!(spaced_hex(&[0x0a, 0xff, 0x3c]), "0a ff 3c");
        assert_eq!(spaced_hex(&[]), "");
    }

    #[test]
    fn cuts_by_terminal_columns_and_never_splits_a_character() {
        let s = "héllo wörld ✓";
        assert_eq!(clip_width(s, 13), s);
        assert_eq!(clip_width(s, 8), "héllo wö…");
        // Wide characters take two columns each.
        assert_eq!(clip_width("日本語テキスト", 5), "日本…");
        assert_eq!(width("日本"), 4);
        // A byte limit inside 'ö' (2 bytes) or '✓' (3 bytes) drops it.
        let b = s.as_bytes();
        assert_eq!(utf8_head(b, 8), "héllo w");
        assert_eq!(utf8_head(b, 14), "héllo wörld ");
        assert_eq!(utf8_head(b, 16), "héllo wörld ");
        assert_eq!(utf8_head(b, 17), s);
        assert!(!utf8_head(b, 9).contains('\u{fffd}'));
        // Invalid bytes inside stay visible as U+FFFD.
        assert_eq!(utf8_head(b"a\xffb\xc3", 4), "a\u{fffd}b");
    }

    #[test]
    fn cuts_at_characters_not_bytes() {
        assert_eq!(clip_chars("héllo", 2), "hé…");
        assert_eq!(clip_chars("héllo", 5), "héllo");
        assert_eq!(clip_bytes("héllo", 2), "h…");
        assert_eq!(clip_bytes("héllo", 3), "hé…");
        assert_eq!(clip_bytes("héllo", 6), "héllo");
    }
}
