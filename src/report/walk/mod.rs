//! `osiscope walk`: each TCP connection told as a story. Every step carries
//! its time, frame, OSI layer, direction and a plain-language explanation; a
//! ladder diagram of the same steps follows. Runs of ordinary data and ACK
//! segments are folded into one line so long transfers stay readable.
//!
//! Memory: a connection keeps at most [`MAX_STEPS`] steps (a folded run is
//! one). A finished connection is rendered at once (with several threads,
//! those that finish together in runs of at most [`MAX_RENDER_RUN`] over
//! the threads) and only its text waits
//! for the lower-numbered ones: [`MAX_WAITING_IN_MEMORY`] bytes of it in
//! memory, the rest in a temporary file ([`super::spill`]), at most
//! [`MAX_WAITING`] connections. Past that, or with no temporary file,
//! [`super::order::MAX_PENDING_BYTES`] bytes wait in memory and then
//! connections are printed as they finish. `--format svg` keeps the drawn connections until
//! the end (the document's size comes first), at most [`MAX_SVG_BYTES`].
//!
//! The view is split by what it does: [`story`] is the model (steps and
//! folded runs), [`tcp`] tells TCP, one module per protocol tells what its
//! analyzer found ([`http`], [`websocket`], [`socketio`]), and one module
//! per format renders a finished connection ([`text`], [`json`],
//! [`mermaid`], [`svg`]).

mod clients;
mod http;
mod json;
mod latency;
mod mermaid;
mod socketio;
pub mod story;
pub mod svg;
mod tcp;
mod text;
mod tls;
mod websocket;

use std::io::{self, Write};

use super::appline::AppLine;
use super::escape::escape;
use super::order::InOrder;
use super::record::Overhead;
use super::spill::{Spill, Spilled};
use super::{FrameEvent, View};
use crate::flow::ConnSummary;
use crate::proto::stack::{AppEvent, AppSummary, MAX_LISTED_BYTES, SHARES};
use story::{At, Story};

pub use story::{MAX_STEPS, Step};
pub use text::bar;

/// Bytes of steps kept across all open connections. Past it, steps of every
/// open connection are counted, not kept, until finished connections free room.
pub const MAX_STEP_BYTES: usize = 20 * 1024 * 1024;
/// Bytes of drawn connections an SVG document holds; connections that no
/// longer fit are counted at its foot (and in its title). A picture larger
/// than this is more than a browser shows usefully.
pub const MAX_SVG_BYTES: usize = 16 * 1024 * 1024;
/// Bytes of rendered connections waiting for their turn kept in memory;
/// more wait in the temporary file.
pub const MAX_WAITING_IN_MEMORY: usize = 4 * 1024 * 1024;
/// Rendered connections waiting for their turn (in memory or in the file).
pub const MAX_WAITING: usize = 1 << 16;
/// Finished connections that wait to be rendered together (text and JSON,
/// `--threads` 2 or more), and the bytes of stories and summaries they may
/// hold: a capture's end finishes every open connection at once.
pub const MAX_RENDER_RUN: usize = 64;
pub const MAX_RENDER_RUN_BYTES: usize = 8 * 1024 * 1024;
/// Fewest connections a rendering thread is given.
const PENDING_PER_THREAD: usize = 8;

/// What `walk` prints: the walkthrough as text, or as a picture or record.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum WalkFormat {
    #[value(alias = "table")]
    Text,
    Json,
    Mermaid,
    Svg,
}

/// One connection of a Socket.IO session.
struct SessionPart {
    id: u64,
    transports: Vec<&'static str>,
    /// It moved from polling to WebSocket.
    upgraded: bool,
    overhead: Overhead,
    /// Listed by the filter (a session is told when one of its connections is).
    listed: bool,
}

/// A rendered connection waiting for its turn.
enum Held {
    Memory(Vec<u8>),
    File(Spilled),
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
    /// By connection number (hashed with foldhash: looked up once a frame).
    stories: foldhash::HashMap<u64, Story>,
    /// Finished connections, rendered, waiting for the lower-numbered ones
    /// (with the height of a drawn one).
    order: InOrder<(Held, u32)>,
    /// Where most of them wait, and a buffer to read one back.
    spill: Spill,
    spilled: Vec<u8>,
    /// The JSON record being written, reused from one to the next.
    json: Vec<u8>,
    /// Bytes of them kept in memory ([`MAX_WAITING_IN_MEMORY`]), and how
    /// many waited in the file.
    in_memory: usize,
    to_file: u64,
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
    /// Socket.IO clients across reconnects, and what the connection being
    /// rendered resumes.
    clients: clients::Clients,
    resume: Option<clients::Resume>,
    /// Finished connections waiting to be rendered together ([`MAX_RENDER_RUN`],
    /// or [`MAX_RENDER_RUN_BYTES`] of stories and summaries), and on how many
    /// threads at most.
    pending: Vec<Pending>,
    pending_bytes: usize,
    render_threads: usize,
    /// This thread's renderer and the other rendering threads, once needed.
    rendering: Option<Box<WalkView<Vec<u8>>>>,
    helpers: Vec<Helper>,
}

