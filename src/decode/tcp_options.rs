//! TCP options (RFC 9293 §3.1 and the option registry).
//!
//! Read here rather than with etherparse's iterator because that one stops at
//! the first option kind it does not know; a packet inspector must show every
//! option, known or not, and say where the list is malformed.

use std::fmt::Write as _;

use crate::text::push_int;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpOption {
    Eol,
    Nop,
    Mss(u16),
    WindowScale(u8),
    SackPermitted,
    /// Up to four left/right edges.
    Sack(Vec<(u32, u32)>),
    Timestamp {
        val: u32,
        ecr: u32,
    },
    /// TCP Fast Open cookie (kind 34); empty when requesting one.
    FastOpen(Vec<u8>),
    Other {
        kind: u8,
        len: usize,
    },
    /// The option list cannot be read past this point.
    Malformed {
        kind: u8,
        reason: &'static str,
    },
    /// The capture ends inside this option (the header was cut short).
    Cut {
        kind: u8,
    },
}

/// Walks an option list; at most 40 bytes, so the result is small.
/// `cut` says the capture ended inside the header, so an option running past
/// the end is cut short rather than malformed.
pub fn parse(opts: &[u8], cut: bool) -> Vec<TcpOption> {
    iter(opts, cut).collect()
}

/// The options one by one, as [`parse`] lists them, without collecting them: the
/// per-packet path looks for one option and allocates nothing (only SACK blocks and
/// Fast Open cookies own their bytes).
pub fn iter(opts: &[u8], cut: bool) -> Options<'_> {
    Options { opts, cut }
}

/// Iterator returned by [`iter`].
pub struct Options<'a> {
    opts: &'a [u8],
    cut: bool,
}

impl Iterator for Options<'_> {
    type Item = TcpOption;

    fn next(&mut self) -> Option<TcpOption> {
        let opts = self.opts;
        let &kind = opts.first()?;
        match kind {
            0 => {
                self.opts = &[];
                return Some(TcpOption::Eol);
            }
            1 => {
                self.opts = &opts[1..];
                return Some(TcpOption::Nop);
            }
            _ => {}
        }
        // Every other outcome below either ends the walk or moves past the option.
        self.opts = &[];
        let Some(&len) = opts.get(1) else {
            return Some(if self.cut {
                TcpOption::Cut { kind }
            } else {
                TcpOption::Malformed {
                    kind,
                    reason: "length byte missing",
                }
            });
        };
        let len = usize::from(len);
        if self.cut && len > opts.len() {
            return Some(TcpOption::Cut { kind });
        }
        if len < 2 || len > opts.len() {
            return Some(TcpOption::Malformed {
                kind,
                reason: "length runs past the header",
            });
        }
        let v = &opts[2..len];
        let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let opt = match (kind, v.len()) {
            (2, 2) => TcpOption::Mss(u16::from_be_bytes([v[0], v[1]])),
            (3, 1) => TcpOption::WindowScale(v[0]),
            (4, 0) => TcpOption::SackPermitted,
            (5, n) if n % 8 == 0 && n > 0 => TcpOption::Sack(
                v.chunks_exact(8)
                    .map(|c| (be32(c), be32(&c[4..])))
                    .collect(),
            ),
            (8, 8) => TcpOption::Timestamp {
                val: be32(v),
                ecr: be32(&v[4..]),
            },
            (34, _) => TcpOption::FastOpen(v.to_vec()),
            // Fast Open before kind 34 was assigned: experimental kind 254 with
            // ExID 0xF989 (RFC 7413 §4.1.1).
            (254, n) if n >= 2 && v[..2] == [0xf9, 0x89] => TcpOption::FastOpen(v[2..].to_vec()),
            // The length is sound, so the walk goes on past this option.
            (2..=5 | 8, _) => TcpOption::Malformed {
                kind,
                reason: "wrong length for this option",
            },
            _ => TcpOption::Other { kind, len },
        };
        self.opts = &opts[len..];
        Some(opt)
    }
}

