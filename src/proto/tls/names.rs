//! The names of TLS's numbers, as the IANA registries and tshark give them:
//! versions, cipher suites (with what decrypting them takes), named groups,
//! handshake message types, alerts.

use super::crypto::{AeadKind, Hash};

/// `"TLS 1.3"` for 0x0304, as tshark names versions.
pub fn version_name(v: u16) -> String {
    match v {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        v if is_grease(v) => "GREASE".into(),
        v if v >> 8 == 0x7f => format!("TLS 1.3 draft {}", v & 0xff),
        v => format!("0x{v:04x}"),
    }
}

/// GREASE values (RFC 8701): 0x0a0a, 0x1a1a, … 0xfafa, sent to keep peers honest.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// A cipher suite: its IANA name, and for the AEAD suites osiscope decrypts,
/// the cipher and the hash of its key schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    pub id: u16,
    pub name: &'static str,
    /// The record cipher, when osiscope can decrypt it.
    pub aead: Option<AeadKind>,
    pub hash: Hash,
}

const fn s(id: u16, name: &'static str, aead: Option<AeadKind>, hash: Hash) -> Suite {
    Suite {
        id,
        name,
        aead,
        hash,
    }
}

use AeadKind::{Aes128Gcm as G128, Aes256Gcm as G256, ChaCha20Poly1305 as CHACHA};
use Hash::{Sha256 as H256, Sha384 as H384};

