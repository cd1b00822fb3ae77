//! The last value of every check the agent runs (HBS's builtin checks: listening ports, process counts, URL
//! health, directory sizes; and the shell checks), for the agent's page. Bounded: checks come from HBS and the
//! config, and past [`MAX_CHECKS`] new series are not kept.

use falcon_proto::model::MetricValue;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Most series kept.
pub const MAX_CHECKS: usize = 512;

/// The builtin metrics that are checks HBS asks for (the others are the host's own numbers).
pub const BUILTIN_CHECKS: &[&str] = &["net.port.listen", "proc.num", "url.check.health", "du.bs"];

/// One check's last value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckValue {
    /// The metric.
    pub metric: String,
    /// Its tags.
    pub tags: String,
    /// The last value (`null` if it was not a finite number).
    pub value: Option<f64>,
    /// Its timestamp.
    pub timestamp: i64,
}

/// (metric, tags) -> (value, timestamp).
type Last = BTreeMap<(String, String), (Option<f64>, i64)>;

/// Last values by metric and tags.
#[derive(Debug, Default)]
pub struct CheckValues(Mutex<Last>);

impl CheckValues {
    /// Keeps the value of each item that is a check (`all`: every item is, as for shell checks).
    pub fn record(&self, items: &[MetricValue], all: bool) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for it in items.iter().filter(|i| all || BUILTIN_CHECKS.contains(&i.metric.as_str())) {
            let key = (it.metric.clone(), it.tags.clone());
            if m.len() >= MAX_CHECKS && !m.contains_key(&key) {
                continue;
            }
            m.insert(key, (it.value.as_f64().filter(|v| v.is_finite()), it.timestamp));
        }
    }

    /// Every check's last value, by metric then tags.
    pub fn snapshot(&self) -> Vec<CheckValue> {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.iter()
            .map(|((metric, tags), (value, timestamp))| CheckValue {
                metric: metric.clone(),
                tags: tags.clone(),
                value: *value,
                timestamp: *timestamp,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(metric: &str, tags: &str, v: f64, ts: i64) -> MetricValue {
        MetricValue {
            metric: metric.into(),
            tags: tags.into(),
            value: falcon_proto::model::GoValue::Number(v),
            timestamp: ts,
            ..Default::default()
        }
    }

    #[test]
    fn keeps_the_last_value_of_checks_only() {
        let c = CheckValues::default();
        c.record(&[item("cpu.idle", "", 90.0, 1), item("net.port.listen", "port=22", 1.0, 1)], false);
        c.record(&[item("net.port.listen", "port=22", 0.0, 2)], false);
        c.record(&[item("app.errors", "file=a.log", 3.0, 2)], true);
        let s = c.snapshot();
        assert_eq!(s.len(), 2);
        assert_eq!((s[1].metric.as_str(), s[1].value, s[1].timestamp), ("net.port.listen", Some(0.0), 2));
        assert_eq!(s[0].metric, "app.errors");
    }

    #[test]
    fn bounded() {
        let c = CheckValues::default();
        let many: Vec<MetricValue> = (0..MAX_CHECKS + 10).map(|i| item("x", &format!("i={i}"), 1.0, 1)).collect();
        c.record(&many, true);
        assert_eq!(c.snapshot().len(), MAX_CHECKS);
    }
}
