//! A byte limit shared by many holders (all the reassemblers of a flow
//! table; the WebSocket parsers of a run), so that the memory they take
//! together is bounded, not only each one's.
//!
//! Holders count what they take and give it back when they let go of it
//! (on drop at the latest). The count is atomic only so that holders on the
//! threads of a run can share one limit; each holder is used from one
//! thread at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Clone, Debug)]
pub struct SharedLimit {
    used: Arc<AtomicUsize>,
    limit: usize,
}

impl SharedLimit {
    pub fn new(limit: usize) -> Self {
        SharedLimit {
            used: Arc::new(AtomicUsize::new(0)),
            limit,
        }
    }

    /// Bytes held now by all holders.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes that may still be taken.
    pub fn room(&self) -> usize {
        self.limit.saturating_sub(self.used())
    }

    pub fn has_room(&self, len: usize) -> bool {
        self.used().saturating_add(len) <= self.limit
    }

    /// Counts `n` bytes as held (the caller checked the room, or must hold
    /// them anyway).
    pub fn take(&self, n: usize) {
        self.used.fetch_add(n, Ordering::Relaxed);
    }

    /// Gives back `n` bytes taken before.
    pub fn give(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::Relaxed);
    }
}
