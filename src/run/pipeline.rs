//! The driver on two threads or more, for capture files. One thread reads
//! the capture, decodes each packet and follows TCP (reassembly included);
//! the last one runs the view; on three threads or more, workers stand
//! between them ([`super::worker`]). The reading thread records, in capture
//! order, every call the one-thread driver would have made next; the
//! batches pass through every worker in turn and the last thread replays
//! them, so the output is the same byte for byte.
//!
//! The application decoders (HTTP, WebSocket with inflate, Engine.IO and
//! Socket.IO) are shared by connection ([`layout`], [`Weights`]): a
//! connection is decoded on one thread from its first byte to its end, and
//! the calls for it become its events in the same place. A view that prints
//! every frame at length has them all decoded on the reading thread; `walk`
//! has a third of them decoded on the printing thread (by the parts of the
//! shared limits, [`SHARES`]); `flows` and the one-line `packets` spread them
//! over every thread. A frame whose events are all known by then can be
//! rendered on any thread before the printing one, which then writes its
//! bytes in their place: that is done while the next thread has [`BEHIND`]
//! batches waiting.
//!
//! Memory: the recorded calls travel in batches that own copies of the
//! stream bytes and of the frames the view shows (of a frame captured
//! whole, only its headers when the view reads no more: `walk`). A batch
//! is sent once it holds [`BATCH_BYTES`] bytes (events and summaries
//! weighed in) or [`BATCH_OPS`] calls, and at most [`QUEUE`] batches wait between two
//! threads, so a slow view holds the reader back instead of letting memory
//! grow: with N threads, at most (N − 1) × ([`QUEUE`] + 2) batches exist
//! ([`QUEUE`] waiting on each link, one in each thread's hands, one more in
//! a worker's that is sending part of a batch).
//! Spent batches go back to the reader and are reused.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::capture::{CaptureReader, Frame, Timestamp};
use crate::decode::Packet;
use crate::flow::{ConnSummary, Dir, Moment, SegmentContext, StreamSink};
use crate::proto::stack::{AppEvent, AppSummary, SHARES};
use crate::report::{FrameEvent, FrameRenderer, View};

use super::analyzers::Analyzers;
use super::batch::{Batch, Op, Owner, ShownFrame, Tuning, take_frame_events};
use super::core::{Downstream, produce};
use super::handoff;
use super::options::{RunError, RunOptions};
use super::progress::Progress;
use super::single::Consumer;
use super::worker::{Next, Worker};

/// Bytes (stream data and shown frames) after which a batch is sent. Half
/// of 256 KiB took as long and lowered the peak RSS of `flows` on the 1 GB
/// benchmark capture by 2–5 MiB (the batches in flight).
pub const BATCH_BYTES: usize = 128 * 1024;
/// Recorded calls after which a batch is sent.
pub const BATCH_OPS: usize = 4096;
/// Batches waiting between two threads.
pub const QUEUE: usize = 4;
/// With a view that prints only connections, a connection that begins while
/// at least this many batches wait at the next thread is decoded on the
/// reading thread ([`Balance`]).
pub const BALANCE_BEHIND: usize = 2;
/// With a view that prints frames cheaply (one line each), every thread
/// decodes this many connections for each one the reading thread decodes.
pub const LIGHT_SHARE: u64 = 1;
/// Batches waiting at the next thread from which a thread before the
/// printing one renders frames itself (when the view allows it).
pub const BEHIND: usize = 2;

/// How many connections each kind of thread decodes in each turn of the
/// wheel: the reading thread, each worker, the printing thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Weights {
    reading: u64,
    worker: u64,
    printing: u64,
    /// The reading thread decodes no connection by number, but decides as
    /// each one comes: see [`Balance`].
    balanced: bool,
}

