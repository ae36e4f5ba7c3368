//! Layer 1: where frames come from.
//!
//! Reads classic pcap (both byte orders, µs and ns magic, the "modified"
//! Kuznetzov variant) and pcapng (several sections and interfaces, any
//! `if_tsresol`, Enhanced/Simple/obsolete Packet Blocks) as a stream: one
//! record at a time through a bounded window, never the whole file.
//!
//! What is validated: magic numbers, format versions, record and block lengths
//! (against [`MAX_RECORD_LEN`] and [`MAX_BLOCK_LEN`], before anything is
//! buffered), pcapng length trailers and interface ids. What is not: timestamps
//! (an out-of-range fraction is carried into the seconds, as tshark does) and
//! packet contents, which are the decoder's business.

mod buf;
#[cfg(target_os = "linux")]
pub mod live;
mod pcap;
mod pcapng;
pub mod write;

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use buf::StreamBuf;

/// Largest captured length accepted for one packet: Wireshark's limit for
/// ordinary link types. A record claiming more is treated as corruption.
pub const MAX_RECORD_LEN: u32 = 262_144;

/// Largest pcapng block accepted (Wireshark's is the same): big enough for any
/// packet plus options, small enough that a corrupt length cannot exhaust memory.
pub const MAX_BLOCK_LEN: u32 = 16 * 1024 * 1024;

/// Link-layer header types (tcpdump.org LINKTYPE_* values) osiscope decodes.
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    /// DLT_RAW as most BSDs number it.
    pub const RAW_BSD: u32 = 12;
    /// DLT_RAW as OpenBSD numbers it.
    pub const RAW_OPENBSD: u32 = 14;
    pub const RAW: u32 = 101;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
    pub const NFLOG: u32 = 239;

    /// Every link type above, for tests and fuzzing that try each decoder.
    pub const ALL: [u32; 11] = [
        NULL,
        ETHERNET,
        RAW_BSD,
        RAW_OPENBSD,
        RAW,
        LOOP,
        LINUX_SLL,
        IPV4,
        IPV6,
        LINUX_SLL2,
        NFLOG,
    ];

    /// A short human name, as capinfos would say it.
    pub fn name(lt: u32) -> &'static str {
        match lt {
            NULL => "BSD loopback",
            ETHERNET => "Ethernet",
            RAW_BSD | RAW_OPENBSD | RAW => "Raw IP",
            LOOP => "OpenBSD loopback",
            LINUX_SLL => "Linux cooked (SLL)",
            IPV4 => "Raw IPv4",
            IPV6 => "Raw IPv6",
            LINUX_SLL2 => "Linux cooked v2 (SLL2)",
            9 => "PPP",
            105 => "IEEE 802.11",
            127 => "IEEE 802.11 radiotap",
            NFLOG => "Linux NFLOG",
            _ => "unknown link type",
        }
    }
}

/// Seconds and nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    pub fn from_parts(secs: i64, frac: u64, per_sec: u64) -> Self {
        // An invalid fraction (>= 1 s) is carried into the seconds, not rejected.
        let carry = (frac / per_sec) as i64;
        let rem = frac % per_sec;
        let nanos = (rem as u128 * 1_000_000_000 / per_sec as u128) as u32;
        Timestamp {
            secs: secs.saturating_add(carry),
            nanos,
        }
    }

    pub fn as_f64(self) -> f64 {
        self.secs as f64 + self.nanos as f64 / 1e9
    }

    /// As `Display` writes it. The JSON views write it for every frame,
    /// cheaper without the formatting machinery.
    pub fn text(self) -> String {
        let mut s = String::with_capacity(24);
        crate::text::push_secs_nanos(&mut s, self.secs, self.nanos);
        s
    }

    /// Signed difference `self - earlier`, in nanoseconds.
    pub fn since(self, earlier: Timestamp) -> i128 {
        (self.secs as i128 - earlier.secs as i128) * 1_000_000_000 + self.nanos as i128
            - earlier.nanos as i128
    }
}

impl fmt::Display for Timestamp {
    /// Epoch seconds with nine decimals, as tshark's `frame.time_epoch`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// What a frame number stands for. tshark numbers pcapng custom and journal
/// blocks as frames too; osiscope does the same so frame numbers line up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    Packet,
    /// A non-packet pcapng block that still takes a frame number.
    Event(&'static str),
}

/// One record of a capture, borrowed from the reader's window.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based, in capture order, as Wireshark's `frame.number`.
    pub number: u64,
    pub kind: FrameKind,
    pub ts: Timestamp,
    /// Link-layer header type of `data` (LINKTYPE_* value).
    pub linktype: u32,
    /// pcapng interface id within its section; 0 for pcap.
    pub interface: u32,
    /// Length on the wire; `data.len()` is the captured length.
    pub orig_len: u32,
    pub data: &'a [u8],
    /// Absolute byte offset of the record in the capture.
    pub offset: u64,
}

/// Facts about the file as a whole, known once its header has been read.
#[derive(Clone, Debug, Default)]
pub struct CaptureInfo {
    /// e.g. "pcap (little-endian, µs)" or "pcapng".
    pub format: String,
    pub interfaces: Vec<InterfaceInfo>,
}

#[derive(Clone, Debug, Default)]
pub struct InterfaceInfo {
    pub linktype: u32,
    pub snaplen: u32,
    /// Interface name from the file (untrusted text).
    pub name: Option<String>,
}

/// A reason the capture could not be read further. Everything read before it is valid.
#[derive(Debug)]
pub struct CaptureError {
    pub message: String,
    /// Byte offset at which the bad record or block starts.
    pub offset: u64,
    /// Number the frame being read would have had; None for file-header errors.
    pub frame: Option<u64>,
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.frame {
            Some(n) => write!(f, "{} (at byte {}, frame {})", self.message, self.offset, n),
            None => write!(f, "{} (at byte {})", self.message, self.offset),
        }
    }
}

