//! SMART ([`super::smart`]) and LSI RAID ([`super::lsiraid`]) health, where those tools are installed.
//!
//! The tools are slow (seconds per disk) and wake controllers, so they run at most every [`REFRESH_EVERY`],
//! on a thread of their own, each call bounded by [`CALL_TIMEOUT`]; every cycle reports the last results, so
//! an alarm on them sees a point per interval. `collector.diskHealth: false` turns this off.

use super::{CollectError, Env, Sample};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The most often the tools run.
pub const REFRESH_EVERY: Duration = Duration::from_secs(600);
/// The bound of one tool call.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct State {
    samples: Vec<Sample>,
    started: Option<Instant>,
    running: bool,
}

/// The last results and the refresh in progress.
#[derive(Debug, Default)]
pub struct DiskHealth {
    state: Mutex<State>,
}

impl DiskHealth {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        }
    }

    /// The cached samples; starts `refresh` on a new thread when the last one began [`REFRESH_EVERY`] ago (or
    /// never) and none is running.
    pub fn samples(self: &Arc<Self>, now: Instant, refresh: fn() -> Vec<Sample>) -> Vec<Sample> {
        let mut st = self.lock();
        let due = st.started.is_none_or(|s| now.saturating_duration_since(s) >= REFRESH_EVERY);
        if due && !st.running {
            st.running = true;
            st.started = Some(now);
            let me = self.clone();
            let spawned = std::thread::Builder::new().name("disk-health".into()).spawn(move || {
                let fresh = refresh();
                let mut st = me.lock();
                st.samples = fresh;
                st.running = false;
            });
            if let Err(e) = spawned {
                st.running = false;
                tracing::warn!(error = %e, "cannot start the disk health thread");
            }
        }
        st.samples.clone()
    }
}

/// Both tools, where installed.
pub fn refresh_all() -> Vec<Sample> {
    let mut out = super::smart::refresh(CALL_TIMEOUT);
    out.extend(super::lsiraid::refresh(CALL_TIMEOUT));
    out
}

/// `sys.disk.smart.*` and `sys.disk.lsiraid.*` from the last refresh.
pub fn collect(env: &Env) -> Result<Vec<Sample>, CollectError> {
    Ok(match &env.disk_health {
        Some(h) => h.samples(Instant::now(), refresh_all),
        None => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::gauge;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static RUNS: AtomicUsize = AtomicUsize::new(0);

    fn fake_refresh() -> Vec<Sample> {
        RUNS.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(50));
        vec![gauge("sys.disk.smart.health", 0.0, "device=/dev/sda")]
    }

    #[test]
    fn refreshes_in_the_background_at_most_every_ten_minutes() {
        let h = Arc::new(DiskHealth::default());
        let t0 = Instant::now();
        assert!(h.samples(t0, fake_refresh).is_empty(), "nothing before the first refresh ends");
        assert!(h.samples(t0, fake_refresh).is_empty(), "a running refresh is not started twice");
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(h.samples(t0 + Duration::from_secs(60), fake_refresh).len(), 1);
        assert_eq!(RUNS.load(Ordering::SeqCst), 1);
        h.samples(t0 + REFRESH_EVERY, fake_refresh);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(RUNS.load(Ordering::SeqCst), 2);
    }
}