impl Weights {
    /// The weights for a view, by what its printing thread does.
    ///
    /// - A view that prints only connections: the other threads share them
    ///   by number, and the reading thread keeps one whenever the next thread
    ///   is behind ([`Balance`]).
    /// - Frames printed in one short line: [`LIGHT_SHARE`] each.
    /// - Frames or connections printed at length: their output must never
    ///   depend on which thread drew first on the limits the connections
    ///   share ([`super::MAX_HELD_MESSAGES`], the listed bytes). Each limit
    ///   is split in [`SHARES`] parts by connection number, so the printing
    ///   thread decodes the connections of one part and the reading thread
    ///   those of the others (`walk`; its printing thread also tells and
    ///   renders every connection): each part is drawn on by one thread, in
    ///   capture order, as on one thread. A view whose frames any thread
    ///   may render (`layers`, JSON or a table of `packets`) has them all
    ///   decoded by the reading thread, which renders while the printing
    ///   thread is behind.
    pub(super) fn for_view(view: &dyn View) -> Weights {
        let w = |reading, worker, printing| Weights {
            reading,
            worker,
            printing,
            balanced: false,
        };
        if !view.wants_frames() {
            Weights {
                balanced: true,
                ..w(0, 1, 1)
            }
        } else if view.light_frames() {
            w(1, LIGHT_SHARE, LIGHT_SHARE)
        } else if view.frame_renderer().is_some() {
            w(1, 0, 0)
        } else {
            // The wheel turns once per SHARES connections: a share per turn.
            w(SHARES as u64 - 1, 0, 1)
        }
    }
}

/// How `threads` threads share the connections' application decoding: the
/// reading thread's part first, then each worker's; the printing thread
/// (last) decodes what reaches it undecoded.
pub(super) fn layout(threads: usize, weights: Weights) -> Vec<Owner> {
    let workers = threads.saturating_sub(2) as u64;
    let wheel = weights.reading + weights.worker * workers + weights.printing;
    let mut from = 0;
    (0..threads as u64)
        .map(|i| {
            let w = match i {
                0 => weights.reading,
                i if i + 1 == threads as u64 => weights.printing,
                _ => weights.worker,
            };
            let owner = Owner {
                wheel,
                from,
                to: from + w,
            };
            from += w;
            owner
        })
        .collect()
}

/// Which connections the reading thread decodes, when that is decided as
/// they come rather than by number (a view that prints only connections):
/// a connection that begins while at least [`BALANCE_BEHIND`] batches wait
/// at the next thread is decoded here, any other there. How much of the work the
/// reading thread has besides (reading, decoding, following TCP) depends on
/// the traffic: on the benchmark captures, one connection in three suited
/// large compressed messages, one in four small plain ones.
///
/// What is printed does not depend on it, but for one limit: which thread
/// draws first on a part of [`super::MAX_HELD_MESSAGES`] can then depend on
/// timing (as it does with workers), so which message is cut when a part
/// is full can differ from run to run.
#[derive(Default)]
struct Balance {
    /// The connections begun and not finished, and whether each is decoded
    /// here. At most one entry per connection the flow table holds.
    decided: foldhash::HashMap<u64, bool>,
}

impl Balance {
    /// Whether `stream` is decoded here: as decided at its first call, when
    /// the next thread was `behind` or not.
    fn decodes(&mut self, stream: u64, behind: bool) -> bool {
        *self.decided.entry(stream).or_insert(behind)
    }

    /// `stream` has finished: it makes no more calls.
    fn forget(&mut self, stream: u64) {
        self.decided.remove(&stream);
    }
}

/// The reading side's [`Downstream`]: records calls into batches.
struct Recorder {
    /// Application decoders of the connections this side owns.
    analyzers: Analyzers,
    /// The connections this side decodes, by number.
    owner: Owner,
    /// Or as they come.
    balance: Option<Balance>,
    batch: Batch,
    tx: SyncSender<Batch>,
    spent: Receiver<Batch>,
    /// The consumer has stopped (an output error): reading stops too.
    gone: bool,
    /// Batches sent and not yet taken up by the printing thread.
    waiting: Arc<AtomicUsize>,
    renderer: Option<FrameRenderer>,
    behind: usize,
    /// The view prints frames; when it does not, no events are kept and a
    /// frame leaves no call behind.
    frames: bool,
    /// The view reads only the headers of the frames it prints
    /// ([`View::frame_headers`]).
    headers_only: bool,
    /// Where the current frame's calls begin in the batch; None once a batch
    /// was sent within the frame.
    frame_start: Option<usize>,
    /// The events of a frame rendered here, when connections are shared.
    mine: Vec<(u64, AppEvent)>,
}

