//! HTTP/1.x over one direction of a reassembled TCP stream.
//!
//! Heads are parsed by `httparse` as soon as they are complete, however the
//! bytes were segmented; bodies are delimited by Content-Length, chunked
//! transfer coding, or (responses only) the end of the connection. After a
//! `101 Switching Protocols` (or a request the server switched on) the rest of
//! the stream belongs to another protocol and is handed back untouched.
//!
//! Validated: head syntax (httparse), header count ([`MAX_HEADERS`]), head size
//! ([`MAX_HEAD`]), chunk-size lines. A head that is too long or malformed stops
//! the parser for this direction ([`HttpParser::stopped`]). Not validated:
//! header semantics beyond the framing headers.

pub mod analyzer;
pub mod record;

use std::fmt::Write as _;

/// Longest head accepted; a head still incomplete at this size is malformed.
pub const MAX_HEAD: usize = 64 * 1024;
/// Most headers in one head.
pub const MAX_HEADERS: usize = 96;
/// Body bytes kept for decoders that need the whole body (Engine.IO polling).
pub const MAX_BODY_KEEP: usize = 1024 * 1024;
/// Longest chunk-size line.
const MAX_CHUNK_LINE: usize = 1024;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Head {
    /// Capture frame whose bytes completed the head.
    pub frame: u64,
    /// Request: method and target; response: status and reason.
    pub method: Option<String>,
    pub uri: Option<String>,
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub version: u8,
    /// Header names as sent, values lossily decoded (untrusted text).
    pub headers: Vec<(String, String)>,
    pub head_len: usize,
    /// The capture lost the rest of the head (a snap length, a gap): only
    /// its complete lines before the loss are here.
    pub cut: bool,
    /// Offset of the head's first byte in the bytes this direction's parser
    /// was given (see [`HttpParser::seen`]).
    pub at: u64,
    /// Offset in the direction's TCP stream, when the analyzer knows it.
    pub stream_at: Option<u64>,
    /// Capture frame that delivered the head's first byte.
    pub first_frame: u64,
    /// Where each header line starts, from the head's first byte; the start
    /// line runs from 0 to the first of them (or to the end of the head).
    pub lines: Vec<u32>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True when a comma-separated header (e.g. `Connection`) contains `token`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .any(|(_, v)| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }

    /// `METHOD uri` or `status reason`, for a one-line summary.
    pub fn start_line(&self) -> String {
        let mut s = String::new();
        if let (Some(m), Some(u)) = (&self.method, &self.uri) {
            let _ = write!(s, "{m} {u}");
        } else if let Some(st) = self.status {
            let _ = write!(s, "{st} {}", self.reason.as_deref().unwrap_or(""));
        }
        if self.cut && s.ends_with(' ') {
            s.pop();
        }
        s
    }
}

/// What the parser found, in stream order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpItem {
    Head(Head),
    /// A message body ended: its length, and the body if it was kept.
    BodyEnd {
        frame: u64,
        len: u64,
        body: Option<Vec<u8>>,
    },
    /// A head was malformed or too long: this direction is no longer parsed.
    Error {
        frame: u64,
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Head,
    Body {
        remaining: u64,
    },
    ChunkSize,
    ChunkData {
        remaining: u64,
    },
    ChunkDataEnd,
    Trailer,
    UntilClose,
    /// After a request offering an upgrade: what follows waits for the
    /// answer (the new protocol's after a 101, HTTP again otherwise).
    Paused,
    Switched,
    Stopped,
}

pub struct HttpParser {
    is_request: bool,
    state: State,
    buf: Vec<u8>,
    /// The frame of the latest bytes pushed.
    last_frame: u64,
    body_len: u64,
    body: Option<Vec<u8>>,
    /// The request this response answers was a HEAD (no body).
    pub next_response_to_head: bool,
    /// Requests whose body a decoder needs (decided from the head).
    pub keep_request_body: fn(&Head) -> bool,
    /// Requests after which parsing pauses until [`Self::switch`] or
    /// [`Self::resume`] (an upgrade offer without a body).
    pub pause_after: fn(&Head) -> bool,
    /// For each expected response, in order: keep its body?
    pub keep_response_body: std::collections::VecDeque<bool>,
    /// Bytes of head syntax seen, for the per-layer overhead.
    pub head_bytes: u64,
    /// Body bytes seen (chunk framing included).
    pub body_bytes: u64,
    /// Bytes consumed before the current push: heads are placed by it.
    seen: u64,
    /// Where the head being collected started, and in which frame.
    head_at: u64,
    head_first_frame: u64,
}

