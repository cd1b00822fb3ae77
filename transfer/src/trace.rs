//! `/trace/<endpoint>/<metric>[/<tags>]` and `/filter/...`: the last few items of one series seen on the
//! graph path, as Go's `proc.DataTrace` (3 items) and `proc.DataFilter` (5 items matching a comparison) keep.

use crate::point::Point;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// Go's filter comparisons, with its 1e-6 tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opt {
    /// |v - t| < 1e-6
    Eq,
    /// |v - t| >= 1e-6
    Ne,
    /// v - t > 1e-6
    Gt,
    /// v - t < -1e-6
    Lt,
}

impl Opt {
    /// Parses `eq`, `ne`, `gt`, `lt`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "eq" => Some(Opt::Eq),
            "ne" => Some(Opt::Ne),
            "gt" => Some(Opt::Gt),
            "lt" => Some(Opt::Lt),
            _ => None,
        }
    }

    fn matches(self, v: f64, t: f64) -> bool {
        match self {
            Opt::Eq => (v - t).abs() < 0.000001,
            Opt::Ne => (v - t).abs() >= 0.000001,
            Opt::Gt => v - t > 0.000001,
            Opt::Lt => v - t < -0.000001,
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    pk: String,
    filter: Option<(Opt, f64)>,
    items: VecDeque<Arc<Point>>,
}

/// One armed series and its most recent matching items (newest first).
#[derive(Debug)]
pub struct Recorder {
    armed: AtomicBool,
    max: usize,
    inner: Mutex<Inner>,
}

impl Recorder {
    /// Keeps at most `max` items.
    pub fn new(max: usize) -> Self {
        Recorder { armed: AtomicBool::new(false), max, inner: Mutex::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Arms it for `pk` (and, for filters, a comparison); switching to another series clears what was kept.
    pub fn arm(&self, pk: String, filter: Option<(Opt, f64)>) {
        let mut g = self.lock();
        if g.pk != pk {
            g.items.clear();
        }
        g.pk = pk;
        g.filter = filter;
        self.armed.store(true, Relaxed);
    }

    /// Offers an item of series `pk`; cheap when nothing is armed.
    pub fn offer(&self, pk: &str, p: &Arc<Point>) {
        if !self.armed.load(Relaxed) {
            return;
        }
        let mut g = self.lock();
        if g.pk != pk {
            return;
        }
        if let Some((opt, t)) = g.filter {
            if !opt.matches(p.value, t) {
                return;
            }
        }
        g.items.push_front(p.clone());
        g.items.truncate(self.max);
    }

    /// The kept items, newest first.
    pub fn items(&self) -> Vec<Arc<Point>> {
        self.lock().items.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point::CounterType;

    fn p(v: f64) -> Arc<Point> {
        Arc::new(Point {
            endpoint: Arc::from("vm"),
            metric: "cpu.idle".into(),
            tags: String::new(),
            value: v,
            timestamp: 1,
            step: 10,
            counter_type: CounterType::Gauge,
        })
    }

    #[test]
    fn keeps_newest_matching_items() {
        let t = Recorder::new(3);
        t.offer("vm/cpu.idle", &p(1.0));
        assert!(t.items().is_empty(), "not armed");
        t.arm("vm/cpu.idle".into(), None);
        for v in 0..5 {
            t.offer("vm/cpu.idle", &p(v as f64));
            t.offer("vm/other", &p(100.0));
        }
        let vals: Vec<f64> = t.items().iter().map(|p| p.value).collect();
        assert_eq!(vals, vec![4.0, 3.0, 2.0]);
        t.arm("vm/cpu.idle".into(), None);
        assert_eq!(t.items().len(), 3, "same series keeps items");
        t.arm("vm/x".into(), None);
        assert!(t.items().is_empty(), "another series clears");
    }

    #[test]
    fn filter_comparisons_use_gos_tolerance() {
        let f = Recorder::new(5);
        f.arm("vm/cpu.idle".into(), Some((Opt::Lt, 1000.0)));
        for v in [999.0, 1000.0, 999.9999995, 5.0] {
            f.offer("vm/cpu.idle", &p(v));
        }
        let vals: Vec<f64> = f.items().iter().map(|p| p.value).collect();
        assert_eq!(vals, vec![5.0, 999.0]);
        assert!(Opt::Eq.matches(1.0, 1.0000001));
        assert!(Opt::Ne.matches(1.0, 1.01));
        assert!(Opt::Gt.matches(2.0, 1.0));
        assert_eq!(Opt::parse("le"), None);
    }
}
