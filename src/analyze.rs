//! The driver: capture → decode → flow → view, one frame at a time.

use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use etherparse::{LaxNetSlice, TransportSlice};

use crate::capture::write::PcapOut;
use crate::capture::{CaptureError, CaptureReader, Frame, FrameSource, Timestamp};
use crate::decode::Packet;
use crate::decode::detail::segment_len;
use crate::decode::tcp_options::{self, TcpOption};
use crate::limit::SharedLimit;
use foldhash::HashMap;

use crate::flow::{
    ConnSummary, Dir, Endpoint, FlowTable, Offered, Role, Segment, SegmentContext, StreamSink,
    flags,
};
use crate::proto::app::{AppEvent, AppSummary, ConnApp, ListBudget, MAX_TEXT};
use crate::proto::websocket::MAX_FRAME_KEEP;

/// Bytes of a message kept for a one-line preview (60 characters, up to 4 bytes each).
const LINE_PREVIEW: usize = 256;
use crate::progress::Progress;
use crate::report::{FrameEvent, View};

/// Why a run stopped early.
#[derive(Debug)]
pub enum RunError {
    /// The capture is unreadable from some point on; everything before was shown.
    Capture(CaptureError),
    /// Writing the output failed (a closed pipe is not reported as an error).
    Output(io::Error),
}

impl From<io::Error> for RunError {
    fn from(e: io::Error) -> Self {
        RunError::Output(e)
    }
}

/// When to stop reading before the end of the capture, and what to show.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    /// Stop after this many frames that pass the filter (all frames when
    /// there is none), as tcpdump's -c.
    pub count: Option<u64>,
    /// Stop after this frame number.
    pub last_frame: Option<u64>,
    pub filter: Filter,
    /// Connections tracked at once (default [`crate::flow::MAX_CONNECTIONS`]).
    pub max_connections: Option<usize>,
    /// Ports on which connections without a seen handshake are decoded as WebSocket.
    pub assume_websocket: Vec<u16>,
    /// Live capture: report each connection as soon as it closes.
    pub live: bool,
    /// Keep the per-frame and per-message lists of each connection (walk).
    pub detail: bool,
    /// Show a progress bar while reading a file (when a person watches).
    pub progress: bool,
    /// Unfinished WebSocket messages' kept bytes, for all connections
    /// together (see [`MAX_HELD_MESSAGES`]); set by [`run_capture`] and
    /// [`run_reader`] when None, so both threads of a run share one.
    pub messages: Option<SharedLimit>,
    /// Also write the frames that pass the filter here (`packets -w`). Shared
    /// only to keep `Limits` cloneable; the reading thread alone writes.
    pub write: Option<Arc<Mutex<PcapOut>>>,
}

/// Bytes of unfinished WebSocket messages kept by all the connections of a
/// run together. Each message keeps at most [`MAX_MESSAGE_KEEP`] (1 MiB, for
/// Socket.IO); without this, thousands of connections with a large message
/// open would each hold that much.
///
/// [`MAX_MESSAGE_KEEP`]: crate::proto::websocket::MAX_MESSAGE_KEEP
pub const MAX_HELD_MESSAGES: usize = 64 << 20;

impl Limits {
    /// The same, with the shared limits made if not given.
    pub(crate) fn shared(mut self) -> Self {
        self.messages
            .get_or_insert_with(|| SharedLimit::new(MAX_HELD_MESSAGES));
        self
    }
}

