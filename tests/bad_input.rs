//! Broken captures get one clear line, exit status 1, and every packet that
//! could be read before the fault. The broken files are made here from a real
//! capture (synthetic damage, labelled as such), so every offset is known.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

const PCAP: &str = "captures/ws-echo.pcap";
const PCAPNG: &str = "captures/ws-echo.pcapng";

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Runs `packets --format json` on bytes given on standard input, under a
/// 256 MiB address-space limit so an allocation sized by a length field fails.
fn run_bytes(bytes: &[u8]) -> (i32, usize, String) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 262144; exec '{}' packets --format json -",
            env!("CARGO_BIN_EXE_osiscope")
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(bytes).ok();
    let out = child.wait_with_output().expect("wait");
    let rows = String::from_utf8_lossy(&out.stdout).lines().count();
    (
        out.status.code().unwrap_or(-1),
        rows,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(common::repo().join(path)).expect("capture")
}

/// Offsets of the first records of a little-endian pcap: (start, caplen).
fn pcap_records(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= b.len() {
        let caplen = le32(b, at + 8) as usize;
        out.push((at, caplen));
        at += 16 + caplen;
    }
    out
}

fn assert_one_line(stderr: &str, what: &str, at: &str) {
    let line = stderr.trim_end();
    assert_eq!(line.lines().count(), 1, "one line expected: {stderr:?}");
    assert!(line.starts_with("osiscope: -: "), "{line}");
    assert!(line.contains(what), "{line:?} should say {what:?}");
    assert!(line.ends_with(at), "{line:?} should end with {at:?}");
    assert!(!line.contains("panicked"), "{line}");
}

#[test]
fn not_a_capture() {
    let (code, rows, err) = run_bytes(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((code, rows), (1, 0));
    assert_one_line(
        &err,
        "not a pcap or pcapng file (starts with 47 45 54 20)",
        "(at byte 0)",
    );
}

#[test]
fn empty_file() {
    let (code, rows, err) = run_bytes(b"");
    assert_eq!((code, rows), (1, 0));
    assert_one_line(&err, "empty file", "(at byte 0)");
}

#[test]
fn cut_inside_the_file_header() {
    let b = read(PCAP);
    let (code, rows, err) = run_bytes(&b[..10]);
    assert_eq!((code, rows), (1, 0));
    assert_one_line(
        &err,
        "file ends inside the pcap file header (10 of 24 bytes)",
        "(at byte 0)",
    );
}

#[test]
fn cut_inside_a_record_header() {
    let b = read(PCAP);
    let recs = pcap_records(&b);
    let (r3, _) = recs[2];
    let (code, rows, err) = run_bytes(&b[..r3 + 7]);
    assert_eq!(
        (code, rows),
        (1, 2),
        "the two whole packets are still printed"
    );
    assert_one_line(
        &err,
        "file ends inside a record header (7 of 16 bytes)",
        &format!("(at byte {r3}, frame 3)"),
    );
}

#[test]
fn cut_inside_packet_data() {
    let b = read(PCAP);
    let recs = pcap_records(&b);
    let (r4, caplen) = recs[3];
    let (code, rows, err) = run_bytes(&b[..r4 + 16 + 20]);
    assert_eq!((code, rows), (1, 3));
    assert_one_line(
        &err,
        &format!("file ends inside a packet: record says {caplen} captured bytes, only 20 present"),
        &format!("(at byte {r4}, frame 4)"),
    );
}

#[test]
fn captured_length_of_4_gib() {
    let mut b = read(PCAP);
    let recs = pcap_records(&b);
    let (r2, _) = recs[1];
    b[r2 + 8..r2 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let (code, rows, err) = run_bytes(&b);
    assert_eq!((code, rows), (1, 1));
    assert_one_line(
        &err,
        "record claims 4294967295 captured bytes, more than the 262144 a packet may have",
        &format!("(at byte {r2}, frame 2)"),
    );
}

/// (offset, type, length) of each pcapng block (little-endian file).
fn pcapng_blocks(b: &[u8]) -> Vec<(usize, u32, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 12 <= b.len() {
        let len = le32(b, at + 4) as usize;
        out.push((at, le32(b, at), len));
        at += len;
    }
    out
}

#[test]
fn pcapng_block_length_that_does_not_fit() {
    let mut b = read(PCAPNG);
    let epbs: Vec<_> = pcapng_blocks(&b).into_iter().filter(|x| x.1 == 6).collect();
    let (at, _, _) = epbs[2];
    b[at + 4..at + 8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let (code, rows, err) = run_bytes(&b);
    assert_eq!((code, rows), (1, 2));
    assert_one_line(
        &err,
        "block claims 4294967280 bytes, more than the 16777216-byte limit",
        &format!("(at byte {at}, frame 3)"),
    );
}

#[test]
fn pcapng_block_length_past_the_end_of_the_file() {
    let mut b = read(PCAPNG);
    let epbs: Vec<_> = pcapng_blocks(&b).into_iter().filter(|x| x.1 == 6).collect();
    let (at, _, _) = *epbs.last().expect("packets");
    b[at + 4..at + 8].copy_from_slice(&(1u32 << 20).to_le_bytes());
    let (code, rows, err) = run_bytes(&b);
    assert_eq!((code, rows), (1, epbs.len() - 1));
    assert_one_line(
        &err,
        &format!(
            "file ends inside a block: header says 1048576 bytes, only {} present",
            b.len() - at
        ),
        &format!("(at byte {at}, frame {})", epbs.len()),
    );
}

#[test]
fn pcapng_trailer_that_disagrees() {
    let mut b = read(PCAPNG);
    let epbs: Vec<_> = pcapng_blocks(&b).into_iter().filter(|x| x.1 == 6).collect();
    let (at, _, len) = epbs[0];
    b[at + len - 4..at + len].copy_from_slice(&12345u32.to_le_bytes());
    let (code, rows, err) = run_bytes(&b);
    assert_eq!((code, rows), (1, 0));
    assert_one_line(
        &err,
        &format!("block total length in header {len} and trailer 12345 don't match"),
        &format!("(at byte {at}, frame 1)"),
    );
}

#[test]
fn pcapng_block_length_not_a_multiple_of_4() {
    let mut b = read(PCAPNG);
    let epbs: Vec<_> = pcapng_blocks(&b).into_iter().filter(|x| x.1 == 6).collect();
    let (at, _, _) = epbs[1];
    b[at + 4..at + 8].copy_from_slice(&14u32.to_le_bytes());
    let (code, rows, err) = run_bytes(&b);
    assert_eq!((code, rows), (1, 1));
    assert_one_line(
        &err,
        "invalid block length 14 in block type 0x6",
        &format!("(at byte {at}, frame 2)"),
    );
}

#[test]
fn missing_file_names_the_file() {
    let out = common::osiscope(&["packets", "no/such/file.pcap"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("osiscope: no/such/file.pcap: cannot open: No such file or directory"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = common::osiscope(&["packets", "--format", "xml", PCAP]);
    assert_eq!(out.status.code(), Some(2));
    let out = common::osiscope(&["layers", PCAP, "--frame", "0"]);
    assert_eq!(out.status.code(), Some(2));
}
