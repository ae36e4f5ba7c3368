//! What travels between the threads of a run ([`super::pipeline`]): batches
//! of recorded calls, and which connections each thread decodes.

use crate::capture::{Frame, FrameKind, Timestamp};
use crate::flow::{ConnSummary, Dir, Moment, SegmentContext, StreamSink};
use crate::proto::stack::{AppEvent, AppSummary};

use super::analyzers::Analyzers;

/// Which connections a thread decodes: those whose number, modulo `wheel`,
/// falls in `from..to`. Connections are numbered in the order of their first
/// frame, so consecutive numbers spread the work evenly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Owner {
    pub(super) wheel: u64,
    pub(super) from: u64,
    pub(super) to: u64,
}

impl Owner {
    pub(super) fn owns(&self, stream: u64) -> bool {
        (self.from..self.to).contains(&(stream % self.wheel))
    }

    /// Every connection.
    pub(super) fn all(&self) -> bool {
        self.from == 0 && self.to == self.wheel
    }
}

/// One recorded call; byte ranges point into the batch's arena.
pub(super) enum Op {
    Data {
        stream: u64,
        dir: Dir,
        at: Moment,
        start: usize,
        end: usize,
    },
    Gap {
        stream: u64,
        dir: Dir,
        at: Moment,
    },
    End {
        stream: u64,
        dir: Dir,
        at: Moment,
    },
    Ports {
        stream: u64,
        ports: (u16, u16),
    },
    Closed {
        stream: u64,
        frame: u64,
    },
    Finished(Box<ConnSummary>),
    /// A finished connection whose application layer a thread before the
    /// printing one decoded.
    FinishedWith(Box<(ConnSummary, Option<AppSummary>)>),
    /// Application events a thread before the printing one found, in the
    /// order they were found.
    Events(Vec<(u64, AppEvent)>),
    /// A frame the view shows: its place in the batch's `shown`, its bytes
    /// in the arena.
    Shown(usize),
    /// A frame the view does not show: its application events are dropped.
    Hidden,
    /// A frame rendered by a thread before the printing one: its bytes in
    /// the arena.
    Rendered {
        start: usize,
        end: usize,
    },
}

impl Op {
    /// The connection of a call on its decoders (data, gap, end, ports,
    /// closed).
    pub(super) fn stream(&self) -> Option<u64> {
        match self {
            Op::Data { stream, .. }
            | Op::Gap { stream, .. }
            | Op::End { stream, .. }
            | Op::Ports { stream, .. }
            | Op::Closed { stream, .. } => Some(*stream),
            _ => None,
        }
    }

    /// Makes a call on a connection's decoders, its bytes in `arena`; false,
    /// doing nothing, for any other op.
    pub(super) fn call(&self, arena: &[u8], to: &mut Analyzers) -> bool {
        match *self {
            Op::Data {
                stream,
                dir,
                at,
                start,
                end,
            } => to.data(stream, dir, &at, arena.get(start..end).unwrap_or_default()),
            Op::Gap { stream, dir, at } => to.gap(stream, dir, &at),
            Op::End { stream, dir, at } => to.end(stream, dir, &at),
            Op::Ports { stream, ports } => to.ports(stream, ports),
            Op::Closed { stream, frame } => to.closed(stream, frame),
            _ => return false,
        }
        true
    }
}

/// Takes into `into` the events of the frame whose calls begin at `start` in
/// `ops`, when every call of it was decoded by now (nothing but events since
/// `start`), so that the frame can be rendered here; false, leaving `ops`
/// as they are, when a call still waits for a later thread.
pub(super) fn take_frame_events(
    ops: &mut Vec<Op>,
    start: usize,
    into: &mut Vec<(u64, AppEvent)>,
) -> bool {
    let decoded = ops
        .get(start..)
        .is_some_and(|o| o.iter().all(|op| matches!(op, Op::Events(_))));
    if decoded {
        for op in ops.drain(start..) {
            if let Op::Events(mut evs) = op {
                into.append(&mut evs);
            }
        }
    }
    decoded
}

#[derive(Clone)]
pub(super) struct ShownFrame {
    number: u64,
    kind: FrameKind,
    ts: Timestamp,
    linktype: u32,
    interface: u32,
    orig_len: u32,
    offset: u64,
    start: usize,
    end: usize,
    pub(super) tcp: Option<SegmentContext>,
    pub(super) first_ts: Timestamp,
}

impl ShownFrame {
    /// `frame`, whose bytes are at `start..end` in the arena.
    pub(super) fn new(
        frame: &Frame<'_>,
        (start, end): (usize, usize),
        tcp: Option<SegmentContext>,
        first_ts: Timestamp,
    ) -> ShownFrame {
        ShownFrame {
            number: frame.number,
            kind: frame.kind,
            ts: frame.ts,
            linktype: frame.linktype,
            interface: frame.interface,
            orig_len: frame.orig_len,
            offset: frame.offset,
            start,
            end,
            tcp,
            first_ts,
        }
    }

    /// The frame, its bytes in `arena`.
    pub(super) fn frame<'a>(&self, arena: &'a [u8]) -> Frame<'a> {
        Frame {
            number: self.number,
            kind: self.kind,
            ts: self.ts,
            linktype: self.linktype,
            interface: self.interface,
            orig_len: self.orig_len,
            data: arena.get(self.start..self.end).unwrap_or_default(),
            offset: self.offset,
        }
    }
}

#[derive(Default)]
pub(super) struct Batch {
    pub(super) ops: Vec<Op>,
    pub(super) arena: Vec<u8>,
    /// The frames of its [`Op::Shown`]: kept beside the ops rather than
    /// boxed in them, so that a batch reused takes no allocation per frame
    /// (and the printing thread frees none the reading thread made).
    pub(super) shown: Vec<ShownFrame>,
    /// Bytes held by the ops beyond the arena (application events and
    /// summaries), weighed so that a batch of few but large items is sent
    /// as soon as one of many small ones.
    pub(super) held: usize,
}

/// When frames are rendered before the printing thread, and when a worker
/// sends on part of a batch; tests change them to reach every path.
#[derive(Clone, Copy)]
pub(super) struct Tuning {
    /// Batches waiting at the next thread from which a thread renders frames
    /// (normally [`super::pipeline::BEHIND`]).
    pub(super) behind: usize,
    /// Bytes of events a worker adds to a batch before sending part of it
    /// (normally [`super::pipeline::BATCH_BYTES`]).
    pub(super) split: usize,
}
