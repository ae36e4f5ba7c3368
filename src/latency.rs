//! Time samples and their summary, shared by the stages that measure: the
//! flow table (TCP round trips) and the analyzers (replies at L5–L7).
//!
//! A summary's count, min and max cover every sample; its percentiles are
//! exact over the samples kept: the first [`MAX_KEPT`] of a connection's
//! kind, while the run's shared budget has room (`of` says how many).
//! Percentiles are nearest-rank: p50 of 4 samples is the 2nd smallest.

use serde::Serialize;

/// Samples kept per kind per connection for its percentiles.
pub const MAX_KEPT: usize = 1000;
/// Bytes one kept sample takes from a shared budget.
pub const SAMPLE_BYTES: usize = std::mem::size_of::<i64>();

/// Durations in ns, as they were measured.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    count: u64,
    min: i64,
    max: i64,
    kept: Vec<i64>,
    /// The percentiles of the kept samples, once they were given up
    /// ([`Self::freeze`]): (p50, p95, of).
    frozen: Option<(Option<i64>, Option<i64>, u64)>,
}

impl Samples {
    pub const fn new() -> Self {
        Samples {
            count: 0,
            min: 0,
            max: 0,
            kept: Vec::new(),
            frozen: None,
        }
    }

    /// Adds a sample; it is kept for the percentiles if `room` (the caller's
    /// budget has room) and fewer than [`MAX_KEPT`] are. Returns whether it
    /// was kept.
    pub fn push(&mut self, ns: i64, room: bool) -> bool {
        if self.count == 0 {
            self.min = ns;
            self.max = ns;
        } else {
            self.min = self.min.min(ns);
            self.max = self.max.max(ns);
        }
        self.count += 1;
        let keep = room && self.wants();
        if keep {
            self.kept.push(ns);
        }
        keep
    }

    /// Whether another sample would be kept (the budget aside).
    pub fn wants(&self) -> bool {
        self.frozen.is_none() && self.kept.len() < MAX_KEPT
    }

    /// Computes the percentiles now and gives the kept samples up (a
    /// connection that closed keeps its figures, not its samples); later
    /// samples still count in count, min and max. Returns the bytes freed.
    pub fn freeze(&mut self) -> usize {
        if self.frozen.is_some() {
            return 0;
        }
        let held = self.held();
        let (p50, p95) = self.ranks();
        self.frozen = Some((p50, p95, self.kept.len() as u64));
        self.kept = Vec::new();
        held
    }

    /// The nearest-rank p50 and p95 of the kept samples.
    fn ranks(&self) -> (Option<i64>, Option<i64>) {
        let mut v = self.kept.clone();
        v.sort_unstable();
        let rank = |p: u64| -> Option<i64> {
            let n = v.len() as u64;
            // Nearest rank: ceil(p/100 · n), at least 1.
            let r = (p * n).div_ceil(100).max(1);
            v.get((r - 1) as usize).copied()
        };
        (rank(50), rank(95))
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Samples kept, in bytes of budget.
    pub fn held(&self) -> usize {
        self.kept.len() * SAMPLE_BYTES
    }

    pub fn summary(&self) -> Option<Summary> {
        if self.count == 0 {
            return None;
        }
        let ((p50, p95), of) = match self.frozen {
            Some((a, b, of)) => ((a, b), of),
            None => (self.ranks(), self.kept.len() as u64),
        };
        Some(Summary {
            count: self.count,
            min: secs(self.min),
            p50: p50.map(secs),
            p95: p95.map(secs),
            max: secs(self.max),
            of,
        })
    }
}

/// Seconds of a duration in ns.
pub fn secs(ns: i64) -> f64 {
    ns as f64 / 1e9
}

/// What a list of durations comes to, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub count: u64,
    pub min: f64,
    /// Over the `of` samples kept; null when none was.
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub max: f64,
    /// Samples the percentiles were computed from (`count` when all were kept).
    pub of: u64,
}

/// The smallest round trip seen lately: BBR's min-RTT filter. A sample
/// replaces the estimate when it is smaller, or when the estimate is older
/// than [`MIN_RTT_WINDOW_NS`] (the path may have changed). The minimum, not
/// the latest: an ACK the receiver delayed says nothing of the path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MinRtt {
    /// (round trip in ns, time it was measured in ns since the epoch).
    est: Option<(u64, i128)>,
}

/// How long a minimum round trip stands (BBR uses 10 s).
pub const MIN_RTT_WINDOW_NS: i128 = 10_000_000_000;

impl MinRtt {
    pub fn sample(&mut self, rtt_ns: u64, now_ns: i128) {
        let replace = match self.est {
            None => true,
            Some((r, at)) => rtt_ns <= r || now_ns - at > MIN_RTT_WINDOW_NS,
        };
        if replace {
            self.est = Some((rtt_ns, now_ns));
        }
    }

    pub fn get(&self) -> Option<u64> {
        self.est.map(|(r, _)| r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_over_what_was_kept() {
        let mut s = Samples::default();
        for ns in [40, 10, 30, 20] {
            s.push(ns * 1_000_000, true);
        }
        let m = s.summary().unwrap();
        assert_eq!((m.count, m.of), (4, 4));
        assert_eq!(m.p50, Some(0.02));
        assert_eq!(m.p95, Some(0.04));
        assert_eq!((m.min, m.max), (0.01, 0.04));
        // Not kept: counted, and in min and max, not in the percentiles.
        s.push(1_000_000_000, false);
        let m = s.summary().unwrap();
        assert_eq!((m.count, m.of, m.max), (5, 4, 1.0));
        assert_eq!(m.p95, Some(0.04));
        assert_eq!(Samples::default().summary(), None);
        // Frozen: the same figures without the samples; later ones count.
        let before = s.summary();
        assert_eq!(s.freeze(), 4 * SAMPLE_BYTES);
        assert_eq!(s.summary(), before);
        assert_eq!(s.held(), 0);
        assert!(!s.push(2_000_000_000, true));
        let m = s.summary().unwrap();
        assert_eq!((m.count, m.of, m.max, m.p95), (6, 4, 2.0, Some(0.04)));
    }

    #[test]
    fn min_rtt_keeps_the_smallest_until_it_is_old() {
        let mut m = MinRtt::default();
        m.sample(500, 0);
        m.sample(900, 1);
        assert_eq!(m.get(), Some(500));
        m.sample(300, 2);
        assert_eq!(m.get(), Some(300));
        m.sample(900, 2 + MIN_RTT_WINDOW_NS + 1);
        assert_eq!(m.get(), Some(900));
    }
}
