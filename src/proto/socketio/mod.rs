//! Socket.IO packets (protocol v5, carried by Engine.IO v4 message packets).
//!
//! [`parse`] takes the text of one Engine.IO message, i.e. what follows the
//! Engine.IO type `4`: `2["chat",{…}]` for the WebSocket message
//! `42["chat",{…}]`. The format is
//! `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`.
//!
//! Validated, as the reference parser (socket.io-parser) does: the type digit;
//! for BINARY_EVENT/BINARY_ACK a decimal attachment count ended by `-`; that
//! the ack id fits in a u64; that the payload is JSON; and the payload's shape
//! per type (CONNECT: object; DISCONNECT: none; CONNECT_ERROR: string or
//! object; EVENT: array whose first element is a number or a string that is
//! not a reserved event name; ACK: array). Any failure is an `Err`. A count
//! above [`MAX_ATTACHMENTS`] is accepted but flagged in
//! [`SioPacket::warning`], and [`BinaryJoiner`] does not wait for those
//! attachments. Not validated: whether the namespace exists, whether an ack
//! answers an id that was asked for, and the content of event arguments.
//!
//! JSON is parsed by serde_json, whose parser stops at 128 levels of nesting
//! (deeper input is an `Err`); everything else here walks values with an
//! explicit stack. [`parse_shape`] accepts and refuses exactly what [`parse`]
//! does, but keeps no [`SioPacket::data`] of an EVENT or ACK: it checks their
//! JSON through the same parser without building values. Text taken from
//! packets (namespace, event names, JSON strings) is untrusted: escape it
//! before printing it to a terminal.

use serde_json::{Map, Value};

mod shape;
use shape::Shape;

use crate::text::{clip_chars, hex};

/// Characters of a piece of input quoted in an error message.
const QUOTED: usize = 40;

/// Announced attachments beyond this: the packet is flagged, no waiting for them.
pub const MAX_ATTACHMENTS: u32 = 256;
/// Bytes of each attachment kept and shown (as hex) in the joined packet; the
/// rest is only counted.
pub const ATTACHMENT_PREVIEW: usize = 32;
/// Most attachment bytes a [`BinaryJoiner`] holds at once.
pub const MAX_ATTACHMENT_BYTES: usize = MAX_ATTACHMENTS as usize * ATTACHMENT_PREVIEW;
/// Characters of one argument's JSON that [`describe`] shows before `…`.
pub const MAX_DESCRIBED_ARG: usize = 200;

/// Event names the receiver refuses in an EVENT packet (socket.io-parser).
const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Socket.IO packet type (the first character).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SioType {
    Connect,
    Disconnect,
    Event,
    Ack,
    ConnectError,
    BinaryEvent,
    BinaryAck,
}

impl SioType {
    /// The name the protocol gives the type.
    pub fn name(self) -> &'static str {
        match self {
            SioType::Connect => "CONNECT",
            SioType::Disconnect => "DISCONNECT",
            SioType::Event => "EVENT",
            SioType::Ack => "ACK",
            SioType::ConnectError => "CONNECT_ERROR",
            SioType::BinaryEvent => "BINARY_EVENT",
            SioType::BinaryAck => "BINARY_ACK",
        }
    }

    /// True for the types followed by binary attachments.
    pub fn is_binary(self) -> bool {
        matches!(self, SioType::BinaryEvent | SioType::BinaryAck)
    }
}

/// One decoded Socket.IO packet.
#[derive(Clone, Debug, PartialEq)]
pub struct SioPacket {
    pub ptype: SioType,
    /// `"/"` when the packet names none.
    pub namespace: String,
    pub ack_id: Option<u64>,
    /// Attachments announced (BINARY_EVENT/BINARY_ACK), 0 otherwise.
    pub attachments: u32,
    /// The JSON payload, with attachments filled in once joined.
    pub data: Option<Value>,
    /// Bytes of the JSON payload in the packet text (0 without one).
    pub data_len: usize,
    /// EVENT/BINARY_EVENT: the event name (first array element when a string)
    pub event: Option<String>,
    /// Why the packet is suspect though decodable: too many attachments
    /// announced, attachments missing or unmatched placeholders.
    pub warning: Option<String>,
}

impl SioPacket {
    /// EVENT: the arguments after the event name; ACK: all its values. A
    /// view of `data`, not a copy: every packet of a capture has them, few
    /// views show them.
    pub fn args(&self) -> &[Value] {
        let a = self.data.as_ref().and_then(Value::as_array);
        match (self.ptype, a) {
            (SioType::Event | SioType::BinaryEvent, Some(a)) => a.get(1..).unwrap_or_default(),
            (SioType::Ack | SioType::BinaryAck, Some(a)) => a,
            _ => &[],
        }
    }
}

