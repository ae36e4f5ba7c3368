//! Rendered output set aside in an unnamed temporary file while it waits for
//! its turn, so that printing in connection order costs disk, not memory.
//!
//! The file is made on first use in the system's temporary directory
//! (`$TMPDIR`, else `/tmp`), unlinked at once (it has no name and goes away
//! with the process), and emptied whenever nothing waits in it. It holds at
//! most [`MAX_SPILL_BYTES`]; past that, or if it cannot be made or written,
//! [`Spill::put`] declines and the caller keeps the bytes in memory under its
//! own limit. Only Unix systems spill.
//!
//! The file is used in regions of [`REGION`] bytes, each counting the
//! pieces that still wait in it; a region whose pieces were all read back
//! is written over. So the file stays about as large as the most that
//! waited at once, its pages reused where they are: on the 1 GB benchmark
//! capture 244 MB pass through a file that peaks at 37 MB (written ever
//! further on, it grew to 244 MB), and `walk` spends about 0.1 s less in
//! the kernel.

use std::fs::File;
use std::io;

/// Bytes the temporary file may hold at once.
pub const MAX_SPILL_BYTES: u64 = 4 << 30;

/// Bytes of a region of the file. A piece no larger is written within one
/// region; a larger one over a run of regions of its own.
pub const REGION: u64 = 1 << 20;

/// Where a piece of output was set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spilled {
    at: u64,
    len: usize,
}

impl Spilled {
    /// The regions the piece lies in.
    fn regions(&self) -> std::ops::Range<usize> {
        if self.len == 0 {
            return 0..0;
        }
        let first = self.at / REGION;
        let last = (self.at + self.len as u64 - 1) / REGION;
        first as usize..last as usize + 1
    }
}

#[derive(Default)]
pub struct Spill {
    file: Option<File>,
    /// Pieces waiting in each region of the file, which is as long as
    /// all of them.
    waiting: Vec<u32>,
    /// Where the next piece goes when it fits before the end of its
    /// region (the region being filled: the one written last).
    next: u64,
    /// The file could not be made or written: nothing more is spilled.
    broken: bool,
}

