//! UTF-8 validation of a text message as it streams through, kept or not.

/// UTF-8 validation of a byte stream cut anywhere, without keeping the text: only the
/// (at most 3) bytes of a character split across pieces are carried over.
#[derive(Debug, Default)]
pub(super) struct Utf8Stream {
    pub(super) carry: [u8; 4],
    pub(super) carry_len: usize,
    pub(super) bad: bool,
}

impl Utf8Stream {
    pub(super) fn feed(&mut self, mut b: &[u8]) {
        if self.bad || b.is_empty() {
            return;
        }
        if self.carry_len > 0 {
            // The carry is a valid prefix, so its first byte is a lead byte.
            let width: usize = match self.carry[0] {
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                _ => 4,
            };
            let have = self.carry_len.min(3);
            let take = width.saturating_sub(have).min(b.len());
            let mut buf = [0u8; 4];
            buf[..have].copy_from_slice(&self.carry[..have]);
            buf[have..have + take].copy_from_slice(&b[..take]);
            match simdutf8::compat::from_utf8(&buf[..have + take]) {
                Ok(_) => self.carry_len = 0,
                Err(e) if e.error_len().is_none() => {
                    // Still short of a whole character: all of `b` was taken.
                    self.carry = buf;
                    self.carry_len = have + take;
                    return;
                }
                Err(_) => {
                    self.bad = true;
                    return;
                }
            }
            b = &b[take..];
        }
        if let Err(e) = simdutf8::compat::from_utf8(b) {
            match e.error_len() {
                Some(_) => self.bad = true,
                None => {
                    let tail = b.get(e.valid_up_to()..).unwrap_or_default();
                    let n = tail.len().min(3);
                    self.carry[..n].copy_from_slice(&tail[..n]);
                    self.carry_len = n;
                }
            }
        }
    }

    /// Valid, allowing the stream to stop mid-character when `partial`.
    pub(super) fn valid(&self, partial: bool) -> bool {
        !self.bad && (self.carry_len == 0 || partial)
    }
}
