//! Views: pure functions of what the earlier stages found. Nothing here parses
//! packet bytes; everything printed from the wire is escaped first.

pub mod appline;
pub mod count;
pub mod escape;
pub mod flows;
pub mod json;
pub mod json_members;
pub mod json_write;
pub mod layers;
pub mod line;
pub mod messages;
pub mod order;
pub mod packets;
pub mod record;
pub mod spill;
pub mod style;
pub mod walk;

use std::io;

use crate::capture::{Frame, Timestamp};
use crate::decode::Packet;
use crate::flow::{ConnSummary, SegmentContext};
use crate::proto::stack::{AppEvent, AppSummary};

/// The output format of the table views.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// What a view is handed for each frame.
pub struct FrameEvent<'e, 'a> {
    pub frame: &'e Frame<'a>,
    pub packet: &'e Packet<'a>,
    pub tcp: Option<SegmentContext>,
    /// Time of the first frame of the capture (relative times start there).
    pub first_ts: Timestamp,
    /// What the application layer found in this frame's bytes, by connection.
    pub app: &'e [(u64, AppEvent)],
}

/// Renders one frame's record by itself, as the view would print it.
pub type FrameRenderer = fn(&FrameEvent<'_, '_>, &mut Vec<u8>) -> io::Result<()>;

pub trait View {
    fn frame(&mut self, ev: &FrameEvent<'_, '_>) -> io::Result<()>;
    /// For a view whose record of a frame depends on that frame alone: how to
    /// render it elsewhere. The reading thread then renders frames itself
    /// while the printing thread is behind, and hands over the bytes.
    fn frame_renderer(&self) -> Option<FrameRenderer> {
        None
    }
    /// Prints a frame rendered by [`Self::frame_renderer`], in its place.
    fn rendered(&mut self, _bytes: &[u8]) -> io::Result<()> {
        Ok(())
    }
    /// False for a view that only reports connections: frames are then not
    /// handed over at all (which spares copying them between threads).
    fn wants_frames(&self) -> bool {
        true
    }
    /// True for a view that reads a frame's headers but not its TCP payload
    /// (only the payload's lengths, in [`SegmentContext`]): a frame captured
    /// whole then reaches it on another thread without its payload bytes,
    /// which spares copying most of the capture between threads.
    fn frame_headers(&self) -> bool {
        false
    }
    /// True for a view that prints a frame in one short line: the printing
    /// thread then has room to decode part of the application layer.
    fn light_frames(&self) -> bool {
        false
    }
    /// A connection is finished (or the capture ended): its summary, and what
    /// the application layer found on it.
    fn connection(&mut self, _summary: &ConnSummary, _app: Option<&AppSummary>) -> io::Result<()> {
        Ok(())
    }
    /// [`Self::connection`], handed the summaries to keep: a view may render
    /// them later (several at once, on several threads), in the same order.
    fn connection_owned(
        &mut self,
        summary: ConnSummary,
        app: Option<AppSummary>,
    ) -> io::Result<()> {
        self.connection(&summary, app.as_ref())
    }
    /// A connection the filter leaves out of the listing: a view may still
    /// need its facts (a Socket.IO session that spans it and a listed one).
    fn unlisted(&mut self, _summary: &ConnSummary, _app: Option<&AppSummary>) {}
    /// Called once at the end, also when the capture ended in an error.
    fn finish(&mut self) -> io::Result<()>;
}

/// Seconds between two timestamps, with nanosecond digits kept exact.
pub fn rel_seconds(ts: Timestamp, first: Timestamp) -> String {
    let d = ts.since(first);
    let neg = d < 0;
    let d = d.unsigned_abs();
    let mut s = String::with_capacity(24);
    if neg {
        s.push('-');
    }
    // The remainder is below 10^9: it fits a u32.
    crate::text::push_secs_nanos(&mut s, d / 1_000_000_000, (d % 1_000_000_000) as u32);
    s
}
