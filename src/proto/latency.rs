//! Replies and how long they took: an HTTP request and its response, a
//! WebSocket ping and its pong, a close and the close that answers it, a
//! Socket.IO emit and its acknowledgement, an Engine.IO ping and its pong.
//!
//! Measured from the capture alone: a reply's time is the difference of
//! the capture times of the frame that completed the request and of the
//! frame that completed the reply. Of that, the network's share is the
//! round trip from the capture point to the side that replied, as TCP's
//! ACKs measured it by then ([`Moment::path_rtt`]: the smallest recent one,
//! seeded by the handshake); the rest is the replier's own time ("think
//! time": the server's handler, or the client's). Captured beside the
//! replier, the network's share is near zero; beside the asker, it is the
//! path's round trip.
//!
//! The analyzers find the pairs (each knows what answers what); this module
//! keeps them: every reply in [`Replies::samples`] for the percentiles, and
//! listed one by one (for `walk` and `messages`) up to
//! [`MAX_LISTED`](super::stack::MAX_LISTED).
//! Requests wait for their reply in bounded lists, each analyzer's own.

use serde::Serialize;

use crate::capture::Timestamp;
use crate::flow::{Dir, Moment};
use crate::latency::{Samples, secs};

/// What was asked and answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An HTTP request and its response (the upgrade's GET and its 101 too).
    Http,
    /// A WebSocket ping and the pong with the same payload (RFC 6455 §5.5.3).
    WsPing,
    /// The first WebSocket close and the close that answers it.
    WsClose,
    /// A Socket.IO event sent with an ack id and its ACK.
    SocketioAck,
    /// An Engine.IO ping and its pong (the heartbeat, or the upgrade's probe).
    Heartbeat,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Http,
        Kind::WsPing,
        Kind::WsClose,
        Kind::SocketioAck,
        Kind::Heartbeat,
    ];

    /// Its name in JSON and in the views.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Http => "http",
            Kind::WsPing => "ws_ping",
            Kind::WsClose => "ws_close",
            Kind::SocketioAck => "socketio_ack",
            Kind::Heartbeat => "heartbeat",
        }
    }

    /// What the reply is called in a sentence ("pong after 1.2 ms").
    pub fn reply_word(self) -> &'static str {
        match self {
            Kind::Http => "response",
            Kind::WsPing | Kind::Heartbeat => "pong",
            Kind::WsClose => "close reply",
            Kind::SocketioAck => "ack",
        }
    }
}

/// A request as it was sent: where and when, and by whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asked {
    pub frame: u64,
    pub ts: Timestamp,
    pub by: Dir,
}

impl Asked {
    /// Asked by `by` in capture frame `frame`, if that is the frame of
    /// `now` (bytes held and handed on later have no time of their own).
    pub fn at(now: &Moment, frame: u64, by: Dir) -> Option<Self> {
        (frame != 0 && frame == now.frame).then_some(Asked {
            frame,
            ts: now.ts,
            by,
        })
    }
}

/// A request and its reply.
#[derive(Clone, Debug, Serialize)]
pub struct Reply {
    pub kind: Kind,
    /// The frame that completed the request, and the one that completed its reply.
    pub from_frame: u64,
    pub to_frame: u64,
    /// Who asked ("client" or "server"); the other side replied.
    pub asked_by: Dir,
    /// Seconds from request to reply, by the frames' capture times.
    pub seconds: f64,
    /// The network's share: the round trip from the capture point to the
    /// replier at the time (null when not measured).
    pub network: Option<f64>,
    /// The rest: the replier's own time.
    pub think: Option<f64>,
    /// HTTP: seconds to the frame that completed the response's head (the
    /// body may take longer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_seconds: Option<f64>,
    /// What was asked, in a few words ("GET /chat", "ping \"hb\"", "save #3").
    pub what: String,
    /// Engine.IO: the pong came later than the ping timeout the server
    /// announced (the server would have closed the session).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
}

/// The replies of one kind on one connection.
#[derive(Clone, Debug, Default)]
pub struct Replies {
    pub samples: Samples,
    pub listed: Vec<Reply>,
}

/// Engine.IO's heartbeat as announced and as seen.
#[derive(Clone, Debug, Default)]
pub struct Heartbeat {
    /// From the open packet, in ms.
    pub ping_interval_ms: Option<u64>,
    pub ping_timeout_ms: Option<u64>,
    /// Seconds between one ping and the next from the same side.
    pub intervals: Samples,
    /// Pongs that came after the ping timeout.
    pub late_pongs: u64,
    /// Gaps between pings longer than interval + timeout (the client would
    /// have closed the session).
    pub late_pings: u64,
    /// The last ping was never answered: the connection ended first.
    pub unanswered_at_end: bool,
}

/// The replies of one connection, by kind.
#[derive(Clone, Debug, Default)]
pub struct AppLatency {
    pub by_kind: [Replies; 5],
    pub heartbeat: Option<Heartbeat>,
}

impl AppLatency {
    /// The connection is over: the figures are kept, not the samples.
    /// Returns the bytes freed.
    pub fn freeze(&mut self) -> usize {
        let mut freed: usize = self.by_kind.iter_mut().map(|r| r.samples.freeze()).sum();
        if let Some(h) = &mut self.heartbeat {
            freed += h.intervals.freeze();
        }
        freed
    }

    pub fn get(&self, k: Kind) -> &Replies {
        &self.by_kind[k as usize]
    }

    /// The kinds that have replies, with them.
    pub fn kinds(&self) -> impl Iterator<Item = (Kind, &Replies)> {
        Kind::ALL
            .into_iter()
            .map(|k| (k, self.get(k)))
            .filter(|(_, r)| r.samples.count() > 0)
    }
}

/// The reply to `asked`, completed in capture frame `frame` at `now`.
/// None when that is not the frame of `now` (a unit completed at the end of
/// the connection, or handed on later, has no time of its own).
pub fn measure(
    kind: Kind,
    asked: &Asked,
    frame: u64,
    now: &Moment,
    what: impl FnOnce() -> String,
) -> Option<Reply> {
    if frame == 0 || frame != now.frame {
        return None;
    }
    let ns = now
        .ts
        .since(asked.ts)
        .clamp(i64::MIN as i128, i64::MAX as i128) as i64;
    // The asker's data went to the replier: that path's round trip.
    let network = now.path_rtt[asked.by as usize]
        .map(|r| i64::try_from(r).unwrap_or(i64::MAX).min(ns.max(0)));
    Some(Reply {
        kind,
        from_frame: asked.frame,
        to_frame: now.frame,
        asked_by: asked.by,
        seconds: secs(ns),
        network: network.map(secs),
        think: network.map(|n| secs(ns - n)),
        head_seconds: None,
        what: what(),
        late: false,
    })
}

impl Reply {
    /// Its duration in ns, as measured (the sample kept).
    pub fn ns(&self) -> i64 {
        (self.seconds * 1e9).round() as i64
    }

    /// Bytes it takes in the detail lists.
    pub fn weight(&self) -> usize {
        std::mem::size_of::<Reply>() + self.what.len()
    }
}

/// A short quote of a payload for `what`: its text when it is short and
/// printable, else its size.
pub fn quote(payload: &[u8]) -> String {
    match std::str::from_utf8(payload) {
        Ok("") => String::new(),
        Ok(t) if t.len() <= 24 && !t.chars().any(char::is_control) => format!(" \"{t}\""),
        _ => format!(" ({} bytes)", payload.len()),
    }
}
