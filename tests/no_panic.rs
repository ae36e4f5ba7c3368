//! Hostile bytes never panic: every capture in captures/ and tests/corpus/,
//! cut at many lengths and with bytes flipped (deterministic, synthetic
//! damage), goes through the reader, the decoder, the connection tracker, the
//! HTTP/WebSocket/Socket.IO decoders, every view and the export view, in
//! process.

use std::io::Cursor;
use std::path::Path;

use osiscope::capture::CaptureReader;
use osiscope::export::view::ExportView;
use osiscope::report::Format;
use osiscope::report::flows::FlowsView;
use osiscope::report::layers::LayersView;
use osiscope::report::packets::PacketsView;
use osiscope::report::walk::WalkFormat;
use osiscope::report::walk::WalkView;
use osiscope::run::{RunError, RunOptions, source as run_source};

/// xorshift64*: a fixed sequence, so a failure is reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn run_all_views(bytes: &[u8]) {
    for format in [Format::Table, Format::Json] {
        let Ok(mut r) = CaptureReader::from_reader(Box::new(Cursor::new(bytes.to_vec()))) else {
            return;
        };
        let mut v = PacketsView::new(std::io::sink(), format, true);
        match run_source(&mut r, &mut v, RunOptions::default()) {
            Ok(()) | Err(RunError::Capture(_)) => {}
            Err(RunError::Output(e)) => panic!("sink failed: {e}"),
            Err(RunError::Nothing(w)) => panic!("no filter was given, yet: {w}"),
        }
        let Ok(mut r) = CaptureReader::from_reader(Box::new(Cursor::new(bytes.to_vec()))) else {
            return;
        };
        let mut v = LayersView::new(std::io::sink(), format, format == Format::Table, Vec::new());
        // As `layers` runs: the application units opened, with their places.
        let units = RunOptions {
            units: true,
            ..RunOptions::default()
        };
        let _ = run_source(&mut r, &mut v, units);
    }
    // walk and flows run the HTTP, WebSocket and Socket.IO decoders too.
    for wf in [WalkFormat::Text, WalkFormat::Json, WalkFormat::Mermaid] {
        let Ok(mut r) = CaptureReader::from_reader(Box::new(Cursor::new(bytes.to_vec()))) else {
            return;
        };
        let mut v = WalkView::new(std::io::sink(), wf, true, false);
        let _ = run_source(&mut r, &mut v, RunOptions::default());
    }
    let Ok(mut r) = CaptureReader::from_reader(Box::new(Cursor::new(bytes.to_vec()))) else {
        return;
    };
    let mut v = FlowsView::new(std::io::sink(), Format::Json);
    let _ = run_source(&mut r, &mut v, RunOptions::default());
    // export's rows, made as `export` makes them (whole messages); no files.
    let Ok(mut r) = CaptureReader::from_reader(Box::new(Cursor::new(bytes.to_vec()))) else {
        return;
    };
    let mut v = ExportView::new("damaged".into(), None, None);
    let whole = RunOptions {
        whole_texts: true,
        texts: true,
        ..RunOptions::default()
    };
    let _ = run_source(&mut r, &mut v, whole);
    let _ = v.close();
}

fn files() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut dirs = vec![root.join("captures"), root.join("tests/corpus")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("dir").flatten() {
            let p = e.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_dir() {
                if name != "gen" && name != "expected" {
                    dirs.push(p);
                }
            } else if [".pcap", ".pcapng", ".cap", ".bin"]
                .iter()
                .any(|x| name.ends_with(x))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn damaged_captures_never_panic() {
    let mut rng = Rng(0x0515_c0de);
    let files = files();
    assert!(files.len() > 180, "{} files", files.len());
    let mut runs = 0;
    for f in &files {
        let orig = std::fs::read(f).expect("read");
        run_all_views(&orig);
        // Cuts at random lengths.
        for _ in 0..12 {
            let n = rng.below(orig.len() + 1);
            run_all_views(&orig[..n]);
            runs += 1;
        }
        // Random byte changes, more of them past the file header.
        for _ in 0..16 {
            let mut b = orig.clone();
            for _ in 0..=rng.below(8) {
                if b.is_empty() {
                    break;
                }
                let i = if rng.below(4) == 0 {
                    rng.below(b.len().min(64))
                } else {
                    rng.below(b.len())
                };
                b[i] = match rng.below(3) {
                    0 => rng.next() as u8,
                    1 => b[i] ^ (1 << rng.below(8)),
                    _ => [0, 0xff, 0x7f, 0x80][rng.below(4)],
                };
            }
            run_all_views(&b);
            runs += 1;
        }
    }
    assert!(runs > 5000);
}
