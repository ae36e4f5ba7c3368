//! The story model: a connection's steps, with runs of plain data and ACK
//! segments folded so long transfers stay readable.
//!
//! Memory: a connection keeps at most [`MAX_STEPS`] steps (a folded run is
//! one); the view also bounds the steps of all open connections together.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::num::NonZeroU64;

use serde::Serialize;

use crate::flow::{Dir, Offered};
use crate::report::layers::detail::tcp_flags_text;

/// Steps kept per connection; later ones are counted, not kept.
pub const MAX_STEPS: usize = 2000;
/// Plain steps shown before and after a folded run.
const FOLD_HEAD: usize = 3;
const FOLD_TAIL: usize = 2;

/// One line of the story.
///
/// Kept by the thousand while connections are open: its two texts share
/// one allocation of exactly their size, and a plain segment keeps only
/// its numbers until it is printed (most are folded into a run first).
#[derive(Clone, Debug)]
pub struct Step {
    pub frame: u64,
    /// Last frame of a folded run.
    last: Option<NonZeroU64>,
    /// Seconds since the connection's first segment.
    pub rel_ts: f64,
    pub osi: u8,
    /// Who sent it; null for a session-level note.
    pub from: Option<Dir>,
    /// Where the label starts in the words said.
    split: u32,
    pub kind: &'static str,
    words: Words,
}

#[derive(Clone, Debug)]
enum Words {
    /// The explanation, then the short arrow label of the ladder diagram.
    Said(Box<str>),
    /// A plain data or ACK segment, worded when it is printed.
    Segment(Segment),
}

/// What a plain data or ACK segment's step says, as numbers (one whose
/// payload the snap length cut is worded at once: it is rare).
#[derive(Clone, Copy, Debug)]
pub(super) struct Segment {
    pub dir: Dir,
    pub flags: u16,
    /// Payload bytes.
    pub len: u32,
    pub rel_seq: u32,
    pub rel_ack: Option<u32>,
}

impl Segment {
    /// The segment's explanation; `cut` says what the snap length cut of
    /// its payload.
    pub(super) fn text(&self, cut: &str) -> String {
        let (who, other) = (self.dir.sender(), self.dir.other().sender());
        let mut s = String::with_capacity(112);
        let len = u64::from(self.len);
        if len > 0 {
            let _ = write!(
                s,
                "The {who} sends {len} bytes (its bytes {}–{}).",
                self.rel_seq,
                u64::from(self.rel_seq) + len - 1
            );
            s.push_str(cut);
            if let Some(a) = self.rel_ack.filter(|a| *a > 1) {
                let _ = write!(
                    s,
                    " It also acknowledges the {other}'s bytes up to {}.",
                    a - 1
                );
            }
        } else {
            let a = self.rel_ack.unwrap_or(0);
            let _ = write!(
                s,
                "The {who} acknowledges the {other}'s bytes up to {} (ack={a}).",
                a.saturating_sub(1)
            );
        }
        s
    }

    /// The segment's arrow label: "120 bytes PSH, ACK seq=1 ack=1".
    pub(super) fn label(&self) -> String {
        let mut label = String::with_capacity(48);
        if self.len > 0 {
            let _ = write!(label, "{} bytes ", self.len);
        }
        let flags = tcp_flags_text(self.flags);
        label.push_str(if flags == "<none>" {
            "no flags"
        } else {
            &flags
        });
        let _ = write!(label, " seq={}", self.rel_seq);
        if let Some(a) = self.rel_ack {
            let _ = write!(label, " ack={a}");
        }
        label
    }
}

impl Serialize for Step {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Step", 7)?;
        st.serialize_field("frame", &self.frame)?;
        if let Some(l) = self.last_frame() {
            st.serialize_field("last_frame", &l)?;
        }
        st.serialize_field("rel_ts", &self.rel_ts)?;
        st.serialize_field("osi", &self.osi)?;
        st.serialize_field("from", &self.from)?;
        st.serialize_field("kind", self.kind)?;
        st.serialize_field("text", &self.text())?;
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
    /// Whether the next step pushed is kept: when it is not, a caller
    /// skips wording it and calls [`Self::omit`] instead.
    pub(super) fn keeps(&self) -> bool {
        self.steps.len() < MAX_STEPS && self.room
    }

    pub(super) fn push(&mut self, s: Step) {
        if self.keeps() {
            self.last_kept = true;
            let (words, before) = (s.heap_bytes(), self.steps.capacity());
            self.steps.push(s);
            // What the steps really hold: their texts, and every slot of the
            // vector (it grows by doubling).
            self.bytes += words + (self.steps.capacity() - before) * size_of::<Step>();
        } else {
            self.omit();
        }
    }

    /// Counts a step that is not kept, as [`Self::push`] would.
    pub(super) fn omit(&mut self) {
        self.last_kept = false;
        self.over_budget |= !self.room;
        self.omitted += 1;
    }

