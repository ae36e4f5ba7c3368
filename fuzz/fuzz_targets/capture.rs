//! pcap and pcapng byte streams, read frame by frame to the end: the reader
//! sees untrusted lengths before anything else does.

#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use osiscope::capture::CaptureReader;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = CaptureReader::from_reader(Box::new(Cursor::new(data.to_vec()))) else {
        return;
    };
    let _ = reader.info().interfaces.len();
    let mut last = 0u64;
    loop {
        match reader.next_frame() {
            Some(Ok(frame)) => {
                // Frame numbers count every record, from 1, without holes.
                assert_eq!(frame.number, last + 1);
                last = frame.number;
                // A record's bytes come from the input, after its start.
                let end = frame.offset + frame.data.len() as u64;
                assert!(end <= data.len() as u64, "frame {last} ends past the input");
                let _ = frame.ts.to_string();
            }
            Some(Err(e)) => {
                let _ = e.to_string();
                // Documented: after an error, the reader returns None.
                assert!(reader.next_frame().is_none(), "a frame after an error");
                break;
            }
            None => break,
        }
    }
});