/// Which packets and connections a view is shown. Tracking always sees every
/// packet, so stream numbers do not depend on the filter.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub ports: Vec<u16>,
    pub hosts: Vec<IpAddr>,
    pub connections: Vec<u64>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty() && self.hosts.is_empty() && self.connections.is_empty()
    }

    fn matches_endpoints(&self, a: Option<Endpoint>, b: Option<Endpoint>) -> bool {
        let ports_ok = self.ports.is_empty()
            || [a, b]
                .iter()
                .flatten()
                .any(|e| self.ports.contains(&e.port));
        let hosts_ok = self.hosts.is_empty()
            || [a, b]
                .iter()
                .flatten()
                .any(|e| self.hosts.contains(&e.addr));
        ports_ok && hosts_ok
    }

    fn matches_packet(&self, pkt: &Packet<'_>, tcp: Option<&SegmentContext>) -> bool {
        if self.is_empty() {
            return true;
        }
        if !self.connections.is_empty()
            && !tcp.is_some_and(|c| self.connections.contains(&c.stream))
        {
            return false;
        }
        let (src, dst) = endpoints(pkt);
        if (!self.ports.is_empty() || !self.hosts.is_empty()) && src.is_none() {
            return false;
        }
        self.matches_endpoints(src, dst)
    }

    pub fn matches_connection(&self, s: &ConnSummary) -> bool {
        if !self.connections.is_empty() && !self.connections.contains(&s.id) {
            return false;
        }
        let parse = |t: &str| -> Option<Endpoint> {
            let (a, p) = t.rsplit_once(':')?;
            let a = a.trim_start_matches('[').trim_end_matches(']');
            Some(Endpoint {
                addr: a.parse().ok()?,
                port: p.parse().ok()?,
            })
        };
        self.matches_endpoints(parse(&s.client), parse(&s.server))
    }
}

/// Source and destination (address, port) of an IP packet; port 0 without TCP/UDP.
fn endpoints(pkt: &Packet<'_>) -> (Option<Endpoint>, Option<Endpoint>) {
    let (sa, da): (IpAddr, IpAddr) = match pkt.net() {
        Some(LaxNetSlice::Ipv4(v)) => {
            let h = v.header();
            (h.source_addr().into(), h.destination_addr().into())
        }
        Some(LaxNetSlice::Ipv6(v)) => {
            let h = v.header();
            (h.source_addr().into(), h.destination_addr().into())
        }
        _ => return (None, None),
    };
    let (sp, dp) = match (pkt.tcp(), pkt.transport()) {
        (Some(t), _) => (t.src_port(), t.dst_port()),
        (None, Some(TransportSlice::Udp(u))) => (u.source_port(), u.destination_port()),
        _ => (0, 0),
    };
    (
        Some(Endpoint { addr: sa, port: sp }),
        Some(Endpoint { addr: da, port: dp }),
    )
}

impl Offered {
    pub fn from_options(opts: &[TcpOption]) -> Offered {
        let mut o = Offered::default();
        for opt in opts {
            match opt {
                TcpOption::Mss(v) => o.mss = Some(*v),
                TcpOption::WindowScale(s) => o.window_scale = Some(*s),
                TcpOption::SackPermitted => o.sack_permitted = true,
                TcpOption::Timestamp { .. } => o.timestamps = true,
                TcpOption::FastOpen(c) => {
                    o.fast_open = Some(if c.is_empty() {
                        "cookie request"
                    } else {
                        "cookie"
                    })
                }
                _ => {}
            }
        }
        o
    }
}

/// The application layer of every open connection, fed by the flow table.
#[derive(Default)]
pub struct Apps {
    conns: HashMap<u64, ConnApp>,
    /// Events found while processing the current frame, with their connection.
    pub events: Vec<(u64, AppEvent)>,
    scratch: Vec<AppEvent>,
    /// Ports whose connections are taken to be WebSocket without a handshake.
    pub assume_websocket: Vec<u16>,
    /// Keep per-frame detail lists (only walk prints them).
    pub detail: bool,
    /// Bytes of plain WebSocket messages and data frames kept to be shown.
    pub previews: (usize, usize),
    /// Shared by the connections' detail lists.
    budget: ListBudget,
    /// Shared by the connections' unfinished WebSocket messages.
    messages: Option<SharedLimit>,
    /// The view shows frames, so their application events are collected.
    keep_events: bool,
    /// Which connections get an assumption check when they open.
    pub(crate) ports: HashMap<u64, (u16, u16)>,
    /// Application summaries of connections that closed and wait to be reported.
    done: HashMap<u64, AppSummary>,
}

impl Apps {
    fn app(&mut self, stream: u64) -> &mut ConnApp {
        let assume = self
            .ports
            .get(&stream)
            .is_some_and(|(a, b)| self.assume_websocket.iter().any(|p| p == a || p == b));
        let detail = self.detail;
        let (messages, frames) = self.previews;
        let budget = &self.budget;
        let held = &self.messages;
        self.conns.entry(stream).or_insert_with(|| {
            let mut a = ConnApp::new();
            a.keep_detail(detail);
            a.keep_previews(messages, frames);
            a.share_budget(budget.clone());
            if let Some(l) = held {
                a.share_messages(l.clone());
            }
            if assume {
                a.assume_websocket();
            }
            a
        })
    }

