//! The record of one finished connection: what `flows` prints per row and
//! `walk` per connection header. Field by field documented in the README
//! ("JSON output: flows and walk").

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Dir, Offered};
use crate::latency::Summary;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PerDir<T> {
    pub client_to_server: T,
    pub server_to_client: T,
}

impl<T: Copy> PerDir<T> {
    pub fn from_array(a: [T; 2]) -> Self {
        PerDir {
            client_to_server: a[0],
            server_to_client: a[1],
        }
    }
}

/// What both sides' options add up to once the handshake is done.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Agreed {
    /// Largest segment the client may send (the server's MSS), and the reverse.
    pub mss: PerDir<Option<u16>>,
    /// Window scale shifts, in use only when both sides offered one.
    pub window_scale: Option<PerDir<u8>>,
    pub sack: bool,
    pub timestamps: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Handshake {
    pub syn_frame: Option<u64>,
    pub synack_frame: Option<u64>,
    pub ack_frame: Option<u64>,
    /// SYN, SYN-ACK and the ACK that acknowledges the SYN-ACK were all seen.
    pub complete: bool,
    /// Seconds from the first SYN to the handshake's ACK (Wireshark's iRTT).
    pub initial_rtt: Option<f64>,
    /// The two halves: SYN → SYN-ACK (the server's side of the path, as seen
    /// at the capture point) and SYN-ACK → ACK (the client's side).
    pub syn_to_synack: Option<f64>,
    pub synack_to_ack: Option<f64>,
    /// SYNs sent again with the same sequence number (no answer in time).
    pub syn_retransmissions: u32,
    pub client_isn: Option<u32>,
    pub server_isn: Option<u32>,
    pub client_options: Option<Offered>,
    pub server_options: Option<Offered>,
    pub agreed: Option<Agreed>,
    /// Payload bytes carried in the SYN (TCP Fast Open).
    pub syn_data: u32,
    /// Oddities: "syn_not_captured", "synack_before_syn", "simultaneous_open",
    /// "data_before_handshake", "not_captured".
    pub notes: Vec<&'static str>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ConnSummary {
    pub id: u64,
    pub ip_version: u8,
    pub client: String,
    pub server: String,
    /// No SYN or SYN-ACK showed who opened the connection; the server is the
    /// side with the lower port.
    pub roles_guessed: bool,
    pub first_frame: u64,
    pub last_frame: u64,
    pub frames: u64,
    /// Epoch seconds of the first segment.
    pub start: f64,
    pub duration: f64,
    pub packets: PerDir<u64>,
    /// Frame bytes on the wire.
    pub wire_bytes: PerDir<u64>,
    /// TCP payload bytes by the IP header, retransmissions included.
    pub payload_bytes: PerDir<u64>,
    /// IP bytes, headers included (Zeek's `orig_ip_bytes`, `resp_ip_bytes`);
    /// in the exported conn table only.
    #[serde(skip)]
    pub ip_bytes: PerDir<u64>,
    pub handshake: Handshake,
    /// The SYN was answered by RST.
    pub refused: bool,
    /// "fin" when both sides sent FIN, "rst" when an RST ended it, else null.
    pub closed_by: Option<&'static str>,
    pub first_fin_from: Option<Dir>,
    pub rst_from: Option<Dir>,
    pub fin_frames: PerDir<Option<u64>>,
    pub rst_frame: Option<u64>,
    /// refused, unanswered, open, half-closed, closed or reset.
    pub state: &'static str,
    /// Zeek's conn_state code for the same (S0, S1, SF, REJ, S2, S3, RSTO,
    /// RSTR, RSTOS0, RSTRH, SH, SHR, OTH).
    pub conn_state: &'static str,
    /// The Community ID of the 5-tuple (v1, seed 0), as Zeek, Suricata and
    /// Arkime write it: the key that joins this record to theirs.
    pub community_id: String,
    pub history: String,
    /// Counts by kind.
    pub anomalies: BTreeMap<&'static str, u64>,
    /// Finished early because the connection table was full.
    pub evicted: bool,
    /// Reassembly: bytes delivered in order, and bytes never seen (gaps).
    pub stream_bytes: PerDir<u64>,
    pub gap_bytes: PerDir<u64>,
    /// Frame bytes by layer (all frames, both directions); they add up to the
    /// wire bytes.
    pub layer_bytes: LayerBytes,
    /// Every anomaly with its frame (the first [`MAX_ANOMALY_LIST`]); `walk` prints them.
    #[serde(skip)]
    pub anomaly_list: Vec<(u64, &'static str)>,
    /// Round trips measured by ACKs (printed in the record's `latency`).
    #[serde(skip)]
    pub tcp_rtt: TcpRtt,
}

/// TCP round trips of one connection: each a data segment and the ACK that
/// acknowledged it exactly (tshark's `ack_rtt`), by who sent the data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct TcpRtt {
    /// The client's data, acknowledged by the server: the capture point's
    /// round trip to the server (and the server's ACK delay).
    pub to_server: Option<Summary>,
    pub to_client: Option<Summary>,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct LayerBytes {
    /// Link-layer headers and trailers (Ethernet, cooked, VLAN, padding).
    pub link: u64,
    /// IP headers, extension headers included.
    pub ip: u64,
    /// TCP headers, options included.
    pub tcp: u64,
    /// TCP payload as captured.
    pub tcp_payload: u64,
    /// Bytes the capture did not keep (snap length).
    pub not_captured: u64,
}

/// Anomalies listed with their frame per connection; the counts go on.
pub const MAX_ANOMALY_LIST: usize = 1000;