/// Decodes one Socket.IO packet (the Engine.IO message text without its `4`).
pub fn parse(s: &str) -> Result<SioPacket, String> {
    parse_with(s, true)
}

/// [`parse`] for a reader that shows no arguments: an EVENT or ACK gets no
/// [`SioPacket::data`] (its event name and everything else as [`parse`]
/// gives them). Building the values was most of the cost of a small packet.
pub fn parse_shape(s: &str) -> Result<SioPacket, String> {
    parse_with(s, false)
}

fn parse_with(s: &str, values: bool) -> Result<SioPacket, String> {
    let b = s.as_bytes();
    let ptype = match b.first() {
        Some(b'0') => SioType::Connect,
        Some(b'1') => SioType::Disconnect,
        Some(b'2') => SioType::Event,
        Some(b'3') => SioType::Ack,
        Some(b'4') => SioType::ConnectError,
        Some(b'5') => SioType::BinaryEvent,
        Some(b'6') => SioType::BinaryAck,
        Some(_) => {
            let c = s.chars().next().unwrap_or('?');
            return Err(format!("unknown packet type {c:?}"));
        }
        None => return Err("empty packet".into()),
    };
    let mut i = 1;
    let mut attachments = 0;
    let mut warning = None;
    if ptype.is_binary() {
        let dash = i + b
            .get(i..)
            .unwrap_or(&[])
            .iter()
            .position(|&c| c == b'-')
            .ok_or("no '-' after the attachment count")?;
        let digits = s.get(i..dash).unwrap_or("");
        if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "bad attachment count {:?}",
                clip_chars(digits, QUOTED)
            ));
        }
        attachments = digits
            .parse::<u32>()
            .map_err(|_| format!("attachment count {} too large", clip_chars(digits, QUOTED)))?;
        if attachments > MAX_ATTACHMENTS {
            warning = Some(format!(
                "announces {attachments} binary attachments, more than {MAX_ATTACHMENTS}: not waiting for them"
            ));
        }
        i = dash + 1;
    }
    let mut namespace = "/".to_owned();
    if b.get(i) == Some(&b'/') {
        let rest = b.get(i..).unwrap_or(&[]);
        let (end, next) = match rest.iter().position(|&c| c == b',') {
            Some(p) => (i + p, i + p + 1),
            None => (b.len(), b.len()),
        };
        namespace = s.get(i..end).unwrap_or("/").to_owned();
        i = next;
    }
    let digits = b
        .get(i..)
        .unwrap_or(&[])
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    let mut ack_id = None;
    if digits > 0 {
        let d = s.get(i..i + digits).unwrap_or("");
        ack_id = Some(
            d.parse::<u64>()
                .map_err(|_| format!("ack id {} too large", clip_chars(d, QUOTED)))?,
        );
        i += digits;
    }
    let payload = s.get(i..).unwrap_or("");
    let not_json = |e: serde_json::Error| format!("payload is not JSON: {e}");
    let (data, event) = if payload.is_empty() {
        (None, None)
    } else if !values && matches!(ptype, SioType::Event | SioType::Ack) {
        let shape: Shape = serde_json::from_str(payload).map_err(not_json)?;
        (None, shape.check(ptype)?)
    } else {
        let v: Value = serde_json::from_str(payload).map_err(not_json)?;
        check_payload(ptype, &v)?;
        let event = event_name(ptype, Some(&v));
        (Some(v), event)
    };
    Ok(SioPacket {
        ptype,
        namespace,
        ack_id,
        attachments,
        data,
        data_len: payload.len(),
        event,
        warning,
    })
}

/// The payload shapes socket.io-parser accepts for each type.
fn check_payload(t: SioType, v: &Value) -> Result<(), String> {
    let ok = match t {
        SioType::Connect => v.is_object(),
        SioType::Disconnect => false,
        SioType::ConnectError => v.is_string() || v.is_object(),
        SioType::Event | SioType::BinaryEvent => match v.as_array().and_then(|a| a.first()) {
            Some(Value::Number(_)) => true,
            Some(Value::String(name)) => {
                if RESERVED_EVENTS.contains(&name.as_str()) {
                    return Err(format!(
                        "reserved event name {:?}",
                        clip_chars(name, QUOTED)
                    ));
                }
                true
            }
            _ => false,
        },
        SioType::Ack | SioType::BinaryAck => v.is_array(),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} payload must be {}",
            t.name(),
            expected_payload(t)
        ))
    }
}

