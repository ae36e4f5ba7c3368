//! Both directions of a TLS connection as an analyzer: records split, the
//! handshake read, keys found in the key log by the client random, records
//! opened, and the application data handed to the protocol the registry
//! names for it (by ALPN: HTTP/1.1).
//!
//! Keys, TLS 1.3: the handshake traffic secrets open each side's records
//! from the ServerHello on, until that side's Finished; the application
//! traffic secrets (generation 0) after it; each KeyUpdate moves its side
//! to the next generation, derived. Middlebox-compatibility ChangeCipherSpec
//! records are plaintext and take no sequence number; 0-RTT records (early
//! data) are counted, not opened.
//!
//! Keys, TLS 1.2: the master secret (`CLIENT_RANDOM`) gives the key block;
//! each side's records are encrypted from its ChangeCipherSpec on. AES-GCM
//! carries an explicit nonce in each record; ChaCha20-Poly1305 XORs the
//! sequence number into the IV (RFC 7905).
//!
//! A side whose records stop opening (wrong keys, a gap in the stream) is
//! no longer decrypted; why goes into the record once per connection.

use std::sync::Arc;

use super::crypto::{self, Aead, AeadKind, EXPLICIT_NONCE_LEN, TAG_LEN};
use super::hello::{self, ClientHello, ServerHello};
use super::keylog::{KeyLog, Label, Secrets};
use super::names::{self, Suite};
use super::record::{AlertInfo, RecordInfo, TlsEvent, TlsSummary};
use super::{
    ALERT, APPLICATION_DATA, CHANGE_CIPHER_SPEC, HANDSHAKE, HEADER_LEN, Handshakes, Lost, Record,
    Splitter,
};
use crate::flow::Dir;
use crate::proto::bytes::Part;
use crate::proto::stack::{Cx, StreamAnalyzer};

/// Handshake message types the analyzer acts on.
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
const ENCRYPTED_EXTENSIONS: u8 = 8;
const CERTIFICATE: u8 = 11;
const FINISHED: u8 = 20;
const KEY_UPDATE: u8 = 24;

/// How a record's nonce and additional data are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    Tls13,
    /// TLS 1.2 AES-GCM: 4-byte implicit IV, 8-byte explicit nonce per record.
    Tls12Gcm,
    /// TLS 1.2 ChaCha20-Poly1305: 12-byte IV XOR the sequence number.
    Tls12Chacha,
}

/// The keys that open one side's records, and the next sequence number.
struct Keys {
    aead: Aead,
    iv: [u8; 12],
    seq: u64,
    layout: Layout,
}

impl Keys {
    fn tls13(kind: AeadKind, hash: crypto::Hash, secret: &[u8]) -> Option<Keys> {
        let key = crypto::expand_label(hash, secret, "key", &[], kind.key_len())?;
        let iv = crypto::expand_label(hash, secret, "iv", &[], 12)?;
        Some(Keys {
            aead: Aead::new(kind, &key)?,
            iv: iv.try_into().ok()?,
            seq: 0,
            layout: Layout::Tls13,
        })
    }

    fn nonce(&self, explicit: Option<&[u8]>) -> [u8; 12] {
        let mut n = self.iv;
        match explicit {
            Some(e) => n[4..].copy_from_slice(e),
            None => {
                for (b, s) in n[4..].iter_mut().zip(self.seq.to_be_bytes()) {
                    *b ^= s;
                }
            }
        }
        n
    }

