//! Bounded-rate logging for per-item and per-connection failures: the first occurrence logs at once, later
//! ones at most once per interval with the number suppressed in between, so a flood cannot fill the disk.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One rate-limited log site.
#[derive(Debug)]
pub struct RateLimited {
    interval: Duration,
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl RateLimited {
    /// A site that logs at most once per `interval`.
    pub const fn new(interval: Duration) -> Self {
        RateLimited { interval, last: Mutex::new(None), suppressed: AtomicU64::new(0) }
    }

    /// Returns `Some(suppressed_since_last)` when this occurrence should be logged, None when it should not.
    pub fn check(&self) -> Option<u64> {
        let now = Instant::now();
        let Ok(mut last) = self.last.lock() else {
            return None;
        };
        match *last {
            Some(t) if now.duration_since(t) < self.interval => {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => {
                *last = Some(now);
                Some(self.suppressed.swap(0, Ordering::Relaxed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppresses_within_interval() {
        let r = RateLimited::new(Duration::from_secs(3600));
        assert_eq!(r.check(), Some(0));
        assert_eq!(r.check(), None);
        assert_eq!(r.check(), None);
        let r2 = RateLimited::new(Duration::ZERO);
        assert_eq!(r2.check(), Some(0));
        assert_eq!(r2.check(), Some(0));
    }
}
