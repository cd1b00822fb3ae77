//! Counts of outcomes per subject (an HBS method answered or not, a plugin run ok or failed, an updater's
//! operation per agent), bounded in the number of subjects, for the `/metrics` routes.

use std::collections::BTreeMap;
use std::sync::Mutex;

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
            // Subjects may come from peers (plugin names from HBS, agent names from an updater's server):
            // past a bound, new ones are not tracked, so a peer that sends ever new names cannot grow us.
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

impl Outcomes {
    /// Like [`snapshot`](Self::snapshot), with every outcome of `all` present at 0 for each subject seen, so a
    /// first error is a change from 0 that `rate()` sees, not a series appearing.
    pub fn snapshot_with(&self, all: &[&'static str]) -> Vec<((String, &'static str), u64)> {
        let mut m: BTreeMap<(String, &'static str), u64> = self.snapshot().into_iter().collect();
        let subjects: Vec<String> = m.keys().map(|(s, _)| s.clone()).collect();
        for s in subjects {
            for o in all {
                m.entry((s.clone(), o)).or_insert(0);
            }
        }
        m.into_iter().collect()
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
        let z = Outcomes::default();
        z.add("Agent.ReportStatus", "ok");
        assert_eq!(
            z.snapshot_with(&["ok", "error"]),
            vec![(("Agent.ReportStatus".to_string(), "error"), 0), (("Agent.ReportStatus".to_string(), "ok"), 1)]
        );
    }
}
