//! TCP told as steps: the three-way handshake with the options each side
//! offered and what they agreed, data and acknowledgements (plain runs
//! folded), retransmissions and other analysis flags, the teardown or the
//! reset; and the connection's header lines.

use std::fmt::Write as _;

use super::story::{Segment, Step, Story};
use crate::decode::tcp_options;
use crate::flow::{ConnSummary, Dir, Offered, Role, SegmentContext, flags};
use crate::report::FrameEvent;
use crate::report::escape::escape;
use crate::report::flows::human_secs;
use crate::report::layers::detail::tcp_flags_text;

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

/// The TCP-level steps of one segment. `has_app`: the application layer
/// found something in its bytes, told by its own steps instead of a data line.
pub(super) fn steps(ev: &FrameEvent<'_, '_>, c: &SegmentContext, story: &mut Story, has_app: bool) {
    let Some(t) = ev.packet.tcp() else { return };
    let f = ev.frame.number;
    let from = Some(c.dir);
    let who = c.dir.sender();
    let other = c.dir.other().sender();
    // By the segment's lengths, not its bytes: the frame may come without
    // its payload ([`crate::report::View::frame_headers`]).
    let len = u64::from(c.len);
    let cut = cut_note(len, u64::from(c.captured), ev.frame.data.len());
    let fl = t.flags();
    let seg = Segment {
        dir: c.dir,
        len: u32::try_from(len).unwrap_or(u32::MAX),
        flags: fl,
        rel_seq: c.rel_seq,
        rel_ack: c.rel_ack,
    };
    let warn: Vec<&str> = c.analysis.iter().map(|(_, l)| l).collect();
    let label = || {
        let mut label = seg.label();
        if !warn.is_empty() {
            let _ = write!(label, " [{}]", warn.join(", "));
        }
        label
    };
    let step = |osi: u8, kind: &'static str, text: String, label: String| {
        Step::new(f, c.conn_rel_ts, osi, from, kind, text, &label)
    };
    let note = |kind: &'static str, text: String, label: String| {
        Step::new(f, c.conn_rel_ts, 5, None, kind, text, &label)
    };
    let mut warn_text = String::new();
    if !warn.is_empty() {
        warn_text = format!(" ⚠ {}", warn.join(", "));
    }
    let d = c.dir as usize;
    if has_app
        && c.role == Role::Data
        && c.analysis.is_empty()
        && c.established_rtt.is_none()
        && cut.is_empty()
    {
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
            story.push(step(4, kind, text + &warn_text, label()));
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
            story.push(step(4, "syn_ack", text + &warn_text, label()));
        }
        Role::Rst => {
            story.end_run();
            let refused =
                c.dir == Dir::ServerToClient && story.syn_count > 0 && story.server_opts.is_none();
            if refused {
                story.push(step(
                    4,
                    "rst",
                    format!(
                        "RST — the server refuses the connection: nothing is listening on port {}.{warn_text}",
                        story.server_port
                    ),
                    label(),
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
                    label(),
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
        _ if plain && cut.is_empty() => {
            story.push_plain(Step::segment(f, c.conn_rel_ts, seg), len);
        }
        _ if plain => {
            let text = seg.text(&cut);
            let kind = if len > 0 { "data" } else { "ack" };
            story.push_plain(step(4, kind, text, label()), len);
        }
        _ => {
            story.end_run();
            let fin = fl & flags::FIN != 0;
            let mut text = String::new();
            let end = c.rel_seq.wrapping_add(len as u32).wrapping_add(1);
            if fin && story.fin_end[d] == Some(end) {
                // The same FIN again: its sender had no ACK for it yet.
                text = format!(
                    "FIN again — the {who} sends its FIN once more (a retransmission of frame {}: no acknowledgement of it had arrived); nothing new is closed.",
                    story.fin_frame[d].unwrap_or(f)
                );
                if story.fin_end[1 - d].is_some() && c.rel_ack == story.fin_end[1 - d] {
                    let _ = write!(text, " It also acknowledges the {other}'s FIN.");
                }
            } else if fin {
                story.fin_end[d] = Some(end);
                story.fin_frame[d] = Some(f);
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
                    "The {who} sends {len} bytes (its bytes {}–{}).{cut}",
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
            story.push(step(4, kind, text + &warn_text, label()));
            if let Some(rtt) = c.established_rtt {
                let mut s = format!(
                    "Connection established after {} (the initial round-trip time, SYN to ACK): both sides can now send data.",
                    human_secs(rtt)
                );
                if let (Some(co), Some(so)) = (&story.client_opts, &story.server_opts) {
                    let mut agreed = Vec::new();
                    if let (Some(a), Some(b)) = (co.mss, so.mss) {
                        agreed.push(format!(
                            "segments up to {b} bytes client → server and {a} bytes server → client"
                        ));
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
            "Connection closed: both sides said goodbye and each goodbye was acknowledged.".into(),
            "connection closed".into(),
        ));
    }
}

/// The connection header's lines about TCP.
pub(super) fn header(s: &ConnSummary) -> Vec<String> {
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
                "data_before_handshake" => "the client sent data before the handshake completed",
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
    let n = |v: u64, one: &str, many: &str| format!("{v} {}", if v == 1 { one } else { many });
    lines.push(format!(
        "  history {} · state {} ({}) · client → server {}, {} · server → client {}, {} · anomalies: {}",
        escape(&s.history),
        s.state,
        s.conn_state,
        n(s.packets.client_to_server, "packet", "packets"),
        n(s.payload_bytes.client_to_server, "payload byte", "payload bytes"),
        n(s.packets.server_to_client, "packet", "packets"),
        n(s.payload_bytes.server_to_client, "payload byte", "payload bytes"),
        anomalies
    ));
    lines
}

/// What a segment cut by the capture's snap length lost, or nothing.
fn cut_note(len: u64, captured: u64, frame_bytes: usize) -> String {
    if captured >= len {
        return String::new();
    }
    let lost = len - captured;
    format!(
        " Only {captured} of them were captured: the capture kept the first {frame_bytes} bytes of the frame (its snap length), so {lost} {} not captured.",
        if lost == 1 { "byte is" } else { "bytes are" }
    )
}
