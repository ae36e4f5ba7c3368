//! The analyzer stacks of every open connection, fed by the flow table.

use foldhash::HashMap;

use crate::flow::{ConnSummary, Dir, Moment, StreamSink};
use crate::proto::stack::{AppEvent, AppSummary, MAX_TEXT, SHARES, Stack, StackOptions};
use crate::proto::websocket::{MAX_FRAME_KEEP, MAX_MESSAGE_KEEP};

use super::options::{Filter, RunOptions};

/// Bytes of a message kept for a one-line preview (60 characters, up to 4 bytes each).
const LINE_PREVIEW: usize = 256;
/// Bytes of a WebSocket frame's payload kept for `layers`: as much as a
/// message's preview.
const UNIT_PREVIEW: usize = 256;

/// The protocol stacks of the connections one side of a run decodes.
pub struct Analyzers {
    /// The options of the connections drawing on each share of the run's
    /// limits ([`SHARES`]).
    opts: [StackOptions; SHARES],
    conns: HashMap<u64, Stack>,
    /// Events found while processing the current frame, with their connection.
    pub events: Vec<(u64, AppEvent)>,
    scratch: Vec<AppEvent>,
    /// The view shows frames, so their events are collected.
    keep_events: bool,
    /// Ports of the connections, when the registry may choose by port.
    ports: HashMap<u64, (u16, u16)>,
    /// Summaries of connections that closed and wait to be reported (boxed:
    /// a summary is about 2 KB, and the table's spare slots would be too).
    done: HashMap<u64, Box<AppSummary>>,
    /// The view's filter: connections it leaves out (`--connection`) list
    /// nothing.
    filter: Filter,
}

/// The share of the run's limits connection `stream` draws on.
fn share(stream: u64) -> usize {
    (stream % SHARES as u64) as usize
}

impl Analyzers {
    /// The analyzers a view needs: what it prints of a message or a frame.
    /// Walk lists them with their text; packets and layers show a line of
    /// it; flows nothing.
    pub fn for_view(opts: &RunOptions, wants_frames: bool) -> Analyzers {
        let (messages, frames) = if opts.detail {
            (MAX_TEXT, MAX_FRAME_KEEP)
        } else if opts.texts {
            (MAX_TEXT, 0)
        } else if opts.units {
            (LINE_PREVIEW, UNIT_PREVIEW)
        } else if wants_frames {
            (LINE_PREVIEW, 0)
        } else {
            (0, 0)
        };
        let lists = opts.lists.clone().unwrap_or_default();
        let options = |i: usize| StackOptions {
            detail: opts.detail,
            // Only the events of shown frames carry arguments out.
            values: opts.detail || wants_frames,
            keep_messages: if opts.whole_texts {
                MAX_MESSAGE_KEEP
            } else {
                messages.min(MAX_TEXT)
            },
            keep_frames: frames,
            list_text: if opts.whole_messages {
                MAX_MESSAGE_KEEP
            } else {
                MAX_TEXT
            },
            messages: opts.messages.as_ref().map(|m| m[i].clone()),
            budget: lists[i].clone(),
            decode_as: opts.decode_as.clone(),
            keylog: opts.keylog.clone(),
            spans: opts.units,
        };
        Analyzers {
            opts: std::array::from_fn(options),
            conns: HashMap::default(),
            events: Vec::new(),
            scratch: Vec::new(),
            keep_events: wants_frames,
            ports: HashMap::default(),
            done: HashMap::default(),
            filter: opts.filter.clone(),
        }
    }

