//! Handing batches from one thread of a run to the next. A thread that
//! finds the queue empty (or full) tries again for a moment, yielding its
//! core, before it sleeps.
//!
//! Why: the reading thread sends a batch every few hundred microseconds,
//! and when the next thread is a little faster it finds the queue empty
//! for 50–200 µs at a time. Sleeping then means a futex wake made by the
//! sender for every batch and a scheduler round trip before the sleeper
//! runs again. On the 1 GB benchmark capture `walk --format json` on two
//! threads slept about 5,900 times a run so; waiting [`WAIT`] first, about
//! 350 times. Yielding rather than spinning leaves the core to a thread
//! that has work when there are more threads than cores.

use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};
use std::time::{Duration, Instant};

/// How long a thread keeps trying before it sleeps.
pub(super) const WAIT: Duration = Duration::from_micros(200);

/// The next item, or None once every sender is gone.
pub(super) fn recv<T>(rx: &Receiver<T>) -> Option<T> {
    let mut since = None;
    loop {
        match rx.try_recv() {
            Ok(item) => return Some(item),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) if waited(&mut since) => return rx.recv().ok(),
            Err(TryRecvError::Empty) => std::thread::yield_now(),
        }
    }
}

/// Sends `item`; false once the receiver is gone.
pub(super) fn send<T>(tx: &SyncSender<T>, mut item: T) -> bool {
    let mut since = None;
    loop {
        match tx.try_send(item) {
            Ok(()) => return true,
            Err(TrySendError::Disconnected(_)) => return false,
            Err(TrySendError::Full(back)) if waited(&mut since) => return tx.send(back).is_ok(),
            Err(TrySendError::Full(back)) => {
                item = back;
                std::thread::yield_now();
            }
        }
    }
}

/// Whether [`WAIT`] has passed since the first call (which starts the clock).
fn waited(since: &mut Option<Instant>) -> bool {
    since.get_or_insert_with(Instant::now).elapsed() >= WAIT
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::sync_channel;
    use std::time::Duration;

    use super::{WAIT, recv, send};

    #[test]
    fn items_arrive_in_order_whether_the_other_side_is_early_or_late() {
        let (tx, rx) = sync_channel(2);
        let sender = std::thread::spawn(move || {
            for i in 0..200u32 {
                // Some items come after the receiver has gone to sleep.
                if i % 50 == 0 {
                    std::thread::sleep(WAIT * 3);
                }
                assert!(send(&tx, i));
            }
        });
        let mut got = Vec::new();
        while let Some(i) = recv(&rx) {
            got.push(i);
            // And some find the queue full.
            if i % 70 == 0 {
                std::thread::sleep(WAIT * 3);
            }
        }
        sender.join().unwrap();
        assert_eq!(got, (0..200).collect::<Vec<_>>());
    }

    #[test]
    fn a_gone_side_is_seen_as_gone() {
        let (tx, rx) = sync_channel::<u8>(1);
        drop(rx);
        assert!(!send(&tx, 1));
        let (tx, rx) = sync_channel::<u8>(1);
        assert!(send(&tx, 7));
        drop(tx);
        assert_eq!(recv(&rx), Some(7));
        assert_eq!(recv(&rx), None);
        // A receiver that waits on a sender that leaves later wakes up.
        let (tx, rx) = sync_channel::<u8>(1);
        let late = std::thread::spawn(move || {
            std::thread::sleep(WAIT * 5 + Duration::from_millis(5));
            drop(tx);
        });
        assert_eq!(recv(&rx), None);
        late.join().unwrap();
    }
}
