//! The HBS's `/metrics`: JSON-RPC calls by method (count and latency), the portal cache's age and size, reload
//! and database failures, the host-write queue, the agents heard from by version, the updaters' heartbeats and
//! tarball downloads, and the buffer budget.

use crate::state::Hbs;
use falcon_runtime::metrics::prometheus_client::metrics::counter::Counter;
use falcon_runtime::metrics::prometheus_client::metrics::family::Family;
use falcon_runtime::metrics::prometheus_client::metrics::histogram::Histogram;
use falcon_runtime::metrics::{Labels, Metrics, SecondsHistogram};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Weak};
use std::time::Instant;

/// JSON-RPC calls, counted and timed per method. The series of every method the server registers are made at
/// start, so a call costs an increment and a clone of its histogram handle (no label allocation, no lookup).
#[derive(Debug, Clone)]
pub struct CallStats {
    calls: Family<Labels, Counter>,
    seconds: SecondsHistogram,
    /// `rpc::METHODS` with their series, in that order.
    methods: Vec<(&'static str, Counter, Histogram)>,
}

impl Default for CallStats {
    fn default() -> Self {
        let calls = Family::<Labels, Counter>::default();
        let seconds = falcon_runtime::metrics::seconds_family();
        let methods = crate::rpc::METHODS
            .iter()
            .map(|m| {
                let labels = vec![("method", m.to_string())];
                (*m, calls.get_or_create_owned(&labels), seconds.get_or_create_owned(&labels))
            })
            .collect();
        CallStats { calls, seconds, methods }
    }
}

impl CallStats {
    /// Starts timing one call of `method`; counted at once, observed when the guard is dropped.
    pub fn start(&self, method: &'static str) -> CallTimer {
        let histogram = match self.methods.iter().find(|(m, _, _)| *m == method) {
            Some((_, calls, seconds)) => {
                calls.inc();
                seconds.clone()
            }
            // Every registered method is in `rpc::METHODS` (a test checks); this is for one that is not.
            None => {
                let labels = vec![("method", method.to_string())];
                self.calls.get_or_create(&labels).inc();
                self.seconds.get_or_create_owned(&labels)
            }
        };
        CallTimer { histogram, started: Instant::now() }
    }

    /// Calls so far, by method (every registered one, from 0).
    pub fn counts(&self) -> Vec<(String, u64)> {
        self.methods.iter().map(|(m, calls, _)| (m.to_string(), calls.get())).collect()
    }
}

/// One call being timed.
pub struct CallTimer {
    histogram: Histogram,
    started: Instant,
}

impl Drop for CallTimer {
    fn drop(&mut self) {
        self.histogram.observe(self.started.elapsed().as_secs_f64());
    }
}

/// What updaters asked of the HTTP port (ops-meta's routes).
#[derive(Debug, Default)]
pub struct UpdaterHttpStats {
    /// `POST /heartbeat` answered 200.
    heartbeats_ok: AtomicU64,
    /// Refused as malformed (400: blank body, bad JSON, no hostname).
    heartbeats_bad: AtomicU64,
    /// Given up for the buffer budget (503).
    heartbeats_refused: AtomicU64,
    /// `GET /tarball/...`: [tarball, checksum line] x [served, not found].
    files: [[AtomicU64; 2]; 2],
    /// Bytes of the tarballs served (each counted whole when its reply starts).
    tarball_bytes: AtomicU64,
}

impl UpdaterHttpStats {
    /// Counts a heartbeat reply by its status.
    pub fn heartbeat(&self, status: u16) {
        match status {
            200..=299 => &self.heartbeats_ok,
            503 => &self.heartbeats_refused,
            _ => &self.heartbeats_bad,
        }
        .fetch_add(1, Relaxed);
    }