/// How a message's body is delimited, from its head.
fn body_kind(h: &Head, is_request: bool, to_head: bool) -> State {
    if !is_request
        && let Some(st) = h.status
        && (st / 100 == 1 || st == 204 || st == 304 || to_head)
    {
        return if st == 101 {
            State::Switched
        } else {
            State::Head
        };
    }
    if h.has_token("Transfer-Encoding", "chunked") {
        return State::ChunkSize;
    }
    if let Some(cl) = h
        .header("Content-Length")
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return if cl == 0 {
            State::Head
        } else {
            State::Body { remaining: cl }
        };
    }
    if is_request {
        State::Head
    } else {
        State::UntilClose
    }
}

impl HttpParser {
    pub fn new(is_request: bool) -> Self {
        HttpParser {
            is_request,
            state: State::Head,
            buf: Vec::new(),
            last_frame: 0,
            body_len: 0,
            body: None,
            next_response_to_head: false,
            keep_request_body: |_| false,
            pause_after: |_| false,
            keep_response_body: std::collections::VecDeque::new(),
            head_bytes: 0,
            body_bytes: 0,
            seen: 0,
            head_at: 0,
            head_first_frame: 0,
        }
    }

    /// Bytes consumed as HTTP so far (the offset of the next one).
    pub fn seen(&self) -> u64 {
        self.seen
    }

    pub fn stopped(&self) -> bool {
        self.state == State::Stopped
    }

    /// The stream has switched protocols: what follows is not HTTP.
    pub fn switched(&self) -> bool {
        self.state == State::Switched
    }

    /// The server answered an upgrade request with 101: the request side
    /// switches too (its next bytes are the new protocol's).
    pub fn switch(&mut self) {
        if matches!(self.state, State::Head | State::Paused) {
            self.state = State::Switched;
        }
    }

    /// Paused after an upgrade offer (see [`Self::pause_after`]).
    pub fn paused(&self) -> bool {
        self.state == State::Paused
    }

    /// The offer was declined: parse HTTP again.
    pub fn resume(&mut self) {
        if self.state == State::Paused {
            self.state = State::Head;
        }
    }

    pub fn gap(&mut self, out: &mut Vec<HttpItem>) {
        if self.state == State::Head && !self.buf.is_empty() {
            self.cut_head(out);
        }
        if self.state != State::Switched {
            self.state = State::Stopped;
        }
    }

    /// A head the capture lost the rest of: its complete lines, when they
    /// hold at least the start line, become a head marked `cut` (as tshark
    /// shows what it has of a truncated packet).
    fn cut_head(&mut self, out: &mut Vec<HttpItem>) {
        let Some(end) = self.buf.iter().rposition(|&b| b == b'\n') else {
            // Not even the start line is whole: its words, as far as they go.
            if let Some(mut head) = self.cut_start_line() {
                head.frame = self.last_frame;
                head.cut = true;
                head.at = self.head_at;
                head.first_frame = self.head_first_frame;
                head.head_len = self.buf.len();
                self.head_bytes += head.head_len as u64;
                out.push(HttpItem::Head(head));
            }
            self.buf.clear();
            return;
        };
        self.buf.truncate(end + 1);
        self.buf.extend_from_slice(b"\r\n");
        if let Ok(Some(mut head)) = self.parse_head(self.last_frame) {
            head.cut = true;
            head.head_len = end + 1;
            self.head_bytes += head.head_len as u64;
            out.push(HttpItem::Head(head));
        }
        self.buf.clear();
    }

    fn end_body(&mut self, frame: u64, out: &mut Vec<HttpItem>) {
        out.push(HttpItem::BodyEnd {
            frame,
            len: self.body_len,
            body: self.body.take(),
        });
        self.body_len = 0;
        self.state = State::Head;
    }

    fn take_body(&mut self, data: &[u8]) {
        self.body_len += data.len() as u64;
        self.body_bytes += data.len() as u64;
        if let Some(b) = &mut self.body {
            let room = MAX_BODY_KEEP.saturating_sub(b.len());
            b.extend_from_slice(&data[..data.len().min(room)]);
        }
    }

