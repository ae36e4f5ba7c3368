//! The walkthrough as text: each connection's header, its timeline of
//! steps, the ladder diagram and the bytes by layer; the Socket.IO sessions
//! that span connections; and, live, each step as it happens.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::WalkView;
use super::story::{MAX_STEPS, Step, Story};
use crate::flow::{ConnSummary, Dir};
use crate::proto::stack::AppSummary;
use crate::report::escape::escape;
use crate::report::record::Overhead;
use crate::report::style::{layer_style, osi_name, paint, warn_style};

/// Cells of the bar that stands for 100 % in "Bytes by layer".
const BAR_CELLS: usize = 40;
/// Width of the ladder between the two lifelines.
const LADDER: usize = 46;

impl<W: Write> WalkView<W> {
    /// Live: prints the steps a frame added.
    pub(super) fn print_new(&mut self, id: u64) -> io::Result<()> {
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
    pub(super) fn step_line(&self, st: &Step) -> String {
        let c = self.color;
        let frames = st.frames();
        let arrow = match st.from {
            Some(Dir::ClientToServer) => "client → server",
            Some(Dir::ServerToClient) => "server → client",
            None => "               ",
        };
        let tag = format!("L{} {:<12}", st.osi, osi_name(st.osi));
        let body = if self.brief { st.label() } else { st.text() };
        let body = escape(&body);
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

    pub(super) fn write_text(
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
    pub(super) fn session_summaries(&mut self) -> io::Result<()> {
        for chain in self.clients.take_chains() {
            writeln!(self.out)?;
            for (i, l) in super::clients::timeline(&chain).iter().enumerate() {
                let l = escape(l);
                if i == 0 {
                    writeln!(
                        self.out,
                        "{}",
                        paint(self.color, anstyle::Style::new().bold(), &l)
                    )?;
                } else {
                    writeln!(self.out, "{l}")?;
                }
            }
        }
        let sessions = std::mem::take(&mut self.sessions);
        for (sid, conns) in sessions {
            if !conns.iter().any(|p| p.listed) {
                continue;
            }
            let list = |want: &str| -> Vec<String> {
                conns
                    .iter()
                    .filter(|p| p.transports.contains(&want))
                    .map(|p| p.id.to_string())
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
            if conns.iter().any(|p| p.upgraded) {
                line.push_str(" (upgraded from polling after the probe)");
            }
            writeln!(
                self.out,
                "{}",
                paint(self.color, anstyle::Style::new().bold(), &line)
            )?;
            // One connection's bytes were printed with it already.
            if conns.len() > 1 {
                let mut total = Overhead::default();
                for p in &conns {
                    total += p.overhead;
                }
                self.overhead(&total)?;
            }
        }
        Ok(())
    }

    pub(super) fn overhead(&mut self, o: &Overhead) -> io::Result<()> {
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
            let label = clip_to(&escape(&st.label()), LADDER - 8);
            let n = crate::text::width(&label);
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

/// At most `cols` terminal columns of `s`, cut at a character boundary.
fn clip_to(s: &str, cols: usize) -> String {
    let mut used = 0;
    let mut out = String::new();
    for c in s.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > cols {
            break;
        }
        used += w;
        out.push(c);
    }
    out
}
