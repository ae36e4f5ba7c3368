//! What the TLS analyzer reports (events) and records (the connection's
//! `tls` object).

use serde::Serialize;

use super::hello::{ClientHello, ServerHello};
use crate::flow::{Dir, summary::PerDir};

/// What the TLS analyzer reports.
#[derive(Clone, Debug)]
pub enum TlsEvent {
    /// One record, at the frame whose bytes completed it.
    Record(RecordInfo),
    ClientHello {
        frame: u64,
        hello: Box<ClientHello>,
    },
    /// A ServerHello, or a HelloRetryRequest (`hello.retry`).
    ServerHello {
        frame: u64,
        hello: Box<ServerHello>,
    },
    /// Any other handshake message; `encrypted` when it was read decrypted.
    Handshake {
        dir: Dir,
        frame: u64,
        kind: u8,
        encrypted: bool,
        /// What it says that matters: the ALPN chosen, the certificate's
        /// subject, whether a KeyUpdate asks the peer to update too.
        detail: Option<String>,
    },
    ChangeCipherSpec {
        dir: Dir,
        frame: u64,
        /// In TLS 1.3 it is a compatibility record that changes nothing.
        tls13: bool,
    },
    Alert {
        dir: Dir,
        frame: u64,
        level: u8,
        description: u8,
        encrypted: bool,
    },
    /// What the key log made of the session: keys found (decryption starts
    /// at this frame), or why it is not decrypted.
    Keys {
        frame: u64,
        decrypted: bool,
        why: Option<String>,
    },
}

impl TlsEvent {
    /// Bytes the event points to.
    pub fn held(&self) -> usize {
        match self {
            TlsEvent::ClientHello { .. } => std::mem::size_of::<ClientHello>(),
            TlsEvent::ServerHello { .. } => std::mem::size_of::<ServerHello>(),
            TlsEvent::Handshake { detail, .. } => detail.as_ref().map_or(0, String::len),
            TlsEvent::Keys { why, .. } => why.as_ref().map_or(0, String::len),
            _ => 0,
        }
    }
}

/// One TLS record as it crossed the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RecordInfo {
    #[serde(skip)]
    pub dir: Dir,
    /// Capture frame whose bytes completed the record.
    pub frame: u64,
    pub content_type: u8,
    pub version: u16,
    pub length: u16,
    /// The type inside an encrypted record, once decrypted (TLS 1.3 hides
    /// it); None when not decrypted.
    pub inner_type: Option<u8>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct AlertInfo {
    pub frame: u64,
    pub from: Option<Dir>,
    pub level: &'static str,
    pub description: String,
}

/// The TLS part of a connection record; names as tshark shows them.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TlsSummary {
    pub client_hello_frame: Option<u64>,
    pub server_hello_frame: Option<u64>,
    /// `"TLS 1.3"`.
    pub version: Option<String>,
    /// `"TLS_AES_128_GCM_SHA256"`.
    pub cipher_suite: Option<String>,
    pub sni: Option<String>,
    pub alpn_offered: Vec<String>,
    /// The ALPN protocol the server chose.
    pub alpn: Option<String>,
    pub versions_offered: Vec<String>,
    pub cipher_suites_offered: Vec<String>,
    pub groups_offered: Vec<String>,
    /// The key exchange group of the ServerHello's key share.
    pub group: Option<String>,
    pub hello_retry: bool,
    pub early_data_offered: bool,
    pub ech_offered: bool,
    /// The client offered a TLS 1.3 pre-shared key (to resume a session).
    pub psk_offered: bool,
    /// The server resumed an earlier session: no certificate in this handshake.
    pub resumed: bool,
    /// The subject of the server's certificate (read once decrypted in TLS 1.3).
    pub certificate_subject: Option<String>,
    pub decrypted: bool,
    /// Why the connection was not (or not wholly) decrypted.
    pub not_decrypted_reason: Option<String>,
    pub key_updates: u64,
    /// 0-RTT records that could not be opened (early data is not decrypted).
    pub early_data_records_skipped: u64,
    pub alerts: Vec<AlertInfo>,
    /// TLS records each way.
    pub records: PerDir<u64>,
}