    /// Opens a record in place: its (inner) content type and where the
    /// plaintext lies in the body, or None when it does not open.
    fn open(&mut self, header: &[u8; 5], body: &mut [u8]) -> Option<(u8, std::ops::Range<usize>)> {
        let (nonce, start) = match self.layout {
            Layout::Tls13 | Layout::Tls12Chacha => (self.nonce(None), 0),
            Layout::Tls12Gcm => {
                let explicit = body.get(..EXPLICIT_NONCE_LEN)?;
                (self.nonce(Some(explicit)), EXPLICIT_NONCE_LEN)
            }
        };
        let sealed = body.get_mut(start..)?;
        let n = match self.layout {
            Layout::Tls13 => self.aead.open(&nonce, header, sealed)?,
            Layout::Tls12Gcm | Layout::Tls12Chacha => {
                // seq ‖ type ‖ version ‖ plaintext length (RFC 5246 §6.2.3.3).
                let plain_len = u16::try_from(sealed.len().checked_sub(TAG_LEN)?).ok()?;
                let mut aad = [0u8; 13];
                aad[..8].copy_from_slice(&self.seq.to_be_bytes());
                aad[8..11].copy_from_slice(&header[..3]);
                aad[11..].copy_from_slice(&plain_len.to_be_bytes());
                self.aead.open(&nonce, &aad, sealed)?
            }
        };
        self.seq += 1;
        if self.layout != Layout::Tls13 {
            return Some((header[0], start..start + n));
        }
        // TLSInnerPlaintext: content, the real type, zero padding.
        let end = sealed[..n].iter().rposition(|&b| b != 0)?;
        Some((sealed[end], 0..end))
    }
}

/// One side's state.
#[derive(Default)]
struct Side {
    splitter: Splitter,
    handshakes: Handshakes,
    /// The records of this side are encrypted from here on.
    encrypted: bool,
    /// The keys that open them (None: not decrypted).
    keys: Option<Keys>,
    /// TLS 1.2: the keys for after this side's ChangeCipherSpec. TLS 1.3:
    /// the application keys for after its Finished.
    next: Option<Keys>,
    /// TLS 1.3: the current application traffic secret (for KeyUpdate).
    secret: Option<Vec<u8>>,
    /// Its records stopped opening.
    failed: bool,
    /// It has sent an encrypted record (0-RTT ends there).
    opened_any: bool,
}

/// TLS over one connection; see the module documentation.
pub struct Tls {
    sides: [Side; 2],
    keylog: Option<Arc<KeyLog>>,
    hello: Option<Box<ClientHello>>,
    suite: Option<&'static Suite>,
    tls13: bool,
    /// The protocol above, fed the decrypted application data.
    child: Option<Box<dyn StreamAnalyzer>>,
    /// The protocol above is one nothing reads (HTTP/2): data is counted.
    child_none: bool,
}

impl Tls {
    pub fn new(keylog: Option<Arc<KeyLog>>) -> Self {
        Tls {
            sides: Default::default(),
            keylog,
            hello: None,
            suite: None,
            tls13: false,
            child: None,
            child_none: false,
        }
    }

    fn summary<'a>(cx: &'a mut Cx<'_>) -> &'a mut TlsSummary {
        cx.app.tls.get_or_insert_default()
    }

    /// Notes why (part of) the connection is not decrypted: the first reason stays.
    fn not_decrypted(cx: &mut Cx<'_>, why: String) {
        let s = Self::summary(cx);
        if s.not_decrypted_reason.is_none() {
            s.not_decrypted_reason = Some(why);
        }
    }

