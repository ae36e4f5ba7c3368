//! The cryptography of decrypting records, all of it RustCrypto's: the TLS
//! 1.3 key schedule (HKDF-Expand-Label, RFC 8446 §7.1), the TLS 1.2 PRF (RFC
//! 5246 §5) and key block, and opening AEAD records (AES-GCM, RFC 5288 and
//! 8446; ChaCha20-Poly1305, RFC 7905 and 8446).
//!
//! Nothing here trusts a length from the wire: secrets come from the key log
//! (checked for the hash's length), and a record too short for its tag or
//! explicit nonce simply fails to open.

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384};

/// The hash of a suite's key schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
}

impl Hash {
    /// Bytes of its output: the length of the suite's secrets.
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }
}

/// A record cipher osiscope can open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AeadKind {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

impl AeadKind {
    pub fn key_len(self) -> usize {
        match self {
            AeadKind::Aes128Gcm => 16,
            AeadKind::Aes256Gcm | AeadKind::ChaCha20Poly1305 => 32,
        }
    }
}

/// Bytes of every AEAD tag here.
pub const TAG_LEN: usize = 16;
/// Bytes of a TLS 1.2 AES-GCM record's explicit nonce.
pub const EXPLICIT_NONCE_LEN: usize = 8;

/// HKDF-Expand-Label(secret, label, context, len): the derivation of every
/// TLS 1.3 key, IV and next secret. None when `secret` is too short for the
/// hash (HKDF rejects it) or `len` too long.
pub fn expand_label(
    hash: Hash,
    secret: &[u8],
    label: &str,
    context: &[u8],
    len: usize,
) -> Option<Vec<u8>> {
    let full = [b"tls13 ", label.as_bytes()].concat();
    let mut info = Vec::with_capacity(4 + full.len() + context.len());
    info.extend_from_slice(&u16::try_from(len).ok()?.to_be_bytes());
    info.push(u8::try_from(full.len()).ok()?);
    info.extend_from_slice(&full);
    info.push(u8::try_from(context.len()).ok()?);
    info.extend_from_slice(context);
    let mut out = vec![0u8; len];
    match hash {
        Hash::Sha256 => Hkdf::<Sha256>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .ok()?,
        Hash::Sha384 => Hkdf::<Sha384>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .ok()?,
    }
    Some(out)
}

/// The traffic secret after a KeyUpdate (RFC 8446 §7.2): the key log holds
/// generation 0 only, every later one is derived.
pub fn next_secret(hash: Hash, secret: &[u8]) -> Option<Vec<u8>> {
    expand_label(hash, secret, "traffic upd", &[], hash.output_len())
}

/// TLS 1.2's P_hash (RFC 5246 §5): `len` bytes from `secret` and `label ‖ seed`.
pub fn prf(hash: Hash, secret: &[u8], label: &[u8], seed: &[u8]) -> impl FnOnce(usize) -> Vec<u8> {
    let seed = [label, seed].concat();
    move |len| match hash {
        Hash::Sha256 => p_hash::<Hmac<Sha256>>(secret, &seed, len),
        Hash::Sha384 => p_hash::<Hmac<Sha384>>(secret, &seed, len),
    }
}

fn p_hash<M: Mac + KeyInit + Clone>(secret: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let Ok(mac) = <M as KeyInit>::new_from_slice(secret) else {
        return out;
    };
    // A(1) = HMAC(secret, seed); A(i) = HMAC(secret, A(i-1)).
    let mut a = {
        let mut m = mac.clone();
        m.update(seed);
        m.finalize().into_bytes().to_vec()
    };
    while out.len() < len {
        let mut m = mac.clone();
        m.update(&a);
        m.update(seed);
        out.extend_from_slice(&m.finalize().into_bytes());
        let mut m = mac.clone();
        m.update(&a);
        a = m.finalize().into_bytes().to_vec();
    }
    out.truncate(len);
    out
}

