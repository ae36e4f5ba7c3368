//! The handshake messages osiscope reads: ClientHello, ServerHello (and
//! HelloRetryRequest), EncryptedExtensions, Certificate (the subject of the
//! first certificate), KeyUpdate. Everything else is named, not read.
//!
//! Every length is checked against the bytes that are there: a message that
//! claims more than it holds is `None` (malformed), never a panic, and
//! nothing is allocated from a length read in the input. Lists taken from a
//! hello are capped at [`MAX_LIST`] items.

use sha2::{Digest, Sha256};

/// Items kept of any list in a hello (cipher suites, groups, ALPN names).
pub const MAX_LIST: usize = 64;
/// Characters kept of a server name or an ALPN name.
pub const MAX_NAME: usize = 255;

/// Extension numbers (IANA "TLS ExtensionType Values").
pub mod ext {
    pub const SERVER_NAME: u16 = 0;
    pub const SUPPORTED_GROUPS: u16 = 10;
    pub const ALPN: u16 = 16;
    pub const PRE_SHARED_KEY: u16 = 41;
    pub const EARLY_DATA: u16 = 42;
    pub const SUPPORTED_VERSIONS: u16 = 43;
    pub const KEY_SHARE: u16 = 51;
    pub const ENCRYPTED_CLIENT_HELLO: u16 = 0xfe0d;
}

/// A cursor over bytes whose reads fail (None) rather than run past the end.
pub struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }
    pub fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    pub fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }
    pub fn u24(&mut self) -> Option<usize> {
        let b = self.take(3)?;
        Some(usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }
    /// A vector with a 1-, 2- or 3-byte length in front.
    pub fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(n.into())
    }
    pub fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(n.into())
    }
    pub fn vec24(&mut self) -> Option<&'a [u8]> {
        let n = self.u24()?;
        self.take(n)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The 16-bit numbers of a list, at most [`MAX_LIST`].
fn u16_list(b: &[u8]) -> Vec<u16> {
    b.chunks_exact(2)
        .take(MAX_LIST)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect()
}

/// Text from the wire, as much as a name may hold (escaped when shown).
fn name(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(MAX_NAME)]).into_owned()
}

/// ALPN's ProtocolNameList.
fn alpn_list(b: &[u8]) -> Vec<String> {
    let mut r = Reader(b);
    let mut out = Vec::new();
    while !r.is_empty() && out.len() < MAX_LIST {
        match r.vec8() {
            Some(p) => out.push(name(p)),
            None => break,
        }
    }
    out
}

/// What a ClientHello proposes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    pub legacy_version: u16,
    pub random: [u8; 32],
    pub cipher_suites: Vec<u16>,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// supported_versions, in the client's order (TLS 1.3 clients).
    pub versions: Vec<u16>,
    pub groups: Vec<u16>,
    /// The groups it sent a key share for.
    pub key_shares: Vec<u16>,
    /// legacy_session_id: a TLS 1.2 client's offer to resume (TLS 1.3 clients
    /// fill it too, for middleboxes).
    pub session_id: Vec<u8>,
    /// pre_shared_key: a TLS 1.3 client's offer to resume.
    pub psk: bool,
    pub early_data: bool,
    pub ech: bool,
}

/// Walks extensions, calling `f(type, data)` for each.
fn extensions(r: &mut Reader<'_>, mut f: impl FnMut(u16, &[u8])) -> Option<()> {
    if r.is_empty() {
        // Extensions are optional before TLS 1.3.
        return Some(());
    }
    let mut exts = Reader(r.vec16()?);
    while !exts.is_empty() {
        let t = exts.u16()?;
        let data = exts.vec16()?;
        f(t, data);
    }
    Some(())
}

impl ClientHello {
    /// The body of a ClientHello message (after the 4-byte handshake header).
    pub fn parse(b: &[u8]) -> Option<ClientHello> {
        let mut r = Reader(b);
        let mut h = ClientHello {
            legacy_version: r.u16()?,
            random: r.take(32)?.try_into().ok()?,
            ..ClientHello::default()
        };
        h.session_id = r.vec8()?.to_vec();
        h.cipher_suites = u16_list(r.vec16()?);
        r.vec8()?; // legacy_compression_methods
        extensions(&mut r, |t, data| match t {
            ext::SERVER_NAME => {
                let mut list = Reader(data);
                let mut names = Reader(list.vec16().unwrap_or_default());
                while let (Some(kind), Some(host)) = (names.u8(), names.vec16()) {
                    if kind == 0 {
                        h.sni = Some(name(host));
                        break;
                    }
                }
            }
            ext::SUPPORTED_GROUPS => h.groups = u16_list(Reader(data).vec16().unwrap_or_default()),
            ext::ALPN => h.alpn = alpn_list(Reader(data).vec16().unwrap_or_default()),
            ext::SUPPORTED_VERSIONS => {
                h.versions = u16_list(Reader(data).vec8().unwrap_or_default())
            }
            ext::KEY_SHARE => {
                let mut shares = Reader(Reader(data).vec16().unwrap_or_default());
                while let (Some(g), Some(_)) = (shares.u16(), shares.vec16()) {
                    if h.key_shares.len() < MAX_LIST {
                        h.key_shares.push(g);
                    }
                }
            }
            ext::PRE_SHARED_KEY => h.psk = true,
            ext::EARLY_DATA => h.early_data = true,
            ext::ENCRYPTED_CLIENT_HELLO => h.ech = true,
            _ => {}
        })?;
        Some(h)
    }
}

