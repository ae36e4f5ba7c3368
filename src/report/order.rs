//! Hands finished connections to a view in connection-number order, although
//! they finish in another order, holding at most [`MAX_PENDING`] of them.

use std::collections::BTreeMap;

/// Finished connections held back while a lower-numbered one is still open.
pub const MAX_PENDING: usize = 4096;

pub struct InOrder<T> {
    next: u64,
    pending: BTreeMap<u64, T>,
}

impl<T> Default for InOrder<T> {
    fn default() -> Self {
        InOrder {
            next: 0,
            pending: BTreeMap::new(),
        }
    }
}

impl<T> InOrder<T> {
    /// Adds item `id`; returns the items that can go out now, in order.
    pub fn push(&mut self, id: u64, item: T) -> Vec<T> {
        self.pending.insert(id, item);
        let mut out = Vec::new();
        loop {
            let first = self.pending.first_key_value().map(|(k, _)| *k);
            match first {
                Some(k) if k <= self.next || self.pending.len() > MAX_PENDING => {
                    if let Some((k, v)) = self.pending.pop_first() {
                        self.next = k + 1;
                        out.push(v);
                    }
                }
                _ => break,
            }
        }
        out
    }

    /// Everything still held, in order.
    pub fn drain(&mut self) -> Vec<T> {
        std::mem::take(&mut self.pending).into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_in_id_order() {
        let mut o = InOrder::default();
        assert!(o.push(2, "c").is_empty());
        assert!(o.push(1, "b").is_empty());
        assert_eq!(o.push(0, "a"), vec!["a", "b", "c"]);
        assert_eq!(o.push(3, "d"), vec!["d"]);
        assert!(o.push(5, "f").is_empty());
        assert_eq!(o.drain(), vec!["f"]);
    }
}
