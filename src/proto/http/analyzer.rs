//! HTTP/1.x as an analyzer: requests and responses paired in order, bodies
//! handed to a protocol carried in them (by the request's URI), and the
//! upgrade: after a `101 Switching Protocols` the rest of both directions
//! belongs to the protocol the registry names for it (WebSocket).
//!
//! Between an upgrade request and its answer the client's bytes are held
//! (up to [`MAX_HOLD`]): after a 101 they are the new protocol's, after a
//! refusal more HTTP.

use std::collections::VecDeque;

use super::record::{HttpEvent, HttpTx};
use super::{Head, HttpItem, HttpParser};
use crate::flow::Dir;
use crate::proto::bytes::Part;
use crate::proto::latency::{self, Asked, Kind};
use crate::proto::stack::{CarriedAnalyzer, Carrier, Cx, MAX_LISTED, StreamAnalyzer, Unit};
use crate::proto::{Upgrade, http_body_wanted, over_http, upgrade_offered};

/// Client bytes held between an upgrade request and its answer.
pub const MAX_HOLD: usize = 64 * 1024;
/// Requests waiting for their response.
const MAX_PENDING: usize = 256;

struct Pending {
    frame: u64,
    tx: usize,
    /// The request offered an upgrade.
    upgrade: Option<Upgrade>,
    /// Where and when the request was complete, and what it asked.
    asked: Option<Asked>,
    what: String,
}

/// A response being read whose request's time is known: its reply is
/// measured when it is complete.
struct Answering {
    asked: Asked,
    what: String,
    /// The frame that completed the response's head, and seconds from the
    /// request to it.
    head: (u64, f64),
}

/// HTTP over one connection; see the module documentation.
pub struct Http {
    req: HttpParser,
    resp: HttpParser,
    pending: VecDeque<Pending>,
    /// Bytes of the client held after an upgrade request, before its answer:
    /// their frame, their stream offset and the bytes.
    hold: Vec<(u64, Option<u64>, Vec<u8>)>,
    hold_len: usize,
    upgrade_asked: bool,
    /// Switched to something no analyzer reads: bytes are only counted.
    opaque: bool,
    /// The protocol the connection switched to: every byte goes there.
    child: Option<Box<dyn StreamAnalyzer>>,
    /// The protocol carried by the bodies of the requests routed to it.
    carried: Option<Box<dyn CarriedAnalyzer>>,
    /// Body bytes handed to `carried`, not counted as HTTP bodies.
    carried_bytes: u64,
    /// The request whose body is being read: reported when it ends.
    req_open: Option<(Head, usize)>,
    /// The response whose body is being read, its request's frame, and
    /// whether it is reported when the body ends (else it was already).
    resp_open: Option<(Option<Head>, Option<u64>, usize)>,
    /// Stream offset of each direction parser's byte 0, as of its last bytes:
    /// a head cut by a gap is placed by it.
    base: [Option<u64>; 2],
    /// Body bytes of the message of each direction that just ended.
    body_len: [u64; 2],
    /// The response being read, when its request's time is known.
    answering: Option<Answering>,
}

impl Default for Http {
    fn default() -> Self {
        Self::new()
    }
}

impl Http {
    pub fn new() -> Self {
        let mut req = HttpParser::new(true);
        req.keep_request_body = http_body_wanted;
        // Bytes after an upgrade offer wait for its answer, even when they
        // come in the same segment as the request.
        req.pause_after = |h| upgrade_offered(h).is_some();
        Http {
            req,
            resp: HttpParser::new(false),
            pending: VecDeque::new(),
            hold: Vec::new(),
            hold_len: 0,
            upgrade_asked: false,
            opaque: false,
            child: None,
            carried: None,
            carried_bytes: 0,
            req_open: None,
            resp_open: None,
            base: [None; 2],
            body_len: [0; 2],
            answering: None,
        }
    }

