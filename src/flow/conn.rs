//! One TCP connection's state, updated segment by segment.

use std::collections::BTreeMap;

use super::analysis::{self, Analysis, ConnAnalysis, UNACKED_SHARED};
use super::history::History;
use super::reassembly::{Chunk, DEFAULT_OOO_LIMIT, Reassembler, SharedLimit};
use super::summary::{
    Agreed, ConnSummary, Handshake, LayerBytes, MAX_ANOMALY_LIST, PerDir, TcpRtt,
};
use super::{Dir, Endpoint, Moment, Role, Segment, SegmentContext, StreamSink, flags};
use crate::capture::Timestamp;
use crate::latency::{MinRtt, SAMPLE_BYTES, Samples};

/// Bytes the round-trip samples of all the connections of one flow table
/// hold together for their percentiles: 16 MiB, two million samples.
pub const SAMPLES_SHARED: usize = 16 << 20;

/// What the measurements of the connections of one flow table share.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    unacked: SharedLimit,
    samples: SharedLimit,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            unacked: SharedLimit::new(UNACKED_SHARED),
            samples: SharedLimit::new(SAMPLES_SHARED),
        }
    }
}

/// Round trips measured by ACKs, by direction of the data acknowledged.
#[derive(Debug)]
struct RoundTrips {
    samples: [Samples; 2],
    /// The path to the receiver of each direction's data.
    path: [MinRtt; 2],
    budget: SharedLimit,
}

impl RoundTrips {
    fn sample(&mut self, d: usize, ns: i64, now: Timestamp) {
        let room = self.samples[d].wants() && self.budget.has_room(SAMPLE_BYTES);
        if self.samples[d].push(ns, room) {
            self.budget.take(SAMPLE_BYTES);
        }
        if let Ok(ns) = u64::try_from(ns) {
            self.path[d].sample(ns, ns_of(now));
        }
    }
}

impl RoundTrips {
    /// The connection closed: its round trips' figures are kept, not the samples.
    fn freeze(&mut self) {
        let freed = self.samples[0].freeze() + self.samples[1].freeze();
        self.budget.give(freed);
    }
}

impl Drop for RoundTrips {
    fn drop(&mut self) {
        self.budget
            .give(self.samples[0].held() + self.samples[1].held());
    }
}

fn ns_of(t: Timestamp) -> i128 {
    t.since(Timestamp::default())
}

/// Delivered bytes kept per direction to check retransmissions against (a
/// differing copy is a conflicting overlap); older data is counted, not compared.
pub const COMPARE_HISTORY: usize = 8 * 1024;

pub(crate) struct Conn {
    pub id: u64,
    pub client: Endpoint,
    pub server: Endpoint,
    pub guessed: bool,
    /// Base sequence numbers per direction (Wireshark's rules).
    base: [Option<u32>; 2],
    pub last_tick: u64,
    /// Queued for finishing once closed (see `FlowTable::sweep`).
    pub queued: bool,
    first_frame: u64,
    last_frame: u64,
    first_ts: Timestamp,
    pub last_ts: Timestamp,
    frames: u64,
    packets: [u64; 2],
    wire: [u64; 2],
    payload: [u64; 2],
    /// IP bytes (headers and payload, by the IP header's length): Zeek's `ip_bytes`.
    ip: [u64; 2],
    hs: Handshake,
    syn_ts: Option<Timestamp>,
    synack_ts: Option<Timestamp>,
    fin_frame: [Option<u64>; 2],
    /// Raw sequence number just after each side's FIN, and whether the other
    /// side acknowledged it.
    fin_end: [Option<u32>; 2],
    fin_acked: [bool; 2],
    first_fin_from: Option<Dir>,
    rst_frame: Option<u64>,
    rst_from: Option<Dir>,
    refused: bool,
    history: History,
    anomalies: BTreeMap<&'static str, u64>,
    anomaly_list: Vec<(u64, &'static str)>,
    an: ConnAnalysis,
    reasm: [Option<Reassembler>; 2],
    stream_bytes: [u64; 2],
    gap_bytes: [u64; 2],
    /// Bytes by layer over all frames: link, IP, TCP header, TCP payload
    /// captured, and bytes not captured (snap length).
    layer_bytes: [u64; 5],
    rtt: RoundTrips,
}

impl Conn {
    pub fn new(id: u64, seg: &Segment<'_>, limits: &Limits) -> Self {
        let syn = seg.has(flags::SYN);
        let ack = seg.has(flags::ACK);
        let (client, server, guessed) = if syn && !ack {
            (seg.src, seg.dst, false)
        } else if syn && ack {
            (seg.dst, seg.src, false)
        } else if seg.src.port < seg.dst.port {
            // No handshake seen: the lower port is taken to be the service.
            (seg.dst, seg.src, true)
        } else {
            (seg.src, seg.dst, true)
        };
        Conn {
            id,
            client,
            server,
            guessed,
            base: [None, None],
            last_tick: 0,
            queued: false,
            first_frame: seg.frame,
            last_frame: seg.frame,
            first_ts: seg.ts,
            last_ts: seg.ts,
            frames: 0,
            packets: [0; 2],
            wire: [0; 2],
            payload: [0; 2],
            ip: [0; 2],
            hs: Handshake::default(),
            syn_ts: None,
            synack_ts: None,
            fin_frame: [None; 2],
            fin_end: [None; 2],
            fin_acked: [false; 2],
            first_fin_from: None,
            rst_frame: None,
            rst_from: None,
            refused: false,
            history: History::default(),
            anomalies: BTreeMap::new(),
            anomaly_list: Vec::new(),
            an: ConnAnalysis::sharing(&limits.unacked),
            reasm: [None, None],
            stream_bytes: [0; 2],
            gap_bytes: [0; 2],
            layer_bytes: [0; 5],
            rtt: RoundTrips {
                samples: Default::default(),
                path: Default::default(),
                budget: limits.samples.clone(),
            },
        }
    }