    fn record(&mut self, cx: &mut Cx<'_>, dir: Dir, rec: Record<'_>) {
        let d = dir as usize;
        let mut info = RecordInfo {
            dir,
            frame: rec.frame,
            content_type: rec.content_type(),
            version: rec.version(),
            length: rec.body.len() as u16,
            inner_type: None,
        };
        let s = Self::summary(cx);
        match dir {
            Dir::ClientToServer => s.records.client_to_server += 1,
            Dir::ServerToClient => s.records.server_to_client += 1,
        }
        let body_len = rec.body.len() as u64;
        cx.book(Part::TlsRecord, HEADER_LEN as u64);
        let encrypted = self.sides[d].encrypted
            && (rec.content_type() == APPLICATION_DATA
                || (!self.tls13 && rec.content_type() != CHANGE_CIPHER_SPEC));
        if !encrypted {
            match rec.content_type() {
                APPLICATION_DATA => {
                    // Encrypted, and no keys for it: a session the capture
                    // joined late, or 0-RTT data ahead of the ServerHello.
                    cx.book(Part::TlsEncrypted, body_len);
                    self.unopened(cx, dir);
                }
                t => {
                    cx.book(Part::TlsRecord, body_len);
                    self.plain(cx, dir, t, rec.body, rec.frame, false);
                }
            }
            cx.emit(TlsEvent::Record(info));
            return;
        }
        let side = &mut self.sides[d];
        let opened = match side.keys.as_mut() {
            Some(k) if !side.failed => k.open(&rec.header, rec.body),
            _ => None,
        };
        let Some((inner, range)) = opened else {
            cx.book(Part::TlsEncrypted, body_len);
            let early = self.tls13
                && dir == Dir::ClientToServer
                && !side.opened_any
                && self.hello.as_ref().is_some_and(|h| h.early_data);
            if early {
                Self::summary(cx).early_data_records_skipped += 1;
            } else if side.keys.is_some() && !side.failed {
                side.failed = true;
                Self::not_decrypted(
                    cx,
                    format!(
                        "the {}'s record at frame {} does not open with the logged keys (wrong keys, or a damaged record)",
                        dir.sender(),
                        rec.frame
                    ),
                );
            }
            cx.emit(TlsEvent::Record(info));
            return;
        };
        side.opened_any = true;
        info.inner_type = Some(inner);
        let plain = &rec.body[range];
        cx.book(Part::TlsRecord, body_len - plain.len() as u64);
        if inner == APPLICATION_DATA {
            cx.emit(TlsEvent::Record(info));
            self.application_data(cx, dir, rec.frame, plain);
        } else {
            cx.book(Part::TlsRecord, plain.len() as u64);
            self.plain(cx, dir, inner, plain, rec.frame, true);
            cx.emit(TlsEvent::Record(info));
        }
    }

    /// An encrypted record with no keys for it.
    fn unopened(&mut self, cx: &mut Cx<'_>, dir: Dir) {
        if self.hello.is_none() && Self::summary(cx).not_decrypted_reason.is_none() {
            Self::not_decrypted(
                cx,
                "the capture started after the TLS handshake: no ClientHello, so no client random to find keys by"
                    .into(),
            );
        } else if dir == Dir::ClientToServer && self.hello.as_ref().is_some_and(|h| h.early_data) {
            Self::summary(cx).early_data_records_skipped += 1;
        }
    }

    /// A plaintext (or decrypted) record of type `t`.
    fn plain(&mut self, cx: &mut Cx<'_>, dir: Dir, t: u8, body: &[u8], frame: u64, enc: bool) {
        match t {
            HANDSHAKE => {
                let mut msgs = Vec::new();
                let hs = &mut self.sides[dir as usize].handshakes;
                hs.push(body, |t, b| msgs.push((t, b.to_vec())));
                for (t, b) in msgs {
                    self.handshake(cx, dir, frame, t, &b, enc);
                }
            }
            CHANGE_CIPHER_SPEC => {
                cx.emit(TlsEvent::ChangeCipherSpec {
                    dir,
                    frame,
                    tls13: self.tls13,
                });
                if !self.tls13 {
                    let side = &mut self.sides[dir as usize];
                    side.encrypted = true;
                    side.keys = side.next.take();
                }
            }
            ALERT => {
                if let [level, description, ..] = *body {
                    let level_name = match level {
                        1 => "warning",
                        2 => "fatal",
                        _ => "unknown",
                    };
                    let s = Self::summary(cx);
                    if s.alerts.len() < 16 {
                        s.alerts.push(AlertInfo {
                            frame,
                            from: Some(dir),
                            level: level_name,
                            description: names::alert_name(description),
                        });
                    }
                    cx.emit(TlsEvent::Alert {
                        dir,
                        frame,
                        level,
                        description,
                        encrypted: enc,
                    });
                }
            }
            _ => {}
        }
    }

