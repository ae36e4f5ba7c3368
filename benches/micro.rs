//! Micro-benchmarks of the hot paths, so a regression shows up as a number:
//! capture reading and packet decoding, TCP reassembly, WebSocket framing,
//! unmasking and inflate, and two whole runs (flows, packets JSON) on the
//! synthetic capture in tests/synthetic. Run: `cargo bench --bench micro`.
//! The side-by-side comparison with tcpdump and tshark is benches/bench.sh.

use std::hint::black_box;
use std::io::Cursor;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flate2::{Compress, Compression, FlushCompress};

use osiscope::capture::CaptureReader;
use osiscope::decode::Packet;
use osiscope::flow::reassembly::{Chunk, Reassembler};
use osiscope::proto::websocket::{
    DeflateParams, Side, WsEvent, WsParser, apply_mask, encode_frame,
};
use osiscope::report::Format;
use osiscope::report::flows::FlowsView;
use osiscope::report::packets::PacketsView;
use osiscope::run::{RunOptions, source as run_source};

const MIX: &[u8] = include_bytes!("../tests/synthetic/ws-mix-1m.pcap");

fn reader() -> CaptureReader {
    CaptureReader::from_reader(Box::new(Cursor::new(MIX))).expect("synthetic capture")
}

fn capture(c: &mut Criterion) {
    let mut g = c.benchmark_group("capture");
    g.throughput(Throughput::Bytes(MIX.len() as u64));
    g.bench_function("read and decode every packet", |b| {
        b.iter(|| {
            let mut r = reader();
            let mut n = 0usize;
            while let Some(Ok(f)) = r.next_frame() {
                n += Packet::decode(&f).payload().len();
            }
            black_box(n)
        })
    });
    g.bench_function("flows, one thread", |b| {
        b.iter(|| {
            let mut v = FlowsView::new(std::io::sink(), Format::Json);
            let _ = run_source(&mut reader(), &mut v, RunOptions::default());
        })
    });
    g.bench_function("packets json, one thread", |b| {
        b.iter(|| {
            let mut v = PacketsView::new(std::io::sink(), Format::Json, false);
            let _ = run_source(&mut reader(), &mut v, RunOptions::default());
        })
    });
    g.finish();
}

fn reassembly(c: &mut Criterion) {
    const SEG: usize = 1448;
    const N: usize = 1000;
    let data = vec![0x5au8; SEG];
    let mut g = c.benchmark_group("reassembly");
    g.throughput(Throughput::Bytes((SEG * N) as u64));
    g.bench_function("in order", |b| {
        b.iter(|| {
            let mut r = Reassembler::new(1000, 1 << 20).with_history(8192);
            let mut got = 0usize;
            for i in 0..N {
                let seq = 1001u32.wrapping_add((i * SEG) as u32);
                r.push(seq, &data, &mut |c| {
                    if let Chunk::Data { bytes, .. } = c {
                        got += bytes.len();
                    }
                });
            }
            black_box(got)
        })
    });
    g.bench_function("pairs swapped", |b| {
        b.iter(|| {
            let mut r = Reassembler::new(1000, 1 << 20).with_history(8192);
            let mut got = 0usize;
            for i in 0..N {
                let j = i ^ 1;
                let seq = 1001u32.wrapping_add((j * SEG) as u32);
                r.push(seq, &data, &mut |c| {
                    if let Chunk::Data { bytes, .. } = c {
                        got += bytes.len();
                    }
                });
            }
            black_box(got)
        })
    });
    g.finish();
}

/// One final frame.
fn frame(opcode: u8, rsv1: bool, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    encode_frame(true, rsv1, opcode, payload, mask)
}

fn websocket(c: &mut Criterion) {
    let text: Vec<u8> = "osiscope ✓ websocket frame · "
        .repeat(40)
        .into_bytes()
        .into_iter()
        .take(1024)
        .collect();
    let text = String::from_utf8_lossy(&text).into_owned().into_bytes();
    let stream: Vec<u8> = (0..1000u32)
        .flat_map(|i| frame(1, false, &text, Some(i.to_be_bytes())))
        .collect();
    let mut g = c.benchmark_group("websocket");
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("1000 masked 1 KiB text frames, in 1448-byte pieces", |b| {
        b.iter(|| {
            let mut p = WsParser::new(Side::Client, None);
            let mut ev: Vec<WsEvent> = Vec::new();
            for (i, piece) in stream.chunks(1448).enumerate() {
                p.push(piece, i as u64, &mut ev);
                ev.clear();
            }
            black_box(p.totals())
        })
    });
    let mut block = vec![0u8; 64 * 1024];
    g.throughput(Throughput::Bytes(block.len() as u64));
    g.bench_function("unmask 64 KiB", |b| {
        b.iter(|| apply_mask(black_box(&mut block), [1, 2, 3, 4], 1))
    });
    // 200 compressed messages of about 4 KiB with context takeover.
    let mut comp = Compress::new(Compression::default(), false);
    let mut compressed = Vec::new();
    let mut plain = 0usize;
    for i in 0..200 {
        let msg = format!(
            "{{\"event\":\"tick\",\"n\":{i},\"data\":\"{}\"}}",
            "x·y ".repeat(800)
        );
        plain += msg.len();
        let mut out = Vec::with_capacity(msg.len() + 64);
        comp.compress_vec(msg.as_bytes(), &mut out, FlushCompress::Sync)
            .expect("deflate");
        out.truncate(out.len().saturating_sub(4));
        compressed.extend(frame(1, true, &out, None));
    }
    g.throughput(Throughput::Bytes(plain as u64));
    g.bench_function("inflate 200 messages (context takeover)", |b| {
        b.iter(|| {
            let mut p = WsParser::new(Side::Server, Some(DeflateParams::default()));
            let mut ev: Vec<WsEvent> = Vec::new();
            p.push(&compressed, 1, &mut ev);
            black_box(ev.len())
        })
    });
    g.finish();
}

criterion_group!(benches, capture, reassembly, websocket);
criterion_main!(benches);
