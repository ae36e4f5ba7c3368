//! The driver on two threads, for capture files. One thread reads the
//! capture, decodes each packet and follows TCP (reassembly included); the
//! other runs the view. The reading thread records, in capture order, every
//! call the one-thread driver would have made next; the other replays them,
//! so the output is the same byte for byte.
//!
//! The application decoders (HTTP, WebSocket with inflate, Engine.IO and
//! Socket.IO) run where there is room: a view that prints every frame is the
//! heavier side, so the reading thread decodes every connection's application
//! layer and sends the events; for `flows`, which prints only connections, it
//! decodes one connection in [`FLOWS_SHARE`] and the other thread the rest. A
//! connection is decoded on one thread from its first byte to its end.
//!
//! Memory: the recorded calls travel in batches that own copies of the
//! stream bytes and of the frames the view shows. A batch is sent once it
//! holds [`BATCH_BYTES`] bytes or [`BATCH_OPS`] calls (at a frame boundary,
//! so a frame never straddles two), and at most [`QUEUE`] batches wait, so a
//! slow view holds the reader back instead of letting memory grow. Spent
//! batches go back to the reader and are reused.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::capture::{CaptureReader, Frame, FrameKind, Timestamp};
use crate::decode::Packet;
use crate::flow::{ConnSummary, Dir, Moment, SegmentContext, StreamSink};
use crate::proto::stack::{AppEvent, AppSummary};
use crate::report::{FrameEvent, FrameRenderer, View};

use super::analyzers::Analyzers;
use super::core::{Downstream, produce};
use super::options::{RunError, RunOptions};
use super::progress::Progress;
use super::single::Consumer;

/// Bytes (stream data and shown frames) after which a batch is sent.
pub const BATCH_BYTES: usize = 256 * 1024;
/// Recorded calls after which a batch is sent.
pub const BATCH_OPS: usize = 4096;
/// Batches in flight between the threads.
pub const QUEUE: usize = 4;
/// With a view that prints only connections, the reading thread decodes the
/// application layer of connections whose number is a multiple of this (it
/// already reads, decodes and reassembles: about half the work, measured on the
/// benchmark captures).
pub const FLOWS_SHARE: u64 = 3;
/// The same for a view that prints frames cheaply (one line each): the
/// reading thread decodes every second connection.
pub const LIGHT_SHARE: u64 = 2;
/// Batches waiting at the printing thread from which the reading thread
/// renders frames itself (when the view allows it).
pub const BEHIND: usize = 2;

/// One recorded call; byte ranges point into the batch's arena.
enum Op {
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
    /// A finished connection whose application layer this side decoded.
    FinishedWith(Box<(ConnSummary, Option<AppSummary>)>),
    /// Application events this side found, in the order they were found.
    Events(Vec<(u64, AppEvent)>),
    /// A frame the view shows, its bytes in the arena.
    Shown(Box<ShownFrame>),
    /// A frame the view does not show: its application events are dropped.
    Hidden,
    /// A frame rendered by the reading thread: its bytes in the arena.
    Rendered {
        start: usize,
        end: usize,
    },
}

struct ShownFrame {
    number: u64,
    kind: FrameKind,
    ts: Timestamp,
    linktype: u32,
    interface: u32,
    orig_len: u32,
    offset: u64,
    start: usize,
    end: usize,
    tcp: Option<SegmentContext>,
    first_ts: Timestamp,
}

#[derive(Default)]
struct Batch {
    ops: Vec<Op>,
    arena: Vec<u8>,
    /// Bytes held by the ops beyond the arena (application events and
    /// summaries), weighed so that a batch of few but large items is sent
    /// as soon as one of many small ones.
    held: usize,
}

/// The reading side's [`Downstream`]: records calls into batches.
struct Recorder {
    /// Application decoders of the connections this side owns.
    analyzers: Analyzers,
    /// This side owns connections whose number is a multiple of this (1: all).
    share: u64,
    batch: Batch,
    tx: SyncSender<Batch>,
    spent: Receiver<Batch>,
    /// The consumer has stopped (an output error): reading stops too.
    gone: bool,
    /// Batches sent and not yet taken up by the printing thread.
    waiting: Arc<AtomicUsize>,
    renderer: Option<FrameRenderer>,
    behind: usize,
    /// Where the current frame's calls begin in the batch; None once a batch
    /// was sent within the frame.
    frame_start: Option<usize>,
    /// The events of a frame rendered here, when connections are shared.
    mine: Vec<(u64, AppEvent)>,
}