    fn handshake(&mut self, cx: &mut Cx<'_>, dir: Dir, frame: u64, t: u8, b: &[u8], enc: bool) {
        let mut detail = None;
        match (t, dir) {
            (CLIENT_HELLO, Dir::ClientToServer) => {
                let Some(h) = ClientHello::parse(b) else {
                    cx.problem(format!("client: malformed TLS ClientHello (frame {frame})"));
                    return;
                };
                let s = Self::summary(cx);
                s.client_hello_frame.get_or_insert(frame);
                s.sni.clone_from(&h.sni);
                s.alpn_offered.clone_from(&h.alpn);
                s.versions_offered = h.versions.iter().map(|v| names::version_name(*v)).collect();
                s.cipher_suites_offered = h
                    .cipher_suites
                    .iter()
                    .map(|c| names::suite_name(*c))
                    .collect();
                s.groups_offered = h.groups.iter().map(|g| names::group_name(*g)).collect();
                s.early_data_offered = h.early_data;
                s.ech_offered = h.ech;
                s.psk_offered = h.psk;
                let h = Box::new(h);
                self.hello = Some(h.clone());
                cx.emit(TlsEvent::ClientHello { frame, hello: h });
                return;
            }
            (SERVER_HELLO, Dir::ServerToClient) => {
                let Some(mut h) = ServerHello::parse(b) else {
                    cx.problem(format!("server: malformed TLS ServerHello (frame {frame})"));
                    return;
                };
                h.resumed = !h.retry && self.hello.as_ref().is_some_and(|c| h.resumes(c));
                let s = Self::summary(cx);
                if h.retry {
                    s.hello_retry = true;
                } else {
                    s.resumed = h.resumed;
                    s.server_hello_frame.get_or_insert(frame);
                    s.version = Some(names::version_name(h.version));
                    s.cipher_suite = Some(names::suite_name(h.cipher_suite));
                    s.group = h.group.map(names::group_name);
                    if h.alpn.is_some() {
                        s.alpn.clone_from(&h.alpn);
                    }
                }
                let retry = h.retry;
                let hello = Box::new(h);
                cx.emit(TlsEvent::ServerHello {
                    frame,
                    hello: hello.clone(),
                });
                if retry {
                    // Only TLS 1.3 retries: what follows (a compatibility
                    // ChangeCipherSpec, the second ClientHello) is plaintext.
                    self.tls13 = true;
                } else {
                    self.keys(cx, frame, &hello);
                }
                return;
            }
            (ENCRYPTED_EXTENSIONS, Dir::ServerToClient) => {
                if let Some((alpn, _early)) = hello::encrypted_extensions(b) {
                    if let Some(a) = &alpn {
                        detail = Some(format!("ALPN {a}"));
                    }
                    Self::summary(cx).alpn = alpn;
                }
            }
            (CERTIFICATE, Dir::ServerToClient) => {
                let subject =
                    hello::first_certificate(b, self.tls13).and_then(hello::certificate_subject);
                if let Some(sub) = &subject {
                    detail = Some(sub.clone());
                }
                Self::summary(cx).certificate_subject = subject;
            }
            (FINISHED, _) if self.tls13 => {
                let side = &mut self.sides[dir as usize];
                if let Some(k) = side.next.take() {
                    side.keys = Some(k);
                }
            }
            (KEY_UPDATE, _) if self.tls13 => {
                let requested = b.first() == Some(&1);
                detail = Some(if requested {
                    "update_requested".into()
                } else {
                    "update_not_requested".into()
                });
                Self::summary(cx).key_updates += 1;
                if let Some(suite) = self.suite
                    && let Some(kind) = suite.aead
                {
                    let side = &mut self.sides[dir as usize];
                    let next = side
                        .secret
                        .as_ref()
                        .and_then(|s| crypto::next_secret(suite.hash, s));
                    side.keys = next.as_ref().and_then(|s| Keys::tls13(kind, suite.hash, s));
                    side.secret = next;
                }
            }
            _ => {}
        }
        cx.emit(TlsEvent::Handshake {
            dir,
            frame,
            kind: t,
            encrypted: enc,
            detail,
        });
    }

