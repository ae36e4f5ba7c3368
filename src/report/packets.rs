//! `osiscope packets`: one record per packet.
//!
//! To a file or pipe, one line per packet ([`super::line`]), written as it is
//! decoded: what tcpdump prints, and what `grep` and `awk` read.
//!
//! On a terminal (or with `--table` or `--width`), a table. It is streamed:
//! rows are rendered in chunks of [`CHUNK_ROWS`] with the same column
//! widths, so memory stays flat however long the capture is. Narrower than
//! [`WIDE`] columns, one packet stays one table row of the same content as the
//! line: No., Time, `source → destination` and Info, each cut to its column.

use std::io::{self, Write};

use comfy_table::{Cell, CellAlignment, ColumnConstraint, ContentArrangement, Table, Width};

use super::Format;
use super::escape::escape;
use super::json::PacketRecord;
use super::layers::detail;
use super::line::{self, LineParts};
use super::{FrameEvent, FrameRenderer, View};
use crate::capture::linktype;

/// `s` in at most `cols` terminal columns, its `…` included.
fn fit(s: &str, cols: usize) -> String {
    if crate::text::width(s) <= cols {
        s.to_owned()
    } else {
        crate::text::clip_width(s, cols.saturating_sub(1))
    }
}

/// Rows rendered per table chunk.
pub const CHUNK_ROWS: usize = 256;
/// Terminal columns from which the full table (every layer's column) is
/// shown; below, one line per packet.
pub const WIDE: u16 = 160;

pub struct PacketsView<W: Write> {
    out: W,
    format: Format,
    color: bool,
    rows: Vec<([String; 6], bool)>,
    /// One line per packet: `source → destination` and Info, per row.
    lines: Vec<([String; 4], bool)>,
    header_done: bool,
    /// Leave out the L2 column when the capture has no link layer (raw IP).
    show_l2: Option<bool>,
    width: Option<u16>,
    /// Live capture: each row is printed as its packet arrives.
    live: bool,
    /// A table even when standard output is not a terminal.
    table: bool,
    /// The line being built (reused from packet to packet).
    parts: LineParts,
    line: Vec<u8>,
}

impl<W: Write> PacketsView<W> {
    pub fn new(out: W, format: Format, color: bool) -> Self {
        let width = Table::new().width();
        PacketsView {
            out,
            format,
            color,
            rows: Vec::with_capacity(CHUNK_ROWS),
            lines: Vec::new(),
            header_done: false,
            show_l2: None,
            width,
            live: false,
            table: false,
            parts: LineParts::default(),
            line: Vec::new(),
        }
    }

    /// A table even to a file or pipe (with no width, every layer's column).
    pub fn table(mut self, on: bool) -> Self {
        self.table |= on;
        self
    }

    /// One line per packet, as to a file or pipe, whatever standard output is.
    pub fn lines(mut self) -> Self {
        self.width = None;
        self.table = false;
        self
    }

    /// One line per packet, no table: to a file or pipe, unless a table
    /// was asked for.
    fn lines_out(&self) -> bool {
        self.format == Format::Table && self.width.is_none() && !self.table
    }

    /// Lays the table out for `cols` columns instead of the terminal's width.
    pub fn width(mut self, cols: Option<u16>) -> Self {
        if cols.is_some() {
            self.width = cols;
            self.table = true;
        }
        self
    }

    /// Rows are printed one by one, as packets arrive.
    pub fn live(mut self) -> Self {
        self.live = true;
        self
    }

    /// The width of a narrow terminal, when rows are one line each.
    fn narrow(&self) -> Option<usize> {
        self.width.filter(|w| *w < WIDE).map(usize::from)
    }

