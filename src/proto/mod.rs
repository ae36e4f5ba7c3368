//! Layers 5–7 over reassembled TCP streams: HTTP/1.x, the WebSocket upgrade,
//! WebSocket frames and messages (with permessage-deflate), and Engine.IO /
//! Socket.IO. [`app`] runs them for one connection; the others are pure,
//! incremental decoders that know nothing of TCP.

pub mod app;
pub mod engineio;
pub mod http;
pub mod socketio;
pub mod websocket;
