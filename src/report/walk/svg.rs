//! `walk --format svg`: the ladder diagram as a standalone SVG document, for a
//! browser. Client and server lifelines, one arrow per packet (or folded run),
//! a colour band per OSI layer behind each row, notes for what happens at the
//! session level, and brackets naming the phases: the TCP handshake, the
//! HTTP upgrade, the WebSocket close and the TCP teardown. Hovering a row shows
//! its whole explanation (an SVG `<title>`).
//!
//! Each row is a `<g class="step">` carrying `data-frame`, `data-last-frame`,
//! `data-osi`, `data-from` and `data-kind`, the same values as the steps of
//! `walk --format json`, so scripts and tests can read the picture.
//!
//! Text from the wire is escaped as on a terminal first (control and bidi
//! characters shown as `\x1b`, `\u{202e}`), then for XML.

use std::fmt::Write as _;

use std::io::{self, Write};

use super::WalkView;
use super::story::{Step, Story};
use crate::flow::{ConnSummary, Dir};
use crate::proto::stack::AppSummary;
use crate::report::escape::escape;

/// Document width in pixels.
pub const WIDTH: u32 = 1000;
const ROW: u32 = 24;
const CLIENT_X: u32 = 190;
const SERVER_X: u32 = 730;
/// Phase brackets and their names, right of the server's lifeline.
const PHASE_X: u32 = 748;
/// Characters of an arrow's label that fit between the lifelines.
const LABEL_CHARS: usize = 70;
/// Space above the first connection: the title and the layer legend.
pub const TOP: u32 = 64;

/// Fill colour of each layer, close to the terminal colours of the text walk.
fn layer_colour(osi: u8) -> &'static str {
    match osi {
        1 => "#8c8c8c",
        2 => "#3b6fd8",
        3 => "#2e9e44",
        4 => "#c9930c",
        5 => "#1696aa",
        6 => "#b64fd0",
        7 => "#8e2d8e",
        _ => "#d03030",
    }
}

const LAYER_NAMES: [(u8, &str); 7] = [
    (1, "physical"),
    (2, "data link"),
    (3, "network"),
    (4, "transport"),
    (5, "session"),
    (6, "presentation"),
    (7, "application"),
];

/// Which named phase a step belongs to, if any.
fn phase(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "syn" | "syn_ack" | "handshake_ack" | "established" | "syn_retransmission"
        | "simultaneous_open" => "TCP three-way handshake",
        "http_request" | "http_response" | "websocket_open" | "websocket_rejected" => {
            "HTTP upgrade"
        }
        "websocket_close" | "websocket_closed" => "WebSocket closing handshake",
        "fin" | "rst" | "closed" => "TCP teardown",
        _ => return None,
    })
}

