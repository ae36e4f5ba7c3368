//! `osiscope flows`: one row (or JSON line) per TCP connection.

use std::io::{self, Write};

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

use super::Format;
use super::escape::escape;
use super::order::InOrder;
use super::record;
use super::{FrameEvent, View};
use crate::flow::ConnSummary;
use crate::proto::stack::AppSummary;

/// Rows rendered per table chunk.
const CHUNK_ROWS: usize = 256;

/// One connection as printed.
enum Rendered {
    Json(Vec<u8>),
    Row(Vec<String>),
}

pub struct FlowsView<W: Write> {
    out: W,
    format: Format,
    order: InOrder<Rendered>,
    rows: Vec<Vec<String>>,
    header_done: bool,
    width: Option<u16>,
    shown: u64,
    evicted: u64,
    /// Live capture: a row as each connection ends, in the order they end.
    live: bool,
}

/// Seconds as a person reads them: µs, ms or s.
pub fn human_secs(s: f64) -> String {
    if s < 0.001 {
        format!("{:.0} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{s:.3} s")
    }
}

/// The reply that took longest on the connection, with its kind ("ack
/// 41.200 ms"); "–" when nothing was answered.
fn slowest_reply(app: Option<&AppSummary>) -> String {
    app.and_then(|a| {
        a.latency
            .kinds()
            .filter_map(|(k, r)| Some((k, r.samples.summary()?.max)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    })
    .map_or_else(
        || "–".into(),
        |(k, max)| format!("{} {}", k.reply_word(), human_secs(max.max(0.0))),
    )
}

impl<W: Write> FlowsView<W> {
    pub fn new(out: W, format: Format) -> Self {
        FlowsView {
            out,
            format,
            order: InOrder::default(),
            rows: Vec::new(),
            header_done: false,
            width: Table::new().width(),
            shown: 0,
            evicted: 0,
            live: false,
        }
    }

    /// Rows are printed as connections end.
    pub fn live(mut self) -> Self {
        self.live = true;
        self
    }

    /// A connection's JSON line or table row, made when it finishes so that
    /// only this waits for its turn, not the summaries.
    fn render(&self, s: &ConnSummary, app: Option<&AppSummary>) -> io::Result<Rendered> {
        if self.format == Format::Json {
            let mut line = Vec::with_capacity(4096);
            super::json::write(&mut line, &record::record(s, app, false))?;
            line.push(b'\n');
            // It may wait for thousands of others: no spare capacity.
            line.shrink_to_fit();
            return Ok(Rendered::Json(line));
        }
        let anomalies: u64 = s.anomalies.values().sum();
        Ok(Rendered::Row(vec![
            s.id.to_string(),
            s.client.clone(),
            s.server.clone() + if s.roles_guessed { " (guess)" } else { "" },
            format!(
                "{} ({}){}",
                s.state,
                s.conn_state,
                if s.evicted { " evicted" } else { "" }
            ),
            escape(&s.history).into_owned(),
            s.handshake
                .initial_rtt
                .map(human_secs)
                .unwrap_or_else(|| "–".into()),
            human_secs(s.duration),
            format!(
                "{} / {}",
                s.packets.client_to_server, s.packets.server_to_client
            ),
            format!(
                "{} / {}",
                s.payload_bytes.client_to_server, s.payload_bytes.server_to_client
            ),
            record::app_label(app),
            slowest_reply(app),
            if anomalies == 0 {
                "–".into()
            } else {
                anomalies.to_string()
            },
        ]))
    }

    fn emit(&mut self, r: Rendered) -> io::Result<()> {
        self.shown += 1;
        match r {
            Rendered::Json(line) => self.out.write_all(&line),
            Rendered::Row(row) => {
                self.rows.push(row);
                if self.rows.len() >= CHUNK_ROWS {
                    self.flush_rows()?;
                }
                Ok(())
            }
        }
    }

    fn flush_rows(&mut self) -> io::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let mut t = super::style::stacking_table();
        if !self.header_done {
            t.set_header([
                "Conn",
                "Client",
                "Server",
                "State",
                "History",
                "iRTT",
                "Duration",
                "Packets c→s / s→c",
                "Payload bytes c→s / s→c",
                "App",
                "Slowest reply",
                "Anomalies",
            ]);
            self.header_done = true;
        }
        match self.width {
            Some(w) => {
                t.set_content_arrangement(ContentArrangement::Dynamic);
                t.set_width(w);
            }
            None => {
                t.set_content_arrangement(ContentArrangement::Disabled);
            }
        }
        for r in self.rows.drain(..) {
            t.add_row(r.into_iter().enumerate().map(|(i, v)| {
                let c = Cell::new(v);
                if matches!(i, 0 | 5 | 6 | 7 | 8 | 11) {
                    c.set_alignment(CellAlignment::Right)
                } else {
                    c
                }
            }));
        }
        for line in t.lines() {
            writeln!(self.out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

impl<W: Write> View for FlowsView<W> {
    fn frame(&mut self, _ev: &FrameEvent<'_, '_>) -> io::Result<()> {
        Ok(())
    }

    fn wants_frames(&self) -> bool {
        false
    }

    fn connection(&mut self, s: &ConnSummary, app: Option<&AppSummary>) -> io::Result<()> {
        self.evicted += u64::from(s.evicted);
        let r = self.render(s, app)?;
        if self.live {
            self.emit(r)?;
            self.flush_rows()?;
            return self.out.flush();
        }
        let weight = match &r {
            Rendered::Json(line) => line.len(),
            Rendered::Row(row) => row.iter().map(String::len).sum(),
        };
        for r in self.order.push(s.id, r, weight) {
            self.emit(r)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        for r in self.order.drain() {
            self.emit(r)?;
        }
        if self.format == Format::Table {
            self.flush_rows()?;
            if self.shown == 0 {
                writeln!(self.out, "no TCP connections")?;
            }
            if self.evicted > 0 {
                writeln!(
                    self.out,
                    "note: {} connections were finished early because the connection table was full (--max-connections)",
                    self.evicted
                )?;
            }
        }
        self.out.flush()
    }
}
