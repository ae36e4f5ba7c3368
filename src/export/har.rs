//! HAR 1.2 (the HTTP Archive format of browsers' network panels): one entry
//! per HTTP request and its response, the WebSocket upgrade's entry with
//! its messages in `_webSocketMessages`, as Chrome writes them (`type` send
//! or receive, `time` in epoch seconds, `opcode` 1 text or 2 binary, `data`
//! the text, or base64 for binary), so a capture opens in a browser's
//! network panel or any HAR viewer.
//!
//! What a capture cannot give: bodies (their sizes only), the times of DNS,
//! connect and TLS (`-1`, "not known", as HAR allows), and `send` (the
//! request is timed from the frame that completed it, so `send` is 0).
//!
//! Entries are written when their connection ends, in request order.
//! Memory: per open connection its entries (at most [`MAX_ENTRIES`]); the
//! messages held for all connections together at most [`MAX_HELD`] bytes,
//! past which messages are counted in `_messagesLeftOut` instead.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde_json::{Value, json};

use crate::flow::{ConnSummary, Dir, Endpoint};
use crate::proto::http::Head;
use crate::proto::http::record::HttpEvent;
use crate::proto::latency::Reply;
use crate::proto::stack::AppSummary;

/// Entries held per connection until it ends; later requests are counted
/// in the log's `_entriesLeftOut`.
pub const MAX_ENTRIES: usize = 10_000;
/// Bytes of WebSocket messages held for all open connections.
pub const MAX_HELD: usize = 64 << 20;

struct Entry {
    started: f64,
    request: Option<(Head, u64)>,
    response: Option<(Head, Option<u64>)>,
    response_frame: Option<u64>,
    /// Seconds to the response's head, and to its end.
    wait: Option<f64>,
    total: Option<f64>,
    messages: Vec<Value>,
    messages_left_out: u64,
}

impl Entry {
    fn new(started: f64) -> Self {
        Entry {
            started,
            request: None,
            response: None,
            response_frame: None,
            wait: None,
            total: None,
            messages: Vec::new(),
            messages_left_out: 0,
        }
    }
}

#[derive(Default)]
struct Conn {
    entries: Vec<Entry>,
    /// Bytes of `messages` held, given back when written.
    held: usize,
}

pub struct Har {
    out: BufWriter<File>,
    conns: HashMap<u64, Conn>,
    held: usize,
    written: u64,
    left_out: u64,
}

/// `2026-12-05T20:16:44.123456Z` from epoch seconds.
pub fn iso8601(epoch: f64) -> String {
    let micros = (epoch * 1e6).round() as i64;
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:06}Z",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

fn headers(h: &Head) -> Value {
    Value::Array(
        h.headers
            .iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect(),
    )
}

/// `%xx` decoded, `+` as a space (a query string's form encoding).
fn unescape(s: &str) -> String {
    let hex = |c: u8| char::from(c).to_digit(16);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (
            b[i],
            b.get(i + 1).and_then(|&c| hex(c)),
            b.get(i + 2).and_then(|&c| hex(c)),
        ) {
            (b'+', ..) => out.push(b' '),
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 2;
            }
            (c, ..) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query(uri: &str) -> Value {
    let q = uri.split_once('?').map_or("", |(_, q)| q);
    let q = q.split('#').next().unwrap_or("");
    Value::Array(
        q.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (n, v) = p.split_once('=').unwrap_or((p, ""));
                json!({"name": unescape(n), "value": unescape(v)})
            })
            .collect(),
    )
}

/// `Cookie: a=1; b=2`, or each `Set-Cookie`'s name and value.
fn cookies(h: &Head, request: bool) -> Value {
    let mut v = Vec::new();
    for (n, val) in &h.headers {
        if request && n.eq_ignore_ascii_case("cookie") {
            for c in val.split(';') {
                if let Some((n, x)) = c.trim().split_once('=') {
                    v.push(json!({"name": n, "value": x}));
                }
            }
        } else if !request && n.eq_ignore_ascii_case("set-cookie") {
            let first = val.split(';').next().unwrap_or("");
            if let Some((n, x)) = first.trim().split_once('=') {
                v.push(json!({"name": n, "value": x}));
            }
        }
    }
    Value::Array(v)
}