fn expected_payload(t: SioType) -> &'static str {
    match t {
        SioType::Connect => "an object",
        SioType::Disconnect => "absent",
        SioType::ConnectError => "a string or an object",
        SioType::Event | SioType::BinaryEvent => "an array starting with the event name",
        SioType::Ack | SioType::BinaryAck => "an array",
    }
}

/// The event name as the receiving application sees it: an EVENT's first
/// element, when it is a string.
fn event_name(t: SioType, data: Option<&Value>) -> Option<String> {
    match t {
        SioType::Event | SioType::BinaryEvent => data
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    }
}

/// What is kept of one binary attachment.
#[derive(Clone, Debug)]
struct Preview {
    len: usize,
    head: Vec<u8>,
}

impl Preview {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("_binary".into(), Value::from(self.len));
        m.insert("hex".into(), Value::from(hex(&self.head)));
        Value::Object(m)
    }
}

/// Joins BINARY_EVENT/BINARY_ACK with the binary attachments that follow it: replaces each {"_placeholder":true,"num":i} in data/args with {"_binary": <length>, "hex": "<first 32 bytes hex>"}.
///
/// One joiner per direction of a connection: attachments follow their packet
/// directly. Holds at most two packets (one waiting, one given up) and
/// [`MAX_ATTACHMENT_BYTES`] attachment bytes.
#[derive(Debug, Default)]
pub struct BinaryJoiner {
    waiting: Option<SioPacket>,
    got: Vec<Preview>,
    incomplete: Option<SioPacket>,
}

impl BinaryJoiner {
    pub fn new() -> Self {
        Self::default()
    }

    /// a decoded packet: returns it at once if it needs no attachments, else
    /// holds it. A packet still waiting is given up (see [`Self::take_incomplete`]):
    /// its attachments can no longer come.
    pub fn packet(&mut self, p: SioPacket) -> Option<SioPacket> {
        if let Some(old) = self.waiting.take() {
            self.incomplete = Some(self.join(old));
        }
        if !p.ptype.is_binary() || p.attachments == 0 || p.attachments > MAX_ATTACHMENTS {
            return Some(p);
        }
        self.waiting = Some(p);
        None
    }

    /// a binary payload: returns the joined packet when the last attachment
    /// arrived; None (and nothing kept) when no packet is waiting.
    pub fn attachment(&mut self, data: &[u8]) -> Option<SioPacket> {
        let want = self.waiting.as_ref()?.attachments;
        self.got.push(Preview {
            len: data.len(),
            head: data.get(..ATTACHMENT_PREVIEW).unwrap_or(data).to_vec(),
        });
        if u32::try_from(self.got.len()).ok()? < want {
            return None;
        }
        let p = self.waiting.take()?;
        Some(self.join(p))
    }

    pub fn pending(&self) -> bool {
        self.waiting.is_some()
    }

    /// The packet that a newer packet displaced before all its attachments
    /// came, joined with those that did and flagged.
    pub fn take_incomplete(&mut self) -> Option<SioPacket> {
        self.incomplete.take()
    }

    /// End of the stream: the packet still waiting, if any, joined with the
    /// attachments that came and flagged.
    pub fn finish(&mut self) -> Option<SioPacket> {
        let p = self.waiting.take()?;
        Some(self.join(p))
    }

    /// Fills the placeholders from the attachments received so far.
    fn join(&mut self, mut p: SioPacket) -> SioPacket {
        let got = std::mem::take(&mut self.got);
        let mut problems = Vec::new();
        let have = u32::try_from(got.len()).unwrap_or(u32::MAX);
        if have < p.attachments {
            problems.push(format!(
                "{} of {} attachments missing",
                p.attachments - have,
                p.attachments
            ));
        }
        if let Some(data) = p.data.as_mut() {
            let unmatched = fill_placeholders(data, &got);
            if unmatched > 0 {
                problems.push(format!("{unmatched} placeholders without an attachment"));
            }
        }
        p.event = event_name(p.ptype, p.data.as_ref());
        if !problems.is_empty() {
            p.warning = Some(problems.join("; "));
        }
        p
    }
}