impl Recorder {
    fn owns(&self, stream: u64) -> bool {
        stream.is_multiple_of(self.share)
    }

    /// Moves the events the last call produced into the batch, in place. When
    /// this side decodes every connection, they wait for the frame instead (a
    /// frame rendered here needs them).
    fn take_events(&mut self) {
        if self.share != 1 && !self.analyzers.events.is_empty() {
            let evs = std::mem::take(&mut self.analyzers.events);
            self.batch.held += evs.iter().map(|(_, e)| e.weight()).sum::<usize>();
            self.batch.ops.push(Op::Events(evs));
        }
    }

    fn push_bytes(&mut self, bytes: &[u8]) -> (usize, usize) {
        let start = self.batch.arena.len();
        self.batch.arena.extend_from_slice(bytes);
        (start, self.batch.arena.len())
    }

    /// Sends the batch if it is full enough (or `force`).
    fn flush(&mut self, force: bool) -> Result<(), RunError> {
        let full = self.batch.arena.len() + self.batch.held >= BATCH_BYTES
            || self.batch.ops.len() >= BATCH_OPS;
        if self.gone || !(full || force) || self.batch.ops.is_empty() {
            return self.check();
        }
        let mut next = self.spent.try_recv().unwrap_or_default();
        next.ops.clear();
        next.arena.clear();
        next.held = 0;
        // A batch that once took a large delivery does not keep its size.
        next.arena.shrink_to(2 * BATCH_BYTES);
        next.ops.shrink_to(2 * BATCH_OPS);
        let batch = std::mem::replace(&mut self.batch, next);
        self.frame_start = None;
        self.waiting.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(batch).is_err() {
            self.gone = true;
        }
        self.check()
    }

    /// The frame's last call: the next frame's calls start here.
    fn end_frame(&mut self) -> Result<(), RunError> {
        let res = self.flush(false);
        self.frame_start = Some(self.batch.ops.len());
        res
    }

    /// Whether this side holds every application event of the current frame,
    /// and so may render it. When connections are shared, that is when every
    /// call of the frame went to a connection of this side: their events,
    /// already in the batch, are taken back into `mine`.
    fn local_frame(&mut self) -> bool {
        if self.share == 1 {
            return true;
        }
        let Some(start) = self.frame_start else {
            return false;
        };
        let Some(ops) = self.batch.ops.get(start..) else {
            return false;
        };
        if !ops.iter().all(|op| matches!(op, Op::Events(_))) {
            return false;
        }
        for op in self.batch.ops.drain(start..) {
            if let Op::Events(mut evs) = op {
                self.mine.append(&mut evs);
            }
        }
        true
    }

    fn check(&self) -> Result<(), RunError> {
        if self.gone {
            // The consumer's own error is the one reported.
            Err(RunError::Output(std::io::Error::other("output stopped")))
        } else {
            Ok(())
        }
    }
}

impl StreamSink for Recorder {
    fn data(&mut self, stream: u64, dir: Dir, at: &Moment, bytes: &[u8]) {
        if self.owns(stream) {
            self.analyzers.data(stream, dir, at, bytes);
            self.take_events();
            return;
        }
        let (start, end) = self.push_bytes(bytes);
        self.batch.ops.push(Op::Data {
            stream,
            dir,
            at: *at,
            start,
            end,
        });
    }
    fn gap(&mut self, stream: u64, dir: Dir, at: &Moment) {
        if self.owns(stream) {
            self.analyzers.gap(stream, dir, at);
            self.take_events();
        } else {
            self.batch.ops.push(Op::Gap {
                stream,
                dir,
                at: *at,
            });
        }
    }
    fn end(&mut self, stream: u64, dir: Dir, at: &Moment) {
        if self.owns(stream) {
            self.analyzers.end(stream, dir, at);
            self.take_events();
        } else {
            self.batch.ops.push(Op::End {
                stream,
                dir,
                at: *at,
            });
        }
    }
}

