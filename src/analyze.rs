//! The driver: capture → decode → flow → view, one frame at a time.

use std::io;
use std::path::Path;

use etherparse::LaxNetSlice;

use crate::capture::{CaptureError, CaptureReader, Timestamp};
use crate::decode::Packet;
use crate::decode::tcp::{ACK, SYN};
use crate::flow::{Endpoint, Segment, SegmentContext, Tracker};
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

/// When to stop reading before the end of the capture.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    /// Stop after this many frames.
    pub count: Option<u64>,
    /// Stop after this frame number.
    pub last_frame: Option<u64>,
}

/// The TCP facts of a packet, if it is a TCP segment.
pub fn tcp_segment(pkt: &Packet<'_>) -> Option<Segment> {
    let t = pkt.tcp()?;
    let (src, dst) = match pkt.net()? {
        LaxNetSlice::Ipv4(v) => {
            let h = v.header();
            (h.source_addr().into(), h.destination_addr().into())
        }
        LaxNetSlice::Ipv6(v) => {
            let h = v.header();
            (h.source_addr().into(), h.destination_addr().into())
        }
        LaxNetSlice::Arp(_) => return None,
    };
    Some(Segment {
        src: Endpoint {
            addr: src,
            port: t.src_port(),
        },
        dst: Endpoint {
            addr: dst,
            port: t.dst_port(),
        },
        seq: t.seq(),
        ack: t.ack_number(),
        syn: t.has(SYN),
        ack_flag: t.has(ACK),
    })
}

/// Runs a capture file through a view.
pub fn run(path: &Path, view: &mut dyn View, limits: Limits) -> Result<(), RunError> {
    let mut reader = CaptureReader::open(path).map_err(RunError::Capture)?;
    let res = run_reader(&mut reader, view, limits);
    view.finish()?;
    res
}

pub fn run_reader(
    reader: &mut CaptureReader,
    view: &mut dyn View,
    limits: Limits,
) -> Result<(), RunError> {
    let mut tracker = Tracker::default();
    let mut first_ts: Option<Timestamp> = None;
    let mut seen = 0u64;
    while let Some(next) = reader.next_frame() {
        let frame = next.map_err(RunError::Capture)?;
        let first = *first_ts.get_or_insert(frame.ts);
        let packet = Packet::decode(&frame);
        // A TCP header shorter than it says in a frame captured whole is
        // malformed: it is placed in its connection but moves no numbers.
        let malformed = packet.tcp().is_some_and(|t| !t.complete() && !packet.cut);
        let tcp: Option<SegmentContext> = tcp_segment(&packet).map(|s| {
            if malformed {
                tracker.observe_malformed(&s)
            } else {
                tracker.observe(&s)
            }
        });
        view.frame(&FrameEvent {
            frame: &frame,
            packet: &packet,
            tcp,
            first_ts: first,
        })?;
        seen += 1;
        if limits.count.is_some_and(|c| seen >= c)
            || limits.last_frame.is_some_and(|l| frame.number >= l)
        {
            break;
        }
    }
    Ok(())
}
