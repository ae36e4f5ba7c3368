//! One Socket.IO client across reconnects: a connection that opens a
//! Socket.IO session is tied to the connection the same client had before,
//! with the gap between them and why the earlier one ended.
//!
//! Ties, best first: the session id the client offers in its CONNECT
//! (connection-state recovery, Socket.IO >= 4.6: `pid`) equals the one an
//! earlier connection was granted; else, as a guess, the latest earlier
//! connection from the same client address to the same server that had
//! ended by then (within [`GUESS_WINDOW`] seconds), with a request to the
//! same path, under another Engine.IO session, unless the client had said
//! goodbye there (a client that disconnects on purpose does not reconnect). Connections of one Engine.IO session (long-polling, then its
//! WebSocket) are one session, not a reconnect ([`super::SessionPart`]).
//!
//! At the end, each client seen on several connections is told as a
//! timeline: its connections, and the gaps between them with their cause.
//!
//! Memory: the last [`MAX_PARTS`] Socket.IO connections and
//! [`MAX_REFUSED`] refused ones are remembered, and the timelines of at most
//! [`MAX_PARTS`] clients with [`MAX_PARTS`] ties among them.

use std::collections::VecDeque;

use serde::Serialize;

use crate::flow::{ConnSummary, Dir};
use crate::proto::engineio::record::{SioConnect, SocketIoSummary};
use crate::proto::stack::AppSummary;
use crate::report::flows::human_secs;

/// Socket.IO connections remembered to tie later ones to.
pub const MAX_PARTS: usize = 1000;
/// Refused connections remembered (counted in the gap they fall in).
pub const MAX_REFUSED: usize = 1000;
/// Seconds within which a guess ties a connection to the one before.
pub const GUESS_WINDOW: f64 = 60.0;

/// What is kept of a Socket.IO connection.
struct Part {
    id: u64,
    client_ip: String,
    server: String,
    /// The path its Engine.IO requests went to (`/socket.io/`).
    path: Option<String>,
    /// The client said goodbye (a Socket.IO DISCONNECT): a Socket.IO client
    /// does not reconnect after `socket.disconnect()`, so no guess follows it.
    client_left: bool,
    /// A later connection took the client over: no guess ties another to it.
    taken: bool,
    end: f64,
    eio_sid: Option<String>,
    /// The socket id and recovery session id the server granted on "/".
    sid: Option<String>,
    pid: Option<String>,
    ended: String,
}

/// The connection this one takes the client over from.
#[derive(Clone, Debug, Serialize)]
pub struct Resume {
    pub connection: u64,
    /// "recovery_pid" (the offered session id), or "guess" (same client
    /// address, server and path, in time order).
    pub by: &'static str,
    pub gap_seconds: f64,
    /// How the earlier connection ended, in words.
    pub earlier_ended: String,
    /// Connections to the same server refused in the gap (the server was down).
    pub refused_between: u64,
    /// With a pid: whether the server recovered the session (the same socket id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
}

impl Resume {
    /// The header line of the connection that resumes.
    pub fn line(&self) -> String {
        let mut t = format!(
            "  ↺ the Socket.IO client of connection {} again, {} after that one ended: {}",
            self.connection,
            human_secs(self.gap_seconds.max(0.0)),
            self.earlier_ended
        );
        if self.refused_between > 0 {
            t.push_str(&format!(
                "; {} connection attempt{} refused in between (the server was down)",
                self.refused_between,
                if self.refused_between == 1 { "" } else { "s" }
            ));
        }
        match (self.by, self.recovered) {
            ("recovery_pid", Some(true)) => t.push_str(
                "; tied by the session id it offered (connection-state recovery): the server recovered the session",
            ),
            ("recovery_pid", _) => t.push_str(
                "; tied by the session id it offered (connection-state recovery): the server did not know it and opened a new session",
            ),
            _ => t.push_str("; a guess: same client address, server and path, in time order"),
        }
        t
    }
}

