//! The analyzer tree of one TCP connection.
//!
//! `flow/` hands each direction's in-order bytes (and its gaps) to the
//! connection's [`Stack`]; the stack hands them to its first analyzer, chosen
//! by the [registry](super#the-registry). Each analyzer is one protocol: bytes
//! in, typed events out. It may hand the rest of a direction's stream to a
//! child (HTTP to WebSocket after a 101), or whole units (a WebSocket message,
//! an HTTP body) to a protocol carried inside them (Engine.IO). An analyzer
//! owns its children and forwards to them, as Zeek's analyzers do, so events
//! come out in stream order: a response, then what it opened.
//!
//! What an analyzer finds goes through its [`Cx`]: events to the views, facts
//! into the connection's [`AppSummary`], bytes into the summary's ledger
//! under the analyzer's own [`Part`]s, problems in words.
//!
//! Bounded: transactions, frames, messages and packets are listed up to
//! [`MAX_LISTED`] each per connection (counts go on), and the lists of all
//! the connections of a run share [`MAX_LISTED_BYTES`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use serde::Serialize;

use super::bytes::{Ledger, Part};
use super::engineio::record::{EngineIoEvent, SocketIoSummary};
use super::http::Head;
use super::http::record::{HttpEvent, HttpTx};
use super::latency::{AppLatency, Reply};
use super::tls::keylog::KeyLog;
use super::tls::record::{TlsEvent, TlsSummary};
use super::websocket::record::{WebSocketEvent, WebSocketSummary};
use super::{Protocol, first};
use crate::flow::{Dir, Moment};
use crate::latency::SAMPLE_BYTES;
use crate::limit::SharedLimit;

/// Items listed per connection in each detail list.
pub const MAX_LISTED: usize = 10_000;
/// Text kept per listed message or packet argument string in the detail lists.
pub const MAX_TEXT: usize = 4096;
/// Bytes the detail lists take across all connections being decoded, each
/// row weighed by what it holds (its struct, text, base64, segment list,
/// arguments); past it, rows are counted in `rows_not_listed`, not listed,
/// until finished connections free room. With `walk`'s limit on its steps
/// it keeps `walk` within 128 MiB on the 1 GB benchmark capture.
pub const MAX_LISTED_BYTES: usize = 12 * 1024 * 1024;
/// Problems listed per connection in `app_problems` (the count goes on).
pub const MAX_PROBLEMS: usize = 32;

/// The detail-list budget, shared by the connections of one run (of one
/// of its [`SHARES`]).
pub type ListBudget = Arc<AtomicUsize>;

/// The limits the connections of a run share (their listed rows' bytes,
/// [`MAX_LISTED_BYTES`], and their unfinished WebSocket messages' bytes,
/// [`crate::run::MAX_HELD_MESSAGES`]) are split in this many equal parts;
/// connection N draws on part N % SHARES. Each part is then drawn on in
/// capture order by the one thread that decodes those connections, so two
/// threads can decode a run's connections apart and print what one thread
/// prints. Three: `walk`'s reading thread decodes two parts and its
/// printing thread, which also tells and renders, one (measured on the
/// benchmark captures, this split beat one part each).
pub const SHARES: usize = 3;

/// What the analyzers of a run keep and share, the same for every connection.
#[derive(Clone, Debug)]
pub struct StackOptions {
    /// List every frame, message and packet (for `walk`); without, only count.
    pub detail: bool,
    /// A view reads Socket.IO arguments (in the lists or the events); without,
    /// an EVENT's or ACK's payload is checked but not decoded into values
    /// ([`super::socketio::parse_shape`]).
    pub values: bool,
    /// Bytes of each plain WebSocket message (and of an Engine.IO message's
    /// text in its event) kept to be shown; at most [`MAX_TEXT`].
    pub keep_messages: usize,
    /// Bytes of each WebSocket data frame's payload kept to be shown.
    pub keep_frames: usize,
    /// Bytes of each message's text or payload in the detail lists: whole
    /// messages (up to 1 MiB) for walk's JSON, [`MAX_TEXT`] otherwise.
    pub list_text: usize,
    /// Shared by the connections' detail lists.
    pub budget: ListBudget,
    /// Shared by the connections' unfinished WebSocket messages.
    pub messages: Option<SharedLimit>,
    /// Ports whose connections start with a given protocol (`--decode-as`).
    pub decode_as: Vec<(u16, Protocol)>,
    /// The TLS secrets (`--keylog`, `SSLKEYLOGFILE`), shared by all connections.
    pub keylog: Option<Arc<KeyLog>>,
    /// Also report each HTTP head where it is read ([`HttpEvent::Head`]),
    /// for `layers`, which opens the units of each frame.
    pub spans: bool,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            detail: true,
            values: true,
            keep_messages: MAX_TEXT,
            keep_frames: super::websocket::MAX_FRAME_KEEP,
            list_text: MAX_TEXT,
            budget: ListBudget::default(),
            messages: None,
            decode_as: Vec::new(),
            keylog: None,
            spans: false,
        }
    }
}