    /// Feeds bytes; returns how many were consumed as HTTP. Once the stream
    /// has switched protocols, the rest (`bytes[n..]`) is not HTTP.
    pub fn push(&mut self, bytes: &[u8], frame: u64, out: &mut Vec<HttpItem>) -> usize {
        let used = self.push_inner(bytes, frame, out);
        self.seen += used as u64;
        used
    }

    fn push_inner(&mut self, mut bytes: &[u8], frame: u64, out: &mut Vec<HttpItem>) -> usize {
        let total = bytes.len();
        self.last_frame = frame;
        while !bytes.is_empty() {
            match self.state {
                State::Switched | State::Stopped | State::Paused => return total - bytes.len(),
                State::Head => {
                    let old = self.buf.len();
                    if old == 0 {
                        self.head_at = self.seen + (total - bytes.len()) as u64;
                        self.head_first_frame = frame;
                    }
                    let take = bytes.len().min(MAX_HEAD + 4 - old.min(MAX_HEAD));
                    self.buf.extend_from_slice(&bytes[..take]);
                    // A head ends with an empty line: only then is it worth
                    // parsing, so a head trickling in byte by byte costs linear time.
                    let from = old.saturating_sub(3);
                    // (httparse takes bare-LF lines, so "\n\r\n" ends a head too:
                    // found by the http fuzz target.)
                    let ended = self.buf[from..].windows(2).any(|w| w == b"\n\n")
                        || self.buf[from..].windows(3).any(|w| w == b"\n\r\n");
                    let parsed = if ended {
                        self.parse_head(frame)
                    } else {
                        Ok(None)
                    };
                    match parsed {
                        Ok(Some(head)) => {
                            let used = head.head_len.saturating_sub(old);
                            bytes = &bytes[used.min(bytes.len())..];
                            self.buf.clear();
                            self.head_bytes += head.head_len as u64;
                            let to_head =
                                !self.is_request && std::mem::take(&mut self.next_response_to_head);
                            if self.is_request && head.method.as_deref() == Some("HEAD") {
                                self.next_response_to_head = true;
                            }
                            self.state = body_kind(&head, self.is_request, to_head);
                            self.body_len = 0;
                            let keep = if self.is_request {
                                (self.keep_request_body)(&head)
                            } else {
                                self.keep_response_body.pop_front().unwrap_or(false)
                            };
                            self.body = keep.then(Vec::new);
                            let pause = self.is_request && (self.pause_after)(&head);
                            out.push(HttpItem::Head(head));
                            if self.state == State::Head {
                                out.push(HttpItem::BodyEnd {
                                    frame,
                                    len: 0,
                                    body: None,
                                });
                                if pause {
                                    self.state = State::Paused;
                                }
                            }
                        }
                        Ok(None) => {
                            if self.buf.len() > MAX_HEAD {
                                out.push(HttpItem::Error {
                                    frame,
                                    reason: format!("head longer than {MAX_HEAD} bytes"),
                                });
                                self.state = State::Stopped;
                            }
                            bytes = &bytes[take..];
                        }
                        Err(reason) => {
                            out.push(HttpItem::Error { frame, reason });
                            self.state = State::Stopped;
                        }
                    }
                }
                State::Body { remaining } => {
                    let n = (bytes.len() as u64).min(remaining) as usize;
                    self.take_body(&bytes[..n]);
                    bytes = &bytes[n..];
                    if remaining - n as u64 == 0 {
                        self.end_body(frame, out);
                    } else {
                        self.state = State::Body {
                            remaining: remaining - n as u64,
                        };
                    }
                }
                State::UntilClose => {
                    self.take_body(bytes);
                    bytes = &[];
                }
                State::ChunkSize | State::Trailer | State::ChunkDataEnd => {
                    // Line-based parts of chunked coding: collect one line.
                    let Some(nl) = bytes.iter().position(|&b| b == b'\n') else {
                        if self.buf.len() + bytes.len() > MAX_CHUNK_LINE {
                            out.push(HttpItem::Error {
                                frame,
                                reason: "chunk line too long".into(),
                            });
                            self.state = State::Stopped;
                        } else {
                            self.buf.extend_from_slice(bytes);
                        }
                        self.body_bytes += bytes.len() as u64;
                        bytes = &[];
                        continue;
                    };
                    self.buf.extend_from_slice(&bytes[..nl]);
                    self.body_bytes += nl as u64 + 1;
                    bytes = &bytes[nl + 1..];
                    let line = String::from_utf8_lossy(&self.buf).trim().to_owned();
                    self.buf.clear();
                    match self.state {
                        State::ChunkSize => {
                            let hex = line.split(';').next().unwrap_or("").trim();
                            match u64::from_str_radix(hex, 16) {
                                Ok(0) => self.state = State::Trailer,
                                Ok(n) => self.state = State::ChunkData { remaining: n },
                                Err(_) => {
                                    out.push(HttpItem::Error {
                                        frame,
                                        reason: format!("bad chunk size line {line:?}"),
                                    });
                                    self.state = State::Stopped;
                                }
                            }
                        }
                        State::ChunkDataEnd => self.state = State::ChunkSize,
                        _ => {
                            if line.is_empty() {
                                self.end_body(frame, out);
                            }
                        }
                    }
                }
                State::ChunkData { remaining } => {
                    let n = (bytes.len() as u64).min(remaining) as usize;
                    self.take_body(&bytes[..n]);
                    bytes = &bytes[n..];
                    self.state = if remaining - n as u64 == 0 {
                        State::ChunkDataEnd
                    } else {
                        State::ChunkData {
                            remaining: remaining - n as u64,
                        }
                    };
                }
            }
        }
        total
    }