/// A finished connection, told but not yet rendered.
struct Pending {
    s: ConnSummary,
    app: Option<AppSummary>,
    story: Story,
    resume: Option<clients::Resume>,
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
            stories: foldhash::HashMap::default(),
            order: InOrder::default().max_items(MAX_WAITING),
            spill: Spill::default(),
            spilled: Vec::new(),
            json: Vec::new(),
            in_memory: MAX_WAITING_IN_MEMORY,
            to_file: 0,
            svg_height: 0,
            svg_body: Vec::new(),
            svg_y: svg::TOP,
            svg_omitted: 0,
            released: 0,
            step_bytes: 0,
            step_budget: MAX_STEP_BYTES,
            shown: 0,
            evicted: 0,
            sessions: std::collections::BTreeMap::new(),
            live: false,
            clients: clients::Clients::default(),
            resume: None,
            pending: Vec::new(),
            pending_bytes: 0,
            render_threads: 1,
            rendering: None,
            helpers: Vec::new(),
        }
    }

    /// Threads that may render finished connections together (default 1:
    /// each is rendered as it finishes). With more, text and JSON
    /// connections that finish together (no frame between them, as at the
    /// end of a capture) wait, up to [`MAX_RENDER_RUN`], to be rendered at
    /// once, each thread taking a run of them; the output is the same.
    pub fn render_threads(mut self, n: usize) -> Self {
        self.render_threads = n.max(1);
        self
    }

    /// Bytes of steps all open connections may hold together (default
    /// [`MAX_STEP_BYTES`]); tests make it small to see the budget at work.
    pub fn step_budget(mut self, bytes: usize) -> Self {
        self.step_budget = bytes;
        self
    }

    /// Bytes of rendered connections kept in memory while they wait for
    /// their turn (default [`MAX_WAITING_IN_MEMORY`]); tests make it 0 to
    /// send them all to the file.
    pub fn waiting_in_memory(mut self, bytes: usize) -> Self {
        self.in_memory = bytes;
        self
    }

    /// Connections that waited for their turn in the temporary file.
    pub fn waited_in_file(&self) -> u64 {
        self.to_file
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
    /// The connection's header lines, then its application layer's.
    fn full_header(&self, s: &ConnSummary, app: Option<&AppSummary>) -> Vec<String> {
        let mut head = tcp::header(s);
        head.extend(app_header(app));
        if let Some(r) = &self.resume {
            head.push(r.line());
        }
        head
    }

    /// Prints a rendered connection that waited, from memory or the file.
    fn release_held(&mut self, (held, height): (Held, u32)) -> io::Result<()> {
        match held {
            Held::Memory(text) => self.release(&text, height),
            Held::File(at) => {
                let mut buf = std::mem::take(&mut self.spilled);
                let res = self
                    .spill
                    .take(at, &mut buf)
                    .and_then(|()| self.release(&buf, height));
                // Kept for the next one, unless an unusually large one grew it.
                if buf.capacity() <= MAX_WAITING_IN_MEMORY {
                    self.spilled = buf;
                }
                res
            }
        }
    }

    /// Prints a rendered connection; text stories are separated by a blank line.
    /// A drawn one joins the SVG document, below the ones before.
    fn release(&mut self, text: &[u8], height: u32) -> io::Result<()> {
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

    /// Notes the connection's part in its Socket.IO session, if it has one.
    fn session_part(&mut self, s: &ConnSummary, app: Option<&AppSummary>, listed: bool) {
        if let Some(so) = app.and_then(|a| a.socketio.as_ref())
            && let Some(sid) = &so.sid
        {
            let list = self.sessions.entry(sid.clone()).or_default();
            if list.len() < 1000 {
                list.push(SessionPart {
                    id: s.id,
                    transports: so.transports.clone(),
                    upgraded: so.upgraded,
                    overhead: Overhead::of(s, app),
                    listed,
                });
            }
        }
    }
}

impl<W: Write> WalkView<W> {
    /// A finished connection's story, with its part in the Socket.IO
    /// sessions and what it resumes (in `resume`) noted: what is told of it
    /// in the order connections finish, before it is rendered.
    fn finished_story(&mut self, s: &ConnSummary, app: Option<&AppSummary>) -> Story {
        self.evicted += u64::from(s.evicted);
        self.session_part(s, app, true);
        self.resume = self.clients.connection(s, app, true);
        let mut story = self.stories.remove(&s.id).unwrap_or_default();
        self.step_bytes = self.step_bytes.saturating_sub(story.bytes);
        // The folded run's last steps are kept whatever the budget: they are few.
        story.room = true;
        story.end_run();
        story
    }

    /// A connection rendered into memory rather than to the output.
    fn rendered(
        &mut self,
        s: &ConnSummary,
        app: Option<&AppSummary>,
        story: &Story,
    ) -> io::Result<Vec<u8>> {
        self.out.capture = Some(Vec::new());
        let res = self.emit(s, app, story);
        let text = self.out.capture.take().unwrap_or_default();
        res.map(|()| text)
    }

    /// A rendered connection takes its place: printed now if its turn has
    /// come, else kept (in memory or in the file) until it has.
    fn place(&mut self, id: u64, mut text: Vec<u8>) -> io::Result<()> {
        let waits = self.order.would_wait(id);
        let to_file = waits && self.order.held_bytes() + text.len() > self.in_memory;
        let (held, weight) = match to_file.then(|| self.spill.put(&text)).flatten() {
            Some(at) => {
                self.to_file += 1;
                (Held::File(at), 0)
            }
            None => {
                if waits {
                    // Grown by doubling: up to half of it would be spare while it waits.
                    text.shrink_to_fit();
                }
                let weight = text.len();
                (Held::Memory(text), weight)
            }
        };
        for t in self.order.push(id, (held, self.svg_height), weight) {
            self.release_held(t)?;
        }
        if self.order.is_empty() {
            self.spill.clear();
        }
        Ok(())
    }

    /// Renders the connections waiting to be rendered, split over up to
    /// `render_threads` threads (at the end of a capture the reading thread
    /// has nothing left to do), then places them in the order they finished.
    fn render_pending(&mut self) -> io::Result<()> {
        let jobs = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        if jobs.is_empty() {
            return Ok(());
        }
        let ways = self
            .render_threads
            .min(jobs.len().div_ceil(PENDING_PER_THREAD))
            .max(1);
        let per = jobs.len().div_ceil(ways);
        let mut jobs = jobs;
        // The runs after the first go to the helpers, the first is rendered
        // here; each comes back with its texts, in order.
        let mut runs = Vec::new();
        while jobs.len() > per {
            runs.push(jobs.split_off(jobs.len() - per));
        }
        runs.reverse();
        let sent = runs.len();
        while self.helpers.len() < sent {
            let r = self.renderer();
            self.helpers.push(Helper::start(r));
        }
        for (h, run) in self.helpers.iter().zip(runs) {
            h.give(run);
        }
        let mut mine = match self.rendering.take() {
            Some(r) => r,
            None => Box::new(self.renderer()),
        };
        let texts = mine.render_all(&jobs);
        self.rendering = Some(mine);
        let mut done = vec![(jobs, texts)];
        for h in self.helpers.iter().take(sent) {
            done.push(h.take()?);
        }
        for (run, texts) in done {
            for (job, text) in run.iter().zip(texts) {
                self.shown += 1;
                self.place(job.s.id, text?)?;
            }
        }
        Ok(())
    }

    /// A view that renders a connection as this one does, into memory.
    fn renderer(&self) -> WalkView<Vec<u8>> {
        WalkView::new(Vec::new(), self.format, self.color, self.brief)
            .quiet(self.quiet)
            .step_budget(self.step_budget)
    }
}

/// Rendered texts of a run of connections, with the run.
type Rendered = (Vec<Pending>, Vec<io::Result<Vec<u8>>>);

/// A thread that renders runs of finished connections for the view; it
/// lives as long as the view (one per extra rendering thread, started when
/// first needed), so its allocations are reused from run to run.
struct Helper {
    give: std::sync::mpsc::Sender<Vec<Pending>>,
    take: std::sync::mpsc::Receiver<Rendered>,
}

impl Helper {
    fn start(mut r: WalkView<Vec<u8>>) -> Helper {
        let (give, jobs) = std::sync::mpsc::channel::<Vec<Pending>>();
        let (back, take) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for run in jobs {
                let texts = r.render_all(&run);
                if back.send((run, texts)).is_err() {
                    break;
                }
            }
        });
        Helper { give, take }
    }

    fn give(&self, run: Vec<Pending>) {
        // A helper that is gone says so in take.
        let _ = self.give.send(run);
    }

    fn take(&self) -> io::Result<Rendered> {
        self.take
            .recv()
            .map_err(|_| io::Error::other("a rendering thread stopped"))
    }
}