    /// The moment segment `seg` delivers bytes: its frame, its time, the
    /// paths as measured.
    fn moment(&self, seg: &Segment<'_>) -> Moment {
        Moment {
            frame: seg.frame,
            ts: seg.ts,
            path_rtt: [self.rtt.path[0].get(), self.rtt.path[1].get()],
        }
    }

    fn dir_of(&self, seg: &Segment<'_>) -> Dir {
        if seg.src == self.client {
            Dir::ClientToServer
        } else {
            Dir::ServerToClient
        }
    }

    /// A SYN (without ACK) whose sequence number differs from the one its side
    /// opened with: the 4-tuple is being reused for a new connection.
    pub fn is_new_connection(&self, seg: &Segment<'_>) -> bool {
        let d = self.dir_of(seg) as usize;
        seg.has(flags::SYN) && !seg.has(flags::ACK) && self.base[d].is_some_and(|b| b != seg.seq)
    }

    fn anomaly(&mut self, frame: u64, kind: &'static str) {
        *self.anomalies.entry(kind).or_insert(0) += 1;
        if self.anomaly_list.len() < MAX_ANOMALY_LIST {
            self.anomaly_list.push((frame, kind));
        }
    }

    fn note(&mut self, n: &'static str) {
        if !self.hs.notes.contains(&n) {
            self.hs.notes.push(n);
        }
    }