    /// The ServerHello fixed the version and suite: find the keys.
    fn keys(&mut self, cx: &mut Cx<'_>, frame: u64, sh: &ServerHello) {
        self.tls13 = sh.version == 0x0304;
        self.suite = names::suite(sh.cipher_suite);
        if self.tls13 {
            // Everything after the ServerHello is encrypted, both ways.
            for s in &mut self.sides {
                s.encrypted = true;
            }
        }
        let outcome = self.find_keys(sh);
        let decrypted = outcome.is_ok();
        if let Err(why) = &outcome {
            Self::not_decrypted(cx, why.clone());
        }
        Self::summary(cx).decrypted = decrypted;
        cx.emit(TlsEvent::Keys {
            frame,
            decrypted,
            why: outcome.err(),
        });
    }

    fn find_keys(&mut self, sh: &ServerHello) -> Result<(), String> {
        let Some(log) = &self.keylog else {
            return Err("no key log (give one with --keylog FILE, or set SSLKEYLOGFILE)".into());
        };
        let Some(hello) = &self.hello else {
            return Err("no ClientHello captured: no client random to find keys by".into());
        };
        let suite = self.suite;
        let Some((suite, kind)) = suite.and_then(|s| s.aead.map(|k| (s, k))) else {
            return Err(format!(
                "cipher suite {} is not one osiscope decrypts (AES-GCM and ChaCha20-Poly1305 are)",
                names::suite_name(sh.cipher_suite)
            ));
        };
        let Some(secrets) = log.find(&hello.random) else {
            return Err(if hello.ech {
                "no key for its client random: with Encrypted Client Hello the keys are logged for the inner ClientHello, which the capture cannot see".into()
            } else {
                format!("no key for its client random in {}", log.path().display())
            });
        };
        if self.tls13 {
            self.tls13_keys(&secrets, suite, kind)
        } else {
            self.tls12_keys(&secrets, suite, kind, hello.random, sh.random)
        }
    }

    fn tls13_keys(
        &mut self,
        secrets: &Secrets,
        suite: &Suite,
        kind: AeadKind,
    ) -> Result<(), String> {
        let hash = suite.hash;
        let get = |l: Label, what: &str| {
            secrets
                .get(l)
                .filter(|s| s.len() == hash.output_len())
                .ok_or_else(|| {
                    format!(
                        "the key log has no {what} of {} bytes for this session",
                        hash.output_len()
                    )
                })
        };
        let ch = get(Label::ClientHandshake, "CLIENT_HANDSHAKE_TRAFFIC_SECRET")?;
        let shs = get(Label::ServerHandshake, "SERVER_HANDSHAKE_TRAFFIC_SECRET")?;
        let c0 = get(Label::ClientTraffic, "CLIENT_TRAFFIC_SECRET_0")?;
        let s0 = get(Label::ServerTraffic, "SERVER_TRAFFIC_SECRET_0")?;
        let bad = || "the logged secrets do not make keys".to_owned();
        for (side, hs, app) in [(0, ch, c0), (1, shs, s0)] {
            let s = &mut self.sides[side];
            s.keys = Some(Keys::tls13(kind, hash, hs).ok_or_else(bad)?);
            s.next = Some(Keys::tls13(kind, hash, app).ok_or_else(bad)?);
            s.secret = Some(app.to_vec());
        }
        Ok(())
    }