/// What a ServerHello chooses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHello {
    pub random: [u8; 32],
    /// The version agreed: supported_versions when there, else the legacy field.
    pub version: u16,
    pub cipher_suite: u16,
    /// The key share's group (TLS 1.3; the group asked for, in a HelloRetryRequest).
    pub group: Option<u16>,
    /// ALPN chosen (TLS 1.2 carries it here; TLS 1.3 in EncryptedExtensions).
    pub alpn: Option<String>,
    /// A HelloRetryRequest: the server asks for another ClientHello.
    pub retry: bool,
    pub session_id: Vec<u8>,
    /// pre_shared_key: the server accepts a TLS 1.3 resumption.
    pub psk: bool,
    /// The server resumes an earlier session (set by the analyzer, which has
    /// the ClientHello: see [`ServerHello::resumes`]).
    pub resumed: bool,
}

/// The random of a HelloRetryRequest: SHA-256 of "HelloRetryRequest" (RFC 8446 §4.1.3).
fn hello_retry_random() -> [u8; 32] {
    Sha256::digest(b"HelloRetryRequest").into()
}

impl ServerHello {
    pub fn parse(b: &[u8]) -> Option<ServerHello> {
        let mut r = Reader(b);
        let legacy = r.u16()?;
        let random: [u8; 32] = r.take(32)?.try_into().ok()?;
        let session_id = r.vec8()?.to_vec();
        let mut h = ServerHello {
            random,
            session_id,
            version: legacy,
            cipher_suite: r.u16()?,
            retry: random == hello_retry_random(),
            ..ServerHello::default()
        };
        r.u8()?; // legacy_compression_method
        extensions(&mut r, |t, data| match t {
            ext::SUPPORTED_VERSIONS => {
                if let Some(v) = Reader(data).u16() {
                    h.version = v;
                }
            }
            ext::KEY_SHARE => h.group = Reader(data).u16(),
            ext::ALPN => h.alpn = alpn_list(Reader(data).vec16().unwrap_or_default()).pop(),
            ext::PRE_SHARED_KEY => h.psk = true,
            _ => {}
        })?;
        Some(h)
    }

    /// Whether this answer to `client` resumes an earlier session: in TLS 1.3
    /// the server accepts a pre-shared key; before, it echoes the session ID
    /// the client offered (RFC 5246 §7.4.1.3, RFC 5077 §3.4). TLS 1.3 echoes
    /// the ID always, so the echo alone says nothing there.
    pub fn resumes(&self, client: &ClientHello) -> bool {
        if self.version >= 0x0304 {
            self.psk
        } else {
            !client.session_id.is_empty() && self.session_id == client.session_id
        }
    }
}

/// EncryptedExtensions: the ALPN chosen, and whether early data was accepted.
pub fn encrypted_extensions(b: &[u8]) -> Option<(Option<String>, bool)> {
    let mut r = Reader(b);
    let (mut alpn, mut early) = (None, false);
    extensions(&mut r, |t, data| match t {
        ext::ALPN => alpn = alpn_list(Reader(data).vec16().unwrap_or_default()).pop(),
        ext::EARLY_DATA => early = true,
        _ => {}
    })?;
    Some((alpn, early))
}

/// The first certificate of a Certificate message (TLS 1.3 has a request
/// context in front and extensions after each certificate).
pub fn first_certificate(b: &[u8], tls13: bool) -> Option<&[u8]> {
    let mut r = Reader(b);
    if tls13 {
        r.vec8()?;
    }
    let mut list = Reader(r.vec24()?);
    list.vec24()
}

/// A DER element: (tag, contents), advancing the reader.
fn der<'a>(r: &mut Reader<'a>) -> Option<(u8, &'a [u8])> {
    let tag = r.u8()?;
    let first = r.u8()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        r.take(n)?
            .iter()
            .fold(0usize, |acc, b| acc << 8 | usize::from(*b))
    };
    Some((tag, r.take(len)?))
}