impl std::error::Error for CaptureError {}

/// Explains an I/O error with its whole cause chain.
pub(crate) fn io_message(e: &io::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// Anything frames come from: a capture file or a live interface.
pub trait FrameSource {
    /// The next frame, `None` at the end, or the error that ends the source.
    fn next_frame(&mut self) -> Option<Result<Frame<'_>, CaptureError>>;
}

impl FrameSource for CaptureReader {
    fn next_frame(&mut self) -> Option<Result<Frame<'_>, CaptureError>> {
        CaptureReader::next_frame(self)
    }
}

enum Format {
    Pcap(pcap::PcapState),
    PcapNg(Box<pcapng::NgState>),
}

/// Streams frames out of a pcap or pcapng byte stream.
pub struct CaptureReader {
    input: StreamBuf,
    format: Format,
    next_number: u64,
    info: CaptureInfo,
    failed: bool,
}

/// The first bytes of a zstd frame (RFC 8878).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Largest zstd window accepted: 2^27 bytes (128 MiB), the zstd tool's own
/// default limit, so every file it writes without `--long=28` or more reads.
pub const ZSTD_WINDOW_LOG_MAX: u32 = 27;

/// A zstd stream whose errors say they are zstd's.
struct Zstd<R: Read>(R);

impl<R: Read> Read for Zstd<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            let limit = if e.to_string().contains("too much memory") {
                format!(
                    " (its window is larger than the {} MiB osiscope accepts)",
                    (1u64 << ZSTD_WINDOW_LOG_MAX) >> 20
                )
            } else {
                String::new()
            };
            io::Error::new(e.kind(), format!("zstd: {e}{limit}"))
        })
    }
}

/// The stream itself, or its decompression when it starts with gzip's magic
/// (1f 8b) or zstd's (28 b5 2f fd). The first bytes are read to look and then
/// handed back in front. gzip's window is 32 KiB, zstd's at most
/// [`ZSTD_WINDOW_LOG_MAX`]: memory stays bounded whatever the input.
fn decompressed(mut src: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        match src.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let whole = io::Cursor::new(head[..n].to_vec()).chain(src);
    Ok(if head[..n.min(2)] == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(whole))
    } else if head[..n] == ZSTD_MAGIC {
        let mut d = zstd::stream::read::Decoder::new(whole)?;
        // A frame header may ask for a window of up to 2^41 bytes; past this
        // one the frame is refused, not allocated.
        d.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
        Box::new(Zstd(d))
    } else {
        Box::new(whole)
    })
}

impl CaptureReader {
    /// Opens a file, or standard input for `-`.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let src: Box<dyn Read + Send> = if path.as_os_str() == "-" {
            Box::new(io::stdin())
        } else {
            match File::open(path) {
                Ok(f) => Box::new(f),
                Err(e) => {
                    return Err(CaptureError {
                        message: format!("cannot open: {}", io_message(&e)),
                        offset: 0,
                        frame: None,
                    });
                }
            }
        };
        Self::from_reader(src)
    }

    /// Reads the file header from any byte stream and detects the format. A
    /// gzip-compressed capture (`.pcap.gz`, as tshark reads them) is
    /// decompressed as it streams; byte offsets in errors then count
    /// decompressed bytes.
    pub fn from_reader(src: Box<dyn Read + Send>) -> Result<Self, CaptureError> {
        let src = decompressed(src).map_err(|e| CaptureError {
            message: format!("read error: {}", io_message(&e)),
            offset: 0,
            frame: None,
        })?;
        let mut input = StreamBuf::new(src);
        let header_err = |message: String| CaptureError {
            message,
            offset: 0,
            frame: None,
        };
        let have = input
            .fill(4)
            .map_err(|e| header_err(format!("read error: {}", io_message(&e))))?;
        if have == 0 {
            return Err(header_err("empty file: no capture header".into()));
        }
        if have < 4 {
            return Err(header_err(format!(
                "not a capture file: only {have} bytes, too short for a pcap or pcapng header"
            )));
        }
        let magic = [
            input.available()[0],
            input.available()[1],
            input.available()[2],
            input.available()[3],
        ];
        let mut info = CaptureInfo::default();
        let format = if magic == [0x0a, 0x0d, 0x0d, 0x0a] {
            info.format = "pcapng".into();
            Format::PcapNg(Box::default())
        } else if let Some(state) = pcap::PcapState::open(&mut input, &mut info)? {
            Format::Pcap(state)
        } else {
            return Err(header_err(format!(
                "not a pcap or pcapng file (starts with {:02x} {:02x} {:02x} {:02x})",
                magic[0], magic[1], magic[2], magic[3]
            )));
        };
        Ok(CaptureReader {
            input,
            format,
            next_number: 1,
            info,
            failed: false,
        })
    }

    pub fn info(&self) -> &CaptureInfo {
        &self.info
    }

    /// Returns the next frame, `None` at the end, or the error that ends the capture.
    /// After an error, further calls return `None`.
    pub fn next_frame(&mut self) -> Option<Result<Frame<'_>, CaptureError>> {
        if self.failed {
            return None;
        }
        let number = self.next_number;
        let res = match &mut self.format {
            Format::Pcap(st) => st.next(&mut self.input, number),
            Format::PcapNg(st) => st.next(&mut self.input, number, &mut self.info),
        };
        match res {
            Ok(Some(frame)) => {
                self.next_number += 1;
                Some(Ok(frame))
            }
            Ok(None) => None,
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
