//! The story model: a connection's steps, with runs of plain data and ACK
//! segments folded so long transfers stay readable.
//!
//! Memory: a connection keeps at most [`MAX_STEPS`] steps (a folded run is
//! one); the view also bounds the steps of all open connections together.

use std::fmt::Write as _;

use serde::Serialize;

use crate::flow::{Dir, Offered};

/// Steps kept per connection; later ones are counted, not kept.
pub const MAX_STEPS: usize = 2000;
/// Plain steps shown before and after a folded run.
const FOLD_HEAD: usize = 3;
const FOLD_TAIL: usize = 2;

/// One line of the story.
///
/// Kept by the thousand while connections are open, so its two texts share
/// one allocation of exactly their size.
#[derive(Clone, Debug)]
pub struct Step {
    pub frame: u64,
    /// Last frame of a folded run.
    pub last_frame: Option<u64>,
    /// Seconds since the connection's first segment.
    pub rel_ts: f64,
    pub osi: u8,
    /// Who sent it; null for a session-level note.
    pub from: Option<Dir>,
    pub kind: &'static str,
    /// The explanation, then the short arrow label of the ladder diagram.
    words: Box<str>,
    /// Where the label starts in `words`.
    split: u32,
}

impl Serialize for Step {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Step", 7)?;
        st.serialize_field("frame", &self.frame)?;
        if let Some(l) = self.last_frame {
            st.serialize_field("last_frame", &l)?;
        }
        st.serialize_field("rel_ts", &self.rel_ts)?;
        st.serialize_field("osi", &self.osi)?;
        st.serialize_field("from", &self.from)?;
        st.serialize_field("kind", self.kind)?;
        st.serialize_field("text", self.text())?;
        st.end()
    }
}

#[derive(Default)]
struct Fold {
    count: u64,
    first: u64,
    last: u64,
    rel_ts: f64,
    segs: [u64; 2],
    bytes: [u64; 2],
}

#[derive(Default)]
pub(super) struct Story {
    pub(super) steps: Vec<Step>,
    pub(super) omitted: u64,
    /// Bytes the kept steps take: their texts, and every slot of the vector.
    pub(super) bytes: usize,
    /// Steps past the all-connections budget were omitted.
    pub(super) over_budget: bool,
    /// Set by the view before each frame: the budget has room.
    pub(super) room: bool,
    /// The current run of plain data/ACK steps.
    head: Vec<Step>,
    /// Steps that may be folded, with the payload bytes each carried.
    middle: Vec<(Step, u64)>,
    tail: Vec<(Step, u64)>,
    fold: Option<Fold>,
    pub(super) client_opts: Option<Offered>,
    pub(super) server_opts: Option<Offered>,
    pub(super) client_isn: Option<u32>,
    /// Relative sequence number just after each side's FIN.
    pub(super) fin_end: [Option<u32>; 2],
    /// The frame of each side's first FIN.
    pub(super) fin_frame: [Option<u64>; 2],
    pub(super) fin_acked: [bool; 2],
    pub(super) closed_told: bool,
    pub(super) syn_count: u32,
    pub(super) server_port: u16,
    /// Which sides sent a WebSocket close frame.
    pub(super) ws_closed: [bool; 2],
    /// TLS was seen: the bytes above it come from records, not segments.
    pub(super) over_tls: bool,
    /// The last step pushed was kept (not counted out).
    last_kept: bool,
    /// Live: no folding (steps print as they come), and steps printed so far.
    pub(super) no_fold: bool,
    pub(super) printed: usize,
}

impl Story {
    pub(super) fn push(&mut self, s: Step) {
        self.last_kept = self.steps.len() < MAX_STEPS && self.room;
        if self.last_kept {
            let (words, before) = (s.words.len(), self.steps.capacity());
            self.steps.push(s);
            // What the steps really hold: their texts, and every slot of the
            // vector (it grows by doubling).
            self.bytes += words + (self.steps.capacity() - before) * size_of::<Step>();
        } else {
            self.over_budget |= !self.room;
            self.omitted += 1;
        }
    }

