//! The driver: capture → decode → flow → view, one frame at a time.

use std::io;
use std::net::IpAddr;
use std::path::Path;

use etherparse::{LaxNetSlice, TransportSlice};

use crate::capture::{CaptureError, CaptureReader, Timestamp};
use crate::decode::Packet;
use crate::decode::detail::segment_len;
use crate::decode::tcp_options::{self, TcpOption};
use crate::flow::{ConnSummary, Endpoint, FlowTable, Offered, Segment, SegmentContext, flags};
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
    reader: &mut CaptureReader,
    view: &mut dyn View,
    limits: Limits,
) -> Result<(), RunError> {
    let mut flows = match limits.max_connections {
        Some(n) => FlowTable::with_capacity(n),
        None => FlowTable::default(),
    };
    let res = read_all(reader, view, &limits, &mut flows);
    for s in flows.finish() {
        if limits.filter.matches_connection(&s) {
            view.connection(&s)?;
        }
    }
    res
}

fn read_all(
    reader: &mut CaptureReader,
    view: &mut dyn View,
    limits: &Limits,
    flows: &mut FlowTable,
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
            let opts = tcp_options::parse(t.options(), !t.complete());
            let wscale = opts.iter().find_map(|o| match o {
                TcpOption::WindowScale(s) => Some(*s),
                _ => None,
            });
            let offered = syn.then(|| Offered::from_options(&opts));
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
            };
            Some(flows.observe(&seg))
        });
        for s in flows.take_finished() {
            if limits.filter.matches_connection(&s) {
                view.connection(&s)?;
            }
        }
        if limits.filter.matches_packet(&packet, tcp.as_ref()) {
            view.frame(&FrameEvent {
                frame: &frame,
                packet: &packet,
                tcp,
                first_ts: first,
            })?;
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