    /// The application summary of a finished connection.
    pub fn finish(&mut self, s: &ConnSummary) -> Option<AppSummary> {
        self.ports.remove(&s.id);
        if let Some(a) = self.done.remove(&s.id) {
            return Some(a);
        }
        self.conns.remove(&s.id).map(|a| a.finish(s.last_frame))
    }

    /// A connection closed: its decoders' state is given up now (memory stays
    /// flat while the connection lingers), keeping only the summary.
    pub fn closed(&mut self, stream: u64, frame: u64) {
        if let Some(a) = self.conns.remove(&stream) {
            self.done.insert(stream, a.finish(frame));
        }
    }
}

impl StreamSink for Apps {
    fn data(&mut self, stream: u64, dir: Dir, frame: u64, bytes: &[u8]) {
        if self.done.contains_key(&stream) {
            return;
        }
        let mut evs = std::mem::take(&mut self.scratch);
        self.app(stream).data(dir, frame, bytes, &mut evs);
        if self.keep_events {
            self.events.extend(evs.drain(..).map(|e| (stream, e)));
        } else {
            evs.clear();
        }
        self.scratch = evs;
    }
    fn gap(&mut self, stream: u64, dir: Dir) {
        self.app(stream).gap(dir);
    }
}

/// Bytes of a TCP frame by layer: link, IP, TCP header, TCP payload (captured).
fn layer_bytes(pkt: &Packet<'_>) -> [u32; 4] {
    let Some(t) = pkt.tcp() else {
        return [pkt.data.len() as u32, 0, 0, 0];
    };
    let ip_off = match pkt.net() {
        Some(LaxNetSlice::Ipv4(v)) => pkt.offset_of(v.header().slice()),
        Some(LaxNetSlice::Ipv6(v)) => pkt.offset_of(v.header().slice()),
        _ => 0,
    };
    let tcp_off = pkt.offset_of(t.header_bytes());
    let ip = tcp_off.saturating_sub(ip_off);
    let tcp = t.header_bytes().len();
    let payload = t.payload().len();
    let link = pkt.data.len().saturating_sub(ip + tcp + payload);
    [link as u32, ip as u32, tcp as u32, payload as u32]
}

/// Runs a capture file through a view, on `threads` threads (1 or 2; see
/// [`crate::pipeline`]). The output does not depend on the number of threads.
pub fn run(
    path: &Path,
    view: &mut dyn View,
    limits: Limits,
    threads: usize,
) -> Result<(), RunError> {
    let reader = CaptureReader::open(path).map_err(RunError::Capture)?;
    let progress = Progress::for_file(path, limits.progress);
    run_capture(reader, progress, view, limits, threads)
}

/// As [`run`], for a capture already open (the bundled sample, a test's bytes).
pub fn run_capture(
    mut reader: CaptureReader,
    progress: Progress,
    view: &mut dyn View,
    limits: Limits,
    threads: usize,
) -> Result<(), RunError> {
    let limits = limits.shared();
    if let (Some(w), Some(i)) = (&limits.write, reader.info().interfaces.first()) {
        w.lock()
            .unwrap_or_else(|e| e.into_inner())
            .input_linktype(i.linktype);
    }
    let res = if threads > 1 {
        crate::pipeline::run(&mut reader, view, limits, &progress)
    } else {
        let mut direct = Direct::new(view, &limits);
        let wants = direct.view.wants_frames();
        produce(&mut reader, &limits, wants, &mut direct, &progress)
    };
    progress.finish();
    view.finish()?;
    res
}

/// Runs an open capture through a view on this thread; connection summaries
/// are handed over as connections finish and, for the rest, when the capture
/// ends (also when it ends in an error).
pub fn run_reader(
    reader: &mut dyn FrameSource,
    view: &mut dyn View,
    limits: Limits,
) -> Result<(), RunError> {
    let limits = limits.shared();
    let mut direct = Direct::new(view, &limits);
    let wants = direct.view.wants_frames();
    produce(reader, &limits, wants, &mut direct, &Progress::none())
}

