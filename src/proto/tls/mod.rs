//! TLS (RFC 8446, RFC 5246) at layer 6: the record layer over one direction
//! of a reassembled TCP stream, the handshake read in the clear and, with a
//! key log, decrypted; the application data handed, decrypted, to the
//! protocol above (HTTP, then WebSocket and Socket.IO, as over plain TCP).
//!
//! - [`Splitter`] (here): one direction's bytes in, whole records out,
//!   however the stream was cut;
//! - [`hello`]: the handshake messages that are read (ClientHello,
//!   ServerHello, EncryptedExtensions, Certificate, KeyUpdate);
//! - [`keylog`]: the NSS key log;
//! - [`crypto`]: key schedules and AEAD (RustCrypto);
//! - [`names`]: versions, cipher suites, groups, alerts by name;
//! - [`record`]: what the analyzer reports and records;
//! - [`analyzer`]: both directions of a connection.
//!
//! Validated: the record header (a known content type, version 3.x, a
//! length of at most [`MAX_RECORD`]); past a header that fails, the direction
//! is no longer read as TLS. Handshake messages are assembled across records
//! up to [`MAX_HANDSHAKE`] bytes (a larger one is skipped, counted).
//! Memory per direction: one record ([`MAX_RECORD`] + 5 bytes) and one
//! handshake message.

pub mod analyzer;
pub mod crypto;
pub mod hello;
pub mod keylog;
pub mod names;
pub mod record;

/// Bytes of a record header: type, version, length.
pub const HEADER_LEN: usize = 5;
/// The longest record body TLS allows (TLS 1.2's ciphertext: 2^14 + 2048;
/// TLS 1.3's is 2^14 + 256).
pub const MAX_RECORD: usize = (1 << 14) + 2048;
/// The largest handshake message assembled (certificate chains included).
pub const MAX_HANDSHAKE: usize = 256 * 1024;

pub const CHANGE_CIPHER_SPEC: u8 = 20;
pub const ALERT: u8 = 21;
pub const HANDSHAKE: u8 = 22;
pub const APPLICATION_DATA: u8 = 23;
pub const HEARTBEAT: u8 = 24;

/// A record header that can be a TLS record's: known type, SSL 3.0 to TLS
/// 1.3 version, a length TLS allows.
pub fn plausible_header(h: &[u8]) -> bool {
    match h {
        [t, 3, minor, hi, lo, ..] => {
            (CHANGE_CIPHER_SPEC..=HEARTBEAT).contains(t)
                && *minor <= 4
                && usize::from(u16::from_be_bytes([*hi, *lo])) <= MAX_RECORD
        }
        _ => false,
    }
}

/// The first bytes of a connection are TLS: a record header that can be a
/// TLS record's (a handshake starting the stream, or records of a session
/// the capture joined late).
pub fn sniff(first: &[u8]) -> bool {
    plausible_header(first)
}

/// One whole record, its body in the splitter's buffer (decrypted there, in place).
pub struct Record<'a> {
    pub header: [u8; HEADER_LEN],
    pub body: &'a mut [u8],
    /// Capture frame that delivered the record's last byte.
    pub frame: u64,
}

impl Record<'_> {
    pub fn content_type(&self) -> u8 {
        self.header[0]
    }
    pub fn version(&self) -> u16 {
        u16::from_be_bytes([self.header[1], self.header[2]])
    }
}

/// Why a direction stopped being read as TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lost {
    /// A header no TLS record has, at this frame.
    NotTls(u64),
    /// Bytes of the stream were not captured.
    Gap,
}

/// One direction's record framing: bytes in, whole records out. Each record
/// is assembled in a buffer of at most one record (the one copy of its
/// bytes), where it can be decrypted in place.
#[derive(Default)]
pub struct Splitter {
    buf: Vec<u8>,
    lost: Option<Lost>,
}

impl Splitter {
    pub fn lost(&self) -> Option<Lost> {
        self.lost
    }

    /// Bytes held of a record not complete yet.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The stream lost bytes: record boundaries are unknown from here.
    pub fn gap(&mut self) {
        self.lost.get_or_insert(Lost::Gap);
        self.buf = Vec::new();
    }

