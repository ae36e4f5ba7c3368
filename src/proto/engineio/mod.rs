//! Engine.IO packets: the transport layer under Socket.IO.
//!
//! Engine.IO v4 (Socket.IO 3 and later) is decoded in full; v3 (Socket.IO 2)
//! where it differs cheaply: the `<length>:<packet>` polling framing, the
//! binary polling payload, and the type byte in front of binary WebSocket
//! messages.
//!
//! Validated: the packet type, the JSON of the open packet (it must be an
//! object with a string `sid`; `upgrades`, `pingInterval`, `pingTimeout` and
//! `maxPayload` are taken when they have the right JSON type), base64 of
//! binary packets in polling bodies (standard alphabet, padding optional),
//! UTF-8 of text packets in polling bodies, and the length prefixes of v3
//! polling framing. A packet that fails any of these becomes
//! [`EioPacket::Invalid`]; in a polling body a broken length prefix also ends
//! the body, because the framing cannot be trusted after it. Not validated:
//! that close, upgrade and noop packets have no data, and whether a packet
//! type is allowed in its direction or at that point of the session.
//!
//! Limits: at most [`MAX_POLLING_PACKETS`] packets are taken from one polling
//! body. Nothing is allocated from a length read in the input: lengths only
//! bound slices of bytes already received. The open packet's JSON is parsed
//! by serde_json, whose parser stops at 128 levels of nesting (deeper input
//! is invalid); nothing else here recurses.

pub mod analyzer;
pub mod record;

use serde_json::Value;

/// Packets taken from one polling body; the rest are counted as dropped.
pub const MAX_POLLING_PACKETS: usize = 1024;

/// Separates packets in a v4 polling body (ASCII record separator).
const SEPARATOR: u8 = 0x1e;

/// Longest length prefix accepted in v3 framing; any length a body can
/// really have fits in far fewer digits.
const MAX_LENGTH_DIGITS: usize = 20;

/// What the server announces in the open packet (`0{…}`).
#[derive(Clone, Debug, PartialEq)]
pub struct OpenInfo {
    pub sid: String,
    pub upgrades: Vec<String>,
    pub ping_interval: Option<u64>,
    pub ping_timeout: Option<u64>,
    pub max_payload: Option<u64>,
}

/// One Engine.IO packet.
#[derive(Clone, Debug, PartialEq)]
pub enum EioPacket {
    Open(OpenInfo),
    Close,
    /// Ping with its data (`"probe"` during the WebSocket upgrade).
    Ping(String),
    Pong(String),
    Message(EioData),
    Upgrade,
    Noop,
    /// not a valid Engine.IO packet; the text says why
    Invalid(String),
}

impl EioPacket {
    /// The name the protocol gives the packet's type.
    pub fn type_name(&self) -> &'static str {
        match self {
            EioPacket::Open(_) => "open",
            EioPacket::Close => "close",
            EioPacket::Ping(_) => "ping",
            EioPacket::Pong(_) => "pong",
            EioPacket::Message(_) => "message",
            EioPacket::Upgrade => "upgrade",
            EioPacket::Noop => "noop",
            EioPacket::Invalid(_) => "invalid",
        }
    }
}

/// Payload of a message packet.
#[derive(Clone, Debug, PartialEq)]
pub enum EioData {
    Text(String),
    Binary(Vec<u8>),
}

/// One WebSocket text message = one Engine.IO packet ("2probe" is Ping("probe")).
pub fn parse_text(s: &str) -> EioPacket {
    let mut chars = s.chars();
    let Some(t) = chars.next() else {
        return EioPacket::Invalid("empty packet".into());
    };
    let rest = chars.as_str();
    match t {
        '0' => parse_open(rest),
        '1' => EioPacket::Close,
        '2' => EioPacket::Ping(rest.to_owned()),
        '3' => EioPacket::Pong(rest.to_owned()),
        '4' => EioPacket::Message(EioData::Text(rest.to_owned())),
        '5' => EioPacket::Upgrade,
        '6' => EioPacket::Noop,
        other => EioPacket::Invalid(format!("unknown packet type {other:?}")),
    }
}

