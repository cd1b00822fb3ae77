//! The collection cycle: every `transfer.interval` seconds (the first one interval after start, as in Go),
//! each group of collectors runs and its samples go out as one `Transfer.Update` with one timestamp for the
//! whole cycle. Synchronous groups run on blocking threads (a statfs on a dead NFS mount hangs), du and url
//! checks run as child processes with timeouts, in parallel. A group still running from the last cycle is
//! skipped and counted as an overrun; a failing collector is counted and logged and the others still report.

use crate::app::Agent;
use crate::collector::{self, CollectError, Collector, Group, Sample};
use falcon_runtime::shutdown::Shutdown;
use falcon_runtime::timefmt::now_unix;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The collectors, built once, and the flags of the groups still running.
pub struct Busy {
    registry: Arc<Vec<Collector>>,
    flags: HashMap<&'static str, Arc<AtomicBool>>,
}

impl Default for Busy {
    fn default() -> Self {
        Busy { registry: Arc::new(collector::registry()), flags: HashMap::new() }
    }
}

impl Busy {
    fn flag(&mut self, name: &'static str) -> Arc<AtomicBool> {
        self.flags.entry(name).or_default().clone()
    }
}

/// Runs collectors in order, timing each and recording failures; returns every sample.
pub fn run_collectors(agent: &Agent, collectors: &[&Collector], env: &collector::Env) -> Vec<Sample> {
    let mut out = Vec::new();
    for c in collectors {
        let t = Instant::now();
        let r = (c.run)(env);
        let took = t.elapsed();
        match r {
            Ok(s) => {
                agent.stats.record(c.name, took, None);
                out.extend(s);
            }
            Err(CollectError::NotReady(why)) => {
                agent.stats.record(c.name, took, None);
                tracing::debug!(collector = c.name, why, "not ready yet");
            }
            Err(e) => {
                agent.stats.record(c.name, took, Some(e.to_string()));
                tracing::warn!(collector = c.name, error = %e, "collector failed");
            }
        }
    }
    out
}

/// Turns samples into one batch and queues it.
fn submit(agent: &Agent, endpoint: &str, ts: i64, samples: Vec<Sample>) {
    let cfg = agent.config();
    let ignore = |m: &str| cfg.ignored(m);
    let (items, _) = crate::outgoing::builtin(samples, endpoint, cfg.transfer.interval, ts, &ignore, &cfg.default_tags);
    agent.check_values.record(&items, false);
    agent.sender.submit(&items);
}

/// One cycle at timestamp `ts`.
pub fn start_cycle(agent: &Arc<Agent>, busy: &mut Busy, ts: i64) {
    let endpoint = match agent.endpoint() {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "no host name: cycle skipped");
            return;
        }
    };
    let registry = busy.registry.clone();
    for (group, name) in [(Group::Core, "core"), (Group::Ports, "ports"), (Group::Df, "df")] {
        let flag = busy.flag(name);
        if flag.swap(true, Ordering::AcqRel) {
            for c in registry.iter().filter(|c| c.group == group) {
                agent.stats.overrun(c.name);
            }
            tracing::warn!(group = name, "previous run still busy: skipped this cycle");
            continue;
        }
        let (agent, registry, endpoint) = (agent.clone(), registry.clone(), endpoint.clone());
        tokio::task::spawn_blocking(move || {
            let env = agent.env();
            let list: Vec<&Collector> = registry.iter().filter(|c| c.group == group).collect();
            let samples = run_collectors(&agent, &list, &env);
            submit(&agent, &endpoint, ts, samples);
            flag.store(false, Ordering::Release);
        });
    }
    start_ntp(agent, busy, &endpoint, ts);
    let checks = agent.env().checks();
    if !checks.du_paths.is_empty() {
        let flag = busy.flag("du");
        if flag.swap(true, Ordering::AcqRel) {
            agent.stats.overrun("du.bs");
        } else {
            let (agent, endpoint, paths) = (agent.clone(), endpoint.clone(), checks.du_paths.clone());
            tokio::spawn(async move {
                let t = Instant::now();
                let s = collector::du::collect(&paths, collector::du::TIMEOUT).await;
                let failed = s.iter().filter(|x| x.value.as_f64() < 0.0).count();
                agent.stats.record("du.bs", t.elapsed(), (failed > 0).then(|| format!("{failed} paths failed")));
                submit(&agent, &endpoint, ts, s);
                flag.store(false, Ordering::Release);
            });
        }
    }
    if !checks.urls.is_empty() {
        let flag = busy.flag("url");
        if flag.swap(true, Ordering::AcqRel) {
            agent.stats.overrun("url.check.health");
        } else {
            let (agent, endpoint, urls) = (agent.clone(), endpoint.clone(), checks.urls.clone());
            tokio::spawn(async move {
                let t = Instant::now();
                let s = collector::url::collect(&urls, &endpoint).await;
                agent.stats.record("url.check.health", t.elapsed(), None);
                submit(&agent, &endpoint, ts, s);
                flag.store(false, Ordering::Release);
            });
        }
    }
}

/// The NTP check, when configured: on a blocking thread (name resolution and the bounded UDP exchange block),
/// its items stamped with the server's clock when the local one is off by more than an interval.
fn start_ntp(agent: &Arc<Agent>, busy: &mut Busy, endpoint: &str, ts: i64) {
    let cfg = agent.config();
    if !cfg.ntp.enabled {
        return;
    }
    let flag = busy.flag("ntp");
    if flag.swap(true, Ordering::AcqRel) {
        agent.stats.overrun("sys.ntp");
        return;
    }
    let (agent, endpoint) = (agent.clone(), endpoint.to_string());
    tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        let out = collector::ntp::collect(&cfg.ntp.servers, Duration::from_millis(cfg.ntp.timeout as u64));
        let failed = out.server.is_none().then(|| "no server answered".to_string());
        agent.stats.record("sys.ntp", t.elapsed(), failed);
        let stamp = collector::ntp::stamp(ts, cfg.transfer.interval, out.server.as_ref());
        submit(&agent, &endpoint, stamp, out.samples);
        flag.store(false, Ordering::Release);
    });
}

/// The collection loop (only when transfer is enabled with addresses, as in Go).
pub async fn run(agent: Arc<Agent>, mut shutdown: Shutdown) {
    let interval = Duration::from_secs(agent.config().transfer.interval.max(1) as u64);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut busy = Busy::default();
    loop {
        tokio::select! {
            _ = ticker.tick() => start_cycle(&agent, &mut busy, now_unix()),
            _ = shutdown.wait() => return,
        }
    }
}

/// The 1 s sampler loop.
pub async fn sample(agent: Arc<Agent>, mut shutdown: Shutdown) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = ticker.tick() => agent.sampler.sample(),
            _ = shutdown.wait() => return,
        }
    }
}