impl Recorder {
    fn owns(&mut self, stream: u64) -> bool {
        let Some(b) = self.balance.as_mut() else {
            return self.owner.owns(stream);
        };
        b.decodes(
            stream,
            self.waiting.load(Ordering::Relaxed) >= BALANCE_BEHIND,
        )
    }

    /// Moves the events the last call produced into the batch, in place. When
    /// this side decodes every connection, they wait for the frame instead (a
    /// frame rendered here needs them).
    fn take_events(&mut self) {
        if !self.owner.all() && !self.analyzers.events.is_empty() {
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
        next.shown.clear();
        next.held = 0;
        // A batch that once took a large delivery does not keep its size.
        next.arena.shrink_to(2 * BATCH_BYTES);
        next.ops.shrink_to(2 * BATCH_OPS);
        let batch = std::mem::replace(&mut self.batch, next);
        self.frame_start = None;
        self.waiting.fetch_add(1, Ordering::Relaxed);
        if !handoff::send(&self.tx, batch) {
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
        if self.owner.all() {
            return true;
        }
        let Some(start) = self.frame_start else {
            return false;
        };
        take_frame_events(&mut self.batch.ops, start, &mut self.mine)
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
        let mine = self.owns(s.id);
        if let Some(b) = self.balance.as_mut() {
            b.forget(s.id);
        }
        if mine {
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
        if !self.frames {
            return self.end_frame();
        }
        let behind = self.waiting.load(Ordering::Relaxed) >= self.behind;
        if let Some(render) = self
            .renderer
            .filter(|_| shown && behind && self.local_frame())
        {
            let start = self.batch.arena.len();
            let app = if self.owner.all() {
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
            let bytes = if self.headers_only {
                headers(frame, packet, tcp.as_ref())
            } else {
                frame.data
            };
            let (start, end) = self.push_bytes(bytes);
            self.batch
                .shown
                .push(ShownFrame::new(frame, (start, end), tcp, first_ts));
            self.batch.ops.push(Op::Shown(self.batch.shown.len() - 1));
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

/// What a view that reads only headers is handed of a frame: all but the
/// TCP payload (and trailer) of a segment whose payload was all captured.
/// Any other frame goes whole: the view tells how much of it was lost.
fn headers<'a>(frame: &Frame<'a>, packet: &Packet<'_>, tcp: Option<&SegmentContext>) -> &'a [u8] {
    let whole = tcp.is_some_and(|c| c.captured >= c.len);
    let Some(payload) = packet.tcp().filter(|_| whole).map(|t| t.payload()) else {
        return frame.data;
    };
    let at = packet.offset_of(payload);
    if payload.is_empty() || at + payload.len() > frame.data.len() {
        return frame.data;
    }
    frame.data.get(..at).unwrap_or(frame.data)
}

/// Replays one batch into the application decoders and the view.
fn replay(batch: &mut Batch, consumer: &mut Consumer<'_>) -> Result<(), RunError> {
    let arena = &batch.arena;
    for op in batch.ops.drain(..) {
        // The consumer hands a call on a connection to its decoders.
        if op.call(arena, &mut consumer.analyzers) {
            continue;
        }
        match op {
            Op::Data { .. }
            | Op::Gap { .. }
            | Op::End { .. }
            | Op::Ports { .. }
            | Op::Closed { .. } => {}
            Op::Finished(s) => consumer.finished(*s)?,
            Op::FinishedWith(b) => {
                let (s, app) = *b;
                consumer.finished_with(s, app)?;
            }
            Op::Events(mut evs) => consumer.analyzers.events.append(&mut evs),
            Op::Shown(i) => {
                let Some(f) = batch.shown.get(i) else {
                    continue;
                };
                let frame = f.frame(arena);
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

/// Runs `reader` through `view` on `threads` threads (2 or more): this one
/// keeps the view.
pub fn run(
    reader: &mut CaptureReader,
    view: &mut dyn View,
    opts: &RunOptions,
    progress: &Progress,
    threads: usize,
) -> Result<(), RunError> {
    let tuning = Tuning {
        behind: BEHIND,
        split: BATCH_BYTES,
    };
    run_tuned(reader, view, opts, progress, threads, tuning)
}

/// A batch channel and the batches sent on it not yet taken up.
struct Link {
    tx: SyncSender<Batch>,
    rx: Receiver<Batch>,
    waiting: Arc<AtomicUsize>,
}

impl Link {
    fn new() -> Link {
        let (tx, rx) = sync_channel::<Batch>(QUEUE);
        Link {
            tx,
            rx,
            waiting: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// [`run`], tuned.
fn run_tuned(
    reader: &mut CaptureReader,
    view: &mut dyn View,
    opts: &RunOptions,
    progress: &Progress,
    threads: usize,
    tuning: Tuning,
) -> Result<(), RunError> {
    let behind = tuning.behind;
    let wants_frames = view.wants_frames();
    let headers_only = view.frame_headers();
    let renderer = view.frame_renderer();
    let threads = threads.max(2);
    let weights = Weights::for_view(view);
    let owners = layout(threads, weights);
    // Link i carries batches from thread i to thread i + 1.
    let mut links: Vec<Link> = (1..owners.len()).map(|_| Link::new()).collect();
    // Room for every batch that can exist at once, so that in a steady run
    // the reader takes spent ones back instead of growing new arenas.
    let (spent_tx, spent_rx) = sync_channel::<Batch>(links.len() * (QUEUE + 2));
    let mut consumer = Consumer::new(view, opts);
    std::thread::scope(|scope| {
        let first = links.remove(0);
        let mut upstream = first.rx;
        let mut upstream_waiting = first.waiting.clone();
        let reading = scope.spawn({
            let (tx, waiting, owner) = (first.tx, first.waiting, owners[0]);
            move || {
                let mut rec = Recorder {
                    analyzers: Analyzers::for_view(opts, wants_frames),
                    owner,
                    balance: weights.balanced.then(Balance::default),
                    batch: Batch::default(),
                    tx,
                    spent: spent_rx,
                    gone: false,
                    waiting,
                    renderer,
                    behind,
                    frames: wants_frames,
                    headers_only,
                    frame_start: Some(0),
                    mine: Vec::new(),
                };
                let res = produce(reader, opts, wants_frames, &mut rec, progress);
                let last = rec.flush(true);
                res.and(last)
            }
        });
        let mut workers = Vec::new();
        for (link, owner) in links.into_iter().zip(&owners[1..]) {
            let mut worker = Worker::new(
                Analyzers::for_view(opts, wants_frames),
                *owner,
                renderer,
                tuning,
            );
            let (rx, rx_waiting) = (upstream, upstream_waiting);
            upstream = link.rx;
            upstream_waiting = link.waiting.clone();
            let (tx, waiting) = (link.tx, link.waiting);
            workers.push(scope.spawn(move || {
                let next = Next {
                    tx: &tx,
                    waiting: &waiting,
                };
                while let Some(batch) = handoff::recv(&rx) {
                    rx_waiting.fetch_sub(1, Ordering::Relaxed);
                    if !worker.work(batch, &next)? {
                        break;
                    }
                }
                Ok::<(), RunError>(())
            }));
        }
        let mut out = Ok(());
        while let Some(mut batch) = handoff::recv(&upstream) {
            upstream_waiting.fetch_sub(1, Ordering::Relaxed);
            if out.is_ok() {
                out = replay(&mut batch, &mut consumer);
                if out.is_err() {
                    // Dropping the receiver stops the threads upstream at
                    // their next send.
                    break;
                }
            }
            let _ = spent_tx.try_send(batch);
        }
        drop(upstream);
        let panicked = || Err(RunError::Output(std::io::Error::other("a thread panicked")));
        let worked = workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| panicked()))
            .find(Result::is_err)
            .unwrap_or(Ok(()));
        let read = reading.join().unwrap_or_else(|_| panicked());
        // An output error wins (the others only stopped because of it), then
        // a worker's (the reader stopped because of it); else the reader's
        // outcome (a capture error, or Ok).
        out.and(worked).and(read)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Format;
    use crate::report::flows::FlowsView;
    use crate::report::packets::PacketsView;
    use crate::run::single;

    /// What `view` prints of the synthetic mix on `threads` threads (one:
    /// the one-thread driver).
    fn print(threads: usize, tuning: Tuning, view: &mut dyn View) {
        let mix = "tests/synthetic/ws-mix-1m.pcap";
        print_with(mix, threads, tuning, view, RunOptions::default());
    }

    fn print_with(
        file: &str,
        threads: usize,
        tuning: Tuning,
        view: &mut dyn View,
        opts: RunOptions,
    ) {
        // Relative to the repository, or absolute.
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let mut reader = CaptureReader::open(&path).expect("open");
        let opts = opts.shared();
        let res = if threads == 1 {
            single::run(&mut reader, view, &opts, &Progress::none())
        } else {
            run_tuned(&mut reader, view, &opts, &Progress::none(), threads, tuning)
        };
        assert!(res.is_ok());
        view.finish().expect("finish");
    }

    fn packets(threads: usize, tuning: Tuning, format: Format) -> Vec<u8> {
        let mut out = Vec::new();
        print(
            threads,
            tuning,
            &mut PacketsView::new(&mut out, format, false).lines(),
        );
        out
    }

    fn flows(threads: usize, tuning: Tuning) -> Vec<u8> {
        let mut out = Vec::new();
        print(threads, tuning, &mut FlowsView::new(&mut out, Format::Json));
        out
    }

    const PLAIN: Tuning = Tuning {
        behind: BEHIND,
        split: BATCH_BYTES,
    };

    /// Frames rendered on the reading thread or a worker (all of them, or as
    /// the next thread falls behind) print exactly as on one thread: JSON,
    /// where the reading thread decodes every connection, and lines, where
    /// each thread decodes its share and renders only frames whose events are
    /// known by then.
    #[test]
    fn frames_rendered_while_reading_print_the_same() {
        for format in [Format::Json, Format::Table] {
            let one = packets(1, PLAIN, format);
            assert_eq!(one.iter().filter(|&&b| b == b'\n').count(), 1249);
            for threads in [2, 3, 4] {
                for behind in [0, 1, usize::MAX] {
                    let tuning = Tuning { behind, ..PLAIN };
                    assert!(
                        one == packets(threads, tuning, format),
                        "{format:?}: {threads} threads, rendering from {behind} batches behind"
                    );
                }
            }
        }
    }

    /// A worker that sends on part of a batch (after every event or summary,
    /// after a few kilobytes of them, or never) changes nothing: lines, whose
    /// frames a worker may render, and flows, whose summaries it makes.
    #[test]
    fn workers_that_send_part_of_a_batch_print_the_same() {
        let lines = packets(1, PLAIN, Format::Table);
        let conns = flows(1, PLAIN);
        assert_eq!(conns.iter().filter(|&&b| b == b'\n').count(), 12);
        for threads in [3, 4] {
            for split in [0, 4096, usize::MAX] {
                for behind in [0, usize::MAX] {
                    let tuning = Tuning { behind, split };
                    let why = format!("{threads} threads, split {split}, behind {behind}");
                    assert!(lines == packets(threads, tuning, Format::Table), "{why}");
                }
                let tuning = Tuning { split, ..PLAIN };
                assert!(
                    conns == flows(threads, tuning),
                    "flows: {threads} threads, split {split}"
                );
            }
        }
    }

    /// Every connection is decoded by exactly one thread, in the proportions
    /// the weights say: for `flows` on two threads, the reading thread takes
    /// the connections numbered 0, 3, 6…
    /// `walk --format json` when the detail lists of all open connections
    /// have only `room` bytes left: a finished connection gives its share
    /// back as it finishes, on the thread that decodes it, so what is listed
    /// does not depend on when the printing thread is done with it.
    fn walk_with_lists_nearly_full(file: &str, threads: usize, room: usize) -> String {
        use crate::proto::stack::MAX_LISTED_BYTES;
        use crate::report::walk::{WalkFormat, WalkView};
        // Each share of the limit has `room` left.
        let used = MAX_LISTED_BYTES / SHARES - room;
        let opts = RunOptions {
            detail: true,
            whole_messages: true,
            lists: Some(std::array::from_fn(|_| {
                Arc::new(std::sync::atomic::AtomicUsize::new(used))
            })),
            ..RunOptions::default()
        };
        let mut out = Vec::new();
        let mut view = Slow(WalkView::new(&mut out, WalkFormat::Json, false, false));
        print_with(file, threads, PLAIN, &mut view, opts);
        drop(view);
        String::from_utf8(out).expect("utf-8")
    }

    /// A SYNTHETIC capture made of real ones: the records of four bundled
    /// captures, each moved to start 10 minutes after the one before, so
    /// that their connections finish (closed, then lingering) before the
    /// next ones list anything.
    fn one_after_another() -> String {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        let names = [
            "socketio-reconnect",
            "ws-deflate",
            "socketio-upgrade",
            "ws-echo",
        ];
        for (k, name) in names.iter().enumerate() {
            let file = root.join(format!("captures/{name}.pcap"));
            let bytes = std::fs::read(&file).expect("bundled capture");
            if k == 0 {
                out.extend_from_slice(&bytes[..24]);
            }
            let secs = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4"));
            let start = secs(24);
            let mut at = 24;
            while at + 16 <= bytes.len() {
                let len = secs(at + 8) as usize;
                let moved = secs(at) - start + 1_767_225_600 + 600 * k as u32;
                out.extend_from_slice(&moved.to_le_bytes());
                out.extend_from_slice(&bytes[at + 4..at + 16 + len]);
                at += 16 + len;
            }
        }
        let path = std::env::temp_dir().join(format!(
            "osiscope-one-after-another-{}.pcap",
            std::process::id()
        ));
        std::fs::write(&path, out).expect("write");
        path.to_string_lossy().into_owned()
    }

    /// A view that takes its time over each connection, so that the reading
    /// thread runs ahead of the printing one.
    struct Slow<V>(V);

    impl<V: View> View for Slow<V> {
        fn frame(&mut self, ev: &FrameEvent<'_, '_>) -> std::io::Result<()> {
            self.0.frame(ev)
        }
        fn wants_frames(&self) -> bool {
            self.0.wants_frames()
        }
        fn connection(&mut self, s: &ConnSummary, app: Option<&AppSummary>) -> std::io::Result<()> {
            std::thread::sleep(std::time::Duration::from_millis(20));
            self.0.connection(s, app)
        }
        fn unlisted(&mut self, s: &ConnSummary, app: Option<&AppSummary>) {
            self.0.unlisted(s, app);
        }
        fn finish(&mut self) -> std::io::Result<()> {
            self.0.finish()
        }
    }

    /// A view that reads headers gets all of a whole frame but its TCP
    /// payload and trailer, and all of a frame the capture cut short.
    #[test]
    fn headers_end_where_the_tcp_payload_starts() {
        let mut data = Vec::new();
        etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 80, 1, 1000)
            .write(&mut data, b"GET / HTTP/1.1\r\n\r\n")
            .unwrap();
        let headers_len = 14 + 20 + 20;
        assert_eq!(data.len(), headers_len + 18);
        data.extend_from_slice(&[0; 6]); // An Ethernet trailer.
        let at = |data: &[u8], orig_len: usize| {
            let frame = Frame {
                number: 1,
                kind: crate::capture::FrameKind::Packet,
                ts: Timestamp::default(),
                linktype: 1,
                interface: 0,
                orig_len: orig_len as u32,
                data,
                offset: 0,
            };
            let packet = Packet::decode(&frame);
            let mut segment = None;
            let mut flows = crate::flow::FlowTable::with_capacity(1);
            if let Some(seg) = super::super::core::segment(&frame, &packet, &mut None) {
                segment = Some(flows.observe(&seg, &mut crate::flow::NoSink));
            }
            headers(&frame, &packet, segment.as_ref()).len()
        };
        assert_eq!(at(&data, data.len()), headers_len);
        // Cut short by the capture: whole, so the view can say what was lost.
        assert_eq!(at(&data[..headers_len + 5], data.len()), headers_len + 5);
        // No payload, or no TCP: whole.
        assert_eq!(at(&data[..headers_len], headers_len), headers_len);
        let arp_like = [0u8; 60];
        assert_eq!(at(&arp_like, 60), 60);
    }

    #[test]
    fn lists_cut_by_their_limit_are_cut_alike_on_any_number_of_threads() {
        let (file, room) = (one_after_another(), 4000);
        let one = walk_with_lists_nearly_full(&file, 1, room);
        let whole = one.matches(r#""rows_not_listed":0}"#).count();
        let conns = one.lines().count();
        // The limit bit: some connections lost rows, some listed them all.
        assert!(whole > 0 && whole < conns, "{whole} of {conns} whole");
        for threads in [2, 2, 3, 4] {
            assert!(
                walk_with_lists_nearly_full(&file, threads, room) == one,
                "{threads} threads"
            );
        }
        let _ = std::fs::remove_file(&file);
    }

    #[test]
    fn every_connection_is_decoded_by_one_thread() {
        let w = |reading, worker, printing| Weights {
            reading,
            worker,
            printing,
            balanced: false,
        };
        // flows: the reading thread decodes none by number, but as they come.
        let mut out = Vec::new();
        let flows = Weights::for_view(&FlowsView::new(&mut out, Format::Json));
        assert_eq!(
            flows,
            Weights {
                balanced: true,
                ..w(0, 1, 1)
            }
        );
        assert!((0..10).all(|s| !layout(2, flows)[0].owns(s)));
        assert!(layout(2, w(1, 1, 0))[0].all());
        for threads in 2..=16 {
            for weights in [w(1, 2, 2), w(1, 1, 1), w(1, 1, 0), w(1, 0, 0), w(2, 0, 1)] {
                let owners = layout(threads, weights);
                assert_eq!(owners.len(), threads);
                let turns = 0..owners[0].wheel * 10;
                for stream in turns.clone() {
                    let n = owners.iter().filter(|o| o.owns(stream)).count();
                    assert_eq!(n, 1, "{threads} threads, {weights:?}: {stream}");
                }
                let count = |o: &Owner| turns.clone().filter(|&s| o.owns(s)).count() as u64;
                assert_eq!(count(&owners[0]), 10 * weights.reading);
                assert_eq!(count(&owners[threads - 1]), 10 * weights.printing);
                for o in &owners[1..threads - 1] {
                    assert_eq!(count(o), 10 * weights.worker);
                }
            }
        }
    }

    /// The reading thread keeps a connection that began while the next
    /// thread was behind, and gives away one that began while it was not,
    /// each until it finishes, however the next thread fares meanwhile.
    #[test]
    fn a_connection_stays_where_its_first_call_placed_it() {
        let mut b = Balance::default();
        assert!(b.decodes(7, true));
        assert!(!b.decodes(8, false));
        assert!(b.decodes(7, false));
        assert!(!b.decodes(8, true));
        b.forget(7);
        b.forget(8);
        assert!(b.decided.is_empty());
    }

    /// `walk` on any number of threads: each share of the run's limits is
    /// drawn on by one thread only (the connections numbered alike modulo
    /// [`SHARES`] are decoded on the same thread).
    #[test]
    fn each_share_of_the_limits_is_decoded_by_one_thread() {
        let mut out = Vec::new();
        let view = crate::report::walk::WalkView::new(
            &mut out,
            crate::report::walk::WalkFormat::Json,
            false,
            false,
        );
        let weights = Weights::for_view(&view);
        // The reading thread two shares, the printing thread one.
        assert_eq!((weights.reading, weights.printing), (2, 1));
        for threads in 2..=16 {
            let owners = layout(threads, weights);
            for stream in 0..100 {
                let owner = owners.iter().position(|o| o.owns(stream));
                let first = owners.iter().position(|o| o.owns(stream % SHARES as u64));
                assert_eq!(owner, first, "{threads} threads: {stream}");
            }
        }
    }
}
