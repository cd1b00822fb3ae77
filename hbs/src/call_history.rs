//! JSON-RPC calls per second by method over the last hour, for the page's plot (`GET /page/calls`): a loop
//! reads the call counts every step and pushes their rates into a bounded [`History`](falcon_runtime::history::History).

use crate::state::Hbs;
use falcon_runtime::history::{sample_every_page_step, Rates};
use falcon_runtime::shutdown::Shutdown;
use std::sync::Arc;

/// Samples every page step (10 s, or `FALCON_PAGE_STEP_MS`) until shutdown.
pub async fn run(hbs: Arc<Hbs>, shutdown: Shutdown) {
    let mut rates = Rates::default();
    sample_every_page_step(shutdown, |at, now| sample(&hbs, &mut rates, at, now)).await
}

/// One sample stamped `now`, `at` after the sampler's start on the monotonic clock: every method's calls per
/// second since the previous sample.
pub fn sample(hbs: &Hbs, rates: &mut Rates, at: std::time::Duration, now: i64) {
    // Every method is counted from 0, so that its first calls already give a rate.
    let counts = hbs.calls.counts();
    hbs.call_history.push(now, &rates.update(at, &counts));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::db::Db;

    #[test]
    fn rates_by_method_from_the_first_call() {
        let Ok(db) = Db::memory() else { panic!("memory database") };
        let Ok(hbs) = Hbs::new(Config::default(), None, Arc::new(db)) else { panic!("state") };
        let mut rates = Rates::default();
        sample(&hbs, &mut rates, std::time::Duration::ZERO, 100);
        for _ in 0..20 {
            drop(hbs.calls.start("Agent.ReportStatus"));
        }
        sample(&hbs, &mut rates, std::time::Duration::from_secs(10), 110);
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
