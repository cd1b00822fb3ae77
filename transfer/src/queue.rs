//! A bounded FIFO send queue (Go's `SafeListLimited`): pushes beyond the bound are refused and counted by
//! the caller; batches leave oldest first; a batch that could not be delivered goes back to the oldest end.

use std::collections::VecDeque;
use std::sync::Mutex;
use tokio::sync::Notify;

/// A bounded queue with one consumer that can wait for items.
#[derive(Debug)]
pub struct SendQueue<T> {
    cap: usize,
    /// The consumer's batch size: pushes wake it only when the queue becomes non-empty or reaches this.
    batch: usize,
    items: Mutex<VecDeque<T>>,
    notify: Notify,
}

impl<T> SendQueue<T> {
    /// A queue holding at most `cap` items.
    pub fn new(cap: usize) -> Self {
        Self::with_batch(cap, 1)
    }

    /// A queue whose consumer takes `batch` items at a time (fewer wakeups: see [`push_many`](Self::push_many)).
    pub fn with_batch(cap: usize, batch: usize) -> Self {
        SendQueue { cap: cap.max(1), batch: batch.max(1), items: Mutex::new(VecDeque::new()), notify: Notify::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<T>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends as many of `items` as fit, in order; returns how many were refused (always a suffix).
    /// The consumer is woken only when the queue reaches a full batch: otherwise it is busy, or checking back
    /// on its own timer, and a wakeup from another thread per push would cost a thread switch each.
    pub fn push_many(&self, items: impl IntoIterator<Item = T>) -> usize {
        let mut refused = 0;
        let (before, after) = {
            let mut q = self.lock();
            let before = q.len();
            for it in items {
                if q.len() < self.cap {
                    q.push_back(it);
                } else {
                    refused += 1;
                }
            }
            (before, q.len())
        };
        if before < self.batch && after >= self.batch {
            self.notify.notify_one();
        }
        refused
    }

    /// Like [`push_many`](Self::push_many), but hands back the refused suffix instead of counting it.
    pub fn push_or_return(&self, items: Vec<T>) -> Vec<T> {
        let (before, after, refused) = {
            let mut q = self.lock();
            let before = q.len();
            let room = self.cap.saturating_sub(before);
            let mut items = items;
            let refused = if items.len() > room { items.split_off(room) } else { Vec::new() };
            q.extend(items);
            (before, q.len(), refused)
        };
        if before < self.batch && after >= self.batch {
            self.notify.notify_one();
        }
        refused
    }

    /// The bound.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Takes up to `n` of the oldest items.
    pub fn pop_batch(&self, n: usize) -> Vec<T> {
        let mut q = self.lock();
        let k = n.min(q.len());
        q.drain(..k).collect()
    }

    /// Puts an undelivered batch back at the oldest end, in its order; returns how many did not fit.
    pub fn requeue(&self, batch: Vec<T>) -> usize {
        let mut q = self.lock();
        let room = self.cap.saturating_sub(q.len());
        let n = batch.len();
        let keep = n.min(room);
        for it in batch.into_iter().take(keep).rev() {
            q.push_front(it);
        }
        drop(q);
        self.notify.notify_one();
        n - keep
    }

    /// Puts an undelivered batch back at the oldest end even past the bound (a lane with a spool: what is in
    /// flight was counted in the bound when it was queued, so this exceeds it by at most the items in flight).
    pub fn requeue_all(&self, batch: Vec<T>) {
        let mut q = self.lock();
        for it in batch.into_iter().rev() {
            q.push_front(it);
        }
        drop(q);
        self.notify.notify_one();
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Resolves once the queue holds at least `n` items, or at `deadline`, whichever comes first.
    pub async fn wait_len(&self, n: usize, deadline: tokio::time::Instant) {
        loop {
            let notified = self.notify.notified();
            if self.len() >= n {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_fifo_with_requeue_at_the_oldest_end() {
        let q = SendQueue::new(5);
        assert_eq!(q.push_many(1..=7), 2, "6 and 7 refused");
        assert_eq!(q.pop_batch(2), vec![1, 2]);
        assert_eq!(q.push_many([8]), 0);
        let b = q.pop_batch(3);
        assert_eq!(b, vec![3, 4, 5]);
        assert_eq!(q.requeue(b), 0);
        assert_eq!(q.pop_batch(10), vec![3, 4, 5, 8]);
        q.push_many(10..15);
        assert_eq!(q.requeue(vec![1, 2]), 2, "no room left");
        assert_eq!(q.len(), 5);
        q.requeue_all(vec![1, 2]);
        assert_eq!(q.len(), 7);
        assert_eq!(q.pop_batch(3), vec![1, 2, 10]);
        assert_eq!(q.push_or_return(vec![20, 21, 22, 23]), vec![21, 22, 23], "room for one");
        assert_eq!(q.pop_batch(10), vec![11, 12, 13, 14, 20]);
    }

    #[tokio::test]
    async fn waits_for_a_full_batch_or_the_deadline() {
        let q = std::sync::Arc::new(SendQueue::new(10));
        q.push_many([1]);
        let t0 = tokio::time::Instant::now();
        q.wait_len(3, t0 + std::time::Duration::from_millis(30)).await;
        assert!(t0.elapsed() >= std::time::Duration::from_millis(29), "deadline");
        let q2 = q.clone();
        let t = tokio::spawn(async move {
            q2.wait_len(3, tokio::time::Instant::now() + std::time::Duration::from_secs(10)).await
        });
        q.push_many([2, 3]);
        tokio::time::timeout(std::time::Duration::from_secs(5), t).await.unwrap().unwrap();
    }
}