impl Spill {
    /// Sets `bytes` aside; `None` when there is no room or no usable file
    /// (the caller keeps them itself).
    pub fn put(&mut self, bytes: &[u8]) -> Option<Spilled> {
        let len = bytes.len() as u64;
        let at = self.place(len);
        if self.broken || at.saturating_add(len) > MAX_SPILL_BYTES {
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
        if write_at(file, bytes, at).is_err() {
            self.broken = true;
            return None;
        }
        let s = Spilled {
            at,
            len: bytes.len(),
        };
        let regions = s.regions();
        if self.waiting.len() < regions.end {
            self.waiting.resize(regions.end, 0);
        }
        for w in self.waiting.get_mut(regions).into_iter().flatten() {
            *w += 1;
        }
        self.next = at + len;
        Some(s)
    }

    /// Where a piece of `len` bytes goes: after the last one if it fits in
    /// that region, else at the start of the first run of regions nothing
    /// waits in that is long enough, else at the end of the file.
    fn place(&self, len: u64) -> u64 {
        let in_region = self.next % REGION;
        let filling = self.next > 0 && in_region != 0;
        if filling && in_region + len <= REGION {
            return self.next;
        }
        // The first run of free regions long enough.
        let need = len.div_ceil(REGION).max(1) as usize;
        let mut run = 0;
        for (i, &w) in self.waiting.iter().enumerate() {
            run = if w == 0 { run + 1 } else { 0 };
            if run == need {
                return (i + 1 - need) as u64 * REGION;
            }
        }
        // Else after the last region, joining the free ones it ends with.
        (self.waiting.len() - run) as u64 * REGION
    }

    /// Reads a piece back into `buf` (replacing what it held); each piece
    /// is read back once, after which its place may be written over.
    pub fn take(&mut self, s: Spilled, buf: &mut Vec<u8>) -> io::Result<()> {
        let file = self
            .file
            .as_ref()
            .ok_or_else(|| io::Error::other("the temporary file of waiting output is gone"))?;
        buf.clear();
        buf.resize(s.len, 0);
        read_at(file, buf, s.at)?;
        for w in self.waiting.get_mut(s.regions()).into_iter().flatten() {
            *w = w.saturating_sub(1);
        }
        Ok(())
    }

    /// Nothing waits in the file any more: its space is given back.
    pub fn clear(&mut self) {
        self.next = 0;
        if self.waiting.is_empty() {
            return;
        }
        self.waiting.clear();
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

    fn file_len(s: &Spill) -> u64 {
        s.file.as_ref().map_or(0, |f| f.metadata().unwrap().len())
    }

    /// Takes `p` back and checks it is the `p.len` bytes `byte` it was put as.
    fn back(s: &mut Spill, p: Spilled, byte: u8) {
        let mut buf = Vec::new();
        s.take(p, &mut buf).unwrap();
        assert_eq!(buf.len(), p.len);
        assert!(buf.iter().all(|&b| b == byte), "piece {p:?} written over");
    }

    #[test]
    fn pieces_come_back_in_any_order_and_the_file_is_emptied() {
        let mut s = Spill::default();
        let a = s.put(b"first connection\n").unwrap();
        let b = s.put(b"").unwrap();
        let third = "third – with UTF-8 ✓\n".as_bytes();
        let c = s.put(third).unwrap();
        assert_eq!(c.at, 17);
        let mut buf = b"stale".to_vec();
        s.take(c, &mut buf).unwrap();
        assert_eq!(buf, third);
        s.take(b, &mut buf).unwrap();
        assert!(buf.is_empty());
        s.take(a, &mut buf).unwrap();
        assert_eq!(buf, b"first connection\n");
        s.clear();
        assert_eq!(file_len(&s), 0);
        // Written again from the start.
        let d = s.put(b"again").unwrap();
        assert_eq!(d, Spilled { at: 0, len: 5 });
        s.take(d, &mut buf).unwrap();
        assert_eq!(buf, b"again");
    }

    /// A region whose pieces were all read back is written over; one that
    /// still holds a piece is not, and a piece larger than a region goes
    /// to the end.
    #[test]
    fn drained_regions_are_written_over() {
        let r = REGION as usize;
        let mut s = Spill::default();
        let a = s.put(&vec![b'a'; r - 10]).unwrap();
        // Does not fit in the rest of region 0: region 1.
        let b = s.put(&[b'b'; 20]).unwrap();
        assert_eq!(b.at, REGION);
        back(&mut s, a, b'a');
        // Region 0 drained; region 1 is being filled and the piece fits.
        let c = s.put(&[b'c'; 30]).unwrap();
        assert_eq!(c.at, REGION + 20);
        // Too long for the rest of region 1: region 0 again.
        let d = s.put(&vec![b'd'; r - 40]).unwrap();
        assert_eq!(d.at, 0);
        // Larger than a region: at the end, over two regions of its own.
        let big = s.put(&vec![b'e'; r + 1]).unwrap();
        assert_eq!(big.at, 2 * REGION);
        assert_eq!(s.waiting, [1, 2, 1, 1]);
        for (p, byte) in [(b, b'b'), (c, b'c'), (d, b'd'), (big, b'e')] {
            back(&mut s, p, byte);
        }
        assert_eq!(s.waiting, [0, 0, 0, 0]);
        assert_eq!(file_len(&s), 3 * REGION + 1);
    }

    /// A piece that does not fit in the rest of its region goes elsewhere,
    /// even by one byte: the next region may hold a piece from its start.
    #[test]
    fn a_piece_never_runs_into_the_next_region() {
        let r = REGION as usize;
        let mut s = Spill::default();
        let first = s.put(&vec![b'1'; r - 10]).unwrap();
        let second = s.put(&[b'2'; 100]).unwrap();
        assert_eq!(second.at, REGION);
        back(&mut s, first, b'1');
        // Too long for the rest of region 1: region 0, drained.
        let third = s.put(&vec![b'3'; r - 50]).unwrap();
        assert_eq!(third.at, 0);
        // One byte too long for the rest of region 0: a new region.
        let fourth = s.put(&[b'4'; 51]).unwrap();
        assert_eq!(fourth.at, 2 * REGION);
        for (p, byte) in [(second, b'2'), (third, b'3'), (fourth, b'4')] {
            back(&mut s, p, byte);
        }
    }

    /// Pieces put and taken back in a random order, up to a few hundred
    /// waiting at once, a tenth of them larger than a region: each is read
    /// back as it was written, and the file stays within the regions the
    /// waiting pieces hold.
    #[test]
    fn pieces_taken_in_any_order_are_never_written_over() {
        let mut s = Spill::default();
        let mut waiting: Vec<(Spilled, u8)> = Vec::new();
        let (mut most, mut through, mut pinned) = (0, 0, 0);
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..6_000_u32 {
            let len = match next() % 10 {
                0 => 0,
                1 => (REGION as usize) + (next() % 5000) as usize,
                _ => (next() % 70_000) as usize,
            };
            let byte = (i % 251) as u8;
            waiting.push((s.put(&vec![byte; len]).unwrap(), byte));
            through += len;
            most = most.max(waiting.iter().map(|(p, _)| p.len).sum::<usize>());
            pinned = pinned.max(
                waiting
                    .iter()
                    .map(|(p, _)| p.regions().len())
                    .sum::<usize>(),
            );
            let keep = 20 + (i as usize / 1000) * 60;
            while waiting.len() > keep {
                let k = (next() % waiting.len() as u64) as usize;
                let (p, byte) = waiting.swap_remove(k);
                back(&mut s, p, byte);
            }
        }
        for (p, byte) in waiting {
            back(&mut s, p, byte);
        }
        assert!(through > 300 << 20, "{through}");
        // No longer than the regions that waiting pieces held at once
        // (each counted once per piece in it), though many times more
        // went through it.
        let len = file_len(&s);
        assert!(len <= (pinned as u64 + 2) * REGION, "{len} {pinned}");
        assert!(len * 4 < through as u64, "{len} {through}");
    }

    #[test]
    fn declines_past_its_limit() {
        let mut s = Spill {
            waiting: vec![1; (MAX_SPILL_BYTES / REGION) as usize],
            next: MAX_SPILL_BYTES - 3,
            ..Spill::default()
        };
        assert_eq!(s.put(b"four"), None);
        assert!(s.file.is_none(), "no file is made for what does not fit");
        assert!(s.put(b"abc").is_some());
    }
}