fn version(h: &Head) -> String {
    format!("HTTP/1.{}", h.version)
}

/// Milliseconds, rounded to the microsecond.
fn ms(s: f64) -> f64 {
    (s * 1e6).round() / 1e3
}

impl Har {
    pub fn create(path: &Path) -> io::Result<Self> {
        let mut out = BufWriter::with_capacity(256 * 1024, File::create(path)?);
        let head = json!({
            "version": "1.2",
            "creator": {"name": "osiscope", "version": crate::VERSION},
        });
        let head = serde_json::to_string(&head)?;
        // The log object, left open for its entries.
        write!(out, "{{\"log\":{},\"entries\":[", &head[..head.len() - 1])?;
        Ok(Har {
            out,
            conns: HashMap::new(),
            held: 0,
            written: 0,
            left_out: 0,
        })
    }

    pub fn http(&mut self, conn: u64, e: &HttpEvent, ts: f64) {
        let c = self.conns.entry(conn).or_default();
        match e {
            HttpEvent::Request { head, body, .. } => {
                if c.entries.len() >= MAX_ENTRIES {
                    self.left_out += 1;
                    return;
                }
                let mut en = Entry::new(ts);
                en.request = Some((head.clone(), *body));
                c.entries.push(en);
            }
            HttpEvent::Response {
                head,
                end_frame,
                body,
                ..
            } => {
                let status = head.status.unwrap_or(0);
                if status / 100 == 1 && status != 101 {
                    return;
                }
                // The oldest request without a response (HTTP/1.1 answers in order).
                let i = match c.entries.iter().position(|e| e.response.is_none()) {
                    Some(i) => i,
                    None if c.entries.len() < MAX_ENTRIES => {
                        c.entries.push(Entry::new(ts));
                        c.entries.len() - 1
                    }
                    None => return,
                };
                let en = &mut c.entries[i];
                en.response = Some((head.clone(), *body));
                en.response_frame = Some(*end_frame);
                en.total.get_or_insert(ts - en.started);
            }
            HttpEvent::BodyEnd { end_frame, len, .. } => {
                if let Some(en) = c
                    .entries
                    .iter_mut()
                    .rev()
                    .find(|e| matches!(e.response, Some((_, None))))
                {
                    if let Some((_, b)) = &mut en.response {
                        *b = Some(*len);
                    }
                    en.wait = en.total;
                    en.total = Some(ts - en.started);
                    en.response_frame = Some(*end_frame);
                }
            }
            HttpEvent::Head { .. } | HttpEvent::Error { .. } => {}
        }
    }

    /// The reply's timing, from the capture: to the head, and to the end.
    pub fn timing(&mut self, conn: u64, r: &Reply) {
        if let Some(en) = self.conns.get_mut(&conn).and_then(|c| {
            c.entries
                .iter_mut()
                .rev()
                .find(|e| e.response_frame == Some(r.to_frame))
        }) {
            en.total = Some(r.seconds);
            en.wait = Some(r.head_seconds.unwrap_or(r.seconds));
        }
    }

