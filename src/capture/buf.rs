//! A bounded, refillable window over a byte stream.
//!
//! Captures are read through this window instead of `BufReader` so that every
//! record's absolute byte offset is known (error messages quote it) and so that
//! no allocation is ever sized by a length field from the file: callers check
//! lengths against their limits before asking for that many bytes.

use std::io::{self, Read};

/// Initial window size: holds one maximal (256 KiB) pcap record plus headers.
const INITIAL_CAPACITY: usize = 512 * 1024;

pub struct StreamBuf {
    src: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Absolute stream offset of `buf[0]`.
    base: u64,
    eof: bool,
}

impl StreamBuf {
    pub fn new(src: Box<dyn Read + Send>) -> Self {
        StreamBuf {
            src,
            buf: vec![0; INITIAL_CAPACITY],
            start: 0,
            end: 0,
            base: 0,
            eof: false,
        }
    }

    /// Absolute offset of the first unconsumed byte.
    pub fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    pub fn available(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Makes at least `need` bytes available unless the stream ends first.
    /// Returns how many bytes are available afterwards (less than `need` only at EOF).
    /// The caller bounds `need`; the window grows to it at most.
    pub fn fill(&mut self, need: usize) -> io::Result<usize> {
        while self.end - self.start < need && !self.eof {
            if self.buf.len() - self.start < need {
                // Compact, then grow if a single item needs more room than we have.
                self.buf.copy_within(self.start..self.end, 0);
                self.base += self.start as u64;
                self.end -= self.start;
                self.start = 0;
                if self.buf.len() < need {
                    self.buf.resize(need, 0);
                }
            }
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.start)
    }

    /// Consumes `n` bytes and returns them; `n` must not exceed `available()`.
    pub fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.end - self.start);
        let s = self.start;
        self.start += n;
        &self.buf[s..s + n]
    }
}
