//! WebSocket (RFC 6455) with permessage-deflate (RFC 7692), in the shape of
//! tungstenite's `protocol/frame`:
//!
//! - [`coding`]: opcodes and close codes with their names, header limits;
//! - [`mask`]: masking and unmasking;
//! - [`utf8`]: streaming UTF-8 validation of text messages;
//! - [`deflate`]: the negotiated parameters and one direction's inflater;
//! - [`parser`]: [`WsParser`], the incremental parser of one direction, and
//!   what it validates;
//! - [`handshake`]: the opening handshake over HTTP (the accept key, the
//!   extensions and subprotocol agreed);
//! - [`record`]: what the analyzer reports and records;
//! - [`analyzer`]: both directions of a connection as an analyzer of the
//!   protocol stack, handing messages to the protocol they carry.

pub mod analyzer;
pub mod coding;
pub mod deflate;
pub mod handshake;
pub mod mask;
pub mod parser;
pub mod record;
mod utf8;

pub use coding::{
    MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG,
    OP_TEXT, close_name, encode_frame, opcode_name,
};
pub use deflate::{
    DEFAULT_WINDOW_BITS, DeflateParams, INFLATE_CHUNK, MAX_INFLATE, MIN_WINDOW_BITS,
};
pub use handshake::accept_key;
pub use mask::apply_mask;
pub use parser::{
    FrameInfo, MAX_FRAME_KEEP, MAX_MESSAGE_KEEP, MessageInfo, Side, UNMASK_CHUNK, WsEvent, WsParser,
};

#[cfg(test)]
mod tests;
