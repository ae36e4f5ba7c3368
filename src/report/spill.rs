//! Rendered output set aside in an unnamed temporary file while it waits for
//! its turn, so that printing in connection order costs disk, not memory.
//!
//! The file is made on first use in the system's temporary directory
//! (`$TMPDIR`, else `/tmp`), unlinked at once (it has no name and goes away
//! with the process), and emptied whenever nothing waits in it. It holds at
//! most [`MAX_SPILL_BYTES`]; past that, or if it cannot be made or written,
//! [`Spill::put`] declines and the caller keeps the bytes in memory under its
//! own limit. Only Unix systems spill.

use std::fs::File;
use std::io;

/// Bytes the temporary file may hold at once.
pub const MAX_SPILL_BYTES: u64 = 4 << 30;

/// Where a piece of output was set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spilled {
    at: u64,
    len: usize,
}

#[derive(Default)]
pub struct Spill {
    file: Option<File>,
    /// Bytes written since the file was last emptied.
    end: u64,
    /// The file could not be made or written: nothing more is spilled.
    broken: bool,
}

impl Spill {
    /// Sets `bytes` aside; `None` when there is no room or no usable file
    /// (the caller keeps them itself).
    pub fn put(&mut self, bytes: &[u8]) -> Option<Spilled> {
        if self.broken || self.end.saturating_add(bytes.len() as u64) > MAX_SPILL_BYTES {
            return None;
        }
        let file = match &mut self.file {
            Some(f) => f,
            None => match tempfile::tempfile() {
                Ok(f) => self.file.insert(f),
                Err(_) => {
                    self.broken = true;
                    return None;
                }
            },
        };
        if write_at(file, bytes, self.end).is_err() {
            self.broken = true;
            return None;
        }
        let s = Spilled {
            at: self.end,
            len: bytes.len(),
        };
        self.end += bytes.len() as u64;
        Some(s)
    }

    /// Reads a piece back into `buf` (replacing what it held).
    pub fn take(&self, s: Spilled, buf: &mut Vec<u8>) -> io::Result<()> {
        let file = self
            .file
            .as_ref()
            .ok_or_else(|| io::Error::other("the temporary file of waiting output is gone"))?;
        buf.clear();
        buf.resize(s.len, 0);
        read_at(file, buf, s.at)
    }

    /// Nothing waits in the file any more: its space is given back.
    pub fn clear(&mut self) {
        if self.end == 0 {
            return;
        }
        self.end = 0;
        if let Some(f) = &self.file
            && f.set_len(0).is_err()
        {
            self.broken = true;
        }
    }
}

#[cfg(unix)]
fn write_at(f: &File, bytes: &[u8], at: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(f, bytes, at)
}

#[cfg(unix)]
fn read_at(f: &File, buf: &mut [u8], at: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, at)
}

#[cfg(not(unix))]
fn write_at(_: &File, _: &[u8], _: u64) -> io::Result<()> {
    Err(io::Error::other("spilling needs positioned writes"))
}

#[cfg(not(unix))]
fn read_at(_: &File, _: &mut [u8], _: u64) -> io::Result<()> {
    Err(io::Error::other("spilling needs positioned reads"))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn pieces_come_back_in_any_order_and_the_file_is_emptied() {
        let mut s = Spill::default();
        let a = s.put(b"first connection\n").unwrap();
        let b = s.put(b"").unwrap();
        let third = "third – with UTF-8 ✓\n".as_bytes();
        let c = s.put(third).unwrap();
        let mut buf = b"stale".to_vec();
        s.take(c, &mut buf).unwrap();
        assert_eq!(buf, third);
        s.take(b, &mut buf).unwrap();
        assert!(buf.is_empty());
        s.take(a, &mut buf).unwrap();
        assert_eq!(buf, b"first connection\n");
        assert_eq!(s.end, 17 + third.len() as u64);
        s.clear();
        assert_eq!(s.end, 0);
        assert_eq!(s.file.as_ref().unwrap().metadata().unwrap().len(), 0);
        // Written again from the start.
        let d = s.put(b"again").unwrap();
        assert_eq!(d, Spilled { at: 0, len: 5 });
        s.take(d, &mut buf).unwrap();
        assert_eq!(buf, b"again");
    }

    #[test]
    fn declines_past_its_limit() {
        let mut s = Spill {
            end: MAX_SPILL_BYTES - 3,
            ..Spill::default()
        };
        assert_eq!(s.put(b"four"), None);
        assert!(s.file.is_none(), "no file is made for what does not fit");
        assert!(s.put(b"abc").is_some());
    }
}
