//! A process-wide budget for bytes buffered from clients: request frames and HTTP bodies being read.
//!
//! A per-message bound alone does not bound memory: 10,000 connections each half way through a 64 MiB message
//! hold 320 GiB. Every reader of client bytes therefore takes a [`Lease`] on the binary's one [`Budget`] and
//! grows it before it grows its buffer. When the budget is spent the reader waits (it stops reading, so TCP
//! pushes back on the client) until other readers give bytes back, for at most [`Budget::wait`]; then the
//! connection is closed and the close counted.
//!
//! Two rules keep normal clients served while large messages fight over the budget:
//! - a lease's first [`FREE_PER_LEASE`] bytes are not charged: they are part of a connection's fixed cost
//!   (like its socket buffers), bounded by the connection limit, so idle connections hold nothing here;
//! - a lease above [`SMALL`] bytes may only use the budget minus its reserve (an eighth), so a flood of large
//!   messages leaves room for the small requests agents and judges send (a Go agent's cycle is ~30 KB).
//!   Partial messages that stay small can still fill the reserve; the stall timeout ends those.
//! - a lease above [`SMALL`] also takes one of a fixed number of large-message slots (the large part of the
//!   budget over the message bound), waiting for one in arrival order. Without them, 200 connections each
//!   half way through a 16 MiB message share out the whole budget, every one waits for more, and none can
//!   finish until the waits time out; with them, every slot holder can always read its message to the end.

use crate::ratelog::RateLimited;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// Bytes of each lease that are never charged (a connection's small first read buffer).
pub const FREE_PER_LEASE: usize = 4 << 10;
/// Leases up to this size (twice a Go agent's cycle) may use the reserved part of the budget.
pub const SMALL: usize = 64 << 10;

/// Why a lease could not grow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    /// The budget stayed spent for the whole wait.
    #[error("buffer budget of {limit} bytes exhausted for {waited:?} (this reader needed {wanted} bytes)")]
    Exhausted {
        /// The budget.
        limit: usize,
        /// Bytes this lease asked to hold.
        wanted: usize,
        /// How long it waited.
        waited: Duration,
    },
    /// The lease asked for more than the budget could ever give it.
    #[error("a buffer of {wanted} bytes can never fit the {limit}-byte buffer budget")]
    NeverFits {
        /// The budget available to a lease of that size.
        limit: usize,
        /// Bytes this lease asked to hold.
        wanted: usize,
    },
}

/// Counters and gauges of a budget, for `/counter` pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct BudgetStats {
    /// The configured budget in bytes.
    #[serde(rename = "BufferBudgetBytes")]
    pub limit: usize,
    /// Bytes charged now (the gauge).
    #[serde(rename = "BufferedBytes")]
    pub used: usize,
    /// The most ever charged at once.
    #[serde(rename = "BufferedBytesPeak")]
    pub peak: usize,
    /// Times a reader had to wait for the budget.
    #[serde(rename = "BufferBudgetWaits")]
    pub waits: u64,
    /// Connections closed because the budget stayed spent for the whole wait.
    #[serde(rename = "BufferBudgetCloses")]
    pub closes: u64,
    /// Connections closed because a message they had started made no progress for the stall timeout.
    #[serde(rename = "BufferStallCloses")]
    pub stalls: u64,
}

/// The budget shared by every listener of a process.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    /// What leases above [`SMALL`] may use together.
    large_limit: usize,
    /// One permit per lease above [`SMALL`]: as many as messages at the bound fit in `large_limit`.
    large_slots: Arc<Semaphore>,
    wait: Duration,
    stall: Option<Duration>,
    used: AtomicUsize,
    peak: AtomicUsize,
    waits: AtomicU64,
    closes: AtomicU64,
    stalls: AtomicU64,
    freed: Notify,
    log: RateLimited,
}

impl Budget {
    /// A budget of `limit` bytes for messages of at most `max_message` bytes; a reader waits at most `wait`
    /// for room, and a message that has started may go `stall` without a new byte before its connection is
    /// closed (None: forever).
    pub fn new(limit: usize, max_message: usize, wait: Duration, stall: Option<Duration>) -> Arc<Self> {
        let large_limit = limit - limit / 8;
        let slots = (large_limit / max_message.max(1)).clamp(1, Semaphore::MAX_PERMITS);
        Arc::new(Budget {
            limit,
            large_limit,
            large_slots: Arc::new(Semaphore::new(slots)),
            wait,
            stall,
            used: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            waits: AtomicU64::new(0),
            closes: AtomicU64::new(0),
            stalls: AtomicU64::new(0),
            freed: Notify::new(),
            log: RateLimited::new(Duration::from_secs(10)),
        })
    }

    /// The one budget that never runs out, for readers of replies from servers the process chose itself.
    pub fn unlimited() -> Arc<Self> {
        static UNLIMITED: OnceLock<Arc<Budget>> = OnceLock::new();
        UNLIMITED.get_or_init(|| Self::new(usize::MAX / 2, 1, Duration::ZERO, None)).clone()
    }