    /// Feeds the next bytes; `f` gets each whole record in order.
    pub fn push(&mut self, mut bytes: &[u8], frame: u64, mut f: impl FnMut(Record<'_>)) {
        while self.lost.is_none() && !bytes.is_empty() {
            // The header first, then the body it announces.
            let need_header = HEADER_LEN.saturating_sub(self.buf.len());
            if need_header > 0 {
                let take = need_header.min(bytes.len());
                self.buf.extend_from_slice(&bytes[..take]);
                bytes = &bytes[take..];
                if self.buf.len() < HEADER_LEN {
                    return;
                }
                if !plausible_header(&self.buf) {
                    self.lost = Some(Lost::NotTls(frame));
                    self.buf = Vec::new();
                    return;
                }
            }
            let len = usize::from(u16::from_be_bytes([self.buf[3], self.buf[4]]));
            let want = HEADER_LEN + len - self.buf.len();
            let take = want.min(bytes.len());
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buf.len() == HEADER_LEN + len {
                let (head, body) = self.buf.split_at_mut(HEADER_LEN);
                let header: [u8; HEADER_LEN] = [head[0], head[1], head[2], head[3], head[4]];
                f(Record {
                    header,
                    body,
                    frame,
                });
                self.buf.clear();
            }
        }
    }
}

/// Handshake messages assembled from the handshake records of one direction
/// (a message may span records, and a record hold several).
#[derive(Default)]
pub struct Handshakes {
    buf: Vec<u8>,
    /// Bytes of an over-long message still to skip.
    skip: usize,
    /// Messages skipped for their size.
    pub skipped: u64,
}

impl Handshakes {
    /// Feeds a handshake record's plaintext; `f(type, body)` gets each whole message.
    pub fn push(&mut self, mut bytes: &[u8], mut f: impl FnMut(u8, &[u8])) {
        loop {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len());
                self.skip -= n;
                bytes = &bytes[n..];
            }
            if bytes.is_empty() {
                return;
            }
            if self.buf.is_empty() {
                // Whole messages straight from the record.
                if let [t, a, b, c, rest @ ..] = bytes {
                    let len = usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c);
                    if len > MAX_HANDSHAKE {
                        self.skipped += 1;
                        self.skip = len;
                        bytes = rest;
                        continue;
                    }
                    if let Some(body) = rest.get(..len) {
                        f(*t, body);
                        bytes = &rest[len..];
                        continue;
                    }
                }
            }
            // Assemble across records.
            let need = if self.buf.len() < 4 {
                4 - self.buf.len()
            } else {
                let len = usize::from(self.buf[1]) << 16
                    | usize::from(self.buf[2]) << 8
                    | usize::from(self.buf[3]);
                4 + len - self.buf.len()
            };
            let take = need.min(bytes.len());
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buf.len() >= 4 {
                let len = usize::from(self.buf[1]) << 16
                    | usize::from(self.buf[2]) << 8
                    | usize::from(self.buf[3]);
                if len > MAX_HANDSHAKE {
                    self.skipped += 1;
                    self.skip = len + 4 - self.buf.len();
                    self.buf = Vec::new();
                    continue;
                }
                if self.buf.len() == 4 + len {
                    let buf = std::mem::take(&mut self.buf);
                    f(buf[0], &buf[4..]);
                }
            }
            if bytes.is_empty() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(stream: &[u8], cuts: &[usize]) -> Vec<(u8, Vec<u8>, u64)> {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        let mut at = 0;
        for (i, &c) in cuts
            .iter()
            .chain(std::iter::once(&stream.len()))
            .enumerate()
        {
            s.push(&stream[at..c], i as u64 + 1, |r| {
                out.push((r.content_type(), r.body.to_vec(), r.frame))
            });
            at = c;
        }
        out
    }

    #[test]
    fn records_come_out_whole_however_the_stream_is_cut() {
        let mut stream = vec![22, 3, 1, 0, 3, 1, 2, 3];
        stream.extend_from_slice(&[23, 3, 3, 0, 2, 9, 9]);
        let whole = records(&stream, &[]);
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[1], (23, vec![9, 9], 1));
        for a in 0..stream.len() {
            for b in a..stream.len() {
                let got = records(&stream, &[a, b]);
                let bodies: Vec<_> = got.iter().map(|(t, b, _)| (*t, b.clone())).collect();
                let want: Vec<_> = whole.iter().map(|(t, b, _)| (*t, b.clone())).collect();
                assert_eq!(bodies, want, "cut at {a}, {b}");
            }
        }
    }

    #[test]
    fn a_header_no_record_has_stops_the_direction() {
        let mut s = Splitter::default();
        s.push(b"GET / HTTP/1.1\r\n", 4, |_| panic!("no record"));
        assert_eq!(s.lost(), Some(Lost::NotTls(4)));
        let mut s = Splitter::default();
        // 2^14 + 2049 bytes: longer than TLS allows.
        s.push(&[23, 3, 3, 0x48, 0x01], 2, |_| panic!("no record"));
        assert_eq!(s.lost(), Some(Lost::NotTls(2)));
    }

    #[test]
    fn handshake_messages_span_records() {
        let msg = [1u8, 0, 0, 5, 10, 11, 12, 13, 14, 2, 0, 0, 1, 7];
        for cut in 0..msg.len() {
            let mut h = Handshakes::default();
            let mut got = Vec::new();
            h.push(&msg[..cut], |t, b| got.push((t, b.to_vec())));
            h.push(&msg[cut..], |t, b| got.push((t, b.to_vec())));
            assert_eq!(
                got,
                [(1, vec![10, 11, 12, 13, 14]), (2, vec![7])],
                "cut at {cut}"
            );
        }
    }
}
