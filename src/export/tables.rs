//! The exported tables: their columns (names, types, meanings) and rows.
//!
//! Where Zeek logs the same fact, the column has Zeek's name and meaning
//! (`conn.log`, `websocket.log`, `http.log`), so a query written for Zeek's
//! logs runs on these. osiscope's own columns follow Zeek's. Every table
//! carries `uid` (the connection, as in Zeek) and `file` (the capture).

use super::table::{Cell, Col, Ty};

/// A row struct with one [`Cell`] per column, and its column list, from one
/// declaration so the two cannot disagree.
macro_rules! table {
    ($(#[$m:meta])* $row:ident, $cols:ident { $($field:ident : $name:literal, $ty:ident, $doc:literal;)* }) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default)]
        pub struct $row { $(pub $field: Cell,)* }
        pub static $cols: &[Col] = &[$(Col { name: $name, ty: Ty::$ty, doc: $doc },)*];
        impl $row {
            pub fn cells(self) -> Vec<Cell> {
                vec![$(self.$field,)*]
            }
        }
    };
}

table! {
    /// One TCP connection: Zeek's conn.log, then osiscope's own columns.
    ConnRow, CONN {
        ts: "ts", Float, "First packet, epoch seconds";
        uid: "uid", Str, "The connection's id, shared by its rows in every table";
        orig_h: "id.orig_h", Str, "Client address (the side that sent the SYN)";
        orig_p: "id.orig_p", Int, "Client port";
        resp_h: "id.resp_h", Str, "Server address";
        resp_p: "id.resp_p", Int, "Server port";
        proto: "proto", Str, "Always tcp";
        service: "service", Str, "Protocols found, by Zeek's names: ssl, http, websocket (comma-separated, lowest first); null when none";
        duration: "duration", Float, "Seconds from the first packet to the last";
        orig_bytes: "orig_bytes", Int, "Client payload bytes by sequence numbers (bytes not captured included)";
        resp_bytes: "resp_bytes", Int, "Server payload bytes by sequence numbers";
        conn_state: "conn_state", Str, "Zeek's state code: S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH";
        missed_bytes: "missed_bytes", Int, "Bytes in gaps of the reassembled streams (never seen)";
        history: "history", Str, "Zeek's history letters (uppercase client, lowercase server): S H A D F R Q T W G";
        orig_pkts: "orig_pkts", Int, "Client packets";
        orig_ip_bytes: "orig_ip_bytes", Int, "Client IP bytes (headers included)";
        resp_pkts: "resp_pkts", Int, "Server packets";
        resp_ip_bytes: "resp_ip_bytes", Int, "Server IP bytes";
        community_id: "community_id", Str, "Community ID v1 (seed 0) of the 5-tuple, as Zeek, Suricata and Arkime write it";
        file: "file", Str, "The capture's name (the partition name)";
        connection: "connection", Int, "Connection number in the capture, as tshark's tcp.stream";
        first_frame: "first_frame", Int, "Frame number of the first packet";
        last_frame: "last_frame", Int, "Frame number of the last packet";
        syn_frame: "syn_frame", Int, "Frame of the SYN";
        synack_frame: "synack_frame", Int, "Frame of the SYN-ACK";
        ack_frame: "ack_frame", Int, "Frame of the ACK that completed the handshake";
        irtt: "irtt", Float, "Seconds from SYN to the handshake's ACK (Wireshark's iRTT)";
        roles_guessed: "roles_guessed", Bool, "No handshake showed who opened the connection: the server is the lower port";
        state: "state", Str, "refused, unanswered, open, half-closed, closed or reset";
        closed_by: "closed_by", Str, "fin, rst or null";
        anomalies: "anomalies", List, "TCP anomalies as kind:count (retransmission:2)";
        app_protocol: "app_protocol", Str, "Highest protocol decoded: tls, http, websocket, engine.io, socket.io";
        tls_version: "tls_version", Str, "TLS version agreed";
        tls_sni: "tls_sni", Str, "Server name the client asked for";
        tls_alpn: "tls_alpn", Str, "Application protocol agreed by ALPN";
        tls_cipher: "tls_cipher", Str, "Cipher suite agreed";
        tls_decrypted: "tls_decrypted", Bool, "The key log opened the records";
        tcp_rtt_p50_to_server: "tcp_rtt_p50_to_server", Float, "Median seconds from client data to the server's ACK";
        tcp_rtt_p50_to_client: "tcp_rtt_p50_to_client", Float, "Median seconds from server data to the client's ACK";
        app_problems: "app_problems", Int, "What the decoders gave up on or could not finish";
    }
}

table! {
    /// One WebSocket handshake and its close: Zeek's websocket.log, then more.
    WebSocketRow, WEBSOCKET {
        ts: "ts", Float, "The upgrade's answer, epoch seconds";
        uid: "uid", Str, "The connection";
        orig_h: "id.orig_h", Str, "Client address";
        orig_p: "id.orig_p", Int, "Client port";
        resp_h: "id.resp_h", Str, "Server address";
        resp_p: "id.resp_p", Int, "Server port";
        host: "host", Str, "Host header of the upgrade request";
        uri: "uri", Str, "Request target";
        user_agent: "user_agent", Str, "User-Agent header";
        subprotocol: "subprotocol", Str, "Sec-WebSocket-Protocol the server chose";
        client_protocols: "client_protocols", List, "Sec-WebSocket-Protocol values the client offered";
        server_extensions: "server_extensions", List, "Sec-WebSocket-Extensions the server answered";
        client_extensions: "client_extensions", List, "Sec-WebSocket-Extensions the client offered";
        file: "file", Str, "The capture";
        connection: "connection", Int, "Connection number (tcp.stream)";
        request_frame: "request_frame", Int, "Frame that completed the upgrade request";
        response_frame: "response_frame", Int, "Frame that completed the answer";
        status_code: "status_code", Int, "The answer's status (101 when accepted)";
        origin: "origin", Str, "Origin header";
        key: "key", Str, "Sec-WebSocket-Key";
        accept: "accept", Str, "Sec-WebSocket-Accept";
        accept_valid: "accept_valid", Bool, "The accept value is the one the key calls for (RFC 6455 §4.2.2)";
        established: "established", Bool, "The connection switched to WebSocket";
        permessage_deflate: "permessage_deflate", Bool, "permessage-deflate was agreed";
        messages: "messages", Int, "Data messages, both sides";
        frames: "frames", Int, "Frames, both sides, control frames included";
        close_code: "close_code", Int, "Status code of the first close frame";
        close_reason: "close_reason", Str, "Its reason";
        close_initiator: "close_initiator", Str, "Who closed first: client or server";
        problems: "problems", List, "What was wrong with the handshake: rejected, missing_accept, wrong_accept, …";
    }
}

table! {
    /// One WebSocket data message or control frame.
    WsMessageRow, WS_MESSAGES {
        ts: "ts", Float, "The frame that completed it, epoch seconds";
        uid: "uid", Str, "The connection";
        file: "file", Str, "The capture";
        connection: "connection", Int, "Connection number (tcp.stream)";
        first_frame: "first_frame", Int, "Frame that delivered its first byte";
        frame: "frame", Int, "Frame that completed it";
        is_orig: "is_orig", Bool, "Sent by the client (Zeek's is_orig)";
        kind: "type", Str, "text, binary, ping, pong or close";
        opcode: "opcode", Int, "RFC 6455 opcode: 1 text, 2 binary, 8 close, 9 ping, 10 pong";
        fragments: "fragments", Int, "WebSocket frames of the message";
        wire_bytes: "wire_bytes", Int, "Payload bytes on the wire (compressed when compressed)";
        length: "length", Int, "Payload bytes after permessage-deflate";
        compressed: "compressed", Bool, "Sent compressed (RSV1)";
        text: "text", Str, "A text message, or a control frame's printable payload, up to 1 MiB";
        data_b64: "data_b64", Str, "A binary message, base64, up to 1 MiB";
        truncated: "truncated", Bool, "text or data_b64 holds less than the whole message";
        close_code: "close_code", Int, "A close frame's status code";
        error: "error", Str, "Why the message could not be fully decoded";
        reply_to_frame: "reply_to_frame", Int, "A pong or close answering: the frame of the ping or close it answers";
        reply_to: "reply_to", Str, "What it answers, in a few words (ping \"hb\", close 1000)";
        reply_seconds: "reply_seconds", Float, "Seconds since that frame";
        reply_network: "reply_network", Float, "Of which the network's round trip";
        reply_think: "reply_think", Float, "Of which the replier's own time";
    }
}

table! {
    /// One Socket.IO packet or Engine.IO packet.
    SocketIoRow, SOCKETIO_EVENTS {
        ts: "ts", Float, "The frame that completed it, epoch seconds";
        uid: "uid", Str, "The connection";
        file: "file", Str, "The capture";
        connection: "connection", Int, "Connection number (tcp.stream)";
        frame: "frame", Int, "Frame that carried the packet";
        complete_frame: "complete_frame", Int, "Frame of its last binary attachment (frame without any)";
        is_orig: "is_orig", Bool, "Sent by the client";
        transport: "transport", Str, "websocket or polling";
        protocol: "protocol", Str, "socket.io or engine.io";
        kind: "type", Str, "Socket.IO: CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR, BINARY_EVENT, BINARY_ACK; Engine.IO: open, close, ping, pong, upgrade, noop, invalid";
        namespace: "namespace", Str, "Socket.IO namespace";
        event: "event", Str, "Event name (socket.emit's first argument)";
        ack_id: "ack_id", Int, "Ack id: the sender waits for an ack with it";
        args: "args", Str, "Arguments as JSON (an ACK's values; a CONNECT's payload)";
        attachments: "attachments", Int, "Binary attachments";
        sid: "sid", Str, "Engine.IO open: the session id";
        warning: "warning", Str, "Why the packet is suspect";
        reply_to_frame: "reply_to_frame", Int, "An ack or pong: the frame of what it answers";
        reply_to: "reply_to", Str, "What it answers, in a few words (\"save\" #3, ping)";
        reply_seconds: "reply_seconds", Float, "Seconds since that frame";
        reply_network: "reply_network", Float, "Of which the network's round trip";
        reply_think: "reply_think", Float, "Of which the replier's own time";
        late: "late", Bool, "A pong later than the announced ping timeout";
    }
}

table! {
    /// One HTTP request and its response: Zeek's http.log, then more.
    HttpRow, HTTP {
        ts: "ts", Float, "The frame that completed the request, epoch seconds";
        uid: "uid", Str, "The connection";
        orig_h: "id.orig_h", Str, "Client address";
        orig_p: "id.orig_p", Int, "Client port";
        resp_h: "id.resp_h", Str, "Server address";
        resp_p: "id.resp_p", Int, "Server port";
        trans_depth: "trans_depth", Int, "The request's place on the connection, from 1";
        method: "method", Str, "Request method";
        host: "host", Str, "Host header";
        uri: "uri", Str, "Request target";
        referrer: "referrer", Str, "Referer header";
        version: "version", Str, "HTTP version: 1.0 or 1.1";
        user_agent: "user_agent", Str, "User-Agent header";
        origin: "origin", Str, "Origin header";
        request_body_len: "request_body_len", Int, "Request body bytes";
        response_body_len: "response_body_len", Int, "Response body bytes";
        status_code: "status_code", Int, "Final status code";
        status_msg: "status_msg", Str, "Its reason phrase";
        info_code: "info_code", Int, "A 1xx status before the final one";
        info_msg: "info_msg", Str, "Its reason phrase";
        file: "file", Str, "The capture";
        connection: "connection", Int, "Connection number (tcp.stream)";
        request_frame: "request_frame", Int, "Frame that completed the request (tshark's http.request_in)";
        response_frame: "response_frame", Int, "Frame that completed the response";
        upgrade: "upgrade", Str, "Upgrade header of the request (websocket)";
        reply_seconds: "reply_seconds", Float, "Seconds from request to response (tshark's http.time)";
        reply_network: "reply_network", Float, "Of which the network's round trip";
        reply_think: "reply_think", Float, "Of which the server's own time";
    }
}

/// The tables, by the name of their directory.
pub static TABLES: &[(&str, &[Col])] = &[
    ("conn", CONN),
    ("websocket", WEBSOCKET),
    ("ws_messages", WS_MESSAGES),
    ("socketio_events", SOCKETIO_EVENTS),
    ("http", HTTP),
];
