//! A packet described layer by layer: every header field with its value and,
//! where it helps, its meaning. This is the record behind `osiscope layers` and
//! the `layers` array of `packets --format json`.
//!
//! Values are JSON values (numbers stay numbers); `text` is how a person reads
//! the value (hex for checksums, names for codes). Strings taken from the wire
//! are not escaped here: each view escapes for its own medium. A record that
//! only writes JSON asks for [`Keep::Json`]: each field is then written as a
//! JSON member as it is added, and no text is formatted.

pub mod app;
mod link;
mod net;
pub mod tls;
mod transport;

pub use transport::tcp_flags_text;

use etherparse::LaxNetSlice;
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::capture::{Frame, FrameKind, linktype};
use crate::decode::{CutHeader, Packet};
use crate::flow::SegmentContext;
use crate::report::json_write;
use crate::text::push_int;
use link::{cut_layer, link_layers};
use net::net_layer;
use transport::{tcp_layer, transport_layer};

#[derive(Clone, Debug, Serialize)]
pub struct LayerDetail {
    pub osi: u8,
    pub name: &'static str,
    /// Byte offset of the layer within the frame, and its captured length.
    pub offset: usize,
    pub length: usize,
    pub fields: Fields,
    pub summary: String,
    /// A shorter summary for narrow table cells; empty means "same as summary".
    #[serde(skip)]
    pub brief: String,
    /// A unit of the reassembled stream (a TLS record, a WebSocket message,
    /// a Socket.IO packet) that this frame completed: it has no byte range
    /// in this frame of its own.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reassembled: bool,
    /// A unit whose first bytes came in an earlier frame: that frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continues_from: Option<u64>,
}

impl LayerDetail {
    pub fn brief(&self) -> &str {
        if self.brief.is_empty() {
            &self.summary
        } else {
            &self.brief
        }
    }
}

#[derive(Clone, Debug)]
pub struct Field {
    /// Stable key used in JSON.
    pub key: &'static str,
    /// Label shown to a person.
    pub label: std::borrow::Cow<'static, str>,
    /// One of a list (HTTP headers): the fields with this key are one JSON
    /// array, in order.
    pub list: bool,
    pub value: Value,
    /// How the value reads, when it reads differently from `value`.
    pub text: Option<String>,
    /// What the value means, in words.
    pub meaning: Option<std::borrow::Cow<'static, str>>,
}

impl Field {
    pub fn display(&self) -> String {
        match (&self.text, &self.value) {
            (Some(t), _) => t.clone(),
            (None, Value::String(s)) => s.clone(),
            (None, v) => v.to_string(),
        }
    }
}

/// What a layer keeps of its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Each field with its label, text and meaning, for a person.
    All,
    /// Only the JSON object, written as the fields are added. A record that
    /// describes every frame of a capture (`packets --format json`) spends
    /// most of its time on what a person reads; this keeps none of it.
    Json,
}

/// Fields serialize as one JSON object, key → value.
#[derive(Clone, Debug, Default)]
pub struct Fields {
    /// With [`Keep::All`]: every field, in order.
    pub all: Vec<Field>,
    /// With [`Keep::Json`]: the object's members so far (`"key":value,…`).
    json: Option<Vec<u8>>,
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Some(members) = &self.json {
            let object = format!("{{{}}}", String::from_utf8_lossy(members));
            return RawValue::from_string(object)
                .map_err(serde::ser::Error::custom)?
                .serialize(s);
        }
        let mut m = s.serialize_map(None)?;
        for (i, f) in self.all.iter().enumerate() {
            if !f.list {
                m.serialize_entry(f.key, &f.value)?;
            } else if !self.all[..i].iter().any(|g| g.list && g.key == f.key) {
                let all: Vec<&Value> = self.all[i..]
                    .iter()
                    .filter(|g| g.list && g.key == f.key)
                    .map(|g| &g.value)
                    .collect();
                m.serialize_entry(f.key, &all)?;
            }
        }
        m.end()
    }
}

impl Fields {
    fn new(keep: Keep) -> Fields {
        match keep {
            Keep::All => Fields::default(),
            Keep::Json => Fields {
                all: Vec::new(),
                json: Some(Vec::with_capacity(256)),
            },
        }
    }

    /// The object's members already written ([`Keep::Json`]).
    pub fn json_members(&self) -> Option<&[u8]> {
        self.json.as_deref()
    }