    /// Whether [`Self::annotate`] would add to a step: the last step pushed
    /// was kept (a caller words its annotation only then).
    pub(super) fn annotates(&self) -> bool {
        self.last_kept
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
            let before = s.heap_bytes();
            let (old_text, old_label) = (s.text(), s.label());
            let mut t =
                String::with_capacity(old_text.len() + text.len() + old_label.len() + label.len());
            t.push_str(&old_text);
            t.push_str(text);
            let split = t.len();
            t.push_str(&old_label);
            t.push_str(label);
            s.words = Words::Said(t.into_boxed_str());
            s.split = u32::try_from(split).unwrap_or(u32::MAX);
            self.bytes = self.bytes.saturating_sub(before) + s.heap_bytes();
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
            s.last = NonZeroU64::new(f.last);
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
            last: None,
            rel_ts,
            osi,
            from,
            split: u32::try_from(split).unwrap_or(u32::MAX),
            kind,
            // Shrunk to its length: steps wait until their connection ends.
            words: Words::Said(text.into_boxed_str()),
        }
    }

    /// A plain data or ACK segment (a "data" step when it carries bytes,
    /// else an "ack" step).
    pub(super) fn segment(frame: u64, rel_ts: f64, seg: Segment) -> Step {
        Step {
            frame,
            last: None,
            rel_ts,
            osi: 4,
            from: Some(seg.dir),
            split: 0,
            kind: if seg.len > 0 { "data" } else { "ack" },
            words: Words::Segment(seg),
        }
    }

    /// Heap bytes the step holds.
    fn heap_bytes(&self) -> usize {
        match &self.words {
            Words::Said(all) => all.len(),
            Words::Segment(_) => 0,
        }
    }

    /// The plain-language explanation.
    pub fn text(&self) -> Cow<'_, str> {
        match &self.words {
            Words::Said(all) => Cow::Borrowed(all.get(..self.split as usize).unwrap_or(all)),
            Words::Segment(seg) => Cow::Owned(seg.text("")),
        }
    }

    /// The short arrow label of the ladder diagram.
    pub fn label(&self) -> Cow<'_, str> {
        match &self.words {
            Words::Said(all) => Cow::Borrowed(all.get(self.split as usize..).unwrap_or_default()),
            Words::Segment(seg) => Cow::Owned(seg.label()),
        }
    }

    /// Last frame of a folded run.
    pub fn last_frame(&self) -> Option<u64> {
        self.last.map(NonZeroU64::get)
    }

    /// The frame, or the range of a folded run, as the timeline shows it.
    pub(super) fn frames(&self) -> String {
        match self.last_frame() {
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
    /// The next step will not be kept: it is counted as omitted, and the
    /// caller skips wording it (most steps of a busy capture are not kept).
    pub fn omits(&mut self) -> bool {
        let omits = !self.story.keeps();
        if omits {
            self.story.omit();
        }
        omits
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn said(frame: u64) -> Step {
        Step::new(
            frame,
            0.0,
            7,
            Some(Dir::ClientToServer),
            "x",
            "text".into(),
            "label",
        )
    }

    #[test]
    fn a_step_not_kept_is_counted_as_push_would() {
        let mut pushed = Story::default();
        let mut skipped = Story::default();
        for s in [&mut pushed, &mut skipped] {
            s.room = true;
        }
        pushed.push(said(1));
        let mut at = At {
            story: &mut skipped,
            rel_ts: 0.0,
        };
        assert!(!at.omits());
        at.step(
            1,
            7,
            Some(Dir::ClientToServer),
            "x",
            "text".into(),
            "label".into(),
        );
        // Out of room: the step is counted, not worded, and not kept.
        pushed.room = false;
        skipped.room = false;
        pushed.push(said(2));
        let mut at = At {
            story: &mut skipped,
            rel_ts: 0.0,
        };
        assert!(at.omits());
        for s in [&pushed, &skipped] {
            assert_eq!(s.steps.len(), 1);
            assert_eq!((s.omitted, s.over_budget), (1, true));
        }
        assert_eq!(pushed.bytes, skipped.bytes);
        // A reply's time is not added to a step that was not kept.
        skipped.annotate(2, Dir::ClientToServer, "; pong", " (1 ms)");
        assert_eq!(skipped.steps[0].text(), "text");
    }

    #[test]
    fn a_plain_segment_is_worded_when_printed() {
        let seg = |len, flags, rel_ack| Segment {
            dir: Dir::ServerToClient,
            flags,
            len,
            rel_seq: 101,
            rel_ack,
        };
        let data = Step::segment(7, 0.5, seg(20, 0x018, Some(31)));
        assert_eq!(
            (data.kind, data.osi, data.from),
            ("data", 4, Some(Dir::ServerToClient))
        );
        assert_eq!(
            data.text(),
            "The server sends 20 bytes (its bytes 101–120). It also acknowledges the client's bytes up to 30."
        );
        assert_eq!(data.label(), "20 bytes PSH, ACK seq=101 ack=31");
        let ack = Step::segment(8, 0.5, seg(0, 0x010, Some(31)));
        assert_eq!(ack.kind, "ack");
        assert_eq!(
            ack.text(),
            "The server acknowledges the client's bytes up to 30 (ack=31)."
        );
        assert_eq!(ack.label(), "ACK seq=101 ack=31");
        assert_eq!(
            Step::segment(9, 0.5, seg(0, 0, None)).label(),
            "no flags seq=101"
        );
        // Its numbers live in the step itself: no text is held until printed.
        assert_eq!(data.heap_bytes(), 0);
        assert!(size_of::<Step>() <= 72);
    }
}
