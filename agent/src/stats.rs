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

/// Most `(subject, outcome)` pairs an [`Outcomes`] tracks.
pub const MAX_SUBJECTS: usize = 1024;

/// Counts of outcomes per subject (`Agent.ReportStatus` ok/refused/error, a plugin's runs ok/failed), for
/// `/metrics`.
#[derive(Debug, Default)]
pub struct Outcomes(Mutex<BTreeMap<(String, &'static str), u64>>);

impl Outcomes {
    /// Counts one `outcome` of `subject`.
    pub fn add(&self, subject: &str, outcome: &'static str) {
        let mut m = match self.0.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let full = m.len() >= MAX_SUBJECTS;
        match m.get_mut(&(subject.to_string(), outcome)) {
            Some(n) => *n += 1,
            // Subjects come from HBS (plugin names): past a bound, new ones are not tracked, so a server
            // that sends ever new names cannot grow the agent.
            None if full => {}
            None => {
                m.insert((subject.to_string(), outcome), 1);
            }
        }
    }

    /// Every `(subject, outcome)` with its count.
    pub fn snapshot(&self) -> Vec<((String, &'static str), u64)> {
        let m = match self.0.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        m.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_count_and_stop_tracking_new_subjects_past_the_bound() {
        let o = Outcomes::default();
        o.add("a.sh", "ok");
        o.add("a.sh", "ok");
        o.add("a.sh", "failed");
        assert_eq!(o.snapshot(), vec![(("a.sh".to_string(), "failed"), 1), (("a.sh".to_string(), "ok"), 2)]);
        for i in 0..MAX_SUBJECTS * 2 {
            o.add(&format!("p{i}"), "ok");
        }
        assert_eq!(o.snapshot().len(), MAX_SUBJECTS);
        o.add("a.sh", "ok");
        assert!(o.snapshot().contains(&(("a.sh".to_string(), "ok"), 3)), "known subjects still count");
    }
}