    /// How long a started message may go without a new byte.
    pub fn stall(&self) -> Option<Duration> {
        self.stall
    }

    /// The configured budget.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The longest a reader waits for room.
    pub fn wait(&self) -> Duration {
        self.wait
    }

    /// The largest buffer one lease can ever hold: a message bound above it could never be read.
    pub fn largest_lease(&self) -> usize {
        self.large_limit.saturating_add(FREE_PER_LEASE)
    }

    /// Bytes charged now.
    pub fn used(&self) -> usize {
        self.used.load(Relaxed)
    }

    /// Counters and gauges.
    pub fn stats(&self) -> BudgetStats {
        BudgetStats {
            limit: self.limit,
            used: self.used(),
            peak: self.peak.load(Relaxed),
            waits: self.waits.load(Relaxed),
            closes: self.closes.load(Relaxed),
            stalls: self.stalls.load(Relaxed),
        }
    }

    /// How many messages above [`SMALL`] may be read at once.
    pub fn large_slots(&self) -> usize {
        self.large_slots.available_permits()
    }

    /// A lease holding nothing yet.
    pub fn lease(self: &Arc<Self>) -> Lease {
        Lease { budget: self.clone(), held: 0, charged: 0, slot: None }
    }

    /// Charges `n` more bytes if that stays within the part of the budget a lease of `size` may use.
    fn try_charge(&self, n: usize, size: usize) -> bool {
        let cap = if size > SMALL { self.large_limit } else { self.limit };
        let mut used = self.used.load(Relaxed);
        loop {
            let Some(next) = used.checked_add(n).filter(|&v| v <= cap) else { return false };
            match self.used.compare_exchange_weak(used, next, Relaxed, Relaxed) {
                Ok(_) => {
                    self.peak.fetch_max(next, Relaxed);
                    return true;
                }
                Err(now) => used = now,
            }
        }
    }

    fn release(&self, n: usize) {
        if n > 0 {
            self.used.fetch_sub(n, Relaxed);
            self.freed.notify_waiters();
        }
    }

    /// Counts a connection closed for want of budget, with a log line at a bounded rate.
    pub fn count_close(&self, what: &str, err: &BudgetError) {
        self.closes.fetch_add(1, Relaxed);
        if let Some(suppressed) = self.log.check() {
            tracing::warn!(reader = what, error = %err, suppressed, "buffer budget: closing connection");
        }
    }

    /// Counts a connection closed because its started message stalled, with a log line at a bounded rate.
    pub fn count_stall(&self, what: &str, held: usize) {
        self.stalls.fetch_add(1, Relaxed);
        if let Some(suppressed) = self.log.check() {
            tracing::warn!(reader = what, stall = ?self.stall, held, suppressed,
                "buffer budget: closing a connection whose message stalled");
        }
    }
}

/// One reader's share of the budget; what it holds goes back when it shrinks or is dropped.
#[derive(Debug)]
pub struct Lease {
    budget: Arc<Budget>,
    /// Buffer bytes this lease covers.
    held: usize,
    /// Of which charged to the budget (all but the free first bytes).
    charged: usize,
    /// Held while the lease is above [`SMALL`].
    slot: Option<OwnedSemaphorePermit>,
}

impl Lease {
    /// Buffer bytes covered now.
    pub fn held(&self) -> usize {
        self.held
    }

