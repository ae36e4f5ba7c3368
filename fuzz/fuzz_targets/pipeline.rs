//! The whole program on a capture: reading, decoding, TCP tracking and
//! reassembly, HTTP, WebSocket, Socket.IO and every view, with the output
//! thrown away. Views are set up as `src/main.rs` sets them up.
//!
//! The input is a capture file; its last byte (packet data in any capture
//! worth reading) picks colour, `--brief`, live mode, a small connection
//! table and `--assume-websocket`, so those paths are reached without
//! breaking the capture format.

#![no_main]

use std::io::{Cursor, sink};

use libfuzzer_sys::fuzz_target;
use osiscope::proto::Protocol;
use osiscope::run::{self, RunOptions};
use osiscope::capture::CaptureReader;
use osiscope::report::Format;
use osiscope::report::walk::WalkFormat;
use osiscope::report::View;
use osiscope::report::flows::FlowsView;
use osiscope::report::layers::LayersView;
use osiscope::report::packets::PacketsView;
use osiscope::report::walk::WalkView;

/// Ports the test captures serve WebSocket on, for `--assume-websocket`.
const WS_PORTS: [u16; 6] = [80, 3000, 8000, 8080, 8765, 8804];

/// Runs the capture through one view, as `run::capture` does with one thread.
fn run(data: &[u8], view: &mut dyn View, opts: RunOptions) {
    let Ok(mut reader) = CaptureReader::from_reader(Box::new(Cursor::new(data.to_vec()))) else {
        return;
    };
    // A capture error ends the run; what came before was shown.
    if let Err(run::RunError::Output(e)) = run::source(&mut reader, view, opts) {
        panic!("writing to a sink: {e}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(&knobs) = data.last() else { return };
    let color = knobs & 1 != 0;
    let brief = knobs & 2 != 0;
    let live = knobs & 4 != 0;
    let base = RunOptions {
        max_connections: (knobs & 8 != 0).then_some(2),
        decode_as: if knobs & 16 != 0 {
            WS_PORTS.iter().map(|p| (*p, Protocol::WebSocket)).collect()
        } else {
            Vec::new()
        },
        live,
        ..RunOptions::default()
    };

    for format in [Format::Json, Format::Table] {
        let mut v = PacketsView::new(sink(), format, color);
        if live {
            v = v.live();
        }
        run(data, &mut v, base.clone());

        let mut v = FlowsView::new(sink(), format);
        if live {
            v = v.live();
        }
        run(data, &mut v, base.clone());

        let mut v = LayersView::new(sink(), format, color, Vec::new());
        let limits = RunOptions {
            last_frame: v.last_wanted(),
            ..base.clone()
        };
        run(data, &mut v, limits);
    }

    for format in [
        WalkFormat::Text,
        WalkFormat::Json,
        WalkFormat::Mermaid,
        WalkFormat::Svg,
    ] {
        let mut v = WalkView::new(sink(), format, color, brief);
        if live {
            v = v.live();
        }
        let limits = RunOptions {
            detail: true,
            ..base.clone()
        };
        run(data, &mut v, limits);
    }
});
