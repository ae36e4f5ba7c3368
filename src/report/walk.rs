//! `osiscope walk`: each TCP connection told as a story. Every step carries
//! its time, frame, OSI layer, direction and a plain-language explanation; a
//! ladder diagram of the same steps follows. Runs of ordinary data and ACK
//! segments are folded into one line so long transfers stay readable.
//!
//! Memory: a connection keeps at most [`MAX_STEPS`] steps (a folded run is
//! one). A finished connection is rendered at once and only its text waits
//! for the lower-numbered ones, at most [`super::order::MAX_PENDING`] of them
//! and [`super::order::MAX_PENDING_BYTES`] bytes; past that, connections are
//! printed as they finish. `--format svg` keeps the drawn connections until
//! the end (the document's size comes first), at most [`MAX_SVG_BYTES`].

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;

use super::escape::escape;
use super::flows::human_secs;
use super::order::InOrder;
use super::record::{self, Overhead};
use super::style::{layer_style, osi_name, paint, warn_style};
use super::{FrameEvent, View};
use crate::cli::WalkFormat;
use crate::decode::detail::tcp_flags_text;
use crate::decode::tcp_options;
use crate::flow::{ConnSummary, Dir, Offered, Role, SegmentContext, flags};
use crate::proto::app::{AppEvent, AppSummary, opcode_name, sio_type};
use crate::proto::engineio::{EioData, EioPacket};
use crate::proto::socketio;

/// Steps kept per connection; later ones are counted, not kept.
pub const MAX_STEPS: usize = 2000;
/// Bytes of steps kept across all open connections. Past it, steps of every
/// open connection are counted, not kept, until finished connections free room.
pub const MAX_STEP_BYTES: usize = 32 * 1024 * 1024;
/// Bytes of drawn connections an SVG document holds; connections that no
/// longer fit are counted at its foot (and in its title). A picture larger
/// than this is more than a browser shows usefully.
pub const MAX_SVG_BYTES: usize = 16 * 1024 * 1024;
/// Cells of the bar that stands for 100 % in "Bytes by layer".
const BAR_CELLS: usize = 40;
/// Plain steps shown before and after a folded run.
const FOLD_HEAD: usize = 3;
const FOLD_TAIL: usize = 2;
/// Width of the ladder between the two lifelines.
const LADDER: usize = 46;

/// One connection of a Socket.IO session: its number, transports, whether
/// it upgraded, and its bytes by layer.
type SessionPart = (u64, Vec<&'static str>, bool, Overhead);

/// One line of the story.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub frame: u64,
    /// Last frame of a folded run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_frame: Option<u64>,
    /// Seconds since the connection's first segment.
    pub rel_ts: f64,
    pub osi: u8,
    /// Who sent it; null for a session-level note.
    pub from: Option<Dir>,
    pub kind: &'static str,
    pub text: String,
    /// The short arrow label of the ladder diagram.
    #[serde(skip)]
    pub label: String,
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
struct Story {
    steps: Vec<Step>,
    omitted: u64,
    /// Bytes the kept steps take (estimated: the struct and its text).
    bytes: usize,
    /// Steps past the all-connections budget were omitted.
    over_budget: bool,
    /// Set by the view before each frame: the budget has room.
    room: bool,
    /// The current run of plain data/ACK steps.
    head: Vec<Step>,
    /// Steps that may be folded, with the payload bytes each carried.
    middle: Vec<(Step, u64)>,
    tail: Vec<(Step, u64)>,
    fold: Option<Fold>,
    client_opts: Option<Offered>,
    server_opts: Option<Offered>,
    client_isn: Option<u32>,
    /// Relative sequence number just after each side's FIN.
    fin_end: [Option<u32>; 2],
    fin_acked: [bool; 2],
    closed_told: bool,
    syn_count: u32,
    server_port: u16,
    /// Which sides sent a WebSocket close frame.
    ws_closed: [bool; 2],
    /// Live: no folding (steps print as they come), and steps printed so far.
    no_fold: bool,
    printed: usize,
}

impl Story {
    fn push(&mut self, s: Step) {
        if self.steps.len() < MAX_STEPS && self.room {
            self.bytes += std::mem::size_of::<Step>() + s.text.len() + s.label.len();
            self.steps.push(s);
        } else {
            self.over_budget |= !self.room;
            self.omitted += 1;
        }
    }

    /// A plain data/ACK step joins the current run.
    fn push_plain(&mut self, s: Step, len: u64) {
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
    fn end_run(&mut self) {
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
            self.push(Step {
                frame: f.first,
                last_frame: Some(f.last),
                rel_ts: f.rel_ts,
                osi: 4,
                from: None,
                kind: "folded",
                label: format!("… {} segments …", f.count),
                text,
            });
        }
        for (s, _) in std::mem::take(&mut self.tail) {
            self.push(s);
        }
    }
}

impl Step {
    /// The frame, or the range of a folded run, as the timeline shows it.
    fn frames(&self) -> String {
        match self.last_frame {
            Some(l) => format!("#{}–{}", self.frame, l),
            None => format!("#{}", self.frame),
        }
    }
}

/// The view's output: the destination, or (while a finished connection is
/// rendered to wait for its turn) a buffer.
struct Out<W> {
    inner: W,
    capture: Option<Vec<u8>>,
}

impl<W: Write> Write for Out<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match &mut self.capture {
            Some(v) => v.write(b),
            None => self.inner.write(b),
        }
    }
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        match &mut self.capture {
            Some(v) => v.write_all(b),
            None => self.inner.write_all(b),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self.capture {
            Some(_) => Ok(()),
            None => self.inner.flush(),
        }
    }
}

pub struct WalkView<W: Write> {
    out: Out<W>,
    format: WalkFormat,
    color: bool,
    brief: bool,
    /// Only each connection's header (`-q`).
    quiet: bool,
    stories: HashMap<u64, Story>,
    /// Finished connections, rendered, waiting for the lower-numbered ones.
    order: InOrder<(Vec<u8>, u32)>,
    /// SVG: the height of the connection just drawn, then the document so
    /// far (connections in order), its height, and the connections left out.
    svg_height: u32,
    svg_body: Vec<u8>,
    svg_y: u32,
    svg_omitted: u64,
    /// Connections printed so far.
    released: u64,
    /// Bytes of the steps of open connections, and the most they may take
    /// ([`MAX_STEP_BYTES`]).
    step_bytes: usize,
    step_budget: usize,
    shown: u64,
    evicted: u64,
    /// Socket.IO sessions by sid: the connections that carried them.
    sessions: std::collections::BTreeMap<String, Vec<SessionPart>>,
    /// Live capture: each step is printed as it happens.
    live: bool,
}