    /// The budget this lease draws on.
    pub fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// Covers a buffer of `size` bytes, waiting for room when the budget is spent. Does nothing if it already
    /// covers that much.
    pub async fn grow_to(&mut self, size: usize) -> Result<(), BudgetError> {
        if size <= self.held {
            return Ok(());
        }
        let charge = size.saturating_sub(FREE_PER_LEASE);
        let need = charge - self.charged;
        let cap = if size > SMALL { self.budget.large_limit } else { self.budget.limit };
        if charge > cap {
            return Err(BudgetError::NeverFits { limit: cap.saturating_add(FREE_PER_LEASE), wanted: size });
        }
        let deadline = tokio::time::Instant::now() + self.budget.wait;
        let mut waited = false;
        if size > SMALL && self.slot.is_none() {
            let slots = self.budget.large_slots.clone();
            self.slot = match slots.clone().try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => {
                    self.budget.waits.fetch_add(1, Relaxed);
                    waited = true;
                    match tokio::time::timeout_at(deadline, slots.acquire_owned()).await {
                        Ok(Ok(p)) => Some(p),
                        _ => return Err(self.exhausted(size)),
                    }
                }
            };
        }
        if !self.budget.try_charge(need, size) {
            if !waited {
                self.budget.waits.fetch_add(1, Relaxed);
            }
            self.wait_for(need, size, deadline).await?;
        }
        self.held = size;
        self.charged = charge;
        Ok(())
    }

    fn exhausted(&self, wanted: usize) -> BudgetError {
        BudgetError::Exhausted { limit: self.budget.limit, wanted, waited: self.budget.wait }
    }

    async fn wait_for(&self, need: usize, size: usize, deadline: tokio::time::Instant) -> Result<(), BudgetError> {
        let b = &self.budget;
        loop {
            let freed = b.freed.notified();
            tokio::pin!(freed);
            // Registered before the check, so a release between the check and the wait is not missed.
            freed.as_mut().enable();
            if b.try_charge(need, size) {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return if b.try_charge(need, size) { Ok(()) } else { Err(self.exhausted(size)) };
            }
        }
    }

    /// Covers only `size` bytes from now on (the buffer shrank), giving the rest back.
    pub fn shrink_to(&mut self, size: usize) {
        if size >= self.held {
            return;
        }
        let charge = size.saturating_sub(FREE_PER_LEASE);
        self.budget.release(self.charged - charge);
        self.held = size;
        self.charged = charge;
        if size <= SMALL {
            self.slot = None;
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.budget.release(self.charged);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
    }

    #[test]
    fn charges_beyond_the_free_bytes_and_gives_back() {
        rt().block_on(async {
            let b = Budget::new(1 << 20, 1 << 10, Duration::from_secs(1), None);
            let mut l = b.lease();
            l.grow_to(FREE_PER_LEASE).await.unwrap();
            assert_eq!(b.used(), 0);
            l.grow_to(FREE_PER_LEASE + 100).await.unwrap();
            assert_eq!(b.used(), 100);
            l.grow_to(10).await.unwrap();
            assert_eq!((l.held(), b.used()), (FREE_PER_LEASE + 100, 100));
            l.shrink_to(FREE_PER_LEASE + 40);
            assert_eq!(b.used(), 40);
            drop(l);
            assert_eq!(b.used(), 0);
            assert_eq!(b.stats().peak, 100);
        });
    }

    #[test]
    fn a_spent_budget_makes_readers_wait_then_fail() {
        rt().block_on(async {
            let b = Budget::new(8 * SMALL, SMALL, Duration::from_millis(200), None);
            let mut big = b.lease();
            // Large leases stop at the budget minus its reserve.
            big.grow_to(7 * SMALL + FREE_PER_LEASE).await.unwrap();
            let mut other = b.lease();
            let err = other.grow_to(SMALL + FREE_PER_LEASE + 1).await.unwrap_err();
            assert!(matches!(err, BudgetError::Exhausted { .. }), "{err}");
            // A small reader still gets in, from the reserve.
            let mut small = b.lease();
            small.grow_to(64 << 10).await.unwrap();
            assert_eq!(b.stats().waits, 1);
            // A waiter is let in as soon as room is given back.
            let b2 = b.clone();
            let waiter = tokio::spawn(async move {
                let mut l = b2.lease();
                l.grow_to(2 * SMALL).await.map(|_| l.held())
            });
            tokio::time::sleep(Duration::from_millis(100)).await;
            big.shrink_to(0);
            assert_eq!(waiter.await.unwrap(), Ok(2 * SMALL));
        });
    }

    #[test]
    fn a_lease_larger_than_the_budget_fails_at_once() {
        rt().block_on(async {
            let b = Budget::new(8 * SMALL, SMALL, Duration::from_secs(3600), None);
            let err = b.lease().grow_to(8 * SMALL).await.unwrap_err();
            assert!(matches!(err, BudgetError::NeverFits { .. }), "{err}");
            assert!(b.largest_lease() < 8 * SMALL);
            b.lease().grow_to(b.largest_lease()).await.unwrap();
        });
    }

    #[test]
    fn unlimited_never_waits() {
        rt().block_on(async {
            let b = Budget::unlimited();
            let mut l = b.lease();
            l.grow_to(1 << 40).await.unwrap();
            assert_eq!(b.stats().waits, 0);
        });
    }

    #[test]
    fn large_messages_take_turns_instead_of_sharing_out_the_budget() {
        rt().block_on(async {
            // 14 MiB for large leases, 4 MiB messages: three slots.
            let b = Budget::new(16 << 20, 4 << 20, Duration::from_millis(200), None);
            assert_eq!(b.large_slots(), 3);
            let mut held: Vec<Lease> = Vec::new();
            for _ in 0..3 {
                let mut l = b.lease();
                l.grow_to(2 << 20).await.unwrap();
                held.push(l);
            }
            // Bytes are left, but a fourth large message waits for a slot, then gives up.
            let mut fourth = b.lease();
            assert!(matches!(fourth.grow_to(2 << 20).await, Err(BudgetError::Exhausted { .. })));
            // Small ones are not slotted.
            let mut small = b.lease();
            small.grow_to(SMALL).await.unwrap();
            // A slot comes back when its lease shrinks to small, and the waiter gets it.
            let b2 = b.clone();
            let waiter = tokio::spawn(async move {
                let mut l = b2.lease();
                l.grow_to(3 << 20).await.map(|_| l.held())
            });
            tokio::time::sleep(Duration::from_millis(50)).await;
            held[0].shrink_to(SMALL);
            assert_eq!(waiter.await.unwrap(), Ok(3 << 20));
            drop(held);
            drop(small);
            assert_eq!((b.used(), b.large_slots()), (0, 3));
        });
    }
}