    /// `opens`: first segment of this connection; `reused`: it replaced an
    /// earlier connection on the same 4-tuple.
    pub fn update(
        &mut self,
        seg: &Segment<'_>,
        tick: u64,
        opens: bool,
        reused: bool,
        ooo: &SharedLimit,
        sink: &mut dyn StreamSink,
    ) -> SegmentContext {
        let dir = self.dir_of(seg);
        let d = dir as usize;
        let syn = seg.has(flags::SYN);
        let ackf = seg.has(flags::ACK);
        let fin = seg.has(flags::FIN);
        let rst = seg.has(flags::RST);

        self.last_tick = tick;
        self.last_frame = seg.frame;
        self.last_ts = seg.ts;
        self.frames += 1;
        self.packets[d] += 1;
        self.wire[d] += u64::from(seg.wire_len);
        self.payload[d] += u64::from(seg.len);
        self.ip[d] +=
            u64::from(seg.layer_bytes[1]) + u64::from(seg.layer_bytes[2]) + u64::from(seg.len);
        for (acc, b) in self.layer_bytes.iter_mut().zip(seg.layer_bytes) {
            *acc += u64::from(b);
        }
        self.layer_bytes[4] += u64::from(seg.wire_len)
            .saturating_sub(seg.layer_bytes.iter().map(|b| u64::from(*b)).sum());

        let mut pre = Analysis::default();
        if reused && syn && !ackf {
            pre.set(Analysis::REUSED_PORTS);
        }
        // Relative numbers, as Wireshark: a SYN sets its side's base; a side
        // first seen mid-stream, or first acknowledged, starts at 1.
        let (rel_seq, rel_ack) = if seg.malformed {
            (seg.seq, ackf.then_some(seg.ack))
        } else {
            // tshark §5.2: a SYN repeating its ISN rewinds its side for the
            // analysis; a SYN-ACK with a new ISN replaces the base (ports reused).
            if syn && !ackf && self.base[d] == Some(seg.seq) {
                self.an.syn_repeated(d);
            }
            if syn && ackf && self.base[d].is_some_and(|b| b != seg.seq) {
                pre.set(Analysis::REUSED_PORTS);
            }
            if syn {
                self.base[d] = Some(seg.seq);
            }
            let b = *self.base[d].get_or_insert(seg.seq.wrapping_sub(1));
            let rel_ack = ackf.then(|| {
                let rb = *self.base[1 - d].get_or_insert(seg.ack.wrapping_sub(1));
                seg.ack.wrapping_sub(rb)
            });
            (seg.seq.wrapping_sub(b), rel_ack)
        };
        let conn_rel_ts = seg.ts.since(self.first_ts) as f64 / 1e9;
        if seg.malformed {
            return SegmentContext {
                stream: self.id,
                dir,
                rel_seq,
                rel_ack,
                role: Role::Other,
                analysis: Analysis::default(),
                conn_rel_ts,
                opens,
                established_rtt: None,
                window_size: u32::from(seg.window),
                acked: None,
                len: seg.len,
                captured: seg.captured(),
            };
        }

        let mut established_rtt = None;
        let role = if syn && !ackf {
            if dir == Dir::ClientToServer {
                match self.hs.syn_frame {
                    None => {
                        if self.hs.synack_frame.is_some() {
                            self.note("synack_before_syn");
                            self.hs.notes.retain(|n| *n != "syn_not_captured");
                        }
                        self.hs.syn_frame = Some(seg.frame);
                        self.syn_ts = Some(seg.ts);
                        self.hs.client_isn = Some(seg.seq);
                        self.hs.client_options = seg.offered.cloned();
                        self.hs.syn_data = seg.len;
                    }
                    Some(_) if self.hs.client_isn == Some(seg.seq) => {
                        self.hs.syn_retransmissions += 1;
                        self.syn_ts = Some(seg.ts);
                    }
                    Some(_) => {}
                }
                Role::Syn
            } else {
                self.note("simultaneous_open");
                Role::Other
            }
        } else if syn && ackf {
            if dir == Dir::ServerToClient && self.hs.synack_frame.is_none() {
                self.hs.synack_frame = Some(seg.frame);
                self.synack_ts = Some(seg.ts);
                self.hs.server_isn = Some(seg.seq);
                self.hs.server_options = seg.offered.cloned();
                if self.hs.syn_frame.is_none() {
                    self.note("syn_not_captured");
                }
                Role::SynAck
            } else if dir == Dir::ServerToClient {
                Role::SynAck
            } else {
                self.note("simultaneous_open");
                Role::Other
            }
        } else if rst {
            if dir == Dir::ServerToClient
                && self.hs.syn_frame.is_some()
                && self.hs.synack_frame.is_none()
            {
                self.refused = true;
            }
            Role::Rst
        } else if fin {
            Role::Fin
        } else if seg.len > 0 {
            Role::Data
        } else if ackf {
            Role::Ack
        } else {
            Role::Other
        };

        // FIN and RST count whatever else the segment carries (even a SYN).
        if rst && self.rst_frame.is_none() {
            self.rst_frame = Some(seg.frame);
            self.rst_from = Some(dir);
        }
        if fin && self.fin_frame[d].is_none() {
            self.fin_frame[d] = Some(seg.frame);
            self.first_fin_from.get_or_insert(dir);
            self.fin_end[d] = Some(seg.seq.wrapping_add(seg.len).wrapping_add(1));
        }
        if ackf
            && let Some(end) = self.fin_end[1 - d]
            && (seg.ack.wrapping_sub(end) as i32) >= 0
        {
            self.fin_acked[1 - d] = true;
        }

        // The client's first acknowledgement of the SYN-ACK completes the handshake.
        if dir == Dir::ClientToServer
            && ackf
            && !syn
            && !rst
            && self.hs.ack_frame.is_none()
            && self.hs.synack_frame.is_some()
            && self
                .hs
                .server_isn
                .is_some_and(|isn| seg.ack == isn.wrapping_add(1))
        {
            self.hs.ack_frame = Some(seg.frame);
            self.hs.complete = self.hs.syn_frame.is_some();
            if let (Some(t0), Some(t1)) = (self.syn_ts, self.synack_ts) {
                // The halves are the paths' first measures: SYN → SYN-ACK
                // went to the server and back, SYN-ACK → ACK to the client.
                for (d, ns) in [(0, t1.since(t0)), (1, seg.ts.since(t1))] {
                    if let Ok(ns) = u64::try_from(ns) {
                        self.rtt.path[d].sample(ns, ns_of(seg.ts));
                    }
                }
                let rtt = seg.ts.since(t0) as f64 / 1e9;
                self.hs.initial_rtt = Some(rtt);
                self.hs.syn_to_synack = Some(t1.since(t0) as f64 / 1e9);
                self.hs.synack_to_ack = Some(seg.ts.since(t1) as f64 / 1e9);
                established_rtt = Some(rtt);
            }
        }
        if dir == Dir::ClientToServer
            && seg.len > 0
            && !syn
            && self.hs.syn_frame.is_some()
            && self.hs.ack_frame.is_none()
        {
            self.note("data_before_handshake");
        }

        // History letters.
        if syn {
            self.history.record(dir, if ackf { b'H' } else { b'S' });
            if fin || rst {
                self.history.record(dir, b'Q');
            }
        }
        if rst {
            self.history.record(dir, b'R');
        }
        if fin {
            self.history.record(dir, b'F');
        }
        if seg.len > 0 {
            self.history.record(dir, b'D');
        }
        if ackf && seg.len == 0 && !syn && !fin && !rst {
            self.history.record(dir, b'A');
        }

        // Wireshark-style analysis, on the raw numbers (tshark's rules).
        let s = analysis::Seg {
            frame: seg.frame,
            seq: seg.seq,
            ack: seg.ack,
            len: seg.len,
            flags: seg.flags,
            window: seg.window,
            wscale: seg.wscale,
            ts: seg.ts,
        };
        let window_size = self.an.window_size(d, seg.flags, seg.window);
        let (a, acked) = self.an.segment(d, &s, pre);
        let a = if seg.bogus_offset {
            Analysis::default()
        } else {
            a
        };
        if let Some(k) = acked {
            // The other side's data, acknowledged by this side.
            self.rtt.sample(1 - d, k.rtt_ns, seg.ts);
        }
        // A fast or spurious retransmission is counted as that, not twice.
        let specific =
            a.has(Analysis::FAST_RETRANSMISSION) || a.has(Analysis::SPURIOUS_RETRANSMISSION);
        for (kind, _) in a.iter() {
            if kind != "window_update" && !(specific && kind == "retransmission") {
                self.anomaly(seg.frame, kind);
            }
        }
        if a.has(Analysis::RETRANSMISSION)
            || a.has(Analysis::FAST_RETRANSMISSION)
            || a.has(Analysis::SPURIOUS_RETRANSMISSION)
        {
            self.history.record(dir, b'T');
        }
        if a.has(Analysis::ZERO_WINDOW) {
            self.history.record(dir, b'W');
        }

        // Reassembly of this direction's byte stream.
        if syn && !seg.malformed && self.reasm[d].is_none() {
            self.reasm[d] = Some(
                Reassembler::new(seg.seq, DEFAULT_OOO_LIMIT)
                    .with_history(COMPARE_HISTORY)
                    .sharing(ooo),
            );
        }
        // A keep-alive's one byte is old data, often not the byte first sent
        // there: it is the probe's filler, not a rewrite of the stream.
        if !seg.payload.is_empty() && !rst && !a.has(Analysis::KEEP_ALIVE) {
            let start = if syn {
                seg.seq.wrapping_add(1)
            } else {
                seg.seq
            };
            let at = self.moment(seg);
            let r = self.reasm[d].get_or_insert_with(|| {
                Reassembler::new_midstream(DEFAULT_OOO_LIMIT)
                    .with_history(COMPARE_HISTORY)
                    .sharing(ooo)
            });
            let mut fwd = Forward::new(self.id, dir, at, sink);
            let mut out = r.push(start, seg.payload, &mut |c| fwd.chunk(c));
            // Cut by the snap length: the rest of the payload is lost, now.
            let missing = u64::from(seg.len).saturating_sub(seg.payload.len() as u64);
            if missing > 0 && !syn {
                let after = start.wrapping_add(seg.payload.len() as u32);
                out.gap_declared |= r.lost(after, missing, &mut |c| fwd.chunk(c)).gap_declared;
            }
            let counts = (fwd.delivered, fwd.gaps);
            self.account(d, seg.frame, counts);
            if out.conflicting_overlap {
                self.anomaly(seg.frame, "overlap_conflict");
            }
            if out.dropped_bytes > 0 {
                self.anomaly(seg.frame, "reassembly_overflow");
            }
        }
        if fin || rst {
            let at = self.moment(seg);
            self.flush_stream(d, &at, sink);
            sink.end(self.id, dir, &at);
        }

        SegmentContext {
            stream: self.id,
            dir,
            rel_seq,
            rel_ack,
            role,
            analysis: a,
            conn_rel_ts,
            opens,
            established_rtt,
            window_size,
            acked,
            len: seg.len,
            captured: seg.captured(),
        }
    }