    /// One line per packet, each column cut to its width; below 100
    /// columns without the time, as `ss` drops what does not fit.
    fn flush_lines(&mut self, width: usize) -> io::Result<()> {
        let time = width >= 100;
        // The conversation takes 42% (an IPv4 pair with ports is at most 43
        // characters), Info the rest.
        let conv = (width * 42 / 100).clamp(20, 47);
        let fixed = if time { 22 } else { 11 };
        let info = width.saturating_sub(fixed + conv).max(16);
        let pad = |s: &str, w: usize| -> String {
            let cut = fit(s, w);
            let fill = w.saturating_sub(crate::text::width(&cut));
            format!("{cut}{}", " ".repeat(fill))
        };
        let paint = |c: bool, osi: u8, s: String| -> String {
            if c {
                super::style::paint(true, super::style::layer_style(osi), &s)
            } else {
                s
            }
        };
        let time_col = |t: &str| {
            if time {
                format!(" {t:>8} │")
            } else {
                String::new()
            }
        };
        if !self.header_done {
            self.header_done = true;
            let head = format!(
                " {:>4} │{} {} │ {}",
                "No.",
                time_col("Time"),
                paint(self.color, 3, pad("Source → Destination", conv)),
                paint(self.color, 7, "Info".to_owned())
            );
            writeln!(self.out, "{}", head.trim_end())?;
            writeln!(
                self.out,
                "{}┼{}{}┼{}",
                "─".repeat(6),
                if time {
                    "─".repeat(10) + "┼"
                } else {
                    String::new()
                },
                "─".repeat(conv + 2),
                "─".repeat(info + 1)
            )?;
        }
        for ([no, t, c, i], problem) in std::mem::take(&mut self.lines) {
            let i = fit(&i, info);
            let i = if self.color && problem {
                super::style::paint(true, super::style::warn_style(), &i)
            } else {
                paint(self.color, 7, i)
            };
            let line = format!(
                " {no:>4} │{} {} │ {i}",
                time_col(&t),
                paint(self.color, 3, pad(&c, conv))
            );
            writeln!(self.out, "{}", line.trim_end())?;
        }
        Ok(())
    }