    /// Counts a reply to `GET /tarball/<file>` (a checksum line or not) by its status; `bytes` of a tarball served.
    pub fn file(&self, checksum: bool, status: u16, bytes: u64) {
        let served = (200..300).contains(&status);
        self.files[usize::from(checksum)][usize::from(!served)].fetch_add(1, Relaxed);
        if served && !checksum {
            self.tarball_bytes.fetch_add(bytes, Relaxed);
        }
    }
}

/// What the cache reloads did.
#[derive(Debug, Default)]
pub struct ReloadStats {
    /// Unix seconds of the last successful load (0: none yet).
    pub last_ok: AtomicI64,
    /// Loads that failed (the last good snapshot stayed).
    pub failures: AtomicU64,
    /// Config reloads refused (a broken file; the running config stayed).
    pub config_failures: AtomicU64,
}

/// Builds the registry; it holds the HBS weakly (the HBS holds the registry).
pub fn build(hbs: Weak<Hbs>, calls: &CallStats, budget: Arc<falcon_runtime::budget::Budget>) -> Metrics {
    let mut m = Metrics::new("hbs", env!("CARGO_PKG_VERSION"));
    m.registry().register("rpc_calls", "JSON-RPC calls answered, by method", calls.calls.clone());
    m.registry().register(
        "rpc_duration_seconds",
        "Seconds a JSON-RPC call took to answer, by method",
        calls.seconds.clone(),
    );
    falcon_runtime::metrics::collect_budget(&mut m, budget);
    m.collect(move |s| {
        let Some(h) = hbs.upgrade() else { return Ok(()) };
        let now = falcon_runtime::timefmt::now_unix();
        let r = &h.reloads;
        let last = r.last_ok.load(Relaxed);
        s.gauge(
            "cache_age_seconds",
            "Seconds since the portal cache was last loaded from the database.",
            (now - last).max(0) as f64,
        )?;
        s.counter(
            "cache_reload_failures",
            "Cache loads from the database that failed (the last good cache stayed).",
            r.failures.load(Relaxed),
        )?;
        s.counter(
            "config_reload_failures",
            "Config reloads refused (the running config stayed).",
            r.config_failures.load(Relaxed),
        )?;
        let w = &h.host_writes.stats;
        s.counters(
            "db_errors",
            "Database operations that failed: loading the cache, writing host rows.",
            &[
                (vec![("op", "load".into())], r.failures.load(Relaxed)),
                (vec![("op", "host_write".into())], w.failed_writes.load(Relaxed)),
            ],
        )?;
        s.counter("host_rows_written", "Host rows written to the database.", w.written.load(Relaxed))?;
        s.counter(
            "host_reports_dropped",
            "Agent reports dropped because the host-write queue was full.",
            w.dropped.load(Relaxed),
        )?;
        s.gauge("host_writes_waiting", "Host rows waiting to be written.", h.host_writes.len() as f64)?;
        let c = h.cache();
        let sizes = [
            ("hosts", c.hosts.len()),
            ("groups", c.group_names.len()),
            ("templates", c.templates.len()),
            ("strategies", c.strategies.len()),
            ("expressions", c.expressions.len()),
        ]
        .map(|(what, n)| (vec![("table", what.to_string())], n as f64));
        s.gauges("cache_rows", "Rows in the portal cache, by table.", &sizes)?;
        let mut versions: BTreeMap<String, f64> = BTreeMap::new();
        let (mut stale, mut agents) = (0.0, 0.0);
        if let Ok(a) = h.agents.lock() {
            for seen in a.values() {
                agents += 1.0;
                *versions.entry(seen.report.agent_version.clone()).or_default() += 1.0;
                // Agents report every minute by default: three missed reports make a host stale.
                if crate::fleet::is_stale(now - seen.last_update, crate::fleet::DEFAULT_INTERVAL) {
                    stale += 1.0;
                }
            }
        }
        s.gauge("agents", "Agents that reported since start (forgotten after a day of silence).", agents)?;
        s.gauge("agents_stale", "Agents without a report for three minutes.", stale)?;
        let by_version: Vec<(Labels, f64)> = versions.into_iter().map(|(v, n)| (vec![("version", v)], n)).collect();
        s.gauges("agents_by_version", "Agents that reported since start, by agent version.", &by_version)?;
        let u = &h.updater_http;
        let outcome = |o: &str, n: &AtomicU64| (vec![("outcome", o.to_string())], n.load(Relaxed));
        s.counters(
            "updater_heartbeats",
            "Updater heartbeats (POST /heartbeat) by outcome: ok, bad_request (malformed), refused (buffer budget).",
            &[
                outcome("ok", &u.heartbeats_ok),
                outcome("bad_request", &u.heartbeats_bad),
                outcome("refused", &u.heartbeats_refused),
            ],
        )?;
        let mut files = Vec::new();
        for (k, kind) in ["tarball", "checksum"].iter().enumerate() {
            for (o, outcome) in ["ok", "not_found"].iter().enumerate() {
                let labels = vec![("kind", kind.to_string()), ("outcome", outcome.to_string())];
                files.push((labels, u.files[k][o].load(Relaxed)));
            }
        }
        s.counters("tarball_requests", "GET /tarball/ requests by kind (tarball, checksum) and outcome.", &files)?;
        s.counter("tarball_bytes", "Bytes of agent tarballs served to updaters.", u.tarball_bytes.load(Relaxed))?;
        s.counter("accept_errors", "Failed accepts on the JSON-RPC listener.", falcon_proto::netutil::accept_errors())
    });
    m
}