/// One WebSocket binary message: in v4 a binary Message; in v3 the first byte is the packet type (4 = message).
pub fn parse_binary(b: &[u8], v3: bool) -> EioPacket {
    if !v3 {
        return EioPacket::Message(EioData::Binary(b.to_vec()));
    }
    match b.split_first() {
        None => EioPacket::Invalid("empty binary packet".into()),
        Some((4, rest)) => EioPacket::Message(EioData::Binary(rest.to_vec())),
        Some((&t @ 0..=6, rest)) => match std::str::from_utf8(rest) {
            Ok(text) => parse_text(&format!("{t}{text}")),
            Err(_) => EioPacket::Invalid(format!("binary packet of type {t} is not UTF-8")),
        },
        Some((t, _)) => EioPacket::Invalid(format!("unknown binary packet type {t}")),
    }
}

/// A long-polling HTTP body: v4 packets separated by 0x1e, a "b" prefix
/// meaning base64 binary; v3 "<len>:<packet>" framing (len in UTF-16 code
/// units, as JavaScript counts) with binary as "b<type><base64>", or the v3
/// binary payload (first byte 0 or 1). Returns at most
/// [`MAX_POLLING_PACKETS`] packets and whether more were dropped. An empty
/// body, like an empty v3 packet (`0:`), holds no packet.
pub fn split_polling(body: &[u8], v3: bool) -> (Vec<EioPacket>, bool) {
    let mut out = Out::default();
    if body.is_empty() {
        return (out.packets, false);
    }
    if !v3 {
        for part in body.split(|&b| b == SEPARATOR) {
            if !out.push(polling_packet(part, false)) {
                break;
            }
        }
    } else if matches!(body.first(), Some(0 | 1)) {
        split_v3_binary(body, &mut out);
    } else {
        match std::str::from_utf8(body) {
            Ok(s) => split_v3_text(s, &mut out),
            Err(_) => {
                out.push(EioPacket::Invalid("polling body is not UTF-8".into()));
            }
        }
    }
    (out.packets, out.dropped)
}

/// Packets collected from one polling body, capped.
#[derive(Default)]
struct Out {
    packets: Vec<EioPacket>,
    dropped: bool,
}

impl Out {
    /// Adds a packet; false once the cap is reached (the packet is dropped).
    fn push(&mut self, p: EioPacket) -> bool {
        if self.packets.len() >= MAX_POLLING_PACKETS {
            self.dropped = true;
            return false;
        }
        self.packets.push(p);
        true
    }
}

/// One packet of a polling body in text form: base64 binary or text.
fn polling_packet(part: &[u8], v3: bool) -> EioPacket {
    let Ok(s) = std::str::from_utf8(part) else {
        return EioPacket::Invalid("packet is not UTF-8".into());
    };
    let Some(b64) = s.strip_prefix('b') else {
        return parse_text(s);
    };
    if v3 {
        // v3 keeps the packet type in front of the base64 data.
        let mut chars = b64.chars();
        return match (chars.next(), base64_decode(chars.as_str())) {
            (Some('4'), Some(data)) => EioPacket::Message(EioData::Binary(data)),
            (Some(t @ '0'..='6'), Some(data)) => match String::from_utf8(data) {
                Ok(text) => parse_text(&format!("{t}{text}")),
                Err(_) => EioPacket::Invalid(format!("base64 packet of type {t} is not UTF-8")),
            },
            (_, None) => EioPacket::Invalid("bad base64 in binary packet".into()),
            (t, Some(_)) => EioPacket::Invalid(format!("unknown binary packet type {t:?}")),
        };
    }
    match base64_decode(b64) {
        Some(data) => EioPacket::Message(EioData::Binary(data)),
        None => EioPacket::Invalid("bad base64 in binary packet".into()),
    }
}