/// Option kind names, in Wireshark's spelling.
pub fn kind_name(kind: u8) -> &'static str {
    match kind {
        0 => "EOL",
        1 => "NOP",
        2 => "MSS",
        3 => "WS",
        4 => "SACK_PERM",
        5 => "SACK",
        8 => "TS",
        19 => "MD5",
        27 => "Quick-Start",
        28 => "User Timeout",
        29 => "TCP-AO",
        30 => "MPTCP",
        34 => "TFO",
        253 | 254 => "Experimental",
        _ => "unknown",
    }
}

/// The options as tshark's Info column lists them (NOP and EOL left out).
pub fn summary(opts: &[TcpOption]) -> String {
    let mut s = String::new();
    for o in opts {
        let sep = if s.is_empty() { "" } else { " " };
        // Written in place: a string per option cost more than the rest.
        let _ = match o {
            TcpOption::Eol | TcpOption::Nop => continue,
            TcpOption::Mss(v) => {
                s.push_str(sep);
                s.push_str("MSS=");
                push_int(&mut s, *v);
                Ok(())
            }
            TcpOption::WindowScale(v) => {
                s.push_str(sep);
                s.push_str("WS=");
                push_int(&mut s, 1u32.checked_shl(u32::from(*v)).unwrap_or(0));
                Ok(())
            }
            TcpOption::SackPermitted => {
                s.push_str(sep);
                s.push_str("SACK_PERM");
                Ok(())
            }
            TcpOption::Sack(edges) => {
                let _ = s.write_str(sep);
                for (i, (l, r)) in edges.iter().enumerate() {
                    let sep = if i > 0 { " " } else { "" };
                    let _ = write!(s, "{sep}SLE={l} SRE={r}");
                }
                Ok(())
            }
            TcpOption::Timestamp { val, ecr } => {
                s.push_str(sep);
                s.push_str("TSval=");
                push_int(&mut s, *val);
                s.push_str(" TSecr=");
                push_int(&mut s, *ecr);
                Ok(())
            }
            TcpOption::FastOpen(c) if c.is_empty() => write!(s, "{sep}TFO=R"),
            TcpOption::FastOpen(_) => write!(s, "{sep}TFO=C"),
            TcpOption::Other { kind, .. } => write!(s, "{sep}opt{kind}({})", kind_name(*kind)),
            TcpOption::Malformed { kind, .. } => write!(s, "{sep}malformed-opt{kind}"),
            TcpOption::Cut { kind } => write!(s, "{sep}{}(cut)", kind_name(*kind)),
        };
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_syn_options() {
        // MSS 65495, SACK permitted, timestamps, NOP, window scale 7.
        let b = [
            2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        let o = parse(&b, false);
        assert_eq!(
            o,
            vec![
                TcpOption::Mss(65495),
                TcpOption::SackPermitted,
                TcpOption::Timestamp { val: 1, ecr: 0 },
                TcpOption::Nop,
                TcpOption::WindowScale(7),
            ]
        );
        assert_eq!(summary(&o), "MSS=65495 SACK_PERM TSval=1 TSecr=0 WS=128");
    }

    #[test]
    fn cut_and_malformed_are_told_apart() {
        let b = [2, 4, 5, 0xb4, 8, 10, 0, 0];
        assert_eq!(parse(&b, true)[1], TcpOption::Cut { kind: 8 });
        assert!(matches!(
            parse(&b, false)[1],
            TcpOption::Malformed { kind: 8, .. }
        ));
        // A zero length would loop forever if taken at face value.
        assert!(matches!(
            parse(&[30, 0, 1, 1], false)[0],
            TcpOption::Malformed { .. }
        ));
        assert_eq!(parse(&[0, 2, 4], false), vec![TcpOption::Eol]);
        assert_eq!(parse(&[34, 2], false), vec![TcpOption::FastOpen(vec![])]);
        assert_eq!(
            parse(&[99, 3, 1], false),
            vec![TcpOption::Other { kind: 99, len: 3 }]
        );
    }
}
