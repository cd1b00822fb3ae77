//! A bounded in-memory history of a few numbers, for the binaries' own pages (plots of the last hour): every
//! step the owner pushes one sample of each series; the oldest samples and series beyond a bound are dropped, so
//! it never grows with uptime or with what peers send.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// The environment variable that sets the pages' sampling step in milliseconds (tests use a short one).
pub const STEP_ENV: &str = "FALCON_PAGE_STEP_MS";

/// The sampling step when [`STEP_ENV`] is not set.
pub const DEFAULT_STEP: Duration = Duration::from_secs(10);

/// The shortest and longest steps [`STEP_ENV`] may set.
const STEP_BOUNDS: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(3600));

/// The step of the pages' histories: [`STEP_ENV`] milliseconds, else [`DEFAULT_STEP`]; read once.
pub fn page_step() -> Duration {
    static STEP: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *STEP.get_or_init(|| {
        let var = std::env::var(STEP_ENV).ok();
        let step = step_from(var.as_deref());
        if var.is_some() {
            tracing::info!(step_ms = step.as_millis() as u64, "{STEP_ENV}: pages sampled at this step");
        }
        step
    })
}

/// The step [`STEP_ENV`]'s value asks for: milliseconds within 100 ms and an hour, else the default.
pub fn step_from(value: Option<&str>) -> Duration {
    let Some(v) = value else { return DEFAULT_STEP };
    match v.trim().parse::<u64>() {
        Ok(ms) => Duration::from_millis(ms).clamp(STEP_BOUNDS.0, STEP_BOUNDS.1),
        Err(_) => {
            tracing::warn!(value = v, "{STEP_ENV} is not a number of milliseconds; sampling every 10 s");
            DEFAULT_STEP
        }
    }
}

/// At most this many series per history: series come from counter names (methods, outputs), which peers can
/// influence; past the bound new names are not recorded.
pub const MAX_SERIES: usize = 32;

/// Samples a page's history keeps: an hour at the default step.
pub const PAGE_SAMPLES: usize = 360;

/// Calls `sample(elapsed, now)` at once and then every [`page_step`] until `shutdown`: `elapsed` on the monotonic
/// clock since the first call (what [`Rates::update`] takes), `now` in Unix seconds (the sample's time). A step
/// missed while the process was stalled is skipped, not made up.
pub async fn sample_every_page_step(mut shutdown: crate::shutdown::Shutdown, mut sample: impl FnMut(Duration, i64)) {
    let start = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(page_step());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait() => return,
        }
        sample(start.elapsed(), crate::timefmt::now_unix());
    }
}

/// Samples at a fixed step, the last `capacity` kept.
#[derive(Debug)]
pub struct History {
    step: u64,
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    times: VecDeque<i64>,
    series: BTreeMap<String, VecDeque<Option<f64>>>,
}

/// What a page gets: the sample times (Unix seconds) and each series' values at those times (`null` where a
/// series had no value).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HistoryView {
    /// Seconds between samples.
    pub step: u64,
    /// Sample times, oldest first.
    pub times: Vec<i64>,
    /// Values by series name, aligned with `times`.
    pub series: BTreeMap<String, Vec<Option<f64>>>,
}

impl History {
    /// A history sampled every `step` seconds keeping `capacity` samples (an hour at 10 s: 360).
    pub fn new(step: u64, capacity: usize) -> Self {
        History { step: step.max(1), capacity: capacity.max(1), inner: Mutex::new(Inner::default()) }
    }

    /// A page's history: [`page_step`] (in whole seconds, at least 1) and [`PAGE_SAMPLES`].
    pub fn for_page() -> Self {
        History::new(page_step().as_secs(), PAGE_SAMPLES)
    }