impl WalkView<Vec<u8>> {
    /// Each connection's text, as [`View::connection`] renders it.
    fn render_all(&mut self, jobs: &[Pending]) -> Vec<io::Result<Vec<u8>>> {
        jobs.iter()
            .map(|j| {
                self.resume = j.resume.clone();
                self.rendered(&j.s, j.app.as_ref(), &j.story)
            })
            .collect()
    }
}

impl<W: Write> View for WalkView<W> {
    /// Only the TCP steps read a frame, and they read its headers.
    fn frame_headers(&self) -> bool {
        true
    }

    fn frame(&mut self, ev: &FrameEvent<'_, '_>) -> io::Result<()> {
        // Connections that finished before this frame are rendered now:
        // only those that finish together, with no frame between them (at
        // the end of a capture), wait to be rendered in a run over threads.
        // Runs gathered over frames came in bursts that stalled the reading
        // thread: on the 1 GB benchmark capture `walk --format json` took
        // 2.4–2.7 s so, 2.7–3.2 s in runs of up to 64.
        if !self.pending.is_empty() {
            self.render_pending()?;
        }
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
            .filter(|(id, e)| *id == c.stream && tells(e))
            .map(|(_, e)| e)
            .collect();
        tcp::steps(ev, &c, story, !app.is_empty());
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
        let story = self.finished_story(s, app);
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
        let text = self.rendered(s, app, &story)?;
        self.place(s.id, text)
    }

