//! Hands finished connections to a view in connection-number order, although
//! they finish in another order. A connection that stays open for the whole
//! capture would hold back every later one, so what is held is bounded: at
//! most [`MAX_PENDING`] items (or as many as [`InOrder::max_items`] allows a
//! caller whose items are small) and [`MAX_PENDING_BYTES`] bytes (as the
//! caller weighs them). Past either bound the lowest-numbered items go out
//! early, and order is given up only for them.

use std::collections::BTreeMap;

/// Finished connections held back while a lower-numbered one is still open.
pub const MAX_PENDING: usize = 4096;
/// Bytes of finished connections (rendered output, for `walk`) held back.
pub const MAX_PENDING_BYTES: usize = 32 * 1024 * 1024;

pub struct InOrder<T> {
    next: u64,
    pending: BTreeMap<u64, (T, usize)>,
    bytes: usize,
    max_items: usize,
}

impl<T> Default for InOrder<T> {
    fn default() -> Self {
        InOrder {
            next: 0,
            pending: BTreeMap::new(),
            bytes: 0,
            max_items: MAX_PENDING,
        }
    }
}

impl<T> InOrder<T> {
    /// Holds up to `n` items instead of [`MAX_PENDING`]: for items that keep
    /// their bulk elsewhere (walk's waiting text in a temporary file).
    pub fn max_items(mut self, n: usize) -> Self {
        self.max_items = n;
        self
    }

    /// Bytes of the items held, as their callers weighed them.
    pub fn held_bytes(&self) -> usize {
        self.bytes
    }

    /// Nothing is held.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Adds item `id`, weighing `bytes`; returns the items that can go out now, in order.
    pub fn push(&mut self, id: u64, item: T, bytes: usize) -> Vec<T> {
        self.bytes += bytes;
        if let Some((_, old)) = self.pending.insert(id, (item, bytes)) {
            self.bytes -= old;
        }
        let mut out = Vec::new();
        loop {
            let first = self.pending.first_key_value().map(|(k, _)| *k);
            match first {
                Some(k)
                    if k <= self.next
                        || self.pending.len() > self.max_items
                        || self.bytes > MAX_PENDING_BYTES =>
                {
                    if let Some((k, (v, b))) = self.pending.pop_first() {
                        self.next = k + 1;
                        self.bytes -= b;
                        out.push(v);
                    }
                }
                _ => break,
            }
        }
        out
    }

    /// Item `id` would be held back now (a lower-numbered one is missing),
    /// so that a caller can make it smaller first.
    pub fn would_wait(&self, id: u64) -> bool {
        id > self.next
    }

    /// Everything still held, in order.
    pub fn drain(&mut self) -> Vec<T> {
        self.bytes = 0;
        std::mem::take(&mut self.pending)
            .into_values()
            .map(|(v, _)| v)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_in_id_order() {
        let mut o = InOrder::default();
        assert!(o.push(2, "c", 1).is_empty());
        assert!(o.push(1, "b", 1).is_empty());
        assert_eq!(o.push(0, "a", 1), vec!["a", "b", "c"]);
        assert_eq!(o.push(3, "d", 1), vec!["d"]);
        assert!(o.push(5, "f", 1).is_empty());
        assert_eq!(o.drain(), vec!["f"]);
    }

    #[test]
    fn byte_budget_lets_the_lowest_go_first() {
        let mut o = InOrder::default();
        // 0 stays open; 1 and 3 wait until their bytes pass the budget.
        assert!(o.push(1, "b", MAX_PENDING_BYTES / 2).is_empty());
        assert!(o.push(3, "d", MAX_PENDING_BYTES / 2).is_empty());
        // Over budget: 1 goes without 0; 2 is then next in line and takes 3 along.
        assert_eq!(o.push(2, "c", 10), vec!["b", "c", "d"]);
        assert_eq!(o.bytes, 0);
        // 0 arrives late: it goes out as soon as it is added.
        assert_eq!(o.push(0, "a", 1), vec!["a"]);
        assert!(o.drain().is_empty());
    }

    #[test]
    fn the_item_limit_is_the_callers() {
        let mut o = InOrder::default().max_items(2);
        assert!(o.push(1, "b", 0).is_empty());
        assert!(o.push(2, "c", 0).is_empty());
        assert_eq!(o.held_bytes(), 0);
        // A third waiting item is one too many: the lowest goes.
        assert_eq!(o.push(4, "e", 0), vec!["b", "c"]);
        assert!(!o.is_empty());
        assert_eq!(o.drain(), vec!["e"]);
        assert!(o.is_empty());
    }
}