    fn tls12_keys(
        &mut self,
        secrets: &Secrets,
        suite: &Suite,
        kind: AeadKind,
        client_random: [u8; 32],
        server_random: [u8; 32],
    ) -> Result<(), String> {
        let master = secrets
            .get(Label::ClientRandom)
            .filter(|m| m.len() == 48)
            .ok_or("the key log has no CLIENT_RANDOM master secret for this session")?;
        let (iv_len, layout) = match kind {
            AeadKind::ChaCha20Poly1305 => (12, Layout::Tls12Chacha),
            _ => (4, Layout::Tls12Gcm),
        };
        let key_len = kind.key_len();
        let seed = [server_random, client_random].concat();
        let block =
            crypto::prf(suite.hash, master, b"key expansion", &seed)(2 * key_len + 2 * iv_len);
        // client key, server key, client IV, server IV (AEAD suites have no MAC keys).
        let (ck, rest) = block.split_at(key_len);
        let (sk, rest) = rest.split_at(key_len);
        let (civ, siv) = rest.split_at(iv_len);
        for (side, key, iv) in [(0, ck, civ), (1, sk, siv)] {
            let mut full = [0u8; 12];
            full[..iv.len()].copy_from_slice(iv);
            self.sides[side].next = Some(Keys {
                aead: Aead::new(kind, key).ok_or("the key block does not make keys")?,
                iv: full,
                seq: 0,
                layout,
            });
        }
        Ok(())
    }

    /// Decrypted application data: to the protocol above.
    fn application_data(&mut self, cx: &mut Cx<'_>, dir: Dir, frame: u64, plain: &[u8]) {
        if self.child.is_none() && !self.child_none {
            let alpn = cx.app.tls.as_ref().and_then(|t| t.alpn.clone());
            self.child = crate::proto::over_tls(alpn.as_deref());
            if self.child.is_none() {
                self.child_none = true;
                cx.problem(format!(
                    "TLS carries {}, which osiscope does not decode: its bytes are counted as application payload",
                    alpn.as_deref().unwrap_or("an unknown protocol")
                ));
            }
        }
        match self.child.as_mut() {
            // Decrypted bytes are not the stream's: they have no place in a frame.
            Some(c) => cx.at_offset(None, |cx| c.data(cx, dir, frame, plain)),
            None => cx.book(Part::Payload, plain.len() as u64),
        }
    }
}

impl StreamAnalyzer for Tls {
    fn data(&mut self, cx: &mut Cx<'_>, dir: Dir, frame: u64, bytes: &[u8]) {
        let d = dir as usize;
        let mut splitter = std::mem::take(&mut self.sides[d].splitter);
        splitter.push(bytes, frame, |rec| self.record(cx, dir, rec));
        if let Some(Lost::NotTls(at)) = splitter.lost()
            && self.sides[d].splitter.lost().is_none()
        {
            cx.problem(format!(
                "{}: not a TLS record at frame {at}; the rest of the direction is not decoded",
                dir.sender()
            ));
        }
        self.sides[d].splitter = splitter;
    }

    fn gap(&mut self, cx: &mut Cx<'_>, dir: Dir) {
        let d = dir as usize;
        if self.sides[d].splitter.lost().is_none() {
            self.sides[d].splitter.gap();
            if self.sides[d].encrypted {
                Self::not_decrypted(
                    cx,
                    format!(
                        "bytes of the {}'s stream were not captured: record boundaries and sequence numbers are lost from there",
                        dir.sender()
                    ),
                );
            }
        }
        if let Some(c) = self.child.as_mut() {
            c.gap(cx, dir);
        }
    }

    fn end(&mut self, cx: &mut Cx<'_>, dir: Dir, frame: u64) {
        // What was decrypted of the direction ended with it.
        if let Some(c) = self.child.as_mut() {
            c.end(cx, dir, frame);
        }
    }

    fn finish(&mut self, cx: &mut Cx<'_>, last_frame: u64) {
        for dir in [Dir::ClientToServer, Dir::ServerToClient] {
            let side = &self.sides[dir as usize];
            if side.handshakes.skipped > 0 {
                cx.problem(format!(
                    "{}: {} TLS handshake messages longer than {} bytes skipped",
                    dir.sender(),
                    side.handshakes.skipped,
                    super::MAX_HANDSHAKE
                ));
            }
        }
        if let Some(c) = self.child.as_mut() {
            c.finish(cx, last_frame);
        }
        if cx.app.protocol.is_none() {
            cx.app.protocol = Some("tls");
        }
    }
}
