//! Layers 5–7 over reassembled TCP streams: an analyzer tree per connection.
//!
//! ```text
//! TCP stream ─► HTTP/1.1 ──101──► WebSocket ──messages──► Engine.IO ─► Socket.IO
//!                    └──polling bodies────────────────────► Engine.IO
//! ```
//!
//! [`stack`] holds the analyzer traits, the context they work in and the
//! per-connection [`stack::Stack`]; [`registry`] chooses which analyzer reads
//! what; [`bytes`] lists the parts the bytes of a connection are booked
//! under. Each protocol is a module with a pure, incremental parser that
//! knows nothing of TCP (push bytes in, items out, bounded buffers) and an
//! `analyzer` that runs it over a connection: [`http`], [`websocket`],
//! [`engineio`] (with [`socketio`] inside it).
//!
//! # Adding a protocol
//!
//! Socket.IO is the worked example: it rides in Engine.IO, which rides in
//! WebSocket messages and HTTP long-polling bodies.
//!
//! 1. The parser: `proto/engineio/mod.rs` and `proto/socketio.rs` decode one
//!    packet from bytes, with every limit a named constant.
//! 2. The analyzer: `proto/engineio/analyzer.rs` implements
//!    [`stack::CarriedAnalyzer`] (a protocol reached through a stream
//!    implements [`stack::StreamAnalyzer`] instead). It defines its event
//!    type (`EngineIoEvent`) and its part of the connection record
//!    (`SocketIoSummary`), books its bytes under its own [`bytes::Part`],
//!    and reports problems through its [`stack::Cx`].
//! 3. Registration: a variant of [`stack::AppEvent`] for its events, a field
//!    of [`stack::AppSummary`] for its record, its part in [`bytes::PARTS`],
//!    and the edge that reaches it in [`registry`] (`over_http`: by URI).
//! 4. The narration: `report/walk/socketio.rs` tells its events as steps of
//!    the walkthrough and as one-line summaries (packets, JSON), and its
//!    header line. The views match on [`stack::AppEvent`], so the compiler
//!    names every place left to fill.

pub mod bytes;
pub mod engineio;
pub mod http;
pub mod registry;
pub mod socketio;
pub mod stack;
pub mod websocket;
