//! The updater's `/metrics`: heartbeats by outcome and when one was last answered, operations per agent by
//! outcome (a rollback is `rolled_back`), the agents it manages with the version each runs.

use crate::heartbeat::Updater;
use falcon_runtime::metrics::{Labels, Metrics};
use std::sync::Weak;

/// Builds the registry; it holds the updater weakly (the HTTP state holds both).
pub fn build(updater: Weak<Updater>) -> Metrics {
    let mut m = Metrics::new("updater", env!("CARGO_PKG_VERSION"));
    m.collect(move |s| {
        let Some(u) = updater.upgrade() else { return Ok(()) };
        let beats: Vec<(Labels, u64)> = u
            .counts
            .heartbeats
            .snapshot_with(&["ok", "error"])
            .into_iter()
            .map(|((_, outcome), n)| (vec![("outcome", outcome.to_string())], n))
            .collect();
        s.counters("heartbeats", "Heartbeats to the server, by outcome (ok: answered without an error).", &beats)?;
        let ops: Vec<(Labels, u64)> = u
            .counts
            .operations
            .snapshot()
            .into_iter()
            .map(|((agent, outcome), n)| (vec![("agent", agent), ("outcome", outcome.to_string())], n))
            .collect();
        s.counters(
            "operations",
            "Operations on a managed agent, by agent and outcome (running, rolled_back, stopped, skipped, failed).",
            &ops,
        )?;
        let status = u.status.lock().map(|s| s.clone()).unwrap_or_default();
        if status.last_heartbeat > 0 {
            s.gauge(
                "last_heartbeat_timestamp_seconds",
                "When the server last answered a heartbeat (Unix seconds).",
                status.last_heartbeat as f64,
            )?;
        }
        let agents: Vec<(Labels, f64)> = status
            .agents
            .iter()
            .map(|a| {
                let up = f64::from(u8::from(a.status.starts_with("started")));
                (vec![("agent", a.name.clone()), ("version", a.version.clone())], up)
            })
            .collect();
        s.gauges("agent_running", "Managed agents by version: 1 when its control status says started, else 0.", &agents)
    });
    m
}