/// The suites in use today (and a few common older ones, for their names).
const SUITES: &[Suite] = &[
    s(0x1301, "TLS_AES_128_GCM_SHA256", Some(G128), H256),
    s(0x1302, "TLS_AES_256_GCM_SHA384", Some(G256), H384),
    s(0x1303, "TLS_CHACHA20_POLY1305_SHA256", Some(CHACHA), H256),
    s(0x1304, "TLS_AES_128_CCM_SHA256", None, H256),
    s(0x1305, "TLS_AES_128_CCM_8_SHA256", None, H256),
    s(
        0xc02b,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        Some(G128),
        H256,
    ),
    s(
        0xc02c,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        Some(G256),
        H384,
    ),
    s(
        0xc02f,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        Some(G128),
        H256,
    ),
    s(
        0xc030,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        Some(G256),
        H384,
    ),
    s(
        0xcca8,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Some(CHACHA),
        H256,
    ),
    s(
        0xcca9,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        Some(CHACHA),
        H256,
    ),
    s(
        0xccaa,
        "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Some(CHACHA),
        H256,
    ),
    s(
        0x009e,
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        Some(G128),
        H256,
    ),
    s(
        0x009f,
        "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        Some(G256),
        H384,
    ),
    s(0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", Some(G128), H256),
    s(0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384", Some(G256), H384),
    s(0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", None, H256),
    s(0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", None, H256),
    s(0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", None, H256),
    s(0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", None, H256),
    s(
        0xc023,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        None,
        H256,
    ),
    s(
        0xc024,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        None,
        H384,
    ),
    s(0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", None, H256),
    s(0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", None, H384),
    s(0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", None, H256),
    s(0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", None, H256),
    s(0xc0ae, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", None, H256),
    s(0xc0af, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8", None, H256),
    s(0xc09c, "TLS_RSA_WITH_AES_128_CCM", None, H256),
    s(0xc09d, "TLS_RSA_WITH_AES_256_CCM", None, H256),
    s(0xc09e, "TLS_DHE_RSA_WITH_AES_128_CCM", None, H256),
    s(0xc09f, "TLS_DHE_RSA_WITH_AES_256_CCM", None, H256),
    s(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", None, H256),
    s(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", None, H256),
    s(0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", None, H256),
    s(0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", None, H256),
    s(0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", None, H256),
    s(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", None, H256),
    s(0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", None, H256),
    s(0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256", None, H256),
    s(0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", None, H256),
    s(0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", None, H256),
    s(0x5600, "TLS_FALLBACK_SCSV", None, H256),
];

pub fn suite(id: u16) -> Option<&'static Suite> {
    SUITES.iter().find(|s| s.id == id)
}

/// The suite's IANA name, `GREASE`, or its number in hex.
pub fn suite_name(id: u16) -> String {
    match suite(id) {
        Some(s) => s.name.to_owned(),
        None if is_grease(id) => "GREASE".into(),
        None => format!("0x{id:04x}"),
    }
}

/// A named group (key exchange) by its IANA name.
pub fn group_name(id: u16) -> String {
    let name = match id {
        23 => "secp256r1",
        24 => "secp384r1",
        25 => "secp521r1",
        26 => "brainpoolP256r1",
        27 => "brainpoolP384r1",
        28 => "brainpoolP512r1",
        29 => "x25519",
        30 => "x448",
        31 => "brainpoolP256r1tls13",
        32 => "brainpoolP384r1tls13",
        33 => "brainpoolP512r1tls13",
        256 => "ffdhe2048",
        257 => "ffdhe3072",
        258 => "ffdhe4096",
        259 => "ffdhe6144",
        260 => "ffdhe8192",
        0x0200 => "MLKEM512",
        0x0201 => "MLKEM768",
        0x0202 => "MLKEM1024",
        0x11eb => "SecP256r1MLKEM768",
        0x11ec => "X25519MLKEM768",
        0x11ed => "SecP384r1MLKEM1024",
        0x6399 => "X25519Kyber768Draft00",
        0x639a => "SecP256r1Kyber768Draft00",
        v if is_grease(v) => "GREASE",
        v => return format!("0x{v:04x}"),
    };
    name.to_owned()
}

/// A handshake message type, as RFC 8446 spells it in prose (`ClientHello`).
pub fn handshake_name(t: u8) -> String {
    let name = match t {
        0 => "HelloRequest",
        1 => "ClientHello",
        2 => "ServerHello",
        3 => "HelloVerifyRequest",
        4 => "NewSessionTicket",
        5 => "EndOfEarlyData",
        8 => "EncryptedExtensions",
        11 => "Certificate",
        12 => "ServerKeyExchange",
        13 => "CertificateRequest",
        14 => "ServerHelloDone",
        15 => "CertificateVerify",
        16 => "ClientKeyExchange",
        20 => "Finished",
        22 => "CertificateStatus",
        24 => "KeyUpdate",
        25 => "CompressedCertificate",
        254 => "MessageHash",
        t => return format!("handshake type {t}"),
    };
    name.to_owned()
}

/// A record's content type.
pub fn content_type_name(t: u8) -> &'static str {
    match t {
        20 => "change_cipher_spec",
        21 => "alert",
        22 => "handshake",
        23 => "application_data",
        24 => "heartbeat",
        _ => "unknown",
    }
}

/// An alert's description (RFC 8446 §6 and the IANA registry).
pub fn alert_name(d: u8) -> String {
    let name = match d {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        d => return format!("alert {d}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(version_name(0x0304), "TLS 1.3");
        assert_eq!(version_name(0x7a7a), "GREASE");
        assert!(is_grease(0xfafa) && is_grease(0x0a0a) && !is_grease(0x0a1a));
        assert_eq!(suite_name(0x1302), "TLS_AES_256_GCM_SHA384");
        assert_eq!(suite_name(0xbeef), "0xbeef");
        assert_eq!(group_name(0x11ec), "X25519MLKEM768");
        assert_eq!(group_name(29), "x25519");
        assert_eq!(alert_name(0), "close_notify");
        assert_eq!(handshake_name(24), "KeyUpdate");
        // The TLS 1.2 AEAD suites name their hash last: SHA384 with AES-256.
        for s in SUITES {
            assert_eq!(
                s.name.ends_with("SHA384"),
                s.hash == Hash::Sha384,
                "{}",
                s.name
            );
        }
    }
}