/// v3 text framing: `<length>:<packet>` repeated, length in UTF-16 units.
fn split_v3_text(s: &str, out: &mut Out) {
    let mut rest = s;
    while !rest.is_empty() {
        let Some(colon) = rest.find(':') else {
            out.push(EioPacket::Invalid(
                "v3 framing: no ':' after the length".into(),
            ));
            return;
        };
        let Some(units) = rest.get(..colon).and_then(parse_decimal) else {
            out.push(EioPacket::Invalid("v3 framing: bad length".into()));
            return;
        };
        let data = rest.get(colon + 1..).unwrap_or("");
        let Some((packet, tail)) =
            utf16_prefix(data, units).and_then(|end| data.split_at_checked(end))
        else {
            out.push(EioPacket::Invalid(
                "v3 framing: length runs past the body".into(),
            ));
            return;
        };
        // engine.io-parser v3 skips empty packets ("0:").
        if !packet.is_empty() && !out.push(polling_packet(packet.as_bytes(), true)) {
            return;
        }
        rest = tail;
    }
}

/// v3 binary payload: `<0|1><length digits as bytes 0–9><0xff><packet>`
/// repeated; 0 = text packet, 1 = binary packet with its type byte first.
fn split_v3_binary(body: &[u8], out: &mut Out) {
    let mut rest = body;
    while let Some((&kind, after)) = rest.split_first() {
        let Some((digits, after)) = after
            .iter()
            .position(|&b| b == 0xff)
            .and_then(|ff| after.split_at_checked(ff))
        else {
            out.push(EioPacket::Invalid(
                "v3 binary framing: no 0xff after the length".into(),
            ));
            return;
        };
        let len = if digits.is_empty()
            || digits.len() > MAX_LENGTH_DIGITS
            || digits.iter().any(|&d| d > 9)
        {
            None
        } else {
            digits.iter().try_fold(0usize, |n, &d| {
                n.checked_mul(10)?.checked_add(usize::from(d))
            })
        };
        let data = after.get(1..).unwrap_or(&[]);
        let Some(packet) = len.and_then(|n| data.get(..n)) else {
            out.push(EioPacket::Invalid("v3 binary framing: bad length".into()));
            return;
        };
        let p = match kind {
            0 => match std::str::from_utf8(packet) {
                Ok(s) => parse_text(s),
                Err(_) => EioPacket::Invalid("text packet is not UTF-8".into()),
            },
            1 => parse_binary(packet, true),
            k => {
                out.push(EioPacket::Invalid(format!(
                    "v3 binary framing: unknown kind {k}"
                )));
                return;
            }
        };
        if !out.push(p) {
            return;
        }
        rest = data.get(packet.len()..).unwrap_or(&[]);
    }
}

/// Recognises `/socket.io/?EIO=4&transport=polling|websocket&sid=…` (any path
/// ending in `/socket.io/` or with `EIO=` in the query): (eio version,
/// transport, sid). The version is 0 when `EIO` is missing or not a number,
/// the transport empty when the query has none. Values are percent-decoded.
pub fn parse_uri(uri: &str) -> Option<(u8, String, Option<String>)> {
    let uri = uri.split('#').next().unwrap_or(uri);
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let mut eio = None;
    let mut transport = None;
    let mut sid = None;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "EIO" => eio = Some(percent_decode(value)),
            "transport" => transport = Some(percent_decode(value)),
            "sid" => sid = Some(percent_decode(value)),
            _ => {}
        }
    }
    let socketio_path = path.ends_with("/socket.io/") || path.ends_with("/socket.io");
    if !socketio_path && eio.is_none() {
        return None;
    }
    let version = eio.and_then(|v| v.parse::<u8>().ok()).unwrap_or(0);
    Some((version, transport.unwrap_or_default(), sid))
}

