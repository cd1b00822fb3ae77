//! The page's traffic plot: items received, refused as invalid and delivered per output, as per-second rates
//! sampled every step (10 s) into a [`History`] of the last hour. A loop started with the listeners takes the
//! samples and stops at shutdown; the counters it reads are the ones `/counter/all` prints, read once per step.

use crate::app::App;
use crate::sender::lane::Output;
use crate::stats::Stats;
use falcon_runtime::history::{page_step, History, HistoryView, Rates};
use falcon_runtime::shutdown::Shutdown;
use falcon_runtime::timefmt::now_unix;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};

/// Samples kept: an hour at the default step.
pub const SAMPLES: usize = 360;

/// The traffic history and its step.
#[derive(Debug)]
pub struct Traffic {
    step: Duration,
    history: History,
}

impl Traffic {
    /// Samples every `step` (the history reports it in whole seconds, at least 1).
    pub fn new(step: Duration) -> Self {
        let secs = (step.as_millis() as f64 / 1000.0).round().max(1.0) as u64;
        Traffic { step, history: History::new(secs, SAMPLES) }
    }

    /// Samples every [`page_step`] (10 s, or `FALCON_PAGE_STEP_MS`).
    pub fn from_env() -> Self {
        Self::new(page_step())
    }

    /// The sampling step.
    pub fn step(&self) -> Duration {
        self.step
    }

    /// What `/page/traffic` serves.
    pub fn view(&self) -> HistoryView {
        self.history.view()
    }

    /// Turns one reading of the counters, `elapsed` after the first, into rates stored at Unix time `unix`
    /// (none the first time).
    pub fn record(&self, rates: &mut Rates, elapsed: Duration, unix: i64, readings: &[(String, u64)]) {
        let per_s = rates.update(elapsed, readings);
        if per_s.is_empty() && !readings.is_empty() {
            return;
        }
        self.history.push(unix, &per_s);
    }
}

/// The series the plot shows: `received` (items accepted), `invalid` (refused by validation) and `sent.<output>`
/// (delivered) for each output in `outputs`.
pub fn readings(stats: &Stats, outputs: &[Output]) -> Vec<(String, u64)> {
    let n = |c: &crate::stats::QpsCounter| c.get().max(0) as u64;
    let mut v = Vec::with_capacity(2 + outputs.len());
    v.push(("received".to_string(), n(&stats.recv)));
    v.push(("invalid".to_string(), n(&stats.invalid)));
    for o in outputs {
        v.push((format!("sent.{}", o.name()), n(o.counters(stats).0)));
    }
    v
}

/// Samples `app`'s counters every step until `sd` fires.
pub async fn run(app: Arc<App>, mut sd: Shutdown) {
    let mut outputs: Vec<Output> = Vec::new();
    for l in app.sender.lanes() {
        if !outputs.contains(&l.output) {
            outputs.push(l.output);
        }
    }
    let traffic = &app.traffic;
    let step = traffic.step();
    let start = Instant::now();
    let mut rates = Rates::default();
    traffic.record(&mut rates, Duration::ZERO, now_unix(), &readings(&app.stats, &outputs));
    let mut ticks = tokio::time::interval_at(start + step, step);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = sd.wait() => return,
            _ = ticks.tick() => {}
        }
        traffic.record(&mut rates, start.elapsed(), now_unix(), &readings(&app.stats, &outputs));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use falcon_runtime::history::DEFAULT_STEP;

    #[test]
    fn readings_name_received_invalid_and_each_output() {
        let s = Stats::new();
        s.recv.add(42);
        s.invalid.add(2);
        s.send_to_graph.add(40);
        let r = readings(&s, &[Output::Judge, Output::Graph, Output::RemoteWrite]);
        let names: Vec<&str> = r.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["received", "invalid", "sent.judge", "sent.graph", "sent.remoteWrite"]);
        assert_eq!(r.iter().map(|(_, v)| *v).collect::<Vec<_>>(), [42, 2, 0, 40, 0]);
    }

    #[test]
    fn samples_are_per_second_rates_from_the_second_reading_on() {
        let t = Traffic::new(DEFAULT_STEP);
        let mut rates = Rates::default();
        let at = |v: u64| vec![("received".to_string(), v), ("sent.graph".to_string(), v / 2)];
        t.record(&mut rates, Duration::ZERO, 1000, &at(100));
        assert!(t.view().times.is_empty(), "a first reading has no rate");
        t.record(&mut rates, Duration::from_millis(10_000), 1010, &at(600));
        t.record(&mut rates, Duration::from_millis(20_000), 1020, &at(600));
        let v = t.view();
        assert_eq!(v.times, [1010, 1020]);
        assert_eq!(v.series["received"], [Some(50.0), Some(0.0)]);
        assert_eq!(v.series["sent.graph"], [Some(25.0), Some(0.0)]);
    }
}