/// Replaces placeholders (objects with `"_placeholder": true`) by their
/// attachment's preview; returns how many had no matching attachment.
fn fill_placeholders(root: &mut Value, got: &[Preview]) -> usize {
    let mut unmatched = 0;
    let mut stack = vec![root];
    while let Some(v) = stack.pop() {
        if v.get("_placeholder") == Some(&Value::Bool(true)) {
            let num = v
                .get("num")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok());
            match num.and_then(|n| got.get(n)) {
                Some(a) => *v = a.to_json(),
                None => unmatched += 1,
            }
            continue;
        }
        match v {
            Value::Array(a) => stack.extend(a.iter_mut()),
            Value::Object(m) => stack.extend(m.values_mut()),
            _ => {}
        }
    }
    unmatched
}

/// Renders a packet the way a developer writes it, e.g.
/// `socket.emit("chat", {"text":"hi"})` or `ack 0 → [{"sum":42}]`.
pub fn describe(p: &SioPacket, from_client: bool) -> String {
    let ns = quote(&p.namespace);
    let in_ns = if p.namespace == "/" {
        String::new()
    } else {
        format!(" on namespace {ns}")
    };
    match p.ptype {
        SioType::Event | SioType::BinaryEvent => {
            let mut parts = Vec::new();
            match (
                &p.event,
                p.data
                    .as_ref()
                    .and_then(Value::as_array)
                    .and_then(|a| a.first()),
            ) {
                (Some(name), _) => parts.push(quote(name)),
                (None, Some(first)) => parts.push(short_json(first)),
                (None, None) => {}
            }
            parts.extend(p.args().iter().map(short_json));
            if let Some(id) = p.ack_id {
                parts.push(format!("<ack {id}>"));
            }
            format!("socket.emit({}){in_ns}", parts.join(", "))
        }
        SioType::Ack | SioType::BinaryAck => {
            let id = p
                .ack_id
                .map_or_else(|| "(no id)".to_owned(), |id| id.to_string());
            format!("ack {id} → {}{in_ns}", short_json_list(p.args()))
        }
        SioType::Connect => {
            let base = format!("connect to namespace {ns}");
            match (&p.data, from_client) {
                (None, _) => base,
                (Some(d), true) => format!("{base} with auth {}", short_json(d)),
                (Some(d), false) => match d.get("sid").and_then(Value::as_str) {
                    Some(sid) => format!("{base}: accepted, sid {}", quote(sid)),
                    None => format!("{base}: accepted, {}", short_json(d)),
                },
            }
        }
        SioType::Disconnect => {
            let who = if from_client { "client" } else { "server" };
            format!("disconnect from namespace {ns} ({who} side)")
        }
        SioType::ConnectError => {
            let why = match &p.data {
                Some(Value::String(m)) => quote(m),
                Some(d) => match d.get("message").and_then(Value::as_str) {
                    Some(m) => quote(m),
                    None => short_json(d),
                },
                None => "(no reason)".to_owned(),
            };
            format!("connect to namespace {ns} refused: {why}")
        }
    }
}

/// A string as JSON, cut like an argument.
fn quote(s: &str) -> String {
    let mut buf = Vec::new();
    crate::json::plain_string(&mut buf, s, CAP);
    let complete = buf.len() <= CAP;
    finish(buf, complete)
}

/// An array of values rendered like one argument.
fn short_json_list(items: &[Value]) -> String {
    let mut buf = Vec::new();
    let complete = crate::json::array(&mut buf, items, CAP, crate::json::plain_string);
    finish(buf, complete)
}

/// JSON of `v`, cut after [`MAX_DESCRIBED_ARG`] characters with `…`.
fn short_json(v: &Value) -> String {
    let mut buf = Vec::new();
    let complete = crate::json::value(&mut buf, v, CAP, crate::json::plain_string);
    finish(buf, complete)
}

/// Bytes of JSON looked at for an argument: room for [`MAX_DESCRIBED_ARG`]
/// characters of up to 4 bytes, plus one. The writer stops soon after, so
/// a huge value costs no more than its first characters.
const CAP: usize = MAX_DESCRIBED_ARG * 4 + 4;