    /// The direction ended in `frame` (its FIN, or the end of the capture):
    /// a body read until the close is complete there. Nothing is parsed after.
    pub fn close(&mut self, frame: u64, out: &mut Vec<HttpItem>) {
        if self.state == State::UntilClose {
            self.end_body(frame, out);
            self.state = State::Stopped;
        }
    }

    /// A start line cut short: a request's method and target when both are
    /// whole (a space follows the target), a response's status code when its
    /// three digits are there. Anything else is not taken for HTTP.
    fn cut_start_line(&self) -> Option<Head> {
        let line = std::str::from_utf8(&self.buf).ok()?;
        let mut words = line.split(' ');
        let first = words.next()?;
        let second = words.next()?;
        if self.is_request {
            let token = |s: &str| {
                !s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_uppercase())
            };
            // The target is whole only when a space (the version's) follows it.
            words.next()?;
            (token(first) && second.starts_with('/')).then(|| Head {
                method: Some(first.to_owned()),
                uri: Some(second.to_owned()),
                version: 1,
                ..Head::default()
            })
        } else {
            let code = second.get(..3)?;
            let ok = first.starts_with("HTTP/1.")
                && second.len() == 3
                && code.bytes().all(|b| b.is_ascii_digit());
            // The reason phrase as far as it was captured.
            let reason: Vec<&str> = words.collect();
            let reason = (!reason.is_empty()).then(|| format!("{}…", reason.join(" ")));
            ok.then(|| Head {
                status: code.parse().ok(),
                reason,
                version: 1,
                ..Head::default()
            })
        }
    }

    fn parse_head(&self, frame: u64) -> Result<Option<Head>, String> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let base = self.buf.as_ptr() as usize;
        // httparse's names are slices of the buffer: their addresses say
        // where each line starts.
        let lines = |hs: &[httparse::Header<'_>]| -> Vec<u32> {
            hs.iter()
                .map(|h| (h.name.as_ptr() as usize).saturating_sub(base) as u32)
                .collect()
        };
        let collect = |hs: &[httparse::Header<'_>]| -> Vec<(String, String)> {
            hs.iter()
                .map(|h| {
                    (
                        h.name.to_owned(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect()
        };
        if self.is_request {
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(&self.buf) {
                Ok(httparse::Status::Complete(n)) => Ok(Some(Head {
                    frame,
                    method: req.method.map(str::to_owned),
                    uri: req.path.map(str::to_owned),
                    version: req.version.unwrap_or(1),
                    headers: collect(req.headers),
                    lines: lines(req.headers),
                    head_len: n,
                    at: self.head_at,
                    first_frame: self.head_first_frame,
                    ..Head::default()
                })),
                Ok(httparse::Status::Partial) => Ok(None),
                Err(e) => Err(format!("malformed HTTP request head: {e}")),
            }
        } else {
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(&self.buf) {
                Ok(httparse::Status::Complete(n)) => Ok(Some(Head {
                    frame,
                    status: resp.code,
                    reason: resp.reason.map(str::to_owned),
                    version: resp.version.unwrap_or(1),
                    headers: collect(resp.headers),
                    lines: lines(resp.headers),
                    head_len: n,
                    at: self.head_at,
                    first_frame: self.head_first_frame,
                    ..Head::default()
                })),
                Ok(httparse::Status::Partial) => Ok(None),
                Err(e) => Err(format!("malformed HTTP response head: {e}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(p: &mut HttpParser, chunks: &[&[u8]]) -> (Vec<HttpItem>, usize) {
        let mut out = Vec::new();
        let mut used = 0;
        for (i, c) in chunks.iter().enumerate() {
            used += p.push(c, i as u64 + 1, &mut out);
        }
        (out, used)
    }

    /// A bare-LF status line then a CRLF blank line ends the head, however the
    /// bytes are cut (found by the http fuzz target: the cut once lost the body).
    #[test]
    fn lf_then_crlf_ends_a_head_in_any_segmentation() {
        let stream: &[u8] = b"HTTP/1.1 200 OK\n\r\nab\n\n";
        // Every piece as frame 1, so only the cut differs.
        let run = |pieces: &[&[u8]]| {
            let mut p = HttpParser::new(false);
            let mut out = Vec::new();
            let used: usize = pieces.iter().map(|c| p.push(c, 1, &mut out)).sum();
            p.close(9, &mut out);
            format!("{out:?} {used}")
        };
        let whole = run(&[stream]);
        for cut in 1..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(run(&[a, b]), whole, "cut at {cut}");
        }
        assert!(
            whole.contains("status: Some(200)") && whole.contains("head_len: 18"),
            "{whole}"
        );
        assert!(whole.contains("BodyEnd { frame: 9, len: 4"), "{whole}");
    }

    #[test]
    fn head_split_across_segments_and_pipelined_requests() {
        let mut p = HttpParser::new(true);
        let (out, _) = feed(
            &mut p,
            &[
                b"GET /a HT",
                b"TP/1.1\r\nHost: x\r\n",
                b"\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
            ],
        );
        let heads: Vec<&Head> = out
            .iter()
            .filter_map(|i| {
                if let HttpItem::Head(h) = i {
                    Some(h)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(heads.len(), 2);
        assert_eq!((heads[0].uri.as_deref(), heads[0].frame), (Some("/a"), 3));
        assert_eq!(heads[1].uri.as_deref(), Some("/b"));
    }

    #[test]
    fn content_length_and_chunked_bodies() {
        let mut p = HttpParser::new(false);
        p.keep_response_body.extend([true, true]);
        let (out, _) = feed(
            &mut p,
            &[b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", b"loHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"],
        );
        let bodies: Vec<(u64, Option<Vec<u8>>)> = out
            .iter()
            .filter_map(|i| {
                if let HttpItem::BodyEnd { len, body, .. } = i {
                    Some((*len, body.clone()))
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(bodies[0], (5, Some(b"hello".to_vec())));
        assert_eq!(bodies[1].0, 5, "chunked body: 3 + 2 bytes");
    }

    #[test]
    fn switching_protocols_hands_back_the_rest() {
        let mut p = HttpParser::new(false);
        let mut out = Vec::new();
        let data = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x89\x00";
        let used = p.push(data, 1, &mut out);
        assert_eq!(&data[used..], b"\x89\x00");
        assert!(p.switched());
    }

    #[test]
    fn garbage_and_endless_heads_stop_the_parser() {
        let mut p = HttpParser::new(true);
        let (out, _) = feed(&mut p, &[b"\x16\x03\x01\x02\x00 not http\r\n\r\n"]);
        assert!(matches!(out[0], HttpItem::Error { .. }));
        assert!(p.stopped());
        let mut p = HttpParser::new(true);
        let big = vec![b'a'; 4096];
        let mut out = Vec::new();
        p.push(b"GET / HTTP/1.1\r\nX: ", 1, &mut out);
        for _ in 0..40 {
            p.push(&big, 2, &mut out);
        }
        assert!(p.stopped() && p.buf.len() <= MAX_HEAD + 4);
    }
}