/// An AEAD instance, keyed.
pub enum Aead {
    Aes128Gcm(Box<Aes128Gcm>),
    Aes256Gcm(Box<Aes256Gcm>),
    ChaCha20Poly1305(Box<ChaCha20Poly1305>),
}

impl Aead {
    pub fn new(kind: AeadKind, key: &[u8]) -> Option<Aead> {
        Some(match kind {
            AeadKind::Aes128Gcm => Aead::Aes128Gcm(Box::new(Aes128Gcm::new_from_slice(key).ok()?)),
            AeadKind::Aes256Gcm => Aead::Aes256Gcm(Box::new(Aes256Gcm::new_from_slice(key).ok()?)),
            AeadKind::ChaCha20Poly1305 => {
                Aead::ChaCha20Poly1305(Box::new(ChaCha20Poly1305::new_from_slice(key).ok()?))
            }
        })
    }

    /// Opens `ciphertext ‖ tag` in place: on success the plaintext is the
    /// first `len - TAG_LEN` bytes of `buf`, and that length is returned.
    /// None when the tag does not authenticate (wrong keys, wrong sequence
    /// number, damaged bytes).
    pub fn open(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Option<usize> {
        let n = buf.len().checked_sub(TAG_LEN)?;
        let (msg, tag) = buf.split_at_mut(n);
        let ok = match self {
            Aead::Aes128Gcm(c) => open_with(c.as_ref(), nonce, aad, msg, tag),
            Aead::Aes256Gcm(c) => open_with(c.as_ref(), nonce, aad, msg, tag),
            Aead::ChaCha20Poly1305(c) => open_with(c.as_ref(), nonce, aad, msg, tag),
        };
        ok.then_some(n)
    }
}

fn open_with<C: AeadInOut>(
    c: &C,
    nonce: &[u8; 12],
    aad: &[u8],
    msg: &mut [u8],
    tag: &[u8],
) -> bool {
    let (Ok(nonce), Ok(tag)) = (
        aes_gcm::aead::Nonce::<C>::try_from(&nonce[..]),
        aes_gcm::aead::Tag::<C>::try_from(tag),
    ) else {
        return false;
    };
    c.decrypt_inout_detached(&nonce, aad, msg.into(), &tag)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// RFC 8448 §3 (a simple 1-RTT handshake): the server's handshake
    /// traffic secret gives its handshake write key and IV.
    #[test]
    fn rfc8448_server_handshake_key_and_iv() {
        let secret = unhex(
            "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38",
        );
        let key = expand_label(Hash::Sha256, &secret, "key", &[], 16).expect("key");
        let iv = expand_label(Hash::Sha256, &secret, "iv", &[], 12).expect("iv");
        assert_eq!(
            key,
            unhex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc")
        );
        assert_eq!(iv, unhex("5d 31 3e b2 67 12 76 ee 13 00 0b 30"));
    }

    /// RFC 5246's PRF with SHA-256, checked against the widely used test
    /// vector (IETF TLS WG, "TLS 1.2 PRF test vectors").
    #[test]
    fn tls12_prf_sha256() {
        let secret = unhex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35");
        let seed = unhex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c");
        let out = prf(Hash::Sha256, &secret, b"test label", &seed)(100);
        assert_eq!(
            out[..16],
            unhex("e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53")[..]
        );
        assert_eq!(out.len(), 100);
    }

    #[test]
    fn short_or_damaged_records_do_not_open() {
        let a = Aead::new(AeadKind::Aes128Gcm, &[7u8; 16]).expect("key");
        let mut short = vec![0u8; 15];
        assert!(a.open(&[0; 12], b"", &mut short).is_none());
        let mut junk = vec![0u8; 40];
        assert!(a.open(&[0; 12], b"", &mut junk).is_none());
        assert!(Aead::new(AeadKind::Aes256Gcm, &[0u8; 16]).is_none());
        assert!(expand_label(Hash::Sha384, &[1u8; 10], "key", &[], 16).is_none());
    }
}
