//! TLS told as steps: the hellos (what the client proposes, what the server
//! picks), whether the key log opens the session, the handshake messages
//! read once decrypted, key updates, ChangeCipherSpec and alerts.

use std::fmt::Write as _;

use super::story::At;
use crate::proto::tls::hello::{ClientHello, ServerHello};
use crate::proto::tls::names;
use crate::proto::tls::record::{TlsEvent, TlsSummary};
use crate::report::appline::AppLine;

/// Cipher suites named in the ClientHello's step before "…".
const SUITES_SHOWN: usize = 3;

/// The versions a ClientHello offers, GREASE left out.
fn versions(h: &ClientHello) -> String {
    let v: Vec<String> = h
        .versions
        .iter()
        .filter(|v| !names::is_grease(**v))
        .map(|v| names::version_name(*v))
        .collect();
    if v.is_empty() {
        names::version_name(h.legacy_version)
    } else {
        v.join(" or ")
    }
}

fn client_hello(h: &ClientHello) -> (String, String) {
    let suites: Vec<String> = h
        .cipher_suites
        .iter()
        .filter(|s| !names::is_grease(**s))
        .map(|s| names::suite_name(*s))
        .collect();
    let mut text = format!(
        "TLS ClientHello — the client proposes {} with {} cipher suite{} ({}{})",
        versions(h),
        suites.len(),
        if suites.len() == 1 { "" } else { "s" },
        suites
            .iter()
            .take(SUITES_SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        if suites.len() > SUITES_SHOWN {
            ", …"
        } else {
            ""
        }
    );
    let shares: Vec<String> = h
        .key_shares
        .iter()
        .filter(|g| !names::is_grease(**g))
        .map(|g| names::group_name(*g))
        .collect();
    if !shares.is_empty() {
        let _ = write!(text, "; a key share for {}", shares.join(" and "));
    }
    match &h.sni {
        Some(s) => {
            let _ = write!(text, "; server name {s}");
        }
        None => text.push_str("; no server name"),
    }
    if !h.alpn.is_empty() {
        let _ = write!(text, "; ALPN {}", h.alpn.join(", "));
    }
    if h.psk {
        text.push_str("; it offers to resume an earlier session (a pre-shared key)");
    }
    if h.early_data {
        text.push_str("; it sends early data (0-RTT)");
    }
    if h.ech {
        text.push_str("; Encrypted Client Hello");
    }
    text.push_str(". Nothing is encrypted yet.");
    let label = match &h.sni {
        Some(s) => format!("ClientHello {s}"),
        None => "ClientHello".into(),
    };
    (text, label)
}

fn server_hello(h: &ServerHello) -> (String, String) {
    if h.retry {
        return (
            format!(
                "TLS HelloRetryRequest — the server asks the client for another ClientHello{}",
                h.group.map_or(String::new(), |g| format!(
                    ", with a key share for {}",
                    names::group_name(g)
                ))
            ),
            "HelloRetryRequest".into(),
        );
    }
    let mut text = format!(
        "TLS ServerHello — the server picks {} with {}",
        names::version_name(h.version),
        names::suite_name(h.cipher_suite)
    );
    if let Some(g) = h.group {
        let _ = write!(text, " and the key exchange {}", names::group_name(g));
    }
    if let Some(a) = &h.alpn {
        let _ = write!(text, "; ALPN {a}");
    }
    if h.resumed {
        text.push_str(if h.version >= 0x0304 {
            "; it resumes the earlier session (the pre-shared key), so it sends no certificate"
        } else {
            "; it resumes the earlier session (the session ID), so no certificate or key exchange follows"
        });
    }
    if h.version == 0x0304 {
        text.push_str(". From here on everything is encrypted.");
    } else {
        text.push_str(
            ". The rest of the handshake follows in the clear; each side encrypts after its ChangeCipherSpec.",
        );
    }
    (
        text,
        format!("ServerHello {}", names::version_name(h.version)),
    )
}

/// What a handshake message does, in a few words.
fn handshake_meaning(kind: u8, sender: &str, other: &str, detail: Option<&str>) -> String {
    match kind {
        4 => "a ticket to resume the session later".into(),
        5 => "the client's early data ends".into(),
        8 => format!(
            "the server's remaining choices, encrypted{}",
            detail.map_or(String::new(), |d| format!(": {d}"))
        ),
        11 => format!(
            "the {sender}'s certificate{}",
            detail.map_or(String::new(), |d| format!(": {d}"))
        ),
        12 => "the server's key exchange parameters".into(),
        13 => "the server asks for the client's certificate".into(),
        14 => "the server's hello is complete".into(),
        15 => format!("the {sender} proves it holds the certificate's private key"),
        16 => "the client's key exchange: both sides now share the secret".into(),
        20 => format!("the {sender}'s handshake is done: it proves it saw the same handshake"),
        24 => {
            if detail == Some("update_requested") {
                format!("the {sender} switches to new keys and asks the {other} to do the same")
            } else {
                format!("the {sender} switches to new keys")
            }
        }
        _ => "a handshake message".into(),
    }
}

/// The steps of a TLS event.
pub(super) fn steps(e: &TlsEvent, at: &mut At<'_>) {
    at.story.over_tls = true;
    match e {
        TlsEvent::Record(_) => {}
        TlsEvent::ClientHello { frame, hello } => {
            let (text, label) = client_hello(hello);
            at.step(
                *frame,
                6,
                Some(crate::flow::Dir::ClientToServer),
                "tls_client_hello",
                text,
                label,
            );
        }
        TlsEvent::ServerHello { frame, hello } => {
            let (text, label) = server_hello(hello);
            let kind = if hello.retry {
                "tls_hello_retry"
            } else {
                "tls_server_hello"
            };
            at.step(
                *frame,
                6,
                Some(crate::flow::Dir::ServerToClient),
                kind,
                text,
                label,
            );
        }
        TlsEvent::Keys {
            frame,
            decrypted,
            why,
        } => {
            let (text, label) = if *decrypted {
                (
                    "TLS session keys found in the key log: the encrypted records that follow are decrypted.".to_owned(),
                    "TLS keys found".to_owned(),
                )
            } else {
                (
                    format!(
                        "⚠ TLS not decrypted: {}",
                        why.as_deref().unwrap_or("no keys")
                    ),
                    "TLS not decrypted".to_owned(),
                )
            };
            at.step(*frame, 5, None, "tls_keys", text, label);
        }
        TlsEvent::Handshake {
            dir,
            frame,
            kind,
            encrypted,
            detail,
        } => {
            let name = names::handshake_name(*kind);
            let meaning =
                handshake_meaning(*kind, dir.sender(), dir.other().sender(), detail.as_deref());
            let text = format!(
                "TLS {name}{} — {meaning}",
                if *encrypted { " (decrypted)" } else { "" }
            );
            at.step(*frame, 6, Some(*dir), "tls_handshake", text, name);
        }
        TlsEvent::ChangeCipherSpec { dir, frame, tls13 } => {
            let text = if *tls13 {
                "TLS ChangeCipherSpec — a compatibility record: TLS 1.3 ignores it (it makes the session look like TLS 1.2 to middleboxes)".to_owned()
            } else {
                format!(
                    "TLS ChangeCipherSpec — the {} switches to the agreed keys: its records are encrypted from here",
                    dir.sender()
                )
            };
            at.step(
                *frame,
                6,
                Some(*dir),
                "tls_change_cipher_spec",
                text,
                "ChangeCipherSpec".into(),
            );
        }
        TlsEvent::Alert {
            dir,
            frame,
            level,
            description,
            encrypted,
        } => {
            let name = names::alert_name(*description);
            let mut text = format!(
                "TLS alert from the {}{}: {name}",
                dir.sender(),
                if *encrypted { " (decrypted)" } else { "" }
            );
            if *description == 0 {
                text.push_str(": it will send nothing more on this connection");
            } else if *level == 2 {
                text = format!("⚠ {text} (fatal: the connection ends)");
            }
            at.step(
                *frame,
                6,
                Some(*dir),
                "tls_alert",
                text,
                format!("alert {name}"),
            );
        }
    }
}

/// One line for the packets view and the packet JSON.
pub(super) fn line(e: &TlsEvent) -> Option<AppLine> {
    let text = match e {
        TlsEvent::Record(r) if r.content_type == 23 && r.inner_type.is_none() => {
            format!("TLS application data, {} bytes (encrypted)", r.length)
        }
        TlsEvent::Record(_) | TlsEvent::Keys { .. } => return None,
        TlsEvent::ClientHello { hello, .. } => match &hello.sni {
            Some(s) => format!("TLS ClientHello SNI={s}"),
            None => "TLS ClientHello".into(),
        },
        TlsEvent::ServerHello { hello, .. } if hello.retry => "TLS HelloRetryRequest".into(),
        TlsEvent::ServerHello { hello, .. } => format!(
            "TLS ServerHello {} {}",
            names::version_name(hello.version),
            names::suite_name(hello.cipher_suite)
        ),
        TlsEvent::Handshake {
            kind, encrypted, ..
        } => format!(
            "TLS {}{}",
            names::handshake_name(*kind),
            if *encrypted { " (decrypted)" } else { "" }
        ),
        TlsEvent::ChangeCipherSpec { .. } => "TLS ChangeCipherSpec".into(),
        TlsEvent::Alert { description, .. } => {
            format!("TLS alert {}", names::alert_name(*description))
        }
    };
    Some(AppLine {
        osi: 6,
        protocol: "tls",
        text,
    })
}

/// The connection header's TLS line.
pub(super) fn header(t: &TlsSummary) -> String {
    let mut parts = vec![
        t.version
            .clone()
            .unwrap_or_else(|| "version unknown".into()),
    ];
    parts.extend(t.cipher_suite.clone());
    parts.extend(t.group.clone());
    if let Some(s) = &t.sni {
        parts.push(format!("SNI {s}"));
    }
    if let Some(a) = &t.alpn {
        parts.push(format!("ALPN {a}"));
    }
    if let Some(c) = &t.certificate_subject {
        parts.push(format!("certificate {c}"));
    }
    if t.resumed {
        parts.push("resumed session".into());
    }
    if t.key_updates > 0 {
        parts.push(format!("{} key updates", t.key_updates));
    }
    if t.hello_retry {
        parts.push("after a HelloRetryRequest".into());
    }
    if t.decrypted && t.not_decrypted_reason.is_none() {
        parts.push("decrypted".into());
    }
    if let Some(why) = &t.not_decrypted_reason {
        parts.push(format!(
            "⚠ {}: {why}",
            if t.decrypted {
                "partly decrypted"
            } else {
                "not decrypted"
            }
        ));
    }
    format!("  tls: {}", parts.join(" · "))
}

/// Whether a TLS event is told as a step of its own (records are not).
pub(super) fn tells(e: &TlsEvent) -> bool {
    !matches!(e, TlsEvent::Record(_))
}
