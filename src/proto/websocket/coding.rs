//! The vocabulary of RFC 6455 frames: opcodes and close codes with their
//! names, the header's limits, and an encoder for building test streams.

use super::mask::apply_mask;

/// Largest payload of a control frame (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: u64 = 125;
/// Longest frame header: 2 bytes, 8 of extended length, 4 of mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// Opcode of a continuation frame.
pub const OP_CONTINUATION: u8 = 0;
/// Opcode of a text frame.
pub const OP_TEXT: u8 = 1;
/// Opcode of a binary frame.
pub const OP_BINARY: u8 = 2;
/// Opcode of a close frame.
pub const OP_CLOSE: u8 = 8;
/// Opcode of a ping frame.
pub const OP_PING: u8 = 9;
/// Opcode of a pong frame.
pub const OP_PONG: u8 = 10;

/// The opcode's name as RFC 6455 gives it ("reserved" for 3–7 and 11–15).
pub fn opcode_name(op: u8) -> &'static str {
    match op {
        OP_CONTINUATION => "continuation",
        OP_TEXT => "text",
        OP_BINARY => "binary",
        OP_CLOSE => "close",
        OP_PING => "ping",
        OP_PONG => "pong",
        _ => "reserved",
    }
}

/// Whether a close status code may appear on the wire (RFC 6455 §7.4; 1012–1014 as registered
/// since).
pub(super) fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The RFC 6455 §7.4.1 name of a close status code.
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

/// One frame with the shortest length encoding, masked with `mask` if given:
/// how tests, benchmarks and fuzz seeds build WebSocket streams.
pub fn encode_frame(
    fin: bool,
    rsv1: bool,
    opcode: u8,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) -> Vec<u8> {
    let mut v = vec![(u8::from(fin) << 7) | (u8::from(rsv1) << 6) | opcode];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => v.push(m | n as u8),
        n @ 126..=0xffff => {
            v.push(m | 126);
            v.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            v.push(m | 127);
            v.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let mut body = payload.to_vec();
    if let Some(k) = mask {
        v.extend_from_slice(&k);
        apply_mask(&mut body, k, 0);
    }
    v.extend_from_slice(&body);
    v
}