/// What the reading side hands on, in capture order: stream bytes (as a
/// [`StreamSink`]), connection events and frames.
pub(crate) trait Downstream: StreamSink {
    /// Ports of a connection that may be taken for WebSocket (`--assume-websocket`).
    fn ports(&mut self, stream: u64, ports: (u16, u16));
    /// Connection `stream` closed at `frame`.
    fn closed(&mut self, stream: u64, frame: u64);
    /// Connection finished: its summary goes to the view.
    fn finished(&mut self, s: ConnSummary) -> Result<(), RunError>;
    /// The frame is done; `shown` when it passed the filter (and the view wants frames).
    fn frame(
        &mut self,
        frame: &Frame<'_>,
        packet: &Packet<'_>,
        tcp: Option<SegmentContext>,
        first_ts: Timestamp,
        shown: bool,
    ) -> Result<(), RunError>;
    /// Application events produced since the last frame are not shown.
    fn discard_events(&mut self);
}

/// The consuming side: application decoders and the view, driven directly.
pub(crate) struct Direct<'v> {
    pub apps: Apps,
    pub view: &'v mut dyn View,
    filter: Filter,
}

impl Apps {
    /// The application decoders a view needs.
    pub(crate) fn for_view(limits: &Limits, wants_frames: bool) -> Apps {
        // What the view prints of a message or a frame: walk lists them with
        // their text; packets and layers show a line of it; flows nothing.
        let previews = if limits.detail {
            (MAX_TEXT, MAX_FRAME_KEEP)
        } else if wants_frames {
            (LINE_PREVIEW, 0)
        } else {
            (0, 0)
        };
        Apps {
            assume_websocket: limits.assume_websocket.clone(),
            detail: limits.detail,
            previews,
            keep_events: wants_frames,
            messages: limits.messages.clone(),
            ..Apps::default()
        }
    }
}

impl<'v> Direct<'v> {
    pub fn new(view: &'v mut dyn View, limits: &Limits) -> Self {
        Direct {
            apps: Apps::for_view(limits, view.wants_frames()),
            view,
            filter: limits.filter.clone(),
        }
    }

    /// A connection finished whose application layer was decoded elsewhere.
    pub(crate) fn finished_with(
        &mut self,
        s: ConnSummary,
        app: Option<AppSummary>,
    ) -> Result<(), RunError> {
        if self.filter.matches_connection(&s) {
            self.view.connection(&s, app.as_ref())?;
        }
        Ok(())
    }
}

impl StreamSink for Direct<'_> {
    fn data(&mut self, stream: u64, dir: Dir, frame: u64, bytes: &[u8]) {
        self.apps.data(stream, dir, frame, bytes);
    }
    fn gap(&mut self, stream: u64, dir: Dir) {
        self.apps.gap(stream, dir);
    }
}

impl Downstream for Direct<'_> {
    fn ports(&mut self, stream: u64, ports: (u16, u16)) {
        self.apps.ports.entry(stream).or_insert(ports);
    }
    fn closed(&mut self, stream: u64, frame: u64) {
        self.apps.closed(stream, frame);
    }
    fn finished(&mut self, s: ConnSummary) -> Result<(), RunError> {
        let app = self.apps.finish(&s);
        self.finished_with(s, app)
    }
    fn frame(
        &mut self,
        frame: &Frame<'_>,
        packet: &Packet<'_>,
        tcp: Option<SegmentContext>,
        first_ts: Timestamp,
        shown: bool,
    ) -> Result<(), RunError> {
        let res = if shown {
            self.view.frame(&FrameEvent {
                frame,
                packet,
                tcp,
                first_ts,
                app: &self.apps.events,
            })
        } else {
            Ok(())
        };
        self.apps.events.clear();
        Ok(res?)
    }
    fn discard_events(&mut self) {
        self.apps.events.clear();
    }
}