/// The Socket.IO connections seen so far, to tie reconnects to.
#[derive(Default)]
pub(super) struct Clients {
    parts: VecDeque<Part>,
    refused: VecDeque<(String, String, f64)>,
    /// Each client's connections in order, the first [`MAX_PARTS`] ties:
    /// (connection, its start, the session it got, the tie to the one before).
    chains: Vec<Vec<Link>>,
    ties: usize,
    /// The chain each remembered connection ends, by connection.
    chain_of: std::collections::HashMap<u64, usize>,
}

/// One connection of a client's chain.
pub(super) struct Link {
    pub id: u64,
    pub start: f64,
    pub session: Option<String>,
    pub resume: Option<Resume>,
    /// Whether the connection was listed (a chain is told when one is).
    pub listed: bool,
}

fn ip_of(endpoint: &str) -> String {
    match endpoint.rsplit_once(':') {
        Some((ip, _)) => ip.to_owned(),
        None => endpoint.to_owned(),
    }
}

/// The CONNECT on "/" sent by `from`, if any.
fn connect_on_root(so: &SocketIoSummary, from: Dir) -> Option<&SioConnect> {
    so.connects
        .iter()
        .find(|c| c.from == from && c.namespace == "/")
}

/// The path of the connection's first request, without its query.
fn request_path(app: &AppSummary) -> Option<String> {
    let uri = app
        .websocket
        .as_ref()
        .and_then(|w| w.uri.as_deref())
        .or_else(|| app.http.first().and_then(|t| t.uri.as_deref()))?;
    Some(uri.split('?').next().unwrap_or(uri).to_owned())
}

/// How a Socket.IO connection ended, as far as the capture says.
fn ended(s: &ConnSummary, app: &AppSummary, so: &SocketIoSummary) -> String {
    let hb = app.latency.heartbeat.as_ref();
    if let Some(d) = so.disconnect_from {
        return format!("the {} sent a Socket.IO DISCONNECT", d.sender());
    }
    if hb.is_some_and(|h| h.late_pongs > 0 || h.unanswered_at_end) {
        return "ping timeout: a heartbeat ping was not answered in time".into();
    }
    if s.closed_by == Some("rst") {
        let who = s.rst_from.map_or("one side", Dir::sender);
        return format!("the {who} reset the connection");
    }
    if let Some(c) = app.websocket.as_ref().and_then(|w| w.close.as_ref())
        && let Some(d) = c.initiator
    {
        return format!(
            "the {} closed the transport with a WebSocket close",
            d.sender()
        );
    }
    match s.first_fin_from {
        Some(d) => format!("the {} closed the connection with a FIN", d.sender()),
        None => "it ended without a goodbye in the capture".into(),
    }
}