/// Text for XML: terminal-escaped, then `&<>"'` as entities, and the two
/// characters XML never allows (U+FFFE, U+FFFF) replaced.
pub fn xml(s: &str) -> String {
    let s = escape(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// At most `n` columns (a wide character takes two), `…` included.
fn cut(s: &str, n: usize) -> String {
    if crate::text::width(s) <= n {
        s.to_owned()
    } else {
        crate::text::clip_width(s, n.saturating_sub(1))
    }
}

/// The document's start: size, styles, arrowheads, title and layer legend.
pub fn document_start(height: u32, drawn: u64, omitted: u64) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace" font-size="12">
<style>
  text {{ fill: #1d1d1f; }}
  .title {{ font-size: 16px; font-weight: bold; }}
  .head {{ font-weight: bold; }}
  .sub {{ fill: #555; }}
  .lifeline {{ stroke: #444; stroke-width: 1.5; }}
  .arrow {{ stroke-width: 1.6; }}
  .note {{ fill: #fff; stroke: #777; }}
  .folded {{ fill: #fff; stroke: #999; stroke-dasharray: 4 3; }}
  .phase {{ stroke: #777; fill: none; }}
  .phasename {{ fill: #444; font-style: italic; }}
  .warn {{ fill: #b00020; }}
</style>
<defs>
"##
    );
    for (osi, _) in LAYER_NAMES {
        let _ = writeln!(
            o,
            r#"  <marker id="head{osi}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{}"/></marker>"#,
            layer_colour(osi)
        );
    }
    o.push_str("</defs>\n");
    let _ = writeln!(o, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let total = drawn + omitted;
    let s = if total == 1 { "" } else { "s" };
    let count = if omitted > 0 {
        format!("{drawn} of {total} TCP connections drawn")
    } else {
        format!("{total} TCP connection{s}")
    };
    let _ = writeln!(
        o,
        r#"<text class="title" x="16" y="26">osiscope walk: {count}, each step with its OSI layer</text>"#
    );
    let mut x = 16;
    for (osi, name) in LAYER_NAMES {
        let label = format!("L{osi} {name}");
        let w = 14 + 7 * label.len() as u32;
        let _ = writeln!(
            o,
            r#"<rect x="{x}" y="38" width="{w}" height="16" rx="3" fill="{}" fill-opacity="0.18"/><text x="{}" y="50">{label}</text>"#,
            layer_colour(osi),
            x + 6
        );
        x += w + 8;
    }
    o
}

pub fn document_end(omitted: u64, limit_mib: usize, y: u32) -> String {
    let mut o = String::new();
    if omitted > 0 {
        let s = if omitted == 1 { "" } else { "s" };
        let _ = writeln!(
            o,
            r#"<text class="warn" x="16" y="{}">… {omitted} more connection{s} not drawn (the picture holds at most {limit_mib} MiB of drawing); choose some with --connection N or --port P</text>"#,
            y + 16
        );
    }
    o.push_str("</svg>\n");
    o
}

/// Height of the space [`document_end`] needs.
pub fn end_height(omitted: u64) -> u32 {
    if omitted > 0 { 28 } else { 8 }
}

/// One connection as a group whose top is at y = 0; returns it and its height.
/// `head` is the walk header (first line: the title).
pub fn connection(
    id: u64,
    head: &[String],
    client: &str,
    server: &str,
    steps: &[Step],
    omitted: u64,
) -> (String, u32) {
    let mut o = String::new();
    let _ = writeln!(o, r#"<g class="connection" data-connection="{id}">"#);
    let mut y = 22;
    if let Some(t) = head.first() {
        let _ = writeln!(
            o,
            r#"<text class="head" x="16" y="{y}">{}</text>"#,
            xml(&cut(t, 130))
        );
    }
    for l in head.iter().skip(1).take(3) {
        y += 16;
        let _ = writeln!(
            o,
            r#"<text class="sub" x="16" y="{y}">{}</text>"#,
            xml(&cut(l.trim(), 130))
        );
    }
    y += 30;
    for (x, who) in [
        (CLIENT_X, format!("client {client}")),
        (SERVER_X, format!("server {server}")),
    ] {
        let _ = writeln!(
            o,
            r#"<text class="head" x="{x}" y="{y}" text-anchor="middle">{}</text>"#,
            xml(&who)
        );
    }
    let top = y + 8;
    let bottom = top + ROW * steps.len() as u32 + 8;
    for x in [CLIENT_X, SERVER_X] {
        let _ = writeln!(
            o,
            r#"<line class="lifeline" x1="{x}" y1="{top}" x2="{x}" y2="{bottom}"/>"#
        );
    }
    for (i, st) in steps.iter().enumerate() {
        let y0 = top + 4 + ROW * i as u32;
        row(&mut o, st, y0);
    }
    phases(&mut o, steps, top + 4);
    let mut h = bottom + 12;
    if omitted > 0 {
        let _ = writeln!(
            o,
            r#"<text class="warn" x="{CLIENT_X}" y="{}">… {omitted} more steps not kept</text>"#,
            h + 4
        );
        h += 18;
    }
    o.push_str("</g>\n");
    (o, h + 16)
}

fn row(o: &mut String, st: &Step, y0: u32) {
    let colour = layer_colour(st.osi);
    let from = match st.from {
        Some(Dir::ClientToServer) => "client",
        Some(Dir::ServerToClient) => "server",
        None => "",
    };
    let last = st
        .last_frame()
        .map(|l| format!(r#" data-last-frame="{l}""#))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        r#"<g class="step" data-frame="{}"{last} data-osi="{}" data-from="{from}" data-kind="{}">"#,
        st.frame, st.osi, st.kind
    );
    let _ = writeln!(o, "<title>{}</title>", xml(&st.text()));
    let _ = writeln!(
        o,
        r#"<rect x="8" y="{y0}" width="{}" height="{ROW}" fill="{colour}" fill-opacity="0.10"/>"#,
        PHASE_X - 14
    );
    let frames = match st.last_frame() {
        Some(l) => format!("#{}–{l}", st.frame),
        None => format!("#{}", st.frame),
    };
    let mid = y0 + ROW / 2;
    let _ = writeln!(
        o,
        r#"<text x="96" y="{}" text-anchor="end">{}</text>"#,
        mid + 4,
        xml(&frames)
    );
    let _ = writeln!(
        o,
        r#"<rect x="104" y="{}" width="28" height="16" rx="3" fill="{colour}"/><text x="118" y="{}" text-anchor="middle" style="fill:#fff;font-weight:bold">L{}</text>"#,
        mid - 8,
        mid + 4,
        st.osi
    );
    let label = xml(&cut(&st.label(), LABEL_CHARS));
    let centre = (CLIENT_X + SERVER_X) / 2;
    match st.from {
        Some(d) => {
            let (x1, x2) = match d {
                Dir::ClientToServer => (CLIENT_X, SERVER_X),
                Dir::ServerToClient => (SERVER_X, CLIENT_X),
            };
            let ly = y0 + ROW - 6;
            let _ = writeln!(
                o,
                r#"<line class="arrow" x1="{x1}" y1="{ly}" x2="{x2}" y2="{ly}" stroke="{colour}" marker-end="url(#head{})"/>"#,
                st.osi.clamp(1, 7)
            );
            let _ = writeln!(
                o,
                r#"<text x="{centre}" y="{}" text-anchor="middle">{label}</text>"#,
                ly - 4
            );
        }
        None => {
            let class = if st.kind == "folded" {
                "folded"
            } else {
                "note"
            };
            let _ = writeln!(
                o,
                r#"<rect class="{class}" x="{}" y="{}" width="{}" height="{}" rx="4"/><text x="{centre}" y="{}" text-anchor="middle">{label}</text>"#,
                CLIENT_X + 10,
                y0 + 2,
                SERVER_X - CLIENT_X - 20,
                ROW - 4,
                mid + 4
            );
        }
    }
    o.push_str("</g>\n");
}

/// A bracket right of the lifelines for each run of steps in one phase.
fn phases(o: &mut String, steps: &[Step], top: u32) {
    let mut i = 0;
    while i < steps.len() {
        let Some(p) = phase(steps[i].kind) else {
            i += 1;
            continue;
        };
        let mut j = i + 1;
        // Plain ACKs inside a phase (the ACK of a FIN) belong to it.
        while j < steps.len() && (phase(steps[j].kind) == Some(p) || steps[j].kind == "ack") {
            j += 1;
        }
        while j > i + 1 && steps[j - 1].kind == "ack" {
            j -= 1;
        }
        let y1 = top + ROW * i as u32 + 3;
        let y2 = top + ROW * j as u32 - 3;
        let x = PHASE_X;
        let _ = writeln!(
            o,
            r#"<path class="phase" d="M{x},{y1} h6 V{y2} h-6"/><text class="phasename" x="{}" y="{}">{p}</text>"#,
            x + 12,
            (y1 + y2) / 2 + 4
        );
        i = j;
    }
}

impl<W: Write> WalkView<W> {
    pub(super) fn write_svg(
        &mut self,
        s: &ConnSummary,
        app: Option<&AppSummary>,
        story: &Story,
    ) -> io::Result<()> {
        let head = self.full_header(s, app);
        let (g, h) = connection(
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_is_escaped_twice() {
        assert_eq!(xml("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(xml("\x1b[2J"), "\\x1b[2J");
        assert_eq!(xml("x\u{202e}y\u{ffff}"), "x\\u{202e}y\u{fffd}");
    }

    #[test]
    fn long_labels_are_cut() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }
}
