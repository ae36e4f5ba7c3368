//! A thread between the reading one and the printing one, on three threads or
//! more. Batches pass through every worker in turn, in capture order. Each
//! worker decodes the application layer of its own connections (the calls
//! for them become the events they produced, in the same place), and renders
//! frames whose events are all known by then while the thread after it is
//! behind. So the printing thread replays exactly the calls one thread would
//! have made, and the output does not depend on how many workers there are.
//!
//! Memory: the events a worker adds to a batch are weighed as the reading
//! thread weighs its own; past [`BATCH_BYTES`] the ops so far are sent on
//! at once, with a copy of the arena they point into. So a batch leaving a
//! worker holds at most one arena and about [`BATCH_BYTES`] of events, as one
//! leaving the reading thread does.
//!
//! [`BATCH_BYTES`]: super::pipeline::BATCH_BYTES

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::SyncSender;

use crate::decode::Packet;
use crate::proto::stack::{AppEvent, AppSummary};
use crate::report::{FrameEvent, FrameRenderer};

use super::analyzers::Analyzers;
use super::batch::{Batch, Op, Owner, Tuning, take_frame_events};
use super::options::RunError;

pub(super) struct Worker {
    analyzers: Analyzers,
    owner: Owner,
    renderer: Option<FrameRenderer>,
    /// When frames are rendered here and part of a batch is sent on.
    tuning: Tuning,
    /// The last batch ended with a frame's last call: the next one starts
    /// with a frame's first (a batch is cut inside a frame only when
    /// connections finish in bulk).
    at_frame_start: bool,
    /// The ops of the batch being rebuilt (kept for its capacity).
    ops: Vec<Op>,
    /// Bytes of events and summaries added to the ops being rebuilt.
    held: usize,
    /// A frame's events, while it is rendered here.
    events: Vec<(u64, AppEvent)>,
    rendered: Vec<u8>,
}

/// Where a worker sends its batches: the next thread, and the batches
/// waiting there.
pub(super) struct Next<'a> {
    pub(super) tx: &'a SyncSender<Batch>,
    pub(super) waiting: &'a AtomicUsize,
}

impl Next<'_> {
    /// Sends `batch`; false when the next thread has stopped.
    fn send(&self, batch: Batch) -> bool {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        super::handoff::send(self.tx, batch)
    }
}

impl Worker {
    pub(super) fn new(
        analyzers: Analyzers,
        owner: Owner,
        renderer: Option<FrameRenderer>,
        tuning: Tuning,
    ) -> Worker {
        Worker {
            analyzers,
            owner,
            renderer,
            tuning,
            at_frame_start: true,
            ops: Vec::new(),
            held: 0,
            events: Vec::new(),
            rendered: Vec::new(),
        }
    }

    /// Moves the events the last call produced into `ops`, in its place.
    fn take_events(&mut self, ops: &mut Vec<Op>) {
        if !self.analyzers.events.is_empty() {
            let evs = std::mem::take(&mut self.analyzers.events);
            self.held += evs.iter().map(|(_, e)| e.weight()).sum::<usize>();
            ops.push(Op::Events(evs));
        }
    }

    /// Decodes this worker's connections in `batch`, renders what frames it
    /// can while the next thread is behind, and sends the batch on. False
    /// when the next thread has stopped.
    pub(super) fn work(&mut self, mut batch: Batch, next: &Next<'_>) -> Result<bool, RunError> {
        let mut ops = std::mem::take(&mut self.ops);
        ops.clear();
        // Where the current frame's calls begin in `ops`; None when the frame
        // began in an earlier batch.
        let mut frame_start = self.at_frame_start.then_some(0);
        let Batch {
            ops: incoming,
            arena,
            shown,
            ..
        } = &mut batch;
        for op in incoming.drain(..) {
            if self.held >= self.tuning.split {
                // The ops so far go on now, with the bytes they point to.
                let at_frame_start = frame_start == Some(ops.len());
                let part = Batch {
                    ops: std::mem::take(&mut ops),
                    arena: arena.clone(),
                    shown: shown.clone(),
                    held: self.held,
                };
                self.held = 0;
                if !next.send(part) {
                    return Ok(false);
                }
                frame_start = at_frame_start.then_some(0);
            }
            match op {
                op if op.stream().is_some_and(|s| self.owner.owns(s)) => {
                    op.call(arena, &mut self.analyzers);
                    self.take_events(&mut ops);
                }
                Op::Finished(s) if self.owner.owns(s.id) => {
                    let app: Option<AppSummary> = self.analyzers.finish(&s);
                    self.take_events(&mut ops);
                    self.held += app.as_ref().map_or(0, AppSummary::weight);
                    ops.push(Op::FinishedWith(Box::new((*s, app))));
                }
                Op::Shown(i) => {
                    let behind = next.waiting.load(Ordering::Relaxed) >= self.tuning.behind;
                    if let (Some(render), Some(start)) =
                        (self.renderer.filter(|_| behind), frame_start)
                        && let Some(f) = shown.get(i)
                        && take_frame_events(&mut ops, start, &mut self.events)
                    {
                        self.rendered.clear();
                        let res = {
                            let frame = f.frame(arena);
                            let packet = Packet::decode(&frame);
                            let ev = FrameEvent {
                                frame: &frame,
                                packet: &packet,
                                tcp: f.tcp,
                                first_ts: f.first_ts,
                                app: &self.events,
                            };
                            render(&ev, &mut self.rendered)
                        };
                        self.events.clear();
                        res?;
                        let start = arena.len();
                        arena.extend_from_slice(&self.rendered);
                        ops.push(Op::Rendered {
                            start,
                            end: arena.len(),
                        });
                    } else {
                        ops.push(Op::Shown(i));
                    }
                    frame_start = Some(ops.len());
                }
                op @ (Op::Hidden | Op::Rendered { .. }) => {
                    ops.push(op);
                    frame_start = Some(ops.len());
                }
                op => ops.push(op),
            }
        }
        self.at_frame_start = frame_start == Some(ops.len());
        self.ops = std::mem::replace(incoming, ops);
        batch.held += std::mem::take(&mut self.held);
        Ok(next.send(batch))
    }
}
