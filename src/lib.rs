//! osiscope: explains a packet capture layer by layer, along the OSI model.
//!
//! The pipeline runs one way: [`capture`] (where frames come from) →
//! [`decode`] (layers 2–4 of one packet) → [`flow`] (TCP connections and
//! their reassembled streams) → [`proto`] (HTTP, WebSocket, Socket.IO over
//! those streams) → [`report`] (views). The driver in
//! [`analyze`] wires them together; [`cli`] holds the command line.

pub mod analyze;
pub mod capture;
pub mod cli;
pub mod decode;
pub mod flow;
pub mod limit;
pub mod pipeline;
pub mod progress;
pub mod proto;
pub mod report;
pub mod sample;

/// `osiscope --version`: the package version and, built from a checkout, the
/// commit and its date (see build.rs).
pub const VERSION: &str = env!("OSISCOPE_VERSION");