    fn add(
        &mut self,
        key: &'static str,
        label: impl Into<std::borrow::Cow<'static, str>>,
        value: impl Member,
    ) -> Added<'_> {
        if let Some(out) = &mut self.json {
            member(out, key);
            value.write(out);
            return Added(None);
        }
        self.all.push(Field {
            key,
            label: label.into(),
            list: false,
            value: value.into(),
            text: None,
            meaning: None,
        });
        Added(self.all.last_mut())
    }

    /// A field whose value `write` writes as JSON: straight into the object
    /// with [`Keep::Json`], read back into a value with [`Keep::All`].
    fn add_json(
        &mut self,
        key: &'static str,
        label: &'static str,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Added<'_> {
        if let Some(out) = &mut self.json {
            member(out, key);
            write(out);
            return Added(None);
        }
        let mut bytes = Vec::new();
        write(&mut bytes);
        let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        self.add(key, label, v)
    }
}

/// A field's value: a JSON value for [`Keep::All`], written straight into
/// the object for [`Keep::Json`] (without building one: a number or a
/// string is most of what a frame's fields are).
pub(super) trait Member: Into<Value> {
    fn write(self, out: &mut Vec<u8>);
}

macro_rules! integer_members {
    ($($t:ty),*) => {$(
        impl Member for $t {
            fn write(self, out: &mut Vec<u8>) {
                out.extend_from_slice(itoa::Buffer::new().format(self).as_bytes());
            }
        }
    )*};
}
integer_members!(u8, u16, u32, u64, usize, i64);

impl Member for bool {
    fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(if self { b"true" } else { b"false" });
    }
}

impl Member for &str {
    fn write(self, out: &mut Vec<u8>) {
        // Writing to a Vec cannot fail.
        let _ = json_write::string(out, self);
    }
}

impl Member for String {
    fn write(self, out: &mut Vec<u8>) {
        self.as_str().write(out);
    }
}

impl Member for Vec<String> {
    fn write(self, out: &mut Vec<u8>) {
        Value::from(self).write(out);
    }
}

impl Member for Value {
    fn write(self, out: &mut Vec<u8>) {
        let _ = json_write::value(out, &self);
    }
}

impl Member for Option<Value> {
    fn write(self, out: &mut Vec<u8>) {
        self.unwrap_or(Value::Null).write(out);
    }
}

impl Member for f64 {
    fn write(self, out: &mut Vec<u8>) {
        // As serde_json writes a number made from it (null when not finite).
        Value::from(self).write(out);
    }
}

/// The start of a member of a JSON object whose members are `out`.
fn member(out: &mut Vec<u8>, key: &str) {
    if !out.is_empty() {
        out.push(b',');
    }
    json_write::key(out, key);
}

/// A field just added: what a person reads of it is set here, and only
/// formatted when the layer keeps it ([`Keep::All`]).
pub(super) struct Added<'a>(Option<&'a mut Field>);

impl Added<'_> {
    fn text(&mut self, t: impl std::fmt::Display) -> &mut Self {
        if let Some(f) = &mut self.0 {
            f.text = Some(t.to_string());
        }
        self
    }
    fn means(&mut self, m: impl Into<std::borrow::Cow<'static, str>>) -> &mut Self {
        if let Some(f) = &mut self.0 {
            f.meaning = Some(m.into());
        }
        self
    }
    /// One of a list: see [`Field::list`]. Only layers that keep all their
    /// fields have lists (the application units that `layers` opens).
    fn in_list(&mut self) -> &mut Self {
        if let Some(f) = &mut self.0 {
            f.list = true;
        }
        self
    }
}

/// A MAC address as Wireshark writes it: "02:00:0a:01:00:01".
pub fn mac(m: &[u8]) -> String {
    crate::text::joined_hex(m, ':')
}

fn layer(keep: Keep, osi: u8, name: &'static str, offset: usize, length: usize) -> LayerDetail {
    LayerDetail {
        osi,
        name,
        offset,
        length,
        fields: Fields::new(keep),
        summary: String::new(),
        brief: String::new(),
        reassembled: false,
        continues_from: None,
    }
}

/// Every layer of a frame as `layers` shows it: the packet's, its TLS
/// records, and the application units it carries or completes.
/// The packet's layers keep what `keep` says; the units keep all (they are
/// few, and their lists of fields need it).
pub fn with_units(ev: &crate::report::FrameEvent<'_, '_>, keep: Keep) -> Vec<LayerDetail> {
    let mut layers = describe_as(ev.frame, ev.packet, ev.tcp.as_ref(), keep);
    tls::add_records(&mut layers, ev.app.iter().map(|(_, e)| e));
    app::add_units(
        &mut layers,
        ev.frame.number,
        ev.tcp.as_ref(),
        ev.app.iter().map(|(_, e)| e),
    );
    layers
}