    fn flush_rows(&mut self) -> io::Result<()> {
        if let Some(w) = self.narrow() {
            return self.flush_lines(w);
        }
        if self.rows.is_empty() && self.header_done {
            return Ok(());
        }
        let show_l2 = self.show_l2.unwrap_or(true);
        let mut t = super::style::stacking_table();
        let heads: Vec<(&str, u8)> = [
            ("No.", 0u8),
            ("Time", 1),
            ("L2 Link", 2),
            ("L3 Network", 3),
            ("L4 Transport", 4),
            ("L7 Info", 7),
        ]
        .into_iter()
        .filter(|(_, osi)| show_l2 || *osi != 2)
        .collect();
        if !self.header_done {
            t.set_header(heads.iter().map(|(h, osi)| {
                let c = Cell::new(h);
                if self.color && *osi > 0 {
                    c.fg(color_of(*osi))
                } else {
                    c
                }
            }));
            self.header_done = true;
        }
        if self.color {
            t.enforce_styling();
        }
        let color = self.color;
        for (r, problem) in self.rows.drain(..) {
            let cells: Vec<Cell> = r
                .into_iter()
                .enumerate()
                .filter(|(i, _)| show_l2 || *i != 2)
                .map(|(i, s)| {
                    let c = Cell::new(s);
                    match i {
                        0 | 1 => c.set_alignment(CellAlignment::Right),
                        5 if color && problem => c.fg(comfy_table::Color::Red),
                        2..=5 if color => c.fg(color_of([2, 3, 4, 7][i - 2])),
                        _ => c,
                    }
                })
                .collect();
            t.add_row(cells);
        }
        // Fixed widths keep chunks aligned with each other.
        let fixed: &[u16] = if show_l2 {
            &[6, 10, 0, 0, 0, 0]
        } else {
            &[6, 10, 0, 0, 0]
        };
        let n = fixed.len();
        match self.width {
            Some(w) => {
                t.set_content_arrangement(ContentArrangement::Dynamic);
                t.set_width(w);
                let rest = w.saturating_sub(16 + 3 * n as u16);
                // Percent of the remaining width for L2, L3, L4 and Info.
                let shares: &[u16] = if show_l2 {
                    &[14, 24, 44, 18]
                } else {
                    &[27, 52, 21]
                };
                let mut cons = vec![
                    ColumnConstraint::Absolute(Width::Fixed(6)),
                    ColumnConstraint::Absolute(Width::Fixed(10)),
                ];
                for s in shares {
                    cons.push(ColumnConstraint::Absolute(Width::Fixed(
                        (rest * s / 100).max(8),
                    )));
                }
                t.set_constraints(cons);
            }
            None => {
                t.set_content_arrangement(ContentArrangement::Disabled);
                let lower: &[u16] = if show_l2 {
                    &[6, 10, 16, 40, 60, 10]
                } else {
                    &[6, 10, 44, 60, 10]
                };
                t.set_constraints(
                    lower
                        .iter()
                        .map(|w| ColumnConstraint::LowerBoundary(Width::Fixed(*w))),
                );
            }
        }
        for line in t.lines() {
            writeln!(self.out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

fn color_of(osi: u8) -> comfy_table::Color {
    use comfy_table::Color;
    match osi {
        2 => Color::Blue,
        3 => Color::Green,
        4 => Color::Yellow,
        7 => Color::Magenta,
        _ => Color::Reset,
    }
}

/// One packet as a JSON line.
fn render_json(ev: &FrameEvent<'_, '_>, out: &mut Vec<u8>) -> io::Result<()> {
    PacketRecord::new(ev).write_to(out)?;
    out.push(b'\n');
    Ok(())
}

fn render_line(ev: &FrameEvent<'_, '_>, out: &mut Vec<u8>) -> io::Result<()> {
    line::write(ev, false, &mut LineParts::default(), out);
    Ok(())
}

fn render_line_color(ev: &FrameEvent<'_, '_>, out: &mut Vec<u8>) -> io::Result<()> {
    line::write(ev, true, &mut LineParts::default(), out);
    Ok(())
}

impl<W: Write> View for PacketsView<W> {
    fn frame_renderer(&self) -> Option<FrameRenderer> {
        if self.live {
            None
        } else if self.format == Format::Json {
            Some(render_json)
        } else if self.lines_out() {
            Some(if self.color {
                render_line_color
            } else {
                render_line
            })
        } else {
            None
        }
    }

    fn light_frames(&self) -> bool {
        self.lines_out()
    }

    fn rendered(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    fn frame(&mut self, ev: &FrameEvent<'_, '_>) -> io::Result<()> {
        if self.format == Format::Json {
            self.line.clear();
            render_json(ev, &mut self.line)?;
            self.out.write_all(&self.line)?;
            if self.live {
                self.out.flush()?;
            }
            return Ok(());
        }
        if self.lines_out() {
            self.line.clear();
            line::write(ev, self.color, &mut self.parts, &mut self.line);
            self.out.write_all(&self.line)?;
            if self.live {
                self.out.flush()?;
            }
            return Ok(());
        }
        let f = ev.frame;
        if let Some(w) = self.narrow() {
            line::parts(ev, &mut self.parts);
            let p = std::mem::take(&mut self.parts);
            self.lines.push((
                [f.number.to_string(), line::time_text(ev), p.conv, p.info],
                p.problem,
            ));
            if self.lines.len() >= CHUNK_ROWS || self.live {
                self.flush_lines(w)?;
                if self.live {
                    self.out.flush()?;
                }
            }
            return Ok(());
        }
        if self.show_l2.is_none() {
            self.show_l2 = Some(!matches!(
                f.linktype,
                linktype::RAW
                    | linktype::RAW_BSD
                    | linktype::RAW_OPENBSD
                    | linktype::IPV4
                    | linktype::IPV6
            ));
        }
        let layers = detail::describe(f, ev.packet, ev.tcp.as_ref());
        let mut cols: [String; 6] = Default::default();
        cols[0] = f.number.to_string();
        cols[1] = line::time_text(ev);
        for l in layers.iter().skip(1) {
            let col = match l.osi {
                2 => 2,
                3 => 3,
                4 => 4,
                _ => 5,
            };
            if !cols[col].is_empty() {
                cols[col].push_str(" · ");
            }
            cols[col].push_str(&escape(l.brief()));
        }
        // L7: what the application layer found in this frame, replacing the byte count.
        let lines: Vec<String> = ev
            .app
            .iter()
            .filter_map(|(_, e)| super::walk::app_line(e))
            .map(|l| escape(&l.text).into_owned())
            .collect();
        if !lines.is_empty() {
            cols[5] = lines.join(" · ");
        }
        if let Some(c) = ev.tcp.filter(|c| !c.analysis.is_empty()) {
            if !cols[5].is_empty() {
                cols[5].push(' ');
            }
            let labels: Vec<&str> = c.analysis.iter().map(|(_, l)| l).collect();
            cols[5].push_str(&format!("[{}]", labels.join(", ")));
        }
        if let crate::capture::FrameKind::Event(what) = f.kind {
            cols[5] = what.to_owned();
        }
        if let Some(p) = &ev.packet.problem {
            if !cols[5].is_empty() {
                cols[5].push_str(" · ");
            }
            cols[5].push_str(&format!("⚠ {}", escape(&p.text())));
        }
        let problem = ev.packet.problem.is_some();
        self.rows.push((cols, problem));
        if self.rows.len() >= CHUNK_ROWS || self.live {
            self.flush_rows()?;
            if self.live {
                self.out.flush()?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.format == Format::Table && !self.lines_out() {
            self.flush_rows()?;
        }
        self.out.flush()
    }
}