    /// Delivers what is still buffered beyond a hole, declaring the hole a gap.
    fn flush_stream(&mut self, d: usize, at: &Moment, sink: &mut dyn StreamSink) {
        let Some(r) = self.reasm[d].as_mut() else {
            return;
        };
        let mut fwd = Forward::new(self.id, Dir::from_index(d), *at, sink);
        r.finish(&mut |c| fwd.chunk(c));
        let counts = (fwd.delivered, fwd.gaps);
        self.account(d, at.frame, counts);
    }

    /// Counts what a reassembler delivered; a gap is an anomaly and a `G`.
    fn account(&mut self, d: usize, frame: u64, (delivered, gaps): (u64, u64)) {
        self.stream_bytes[d] += delivered;
        self.gap_bytes[d] += gaps;
        if gaps > 0 {
            self.anomaly(frame, "gap");
            self.history.record(Dir::from_index(d), b'G');
        }
    }

    /// The connection closed: delivers what is buffered and gives up both
    /// reassemblers (a late segment starts a small one again).
    pub fn release_streams(&mut self, sink: &mut dyn StreamSink) {
        self.end_of_capture(sink);
        self.reasm = [None, None];
        self.rtt.freeze();
    }

    /// Base sequence numbers by direction, for late segments after the end.
    pub fn bases(&self) -> [Option<u32>; 2] {
        self.base
    }