fn offered_text(o: &Offered) -> String {
    let mut parts = Vec::new();
    if let Some(m) = o.mss {
        parts.push(format!("MSS {m} (the largest segment it accepts)"));
    }
    if let Some(s) = o.window_scale {
        parts.push(format!("window scale ×{}", 1u64 << s.min(30)));
    }
    if o.sack_permitted {
        parts.push("SACK (selective acknowledgements)".into());
    }
    if o.timestamps {
        parts.push("timestamps".into());
    }
    if let Some(t) = o.fast_open {
        parts.push(format!("Fast Open ({t})"));
    }
    if parts.is_empty() {
        "no options".into()
    } else {
        parts.join(", ")
    }
}

impl<W: Write> WalkView<W> {
    pub fn new(out: W, format: WalkFormat, color: bool, brief: bool) -> Self {
        WalkView {
            out: Out {
                inner: out,
                capture: None,
            },
            format,
            color,
            brief,
            quiet: false,
            stories: HashMap::new(),
            order: InOrder::default(),
            svg_height: 0,
            svg_body: Vec::new(),
            svg_y: super::svg::TOP,
            svg_omitted: 0,
            released: 0,
            step_bytes: 0,
            step_budget: MAX_STEP_BYTES,
            shown: 0,
            evicted: 0,
            sessions: std::collections::BTreeMap::new(),
            live: false,
        }
    }