/// The open packet's JSON handshake.
fn parse_open(json: &str) -> EioPacket {
    let v: Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => return EioPacket::Invalid(format!("open packet: bad JSON: {e}")),
    };
    let Some(obj) = v.as_object() else {
        return EioPacket::Invalid("open packet: JSON is not an object".into());
    };
    let Some(sid) = obj.get("sid").and_then(Value::as_str) else {
        return EioPacket::Invalid("open packet: no string \"sid\"".into());
    };
    let upgrades = obj
        .get("upgrades")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    EioPacket::Open(OpenInfo {
        sid: sid.to_owned(),
        upgrades,
        ping_interval: obj.get("pingInterval").and_then(Value::as_u64),
        ping_timeout: obj.get("pingTimeout").and_then(Value::as_u64),
        max_payload: obj.get("maxPayload").and_then(Value::as_u64),
    })
}

/// A non-empty run of ASCII digits as a number; None on overflow.
fn parse_decimal(s: &str) -> Option<usize> {
    if s.is_empty() || s.len() > MAX_LENGTH_DIGITS || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Byte length of the prefix of `s` that is `units` UTF-16 code units long;
/// None if `s` is shorter or the count ends inside a surrogate pair.
fn utf16_prefix(s: &str, units: usize) -> Option<usize> {
    let mut seen = 0usize;
    for (i, c) in s.char_indices() {
        if seen == units {
            return Some(i);
        }
        seen += c.len_utf16();
        if seen > units {
            return None;
        }
    }
    (seen == units).then_some(s.len())
}

/// Standard base64 (RFC 4648 §4), padding optional; None if malformed.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        Some(u32::from(v))
    }
    let bytes = s.as_bytes();
    let trimmed = bytes
        .strip_suffix(b"==")
        .or_else(|| bytes.strip_suffix(b"="))
        .unwrap_or(bytes);
    if bytes.len() != trimmed.len() && !bytes.len().is_multiple_of(4) {
        return None;
    }
    if trimmed.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() / 4 * 3 + 2);
    for chunk in trimmed.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = (acc << 6) | value(c)?;
        }
        let [_, b0, b1, b2] = (acc << (6 * (4 - chunk.len()))).to_be_bytes();
        out.push(b0);
        if chunk.len() > 2 {
            out.push(b1);
        }
        if chunk.len() > 3 {
            out.push(b2);
        }
    }
    Some(out)
}