/// The subject of an X.509 certificate (DER), as `CN=…, O=…`. None when
/// it is not a certificate as RFC 5280 lays one out.
pub fn certificate_subject(cert: &[u8]) -> Option<String> {
    const SEQUENCE: u8 = 0x30;
    let (t, cert) = der(&mut Reader(cert))?;
    (t == SEQUENCE).then_some(())?;
    let (t, tbs) = der(&mut Reader(cert))?;
    (t == SEQUENCE).then_some(())?;
    let mut tbs = Reader(tbs);
    let (t, _) = der(&mut tbs)?;
    if t == 0xa0 {
        // That was the [0] version: the serial number follows.
        der(&mut tbs)?;
    }
    let _signature = der(&mut tbs)?;
    let _issuer = der(&mut tbs)?;
    let _validity = der(&mut tbs)?;
    let (t, subject) = der(&mut tbs)?;
    (t == SEQUENCE).then_some(())?;
    let mut parts = Vec::new();
    let mut rdns = Reader(subject);
    while !rdns.is_empty() && parts.len() < 16 {
        let (_, set) = der(&mut rdns)?;
        let mut set = Reader(set);
        while !set.is_empty() {
            let (_, atv) = der(&mut set)?;
            let mut atv = Reader(atv);
            let (_, oid) = der(&mut atv)?;
            let (_, value) = der(&mut atv)?;
            let key = match oid {
                [0x55, 0x04, 0x03] => "CN".to_owned(),
                [0x55, 0x04, 0x06] => "C".to_owned(),
                [0x55, 0x04, 0x07] => "L".to_owned(),
                [0x55, 0x04, 0x08] => "ST".to_owned(),
                [0x55, 0x04, 0x0a] => "O".to_owned(),
                [0x55, 0x04, 0x0b] => "OU".to_owned(),
                other => crate::text::hex(other),
            };
            parts.push(format!("{key}={}", name(value)));
        }
    }
    Some(parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello as Python's ssl module sends it, cut anywhere: never a
    /// panic, and None for every cut short of the whole.
    #[test]
    fn truncated_hellos_are_none() {
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[7u8; 32]);
        body.push(0);
        body.extend_from_slice(&[0, 4, 0x13, 0x01, 0x13, 0x02]);
        body.extend_from_slice(&[1, 0]);
        let sni = b"osiscope.test";
        let mut e = Vec::new();
        let list_len = (sni.len() + 3) as u16;
        e.extend_from_slice(&0u16.to_be_bytes());
        e.extend_from_slice(&(list_len + 2).to_be_bytes());
        e.extend_from_slice(&list_len.to_be_bytes());
        e.push(0);
        e.extend_from_slice(&(sni.len() as u16).to_be_bytes());
        e.extend_from_slice(sni);
        e.extend_from_slice(&[0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04]);
        body.extend_from_slice(&(e.len() as u16).to_be_bytes());
        body.extend_from_slice(&e);
        let h = ClientHello::parse(&body).expect("whole");
        assert_eq!(h.sni.as_deref(), Some("osiscope.test"));
        assert_eq!(h.versions, [0x0304]);
        assert_eq!(h.cipher_suites, [0x1301, 0x1302]);
        for cut in 0..body.len() {
            let _ = ClientHello::parse(&body[..cut]);
        }
        assert!(ClientHello::parse(&body[..40]).is_none());
    }

    #[test]
    fn hello_retry_random_is_rfc_8446s() {
        assert_eq!(
            hello_retry_random()[..4],
            [0xcf, 0x21, 0xad, 0x74],
            "RFC 8446 §4.1.3"
        );
    }

    #[test]
    fn der_lengths_past_the_end_are_none() {
        assert!(certificate_subject(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(certificate_subject(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
        assert!(certificate_subject(&[]).is_none());
    }

    /// TLS 1.2 resumes by echoing the client's session ID; TLS 1.3 echoes it
    /// always and resumes only with a pre-shared key.
    #[test]
    fn resumption_by_version() {
        let client = ClientHello {
            session_id: vec![7; 32],
            ..ClientHello::default()
        };
        let answer = |version, session_id: Vec<u8>, psk| ServerHello {
            version,
            session_id,
            psk,
            ..ServerHello::default()
        };
        assert!(answer(0x0303, vec![7; 32], false).resumes(&client));
        assert!(!answer(0x0303, vec![8; 32], false).resumes(&client));
        assert!(!answer(0x0303, vec![], false).resumes(&ClientHello::default()));
        assert!(!answer(0x0304, vec![7; 32], false).resumes(&client));
        assert!(answer(0x0304, vec![7; 32], true).resumes(&client));
    }
}