    /// A WebSocket message, on the entry of the upgrade (the last 101).
    pub fn message(
        &mut self,
        conn: u64,
        dir: Dir,
        ts: f64,
        opcode: u8,
        text: Option<&str>,
        b64: Option<&str>,
    ) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some(en) = c
            .entries
            .iter_mut()
            .rev()
            .find(|e| matches!(&e.response, Some((h, _)) if h.status == Some(101)))
        else {
            return;
        };
        let data = text.or(b64).unwrap_or("");
        if self.held + data.len() > MAX_HELD {
            en.messages_left_out += 1;
            return;
        }
        self.held += data.len();
        c.held += data.len();
        en.messages.push(json!({
            "type": if dir == Dir::ClientToServer { "send" } else { "receive" },
            "time": ts,
            "opcode": opcode,
            "data": data,
        }));
    }

    /// A connection the export leaves out.
    pub fn forget(&mut self, conn: u64) {
        if let Some(c) = self.conns.remove(&conn) {
            self.held -= c.held;
        }
    }

    /// The connection ended: its entries are written.
    pub fn connection(&mut self, s: &ConnSummary, app: Option<&AppSummary>) -> io::Result<()> {
        let Some(c) = self.conns.remove(&s.id) else {
            return Ok(());
        };
        self.held -= c.held;
        let tls = app.is_some_and(|a| a.tls.is_some());
        let server_ip = s
            .server
            .parse::<Endpoint>()
            .map_or_else(|()| s.server.clone(), |e| e.addr.to_string());
        for en in c.entries {
            let v = self.entry(en, s, tls, &server_ip);
            if self.written > 0 {
                self.out.write_all(b",")?;
            }
            self.out.write_all(b"\n")?;
            // Escaped as the JSON views escape: a HAR may be read with `cat`.
            crate::report::json::write(&mut self.out, &v)?;
            self.written += 1;
        }
        Ok(())
    }

    fn entry(&self, en: Entry, s: &ConnSummary, tls: bool, server_ip: &str) -> Value {
        let upgrade = matches!(&en.response, Some((h, _)) if h.status == Some(101));
        let scheme = match (upgrade, tls) {
            (true, true) => "wss",
            (true, false) => "ws",
            (false, true) => "https",
            (false, false) => "http",
        };
        let request = match &en.request {
            Some((h, body)) => {
                let uri = h.uri.as_deref().unwrap_or("/");
                let url = if uri.starts_with('/') {
                    let host = h
                        .header("Host")
                        .map_or_else(|| s.server.clone(), str::to_owned);
                    format!("{scheme}://{host}{uri}")
                } else {
                    uri.to_owned()
                };
                json!({
                    "method": h.method.as_deref().unwrap_or(""),
                    "url": url,
                    "httpVersion": version(h),
                    "cookies": cookies(h, true),
                    "headers": headers(h),
                    "queryString": query(uri),
                    "headersSize": h.head_len,
                    "bodySize": body,
                })
            }
            // A response whose request the capture did not hold.
            None => json!({
                "method": "", "url": format!("{scheme}://{}/", s.server),
                "httpVersion": "", "cookies": [], "headers": [],
                "queryString": [], "headersSize": -1, "bodySize": -1,
            }),
        };
        let response = match &en.response {
            Some((h, body)) => json!({
                "status": h.status.unwrap_or(0),
                "statusText": h.reason.as_deref().unwrap_or(""),
                "httpVersion": version(h),
                "cookies": cookies(h, false),
                "headers": headers(h),
                "content": {
                    "size": body.unwrap_or(0),
                    "mimeType": h.header("Content-Type").unwrap_or("x-unknown"),
                },
                "redirectURL": h.header("Location").unwrap_or(""),
                "headersSize": h.head_len,
                "bodySize": body.map_or(-1, |b| b as i64),
            }),
            // No response in the capture: HAR's way to say so.
            None => json!({
                "status": 0, "statusText": "", "httpVersion": "", "cookies": [],
                "headers": [], "content": {"size": 0, "mimeType": "x-unknown"},
                "redirectURL": "", "headersSize": -1, "bodySize": -1,
                "_error": "no response in the capture",
            }),
        };
        let total = en.total.unwrap_or(0.0).max(0.0);
        let wait = en.wait.unwrap_or(total).clamp(0.0, total);
        let mut v = json!({
            "startedDateTime": iso8601(en.started),
            "time": ms(total),
            "request": request,
            "response": response,
            "cache": {},
            "timings": {
                "blocked": -1, "dns": -1, "connect": -1, "ssl": -1,
                "send": 0, "wait": ms(wait), "receive": ms(total - wait),
            },
            "serverIPAddress": server_ip,
            "connection": s.id.to_string(),
        });
        if upgrade {
            v["_resourceType"] = "websocket".into();
            v["_webSocketMessages"] = Value::Array(en.messages);
            if en.messages_left_out > 0 {
                v["_messagesLeftOut"] = en.messages_left_out.into();
            }
        }
        v
    }

    /// Writes connections still open (the capture ended) and closes the log.
    pub fn finish(mut self) -> io::Result<()> {
        if self.left_out > 0 {
            write!(self.out, "\n],\"_entriesLeftOut\":{}}}}}\n", self.left_out)?;
        } else {
            self.out.write_all(b"\n]}}\n")?;
        }
        self.out.flush()
    }
}