/// Something an analyzer found, by protocol.
#[derive(Clone, Debug)]
pub enum AppEvent {
    Tls(TlsEvent),
    Http(HttpEvent),
    WebSocket(WebSocketEvent),
    EngineIo(EngineIoEvent),
    /// A request was answered: how long it took (after the event of the reply).
    Reply(Box<Reply>),
}

impl AppEvent {
    /// Bytes the event holds, roughly (its size and what it points to): what
    /// counts when many of them wait to be handed between threads.
    pub fn weight(&self) -> usize {
        std::mem::size_of::<AppEvent>()
            + match self {
                AppEvent::Tls(e) => e.held(),
                AppEvent::Http(e) => e.held(),
                AppEvent::WebSocket(e) => e.held(),
                AppEvent::EngineIo(e) => e.held(),
                AppEvent::Reply(r) => r.weight(),
            }
    }
}

impl From<TlsEvent> for AppEvent {
    fn from(e: TlsEvent) -> Self {
        AppEvent::Tls(e)
    }
}

impl From<HttpEvent> for AppEvent {
    fn from(e: HttpEvent) -> Self {
        AppEvent::Http(e)
    }
}

impl From<WebSocketEvent> for AppEvent {
    fn from(e: WebSocketEvent) -> Self {
        AppEvent::WebSocket(e)
    }
}

impl From<EngineIoEvent> for AppEvent {
    fn from(e: EngineIoEvent) -> Self {
        AppEvent::EngineIo(e)
    }
}

/// What the analyzers found on one connection: the record the views print.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AppSummary {
    /// The highest protocol reached: "http", "websocket", "engine.io", "socket.io",
    /// "tls" (nothing above it decoded), or null.
    pub protocol: Option<&'static str>,
    pub tls: Option<TlsSummary>,
    pub http: Vec<HttpTx>,
    pub websocket: Option<WebSocketSummary>,
    pub socketio: Option<SocketIoSummary>,
    /// Delivered bytes the analyzers recognised, by part.
    pub bytes: Ledger,
    /// Replies and how long they took, by kind (printed in the record's `latency`).
    #[serde(skip)]
    pub latency: AppLatency,
    /// Rows not listed because [`MAX_LISTED_BYTES`] was reached.
    #[serde(skip)]
    pub rows_not_listed: u64,
    /// What the analyzers gave up on or could not finish, in words ("request
    /// head longer than 65536 bytes", "server: binary frame unfinished at the
    /// end: …"), the first [`MAX_PROBLEMS`]; `problem_count` counts them all.
    #[serde(skip)]
    pub problems: Vec<String>,
    #[serde(skip)]
    pub problem_count: u64,
    /// The rows' share of the budget, given back as the connection finishes
    /// ([`AppSummary::give_back`]), else when the summary is dropped.
    #[serde(skip)]
    held: Held,
    /// The view does not show this connection (`--connection` left it
    /// out): it lists nothing, so that the shown ones have the budget.
    #[serde(skip)]
    not_shown: bool,
}

impl AppSummary {
    /// Bytes the summary holds, roughly: its size and its listed rows.
    pub fn weight(&self) -> usize {
        std::mem::size_of::<AppSummary>() + self.held.bytes
    }

    /// Gives the rows' share of the budget back now, as the connection
    /// finishes: the budget is for open connections. Left to the drop, it
    /// would come back whenever the printing thread is done with the
    /// summary, and what the reading thread lists next would depend on
    /// timing. The rows go on to be printed; on their way they are bounded
    /// by the queues between threads.
    pub fn give_back(&mut self) {
        if let Some(b) = self.held.budget.take() {
            b.fetch_sub(self.held.bytes, Relaxed);
        }
    }
}