/// Every layer of a packet, outermost first. `tcp` carries the connection
/// context (stream, relative numbers) when the caller tracks connections.
pub fn describe(
    frame: &Frame<'_>,
    pkt: &Packet<'_>,
    tcp: Option<&SegmentContext>,
) -> Vec<LayerDetail> {
    describe_as(frame, pkt, tcp, Keep::All)
}

/// [`describe`], keeping of the fields what `keep` says.
pub fn describe_as(
    frame: &Frame<'_>,
    pkt: &Packet<'_>,
    tcp: Option<&SegmentContext>,
    keep: Keep,
) -> Vec<LayerDetail> {
    let mut out = Vec::with_capacity(6);
    out.push(frame_layer(frame, keep));
    if frame.kind != FrameKind::Packet {
        return out;
    }
    link_layers(pkt, keep, &mut out);
    if let Some((kind @ (CutHeader::Ipv4 | CutHeader::Ipv6), bytes)) = pkt.cut_header() {
        out.push(cut_layer(pkt, keep, kind, bytes));
    }
    if let Some(s) = &pkt.sliced {
        if let Some(net) = &s.net {
            net_layer(pkt, keep, net, &mut out);
        }
        if let Some((kind @ (CutHeader::Tcp | CutHeader::Udp), bytes)) = pkt.cut_header() {
            out.push(cut_layer(pkt, keep, kind, bytes));
        }
        match (&s.transport, pkt.tcp()) {
            (_, Some(view)) => out.push(tcp_layer(pkt, keep, &view, tcp)),
            (Some(t), None) => transport_layer(pkt, keep, t, &mut out),
            (None, None) => {}
        }
    }
    let payload = pkt.payload();
    if !payload.is_empty() {
        let mut l = layer(keep, 7, "Data", pkt.offset_of(payload), payload.len());
        l.fields.add("length", "Length", payload.len());
        let mut n = String::with_capacity(40);
        push_int(&mut n, payload.len());
        n.push_str(" bytes");
        l.brief = n.clone();
        n.push_str(" of application data");
        l.summary = n;
        out.push(l);
    }
    // Bytes after the last layer (Ethernet padding, trailers) belong to the link.
    let end = out
        .iter()
        .skip(1)
        .map(|l| l.offset + l.length)
        .max()
        .unwrap_or(0);
    let covered_to = if let Some(net) = pkt.net() {
        net_end(pkt, net)
    } else {
        end
    };
    let covered_to = covered_to.max(end);
    if pkt.problem.is_none() && covered_to > 0 && covered_to < pkt.data.len() {
        let n = pkt.data.len() - covered_to;
        let mut l = layer(keep, 2, "Trailer", covered_to, n);
        l.fields.add("length", "Length", n);
        l.summary = format!("{n} bytes after the network packet (padding or trailer)");
        out.push(l);
    }
    out
}

fn net_end(pkt: &Packet<'_>, net: &LaxNetSlice<'_>) -> usize {
    match net {
        LaxNetSlice::Ipv4(v) => {
            let p = &v.payload().payload;
            pkt.offset_of(p) + p.len()
        }
        LaxNetSlice::Ipv6(v) => {
            let p = &v.payload().payload;
            pkt.offset_of(p) + p.len()
        }
        LaxNetSlice::Arp(a) => pkt.offset_of(a.slice()) + a.slice().len(),
    }
}

fn frame_layer(f: &Frame<'_>, keep: Keep) -> LayerDetail {
    let mut l = layer(keep, 1, "Frame", 0, f.data.len());
    let fl = &mut l.fields;
    fl.add("number", "Frame number", f.number);
    fl.add("interface", "Interface id", f.interface);
    fl.add("linktype", "Link type", f.linktype)
        .text(format_args!(
            "{} ({})",
            linktype::name(f.linktype),
            f.linktype
        ));
    fl.add("caplen", "Captured length", f.data.len())
        .means("bytes saved in the capture");
    fl.add("len", "Wire length", f.orig_len)
        .means("bytes the frame had on the wire");
    fl.add("ts", "Arrival time", f.ts.text())
        .means("seconds since 1970-01-01 UTC");
    l.summary = match f.kind {
        FrameKind::Packet => {
            let mut s = String::with_capacity(64);
            push_int(&mut s, f.orig_len);
            s.push_str(" bytes on wire, ");
            push_int(&mut s, f.data.len());
            s.push_str(" captured, ");
            s.push_str(linktype::name(f.linktype));
            if (f.data.len() as u64) < u64::from(f.orig_len) {
                s.push_str(" (cut by the snap length)");
            }
            s
        }
        FrameKind::Event(what) => format!("{what} (no packet data)"),
    };
    l
}
