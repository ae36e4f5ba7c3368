//! Zeek-style connection history: one letter per kind of event, uppercase
//! when the client sent it, lowercase for the server.
//!
//! | letter | event |
//! |---|---|
//! | `S` | SYN without ACK |
//! | `H` | SYN with ACK (the handshake answer) |
//! | `A` | a pure ACK (no payload, no SYN/FIN/RST) |
//! | `D` | a segment with payload |
//! | `F` | FIN |
//! | `R` | RST |
//! | `Q` | SYN together with FIN or RST (a "multi-flag" segment) |
//! | `T` | a retransmitted segment |
//! | `W` | a zero window advertised |
//! | `G` | a gap: bytes never seen in the reassembled stream |
//!
//! `S H A D F R Q` are recorded once per direction, at their first
//! occurrence. `T W G` are recorded at the 1st, 10th, 100th, … occurrence
//! in a direction, so a repeated letter says "at least ten times as many".

use super::Dir;

#[derive(Clone, Debug, Default)]
pub struct History {
    letters: String,
    /// Which once-only letters each direction has already recorded (bit per letter).
    seen: [u16; 2],
    /// Occurrences of the repeating letters T, W, G per direction.
    counts: [[u64; 3]; 2],
}

const ONCE: &[u8] = b"SHADFRQ";
const REPEAT: &[u8] = b"TWG";

impl History {
    pub fn record(&mut self, dir: Dir, letter: u8) {
        let d = dir as usize;
        let out = if dir == Dir::ClientToServer {
            letter.to_ascii_uppercase()
        } else {
            letter.to_ascii_lowercase()
        };
        if let Some(i) = ONCE.iter().position(|&l| l == letter) {
            if self.seen[d] & (1 << i) == 0 {
                self.seen[d] |= 1 << i;
                self.letters.push(char::from(out));
            }
        } else if let Some(i) = REPEAT.iter().position(|&l| l == letter) {
            let c = &mut self.counts[d][i];
            *c += 1;
            let n = *c;
            // 1, 10, 100, ...: n is a power of ten.
            let mut p = 1u64;
            while p < n {
                p = p.saturating_mul(10);
            }
            if p == n {
                self.letters.push(char::from(out));
            }
        }
    }

    pub fn as_str(&self) -> &str {
        &self.letters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_data_and_fin() {
        let mut h = History::default();
        let (c, s) = (Dir::ClientToServer, Dir::ServerToClient);
        for (d, l) in [
            (c, b'S'),
            (s, b'H'),
            (c, b'A'),
            (c, b'D'),
            (s, b'A'),
            (s, b'D'),
            (c, b'D'),
            (s, b'F'),
            (c, b'F'),
            (s, b'A'),
        ] {
            h.record(d, l);
        }
        assert_eq!(h.as_str(), "ShADadfF");
    }

    #[test]
    fn repeated_letters_grow_by_powers_of_ten() {
        let mut h = History::default();
        for _ in 0..150 {
            h.record(Dir::ClientToServer, b'T');
        }
        assert_eq!(h.as_str(), "TTT");
    }
}
