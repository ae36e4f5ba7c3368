//! Cutting text from the wire to a size a line can show.

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
    if s.len() <= n {
        return s.to_owned();
    }
    format!("{}…", &s[..s.floor_char_boundary(n)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_characters_not_bytes() {
        assert_eq!(clip_chars("héllo", 2), "hé…");
        assert_eq!(clip_chars("héllo", 5), "héllo");
        assert_eq!(clip_bytes("héllo", 2), "h…");
        assert_eq!(clip_bytes("héllo", 3), "hé…");
        assert_eq!(clip_bytes("héllo", 6), "héllo");
    }
}