/// The argument's text from the first [`CAP`] bytes of its JSON (`complete`
/// when that was all of it): [`MAX_DESCRIBED_ARG`] characters, with `…`
/// when cut.
fn finish(mut buf: Vec<u8>, complete: bool) -> String {
    buf.truncate(CAP);
    let text = match std::str::from_utf8(&buf) {
        Ok(t) => t,
        Err(e) => buf
            .get(..e.valid_up_to())
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or(""),
    };
    let mut chars = text.char_indices();
    match chars.nth(MAX_DESCRIBED_ARG) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or("")),
        None if !complete => format!("{text}…"),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::engineio::{self, EioData, EioPacket};
    use serde_json::json;

    /// A WebSocket text message of the capture, through Engine.IO to Socket.IO.
    fn from_ws(text: &str) -> SioPacket {
        match engineio::parse_text(text) {
            EioPacket::Message(EioData::Text(t)) => {
                parse(&t).unwrap_or_else(|e| panic!("{text}: {e}"))
            }
            other => panic!("{text}: not a message: {other:?}"),
        }
    }

    fn packet(ptype: SioType) -> SioPacket {
        SioPacket {
            ptype,
            namespace: "/".into(),
            ack_id: None,
            attachments: 0,
            data: None,
            data_len: 0,
            event: None,
            warning: None,
        }
    }

    // Packets of captures/socketio-upgrade.pcap (frame numbers as tshark's).

    #[test]
    fn connect_from_capture() {
        // Frame 20: the client's POST body `40`.
        let p = from_ws("40");
        assert_eq!(p, packet(SioType::Connect));
        assert_eq!(describe(&p, true), r#"connect to namespace "/""#);
        // Frame 31: the server's answer in a long-poll.
        let p = from_ws(r#"40{"sid":"7D_z04xU6sBq85xSAAAA"}"#);
        assert_eq!(p.data, Some(json!({"sid":"7D_z04xU6sBq85xSAAAA"})));
        assert_eq!(
            describe(&p, false),
            r#"connect to namespace "/": accepted, sid "7D_z04xU6sBq85xSAAAA""#
        );
    }

    #[test]
    fn events_from_capture() {
        let p =
            from_ws(r#"42["chat",{"text":"hello from socket.io-client","tags":["demo","json"]}]"#);
        assert_eq!(p.ptype, SioType::Event);
        assert_eq!(p.namespace, "/");
        assert_eq!(p.ack_id, None);
        assert_eq!(p.event.as_deref(), Some("chat"));
        assert_eq!(
            p.args(),
            vec![json!({"text":"hello from socket.io-client","tags":["demo","json"]})]
        );
        assert_eq!(
            describe(&p, true),
            r#"socket.emit("chat", {"text":"hello from socket.io-client","tags":["demo","json"]})"#
        );
        let p = from_ws(
            r#"42["chat reply",{"from":"server","echo":"hello from socket.io-client","length":27}]"#,
        );
        assert_eq!(p.event.as_deref(), Some("chat reply"));
        assert_eq!(
            describe(&p, false),
            r#"socket.emit("chat reply", {"from":"server","echo":"hello from socket.io-client","length":27})"#
        );
        let p = from_ws(r#"42["upload done",{"name":"bytes.bin","bytes":8,"first":222,"last":3}]"#);
        assert_eq!(
            p.args(),
            vec![json!({"name":"bytes.bin","bytes":8,"first":222,"last":3})]
        );
    }

    #[test]
    fn event_with_ack_and_its_ack_from_capture() {
        let p = from_ws(r#"420["add",2,40]"#);
        assert_eq!(p.ack_id, Some(0));
        assert_eq!(p.event.as_deref(), Some("add"));
        assert_eq!(p.args(), vec![json!(2), json!(40)]);
        assert_eq!(describe(&p, true), r#"socket.emit("add", 2, 40, <ack 0>)"#);
        let p = from_ws(r#"430[{"sum":42}]"#);
        assert_eq!(p.ptype, SioType::Ack);
        assert_eq!(p.ack_id, Some(0));
        assert_eq!(p.event, None);
        assert_eq!(p.args(), vec![json!({"sum":42})]);
        assert_eq!(describe(&p, false), r#"ack 0 → [{"sum":42}]"#);
    }

    #[test]
    fn binary_event_from_capture() {
        let p = from_ws(r#"451-["upload","bytes.bin",{"_placeholder":true,"num":0}]"#);
        assert_eq!(p.ptype, SioType::BinaryEvent);
        assert_eq!(p.attachments, 1);
        assert_eq!(p.event.as_deref(), Some("upload"));
        let mut j = BinaryJoiner::new();
        assert_eq!(j.packet(p), None);
        assert!(j.pending());
        // Frame 60: the attachment, a binary WebSocket message.
        let att = [0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3];
        let EioPacket::Message(EioData::Binary(b)) = engineio::parse_binary(&att, false) else {
            panic!("not binary");
        };
        let joined = j.attachment(&b).expect("joined");
        assert!(!j.pending());
        assert_eq!(
            joined.args(),
            vec![
                json!("bytes.bin"),
                json!({"_binary":8,"hex":"deadbeef00010203"})
            ]
        );
        assert_eq!(
            joined.data,
            Some(json!(["upload","bytes.bin",{"_binary":8,"hex":"deadbeef00010203"}]))
        );
        assert_eq!(joined.warning, None);
        assert_eq!(
            describe(&joined, true),
            r#"socket.emit("upload", "bytes.bin", {"_binary":8,"hex":"deadbeef00010203"})"#
        );
    }

    #[test]
    fn disconnect_from_capture() {
        let p = from_ws("41");
        assert_eq!(p, packet(SioType::Disconnect));
        assert_eq!(
            describe(&p, true),
            r#"disconnect from namespace "/" (client side)"#
        );
    }

    #[test]
    fn namespaces() {
        let p = parse("0/admin,").unwrap();
        assert_eq!((p.namespace.as_str(), p.data.is_none()), ("/admin", true));
        assert_eq!(describe(&p, true), r#"connect to namespace "/admin""#);
        let p = parse(r#"0/admin,{"token":"123"}"#).unwrap();
        assert_eq!(
            describe(&p, true),
            r#"connect to namespace "/admin" with auth {"token":"123"}"#
        );
        // Without the comma the namespace runs to the end.
        assert_eq!(parse("1/admin").unwrap().namespace, "/admin");
        assert_eq!(parse("1/admin,").unwrap().namespace, "/admin");
        let p = parse(r#"2/admin,13["news",1]"#).unwrap();
        assert_eq!((p.namespace.as_str(), p.ack_id), ("/admin", Some(13)));
        assert_eq!(
            describe(&p, false),
            r#"socket.emit("news", 1, <ack 13>) on namespace "/admin""#
        );
        let p = parse("3/admin,13[]").unwrap();
        assert_eq!(describe(&p, true), r#"ack 13 → [] on namespace "/admin""#);
        let p = parse(
            r#"52-/files,7["f",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#,
        )
        .unwrap();
        assert_eq!(
            (p.attachments, p.namespace.as_str(), p.ack_id),
            (2, "/files", Some(7))
        );
        // A digit right after the type is the ack id, not part of a namespace.
        assert_eq!(parse("2123[\"a\"]").unwrap().ack_id, Some(123));
    }

    #[test]
    fn connect_errors() {
        let p = parse(r#"4{"message":"Not authorized","data":{"x":1}}"#).unwrap();
        assert_eq!(
            describe(&p, false),
            r#"connect to namespace "/" refused: "Not authorized""#
        );
        let p = parse(r#"4/admin,"Invalid namespace""#).unwrap();
        assert_eq!(
            describe(&p, false),
            r#"connect to namespace "/admin" refused: "Invalid namespace""#
        );
        let p = parse(r#"4{"code":3}"#).unwrap();
        assert_eq!(
            describe(&p, false),
            r#"connect to namespace "/" refused: {"code":3}"#
        );
        assert_eq!(
            describe(&parse("4").unwrap(), false),
            r#"connect to namespace "/" refused: (no reason)"#
        );
    }

    #[test]
    fn other_describe_forms() {
        let p = parse(r#"0{"pid":"x"}"#).unwrap();
        assert_eq!(
            describe(&p, false),
            r#"connect to namespace "/": accepted, {"pid":"x"}"#
        );
        assert_eq!(
            describe(&parse("1").unwrap(), false),
            r#"disconnect from namespace "/" (server side)"#
        );
        assert_eq!(
            describe(&parse("2[7,\"x\"]").unwrap(), true),
            r#"socket.emit(7, "x")"#
        );
        assert_eq!(describe(&parse("2").unwrap(), true), "socket.emit()");
        assert_eq!(describe(&parse("3[]").unwrap(), true), "ack (no id) → []");
        let name = "a\u{1b}[31m\"";
        let p = parse(&format!("2{}", json!([name]))).unwrap();
        assert_eq!(describe(&p, true), r#"socket.emit("a\u001b[31m\"")"#);
    }

    #[test]
    fn long_arguments_are_cut() {
        let long = "x".repeat(1000);
        let p = parse(&format!(
            "2{}",
            json!(["e", long, {"k": long}, "é".repeat(300)])
        ))
        .unwrap();
        let d = describe(&p, true);
        let cut = format!("\"{}…", "x".repeat(MAX_DESCRIBED_ARG - 1));
        assert_eq!(
            d,
            format!(
                "socket.emit(\"e\", {cut}, {{\"k\":\"{}…, \"{}…)",
                "x".repeat(MAX_DESCRIBED_ARG - 6),
                "é".repeat(MAX_DESCRIBED_ARG - 1)
            )
        );
        let exact = "y".repeat(MAX_DESCRIBED_ARG - 2);
        assert_eq!(short_json(&json!(exact)), format!("\"{exact}\""));
        let p = parse(&format!("3{}", json!([long]))).unwrap();
        assert!(describe(&p, true).ends_with("xxx…"));
    }

    /// An argument's text is the start of serde_json's text of it: the
    /// first [`CAP`] bytes, cut to [`MAX_DESCRIBED_ARG`] characters.
    #[test]
    fn arguments_are_described_from_serde_json_text() {
        let reference = |whole: String| {
            let complete = whole.len() <= CAP;
            finish(whole.into_bytes(), complete)
        };
        let mut values = vec![json!(null), json!([]), json!({"a": [1, 2.5]})];
        for n in [190, 199, 200, 201, 202, 267, 268, 269, 270, 400, 1000] {
            values.push(json!("é".repeat(n)));
            values.push(json!("x\u{1}\"".repeat(n / 3)));
            values.push(json!({"k": "y".repeat(n), "z": [n]}));
            values.push(json!((0..n).collect::<Vec<_>>()));
            values.push(json!(["日".repeat(n), "x"]));
        }
        for v in &values {
            let whole = serde_json::to_string(v).expect("json");
            assert_eq!(short_json(v), reference(whole), "{v}");
            if let Value::String(t) = v {
                assert_eq!(quote(t), reference(serde_json::to_string(t).expect("json")));
            }
        }
        let list = serde_json::to_string(&values[..6]).expect("json");
        assert_eq!(short_json_list(&values[..6]), reference(list));
    }

    #[test]
    fn invalid_packets() {
        for s in [
            "",
            "7",
            "é",
            "x2[\"a\"]",
            "2{\"a\":1}",
            "2[]",
            "2[null]",
            "2[\"connect\"]",
            "2[\"removeListener\",1]",
            "3{}",
            "3\"a\"",
            "0[]",
            "0\"x\"",
            "1{}",
            "4[]",
            "4 1",
            "5[\"a\"]",
            "5-[\"a\"]",
            "5x-[\"a\"]",
            "5 1-[\"a\"]",
            "54294967296-[\"a\"]",
            "2123456789012345678901234567890[\"a\"]",
            "2[\"a\"",
            "2[\"a\"]x",
            "2/admin,x",
        ] {
            assert!(parse(s).is_err(), "{s:?} accepted: {:?}", parse(s));
        }
        // Beyond serde_json's nesting limit: an error, not a stack overflow.
        let deep = format!("2[\"a\",{}{}]", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn too_many_attachments_are_not_awaited() {
        let p = parse(r#"51000000000-["big",{"_placeholder":true,"num":0}]"#).unwrap();
        assert_eq!(p.attachments, 1_000_000_000);
        assert!(p.warning.as_deref().unwrap_or("").contains("1000000000"));
        let mut j = BinaryJoiner::new();
        let out = j.packet(p.clone()).expect("returned at once");
        assert_eq!(out, p);
        assert!(!j.pending());
        assert_eq!(j.attachment(b"x"), None);
        // The limit itself is still awaited.
        let p = parse(&format!("5{MAX_ATTACHMENTS}-[\"ok\"]")).unwrap();
        assert_eq!(p.warning, None);
        assert_eq!(j.packet(p), None);
        for _ in 1..MAX_ATTACHMENTS {
            assert_eq!(j.attachment(&[1; 100]), None);
        }
        let done = j.attachment(&[]).expect("last attachment");
        assert_eq!(done.warning, None);
        let p = parse(&format!("6{}-3[]", MAX_ATTACHMENTS + 1)).unwrap();
        assert!(p.warning.is_some());
        assert!(j.packet(p).is_some());
    }

    #[test]
    fn joiner_orders_nested_placeholders_and_cuts_previews() {
        let mut j = BinaryJoiner::new();
        let p =
            parse(r#"62-5[{"a":[{"_placeholder":true,"num":1}]},{"_placeholder":true,"num":0}]"#)
                .unwrap();
        assert_eq!(j.packet(p), None);
        assert_eq!(j.attachment(&[0xab; 3]), None);
        let big: Vec<u8> = (0..=255).collect();
        let done = j.attachment(&big).expect("joined");
        let head = hex(&big[..ATTACHMENT_PREVIEW]);
        assert_eq!(
            done.args(),
            vec![
                json!({"a":[{"_binary":256,"hex":head}]}),
                json!({"_binary":3,"hex":"ababab"})
            ]
        );
        assert!(describe(&done, false).starts_with("ack 5 → [{\"a\":[{\"_binary\":256,"));
    }

    #[test]
    fn joiner_flags_missing_and_unmatched() {
        let mut j = BinaryJoiner::new();
        assert_eq!(j.attachment(b"stray"), None);
        assert_eq!(j.take_incomplete(), None);
        assert_eq!(j.finish(), None);
        let p = parse(r#"52-["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
            .unwrap();
        assert_eq!(j.packet(p), None);
        assert_eq!(j.attachment(b"\x01"), None);
        // A new packet displaces the waiting one.
        let next = parse(r#"2["later"]"#).unwrap();
        assert_eq!(j.packet(next.clone()), Some(next));
        assert!(!j.pending());
        let gave_up = j.take_incomplete().expect("displaced packet");
        assert_eq!(
            gave_up.warning.as_deref(),
            Some("1 of 2 attachments missing; 1 placeholders without an attachment")
        );
        assert_eq!(
            gave_up.args(),
            vec![
                json!({"_binary":1,"hex":"01"}),
                json!({"_placeholder":true,"num":1})
            ]
        );
        // Placeholders pointing nowhere, and the end of the stream.
        let p = parse(r#"51-["e",{"_placeholder":true,"num":5},{"_placeholder":true,"num":"0"}]"#)
            .unwrap();
        assert_eq!(j.packet(p), None);
        let done = j.attachment(b"").expect("joined");
        assert_eq!(
            done.warning.as_deref(),
            Some("2 placeholders without an attachment")
        );
        let p = parse(r#"51-["e"]"#).unwrap();
        assert_eq!(j.packet(p), None);
        let end = j.finish().expect("waiting packet");
        assert_eq!(end.warning.as_deref(), Some("1 of 1 attachments missing"));
        assert!(!j.pending());
        // Zero attachments announced: nothing to wait for.
        let p = parse(r#"50-["e"]"#).unwrap();
        assert!(j.packet(p).is_some());
    }

    #[test]
    fn non_binary_packets_are_not_joined() {
        let mut j = BinaryJoiner::new();
        let p = parse(r#"2["e",{"_placeholder":true,"num":0}]"#).unwrap();
        assert_eq!(j.packet(p.clone()), Some(p));
        assert!(!j.pending());
    }

    /// Text built from the characters that mean something to the parser.
    fn hostile() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let pieces = prop::sample::select(vec![
            "0",
            "1",
            "2",
            "3",
            "4",
            "5",
            "6",
            "9",
            "-",
            "/",
            ",",
            "[",
            "]",
            "{",
            "}",
            "\"",
            ":",
            "true",
            "_placeholder",
            "num",
            "é",
            "\u{1f600}",
            " ",
        ]);
        prop::collection::vec(pieces, 0..60).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #[test]
        fn hostile_text_does_not_panic(s in hostile(), raw in ".{0,80}") {
            let mut j = BinaryJoiner::new();
            for text in [&s, &raw] {
                if let Ok(p) = parse(text) {
                    let _ = describe(&p, true);
                    let _ = describe(&p, false);
                    let _ = j.packet(p);
                    let _ = j.attachment(text.as_bytes());
                    let _ = j.take_incomplete();
                    let _ = j.finish();
                }
            }
        }

        #[test]
        fn binary_packets_with_attachments_join(n in 1u32..5, ns in "(/[a-z]{1,5},)?", ack in proptest::option::of(0u64..1000)) {
            let placeholders: Vec<String> =
                (0..n).map(|i| format!("{{\"_placeholder\":true,\"num\":{i}}}")).collect();
            let ack = ack.map(|a| a.to_string()).unwrap_or_default();
            let text = format!("5{n}-{ns}{ack}[\"e\",{}]", placeholders.join(","));
            let p = parse(&text).map_err(proptest::test_runner::TestCaseError::fail)?;
            let mut j = BinaryJoiner::new();
            proptest::prop_assert!(j.packet(p).is_none());
            for i in 1..n {
                proptest::prop_assert!(j.attachment(&[0; 3]).is_none(), "joined early at {}", i);
            }
            let done = j.attachment(&[0; 3]);
            proptest::prop_assert!(done.is_some());
            let done = done.unwrap_or_else(|| packet(SioType::Event));
            proptest::prop_assert_eq!(done.warning.as_deref(), None);
            proptest::prop_assert_eq!(done.args().len(), usize::try_from(n).unwrap_or(0));
            for a in done.args() {
                proptest::prop_assert_eq!(a, &json!({"_binary":3,"hex":"000000"}));
            }
        }
    }
}
