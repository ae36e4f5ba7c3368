//! The NSS key log (what `SSLKEYLOGFILE` makes browsers, curl, Node, Python
//! and OpenSSL write): one secret per line, `LABEL <client random> <secret>`
//! in hex, found by the connection's client random.
//!
//! Read leniently: a malformed or foreign line is a warning with its line
//! number, never a stop; a repeated (label, client random) keeps the last
//! line, as the program that wrote it meant. Labels known but not needed
//! (exporter and early-data secrets) are skipped quietly.
//!
//! Bounded: lines are read up to [`MAX_LINE`] bytes, at most [`MAX_SECRETS`]
//! secrets are kept, and warnings are kept up to [`MAX_WARNINGS`] (counted on).
//! A live capture reads the file again from where it stopped when a client
//! random is not found (a browser appends a line per connection).

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Longest line read; longer ones are a warning.
pub const MAX_LINE: usize = 1024;
/// Secrets kept; past it, lines are a warning.
pub const MAX_SECRETS: usize = 1_000_000;
/// Warnings kept (the count goes on).
pub const MAX_WARNINGS: usize = 20;

/// What a secret is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Label {
    /// TLS 1.2 and earlier: the master secret.
    ClientRandom,
    ClientHandshake,
    ServerHandshake,
    /// TLS 1.3 application traffic secrets, generation 0.
    ClientTraffic,
    ServerTraffic,
    ClientEarly,
}

impl Label {
    fn parse(s: &str) -> Option<Option<Label>> {
        Some(Some(match s {
            "CLIENT_RANDOM" => Label::ClientRandom,
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Label::ClientHandshake,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET" => Label::ServerHandshake,
            "CLIENT_TRAFFIC_SECRET_0" => Label::ClientTraffic,
            "SERVER_TRAFFIC_SECRET_0" => Label::ServerTraffic,
            "CLIENT_EARLY_TRAFFIC_SECRET" => Label::ClientEarly,
            // Known, not needed: derived from the others or for exporters.
            "EXPORTER_SECRET"
            | "EARLY_EXPORTER_SECRET"
            | "CLIENT_TRAFFIC_SECRET_N"
            | "SERVER_TRAFFIC_SECRET_N" => return Some(None),
            _ => return None,
        }))
    }
}

/// The secrets of one client random.
#[derive(Clone, Debug, Default)]
pub struct Secrets(HashMap<Label, Vec<u8>>);

impl Secrets {
    pub fn get(&self, l: Label) -> Option<&[u8]> {
        self.0.get(&l).map(Vec::as_slice)
    }
}

#[derive(Default)]
struct Inner {
    by_random: HashMap<[u8; 32], Secrets>,
    secrets: usize,
    /// Bytes of the file read so far, and the line number reached.
    offset: u64,
    line: u64,
    warnings: Vec<String>,
    warning_count: u64,
}

/// A key log, read from a file.
pub struct KeyLog {
    path: PathBuf,
    /// Read again from where it stopped when a client random is missing.
    follow: bool,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for KeyLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyLog")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

impl Inner {
    fn warn(&mut self, what: String) {
        self.warning_count += 1;
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(what);
        }
    }

    /// One line of the file.
    fn line(&mut self, line: &str) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return;
        }
        let n = self.line;
        let mut parts = line.split_whitespace();
        let (Some(label), Some(random), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return self.warn(format!("line {n}: not LABEL CLIENT_RANDOM SECRET"));
        };
        let Some(label) = Label::parse(label) else {
            let shown: String = label
                .chars()
                .take(40)
                .filter(|c| c.is_ascii_graphic())
                .collect();
            return self.warn(format!("line {n}: unknown label {shown}"));
        };
        let Some(label) = label else { return };
        let Some(random) = unhex(random).and_then(|r| <[u8; 32]>::try_from(r).ok()) else {
            return self.warn(format!(
                "line {n}: the client random is not 32 bytes of hex"
            ));
        };
        let Some(secret) = unhex(secret).filter(|s| matches!(s.len(), 32 | 48)) else {
            return self.warn(format!("line {n}: the secret is not 32 or 48 bytes of hex"));
        };
        if self.secrets >= MAX_SECRETS {
            return self.warn(format!(
                "line {n}: more than {MAX_SECRETS} secrets, not kept"
            ));
        }
        let entry = self.by_random.entry(random).or_default();
        if entry.0.insert(label, secret).is_none() {
            self.secrets += 1;
        }
    }

    /// Reads the rest of `r` from `self.offset`: whole lines only (a line
    /// still being written is read next time).
    fn read(&mut self, r: impl Read) -> io::Result<()> {
        let mut r = BufReader::new(r);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = r
                .by_ref()
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut buf)?;
            if n == 0 {
                return Ok(());
            }
            if buf.last() != Some(&b'\n') {
                if n > MAX_LINE {
                    // Too long: skip to its end.
                    self.line += 1;
                    self.offset += n as u64;
                    let mut skipped = Vec::new();
                    let rest = r.read_until(b'\n', &mut skipped)?;
                    self.offset += rest as u64;
                    let l = self.line;
                    self.warn(format!("line {l}: longer than {MAX_LINE} bytes"));
                    continue;
                }
                return Ok(());
            }
            self.line += 1;
            self.offset += n as u64;
            let text = String::from_utf8_lossy(&buf).into_owned();
            self.line(&text);
        }
    }
}