    /// Runs `f` on the stack of connection `stream` (made at its first call)
    /// and collects the events it found.
    fn with_stack(
        &mut self,
        stream: u64,
        f: impl FnOnce(&mut Stack, &StackOptions, &mut Vec<AppEvent>),
    ) {
        if self.done.contains_key(&stream) {
            return;
        }
        let mut evs = std::mem::take(&mut self.scratch);
        let Analyzers {
            opts,
            conns,
            ports,
            filter,
            ..
        } = self;
        let opts = &opts[share(stream)];
        let stack = conns.entry(stream).or_insert_with(|| {
            let mut s = Stack::new(opts, ports.get(&stream).copied());
            if !filter.shows_stream(stream) {
                s.not_shown();
            }
            s
        });
        f(stack, opts, &mut evs);
        if self.keep_events {
            self.events.extend(evs.drain(..).map(|e| (stream, e)));
        } else {
            evs.clear();
        }
        self.scratch = evs;
    }

    /// The ports of connection `stream` (recorded once).
    pub fn ports(&mut self, stream: u64, ports: (u16, u16)) {
        self.ports.entry(stream).or_insert(ports);
    }

    /// The summary of a finished connection.
    pub fn finish(&mut self, s: &ConnSummary) -> Option<AppSummary> {
        self.ports.remove(&s.id);
        let opts = &self.opts[share(s.id)];
        let mut app = self.done.remove(&s.id).map(|a| *a).or_else(|| {
            self.conns
                .remove(&s.id)
                .map(|a| a.finish(opts, s.last_frame))
        });
        if let Some(a) = &mut app {
            a.give_back();
        }
        app
    }

    /// A connection closed: its analyzers' state is given up now (memory
    /// stays flat while the connection lingers), keeping only the summary.
    pub fn closed(&mut self, stream: u64, frame: u64) {
        if let Some(a) = self.conns.remove(&stream) {
            self.done
                .insert(stream, Box::new(a.finish(&self.opts[share(stream)], frame)));
        }
    }
}

impl StreamSink for Analyzers {
    fn data(&mut self, stream: u64, dir: Dir, at: &Moment, bytes: &[u8]) {
        self.with_stack(stream, |s, opts, out| s.data(opts, dir, *at, bytes, out));
    }

    fn gap(&mut self, stream: u64, dir: Dir, at: &Moment) {
        self.with_stack(stream, |s, opts, out| s.gap(opts, dir, *at, out));
    }

    fn end(&mut self, stream: u64, dir: Dir, at: &Moment) {
        // A connection that carried no byte has no analyzer to tell.
        if self.conns.contains_key(&stream) {
            self.with_stack(stream, |s, opts, out| s.end(opts, dir, *at, out));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;

    /// With `--connection 1`, connection 0 is decoded (its counts are kept)
    /// but lists nothing: the budget is left to the connection shown.
    #[test]
    fn connections_the_view_leaves_out_list_nothing() {
        let opts = RunOptions {
            detail: true,
            filter: Filter {
                connections: vec![1],
                ..Filter::default()
            },
            ..RunOptions::default()
        };
        let mut a = Analyzers::for_view(&opts, false);
        let at = |frame| Moment {
            frame,
            ts: Timestamp { secs: 1, nanos: 0 },
            path_rtt: [None; 2],
        };
        // RFC 6455's sample key and its accept value.
        let offer = "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        let answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        let hello = [&[0x81, 5][..], b"hello"].concat();
        for stream in [0, 1] {
            a.data(stream, Dir::ClientToServer, &at(1), offer.as_bytes());
            a.data(stream, Dir::ServerToClient, &at(2), answer.as_bytes());
            a.data(stream, Dir::ServerToClient, &at(3), &hello);
            a.data(stream, Dir::ServerToClient, &at(4), &hello);
            a.closed(stream, 5);
        }
        let ws = |id: u64| a.done[&id].websocket.clone().expect("websocket");
        let (left_out, shown) = (ws(0), ws(1));
        assert_eq!(left_out.messages.get("server:text"), Some(&2));
        assert_eq!(shown.messages.get("server:text"), Some(&2));
        assert_eq!(
            (left_out.frame_rows.len(), left_out.message_rows.len()),
            (0, 0)
        );
        assert_eq!((shown.frame_rows.len(), shown.message_rows.len()), (2, 2));
        assert_eq!(a.done[&0].rows_not_listed, 0);
    }
}