    /// Adds to the latest step `from` sent in frame `frame`, among the
    /// steps just pushed (a note of the same frame may follow it): more
    /// explanation, and more label.
    pub(super) fn annotate(&mut self, frame: u64, from: Dir, text: &str, label: &str) {
        if !self.last_kept {
            return;
        }
        if let Some(s) = self
            .steps
            .iter_mut()
            .rev()
            .take_while(|s| s.frame == frame)
            .find(|s| s.from == Some(from))
        {
            let before = s.words.len();
            let mut t = String::with_capacity(before + text.len() + label.len());
            t.push_str(s.text());
            t.push_str(text);
            let split = t.len();
            t.push_str(s.label());
            t.push_str(label);
            s.split = u32::try_from(split).unwrap_or(u32::MAX);
            s.words = t.into_boxed_str();
            self.bytes += s.words.len() - before;
        }
    }

    /// A plain data/ACK step joins the current run.
    pub(super) fn push_plain(&mut self, s: Step, len: u64) {
        if self.no_fold {
            self.push(s);
            return;
        }
        if self.head.len() < FOLD_HEAD {
            self.head.push(s);
            return;
        }
        self.tail.push((s, len));
        if self.tail.len() > FOLD_TAIL {
            let out = self.tail.remove(0);
            if self.fold.is_none() && self.middle.len() < 2 {
                self.middle.push(out);
                return;
            }
            let f = self.fold.get_or_insert_with(|| Fold {
                first: u64::MAX,
                ..Fold::default()
            });
            for (m, bytes) in self.middle.drain(..).chain(std::iter::once(out)) {
                if f.first == u64::MAX {
                    f.first = m.frame;
                    f.rel_ts = m.rel_ts;
                }
                f.last = m.frame;
                f.count += 1;
                if let Some(d) = m.from {
                    f.segs[d as usize] += 1;
                    f.bytes[d as usize] += bytes;
                }
            }
        }
    }

    /// Ends the current run: its steps, with the middle folded.
    pub(super) fn end_run(&mut self) {
        let head = std::mem::take(&mut self.head);
        for s in head {
            self.push(s);
        }
        for (s, _) in std::mem::take(&mut self.middle) {
            self.push(s);
        }
        if let Some(f) = self.fold.take() {
            let mut text = format!("… {} more segments", f.count);
            let mut parts = Vec::new();
            if f.segs[0] > 0 {
                parts.push(format!(
                    "client → server {} ({} bytes)",
                    f.segs[0], f.bytes[0]
                ));
            }
            if f.segs[1] > 0 {
                parts.push(format!(
                    "server → client {} ({} bytes)",
                    f.segs[1], f.bytes[1]
                ));
            }
            if !parts.is_empty() {
                let _ = write!(text, ": {}", parts.join(", "));
            }
            let label = format!("… {} segments …", f.count);
            let mut s = Step::new(f.first, f.rel_ts, 4, None, "folded", text, &label);
            s.last_frame = Some(f.last);
            self.push(s);
        }
        for (s, _) in std::mem::take(&mut self.tail) {
            self.push(s);
        }
    }
}

impl Step {
    /// A step at `frame`; `from` None for a session-level note.
    pub fn new(
        frame: u64,
        rel_ts: f64,
        osi: u8,
        from: Option<Dir>,
        kind: &'static str,
        mut text: String,
        label: &str,
    ) -> Step {
        let split = text.len();
        text.reserve_exact(label.len());
        text.push_str(label);
        Step {
            frame,
            last_frame: None,
            rel_ts,
            osi,
            from,
            kind,
            // Shrunk to its length: steps wait until their connection ends.
            words: text.into_boxed_str(),
            split: u32::try_from(split).unwrap_or(u32::MAX),
        }
    }

    /// The plain-language explanation.
    pub fn text(&self) -> &str {
        self.words.get(..self.split as usize).unwrap_or(&self.words)
    }

    /// The short arrow label of the ladder diagram.
    pub fn label(&self) -> &str {
        self.words.get(self.split as usize..).unwrap_or_default()
    }

    /// The frame, or the range of a folded run, as the timeline shows it.
    pub(super) fn frames(&self) -> String {
        match self.last_frame {
            Some(l) => format!("#{}–{}", self.frame, l),
            None => format!("#{}", self.frame),
        }
    }
}

/// Where a narration adds its steps: the story of a connection, at the
/// time of the frame being told.
pub(super) struct At<'s> {
    pub story: &'s mut Story,
    /// Seconds since the connection's first segment.
    pub rel_ts: f64,
}

impl At<'_> {
    /// A step at capture frame `frame`: `from` None for a session-level note.
    pub fn step(
        &mut self,
        frame: u64,
        osi: u8,
        from: Option<Dir>,
        kind: &'static str,
        text: String,
        label: String,
    ) {
        self.story
            .push(Step::new(frame, self.rel_ts, osi, from, kind, text, &label));
    }
}