    /// Text: only each connection's header, no steps, ladder or bytes by layer.
    pub fn quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }

    /// Steps are printed as they happen, prefixed with their connection;
    /// each connection's summary follows when it ends.
    pub fn live(mut self) -> Self {
        self.live = true;
        self
    }

    /// Live: prints the steps a frame added.
    fn print_new(&mut self, id: u64) -> io::Result<()> {
        let Some(story) = self.stories.get_mut(&id) else {
            return Ok(());
        };
        let new: Vec<Step> = story.steps[story.printed..].to_vec();
        story.printed = story.steps.len();
        for st in &new {
            let line = self.step_line(st);
            writeln!(self.out, "[conn {id}] {line}")?;
        }
        self.out.flush()
    }

    /// One timeline line: time, frame(s), layer, direction, text.
    fn step_line(&self, st: &Step) -> String {
        let c = self.color;
        let frames = st.frames();
        let arrow = match st.from {
            Some(Dir::ClientToServer) => "client → server",
            Some(Dir::ServerToClient) => "server → client",
            None => "               ",
        };
        let tag = format!("L{} {:<12}", st.osi, osi_name(st.osi));
        let body = if self.brief { &st.label } else { &st.text };
        let body = escape(body);
        let body = if body.contains('⚠') {
            paint(c, warn_style(), &body)
        } else {
            body.into_owned()
        };
        format!(
            "{:>10.6}  {:>9}  {}  {}  {}",
            st.rel_ts,
            frames,
            paint(c, layer_style(st.osi), &tag),
            arrow,
            body
        )
    }

    /// The TCP-level steps of one segment. `has_app`: the application layer
    /// found something in its bytes, told by its own steps instead of a data line.
    fn steps_for(ev: &FrameEvent<'_, '_>, c: &SegmentContext, story: &mut Story, has_app: bool) {
        let Some(t) = ev.packet.tcp() else { return };
        let f = ev.frame.number;
        let from = Some(c.dir);
        let who = c.dir.sender();
        let other = c.dir.other().sender();
        let len = crate::decode::detail::segment_len(ev.packet, t.header_len())
            .unwrap_or(t.payload().len()) as u64;
        let fl = t.flags();
        let mut label = tcp_flags_text(fl).replace("<none>", "no flags");
        if len > 0 {
            label = format!("{len} bytes {label}");
        }
        let _ = write!(label, " seq={}", c.rel_seq);
        if let Some(a) = c.rel_ack {
            let _ = write!(label, " ack={a}");
        }
        let warn: Vec<&str> = c.analysis.iter().map(|(_, l)| l).collect();
        if !warn.is_empty() {
            let _ = write!(label, " [{}]", warn.join(", "));
        }
        let step = |osi: u8, kind: &'static str, text: String, label: String| Step {
            frame: f,
            last_frame: None,
            rel_ts: c.conn_rel_ts,
            osi,
            from,
            kind,
            text,
            label,
        };
        let note = |kind: &'static str, text: String, label: String| Step {
            frame: f,
            last_frame: None,
            rel_ts: c.conn_rel_ts,
            osi: 5,
            from: None,
            kind,
            text,
            label,
        };
        let mut warn_text = String::new();
        if !warn.is_empty() {
            warn_text = format!(" ⚠ {}", warn.join(", "));
        }
        let d = c.dir as usize;
        if has_app && c.role == Role::Data && c.analysis.is_empty() && c.established_rtt.is_none() {
            story.end_run();
            return;
        }
        let plain = matches!(c.role, Role::Data | Role::Ack)
            && c.analysis.is_empty()
            && c.established_rtt.is_none()
            && !story.fin_end.iter().any(|e| e.is_some());
        match c.role {
            Role::Syn => {
                story.syn_count += 1;
                story.server_port = t.dst_port();
                let o = Offered::from_options(&tcp_options::parse(t.options(), !t.complete()));
                let text = if story.syn_count == 1 {
                    story.client_isn = Some(t.seq());
                    let mut s = format!(
                        "SYN — the client asks to open a connection: \"can we talk? I'll number my bytes from here\" (initial sequence number {}). It offers {}.",
                        t.seq(),
                        offered_text(&o)
                    );
                    if len > 0 {
                        let _ = write!(
                            s,
                            " It already carries {len} bytes of data (TCP Fast Open)."
                        );
                    }
                    story.client_opts = Some(o);
                    s
                } else {
                    format!(
                        "SYN again — no answer yet, so the client repeats its request (attempt {}).",
                        story.syn_count
                    )
                };
                story.end_run();
                let kind = if story.syn_count == 1 {
                    "syn"
                } else {
                    "syn_retransmission"
                };
                story.push(step(4, kind, text + &warn_text, label));
            }
            Role::SynAck => {
                let o = Offered::from_options(&tcp_options::parse(t.options(), !t.complete()));
                let text = format!(
                    "SYN-ACK — the server agrees and picks its own numbering (initial sequence number {}); ack={} confirms the client's SYN. It offers {}.",
                    t.seq(),
                    c.rel_ack.unwrap_or(0),
                    offered_text(&o)
                );
                story.server_opts = Some(o);
                story.end_run();
                story.push(step(4, "syn_ack", text + &warn_text, label));
            }
            Role::Rst => {
                story.end_run();
                let refused = c.dir == Dir::ServerToClient
                    && story.syn_count > 0
                    && story.server_opts.is_none();
                if refused {
                    story.push(step(
                        4,
                        "rst",
                        format!(
                            "RST — the server refuses the connection: nothing is listening on port {}.{warn_text}",
                            story.server_port
                        ),
                        label,
                    ));
                    story.push(note(
                        "refused",
                        "Connection refused: it never opened.".into(),
                        "connection refused".into(),
                    ));
                } else {
                    story.push(step(
                        4,
                        "rst",
                        format!("RST — the {who} aborts the connection at once; no goodbye, no more data.{warn_text}"),
                        label,
                    ));
                    if !story.closed_told {
                        story.closed_told = true;
                        story.push(note(
                            "reset",
                            format!("Connection reset by the {who}."),
                            format!("connection reset by the {who}"),
                        ));
                    }
                }
            }
            _ if plain => {
                let text = if len > 0 {
                    let mut s = format!(
                        "The {who} sends {len} bytes (its bytes {}–{}).",
                        c.rel_seq,
                        c.rel_seq as u64 + len - 1
                    );
                    if let Some(a) = c.rel_ack.filter(|a| *a > 1) {
                        let _ = write!(
                            s,
                            " It also acknowledges the {other}'s bytes up to {}.",
                            a - 1
                        );
                    }
                    s
                } else {
                    format!(
                        "The {who} acknowledges the {other}'s bytes up to {} (ack={}).",
                        c.rel_ack.unwrap_or(0).saturating_sub(1),
                        c.rel_ack.unwrap_or(0)
                    )
                };
                story.push_plain(
                    step(4, if len > 0 { "data" } else { "ack" }, text, label),
                    len,
                );
            }
            _ => {
                story.end_run();
                let fin = fl & flags::FIN != 0;
                let mut text = String::new();
                if fin {
                    story.fin_end[d] = Some(c.rel_seq.wrapping_add(len as u32).wrapping_add(1));
                    let second = story.fin_end[1 - d].is_some();
                    text = if second {
                        format!("FIN — the {who} closes its side too.")
                    } else {
                        format!(
                            "FIN — the {who} closes its sending side: it has nothing more to send (it can still receive)."
                        )
                    };
                    if len > 0 {
                        let _ = write!(text, " It carries {len} last bytes.");
                    }
                } else if c.established_rtt.is_some() {
                    text = "ACK — the client confirms the server's SYN-ACK: the three-way handshake is complete.".into();
                    if len > 0 {
                        let _ = write!(text, " It already carries {len} bytes of data.");
                    }
                } else if len > 0 {
                    let _ = write!(
                        text,
                        "The {who} sends {len} bytes (its bytes {}–{}).",
                        c.rel_seq,
                        c.rel_seq as u64 + len - 1
                    );
                } else if c.rel_ack.is_some() {
                    let _ = write!(
                        text,
                        "The {who} acknowledges the {other}'s bytes up to {}.",
                        c.rel_ack.unwrap_or(0).saturating_sub(1)
                    );
                } else {
                    let _ = write!(text, "A segment with flags [{}].", tcp_flags_text(fl));
                }
                let kind = if fin {
                    "fin"
                } else if c.established_rtt.is_some() {
                    "handshake_ack"
                } else if len > 0 {
                    "data"
                } else if c.rel_ack.is_some() {
                    "ack"
                } else {
                    "segment"
                };
                story.push(step(4, kind, text + &warn_text, label));
                if let Some(rtt) = c.established_rtt {
                    let mut s = format!(
                        "Connection established after {} (the initial round-trip time, SYN to ACK): both sides can now send data.",
                        human_secs(rtt)
                    );
                    if let (Some(co), Some(so)) = (&story.client_opts, &story.server_opts) {
                        let mut agreed = Vec::new();
                        if let (Some(a), Some(b)) = (co.mss, so.mss) {
                            agreed.push(format!("segments up to {b} bytes client → server and {a} bytes server → client"));
                        }
                        if let (Some(a), Some(b)) = (co.window_scale, so.window_scale) {
                            agreed.push(format!(
                                "window scaling ×{} / ×{}",
                                1u64 << a.min(30),
                                1u64 << b.min(30)
                            ));
                        }
                        if co.sack_permitted && so.sack_permitted {
                            agreed.push("SACK".into());
                        }
                        if co.timestamps && so.timestamps {
                            agreed.push("timestamps".into());
                        }
                        if !agreed.is_empty() {
                            let _ = write!(s, " Agreed: {}.", agreed.join(", "));
                        }
                    }
                    story.push(note("established", s, "connection established".into()));
                }
            }
        }
        // Each FIN is done once the other side acknowledges it.
        if let (Some(a), Some(end)) = (c.rel_ack, story.fin_end[1 - d])
            && (a.wrapping_sub(end) as i32) >= 0
        {
            story.fin_acked[1 - d] = true;
        }
        if story.fin_acked[0] && story.fin_acked[1] && !story.closed_told {
            story.closed_told = true;
            story.end_run();
            story.push(note(
                "closed",
                "Connection closed: both sides said goodbye and each goodbye was acknowledged."
                    .into(),
                "connection closed".into(),
            ));
        }
    }

    /// The connection's header lines, then its application layer's.
    fn full_header(&self, s: &ConnSummary, app: Option<&AppSummary>) -> Vec<String> {
        let mut head = self.header(s);
        head.extend(app_header(app));
        head
    }

    fn header(&self, s: &ConnSummary) -> Vec<String> {
        let mut lines = Vec::new();
        let outcome = match (s.state, s.closed_by) {
            ("refused", _) => "refused".to_owned(),
            ("unanswered", _) => "no answer".to_owned(),
            (_, Some("fin")) => format!(
                "closed by FIN ({} first)",
                s.first_fin_from.map_or("?", |d| d.sender())
            ),
            (_, Some("rst")) => format!(
                "reset by the {} after {} bytes from the client and {} from the server",
                s.rst_from.map_or("?", |d| d.sender()),
                s.payload_bytes.client_to_server,
                s.payload_bytes.server_to_client
            ),
            ("half-closed", _) => format!(
                "half-closed by the {}",
                s.first_fin_from.map_or("?", |d| d.sender())
            ),
            _ => "still open at the end of the capture".to_owned(),
        };
        lines.push(format!(
            "Connection {} · client {} → server {} · IPv{} · {} packets · {} · {}",
            s.id,
            s.client,
            s.server,
            s.ip_version,
            s.frames,
            human_secs(s.duration),
            outcome
        ));
        let hs = &s.handshake;
        let frame = |f: Option<u64>| f.map_or("–".to_owned(), |f| format!("#{f}"));
        let mut h = format!(
            "  handshake: SYN {} → SYN-ACK {} → ACK {}",
            frame(hs.syn_frame),
            frame(hs.synack_frame),
            frame(hs.ack_frame)
        );
        if let (Some(r), Some(a), Some(b)) = (hs.initial_rtt, hs.syn_to_synack, hs.synack_to_ack) {
            let _ = write!(
                h,
                ", iRTT {} (SYN → SYN-ACK {}, SYN-ACK → ACK {})",
                human_secs(r),
                human_secs(a),
                human_secs(b)
            );
        }
        if hs.syn_retransmissions > 0 {
            let _ = write!(h, ", SYN sent {} times", hs.syn_retransmissions + 1);
        }
        for n in &hs.notes {
            let _ = write!(
                h,
                ", {}",
                match *n {
                    "syn_not_captured" => "the SYN was not captured",
                    "synack_before_syn" => "the SYN-ACK was captured before the SYN",
                    "simultaneous_open" => "both sides sent SYN (simultaneous open)",
                    "data_before_handshake" =>
                        "the client sent data before the handshake completed",
                    "not_captured" => "not captured (the capture starts mid-connection)",
                    other => other,
                }
            );
        }
        lines.push(h);
        if s.evicted {
            lines.push(format!(
                "  evicted: more connections were open at once than --max-connections allows, so this one was finished early at frame {}",
                s.last_frame
            ));
        }
        if s.roles_guessed {
            lines.push("  roles guessed: no SYN or SYN-ACK was seen, so the side with the lower port is taken as the server".into());
        }
        let anomalies = if s.anomalies.is_empty() {
            "none".to_owned()
        } else {
            s.anomalies
                .iter()
                .map(|(k, v)| format!("{k} ×{v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        lines.push(format!(
            "  history {} · state {} ({}) · client → server {} packets, {} bytes · server → client {} packets, {} bytes · anomalies: {}",
            escape(&s.history),
            s.state,
            s.conn_state,
            s.packets.client_to_server,
            s.payload_bytes.client_to_server,
            s.packets.server_to_client,
            s.payload_bytes.server_to_client,
            anomalies
        ));
        lines
    }

    fn write_text(
        &mut self,
        s: &ConnSummary,
        app: Option<&AppSummary>,
        story: &Story,
    ) -> io::Result<()> {
        let c = self.color;
        let head = self.full_header(s, app);
        writeln!(
            self.out,
            "{}",
            paint(c, anstyle::Style::new().bold(), &head[0])
        )?;
        for l in &head[1..] {
            writeln!(self.out, "{}", escape(l))?;
        }
        if self.quiet {
            return Ok(());
        }
        writeln!(self.out)?;
        for st in &story.steps {
            let line = self.step_line(st);
            writeln!(self.out, "  {line}")?;
        }
        if story.omitted > 0 {
            let why = if story.over_budget {
                format!(
                    "{} KiB of steps held for all open connections",
                    self.step_budget >> 10
                )
            } else {
                format!("{MAX_STEPS} per connection")
            };
            writeln!(
                self.out,
                "  … {} more steps not kept (limit {why})",
                story.omitted
            )?;
        }
        writeln!(self.out)?;
        self.ladder(s, story)?;
        if app.is_some_and(|a| a.protocol.is_some()) {
            self.overhead(&Overhead::of(s, app))?;
        }
        Ok(())
    }

    /// A Socket.IO session can span several TCP connections (long-polling
    /// requests, then the WebSocket): one paragraph per session ties them together.
    fn session_summaries(&mut self) -> io::Result<()> {
        let sessions = std::mem::take(&mut self.sessions);
        for (sid, conns) in sessions {
            let list = |want: &str| -> Vec<String> {
                conns
                    .iter()
                    .filter(|(_, t, _, _)| t.contains(&want))
                    .map(|(id, _, _, _)| id.to_string())
                    .collect()
            };
            let (polling, ws) = (list("polling"), list("websocket"));
            writeln!(self.out)?;
            let mut line = format!(
                "Socket.IO session {} spans {} TCP connection{}",
                escape(&sid),
                conns.len(),
                if conns.len() == 1 { "" } else { "s" }
            );
            if !polling.is_empty() {
                let _ = write!(line, ": long-polling on {}", polling.join(", "));
            }
            if !ws.is_empty() {
                let sep = if polling.is_empty() { ": " } else { "; " };
                let _ = write!(line, "{sep}WebSocket on {}", ws.join(", "));
            }
            if conns.iter().any(|(_, _, up, _)| *up) {
                line.push_str(" (upgraded from polling after the probe)");
            }
            writeln!(
                self.out,
                "{}",
                paint(self.color, anstyle::Style::new().bold(), &line)
            )?;
            let mut total = Overhead::default();
            for (_, _, _, o) in &conns {
                total += *o;
            }
            self.overhead(&total)?;
        }
        Ok(())
    }

    fn overhead(&mut self, o: &Overhead) -> io::Result<()> {
        writeln!(self.out)?;
        writeln!(self.out, "  Bytes by layer ({} bytes on the wire)", o.total)?;
        for (osi, name, n) in o.parts() {
            if n == 0 {
                continue;
            }
            let tag = if osi == 0 {
                "  ".to_owned()
            } else {
                format!("L{osi}")
            };
            let pct = if o.total == 0 {
                0.0
            } else {
                n as f64 * 100.0 / o.total as f64
            };
            writeln!(
                self.out,
                "    {}  {:<30} {:>10}  {:>5.1} %  {}",
                paint(self.color, layer_style(osi), &tag),
                name,
                n,
                pct,
                paint(self.color, layer_style(osi), &bar(pct / 100.0, BAR_CELLS))
            )?;
        }
        Ok(())
    }

    fn ladder(&mut self, s: &ConnSummary, story: &Story) -> io::Result<()> {
        let c = self.color;
        let left = format!("client {}", s.client);
        let right = format!("server {}", s.server);
        // Lifelines start after "  {frames:>12}  L4   ": column 21.
        let gap = (LADDER + 2)
            .saturating_sub(left.chars().count() + right.chars().count())
            .max(1);
        writeln!(self.out, "  Ladder")?;
        writeln!(self.out, "{:21}{left}{:gap$}{right}", "", "")?;
        for st in &story.steps {
            let frames = st.frames();
            let tag = paint(c, layer_style(st.osi), &format!("L{}", st.osi));
            let label: String = escape(&st.label).chars().take(LADDER - 8).collect();
            let n = label.chars().count();
            let line = match st.from {
                Some(Dir::ClientToServer) => {
                    format!("│── {label} {}▶│", "─".repeat(LADDER.saturating_sub(n + 5)))
                }
                Some(Dir::ServerToClient) => {
                    format!("│◀─ {label} {}─│", "─".repeat(LADDER.saturating_sub(n + 5)))
                }
                None if st.kind == "folded" => {
                    format!("┆ {label:^w$} ┆", w = LADDER.saturating_sub(2))
                }
                None => format!("│ {label:^w$} │", w = LADDER.saturating_sub(2)),
            };
            writeln!(self.out, "  {frames:>12}  {tag}   {line}")?;
        }
        Ok(())
    }

    fn write_mermaid(&mut self, s: &ConnSummary, story: &Story) -> io::Result<()> {
        if self.shown > 1 {
            writeln!(self.out)?;
        }
        writeln!(
            self.out,
            "%% connection {}: client {} → server {}",
            s.id, s.client, s.server
        )?;
        writeln!(self.out, "sequenceDiagram")?;
        writeln!(
            self.out,
            "    participant C as client {}",
            mermaid_text(&s.client)
        )?;
        writeln!(
            self.out,
            "    participant S as server {}",
            mermaid_text(&s.server)
        )?;
        for st in &story.steps {
            let frames = match st.last_frame {
                Some(l) => format!("{}–{}", st.frame, l),
                None => st.frame.to_string(),
            };
            let label = mermaid_text(&format!("{frames} · {} (L{})", st.label, st.osi));
            match st.from {
                Some(Dir::ClientToServer) => writeln!(self.out, "    C->>S: {label}")?,
                Some(Dir::ServerToClient) => writeln!(self.out, "    S->>C: {label}")?,
                None => writeln!(self.out, "    Note over C,S: {label}")?,
            }
        }
        Ok(())
    }

    fn write_json(
        &mut self,
        s: &ConnSummary,
        app: Option<&AppSummary>,
        story: &Story,
    ) -> io::Result<()> {
        let mut v = record::connection(s, app);
        if let Value::Object(m) = &mut v {
            if let Some(a) = app {
                if let Some(Value::Object(ws)) = m.get_mut("websocket") {
                    for (from, to) in [
                        ("frames", "frame_counts"),
                        ("messages", "message_counts"),
                        ("violations", "violation_count"),
                    ] {
                        if let Some(v) = ws.remove(from) {
                            ws.insert(to.into(), v);
                        }
                    }
                    ws.insert(
                        "frames".into(),
                        serde_json::to_value(&a.frames).map_err(io::Error::other)?,
                    );
                    ws.insert(
                        "messages".into(),
                        serde_json::to_value(&a.messages).map_err(io::Error::other)?,
                    );
                    let vio: Vec<Value> = a
                        .violations
                        .iter()
                        .map(|(f, k)| serde_json::json!({"frame": f, "kind": k}))
                        .collect();
                    ws.insert("violations".into(), Value::Array(vio));
                }
                if let Some(Value::Object(so)) = m.get_mut("socketio") {
                    so.insert(
                        "packets".into(),
                        serde_json::to_value(&a.sio_packets).map_err(io::Error::other)?,
                    );
                }
            }
            let list: Vec<Value> = s
                .anomaly_list
                .iter()
                .map(|(f, k)| serde_json::json!({"frame": f, "kind": k}))
                .collect();
            m.insert(
                "anomaly_counts".into(),
                m.get("anomalies").cloned().unwrap_or(Value::Null),
            );
            m.insert("anomalies".into(), Value::Array(list));
            m.insert(
                "timeline".into(),
                serde_json::to_value(&story.steps).map_err(io::Error::other)?,
            );
            m.insert("steps_omitted".into(), story.omitted.into());
            m.insert(
                "rows_not_listed".into(),
                app.map_or(0, |a| a.rows_not_listed).into(),
            );
        }
        super::json::write(&mut self.out, &v)?;
        self.out.write_all(b"\n")
    }

    fn write_svg(
        &mut self,
        s: &ConnSummary,
        app: Option<&AppSummary>,
        story: &Story,
    ) -> io::Result<()> {
        let head = self.full_header(s, app);
        let (g, h) = super::svg::connection(
            s.id,
            &head,
            &s.client.to_string(),
            &s.server.to_string(),
            &story.steps,
            story.omitted,
        );
        self.svg_height = h;
        self.out.write_all(g.as_bytes())
    }

    /// Prints a rendered connection; text stories are separated by a blank line.
    /// A drawn one joins the SVG document, below the ones before.
    fn release(&mut self, (text, height): &(Vec<u8>, u32)) -> io::Result<()> {
        if self.format == WalkFormat::Svg {
            if self.svg_body.len() + text.len() > MAX_SVG_BYTES {
                self.svg_omitted += 1;
                return Ok(());
            }
            writeln!(
                self.svg_body,
                r#"<g transform="translate(0,{})">"#,
                self.svg_y
            )?;
            self.svg_body.extend_from_slice(text);
            self.svg_body.extend_from_slice(b"</g>\n");
            self.svg_y += height;
            self.released += 1;
            return Ok(());
        }
        if self.format == WalkFormat::Text && self.released > 0 {
            writeln!(self.out)?;
        }
        self.released += 1;
        self.out.write_all(text)
    }

    fn emit(&mut self, s: &ConnSummary, app: Option<&AppSummary>, story: &Story) -> io::Result<()> {
        self.shown += 1;
        match self.format {
            WalkFormat::Text => self.write_text(s, app, story),
            WalkFormat::Json => self.write_json(s, app, story),
            WalkFormat::Mermaid => self.write_mermaid(s, story),
            WalkFormat::Svg => self.write_svg(s, app, story),
        }
    }
}

