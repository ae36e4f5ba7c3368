//! osiscope: explains a packet capture layer by layer, along the OSI model.
//!
//! The pipeline runs one way: [`capture`] (where frames come from) →
//! [`decode`] (layers 2–4 of one packet) → [`flow`] (TCP connections and
//! their reassembled streams) → [`proto`] (the analyzer tree over each
//! stream: HTTP, WebSocket, Engine.IO/Socket.IO) → [`report`] (views). Each
//! stage imports only from the stages before it. The driver in [`run`]
//! wires them together; [`export`] runs captures through it into tables
//! and HAR files for other tools; [`cli`] holds the command line and builds
//! the options of each stage.

pub mod capture;
pub mod cli;
pub mod decode;
pub mod export;
pub mod flow;
pub mod json;
pub mod latency;
pub mod limit;
pub mod proto;
pub mod report;
pub mod run;
pub mod sample;
pub mod text;

/// `osiscope --version`: the package version and, built from a checkout, the
/// commit and its date (see build.rs).
pub const VERSION: &str = env!("OSISCOPE_VERSION");