impl KeyLog {
    /// Reads the key log at `path`. With `follow`, a client random not found
    /// makes it read what was appended since.
    pub fn open(path: &Path, follow: bool) -> io::Result<KeyLog> {
        let log = KeyLog {
            path: path.to_owned(),
            follow,
            inner: Mutex::new(Inner::default()),
        };
        log.read_more()?;
        Ok(log)
    }

    /// A key log from text (tests, fuzzing).
    pub fn from_text(text: &str) -> KeyLog {
        let log = KeyLog {
            path: PathBuf::new(),
            follow: false,
            inner: Mutex::new(Inner::default()),
        };
        let _ = log.lock().read(text.as_bytes());
        log
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read_more(&self) -> io::Result<()> {
        let mut f = std::fs::File::open(&self.path)?;
        let mut inner = self.lock();
        f.seek(SeekFrom::Start(inner.offset))?;
        inner.read(f)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The secrets of a client random.
    pub fn find(&self, random: &[u8; 32]) -> Option<Secrets> {
        if let Some(s) = self.lock().by_random.get(random) {
            return Some(s.clone());
        }
        if self.follow {
            let _ = self.read_more();
            return self.lock().by_random.get(random).cloned();
        }
        None
    }

    /// (secrets, client randoms) read.
    pub fn counts(&self) -> (usize, usize) {
        let i = self.lock();
        (i.secrets, i.by_random.len())
    }

    /// The warnings (the first [`MAX_WARNINGS`]) and how many there were.
    pub fn warnings(&self) -> (Vec<String>, u64) {
        let i = self.lock();
        (i.warnings.clone(), i.warning_count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "1111111111111111111111111111111111111111111111111111111111111111";

    #[test]
    fn lenient_reading_with_line_numbers() {
        let text = format!(
            "# comment\n\
             CLIENT_RANDOM {R} {s48}\n\
             garbage\n\
             CLIENT_HANDSHAKE_TRAFFIC_SECRET {R} {s32}\n\
             EXPORTER_SECRET {R} {s32}\n\
             WHATEVER_LABEL {R} {s32}\n\
             CLIENT_TRAFFIC_SECRET_0 abcd {s32}\n\
             CLIENT_TRAFFIC_SECRET_0 {R} 12\n\
             CLIENT_RANDOM {R} {s48b}\n",
            s48 = "aa".repeat(48),
            s48b = "bb".repeat(48),
            s32 = "cc".repeat(32),
        );
        let log = KeyLog::from_text(&text);
        let (warnings, count) = log.warnings();
        assert_eq!(count, 4, "{warnings:?}");
        assert_eq!(warnings[0], "line 3: not LABEL CLIENT_RANDOM SECRET");
        assert_eq!(warnings[1], "line 6: unknown label WHATEVER_LABEL");
        assert!(warnings[2].starts_with("line 7: the client random"));
        assert!(warnings[3].starts_with("line 8: the secret"));
        let s = log.find(&[0x11; 32]).expect("found");
        // The last line for a label wins.
        assert_eq!(s.get(Label::ClientRandom), Some(&[0xbb; 48][..]));
        assert_eq!(s.get(Label::ClientHandshake), Some(&[0xcc; 32][..]));
        assert!(log.find(&[0x22; 32]).is_none());
        assert_eq!(log.counts(), (2, 1));
    }

    #[test]
    fn a_followed_file_is_read_again_for_a_missing_random() {
        let path = std::env::temp_dir().join(format!("osiscope-keylog-{}.txt", std::process::id()));
        let line = |r: &str| format!("CLIENT_RANDOM {} {}\n", r.repeat(32), "aa".repeat(48));
        std::fs::write(&path, line("11")).expect("write");
        let log = KeyLog::open(&path, true).expect("open");
        assert!(log.find(&[0x22; 32]).is_none());
        // A line being written is not read until it ends.
        let half = line("22");
        std::fs::write(&path, format!("{}{}", line("11"), &half[..20])).expect("write");
        assert!(log.find(&[0x22; 32]).is_none());
        std::fs::write(&path, format!("{}{}", line("11"), half)).expect("write");
        assert!(log.find(&[0x22; 32]).is_some());
        let _ = std::fs::remove_file(&path);
    }
}
