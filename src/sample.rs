//! The captures built into the binary, so `osiscope demo` (and `walk` with no
//! file) teaches something before a user has a capture of their own. Both
//! are real loopback traffic from `captures/make-captures.sh`.

use std::io::Cursor;

use crate::capture::{CaptureError, CaptureReader};

/// The captures built into the binary.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SampleName {
    /// A WebSocket echo session: handshake, upgrade, text, binary, ping, close (22 packets)
    Websocket,
    /// A Socket.IO session: long-polling, then the upgrade to WebSocket, events and acks (5 connections)
    Socketio,
}

pub struct Sample {
    /// The file's name in `captures/`.
    pub file: &'static str,
    /// What it holds, in a few words.
    pub about: &'static str,
    pub bytes: &'static [u8],
}

pub const WEBSOCKET: Sample = Sample {
    file: "ws-echo.pcap",
    about: "a WebSocket echo session recorded on loopback",
    bytes: include_bytes!("../captures/ws-echo.pcap"),
};

pub const SOCKETIO: Sample = Sample {
    file: "socketio-upgrade.pcap",
    about: "a Socket.IO session recorded on loopback (long-polling, then the upgrade to WebSocket)",
    bytes: include_bytes!("../captures/socketio-upgrade.pcap"),
};

impl Sample {
    pub fn get(name: SampleName) -> &'static Sample {
        match name {
            SampleName::Websocket => &WEBSOCKET,
            SampleName::Socketio => &SOCKETIO,
        }
    }

    pub fn open(&self) -> Result<CaptureReader, CaptureError> {
        CaptureReader::from_reader(Box::new(Cursor::new(self.bytes)))
    }

    /// The first line printed: what this is and how to go on with one's own capture.
    pub fn banner(&self, command: &str) -> String {
        format!(
            "osiscope: bundled sample {}, {}. Your own capture: osiscope {command} FILE.pcap \
             (record one: sudo osiscope live -w FILE.pcap)",
            self.file, self.about
        )
    }
}