    /// The response that answers a request whose time is known is complete
    /// in `frame`: how long it took.
    fn answered(&mut self, cx: &mut Cx<'_>, frame: u64) {
        if let Some(a) = self.answering.take()
            && let Some(mut r) = latency::measure(Kind::Http, &a.asked, frame, &cx.now, || a.what)
        {
            // Told only when the body took longer than the head.
            r.head_seconds = (a.head.0 != frame).then_some(a.head.1);
            cx.reply(r);
        }
    }

    /// Reports the request being read (its message ended at `end`).
    fn request_done(&mut self, cx: &mut Cx<'_>, end: u64) {
        if let Some((head, tx)) = self.req_open.take() {
            if let Some(t) = cx.app.http.get_mut(tx) {
                t.request_frame = Some(end);
            }
            cx.emit(HttpEvent::Request {
                dir: Dir::ClientToServer,
                head,
                end_frame: end,
                body: std::mem::take(&mut self.body_len[0]),
            });
        }
    }

    /// Reports the response being read, if it waited for its body.
    fn response_done(&mut self, cx: &mut Cx<'_>, end: u64) {
        if let Some((head, request_frame, tx)) = self.resp_open.take() {
            if let Some(t) = cx.app.http.get_mut(tx) {
                t.response_frame = Some(end);
            }
            let body = std::mem::take(&mut self.body_len[1]);
            match head {
                Some(head) => cx.emit(HttpEvent::Response {
                    dir: Dir::ServerToClient,
                    head,
                    request_frame,
                    end_frame: end,
                    body: Some(body),
                }),
                None => cx.emit(HttpEvent::BodyEnd {
                    dir: Dir::ServerToClient,
                    end_frame: end,
                    len: body,
                }),
            }
            self.answered(cx, end);
        }
    }

    /// A direction's parser stopped: noted as a problem and as an event.
    fn error(cx: &mut Cx<'_>, dir: Dir, frame: u64, reason: String) {
        cx.problem(format!(
            "{}: HTTP {reason} (frame {frame}); the rest of the direction is not decoded",
            dir.sender()
        ));
        cx.emit(HttpEvent::Error { dir, frame, reason });
    }

    /// Client bytes through the request parser.
    fn requests(&mut self, cx: &mut Cx<'_>, frame: u64, bytes: &[u8]) {
        let mut items = Vec::new();
        let base = placer(cx, &self.req);
        self.base[0] = base;
        let used = self.req.push(bytes, frame, &mut items);
        for mut it in items {
            place(&mut it, base, cx, Dir::ClientToServer);
            self.request_item(cx, it);
        }
        let rest = &bytes[used.min(bytes.len())..];
        if !rest.is_empty() && self.req.paused() {
            self.hold_bytes(cx.at_plus(used), frame, rest);
        }
    }

    /// Keeps client bytes until the upgrade offer is answered.
    fn hold_bytes(&mut self, at: Option<u64>, frame: u64, bytes: &[u8]) {
        let room = MAX_HOLD.saturating_sub(self.hold_len);
        let keep = &bytes[..bytes.len().min(room)];
        self.hold_len += keep.len();
        self.hold.push((frame, at, keep.to_vec()));
    }

