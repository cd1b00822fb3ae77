//! JSON-RPC calls per second by method over the last hour, for the page's plot (`GET /page/calls`): a loop
//! reads the call counts every step and pushes their rates into a bounded [`History`].

use crate::state::Hbs;
use falcon_runtime::history::{History, Rates};
use falcon_runtime::shutdown::Shutdown;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Environment variable that sets the sampling step in milliseconds (tests: a short one), read once.
pub const STEP_ENV: &str = "FALCON_PAGE_STEP_MS";
/// The sampling step when the variable is not set: 360 samples are an hour.
pub const DEFAULT_STEP: Duration = Duration::from_secs(10);
/// Samples kept.
pub const CAPACITY: usize = 360;

/// The step: [`STEP_ENV`] in whole seconds (samples are stamped in Unix seconds, so below a second rates would
/// not be computable), at most an hour; [`DEFAULT_STEP`] when unset or not a number.
pub fn step() -> Duration {
    static STEP: OnceLock<Duration> = OnceLock::new();
    *STEP.get_or_init(|| parse_step(std::env::var(STEP_ENV).ok().as_deref()))
}

fn parse_step(v: Option<&str>) -> Duration {
    match v.and_then(|s| s.trim().parse::<u64>().ok()) {
        Some(ms) => Duration::from_secs(ms.div_ceil(1000).clamp(1, 3600)),
        None => DEFAULT_STEP,
    }
}

/// An empty history at [`step`].
pub fn history() -> History {
    History::new(step().as_secs(), CAPACITY)
}

/// Samples every [`step`] until shutdown.
pub async fn run(hbs: Arc<Hbs>, mut shutdown: Shutdown) {
    let mut rates = Rates::default();
    let mut tick = tokio::time::interval(step());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait() => return,
        }
        sample(&hbs, &mut rates, falcon_runtime::timefmt::now_unix());
    }
}

/// One sample at `now`: every method's calls per second since the previous sample.
pub fn sample(hbs: &Hbs, rates: &mut Rates, now: i64) {
    let mut counts = hbs.calls.counts();
    // Methods not called yet count as 0, so that their first calls already give a rate.
    for m in crate::rpc::METHODS {
        if !counts.iter().any(|(n, _)| n == m) {
            counts.push((m.to_string(), 0));
        }
    }
    let r = rates.update(now, &counts);
    hbs.call_history.push(now, &r);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::db::Db;

    #[test]
    fn step_from_the_environment_value() {
        assert_eq!(parse_step(None), DEFAULT_STEP);
        assert_eq!(parse_step(Some("x")), DEFAULT_STEP);
        assert_eq!(parse_step(Some("200")), Duration::from_secs(1));
        assert_eq!(parse_step(Some("1000")), Duration::from_secs(1));
        assert_eq!(parse_step(Some("2500")), Duration::from_secs(3));
        assert_eq!(parse_step(Some("99999999")), Duration::from_secs(3600));
    }

    #[test]
    fn rates_by_method_from_the_first_call() {
        let Ok(db) = Db::memory() else { panic!("memory database") };
        let Ok(hbs) = Hbs::new(Config::default(), None, Arc::new(db)) else { panic!("state") };
        let mut rates = Rates::default();
        sample(&hbs, &mut rates, 100);
        for _ in 0..20 {
            drop(hbs.calls.start("Agent.ReportStatus"));
        }
        sample(&hbs, &mut rates, 110);
        let v = hbs.call_history.view();
        assert_eq!(v.times, vec![100, 110]);
        assert_eq!(v.series["Agent.ReportStatus"], vec![None, Some(2.0)]);
        assert_eq!(v.series["Hbs.GetStrategies"], vec![None, Some(0.0)]);
        assert_eq!(v.series.len(), crate::rpc::METHODS.len());
    }

    #[test]
    fn the_registry_answers_every_method_listed() {
        let Ok(db) = Db::memory() else { panic!("memory database") };
        let Ok(hbs) = Hbs::new(Config::default(), None, Arc::new(db)) else { panic!("state") };
        let reg = crate::rpc::registry(hbs);
        for m in crate::rpc::METHODS {
            assert!(reg.lookup(m).is_ok(), "{m}");
        }
    }
}