/// Bytes taken from a [`ListBudget`], given back on drop.
#[derive(Debug, Default)]
struct Held {
    budget: Option<ListBudget>,
    bytes: usize,
}

impl Clone for Held {
    /// A copy holds nothing: the budget is given back once, by the original.
    fn clone(&self) -> Self {
        Held::default()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(b) = &self.budget {
            b.fetch_sub(self.bytes, Relaxed);
        }
    }
}

/// What an analyzer works with: the run's options, the connection's summary,
/// and where its events go.
pub struct Cx<'a> {
    pub opts: &'a StackOptions,
    pub app: &'a mut AppSummary,
    pub out: &'a mut Vec<AppEvent>,
    /// Offset in the direction's TCP stream of the first byte handed to
    /// `data` (0 is the byte after the SYN, or the first byte captured);
    /// None past a gap and for bytes that are not the stream's own
    /// (decrypted). An analyzer handing part of its bytes to a child moves it
    /// on; it lets `layers` place a unit's bytes in the frames.
    pub at: Option<u64>,
    /// The frame that delivered the bytes, its time and the paths' round
    /// trips; frame 0 when no frame did (the connection's end).
    pub now: Moment,
}

impl Cx<'_> {
    pub fn emit(&mut self, e: impl Into<AppEvent>) {
        self.out.push(e.into());
    }

    /// The same context, with events going to `out` instead (a carrier puts
    /// what a carried protocol found after its own event).
    pub fn with_out<'b>(&'b mut self, out: &'b mut Vec<AppEvent>) -> Cx<'b> {
        Cx {
            opts: self.opts,
            app: self.app,
            out,
            at: self.at,
            now: self.now,
        }
    }

    /// Keeps a reply: its time among the connection's samples of its kind,
    /// the reply itself in the list (with detail), and an event after the
    /// reply's own for the views.
    pub fn reply(&mut self, r: Reply) {
        let k = r.kind as usize;
        let room = self.app.latency.by_kind[k].samples.wants() && self.take_room(SAMPLE_BYTES);
        self.app.latency.by_kind[k].samples.push(r.ns(), room);
        let listed = self.app.latency.by_kind[k].listed.len();
        if self.listable(listed, r.weight()) {
            self.app.latency.by_kind[k].listed.push(r.clone());
        }
        self.emit(AppEvent::Reply(Box::new(r)));
    }

    /// Takes `bytes` of the shared budget for a kept sample, if it has room.
    pub fn sample_room(&mut self, bytes: usize) -> bool {
        self.take_room(bytes)
    }

    /// Takes `bytes` of the shared budget if it has room.
    fn take_room(&mut self, bytes: usize) -> bool {
        if !self.has_room(bytes) {
            return false;
        }
        self.opts.budget.fetch_add(bytes, Relaxed);
        self.app.held.bytes += bytes;
        true
    }

    pub fn book(&mut self, part: Part, n: u64) {
        self.app.bytes.add(part, n);
    }

    /// Books a unit of `wire` bytes that a carried protocol read, `envelope`
    /// of them its own: the envelope under `part`, the rest as payload. A
    /// compressed unit cannot be split: all of it is payload.
    pub fn book_carried(&mut self, part: Part, envelope: u64, wire: u64, compressed: bool) {
        let env = if compressed { 0 } else { envelope.min(wire) };
        self.book(part, env);
        self.book(Part::Payload, wire - env);
    }

    /// Runs `f` with [`Self::at`] set to `at` (bytes handed on from further
    /// along, or not the stream's own), and puts it back.
    pub fn at_offset<T>(&mut self, at: Option<u64>, f: impl FnOnce(&mut Self) -> T) -> T {
        let saved = std::mem::replace(&mut self.at, at);
        let r = f(self);
        self.at = saved;
        r
    }

    /// [`Self::at`] `n` bytes on.
    pub fn at_plus(&self, n: usize) -> Option<u64> {
        self.at.map(|a| a + n as u64)
    }

    /// Notes something an analyzer gave up on.
    pub fn problem(&mut self, what: String) {
        self.app.problem_count += 1;
        if self.app.problems.len() < MAX_PROBLEMS {
            self.app.problems.push(what);
        }
    }

    /// Room for a row that holds `bytes` bytes (its struct and what it
    /// points to) in the detail lists; counts it either way.
    pub fn list_room(&mut self, bytes: usize) -> bool {
        let room = self.take_room(bytes);
        if !room {
            self.app.rows_not_listed += 1;
        }
        room
    }

    /// A row that holds `bytes` bytes may be listed in a list of `len` rows.
    pub fn listable(&mut self, len: usize, bytes: usize) -> bool {
        self.lists(len) && self.list_room(bytes)
    }

    /// Whether [`Self::listable`] could say yes to a row of at least `bytes`
    /// bytes now, without taking any room: a decoder asks before it copies
    /// what only a listed row needs.
    pub fn may_list(&self, len: usize, bytes: usize) -> bool {
        self.lists(len) && self.has_room(bytes)
    }

    /// A row that [`Self::may_list`] turned away earlier: counted where
    /// [`Self::listable`] would have counted it.
    pub fn not_listed(&mut self, len: usize) {
        if self.lists(len) {
            self.app.rows_not_listed += 1;
        }
    }

    /// The view lists this connection's rows, and a list of `len` has room
    /// for one more: whether a row is kept at all, before the byte budget
    /// is asked ([`Self::has_room`]).
    pub fn lists(&self, len: usize) -> bool {
        self.opts.detail && !self.app.not_shown && len < MAX_LISTED
    }

    /// This connection's part of the budget has room for `bytes` more.
    fn has_room(&self, bytes: usize) -> bool {
        self.opts.budget.load(Relaxed) + bytes <= MAX_LISTED_BYTES / SHARES
    }
}

