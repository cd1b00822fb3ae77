//! The agent's `/metrics`: each collector's runs, failures, overruns and time; the sender's items and batches
//! (sent, refused as invalid, dropped, waiting, spooled); HBS calls by method and outcome; plugin and shell-check
//! runs; the buffer budget. Read at scrape time from the counters `/counter/*` shows; built at the first scrape.

use crate::app::Agent;
use falcon_runtime::metrics::{Labels, Metrics};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Weak};

fn labels(pairs: &[(&'static str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

/// Builds the registry; it holds the agent weakly (the agent holds the registry).
pub fn build(agent: Weak<Agent>, budget: Arc<falcon_runtime::budget::Budget>) -> Metrics {
    let mut m = Metrics::new("agent", crate::identity::VERSION);
    falcon_runtime::metrics::collect_budget(&mut m, budget);
    m.collect(move |s| {
        let Some(a) = agent.upgrade() else { return Ok(()) };
        let collectors = a.stats.snapshot();
        let mut runs = Vec::with_capacity(collectors.len() * 2);
        let (mut overruns, mut seconds, mut last) = (Vec::new(), Vec::new(), Vec::new());
        for (name, st) in &collectors {
            runs.push((labels(&[("collector", name), ("outcome", "ok")]), st.ok));
            runs.push((labels(&[("collector", name), ("outcome", "failed")]), st.failed));
            overruns.push((labels(&[("collector", name)]), st.overrun));
            seconds.push((labels(&[("collector", name)]), st.total_us as f64 / 1e6));
            last.push((labels(&[("collector", name)]), st.last_us as f64 / 1e6));
        }
        s.counters("collector_runs", "Collector runs, by collector and outcome.", &runs)?;
        s.counters(
            "collector_overruns",
            "Cycles a collector skipped because its previous run had not finished.",
            &overruns,
        )?;
        s.gauges("collector_last_duration_seconds", "Seconds the collector's last run took.", &last)?;
        s.counters_f64("collector_duration_seconds", "Seconds spent in a collector's runs.", &seconds)?;

        let st = &a.sender.stats;
        s.counter("sent_items", "Items a transfer accepted.", st.items_sent.load(Relaxed))?;
        s.counter("sent_batches", "Batches a transfer accepted.", st.batches_sent.load(Relaxed))?;
        s.counter("invalid_items", "Items transfer answered as invalid.", st.items_invalid.load(Relaxed))?;
        s.counter("dropped_items", "Items dropped because the send buffer was full.", st.items_dropped.load(Relaxed))?;
        s.counter(
            "send_rounds_failed",
            "Delivery rounds in which every transfer failed.",
            st.rounds_failed.load(Relaxed),
        )?;
        s.gauge("buffered_items", "Items waiting to be sent.", st.items_buffered.load(Relaxed) as f64)?;
        s.gauge("spool_bytes", "Bytes in the send spool file.", a.sender.spool_bytes() as f64)?;

        let calls: Vec<(Labels, u64)> = a
            .hbs_calls
            .snapshot_with(&["ok", "error"])
            .into_iter()
            .map(|((method, outcome), n)| (labels(&[("method", &method), ("outcome", outcome)]), n))
            .collect();
        s.counters("hbs_calls", "Calls to HBS, by method and outcome (ok: answered; error: not).", &calls)?;
        let last_ok = a.hbs_last_ok.load(Relaxed);
        if last_ok > 0 {
            s.gauge(
                "hbs_last_success_timestamp_seconds",
                "When HBS last answered a call (Unix seconds).",
                last_ok as f64,
            )?;
        }
        let plugins: Vec<(Labels, u64)> = a
            .plugins
            .runs
            .snapshot_with(&["ok", "failed"])
            .into_iter()
            .map(|((plugin, outcome), n)| (labels(&[("plugin", &plugin), ("outcome", outcome)]), n))
            .collect();
        s.counters("plugin_runs", "Plugin runs, by plugin and outcome.", &plugins)?;
        let checks = a.shell_checks.snapshot();
        let mut check_runs = Vec::with_capacity(checks.len() * 2);
        let mut check_seconds = Vec::with_capacity(checks.len());
        for c in &checks {
            check_runs.push((labels(&[("check", &c.metric), ("outcome", "ok")]), c.runs.saturating_sub(c.failures)));
            check_runs.push((labels(&[("check", &c.metric), ("outcome", "failed")]), c.failures));
            check_seconds.push((labels(&[("check", &c.metric)]), c.last_duration_ms as f64 / 1e3));
        }
        s.counters("check_runs", "Shell check runs, by check (its metric) and outcome.", &check_runs)?;
        s.gauges("check_last_duration_seconds", "Seconds a shell check's last run took.", &check_seconds)
    });
    m
}
