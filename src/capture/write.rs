//! Writing frames back out as a pcap file (`packets -w`): the frames a filter
//! kept, byte for byte with their timestamps, as `tcpdump -r IN -w OUT` does.
//!
//! A pcap file has one link type. It is taken from the first frame written;
//! frames of another link type (possible in a pcapng with several interfaces)
//! are counted and left out rather than written with the wrong header.
//! Timestamps are written with nanosecond resolution; a time before 1970 or
//! after 2106 (outside pcap's unsigned 32-bit seconds) is clamped.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapTsResolution, PcapWriter};
use pcap_file::{DataLink, Endianness};

use super::Frame;

/// Snapshot length written to the header: the largest frame the readers accept.
const SNAPLEN: u32 = super::MAX_RECORD_LEN;

/// Where kept frames go.
pub struct PcapOut {
    /// The file before its header (written with the first frame's link type).
    file: Option<BufWriter<File>>,
    writer: Option<PcapWriter<BufWriter<File>>>,
    linktype: u32,
    /// Link type of the header when no frame is written: the input's.
    input_linktype: u32,
    /// Frames written.
    pub written: u64,
    /// Frames left out because their link type differs from the file's.
    pub other_linktype: u64,
}

impl std::fmt::Debug for PcapOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapOut")
            .field("linktype", &self.linktype)
            .field("written", &self.written)
            .field("other_linktype", &self.other_linktype)
            .finish()
    }
}

impl PcapOut {
    /// Creates (or truncates) the file now, so a path that cannot be written
    /// is reported before any reading.
    pub fn create(path: &Path) -> io::Result<Self> {
        let f = File::create(path)?;
        Ok(PcapOut {
            file: Some(BufWriter::with_capacity(64 * 1024, f)),
            writer: None,
            linktype: 0,
            input_linktype: super::linktype::ETHERNET,
            written: 0,
            other_linktype: 0,
        })
    }

    fn header(linktype: u32) -> PcapHeader {
        PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen: SNAPLEN,
            datalink: DataLink::from(linktype),
            ts_resolution: PcapTsResolution::NanoSecond,
            endianness: Endianness::native(),
        }
    }

    fn start(&mut self, linktype: u32) -> io::Result<()> {
        if let Some(f) = self.file.take() {
            self.linktype = linktype;
            let w = PcapWriter::with_header(f, Self::header(linktype)).map_err(io::Error::other)?;
            self.writer = Some(w);
        }
        Ok(())
    }

    pub fn write(&mut self, f: &Frame<'_>) -> io::Result<()> {
        self.start(f.linktype)?;
        if f.linktype != self.linktype {
            self.other_linktype += 1;
            return Ok(());
        }
        let secs = f.ts.secs.clamp(0, u32::MAX as i64) as u64;
        let ts = Duration::new(secs, f.ts.nanos.min(999_999_999));
        // A wire length shorter than what was captured is a broken record;
        // pcap readers expect orig_len >= incl_len.
        let orig = f.orig_len.max(f.data.len() as u32);
        let p = PcapPacket::new(ts, orig, f.data).map_err(io::Error::other)?;
        if let Some(w) = &mut self.writer {
            w.write_packet(&p).map_err(io::Error::other)?;
            self.written += 1;
        }
        Ok(())
    }

    /// The input's link type, for the header of a file no frame went into.
    pub fn input_linktype(&mut self, linktype: u32) {
        self.input_linktype = linktype;
    }

    /// Completes the file. With no frame written it still gets a header, with
    /// the input's link type (else Ethernet), so it is a valid, empty capture.
    pub fn finish(&mut self) -> io::Result<()> {
        self.start(self.input_linktype)?;
        match self.writer.take() {
            Some(w) => w.into_inner().flush(),
            None => Ok(()),
        }
    }
}