impl Downstream for Recorder {
    fn ports(&mut self, stream: u64, ports: (u16, u16)) {
        if self.owns(stream) {
            self.analyzers.ports(stream, ports);
        } else {
            self.batch.ops.push(Op::Ports { stream, ports });
        }
    }
    fn closed(&mut self, stream: u64, frame: u64) {
        if self.owns(stream) {
            self.analyzers.closed(stream, frame);
            self.take_events();
        } else {
            self.batch.ops.push(Op::Closed { stream, frame });
        }
    }
    fn finished(&mut self, s: ConnSummary) -> Result<(), RunError> {
        if self.owns(s.id) {
            let app = self.analyzers.finish(&s);
            self.take_events();
            self.batch.held += app.as_ref().map_or(0, AppSummary::weight);
            self.batch.ops.push(Op::FinishedWith(Box::new((s, app))));
        } else {
            self.batch.ops.push(Op::Finished(Box::new(s)));
        }
        // At the end of a capture every open connection finishes at once.
        self.flush(false)
    }
    fn frame(
        &mut self,
        frame: &Frame<'_>,
        packet: &Packet<'_>,
        tcp: Option<SegmentContext>,
        first_ts: Timestamp,
        shown: bool,
    ) -> Result<(), RunError> {
        let behind = self.waiting.load(Ordering::Relaxed) >= self.behind;
        if let Some(render) = self
            .renderer
            .filter(|_| shown && behind && self.local_frame())
        {
            let start = self.batch.arena.len();
            let app = if self.share == 1 {
                &self.analyzers.events
            } else {
                &self.mine
            };
            let res = render(
                &FrameEvent {
                    frame,
                    packet,
                    tcp,
                    first_ts,
                    app,
                },
                &mut self.batch.arena,
            );
            self.analyzers.events.clear();
            self.mine.clear();
            res?;
            let end = self.batch.arena.len();
            self.batch.ops.push(Op::Rendered { start, end });
            return self.end_frame();
        }
        if !self.analyzers.events.is_empty() {
            let evs = std::mem::take(&mut self.analyzers.events);
            self.batch.held += evs.iter().map(|(_, e)| e.weight()).sum::<usize>();
            self.batch.ops.push(Op::Events(evs));
        }
        if shown {
            let (start, end) = self.push_bytes(frame.data);
            self.batch.ops.push(Op::Shown(Box::new(ShownFrame {
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
            })));
        } else {
            self.batch.ops.push(Op::Hidden);
        }
        self.end_frame()
    }
    fn discard_events(&mut self) {
        self.analyzers.events.clear();
        self.batch.ops.push(Op::Hidden);
        self.frame_start = Some(self.batch.ops.len());
    }
}

/// Replays one batch into the application decoders and the view.
fn replay(batch: &mut Batch, consumer: &mut Consumer<'_>) -> Result<(), RunError> {
    let arena = &batch.arena;
    for op in batch.ops.drain(..) {
        match op {
            Op::Data {
                stream,
                dir,
                at,
                start,
                end,
            } => consumer.data(stream, dir, &at, arena.get(start..end).unwrap_or_default()),
            Op::Gap { stream, dir, at } => consumer.gap(stream, dir, &at),
            Op::End { stream, dir, at } => consumer.end(stream, dir, &at),
            Op::Ports { stream, ports } => consumer.ports(stream, ports),
            Op::Closed { stream, frame } => consumer.closed(stream, frame),
            Op::Finished(s) => consumer.finished(*s)?,
            Op::FinishedWith(b) => {
                let (s, app) = *b;
                consumer.finished_with(s, app)?;
            }
            Op::Events(mut evs) => consumer.analyzers.events.append(&mut evs),
            Op::Shown(f) => {
                let frame = Frame {
                    number: f.number,
                    kind: f.kind,
                    ts: f.ts,
                    linktype: f.linktype,
                    interface: f.interface,
                    orig_len: f.orig_len,
                    data: arena.get(f.start..f.end).unwrap_or_default(),
                    offset: f.offset,
                };
                // Decoding again is cheaper than sending the decoded layers.
                let packet = Packet::decode(&frame);
                consumer.frame(&frame, &packet, f.tcp, f.first_ts, true)?;
            }
            Op::Hidden => consumer.discard_events(),
            Op::Rendered { start, end } => {
                consumer
                    .view
                    .rendered(arena.get(start..end).unwrap_or_default())?;
                consumer.discard_events();
            }
        }
    }
    Ok(())
}