/// A horizontal bar of `fraction` × `cells` character cells, to the eighth
/// of a cell (U+2588 full block, U+2589–U+258F the partial ones). A share
/// that is not zero gets at least the thinnest block, so it stays visible.
pub fn bar(fraction: f64, cells: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = (fraction.clamp(0.0, 1.0) * cells as f64 * 8.0).round() as usize;
    let eighths = if fraction > 0.0 { eighths.max(1) } else { 0 };
    let mut s = "█".repeat(eighths / 8);
    if eighths % 8 > 0 {
        s.push(PARTS[eighths % 8]);
    }
    s
}

/// Mermaid treats `;` and `#` specially and `<`/`>` as HTML: spell them as
/// entities. Control characters and bidi overrides are escaped first, as on a
/// terminal (a diagram is read in terminals and Markdown files alike).
fn mermaid_text(s: &str) -> String {
    let s = escape(s);
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            ';' => out.push_str("#59;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

impl<W: Write> View for WalkView<W> {
    fn frame(&mut self, ev: &FrameEvent<'_, '_>) -> io::Result<()> {
        let Some(c) = ev.tcp else { return Ok(()) };
        let live = self.live;
        let story = self.stories.entry(c.stream).or_default();
        story.no_fold = live;
        story.room = self.step_bytes < self.step_budget;
        let before = story.bytes;
        if live && c.opens && self.format == WalkFormat::Text {
            writeln!(
                self.out,
                "[conn {}] new TCP connection: frame {}",
                c.stream, ev.frame.number
            )?;
        }
        let app: Vec<&AppEvent> = ev
            .app
            .iter()
            .filter(|(id, _)| *id == c.stream)
            .map(|(_, e)| e)
            .collect();
        Self::steps_for(ev, &c, story, !app.is_empty());
        for e in app {
            app_steps(e, c.conn_rel_ts, story);
        }
        self.step_bytes += story.bytes - before;
        if live && self.format == WalkFormat::Text {
            self.print_new(c.stream)?;
        }
        Ok(())
    }

    fn connection(&mut self, s: &ConnSummary, app: Option<&AppSummary>) -> io::Result<()> {
        self.evicted += u64::from(s.evicted);
        if let Some(so) = app.and_then(|a| a.socketio.as_ref())
            && let Some(sid) = &so.sid
        {
            let list = self.sessions.entry(sid.clone()).or_default();
            if list.len() < 1000 {
                list.push((
                    s.id,
                    so.transports.clone(),
                    so.upgraded,
                    Overhead::of(s, app),
                ));
            }
        }
        let mut story = self.stories.remove(&s.id).unwrap_or_default();
        self.step_bytes = self.step_bytes.saturating_sub(story.bytes);
        // The folded run's last steps are kept whatever the budget: they are few.
        story.room = true;
        story.end_run();
        // An SVG document is written at the end, live or not.
        if self.live && self.format != WalkFormat::Svg {
            self.shown += 1;
            if self.format == WalkFormat::Text {
                // The steps were printed as they came: the summary now.
                let head = self.full_header(s, app);
                for l in &head {
                    writeln!(self.out, "[conn {}] {}", s.id, escape(l))?;
                }
                if app.is_some_and(|a| a.protocol.is_some()) {
                    self.overhead(&Overhead::of(s, app))?;
                }
            } else {
                self.emit(s, app, &story)?;
            }
            return self.out.flush();
        }
        // Rendered now, so only its text waits (a story and its summaries are
        // several times larger than what is printed of them).
        self.out.capture = Some(Vec::new());
        let res = self.emit(s, app, &story);
        let text = self.out.capture.take().unwrap_or_default();
        res?;
        let weight = text.len();
        for t in self.order.push(s.id, (text, self.svg_height), weight) {
            self.release(&t)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        for t in self.order.drain() {
            self.release(&t)?;
        }
        if self.format == WalkFormat::Svg {
            let body = std::mem::take(&mut self.svg_body);
            let end_y = self.svg_y;
            let height = end_y + super::svg::end_height(self.svg_omitted);
            self.out.write_all(
                super::svg::document_start(height, self.released, self.svg_omitted).as_bytes(),
            )?;
            self.out.write_all(&body)?;
            let end = super::svg::document_end(self.svg_omitted, MAX_SVG_BYTES >> 20, end_y);
            self.out.write_all(end.as_bytes())?;
        }
        if self.format == WalkFormat::Text {
            if self.shown == 0 {
                writeln!(self.out, "no TCP connections")?;
            }
            self.session_summaries()?;
            if self.evicted > 0 {
                writeln!(
                    self.out,
                    "\nnote: {} connections were finished early because the connection table was full (--max-connections)",
                    self.evicted
                )?;
            }
        }
        self.out.flush()
    }
}

/// Header lines about the application layer.
fn app_header(app: Option<&AppSummary>) -> Vec<String> {
    let mut out = Vec::new();
    let Some(a) = app else { return out };
    for p in &a.problems {
        out.push(format!("  ⚠ {p}"));
    }
    if a.problem_count > a.problems.len() as u64 {
        out.push(format!(
            "  ⚠ … {} more problems",
            a.problem_count - a.problems.len() as u64
        ));
    }
    if a.rows_not_listed > 0 {
        out.push(format!(
            "  note: {} frames, messages or packets not listed (limit {} MiB of lists held for all open connections)",
            a.rows_not_listed,
            crate::proto::app::MAX_LISTED_BYTES >> 20
        ));
    }
    if let Some(w) = &a.websocket {
        let mut l = format!(
            "  websocket: {} {}",
            w.uri.as_deref().unwrap_or("?"),
            if w.established {
                "established"
            } else {
                "not established"
            }
        );
        if let Some(f) = w.request_frame {
            let _ = write!(l, " (request #{f}");
            if let Some(r) = w.response_frame {
                let _ = write!(
                    l,
                    ", response #{r} {}",
                    w.status.map_or("?".into(), |s| s.to_string())
                );
            }
            l.push(')');
        }
        match w.accept_valid {
            Some(true) => l.push_str(" · accept key valid"),
            Some(false) => l.push_str(" · ⚠ accept key WRONG"),
            None => {}
        }
        if w.permessage_deflate {
            l.push_str(" · permessage-deflate");
        }
        if let Some(p) = &w.subprotocol {
            let _ = write!(l, " · subprotocol {p}");
        }
        if let Some(c) = &w.close {
            let _ = write!(
                l,
                " · closed by the {} with {}",
                c.initiator.map_or("?", |d| d.sender()),
                c.code.map_or("no status".to_owned(), |c| format!(
                    "{c} ({})",
                    close_name(c)
                ))
            );
        }
        for p in &w.problems {
            let _ = write!(l, " · ⚠ {p}");
        }
        if w.violations > 0 {
            let _ = write!(l, " · ⚠ {} protocol violations", w.violations);
        }
        out.push(l);
    }
    if let Some(so) = &a.socketio {
        let mut l = format!(
            "  socket.io: session {} over {}",
            so.sid.as_deref().unwrap_or("?"),
            so.transports.join(" then ")
        );
        if so.upgraded {
            l.push_str(" · upgraded from polling to websocket on this connection");
        }
        if !so.events.is_empty() {
            let ev: Vec<String> = so.events.iter().map(|(k, v)| format!("{k} ×{v}")).collect();
            let _ = write!(l, " · events: {}", ev.join(", "));
        }
        out.push(l);
    } else if a.websocket.is_none() && !a.http.is_empty() {
        out.push(format!("  http: {} transactions", a.http.len()));
    }
    out
}

/// RFC 6455 §7.4.1 names.
pub fn close_name(code: u16) -> &'static str {
    match code {
        1000 => "normal closure",
        1001 => "going away",
        1002 => "protocol error",
        1003 => "unsupported data",
        1005 => "no status received",
        1006 => "abnormal closure",
        1007 => "invalid payload data",
        1008 => "policy violation",
        1009 => "message too big",
        1010 => "mandatory extension",
        1011 => "internal error",
        1012 => "service restart",
        1013 => "try again later",
        1014 => "bad gateway",
        1015 => "TLS handshake failure",
        3000..=3999 => "registered application code",
        4000..=4999 => "private application code",
        _ => "not a valid code",
    }
}

fn preview(data: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&data[..data.len().min(max)]).into_owned();
    if data.len() > max {
        format!("{text}…")
    } else {
        text
    }
}

fn hex_preview(data: &[u8]) -> String {
    let mut s: String = data.iter().take(16).map(|b| format!("{b:02x} ")).collect();
    if data.len() > 16 {
        s.push('…');
    }
    s.trim_end().to_owned()
}

/// The steps an application event adds to the story.
fn app_steps(e: &AppEvent, rel_ts: f64, story: &mut Story) {
    let step = |frame: u64,
                osi: u8,
                from: Option<Dir>,
                kind: &'static str,
                text: String,
                label: String| Step {
        frame,
        last_frame: None,
        rel_ts,
        osi,
        from,
        kind,
        text,
        label,
    };
    story.end_run();
    match e {
        AppEvent::Request { dir, head } => {
            let line = head.start_line();
            let upgrade = head.has_token("Upgrade", "websocket");
            let mut text = format!("HTTP request {line}");
            if upgrade {
                let _ = write!(
                    text,
                    " — the client asks to turn this connection into a WebSocket (Upgrade: websocket, Connection: Upgrade, version {}, key {}",
                    head.header("Sec-WebSocket-Version").unwrap_or("?"),
                    head.header("Sec-WebSocket-Key").unwrap_or("?")
                );
                if let Some(x) = head.header("Sec-WebSocket-Extensions") {
                    let _ = write!(text, "; offers {x}");
                }
                if let Some(p) = head.header("Sec-WebSocket-Protocol") {
                    let _ = write!(text, "; subprotocols {p}");
                }
                text.push(')');
            } else if head.uri.as_deref().is_some_and(|u| u.contains("EIO=")) {
                text.push_str(" — an Engine.IO long-polling request");
            }
            let label = if upgrade {
                format!("{line} (upgrade)")
            } else {
                line
            };
            story.push(step(head.frame, 7, Some(*dir), "http_request", text, label));
        }
        AppEvent::Response { dir, head, .. } => {
            let line = head.start_line();
            let text = format!("HTTP response {line}");
            story.push(step(head.frame, 7, Some(*dir), "http_response", text, line));
        }
        AppEvent::HttpError { dir, frame, reason } => {
            story.push(step(
                *frame,
                7,
                Some(*dir),
                "http_error",
                format!("⚠ {reason}"),
                "malformed HTTP".into(),
            ));
        }
        AppEvent::Upgrade(w) => {
            let f = w.response_frame.unwrap_or(0);
            if w.established {
                let mut text = String::from("The server switches the connection to WebSocket");
                match (w.accept_valid, &w.accept, &w.expected_accept) {
                    (Some(true), Some(a), _) => {
                        let _ = write!(
                            text,
                            "; Sec-WebSocket-Accept {a} is correct (base64 of SHA-1 of the key + RFC 6455's GUID)"
                        );
                    }
                    (Some(false), Some(a), Some(x)) => {
                        let _ = write!(
                            text,
                            "; ⚠ Sec-WebSocket-Accept {a} is WRONG: the key calls for {x}"
                        );
                    }
                    (None, _, _) => text.push_str("; ⚠ no Sec-WebSocket-Accept header"),
                    _ => {}
                }
                if let Some(x) = &w.extensions_negotiated {
                    let _ = write!(text, "; extensions agreed: {x}");
                }
                if let Some(p) = &w.subprotocol {
                    let _ = write!(text, "; subprotocol {p}");
                }
                text.push_str(
                    ". WebSocket session open: from now on both sides send WebSocket frames.",
                );
                story.push(step(
                    f,
                    5,
                    None,
                    "websocket_open",
                    text,
                    "WebSocket session open".into(),
                ));
            } else {
                let text = format!(
                    "⚠ No WebSocket: the server answered {} instead of 101 Switching Protocols{}",
                    w.status.map_or("nothing".into(), |s| s.to_string()),
                    if w.problems.contains(&"not_websocket") {
                        " (it switched to another protocol)"
                    } else {
                        ""
                    }
                );
                story.push(step(
                    f,
                    5,
                    None,
                    "websocket_rejected",
                    text,
                    "upgrade refused".into(),
                ));
            }
        }
        AppEvent::WsFrame { dir, frame: fr } => {
            let who = dir.sender();
            match fr.opcode {
                8 => {
                    let (code, reason) = fr.close.clone().unwrap_or((None, String::new()));
                    let code_text = code.map_or("no status code".to_owned(), |c| {
                        format!("{c} ({})", close_name(c))
                    });
                    let text = format!(
                        "WebSocket close frame from the {who}: {code_text}{}",
                        if reason.is_empty() {
                            String::new()
                        } else {
                            format!(", reason \"{reason}\"")
                        }
                    );
                    let label = format!("close {}", code.map_or("–".into(), |c| c.to_string()));
                    story.push(step(
                        fr.frame,
                        5,
                        Some(*dir),
                        "websocket_close",
                        text,
                        label,
                    ));
                    let first = !story.ws_closed.iter().any(|c| *c);
                    story.ws_closed[*dir as usize] = true;
                    if story.ws_closed == [true, true] && !first {
                        story.push(step(
                            fr.frame,
                            5,
                            None,
                            "websocket_closed",
                            format!(
                                "WebSocket session closed: the closing handshake is complete (the {} closed first); TCP closes next.",
                                dir.other().sender()
                            ),
                            "WebSocket session closed".into(),
                        ));
                    }
                }
                9 | 10 => {
                    let name = if fr.opcode == 9 { "ping" } else { "pong" };
                    let mut text = format!(
                        "WebSocket {name} from the {who} ({} bytes){}",
                        fr.payload_len,
                        if fr.opcode == 9 {
                            ": are you still there?"
                        } else {
                            ": yes, still here"
                        }
                    );
                    if !fr.payload.is_empty() {
                        let _ = write!(text, " \"{}\"", preview(&fr.payload, 64));
                    }
                    story.push(step(
                        fr.frame,
                        5,
                        Some(*dir),
                        "websocket_ping",
                        text,
                        name.into(),
                    ));
                }
                _ => {}
            }
        }
        AppEvent::WsMessage { dir, message: m } => {
            let who = dir.sender();
            let kind = opcode_name(m.opcode);
            let len = m.length.unwrap_or(m.wire_len);
            let mut text = format!(
                "The {who} sends a {kind} message of {len} byte{}",
                if len == 1 { "" } else { "s" }
            );
            if m.first_frame != m.last_frame {
                let _ = write!(
                    text,
                    " in fragments (frames {}–{})",
                    m.first_frame, m.last_frame
                );
            }
            if *dir == Dir::ClientToServer {
                text.push_str(", masked (L6: every client frame is XORed with a 4-byte key)");
            }
            if m.compressed {
                let _ = write!(
                    text,
                    ", compressed with permessage-deflate (L6): {} bytes on the wire",
                    m.wire_len
                );
            }
            if let Some(err) = &m.error {
                let _ = write!(text, " ⚠ {err}");
            } else if m.opcode == 1 {
                let _ = write!(text, ": \"{}\"", preview(&m.data, 200));
            } else {
                let _ = write!(text, ": {}", hex_preview(&m.data));
            }
            let label = if m.opcode == 1 {
                format!("{kind} {len}B \"{}\"", preview(&m.data, 24))
            } else {
                format!("{kind} {len}B")
            };
            story.push(step(
                m.last_frame,
                7,
                Some(*dir),
                "websocket_message",
                text,
                label,
            ));
        }
        AppEvent::WsViolation { dir, frame, kind } => {
            story.push(step(
                *frame,
                6,
                Some(*dir),
                "websocket_violation",
                format!("⚠ WebSocket protocol violation: {}", kind.replace('_', " ")),
                format!("violation {kind}"),
            ));
        }
        AppEvent::Eio {
            dir,
            frame,
            transport,
            packet,
        } => {
            let who = dir.sender();
            let (text, label) = match packet {
                EioPacket::Open(o) => (
                    format!(
                        "Engine.IO session opened (over {transport}): sid {}, ping every {} ms, can upgrade to {}",
                        o.sid,
                        o.ping_interval.map_or("?".into(), |v| v.to_string()),
                        if o.upgrades.is_empty() {
                            "nothing".into()
                        } else {
                            o.upgrades.join(", ")
                        }
                    ),
                    format!("EIO open sid={}", o.sid),
                ),
                EioPacket::Ping(p) if p == "probe" => (
                    format!(
                        "Engine.IO probe ping from the {who}: is the new WebSocket transport working?"
                    ),
                    "EIO 2probe".into(),
                ),
                EioPacket::Pong(p) if p == "probe" => (
                    format!("Engine.IO probe pong from the {who}: the WebSocket transport works"),
                    "EIO 3probe".into(),
                ),
                EioPacket::Ping(_) => (
                    format!("Engine.IO ping from the {who} (heartbeat)"),
                    "EIO ping".into(),
                ),
                EioPacket::Pong(_) => (
                    format!("Engine.IO pong from the {who} (heartbeat answer)"),
                    "EIO pong".into(),
                ),
                EioPacket::Upgrade => (
                    "Engine.IO upgrade: the transport switches from polling to this WebSocket"
                        .into(),
                    "EIO upgrade".into(),
                ),
                EioPacket::Noop => (
                    "Engine.IO noop: ends a pending long-poll during the upgrade".into(),
                    "EIO noop".into(),
                ),
                EioPacket::Close => (
                    format!("Engine.IO close from the {who}"),
                    "EIO close".into(),
                ),
                EioPacket::Invalid(why) => (
                    format!("⚠ not an Engine.IO packet: {why}"),
                    "EIO invalid".into(),
                ),
                EioPacket::Message(EioData::Text(_)) | EioPacket::Message(EioData::Binary(_)) => {
                    return;
                }
            };
            story.push(step(*frame, 5, Some(*dir), "engineio", text, label));
        }
        AppEvent::Sio {
            dir,
            frame,
            transport,
            packet,
        } => {
            let client = *dir == Dir::ClientToServer;
            let mut text = socketio::describe(packet, client);
            let handler = match (packet.ptype, &packet.event) {
                (socketio::SioType::Event | socketio::SioType::BinaryEvent, Some(ev)) => {
                    Some(if client {
                        format!(" → handled by the server's socket.on(\"{ev}\")")
                    } else {
                        format!(" → handled by the client's socket.on(\"{ev}\")")
                    })
                }
                (socketio::SioType::Connect, _) if client => {
                    Some(" → the server's io.on(\"connection\") runs".to_owned())
                }
                (socketio::SioType::Disconnect, _) if client => {
                    Some(" → the server's socket.on(\"disconnect\") runs".to_owned())
                }
                _ => None,
            };
            if let Some(h) = handler {
                text.push_str(&h);
            }
            let _ = write!(
                text,
                " [Socket.IO {} over {transport}]",
                sio_type(packet.ptype)
            );
            if let Some(w) = &packet.warning {
                let _ = write!(text, " ⚠ {w}");
            }
            let label = match &packet.event {
                Some(e) => format!("{} {e}", sio_type(packet.ptype)),
                None => sio_type(packet.ptype).to_owned(),
            };
            story.push(step(*frame, 7, Some(*dir), "socketio", text, label));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::{Limits, run_reader};
    use crate::capture::CaptureReader;

    #[test]
    fn bars_are_drawn_to_the_eighth() {
        assert_eq!(bar(0.0, 40), "");
        assert_eq!(bar(1.0, 40), "█".repeat(40));
        // 12.4 % of 40 cells = 4.96 cells = 39.68 eighths → 40: five full cells.
        assert_eq!(bar(0.124, 40), "█████");
        // 2.1 % → 6.72 eighths → 7: a seven-eighths block.
        assert_eq!(bar(0.021, 40), "▉");
        // Tiny but not zero: still one eighth.
        assert_eq!(bar(0.0001, 40), "▏");
        assert_eq!(bar(7.0, 2), "██");
    }

    fn walk(budget: usize) -> String {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/synthetic/ws-mix-1m.pcap"
        );
        let mut reader = CaptureReader::open(std::path::Path::new(path)).expect("open");
        let mut out = Vec::new();
        let mut view = WalkView::new(&mut out, WalkFormat::Text, false, false);
        view.step_budget = budget;
        let limits = Limits {
            detail: true,
            ..Limits::default()
        };
        assert!(run_reader(&mut reader, &mut view, limits).is_ok());
        View::finish(&mut view).expect("finish");
        drop(view);
        String::from_utf8(out).expect("utf-8")
    }

    /// Past the budget for all open connections, steps are counted and the
    /// reason is printed; within it, every step is kept.
    #[test]
    fn steps_share_one_budget() {
        let full = walk(MAX_STEP_BYTES);
        assert!(!full.contains("more steps not kept"), "{full}");
        let short = walk(16 * 1024);
        assert!(
            short.contains(
                "more steps not kept (limit 16 KiB of steps held for all open connections)"
            ),
            "{short}"
        );
        assert!(short.len() < full.len());
        // Every connection is still told.
        let told = |t: &str| t.lines().filter(|l| l.starts_with("Connection ")).count();
        assert_eq!((told(&short), told(&full)), (12, 12));
    }
}