    /// Over: reset, or both sides' FINs sent and acknowledged.
    pub fn is_closed(&self) -> bool {
        self.rst_frame.is_some() || (self.fin_acked[0] && self.fin_acked[1])
    }

    /// Flushes both reassemblers: the connection is over (or the capture is).
    pub fn end_of_capture(&mut self, sink: &mut dyn StreamSink) {
        let at = Moment {
            frame: self.last_frame,
            ts: self.last_ts,
            path_rtt: [self.rtt.path[0].get(), self.rtt.path[1].get()],
        };
        self.flush_stream(0, &at, sink);
        self.flush_stream(1, &at, sink);
    }

    pub fn summary(&self, evicted: bool) -> ConnSummary {
        let syn = self.hs.syn_frame.is_some();
        let synack = self.hs.synack_frame.is_some();
        let fins = [self.fin_frame[0].is_some(), self.fin_frame[1].is_some()];
        let server_spoke = self.packets[1] > 0;
        let rst_c = self.rst_from == Some(Dir::ClientToServer);
        let rst_s = self.rst_from == Some(Dir::ServerToClient);
        let state = if self.refused {
            "refused"
        } else if !server_spoke && syn {
            "unanswered"
        } else if self.rst_frame.is_some() {
            "reset"
        } else if fins[0] && fins[1] {
            "closed"
        } else if fins[0] || fins[1] {
            "half-closed"
        } else {
            "open"
        };
        let conn_state = match (syn, synack) {
            (true, false) if self.refused => "REJ",
            (true, false) if rst_c => "RSTOS0",
            (true, false) if fins[0] => "SH",
            (true, false) if !server_spoke => "S0",
            (true, false) => "OTH",
            (false, true) if rst_s => "RSTRH",
            (false, true) if fins[1] => "SHR",
            (false, _) => "OTH",
            (true, true) if rst_c => "RSTO",
            (true, true) if rst_s => "RSTR",
            (true, true) if fins[0] && fins[1] => "SF",
            (true, true) if fins[0] => "S2",
            (true, true) if fins[1] => "S3",
            (true, true) => "S1",
        };
        // An RST ends the connection unless both sides had already sent FIN.
        let fins_before_rst = self
            .rst_frame
            .is_some_and(|r| self.fin_frame.iter().all(|f| f.is_some_and(|f| f < r)));
        let closed_by = if self.rst_frame.is_some() && !fins_before_rst {
            Some("rst")
        } else if fins[0] && fins[1] {
            Some("fin")
        } else {
            None
        };
        let mut hs = self.hs.clone();
        if !syn && !synack {
            hs.notes.push("not_captured");
        }
        if let (Some(c), Some(s)) = (&hs.client_options, &hs.server_options) {
            hs.agreed = Some(Agreed {
                mss: PerDir {
                    client_to_server: s.mss,
                    server_to_client: c.mss,
                },
                window_scale: match (c.window_scale, s.window_scale) {
                    (Some(a), Some(b)) => Some(PerDir {
                        client_to_server: a,
                        server_to_client: b,
                    }),
                    _ => None,
                },
                sack: c.sack_permitted && s.sack_permitted,
                timestamps: c.timestamps && s.timestamps,
            });
        }
        ConnSummary {
            id: self.id,
            ip_version: if self.client.addr.is_ipv4() { 4 } else { 6 },
            client: self.client.to_string(),
            server: self.server.to_string(),
            roles_guessed: self.guessed,
            first_frame: self.first_frame,
            last_frame: self.last_frame,
            frames: self.frames,
            start: self.first_ts.as_f64(),
            duration: self.last_ts.since(self.first_ts) as f64 / 1e9,
            packets: PerDir::from_array(self.packets),
            wire_bytes: PerDir::from_array(self.wire),
            payload_bytes: PerDir::from_array(self.payload),
            ip_bytes: PerDir::from_array(self.ip),
            handshake: hs,
            refused: self.refused,
            closed_by,
            first_fin_from: self.first_fin_from,
            rst_from: self.rst_from,
            fin_frames: PerDir::from_array(self.fin_frame),
            rst_frame: self.rst_frame,
            state,
            conn_state,
            community_id: super::community::tcp(&self.client, &self.server),
            history: self.history.as_str().to_owned(),
            anomalies: self.anomalies.clone(),
            evicted,
            stream_bytes: PerDir::from_array(self.stream_bytes),
            gap_bytes: PerDir::from_array(self.gap_bytes),
            layer_bytes: LayerBytes {
                link: self.layer_bytes[0],
                ip: self.layer_bytes[1],
                tcp: self.layer_bytes[2],
                tcp_payload: self.layer_bytes[3],
                not_captured: self.layer_bytes[4],
            },
            anomaly_list: self.anomaly_list.clone(),
            tcp_rtt: TcpRtt {
                to_server: self.rtt.samples[0].summary(),
                to_client: self.rtt.samples[1].summary(),
            },
        }
    }
}

/// Hands a reassembler's chunks to the sink, counting them.
struct Forward<'s> {
    id: u64,
    dir: Dir,
    at: Moment,
    sink: &'s mut dyn StreamSink,
    delivered: u64,
    gaps: u64,
}

impl<'s> Forward<'s> {
    fn new(id: u64, dir: Dir, at: Moment, sink: &'s mut dyn StreamSink) -> Self {
        Forward {
            id,
            dir,
            at,
            sink,
            delivered: 0,
            gaps: 0,
        }
    }

    fn chunk(&mut self, c: Chunk<'_>) {
        match c {
            Chunk::Data { bytes, .. } => {
                self.delivered += bytes.len() as u64;
                self.sink.data(self.id, self.dir, &self.at, bytes);
            }
            Chunk::Gap { len, .. } => {
                self.gaps += len;
                self.sink.gap(self.id, self.dir, &self.at);
            }
        }
    }
}
