//! Writing frames back out as a pcap file (`packets -w`): the packets a filter
//! kept, byte for byte with their timestamps, as `tcpdump -r IN -w OUT` does.
//! `-` writes to standard output.
//!
//! Only packets are written: pcapng blocks that are not packets (custom
//! blocks, systemd journal entries) have no place in a pcap file. A pcap file
//! has one link type. It is taken from the first packet written; packets of
//! another link type (possible in a pcapng with several interfaces) are
//! counted and left out rather than written with the wrong header. A packet
//! longer than [`SNAPLEN`] (possible in pcapng, whose blocks may reach
//! 16 MiB) is cut to it, its wire length kept, as a capture with that snap
//! length would have. Timestamps are written with nanosecond resolution; a
//! time before 1970 or after 2106 (outside pcap's unsigned 32-bit seconds) is
//! clamped.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::FrameKind;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapTsResolution, PcapWriter};
use pcap_file::{DataLink, Endianness};

use super::Frame;

/// Snapshot length written to the header: the largest record a pcap reader
/// (libpcap, Wireshark, osiscope) accepts.
pub const SNAPLEN: u32 = super::MAX_RECORD_LEN;

/// Where kept frames go.
pub struct PcapOut {
    /// The file before its header (written with the first packet's link type).
    file: Option<BufWriter<Box<dyn Write + Send>>>,
    writer: Option<PcapWriter<BufWriter<Box<dyn Write + Send>>>>,
    /// Writing to standard output: a closed pipe there ends the run quietly,
    /// as for the other views; a file's errors are always reported.
    stdout: bool,
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
    /// is reported before any reading; `-` is standard output.
    pub fn create(path: &Path) -> io::Result<Self> {
        let stdout = path.as_os_str() == "-";
        let f: Box<dyn Write + Send> = if stdout {
            Box::new(io::stdout())
        } else {
            Box::new(File::create(path)?)
        };
        Ok(PcapOut {
            file: Some(BufWriter::with_capacity(64 * 1024, f)),
            writer: None,
            stdout,
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

    /// An error as the caller reports it: pcap-file's errors carry no kind,
    /// and a file's broken pipe must not pass for a closed standard output.
    fn error(&self, e: impl std::fmt::Display, kind: io::ErrorKind) -> io::Error {
        let kind = if self.stdout {
            kind
        } else {
            io::ErrorKind::Other
        };
        io::Error::new(kind, e.to_string())
    }

    fn start(&mut self, linktype: u32) -> io::Result<()> {
        if let Some(f) = self.file.take() {
            self.linktype = linktype;
            let w = PcapWriter::with_header(f, Self::header(linktype))
                .map_err(|e| self.error(e, io::ErrorKind::BrokenPipe))?;
            self.writer = Some(w);
        }
        Ok(())
    }

    pub fn write(&mut self, f: &Frame<'_>) -> io::Result<()> {
        if f.kind != FrameKind::Packet {
            return Ok(());
        }
        self.start(f.linktype)?;
        if f.linktype != self.linktype {
            self.other_linktype += 1;
            return Ok(());
        }
        let secs = f.ts.secs.clamp(0, u32::MAX as i64) as u64;
        let ts = Duration::new(secs, f.ts.nanos.min(999_999_999));
        let data = f.data.get(..SNAPLEN as usize).unwrap_or(f.data);
        // A wire length shorter than what was captured is a broken record;
        // pcap readers expect orig_len >= incl_len.
        let orig = f
            .orig_len
            .max(u32::try_from(f.data.len()).unwrap_or(u32::MAX));
        let p = PcapPacket::new(ts, orig, data).map_err(|e| self.error(e, io::ErrorKind::Other))?;
        let res = match &mut self.writer {
            Some(w) => w.write_packet(&p).map(|_| ()),
            None => Ok(()),
        };
        res.map_err(|e| self.error(e, io::ErrorKind::BrokenPipe))?;
        self.written += 1;
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
            Some(w) => w.into_inner().flush().map_err(|e| {
                let kind = e.kind();
                self.error(e, kind)
            }),
            None => Ok(()),
        }
    }
}