    fn request_item(&mut self, cx: &mut Cx<'_>, it: HttpItem) {
        match it {
            HttpItem::Head(head) => {
                let upgrade = upgrade_offered(&head);
                let bodies = self.route(cx, &head);
                self.resp.keep_response_body.push_back(bodies);
                let tx = cx.app.http.len();
                if tx < MAX_LISTED {
                    cx.app.http.push(HttpTx {
                        request_frame: Some(head.frame),
                        response_frame: None,
                        request_head_frame: Some(head.frame),
                        response_head_frame: None,
                        method: head.method.clone(),
                        uri: head.uri.clone(),
                        status: None,
                        reason: None,
                        request_body: 0,
                        response_body: 0,
                    });
                }
                if let Some(u) = &upgrade {
                    self.upgrade_asked = true;
                    u.offer(cx, &head);
                }
                if self.pending.len() < MAX_PENDING {
                    let what = crate::text::clip_bytes(
                        &format!(
                            "{} {}",
                            head.method.as_deref().unwrap_or("?"),
                            head.uri.as_deref().unwrap_or("?")
                        ),
                        80,
                    );
                    self.pending.push_back(Pending {
                        frame: head.frame,
                        tx,
                        upgrade,
                        asked: None,
                        what,
                    });
                }
                cx.app.protocol.get_or_insert("http");
                let f = head.frame;
                self.request_done(cx, f);
                self.body_len[0] = 0;
                self.req_open = Some((head, tx));
            }
            HttpItem::BodyEnd { frame, len, body } => {
                if let Some(tx) = cx.app.http.last_mut() {
                    tx.request_body = len;
                }
                self.body_len[0] = len;
                // The request is complete: its response is timed from here.
                if let Some(p) = self.pending.back_mut()
                    && p.asked.is_none()
                {
                    p.asked = Asked::at(&cx.now, frame, Dir::ClientToServer);
                }
                self.request_done(cx, frame);
                if let Some(b) = body {
                    self.body(cx, Dir::ClientToServer, frame, &b);
                }
            }
            HttpItem::Error { frame, reason } => {
                self.request_done(cx, frame);
                Self::error(cx, Dir::ClientToServer, frame, reason)
            }
        }
    }

    /// Tells the protocol carried in this request's bodies (if any) of the
    /// request; true when it wants the bodies.
    fn route(&mut self, cx: &mut Cx<'_>, head: &Head) -> bool {
        let Some(kind) = over_http(head) else {
            return false;
        };
        if self.carried.as_ref().map(|c| c.name()) != Some(kind.name()) {
            if let Some(mut old) = self.carried.take() {
                old.finish(cx, head.frame, Carrier::HttpBody);
            }
            self.carried = Some(kind.analyzer());
        }
        self.carried
            .as_mut()
            .is_some_and(|c| c.http_request(cx, head))
    }

    /// A kept body goes to the carried protocol, which takes its bytes from
    /// the HTTP bodies' share.
    fn body(&mut self, cx: &mut Cx<'_>, dir: Dir, frame: u64, body: &[u8]) {
        let Some(c) = self.carried.as_mut() else {
            return;
        };
        let unit = Unit {
            dir,
            frame,
            carrier: Carrier::HttpBody,
            binary: false,
            data: body,
        };
        let envelope = c.unit(cx, &unit);
        let len = body.len() as u64;
        cx.book_carried(c.envelope_part(), envelope, len, false);
        self.carried_bytes += len;
    }

