//! Per-collector counters: runs, failures, overruns and the last duration (`/counter/collectors`).

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// One collector's counters.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CollectorStat {
    /// Runs that produced samples (possibly none).
    pub ok: u64,
    /// Runs that failed.
    pub failed: u64,
    /// Cycles skipped because the previous run had not finished.
    pub overrun: u64,
    /// Duration of the last run, microseconds.
    pub last_us: u64,
    /// Duration of every run together, microseconds (`/metrics`: with the runs, the mean).
    #[serde(skip)]
    pub total_us: u64,
    /// The last failure, if any.
    pub last_error: String,
}

/// Every collector's counters.
#[derive(Debug, Default)]
pub struct CollectorStats(Mutex<BTreeMap<String, CollectorStat>>);

impl CollectorStats {
    fn with(&self, name: &str, f: impl FnOnce(&mut CollectorStat)) {
        let mut m = match self.0.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        f(m.entry(name.to_string()).or_default());
    }

    /// Records a run.
    pub fn record(&self, name: &str, took: Duration, error: Option<String>) {
        self.with(name, |s| {
            s.last_us = took.as_micros() as u64;
            s.total_us = s.total_us.saturating_add(s.last_us);
            match error {
                Some(e) => {
                    s.failed += 1;
                    s.last_error = e;
                }
                None => s.ok += 1,
            }
        });
    }

    /// Records a skipped cycle.
    pub fn overrun(&self, name: &str) {
        self.with(name, |s| s.overrun += 1);
    }

    /// A copy of everything.
    pub fn snapshot(&self) -> BTreeMap<String, CollectorStat> {
        match self.0.lock() {
            Ok(m) => m.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}