/// One protocol over a byte stream, both directions.
pub trait StreamAnalyzer: Send {
    /// In-order bytes of `dir`, the last of them delivered by capture frame `frame`.
    fn data(&mut self, cx: &mut Cx<'_>, dir: Dir, frame: u64, bytes: &[u8]);
    /// Bytes of `dir` were never seen: what follows does not join up.
    fn gap(&mut self, cx: &mut Cx<'_>, dir: Dir);
    /// `dir` ended (FIN or RST) in capture frame `frame`.
    fn end(&mut self, _cx: &mut Cx<'_>, _dir: Dir, _frame: u64) {}
    /// The connection ended at `last_frame`: report what is left.
    fn finish(&mut self, cx: &mut Cx<'_>, last_frame: u64);
}

/// What carried a unit to a [`CarriedAnalyzer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    /// An HTTP body (Engine.IO long-polling).
    HttpBody,
    /// A WebSocket message.
    WebSocket,
}

/// One whole unit of a carried protocol: a WebSocket message, an HTTP body.
pub struct Unit<'a> {
    pub dir: Dir,
    /// Capture frame that completed the unit.
    pub frame: u64,
    pub carrier: Carrier,
    /// A binary WebSocket message (else text, or an HTTP body).
    pub binary: bool,
    pub data: &'a [u8],
}

/// A protocol carried in whole units by the one below.
pub trait CarriedAnalyzer: Send {
    /// Its name in the registry.
    fn name(&self) -> &'static str;
    /// The part its own bytes are booked under.
    fn envelope_part(&self) -> Part;
    /// An HTTP request routed to it (by its URI); true when it wants the
    /// bodies of the request and of its response.
    fn http_request(&mut self, cx: &mut Cx<'_>, head: &Head) -> bool;
    /// One unit; returns how many of its bytes were this protocol's envelope.
    fn unit(&mut self, cx: &mut Cx<'_>, u: &Unit<'_>) -> u64;
    /// The connection ended, with the carrier it was last reached through.
    fn finish(&mut self, cx: &mut Cx<'_>, last_frame: u64, carrier: Carrier);
}

/// The analyzers of one connection and what they found so far.
pub struct Stack {
    /// Chosen at the first bytes (or gap), by the registry.
    root: Option<Box<dyn StreamAnalyzer>>,
    /// Stream offset of each direction's next byte; None after a gap.
    next: [Option<u64>; 2],
    ports: Option<(u16, u16)>,
    app: AppSummary,
}

impl Stack {
    /// A connection between these ports (when known: the registry may choose
    /// by port).
    pub fn new(opts: &StackOptions, ports: Option<(u16, u16)>) -> Self {
        let mut app = AppSummary::default();
        app.held.budget = Some(opts.budget.clone());
        Stack {
            root: None,
            next: [Some(0); 2],
            ports,
            app,
        }
    }

    /// The view will not show this connection: nothing of it is listed.
    pub fn not_shown(&mut self) {
        self.app.not_shown = true;
    }

    /// Runs `f` on the first analyzer, chosen now if this is the
    /// connection's first call (by its ports and `first`, its first bytes).
    fn with_root(
        &mut self,
        opts: &StackOptions,
        out: &mut Vec<AppEvent>,
        first_bytes: &[u8],
        (at, now): (Option<u64>, Moment),
        f: impl FnOnce(&mut dyn StreamAnalyzer, &mut Cx<'_>),
    ) {
        let mut cx = Cx {
            opts,
            app: &mut self.app,
            out,
            at,
            now,
        };
        let root = self
            .root
            .get_or_insert_with(|| first(&mut cx, self.ports, first_bytes));
        f(root.as_mut(), &mut cx);
    }

    /// In-order bytes of `dir`, delivered `at` a frame (or a frame number).
    pub fn data(
        &mut self,
        opts: &StackOptions,
        dir: Dir,
        at: impl Into<Moment>,
        bytes: &[u8],
        out: &mut Vec<AppEvent>,
    ) {
        let now = at.into();
        let next = &mut self.next[dir as usize];
        let at = *next;
        *next = at.map(|a| a + bytes.len() as u64);
        let frame = now.frame;
        self.with_root(opts, out, bytes, (at, now), |a, cx| {
            a.data(cx, dir, frame, bytes)
        });
    }

    /// Bytes of `dir` were lost, found `at` a frame (or a frame number).
    pub fn gap(
        &mut self,
        opts: &StackOptions,
        dir: Dir,
        at: impl Into<Moment>,
        out: &mut Vec<AppEvent>,
    ) {
        self.next[dir as usize] = None;
        self.with_root(opts, out, &[], (None, at.into()), |a, cx| a.gap(cx, dir));
    }

    pub fn end(
        &mut self,
        opts: &StackOptions,
        dir: Dir,
        at: impl Into<Moment>,
        out: &mut Vec<AppEvent>,
    ) {
        let now = at.into();
        if self.root.is_some() {
            self.with_root(opts, out, &[], (None, now), |a, cx| {
                a.end(cx, dir, now.frame)
            });
        }
    }

    /// Ends the connection: the summary. Events found at the end are not
    /// shown (no frame carries them), only counted in the summary.
    pub fn finish(mut self, opts: &StackOptions, last_frame: u64) -> AppSummary {
        let mut sink = Vec::new();
        if let Some(mut root) = self.root.take() {
            let mut cx = Cx {
                opts,
                app: &mut self.app,
                out: &mut sink,
                at: None,
                now: Moment::default(),
            };
            root.finish(&mut cx, last_frame);
        }
        // The summary may wait a while (a closed connection lingers): its
        // figures are kept, its samples given back.
        let freed = self.app.latency.freeze();
        self.app.held.bytes -= freed.min(self.app.held.bytes);
        opts.budget.fetch_sub(freed, Relaxed);
        self.app
    }
}

/// Text as listed: at most [`MAX_TEXT`] bytes, cut at a character boundary.
pub fn clip(s: &str) -> String {
    clipped(s).into_owned()
}

/// [`clip`], borrowing `s` when it is short enough (a key looked up, and
/// copied only when new).
pub fn clipped(s: &str) -> std::borrow::Cow<'_, str> {
    crate::text::clipped(s, MAX_TEXT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::websocket::accept_key as websocket_accept;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    /// A WebSocket upgrade request for `uri`.
    fn offer(uri: &str) -> String {
        format!(
            "GET {uri} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
    }

    /// The 101 that accepts it.
    fn accept() -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            websocket_accept(KEY)
        )
    }

    /// A WebSocket session: the upgrade, then `n` unmasked server text frames.
    /// The upgrade comes in no frame (0), so its reply is not timed: the
    /// budget holds only the frames and messages.
    fn session(opts: &StackOptions, n: usize) -> AppSummary {
        session_of(opts, n, Stack::new(opts, None))
    }

    fn session_of(opts: &StackOptions, n: usize, mut stack: Stack) -> AppSummary {
        let mut out = Vec::new();
        let req = offer("/chat");
        stack.data(opts, Dir::ClientToServer, 0, req.as_bytes(), &mut out);
        let resp = accept();
        stack.data(opts, Dir::ServerToClient, 0, resp.as_bytes(), &mut out);
        for i in 0..n {
            let frame = [&[0x81, 5][..], b"hello"].concat();
            stack.data(opts, Dir::ServerToClient, 3 + i as u64, &frame, &mut out);
        }
        stack.finish(opts, 3 + n as u64)
    }

    /// A 101 whose headers the capture lost still switches to the WebSocket
    /// the request offered; its accept key is not called missing.
    #[test]
    fn a_cut_101_switches_to_the_offered_websocket() {
        let opts = StackOptions::default();
        let mut stack = Stack::new(&opts, None);
        let mut out = Vec::new();
        let req = offer("/chat");
        stack.data(&opts, Dir::ClientToServer, 1, req.as_bytes(), &mut out);
        stack.data(
            &opts,
            Dir::ServerToClient,
            2,
            b"HTTP/1.1 101 Switching Pro",
            &mut out,
        );
        stack.gap(&opts, Dir::ServerToClient, 2, &mut out);
        let sum = stack.finish(&opts, 3);
        let ws = sum.websocket.as_ref().expect("websocket");
        assert!(ws.established);
        assert_eq!(ws.status, Some(101));
        assert_eq!(ws.problems, ["answer_cut"]);
        assert_eq!(sum.http[0].reason.as_deref(), Some("Switching Pro…"));
        assert_eq!(sum.problems.len(), 1, "{:?}", sum.problems);
    }

    /// A client that sends its first frame in the segment of its upgrade
    /// request: the frame waits for the 101 and is the WebSocket's, not a
    /// malformed HTTP request. Declined, the bytes are HTTP again.
    #[test]
    fn bytes_after_an_upgrade_offer_wait_for_its_answer() {
        let opts = StackOptions::default();
        let req = offer("/chat");
        // A masked text frame "hi" (key 0).
        let frame = [0x81u8, 0x82, 0, 0, 0, 0, b'h', b'i'];
        let mut stack = Stack::new(&opts, None);
        let mut out = Vec::new();
        stack.data(
            &opts,
            Dir::ClientToServer,
            1,
            &[req.as_bytes(), &frame].concat(),
            &mut out,
        );
        let resp = accept();
        stack.data(&opts, Dir::ServerToClient, 2, resp.as_bytes(), &mut out);
        let sum = stack.finish(&opts, 2);
        assert!(sum.problems.is_empty(), "{:?}", sum.problems);
        let ws = sum.websocket.as_ref().expect("websocket");
        assert_eq!(ws.messages.get("client:text"), Some(&1));
        assert_eq!(ws.message_rows[0].text.as_deref(), Some("hi"));

        // Declined with 400: the next request in the same segment is read.
        let mut stack = Stack::new(&opts, None);
        let next = "GET /next HTTP/1.1\r\nHost: x\r\n\r\n";
        stack.data(
            &opts,
            Dir::ClientToServer,
            1,
            format!("{req}{next}").as_bytes(),
            &mut out,
        );
        let no = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        stack.data(&opts, Dir::ServerToClient, 2, no.as_bytes(), &mut out);
        stack.data(&opts, Dir::ClientToServer, 3, next.as_bytes(), &mut out);
        let sum = stack.finish(&opts, 3);
        assert!(sum.problems.is_empty(), "{:?}", sum.problems);
        let uris: Vec<_> = sum.http.iter().map(|t| t.uri.as_deref()).collect();
        assert_eq!(uris, [Some("/chat"), Some("/next"), Some("/next")]);
    }

    /// Frame `frame` at `ms` milliseconds, both paths measured at 1 ms and 2 ms.
    fn at(frame: u64, ms: i64) -> Moment {
        Moment {
            frame,
            ts: crate::capture::Timestamp {
                secs: ms / 1000,
                nanos: (ms % 1000) as u32 * 1_000_000,
            },
            path_rtt: [Some(1_000_000), Some(2_000_000)],
        }
    }

    /// A text frame as its side sends it (the client's masked with key 0).
    fn text_frame(dir: Dir, text: &str) -> Vec<u8> {
        let mut f = vec![0x81];
        if dir == Dir::ClientToServer {
            f.extend([0x80 | text.len() as u8, 0, 0, 0, 0]);
        } else {
            f.push(text.len() as u8);
        }
        f.extend_from_slice(text.as_bytes());
        f
    }

    /// Socket.IO over WebSocket: acks matched by namespace and id, timed in
    /// capture time and split by the path's round trip; a pong later than
    /// the announced timeout, a ping gap longer than interval + timeout and
    /// a last ping never answered are all named.
    #[test]
    fn socket_io_replies_are_paired_and_timed() {
        use super::super::latency::Kind;
        let opts = StackOptions::default();
        let mut stack = Stack::new(&opts, None);
        let mut out = Vec::new();
        let (c, s) = (Dir::ClientToServer, Dir::ServerToClient);
        let req = offer("/socket.io/?EIO=4&transport=websocket");
        stack.data(&opts, c, at(1, 0), req.as_bytes(), &mut out);
        let resp = accept();
        stack.data(&opts, s, at(2, 3), resp.as_bytes(), &mut out);
        let open = r#"0{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000}"#;
        let script: [(Dir, u64, i64, &str); 10] = [
            (s, 3, 4, open),
            (c, 4, 5, "40"),
            (s, 5, 6, r#"40{"sid":"s1"}"#),
            (c, 6, 10, r#"420["save",1]"#),
            (c, 7, 11, r#"42/admin,0["stats"]"#),
            (s, 8, 20, "43/admin,0[1]"),
            (s, 9, 50, r#"430[{"ok":1}]"#),
            (s, 10, 300, "2"),
            (c, 11, 600, "3"),
            (s, 12, 900, "2"),
        ];
        for (dir, frame, ms, text) in script {
            stack.data(&opts, dir, at(frame, ms), &text_frame(dir, text), &mut out);
        }
        let sum = stack.finish(&opts, 12);
        let l = &sum.latency;
        let pairs = |k: Kind| -> Vec<(u64, u64, f64)> {
            l.get(k)
                .listed
                .iter()
                .map(|r| (r.from_frame, r.to_frame, r.seconds))
                .collect()
        };
        assert_eq!(pairs(Kind::Http), [(1, 2, 0.003)]);
        // "/admin" #0 is not "/" #0.
        assert_eq!(pairs(Kind::SocketioAck), [(7, 8, 0.009), (6, 9, 0.040)]);
        let save = &l.get(Kind::SocketioAck).listed[1];
        assert_eq!(save.what, r#""save" #0"#);
        assert_eq!((save.network, save.think), (Some(0.001), Some(0.039)));
        assert_eq!(save.asked_by, c);
        let beat = &l.get(Kind::Heartbeat).listed;
        assert_eq!(beat.len(), 1);
        assert_eq!((beat[0].from_frame, beat[0].to_frame), (10, 11));
        // The client answered: the path to it is the one measured.
        assert_eq!((beat[0].network, beat[0].think), (Some(0.002), Some(0.298)));
        assert!(beat[0].late);
        let hb = l.heartbeat.as_ref().expect("heartbeat");
        assert_eq!(
            (hb.ping_interval_ms, hb.ping_timeout_ms),
            (Some(300), Some(200))
        );
        assert_eq!((hb.late_pongs, hb.late_pings), (1, 1));
        assert!(hb.unanswered_at_end);
        assert_eq!(hb.intervals.summary().map(|m| m.max), Some(0.6));
        // Each reply followed its own event, for the views.
        let replies = out
            .iter()
            .filter(|e| matches!(e, AppEvent::Reply(_)))
            .count();
        assert_eq!(replies, 4);
    }

    /// A pong answers the oldest waiting ping with its payload; pings before
    /// it are given up (RFC 6455 lets a side answer only the latest), and a
    /// pong no ping asked for is no reply.
    #[test]
    fn a_pong_answers_the_ping_with_its_payload() {
        use super::super::latency::Kind;
        let opts = StackOptions::default();
        let mut stack = Stack::new(&opts, None);
        let mut out = Vec::new();
        let (c, s) = (Dir::ClientToServer, Dir::ServerToClient);
        let req = offer("/chat");
        stack.data(&opts, c, at(1, 0), req.as_bytes(), &mut out);
        let resp = accept();
        stack.data(&opts, s, at(2, 1), resp.as_bytes(), &mut out);
        let ping = |p: &[u8]| [&[0x89, 0x80 | p.len() as u8, 0, 0, 0, 0][..], p].concat();
        let pong = |p: &[u8]| [&[0x8a, p.len() as u8][..], p].concat();
        stack.data(&opts, c, at(3, 10), &ping(b"a"), &mut out);
        stack.data(&opts, c, at(4, 20), &ping(b"b"), &mut out);
        stack.data(&opts, s, at(5, 25), &pong(b"b"), &mut out);
        // "a" was given up when "b" was answered; nothing asked for "x".
        stack.data(&opts, s, at(6, 30), &pong(b"a"), &mut out);
        stack.data(&opts, s, at(7, 35), &pong(b"x"), &mut out);
        let sum = stack.finish(&opts, 7);
        let got: Vec<_> = sum
            .latency
            .get(Kind::WsPing)
            .listed
            .iter()
            .map(|r| (r.from_frame, r.to_frame, r.seconds, r.what.clone()))
            .collect();
        assert_eq!(got, [(4, 5, 0.005, r#"ping "b""#.to_owned())]);
    }

    /// Rows past the shared budget are counted, not listed; the rows' share
    /// comes back when their summary is dropped, not before.
    #[test]
    fn detail_lists_share_one_budget() {
        let opts = StackOptions::default();
        use crate::proto::websocket::record::{FrameRow, MessageRow};
        // Each message is one frame of 5 bytes of text, listed as a frame
        // row then a message row, each weighed by its struct and text (and
        // the message's segment list: its one capture frame).
        let frame_row = size_of::<FrameRow>() + 5;
        let message_row = size_of::<MessageRow>() + 5 + 8;
        // Room for a frame, a message and a frame.
        let held = 2 * frame_row + message_row;
        let start = MAX_LISTED_BYTES / SHARES - held - 10;
        opts.budget.store(start, Relaxed);
        let sum = session(&opts, 4);
        let ws = sum.websocket.as_ref().expect("websocket");
        assert_eq!(ws.messages.get("server:text"), Some(&4));
        // 4 frames and 4 messages: 3 rows fit, 5 do not.
        assert_eq!((ws.frame_rows.len(), ws.message_rows.len()), (2, 1));
        assert_eq!(ws.message_rows[0].segments.len(), 1);
        assert_eq!(sum.rows_not_listed, 5);
        assert_eq!(opts.budget.load(Relaxed), start + held);
        // A copy holds nothing; the original gives the rows' share back once.
        let copy = sum.clone();
        drop(sum);
        assert_eq!(opts.budget.load(Relaxed), start);
        drop(copy);
        assert_eq!(opts.budget.load(Relaxed), start);
    }

    /// A connection the view will not show lists nothing and leaves the
    /// budget to the others; its counts are kept.
    #[test]
    fn a_connection_not_shown_lists_nothing() {
        let opts = StackOptions::default();
        let mut hidden = Stack::new(&opts, None);
        hidden.not_shown();
        let sum = session_of(&opts, 3, hidden);
        let ws = sum.websocket.as_ref().expect("websocket");
        assert_eq!(ws.messages.get("server:text"), Some(&3));
        assert_eq!((ws.frame_rows.len(), ws.message_rows.len()), (0, 0));
        assert_eq!(sum.rows_not_listed, 0);
        assert_eq!(opts.budget.load(Relaxed), 0);
        // The same session, shown, lists its rows.
        let shown = session(&opts, 3);
        let ws = shown.websocket.as_ref().expect("websocket");
        assert_eq!((ws.frame_rows.len(), ws.message_rows.len()), (3, 3));
        assert!(opts.budget.load(Relaxed) > 0);
    }

    /// Without detail nothing is listed and nothing is taken.
    #[test]
    fn counting_only_takes_no_budget() {
        let opts = StackOptions {
            detail: false,
            ..StackOptions::default()
        };
        let sum = session(&opts, 50);
        let ws = sum.websocket.as_ref().expect("websocket");
        assert!(ws.frame_rows.is_empty() && ws.message_rows.is_empty());
        assert_eq!(sum.rows_not_listed, 0);
        assert_eq!(opts.budget.load(Relaxed), 0);
    }
}