/// Runs `reader` through `view` on two threads: this one keeps the view.
pub fn run(
    reader: &mut CaptureReader,
    view: &mut dyn View,
    opts: &RunOptions,
    progress: &Progress,
) -> Result<(), RunError> {
    run_tuned(reader, view, opts, progress, BEHIND)
}

/// [`run`], rendering on the reading thread from `behind` waiting batches.
fn run_tuned(
    reader: &mut CaptureReader,
    view: &mut dyn View,
    opts: &RunOptions,
    progress: &Progress,
    behind: usize,
) -> Result<(), RunError> {
    let wants_frames = view.wants_frames();
    let light = view.light_frames();
    let renderer = view.frame_renderer();
    let waiting = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = sync_channel::<Batch>(QUEUE);
    let (spent_tx, spent_rx) = sync_channel::<Batch>(QUEUE + 2);
    let mut consumer = Consumer::new(view, opts);
    std::thread::scope(|scope| {
        let reading = scope.spawn(|| {
            let share = if !wants_frames {
                FLOWS_SHARE
            } else if light {
                LIGHT_SHARE
            } else {
                1
            };
            let mut rec = Recorder {
                analyzers: Analyzers::for_view(opts, wants_frames),
                share,
                batch: Batch::default(),
                tx,
                spent: spent_rx,
                gone: false,
                waiting: waiting.clone(),
                renderer,
                behind,
                frame_start: Some(0),
                mine: Vec::new(),
            };
            let res = produce(reader, opts, wants_frames, &mut rec, progress);
            let last = rec.flush(true);
            res.and(last)
        });
        let mut out = Ok(());
        for mut batch in rx.iter() {
            waiting.fetch_sub(1, Ordering::Relaxed);
            if out.is_ok() {
                out = replay(&mut batch, &mut consumer);
                if out.is_err() {
                    // Dropping the receiver stops the reader at its next send.
                    break;
                }
            }
            let _ = spent_tx.try_send(batch);
        }
        drop(rx);
        let read = reading
            .join()
            .unwrap_or_else(|_| Err(RunError::Output(std::io::Error::other("reader panicked"))));
        // An output error wins (the reader only stopped because of it); else
        // the reader's outcome (a capture error, or Ok).
        match out {
            Err(e) => Err(e),
            Ok(()) => read,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Format;
    use crate::report::packets::PacketsView;
    use crate::run::single;

    fn packets(threads: usize, behind: usize, format: Format) -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/synthetic/ws-mix-1m.pcap"
        );
        let mut reader = CaptureReader::open(std::path::Path::new(path)).expect("open");
        let mut out = Vec::new();
        let mut view = PacketsView::new(&mut out, format, false).lines();
        let opts = RunOptions::default().shared();
        let res = if threads == 1 {
            single::run(&mut reader, &mut view, &opts, &Progress::none())
        } else {
            run_tuned(&mut reader, &mut view, &opts, &Progress::none(), behind)
        };
        assert!(res.is_ok());
        View::finish(&mut view).expect("finish");
        drop(view);
        out
    }

    /// Frames rendered on the reading thread (all of them, or as it falls
    /// behind) print exactly as on one thread: JSON, where the reading thread
    /// decodes every connection, and lines, where it decodes every second
    /// one and renders only frames whose events it holds.
    #[test]
    fn frames_rendered_while_reading_print_the_same() {
        for format in [Format::Json, Format::Table] {
            let one = packets(1, 0, format);
            assert_eq!(one.iter().filter(|&&b| b == b'\n').count(), 1249);
            assert!(
                one == packets(2, 0, format),
                "{format:?}: every frame rendered while reading"
            );
            assert!(
                one == packets(2, 1, format),
                "{format:?}: rendered while one batch waits"
            );
            assert!(
                one == packets(2, usize::MAX, format),
                "{format:?}: none rendered while reading"
            );
        }
    }
}