    fn connection_owned(&mut self, s: ConnSummary, app: Option<AppSummary>) -> io::Result<()> {
        if self.render_threads < 2
            || self.live
            || !matches!(self.format, WalkFormat::Text | WalkFormat::Json)
        {
            return self.connection(&s, app.as_ref());
        }
        let story = self.finished_story(&s, app.as_ref());
        self.pending_bytes += story.bytes + app.as_ref().map_or(0, AppSummary::weight);
        self.pending.push(Pending {
            s,
            app,
            story,
            resume: self.resume.take(),
        });
        if self.pending.len() >= MAX_RENDER_RUN || self.pending_bytes >= MAX_RENDER_RUN_BYTES {
            self.render_pending()?;
        }
        Ok(())
    }

    fn unlisted(&mut self, s: &ConnSummary, app: Option<&AppSummary>) {
        self.session_part(s, app, false);
        self.clients.connection(s, app, false);
    }

    fn finish(&mut self) -> io::Result<()> {
        self.render_pending()?;
        for t in self.order.drain() {
            self.release_held(t)?;
        }
        self.spill.clear();
        if self.format == WalkFormat::Svg {
            let body = std::mem::take(&mut self.svg_body);
            let end_y = self.svg_y;
            let height = end_y + svg::end_height(self.svg_omitted);
            self.out.write_all(
                svg::document_start(height, self.released, self.svg_omitted).as_bytes(),
            )?;
            self.out.write_all(&body)?;
            let end = svg::document_end(self.svg_omitted, MAX_SVG_BYTES >> 20, end_y);
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

/// Header lines about the application layer: what the analyzers gave up
/// on, then one line per protocol reached.
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
            "  note: {} frames, messages or packets not listed (limit {} MiB of lists held by the open connections of its share, one in {SHARES})",
            a.rows_not_listed,
            (MAX_LISTED_BYTES / SHARES) >> 20
        ));
    }
    if let Some(t) = &a.tls {
        out.push(tls::header(t));
    }
    if let Some(w) = &a.websocket {
        out.push(websocket::header(w));
    }
    if let Some(so) = &a.socketio {
        out.push(socketio::header(so));
    } else if a.websocket.is_none() && !a.http.is_empty() {
        out.push(http::header(&a.http));
    }
    out
}

/// Whether an application event is told as a step of its own (a TLS
/// record is not: the messages in it are, or the segment that carried it).
fn tells(e: &AppEvent) -> bool {
    match e {
        AppEvent::Tls(e) => tls::tells(e),
        _ => true,
    }
}

/// The steps an application event adds to the story.
fn app_steps(e: &AppEvent, rel_ts: f64, story: &mut Story) {
    if let AppEvent::Reply(r) = e {
        // Told on the reply's own step, just before.
        return latency::told(r, story);
    }
    story.end_run();
    let mut at = At { story, rel_ts };
    match e {
        AppEvent::Tls(e) => tls::steps(e, &mut at),
        AppEvent::Http(e) => http::steps(e, &mut at),
        AppEvent::WebSocket(e) => websocket::steps(e, &mut at),
        AppEvent::EngineIo(e) => socketio::steps(e, &mut at),
        AppEvent::Reply(_) => {}
    }
}

/// One line per application event, for the packets view and the packet JSON.
pub fn app_line(e: &AppEvent) -> Option<AppLine> {
    match e {
        AppEvent::Tls(e) => tls::line(e),
        AppEvent::Http(e) => http::line(e),
        AppEvent::WebSocket(e) => websocket::line(e),
        AppEvent::EngineIo(e) => socketio::line(e),
        AppEvent::Reply(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