impl Clients {
    /// A finished connection: the connection it resumes, if any; then it is
    /// remembered for the ones after it.
    pub fn connection(
        &mut self,
        s: &ConnSummary,
        app: Option<&AppSummary>,
        listed: bool,
    ) -> Option<Resume> {
        let client_ip = ip_of(&s.client);
        if s.refused {
            if self.refused.len() >= MAX_REFUSED {
                self.refused.pop_front();
            }
            self.refused
                .push_back((client_ip, s.server.clone(), s.start));
            return None;
        }
        let app = app?;
        let so = app.socketio.as_ref()?;
        let path = request_path(app);
        let offered = connect_on_root(so, Dir::ClientToServer);
        let granted = connect_on_root(so, Dir::ServerToClient);
        let pid = offered.and_then(|c| c.pid.as_deref());
        let by_pid = pid.and_then(|p| self.parts.iter().rposition(|q| q.pid.as_deref() == Some(p)));
        let (at, by) = match by_pid {
            Some(i) => (Some(i), "recovery_pid"),
            None => (
                // The cheap tests first: most remembered connections are
                // taken or too long ago.
                self.parts.iter().rposition(|q| {
                    !q.taken
                        && !q.client_left
                        && q.end <= s.start
                        && s.start - q.end < GUESS_WINDOW
                        && q.client_ip == client_ip
                        && q.server == s.server
                        && q.path == path
                        && q.eio_sid != so.sid
                }),
                "guess",
            ),
        };
        if let Some(q) = at.and_then(|i| self.parts.get_mut(i)) {
            q.taken = true;
        }
        let earlier = at.and_then(|i| self.parts.get(i));
        let resume = earlier.map(|q| Resume {
            connection: q.id,
            by,
            gap_seconds: s.start - q.end,
            earlier_ended: q.ended.clone(),
            refused_between: self
                .refused
                .iter()
                .filter(|(ip, srv, at)| {
                    *ip == client_ip && *srv == s.server && *at >= q.end && *at <= s.start
                })
                .count() as u64,
            recovered: (by == "recovery_pid").then(|| {
                let sid = granted.and_then(|g| g.sid.as_deref());
                sid.is_some() && sid == q.sid.as_deref()
            }),
            pid: pid.filter(|_| by == "recovery_pid").map(str::to_owned),
        });
        self.chain(s, so, resume.as_ref(), listed);
        if self.parts.len() >= MAX_PARTS
            && let Some(old) = self.parts.pop_front()
        {
            self.chain_of.remove(&old.id);
        }
        self.parts.push_back(Part {
            id: s.id,
            client_ip,
            server: s.server.clone(),
            path,
            client_left: so.disconnect_from == Some(Dir::ClientToServer),
            taken: false,
            end: s.start + s.duration,
            eio_sid: so.sid.clone(),
            sid: granted.and_then(|g| g.sid.clone()),
            pid: granted.and_then(|g| g.pid.clone()),
            ended: ended(s, app, so),
        });
        resume
    }

    /// The connection joins the chain of the one it resumes, or starts one.
    fn chain(&mut self, s: &ConnSummary, so: &SocketIoSummary, r: Option<&Resume>, listed: bool) {
        let link = Link {
            id: s.id,
            start: s.start,
            session: so.sid.clone(),
            resume: r.cloned(),
            listed,
        };
        let at = r.and_then(|r| self.chain_of.remove(&r.connection));
        let at = match at {
            Some(i) if self.ties < MAX_PARTS => {
                self.ties += 1;
                self.chains[i].push(link);
                i
            }
            _ if self.chains.len() < MAX_PARTS => {
                self.chains.push(vec![link]);
                self.chains.len() - 1
            }
            _ => return,
        };
        self.chain_of.insert(s.id, at);
    }

    /// Each client seen on more than one connection, with its connections in order.
    pub fn take_chains(&mut self) -> Vec<Vec<Link>> {
        let chains = std::mem::take(&mut self.chains);
        chains
            .into_iter()
            .filter(|c| c.len() > 1 && c.iter().any(|l| l.listed))
            .collect()
    }
}

/// A client's connections as a timeline, one line each and one per gap.
pub fn timeline(chain: &[Link]) -> Vec<String> {
    let t0 = chain.first().map_or(0.0, |l| l.start);
    let mut out = vec![format!(
        "Socket.IO client across {} connections (reconnects):",
        chain.len()
    )];
    for l in chain {
        if let Some(r) = &l.resume {
            let mut gap = format!("      ↓ gone {}", human_secs(r.gap_seconds.max(0.0)));
            if r.refused_between > 0 {
                gap.push_str(&format!(
                    ", {} attempt{} refused",
                    r.refused_between,
                    if r.refused_between == 1 { "" } else { "s" }
                ));
            }
            gap.push_str(&format!(": {}", r.earlier_ended));
            out.push(gap);
        }
        let mut line = format!(
            "  {:>10}  connection {}",
            format!("{:.3} s", l.start - t0),
            l.id
        );
        if let Some(sid) = &l.session {
            line.push_str(&format!(", Engine.IO session {sid}"));
        }
        match l.resume.as_ref().map(|r| (r.by, r.recovered)) {
            Some(("recovery_pid", Some(true))) => line.push_str(" (Socket.IO session recovered)"),
            Some(("recovery_pid", _)) => line.push_str(" (a new Socket.IO session)"),
            Some(_) => line.push_str(" (tied by a guess)"),
            None => {}
        }
        out.push(line);
    }
    out
}