    /// Seconds between samples.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Appends one sample taken at `ts`. Non-finite values are stored as gaps.
    pub fn push(&self, ts: i64, values: &[(String, f64)]) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let inner = &mut *g;
        let len = inner.times.len();
        for (name, _) in values {
            if !inner.series.contains_key(name) && inner.series.len() < MAX_SERIES {
                inner.series.insert(name.clone(), std::iter::repeat_n(None, len).collect());
            }
        }
        let given: HashMap<&str, f64> = values.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        for (name, col) in inner.series.iter_mut() {
            col.push_back(given.get(name.as_str()).copied().filter(|v| v.is_finite()));
        }
        inner.times.push_back(ts);
        while inner.times.len() > self.capacity {
            inner.times.pop_front();
            for col in inner.series.values_mut() {
                col.pop_front();
            }
        }
    }

    /// A copy for a page.
    pub fn view(&self) -> HistoryView {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        HistoryView {
            step: self.step,
            times: g.times.iter().copied().collect(),
            series: g.series.iter().map(|(k, v)| (k.clone(), v.iter().copied().collect())).collect(),
        }
    }
}

/// Turns counters into per-second rates between two readings.
#[derive(Debug, Default)]
pub struct Rates {
    last: HashMap<String, (Duration, u64)>,
}

impl Rates {
    /// The per-second rate of each counter since its previous reading (none the first time, or when the
    /// counter went backwards, as after a restart of what it counts). `at` is a monotonic time (elapsed since
    /// the caller's start), so a step is not measured as 9 or 11 s when the wall clock's second ticks over in
    /// between, and sub-second steps (tests) still give rates.
    pub fn update(&mut self, at: Duration, counters: &[(String, u64)]) -> Vec<(String, f64)> {
        let mut out = Vec::with_capacity(counters.len());
        for (name, v) in counters {
            if let Some((t0, v0)) = self.last.get(name) {
                if at > *t0 && v >= v0 {
                    out.push((name.clone(), (v - v0) as f64 / (at - *t0).as_secs_f64()));
                }
            }
            if self.last.len() < MAX_SERIES * 4 || self.last.contains_key(name) {
                self.last.insert(name.clone(), (at, *v));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, v: f64) -> (String, f64) {
        (name.to_string(), v)
    }

    #[test]
    fn keeps_the_last_samples_aligned_with_gaps() {
        let h = History::new(10, 3);
        h.push(10, &[s("a", 1.0)]);
        h.push(20, &[s("a", 2.0), s("b", 5.0)]);
        h.push(30, &[s("b", f64::NAN)]);
        h.push(40, &[s("a", 4.0), s("b", 6.0)]);
        let v = h.view();
        assert_eq!(v.times, vec![20, 30, 40]);
        assert_eq!(v.series["a"], vec![Some(2.0), None, Some(4.0)]);
        assert_eq!(v.series["b"], vec![Some(5.0), None, Some(6.0)]);
        assert!(serde_json::to_string(&v).unwrap_or_default().contains("null"), "gaps are JSON nulls");
    }

    #[test]
    fn series_are_bounded() {
        let h = History::new(10, 2);
        let many: Vec<(String, f64)> = (0..MAX_SERIES * 2).map(|i| (format!("m{i}"), 1.0)).collect();
        h.push(1, &many);
        assert_eq!(h.view().series.len(), MAX_SERIES);
    }

    #[test]
    fn the_step_from_the_environment_is_bounded() {
        assert_eq!(step_from(None), DEFAULT_STEP);
        assert_eq!(step_from(Some("1000")), Duration::from_secs(1));
        assert_eq!(step_from(Some(" 250 ")), Duration::from_millis(250));
        assert_eq!(step_from(Some("1")), Duration::from_millis(100), "bounded below");
        assert_eq!(step_from(Some("99999999999")), Duration::from_secs(3600), "bounded above");
        assert_eq!(step_from(Some("ten")), DEFAULT_STEP);
    }

    #[test]
    fn rates_between_readings() {
        let mut r = Rates::default();
        let s = Duration::from_secs;
        assert!(r.update(s(0), &[("x".into(), 100)]).is_empty());
        assert_eq!(r.update(s(10), &[("x".into(), 150)]), vec![("x".to_string(), 5.0)]);
        assert!(r.update(s(20), &[("x".into(), 10)]).is_empty(), "a counter that went back gives no rate");
        assert_eq!(r.update(s(30), &[("x".into(), 30)]), vec![("x".to_string(), 2.0)]);
        assert_eq!(r.update(Duration::from_millis(30_500), &[("x".into(), 31)]), vec![("x".to_string(), 2.0)]);
    }
}