/// The TCP segment a decoded packet carries, as the flow table reads it.
fn segment<'p>(
    frame: &Frame<'_>,
    packet: &'p Packet<'_>,
    offered: &'p mut Option<Offered>,
) -> Option<Segment<'p>> {
    let t = packet.tcp()?;
    let (Some(src), Some(dst)) = endpoints(packet) else {
        return None;
    };
    let cut = !t.complete();
    let wscale = tcp_options::iter(t.options(), cut).find_map(|o| match o {
        TcpOption::WindowScale(s) => Some(s),
        _ => None,
    });
    if t.has(flags::SYN) {
        *offered = Some(Offered::from_options(&tcp_options::parse(t.options(), cut)));
    }
    Some(Segment {
        frame: frame.number,
        ts: frame.ts,
        wire_len: frame.orig_len,
        src,
        dst,
        seq: t.seq(),
        ack: t.ack_number(),
        flags: t.flags(),
        window: t.window(),
        len: segment_len(packet, t.header_len()).unwrap_or(t.payload().len()) as u32,
        payload: t.payload(),
        offered: offered.as_ref(),
        wscale,
        // A header shorter than it says in a frame captured whole:
        // placed in its connection, but it moves no numbers (as tshark).
        malformed: !t.complete() && !packet.cut,
        bogus_offset: t.header_len() < 20,
        layer_bytes: layer_bytes(packet),
    })
}

/// The reading side: capture → decode → flow table, handing everything on to
/// `down` in capture order. At the end (also after an error) the connections
/// still open are finished and handed on too.
pub(crate) fn produce(
    reader: &mut dyn FrameSource,
    limits: &Limits,
    wants_frames: bool,
    down: &mut dyn Downstream,
    progress: &Progress,
) -> Result<(), RunError> {
    let mut flows = match limits.max_connections {
        Some(n) => FlowTable::with_capacity(n),
        None => FlowTable::default(),
    };
    let res = read_all(reader, limits, wants_frames, &mut flows, down, progress);
    progress.finish();
    let mut fin = Ok(());
    for s in flows.finish(down) {
        if let Err(e) = down.finished(s) {
            fin = Err(e);
            break;
        }
    }
    res.and(fin)
}

fn read_all(
    reader: &mut dyn FrameSource,
    limits: &Limits,
    wants_frames: bool,
    flows: &mut FlowTable,
    down: &mut dyn Downstream,
    progress: &Progress,
) -> Result<(), RunError> {
    let started = std::time::Instant::now();
    let mut first_ts: Option<Timestamp> = None;
    let mut seen = 0u64;
    let assume = !limits.assume_websocket.is_empty();
    while let Some(next) = reader.next_frame() {
        let frame = next.map_err(RunError::Capture)?;
        let first = *first_ts.get_or_insert(frame.ts);
        let packet = Packet::decode(&frame);
        let mut offered = None;
        let tcp = segment(&frame, &packet, &mut offered).map(|seg| {
            if assume {
                down.ports(flows.peek_stream(&seg), (seg.src.port, seg.dst.port));
            }
            flows.observe(&seg, down)
        });
        for id in flows.take_closed() {
            down.closed(id, frame.number);
        }
        flows.sweep(frame.ts, down);
        for s in flows.take_finished() {
            down.finished(s)?;
        }
        let kept = limits.filter.matches_packet(&packet, tcp.as_ref());
        if kept && let Some(w) = &limits.write {
            let mut w = w.lock().unwrap_or_else(|e| e.into_inner());
            w.write(&frame)
                .map_err(|e| io::Error::new(e.kind(), format!("writing the -w file: {e}")))?;
        }
        down.frame(&frame, &packet, tcp, first, wants_frames && kept)?;
        // Live: a connection is reported as soon as it has closed (after the
        // view has seen the segment that closed it).
        if limits.live && tcp.is_some_and(|c| matches!(c.role, Role::Fin | Role::Rst | Role::Ack)) {
            for s in flows.finish_closed(down) {
                down.finished(s)?;
            }
            down.discard_events();
        }
        seen += u64::from(kept);
        progress.update(
            frame.number,
            frame.offset + frame.data.len() as u64,
            started,
            flows.open(),
        );
        if limits.count.is_some_and(|c| seen >= c)
            || limits.last_frame.is_some_and(|l| frame.number >= l)
        {
            break;
        }
    }
    Ok(())
}