    fn response_item(&mut self, cx: &mut Cx<'_>, it: HttpItem) {
        match it {
            HttpItem::Head(head) => {
                let status = head.status.unwrap_or(0);
                // A request still reading its body is answered: it is told
                // first (not for a 100 Continue: that asks for the body).
                if status / 100 != 1 || status == 101 {
                    self.request_done(cx, head.frame);
                }
                let f = head.frame;
                self.response_done(cx, f);
                self.body_len[1] = 0;
                // 1xx other than 101 are interim: the request still waits.
                let interim = status / 100 == 1 && status != 101;
                let p = if interim {
                    None
                } else {
                    self.pending.pop_front()
                };
                if let Some(p) = &p
                    && let Some(tx) = cx.app.http.get_mut(p.tx)
                {
                    tx.response_frame = Some(head.frame);
                    tx.response_head_frame = Some(head.frame);
                    tx.status = head.status;
                    tx.reason = head.reason.clone();
                }
                let tx = p.as_ref().map_or(usize::MAX, |p| p.tx);
                let request_frame = p.as_ref().map(|p| p.frame);
                self.answering = None;
                if let Some(p) = &p
                    && let Some(asked) = p.asked
                    && head.frame == cx.now.frame
                {
                    self.answering = Some(Answering {
                        asked,
                        what: p.what.clone(),
                        head: (head.frame, cx.now.ts.since(asked.ts) as f64 / 1e9),
                    });
                }
                let offer = p.and_then(|p| p.upgrade);
                let switching = status == 101;
                // The response comes first in the story, then what it opened.
                let mut opened = Vec::new();
                if switching || offer.is_some() {
                    // A 101 that answers no upgrade offer is still the
                    // WebSocket's to judge (it says "101 without request").
                    let u = offer.unwrap_or(Upgrade::WebSocket {
                        key: None,
                        carried: false,
                    });
                    let carried = if u.carries() {
                        self.carried.take()
                    } else {
                        None
                    };
                    let mut sub = cx.with_out(&mut opened);
                    self.child = u.answer(&mut sub, &head, switching, carried);
                    if self.child.is_some() {
                        self.req.switch();
                    }
                }
                if switching && self.child.is_none() {
                    // 101 to something no analyzer reads: the rest is opaque.
                    self.opaque = true;
                }
                if interim || switching || !opened.is_empty() {
                    // Told at once: what it opened (or refused) follows it.
                    let end_frame = head.frame;
                    self.resp_open = (!interim && !switching).then_some((None, request_frame, tx));
                    cx.emit(HttpEvent::Response {
                        dir: Dir::ServerToClient,
                        head,
                        request_frame,
                        end_frame,
                        body: (interim || switching).then_some(0),
                    });
                    if interim {
                        // The request still waits for its final response.
                        self.answering = None;
                    } else if switching {
                        self.answered(cx, end_frame);
                    }
                } else {
                    self.resp_open = Some((Some(head), request_frame, tx));
                }
                cx.out.append(&mut opened);
                self.release_hold(cx);
            }
            HttpItem::BodyEnd { frame, len, body } => {
                if let Some(tx) = cx
                    .app
                    .http
                    .iter_mut()
                    .rev()
                    .find(|t| t.response_frame.is_some())
                {
                    tx.response_body = len;
                }
                self.body_len[1] = len;
                self.response_done(cx, frame);
                if let Some(b) = body {
                    self.body(cx, Dir::ServerToClient, frame, &b);
                }
            }
            HttpItem::Error { frame, reason } => {
                self.response_done(cx, frame);
                Self::error(cx, Dir::ServerToClient, frame, reason)
            }
        }
    }

    /// The upgrade was answered: the client's held bytes go where they belong.
    fn release_hold(&mut self, cx: &mut Cx<'_>) {
        if self.pending.iter().any(|p| p.upgrade.is_some()) {
            return;
        }
        // Declined: the client's next bytes are HTTP again.
        self.req.resume();
        if self.hold.is_empty() {
            return;
        }
        let held = std::mem::take(&mut self.hold);
        self.hold_len = 0;
        self.upgrade_asked = false;
        for (frame, at, b) in held {
            cx.at_offset(at, |cx| {
                if let Some(c) = self.child.as_mut() {
                    c.data(cx, Dir::ClientToServer, frame, &b);
                } else if !self.opaque {
                    self.requests(cx, frame, &b);
                }
            });
        }
    }
}

/// The stream offset of a parser's byte 0, from where the bytes about to be
/// pushed start ([`Cx::at`]).
fn placer(cx: &Cx<'_>, p: &HttpParser) -> Option<u64> {
    cx.at.and_then(|a| a.checked_sub(p.seen()))
}

/// Gives a head its stream offset and, for `layers`, reports it where it was
/// read.
fn place(it: &mut HttpItem, base: Option<u64>, cx: &mut Cx<'_>, dir: Dir) {
    if let HttpItem::Head(h) = it {
        h.stream_at = base.map(|b| b + h.at);
        if cx.opts.spans {
            cx.emit(HttpEvent::Head {
                dir,
                head: h.clone(),
            });
        }
    }
}

