//! The driver: capture → decode → flow → view, one frame at a time.

use std::io;
use std::net::IpAddr;
use std::path::Path;

use etherparse::{LaxNetSlice, TransportSlice};

use crate::capture::{CaptureError, CaptureReader, FrameSource, Timestamp};
use crate::decode::Packet;
use crate::decode::detail::segment_len;
use crate::decode::tcp_options::{self, TcpOption};
use foldhash::HashMap;

use crate::flow::{
    ConnSummary, Dir, Endpoint, FlowTable, Offered, Role, Segment, SegmentContext, StreamSink,
    flags,
};
use crate::proto::app::{AppEvent, AppSummary, ConnApp};
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
    /// Stop after this many frames.
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
    /// Which connections get an assumption check when they open.
    ports: HashMap<u64, (u16, u16)>,
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
        self.conns.entry(stream).or_insert_with(|| {
            let mut a = ConnApp::new();
            a.keep_detail(detail);
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
        self.events.extend(evs.drain(..).map(|e| (stream, e)));
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

/// Runs a capture file through a view.
pub fn run(path: &Path, view: &mut dyn View, limits: Limits) -> Result<(), RunError> {
    let mut reader = CaptureReader::open(path).map_err(RunError::Capture)?;
    let res = run_reader(&mut reader, view, limits);
    view.finish()?;
    res
}

/// Runs an open capture through a view; connection summaries are handed over
/// as connections finish and, for the rest, when the capture ends (also when
/// it ends in an error).
pub fn run_reader(
    reader: &mut dyn FrameSource,
    view: &mut dyn View,
    limits: Limits,
) -> Result<(), RunError> {
    let mut flows = match limits.max_connections {
        Some(n) => FlowTable::with_capacity(n),
        None => FlowTable::default(),
    };
    let mut apps = Apps {
        assume_websocket: limits.assume_websocket.clone(),
        detail: limits.detail,
        ..Apps::default()
    };
    let res = read_all(reader, view, &limits, &mut flows, &mut apps);
    for s in flows.finish(&mut apps) {
        let app = apps.finish(&s);
        if limits.filter.matches_connection(&s) {
            view.connection(&s, app.as_ref())?;
        }
    }
    res
}

fn read_all(
    reader: &mut dyn FrameSource,
    view: &mut dyn View,
    limits: &Limits,
    flows: &mut FlowTable,
    apps: &mut Apps,
) -> Result<(), RunError> {
    let mut first_ts: Option<Timestamp> = None;
    let mut seen = 0u64;
    while let Some(next) = reader.next_frame() {
        let frame = next.map_err(RunError::Capture)?;
        let first = *first_ts.get_or_insert(frame.ts);
        let packet = Packet::decode(&frame);
        let tcp = packet.tcp().and_then(|t| {
            let (Some(src), Some(dst)) = endpoints(&packet) else {
                return None;
            };
            let syn = t.has(flags::SYN);
            let cut = !t.complete();
            let wscale = tcp_options::iter(t.options(), cut).find_map(|o| match o {
                TcpOption::WindowScale(s) => Some(s),
                _ => None,
            });
            let offered = syn.then(|| Offered::from_options(&tcp_options::parse(t.options(), cut)));
            let seg = Segment {
                frame: frame.number,
                ts: frame.ts,
                wire_len: frame.orig_len,
                src,
                dst,
                seq: t.seq(),
                ack: t.ack_number(),
                flags: t.flags(),
                window: t.window(),
                len: segment_len(&packet, t.header_len()).unwrap_or(t.payload().len()) as u32,
                payload: t.payload(),
                offered: offered.as_ref(),
                wscale,
                // A header shorter than it says in a frame captured whole:
                // placed in its connection, but it moves no numbers (as tshark).
                malformed: !t.complete() && !packet.cut,
                bogus_offset: t.header_len() < 20,
                layer_bytes: layer_bytes(&packet),
            };
            if !apps.assume_websocket.is_empty() {
                apps.ports
                    .entry(flows.peek_stream(&seg))
                    .or_insert((src.port, dst.port));
            }
            Some(flows.observe(&seg, apps))
        });
        for id in flows.take_closed() {
            apps.closed(id, frame.number);
        }
        flows.sweep(frame.ts, apps);
        for s in flows.take_finished() {
            let app = apps.finish(&s);
            if limits.filter.matches_connection(&s) {
                view.connection(&s, app.as_ref())?;
            }
        }
        if limits.filter.matches_packet(&packet, tcp.as_ref()) {
            view.frame(&FrameEvent {
                frame: &frame,
                packet: &packet,
                tcp,
                first_ts: first,
                app: &apps.events,
            })?;
        }
        apps.events.clear();
        // Live: a connection is reported as soon as it has closed (after the
        // view has seen the segment that closed it).
        if limits.live && tcp.is_some_and(|c| matches!(c.role, Role::Fin | Role::Rst | Role::Ack)) {
            for s in flows.finish_closed(apps) {
                let app = apps.finish(&s);
                if limits.filter.matches_connection(&s) {
                    view.connection(&s, app.as_ref())?;
                }
            }
            apps.events.clear();
        }
        seen += 1;
        if limits.count.is_some_and(|c| seen >= c)
            || limits.last_frame.is_some_and(|l| frame.number >= l)
        {
            break;
        }
    }
    Ok(())
}
