//! The reading side of a run, the same on one thread or two: capture →
//! decode → flow table, one frame at a time, handing everything on to a
//! [`Downstream`] in capture order.

use std::io;

use etherparse::LaxNetSlice;

use crate::capture::{Frame, FrameSource, Timestamp};
use crate::decode::tcp_options::{self, TcpOption};
use crate::decode::{Packet, segment_len};
use crate::flow::{
    ConnSummary, FlowTable, Offered, Role, Segment, SegmentContext, StreamSink, flags,
};

use super::options::{RunError, RunOptions, endpoints};
use super::progress::Progress;

/// What the reading side hands on, in capture order: stream bytes (as a
/// [`StreamSink`]), connection events and frames.
pub(crate) trait Downstream: StreamSink {
    /// Ports of a connection, when the registry may choose its first
    /// analyzer by port (`--decode-as`).
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

/// The TCP segment a decoded packet carries, as the flow table reads it.
pub(super) fn segment<'p>(
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
    opts: &RunOptions,
    wants_frames: bool,
    down: &mut dyn Downstream,
    progress: &Progress,
) -> Result<(), RunError> {
    let mut flows = match opts.max_connections {
        Some(n) => FlowTable::with_capacity(n),
        None => FlowTable::default(),
    };
    let res = read_all(reader, opts, wants_frames, &mut flows, down, progress);
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
    opts: &RunOptions,
    wants_frames: bool,
    flows: &mut FlowTable,
    down: &mut dyn Downstream,
    progress: &Progress,
) -> Result<(), RunError> {
    let started = std::time::Instant::now();
    let mut first_ts: Option<Timestamp> = None;
    let mut seen = 0u64;
    let by_port = !opts.decode_as.is_empty();
    while let Some(next) = reader.next_frame() {
        let frame = next.map_err(RunError::Capture)?;
        let first = *first_ts.get_or_insert(frame.ts);
        let packet = Packet::decode(&frame);
        let mut offered = None;
        let tcp = segment(&frame, &packet, &mut offered).map(|seg| {
            if by_port {
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
        let kept = opts.filter.matches_packet(&packet, tcp.as_ref());
        if kept && let Some(w) = &opts.write {
            let mut w = w.lock().unwrap_or_else(|e| e.into_inner());
            w.write(&frame)
                .map_err(|e| io::Error::new(e.kind(), format!("writing the -w file: {e}")))?;
        }
        down.frame(&frame, &packet, tcp, first, wants_frames && kept)?;
        // Live: a connection is reported as soon as it has closed (after the
        // view has seen the segment that closed it).
        if opts.live && tcp.is_some_and(|c| matches!(c.role, Role::Fin | Role::Rst | Role::Ack)) {
            for s in flows.finish_closed(down) {
                down.finished(s)?;
            }
            down.discard_events();
        }
        seen += u64::from(kept);
        opts.tally
            .frames
            .store(frame.number, std::sync::atomic::Ordering::Relaxed);
        progress.update(
            frame.number,
            frame.offset + frame.data.len() as u64,
            started,
            flows.open(),
        );
        if opts.count.is_some_and(|c| seen >= c)
            || opts.last_frame.is_some_and(|l| frame.number >= l)
        {
            break;
        }
    }
    Ok(())
}
