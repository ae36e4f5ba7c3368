//! `osiscope export`: what the views find, as tables other tools read
//! (Zeek-style logs as JSON Lines or Parquet) and as a HAR file.
//!
//! - [`table`]: a table's schema and its two writers;
//! - [`tables`]: the five tables (`conn`, `websocket`, `ws_messages`,
//!   `socketio_events`, `http`), column by column;
//! - [`view`]: the view that makes their rows from one capture;
//! - [`har`]: the HAR 1.2 writer;
//! - [`run`]: many captures on many cores, one per worker.

pub mod har;
pub mod run;
pub mod table;
pub mod tables;
pub mod view;
