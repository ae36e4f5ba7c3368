//! The consuming side of a run: the analyzers of the connections it decodes
//! and the view, driven in capture order. On one thread it is the reading
//! side's [`Downstream`] itself; on two, the pipeline replays into it.

use crate::capture::{Frame, FrameSource, Timestamp};
use crate::decode::Packet;
use crate::flow::{ConnSummary, Dir, Moment, SegmentContext, StreamSink};
use crate::proto::stack::AppSummary;
use crate::report::{FrameEvent, View};

use super::analyzers::Analyzers;
use super::core::{Downstream, produce};
use super::options::{Filter, RunError, RunOptions, Tally};
use super::progress::Progress;

/// The analyzers and the view of a run.
pub(crate) struct Consumer<'v> {
    pub analyzers: Analyzers,
    pub view: &'v mut dyn View,
    filter: Filter,
    tally: std::sync::Arc<Tally>,
}

impl<'v> Consumer<'v> {
    pub fn new(view: &'v mut dyn View, opts: &RunOptions) -> Self {
        Consumer {
            analyzers: Analyzers::for_view(opts, view.wants_frames()),
            view,
            filter: opts.filter.clone(),
            tally: opts.tally.clone(),
        }
    }

    /// A connection finished whose analyzers ran elsewhere.
    pub fn finished_with(
        &mut self,
        s: ConnSummary,
        app: Option<AppSummary>,
    ) -> Result<(), RunError> {
        use std::sync::atomic::Ordering::Relaxed;
        self.tally.connections.fetch_add(1, Relaxed);
        if self.filter.matches_connection(&s) {
            self.tally.listed.fetch_add(1, Relaxed);
            self.view.connection_owned(s, app)?;
        } else {
            self.view.unlisted(&s, app.as_ref());
        }
        Ok(())
    }
}

impl StreamSink for Consumer<'_> {
    fn data(&mut self, stream: u64, dir: Dir, at: &Moment, bytes: &[u8]) {
        self.analyzers.data(stream, dir, at, bytes);
    }
    fn gap(&mut self, stream: u64, dir: Dir, at: &Moment) {
        self.analyzers.gap(stream, dir, at);
    }
    fn end(&mut self, stream: u64, dir: Dir, at: &Moment) {
        self.analyzers.end(stream, dir, at);
    }
}

impl Downstream for Consumer<'_> {
    fn ports(&mut self, stream: u64, ports: (u16, u16)) {
        self.analyzers.ports(stream, ports);
    }
    fn closed(&mut self, stream: u64, frame: u64) {
        self.analyzers.closed(stream, frame);
    }
    fn finished(&mut self, s: ConnSummary) -> Result<(), RunError> {
        let app = self.analyzers.finish(&s);
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
                app: &self.analyzers.events,
            })
        } else {
            Ok(())
        };
        self.analyzers.events.clear();
        Ok(res?)
    }
    fn discard_events(&mut self) {
        self.analyzers.events.clear();
    }
}

/// Runs `source` through `view` on this thread. Connection summaries are
/// handed over as connections finish and, for the rest, when the source
/// ends (also when it ends in an error).
pub fn run(
    source: &mut dyn FrameSource,
    view: &mut dyn View,
    opts: &RunOptions,
    progress: &Progress,
) -> Result<(), RunError> {
    let mut consumer = Consumer::new(view, opts);
    let wants = consumer.view.wants_frames();
    produce(source, opts, wants, &mut consumer, progress)
}
