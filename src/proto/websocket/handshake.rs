//! The opening handshake (RFC 6455 §4): an HTTP request offering to switch
//! to WebSocket, and the server's answer. The key and accept value are
//! checked, the extensions and subprotocol agreed are read, and on a valid
//! switch the connection's WebSocket analyzer is made.

use super::analyzer::WebSocket;
use super::deflate::DeflateParams;
use super::record::{WebSocketEvent, WebSocketSummary};
use crate::proto::http::Head;
use crate::proto::stack::{CarriedAnalyzer, Cx, StreamAnalyzer};

/// The GUID a server appends to the key (RFC 6455 §1.3).
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a key (RFC 6455 §4.2.2).
pub fn accept_key(key: &str) -> String {
    use base64::Engine as _;
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    h.update(key.trim().as_bytes());
    h.update(GUID);
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// The request asks to switch this connection to WebSocket.
pub fn offered(head: &Head) -> bool {
    head.has_token("Upgrade", "websocket") && head.has_token("Connection", "upgrade")
}

/// The key of an offer, as the answer is checked against it.
pub fn key(head: &Head) -> String {
    head.header("Sec-WebSocket-Key")
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// An offer: the connection's WebSocket summary starts with the request.
pub fn offer(cx: &mut Cx<'_>, head: &Head) {
    cx.app.websocket = Some(WebSocketSummary {
        request_frame: Some(head.frame),
        uri: head.uri.clone(),
        host: head.header("Host").map(str::to_owned),
        origin: head.header("Origin").map(str::to_owned),
        user_agent: head.header("User-Agent").map(str::to_owned),
        cookie_names: cookie_names(head),
        version: head.header("Sec-WebSocket-Version").map(str::to_owned),
        key: head
            .header("Sec-WebSocket-Key")
            .map(|k| k.trim().to_owned()),
        extensions_offered: head.header("Sec-WebSocket-Extensions").map(str::to_owned),
        subprotocols_offered: head.header("Sec-WebSocket-Protocol").map(str::to_owned),
        ..WebSocketSummary::default()
    });
}

/// The names of the cookies a request sends (every `Cookie` header), each
/// once, at most 32.
pub fn cookie_names(head: &Head) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (n, v) in &head.headers {
        if !n.eq_ignore_ascii_case("Cookie") {
            continue;
        }
        for pair in v.split(';') {
            let name = pair.split('=').next().unwrap_or("").trim();
            if !name.is_empty() && names.len() < 32 && !names.iter().any(|x| x == name) {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// The answer to an offer whose key was `key` (None: a 101 that answers no
/// offer). Says what it found in an [`WebSocketEvent::Upgrade`]; returns the
/// analyzer of the frames that follow when the connection switched, with
/// `carried` (the protocol the offer's URI named) reading their messages.
pub fn answer(
    cx: &mut Cx<'_>,
    head: &Head,
    key: Option<&str>,
    switching: bool,
    carried: Option<Box<dyn CarriedAnalyzer>>,
) -> Option<Box<dyn StreamAnalyzer>> {
    let mut w = cx.app.websocket.take().unwrap_or_default();
    w.response_frame = Some(head.frame);
    w.status = head.status;
    // A 101 switches to a protocol the request offered (RFC 9110 §15.2.2):
    // when the capture cut its headers, the WebSocket offer is what it chose.
    let upgrade_ws = head.has_token("Upgrade", "websocket") || (head.cut && key.is_some());
    if head.cut {
        w.problems.push("answer_cut");
    }
    if key.is_none() {
        if !(switching && upgrade_ws) {
            return None;
        }
        w.problems.push("101_without_request");
    }
    if !switching {
        // A 426 carrying "Upgrade: websocket" is still a refusal.
        w.problems.push("rejected");
    } else if !upgrade_ws {
        w.problems.push("not_websocket");
    }
    w.accept = head
        .header("Sec-WebSocket-Accept")
        .map(|a| a.trim().to_owned());
    if let Some(k) = key {
        let expected = accept_key(k);
        w.accept_valid = w.accept.as_ref().map(|a| *a == expected);
        w.expected_accept = Some(expected);
        if switching && upgrade_ws && !head.cut {
            match w.accept_valid {
                None => w.problems.push("missing_accept"),
                Some(false) => w.problems.push("wrong_accept"),
                Some(true) => {}
            }
        }
    }
    w.extensions_negotiated = head.header("Sec-WebSocket-Extensions").map(str::to_owned);
    w.subprotocol = head.header("Sec-WebSocket-Protocol").map(str::to_owned);
    let deflate = w
        .extensions_negotiated
        .as_deref()
        .and_then(DeflateParams::from_extensions);
    w.permessage_deflate = deflate.is_some();
    let mut ws = None;
    if switching && upgrade_ws {
        // Decode the frames even when the accept key is wrong: say so, show them.
        w.established = true;
        // A carried protocol names the connection once its first unit is read.
        cx.app.protocol = Some("websocket");
        ws = Some(Box::new(WebSocket::new(cx, deflate, carried)) as Box<dyn StreamAnalyzer>);
    }
    cx.emit(WebSocketEvent::Upgrade(Box::new(w.clone())));
    cx.app.websocket = Some(w);
    ws
}

#[cfg(test)]
mod tests {
    #[test]
    fn cookies_are_listed_by_name_once_without_values() {
        let head = super::Head {
            headers: vec![
                ("Cookie".into(), "session=s3cr3t; theme=dark".into()),
                ("cookie".into(), "session=other; io=abc".into()),
            ],
            ..super::Head::default()
        };
        assert_eq!(super::cookie_names(&head), ["session", "theme", "io"]);
    }

    #[test]
    fn rfc6455_accept_key() {
        assert_eq!(
            super::accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