/// `%XX` escapes decoded and `+` as space, lossily as UTF-8.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = |j: usize| b.get(j).and_then(|&h| char::from(h).to_digit(16));
        match (c, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                // Two hex digits are at most 0xff.
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> EioPacket {
        EioPacket::Message(EioData::Text(s.into()))
    }

    // Packets of captures/socketio-upgrade.pcap, as tshark shows them.
    const OPEN: &str = r#"0{"sid":"KWfbzNo5zleIL6UgAAAA","upgrades":["websocket"],"pingInterval":1000,"pingTimeout":3000,"maxPayload":1000000}"#;

    #[test]
    fn open_packet_from_capture() {
        assert_eq!(
            parse_text(OPEN),
            EioPacket::Open(OpenInfo {
                sid: "KWfbzNo5zleIL6UgAAAA".into(),
                upgrades: vec!["websocket".into()],
                ping_interval: Some(1000),
                ping_timeout: Some(3000),
                max_payload: Some(1_000_000),
            })
        );
        // Frame 6: the polling body holds just the open packet.
        let (packets, dropped) = split_polling(OPEN.as_bytes(), false);
        assert!(!dropped);
        assert_eq!(packets, vec![parse_text(OPEN)]);
    }

    #[test]
    fn websocket_packets_from_capture() {
        assert_eq!(parse_text("2probe"), EioPacket::Ping("probe".into()));
        assert_eq!(parse_text("3probe"), EioPacket::Pong("probe".into()));
        assert_eq!(parse_text("5"), EioPacket::Upgrade);
        assert_eq!(parse_text("6"), EioPacket::Noop);
        assert_eq!(parse_text("2"), EioPacket::Ping(String::new()));
        assert_eq!(parse_text("3"), EioPacket::Pong(String::new()));
        assert_eq!(parse_text("1"), EioPacket::Close);
        assert_eq!(
            parse_text(
                r#"42["chat",{"text":"hello from socket.io-client","tags":["demo","json"]}]"#
            ),
            text(r#"2["chat",{"text":"hello from socket.io-client","tags":["demo","json"]}]"#)
        );
        assert_eq!(parse_text("420[\"add\",2,40]"), text("20[\"add\",2,40]"));
        assert_eq!(parse_text("430[{\"sum\":42}]"), text("30[{\"sum\":42}]"));
        assert_eq!(parse_text("41"), text("1"));
        // Frame 60: the attachment of `451-[…]`.
        let att = [0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3];
        assert_eq!(
            parse_binary(&att, false),
            EioPacket::Message(EioData::Binary(att.to_vec()))
        );
    }

    #[test]
    fn polling_bodies_from_capture() {
        // Frame 20 (POST), 31 (long-poll answer), 47 (noop ending the poll).
        assert_eq!(split_polling(b"40", false), (vec![text("0")], false));
        assert_eq!(
            split_polling(br#"40{"sid":"7D_z04xU6sBq85xSAAAA"}"#, false),
            (vec![text(r#"0{"sid":"7D_z04xU6sBq85xSAAAA"}"#)], false)
        );
        assert_eq!(split_polling(b"6", false), (vec![EioPacket::Noop], false));
        assert_eq!(split_polling(b"", false), (vec![], false));
    }

    #[test]
    fn uris_from_capture() {
        assert_eq!(
            parse_uri("/socket.io/?EIO=4&transport=polling&t=6m7rhb3h"),
            Some((4, "polling".into(), None))
        );
        assert_eq!(
            parse_uri("/socket.io/?EIO=4&transport=websocket&sid=KWfbzNo5zleIL6UgAAAA"),
            Some((4, "websocket".into(), Some("KWfbzNo5zleIL6UgAAAA".into())))
        );
        assert_eq!(
            parse_uri("/socket.io/?EIO=4&transport=polling&t=6m7s1cza&sid=KWfbzNo5zleIL6UgAAAA"),
            Some((4, "polling".into(), Some("KWfbzNo5zleIL6UgAAAA".into())))
        );
    }

    #[test]
    fn uri_variants() {
        assert_eq!(parse_uri("/chat"), None);
        assert_eq!(parse_uri("/chat?x=1"), None);
        assert_eq!(parse_uri("/socket.io/"), Some((0, String::new(), None)));
        assert_eq!(
            parse_uri("/app/engine/?EIO=3&transport=polling&sid=a%2Fb%3D"),
            Some((3, "polling".into(), Some("a/b=".into())))
        );
        assert_eq!(
            parse_uri("http://h:1/x/socket.io/?EIO=99999&transport=websocket#f"),
            Some((0, "websocket".into(), None))
        );
        assert_eq!(
            parse_uri("/socket.io?EIO=4&sid=%zz%"),
            Some((4, String::new(), Some("%zz%".into())))
        );
    }

    #[test]
    fn v4_polling_with_several_packets_and_binary() {
        let body = b"4hello\x1ebAQIDBA==\x1e2\x1e6";
        assert_eq!(
            split_polling(body, false),
            (
                vec![
                    text("hello"),
                    EioPacket::Message(EioData::Binary(vec![1, 2, 3, 4])),
                    EioPacket::Ping(String::new()),
                    EioPacket::Noop,
                ],
                false
            )
        );
        let (p, _) = split_polling(b"b!!!\x1e4ok\x1e\x1e9", false);
        assert!(matches!(p[0], EioPacket::Invalid(_)));
        assert_eq!(p[1], text("ok"));
        assert!(matches!(p[2], EioPacket::Invalid(_)));
        assert!(matches!(p[3], EioPacket::Invalid(_)));
    }

    #[test]
    fn polling_cap() {
        let mut body = Vec::new();
        for _ in 0..MAX_POLLING_PACKETS + 5 {
            body.extend_from_slice(b"6\x1e");
        }
        body.push(b'6');
        let (p, dropped) = split_polling(&body, false);
        assert_eq!(p.len(), MAX_POLLING_PACKETS);
        assert!(dropped);
        let exact = vec!["6"; MAX_POLLING_PACKETS].join("\u{1e}");
        let (p, dropped) = split_polling(exact.as_bytes(), false);
        assert_eq!(p.len(), MAX_POLLING_PACKETS);
        assert!(!dropped);
        let v3 = "1:6".repeat(MAX_POLLING_PACKETS + 1);
        let (p, dropped) = split_polling(v3.as_bytes(), true);
        assert_eq!(p.len(), MAX_POLLING_PACKETS);
        assert!(dropped);
    }

    #[test]
    fn v3_text_framing() {
        // Lengths count UTF-16 units: "é" is 1, "😀" is 2.
        let body = "6:4hello2:4é3:4😀2:406:b4AQID";
        assert_eq!(
            split_polling(body.as_bytes(), true),
            (
                vec![
                    text("hello"),
                    text("é"),
                    text("😀"),
                    text("0"),
                    EioPacket::Message(EioData::Binary(vec![1, 2, 3])),
                ],
                false
            )
        );
        let open = r#"97:0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":60000}2:40"#;
        let (p, _) = split_polling(open.as_bytes(), true);
        assert_eq!(p.len(), 1);
        assert!(
            matches!(p[0], EioPacket::Invalid(_)),
            "97 is past the end: {p:?}"
        );
        let open = r#"80:0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":60000}2:40"#;
        let (p, _) = split_polling(open.as_bytes(), true);
        assert!(
            matches!(p[0], EioPacket::Open(ref o) if o.sid == "abc" && o.max_payload.is_none())
        );
        assert_eq!(p[1], text("0"));
    }

    #[test]
    fn v3_text_framing_errors() {
        for body in [
            "5",
            "x:4",
            ":4",
            "99999999999999999999999:4",
            "2:4😀",
            "1:😀",
            "3:4ab1",
        ] {
            let (p, dropped) = split_polling(body.as_bytes(), true);
            assert!(!dropped);
            assert!(
                matches!(p.last(), Some(EioPacket::Invalid(_))),
                "{body}: {p:?}"
            );
        }
        let (p, _) = split_polling(b"2:4\xff", true);
        assert!(matches!(p[..], [EioPacket::Invalid(_)]));
        let (p, _) = split_polling(b"2:bx", true);
        assert!(matches!(p[..], [EioPacket::Invalid(_)]));
        assert_eq!(split_polling(b"2:b5", true).0, vec![EioPacket::Upgrade]);
        let (p, _) = split_polling(b"4:b9AA", true);
        assert!(matches!(p[..], [EioPacket::Invalid(_)]));
        assert_eq!(split_polling(b"0:1:60:", true).0, vec![EioPacket::Noop]);
        let (p, _) = split_polling(b"5:b2cHJ", true);
        assert_eq!(p, vec![EioPacket::Ping("pr".into())]);
    }

    #[test]
    fn v3_binary_framing() {
        // "40" as text, then binary message [4, 0xaa, 0xbb], then text "2probe".
        let body = [
            0, 2, 0xff, b'4', b'0', 1, 3, 0xff, 4, 0xaa, 0xbb, 0, 6, 0xff, b'2', b'p', b'r', b'o',
            b'b', b'e',
        ];
        assert_eq!(
            split_polling(&body, true),
            (
                vec![
                    text("0"),
                    EioPacket::Message(EioData::Binary(vec![0xaa, 0xbb])),
                    EioPacket::Ping("probe".into()),
                ],
                false
            )
        );
        for bad in [
            &[0u8, 2][..],
            &[0, 0xff],
            &[0, 10, 0xff, b'4'],
            &[0, 9, 0xff, b'4'],
            &[2, 1, 0xff, b'6'],
        ] {
            let (p, _) = split_polling(bad, true);
            assert!(
                matches!(p.last(), Some(EioPacket::Invalid(_))),
                "{bad:?}: {p:?}"
            );
        }
        let long = [vec![0u8], vec![9; 40], vec![0xff]].concat();
        assert!(matches!(
            split_polling(&long, true).0[..],
            [EioPacket::Invalid(_)]
        ));
    }

    #[test]
    fn v3_binary_websocket_messages() {
        assert_eq!(
            parse_binary(&[4, 1, 2], true),
            EioPacket::Message(EioData::Binary(vec![1, 2]))
        );
        assert_eq!(parse_binary(&[2, b'x'], true), EioPacket::Ping("x".into()));
        assert!(matches!(parse_binary(&[], true), EioPacket::Invalid(_)));
        assert!(matches!(parse_binary(&[7], true), EioPacket::Invalid(_)));
        assert!(matches!(
            parse_binary(&[2, 0xff], true),
            EioPacket::Invalid(_)
        ));
        assert_eq!(
            parse_binary(&[], false),
            EioPacket::Message(EioData::Binary(vec![]))
        );
    }

    #[test]
    fn invalid_text_packets() {
        assert!(matches!(parse_text(""), EioPacket::Invalid(_)));
        assert!(matches!(parse_text("7"), EioPacket::Invalid(_)));
        assert!(matches!(parse_text("bAAAA"), EioPacket::Invalid(_)));
        assert!(matches!(parse_text("é"), EioPacket::Invalid(_)));
        assert!(matches!(parse_text("0"), EioPacket::Invalid(_)));
        assert!(matches!(parse_text("0[]"), EioPacket::Invalid(_)));
        assert!(matches!(parse_text(r#"0{"sid":1}"#), EioPacket::Invalid(_)));
        let deep = format!("0{}", "[".repeat(100_000));
        assert!(matches!(parse_text(&deep), EioPacket::Invalid(_)));
        // Fields of the wrong type are left out rather than rejected.
        assert_eq!(
            parse_text(r#"0{"sid":"s","upgrades":"websocket","pingInterval":-1,"maxPayload":1e3}"#),
            EioPacket::Open(OpenInfo {
                sid: "s".into(),
                upgrades: vec![],
                ping_interval: None,
                ping_timeout: None,
                max_payload: None,
            })
        );
    }

    #[test]
    fn base64() {
        assert_eq!(base64_decode(""), Some(vec![]));
        assert_eq!(base64_decode("Zg=="), Some(b"f".to_vec()));
        assert_eq!(base64_decode("Zg"), Some(b"f".to_vec()));
        assert_eq!(base64_decode("Zm8="), Some(b"fo".to_vec()));
        assert_eq!(base64_decode("Zm9v"), Some(b"foo".to_vec()));
        assert_eq!(
            base64_decode("3q2+7wABAgM="),
            Some(vec![0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3])
        );
        for bad in ["Z", "Zg=", "Z===", "Zm9v!", "Zg==Zg==", "=", "Zm9=v"] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }

    /// Bytes that mean something to these parsers, mixed with any byte.
    fn hostile() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let special = prop::sample::select(b"0123456789:b\x1e\xff\x00\x01=+/AZaz{}\"[]".to_vec());
        prop::collection::vec(prop_oneof![special, any::<u8>()], 0..400)
    }

    proptest::proptest! {
        #[test]
        fn hostile_bytes_do_not_panic(body in hostile()) {
            let _ = split_polling(&body, false);
            let _ = split_polling(&body, true);
            let _ = parse_binary(&body, true);
            let s = String::from_utf8_lossy(&body);
            let _ = parse_text(&s);
            let _ = parse_uri(&s);
        }
    }
}