impl StreamAnalyzer for Http {
    fn data(&mut self, cx: &mut Cx<'_>, dir: Dir, frame: u64, bytes: &[u8]) {
        if self.opaque {
            return;
        }
        if let Some(c) = self.child.as_mut() {
            c.data(cx, dir, frame, bytes);
            return;
        }
        if dir == Dir::ClientToServer {
            if self.req.switched()
                || self.req.paused()
                || (self.upgrade_asked && !self.pending.is_empty())
            {
                // After an upgrade request, wait for the answer before parsing more.
                self.hold_bytes(cx.at, frame, bytes);
                return;
            }
            self.requests(cx, frame, bytes);
        } else {
            let mut items = Vec::new();
            let base = placer(cx, &self.resp);
            self.base[1] = base;
            let used = self.resp.push(bytes, frame, &mut items);
            for mut it in items {
                place(&mut it, base, cx, dir);
                self.response_item(cx, it);
            }
            let rest = &bytes[used..];
            if !rest.is_empty()
                && let Some(c) = self.child.as_mut()
            {
                // Bytes in the same segment as the 101: the new protocol's.
                cx.at_offset(cx.at_plus(used), |cx| c.data(cx, dir, frame, rest));
            }
        }
    }

    fn gap(&mut self, cx: &mut Cx<'_>, dir: Dir) {
        if let Some(c) = self.child.as_mut() {
            c.gap(cx, dir);
        }
        // What the capture kept of a head cut by the loss is still told.
        let mut items = Vec::new();
        if dir == Dir::ClientToServer {
            self.req.gap(&mut items);
        } else {
            self.resp.gap(&mut items);
        }
        for mut it in items {
            let frame = match &it {
                HttpItem::Head(h) => h.frame,
                _ => continue,
            };
            place(&mut it, self.base[dir as usize], cx, dir);
            cx.problem(format!(
                "{}: HTTP {} head cut by the capture at frame {frame} (bytes not captured): only its first lines are known; the rest of the direction is not decoded",
                dir.sender(),
                if dir == Dir::ClientToServer {
                    "request"
                } else {
                    "response"
                }
            ));
            if dir == Dir::ClientToServer {
                self.request_item(cx, it);
                self.request_done(cx, frame);
                // All the request there is: its response is timed from here.
                if let Some(p) = self.pending.back_mut()
                    && p.asked.is_none()
                {
                    p.asked = Asked::at(&cx.now, frame, dir);
                }
            } else {
                self.response_item(cx, it);
                self.response_done(cx, frame);
            }
        }
    }

    fn end(&mut self, cx: &mut Cx<'_>, dir: Dir, frame: u64) {
        if let Some(c) = self.child.as_mut() {
            c.end(cx, dir, frame);
        } else if dir == Dir::ServerToClient && !self.opaque {
            let mut items = Vec::new();
            self.resp.close(frame, &mut items);
            for it in items {
                self.response_item(cx, it);
            }
        }
    }

    fn finish(&mut self, cx: &mut Cx<'_>, last_frame: u64) {
        let mut items = Vec::new();
        self.resp.close(last_frame, &mut items);
        for it in items {
            self.response_item(cx, it);
        }
        // Messages whose bodies never ended: told where their heads were.
        if let Some((h, _)) = &self.req_open {
            let f = h.frame;
            self.request_done(cx, f);
        }
        if let Some((h, _, _)) = &self.resp_open {
            let f = h.as_ref().map_or(last_frame, |h| h.frame);
            self.response_done(cx, f);
        }
        if let Some(c) = self.carried.as_mut() {
            c.finish(cx, last_frame, Carrier::HttpBody);
        }
        if let Some(c) = self.child.as_mut() {
            c.finish(cx, last_frame);
        }
        cx.book(Part::HttpHead, self.req.head_bytes + self.resp.head_bytes);
        cx.book(
            Part::HttpBody,
            (self.req.body_bytes + self.resp.body_bytes).saturating_sub(self.carried_bytes),
        );
    }
}
