//! The page's traffic plot: items received, refused as invalid and delivered per output, as per-second rates
//! sampled every step (10 s) into a [`History`] of the last hour. A loop started with the listeners takes the
//! samples and stops at shutdown; the counters it reads are the ones `/counter/all` prints, read once per step.

use crate::app::App;
use crate::sender::lane::Output;
use crate::stats::Stats;
use falcon_runtime::history::{sample_every_page_step, History, HistoryView, Rates};
use falcon_runtime::shutdown::Shutdown;
use std::sync::Arc;
use std::time::Duration;

/// The traffic history.
#[derive(Debug)]
pub struct Traffic {
    history: History,
}

impl Default for Traffic {
    /// Sampled every page step (10 s, or `FALCON_PAGE_STEP_MS`), an hour kept.
    fn default() -> Self {
        Traffic { history: History::for_page() }
    }
}

impl Traffic {
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
pub async fn run(app: Arc<App>, sd: Shutdown) {
    let mut outputs: Vec<Output> = Vec::new();
    for l in app.sender.lanes() {
        if !outputs.contains(&l.output) {
            outputs.push(l.output);
        }
    }
    let mut rates = Rates::default();
    sample_every_page_step(sd, |elapsed, now| {
        app.traffic.record(&mut rates, elapsed, now, &readings(&app.stats, &outputs))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let t = Traffic::default();
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
