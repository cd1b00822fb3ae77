//! Shell checks (the agent config's `checks`): a command run every `interval` seconds whose stdout lines
//! become items of one metric, the monitoring glue that otherwise needs a plugin repository.
//!
//! Each stdout line is `VALUE` or `VALUE k=v,k2=v2`: one GAUGE item of the check's metric, step = interval,
//! tags = the configured ones with the line's own over them. A line that does not parse is counted and
//! logged and the other lines still count. The command runs without a shell (unless the argv names one), in
//! its own process group, killed with its children at the timeout, like plugins ([`crate::exec`]). Its exit
//! status is recorded but does not void its output: `grep -c` prints `0` and exits 1. The first run comes one
//! interval after start, like builtin metrics and plugins. `GET /checks` lists every check with its last run.

use crate::app::Agent;
use crate::config::ShellCheckConfig;
use falcon_proto::model::{GoValue, MetricValue};
use falcon_runtime::shutdown::Shutdown;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most stdout read from one run; the rest is drained and the run counts as failed.
pub const MAX_OUTPUT: u64 = 1 << 20;
/// Most items one run may produce.
pub const MAX_ITEMS: usize = 10_000;

/// One parsed line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The value.
    pub value: f64,
    /// The line's own tags.
    pub tags: BTreeMap<String, String>,
}

/// Parses `VALUE` or `VALUE k=v,k2=v2`.
pub fn parse_line(line: &str) -> Result<Line, String> {
    let line = line.trim();
    let (value, tags) = match line.split_once(char::is_whitespace) {
        Some((v, t)) => (v, t.trim()),
        None => (line, ""),
    };
    let value: f64 = value.parse().map_err(|_| format!("{value:?} is not a number"))?;
    if !value.is_finite() {
        return Err(format!("{value} is not a finite number"));
    }
    let mut out = BTreeMap::new();
    for piece in tags.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match piece.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() && !v.contains('=') => {
                out.insert(k.trim().to_string(), v.trim().to_string());
            }
            _ => return Err(format!("tag {piece:?} is not k=v")),
        }
    }
    Ok(Line { value, tags: out })
}

/// The items of one run's stdout, and the bad lines with their reasons.
pub fn parse_output(
    stdout: &str,
    check: &ShellCheckConfig,
    endpoint: &str,
    timestamp: i64,
) -> (Vec<MetricValue>, Vec<String>) {
    let mut items = Vec::new();
    let mut bad = Vec::new();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        if items.len() >= MAX_ITEMS {
            bad.push(format!("more than {MAX_ITEMS} lines"));
            break;
        }
        match parse_line(line) {
            Ok(l) => {
                let mut tags = check.tags.clone();
                tags.extend(l.tags);
                let tags: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                items.push(MetricValue {
                    endpoint: endpoint.to_string(),
                    metric: check.metric.clone(),
                    value: GoValue::Number(l.value),
                    step: check.interval,
                    counter_type: "GAUGE".into(),
                    tags: tags.join(","),
                    timestamp,
                });
            }
            Err(why) => bad.push(format!("{line:?}: {why}")),
        }
    }
    (items, bad)
}

/// A check and its last run, as `GET /checks` shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    /// The metric.
    pub metric: String,
    /// The command.
    pub command: Vec<String>,
    /// Seconds between runs.
    pub interval: i64,
    /// Timeout, ms.
    pub timeout: i64,
    /// Runs so far.
    pub runs: u64,
    /// Runs that timed out, could not start or printed too much.
    pub failures: u64,
    /// Lines that did not parse, in all.
    pub bad_lines: u64,
    /// Runs skipped because the previous one was still going.
    pub overruns: u64,
    /// Unix time of the last run's start (0: not yet).
    pub last_run: i64,
    /// How long it took, ms.
    pub last_duration_ms: u64,
    /// Its exit code (None: killed, not started, or not yet).
    pub last_exit: Option<i32>,
    /// Items it produced.
    pub last_items: usize,
    /// What went wrong, if anything (the first bad line, a timeout...).
    pub last_error: Option<String>,
}

/// Every configured check's status.
#[derive(Debug, Default)]
pub struct ShellChecks {
    status: Mutex<Vec<Status>>,
}

impl ShellChecks {
    /// The statuses for `checks`, none run yet.
    pub fn new(checks: &[ShellCheckConfig]) -> Self {
        let status = checks
            .iter()
            .map(|c| Status {
                metric: c.metric.clone(),
                command: c.command.clone(),
                interval: c.interval,
                timeout: c.timeout,
                ..Status::default()
            })
            .collect();
        ShellChecks { status: Mutex::new(status) }
    }

    /// A copy of every status.
    pub fn snapshot(&self) -> Vec<Status> {
        match self.status.lock() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn update(&self, i: usize, f: impl FnOnce(&mut Status)) {
        let mut s = match self.status.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        if let Some(st) = s.get_mut(i) {
            f(st);
        }
    }
}

/// One run of check `i`: its items (sent through the agent) and its status.
pub async fn run_once(agent: &Agent, i: usize, check: &ShellCheckConfig) {
    let started = Instant::now();
    let ts = falcon_runtime::timefmt::now_unix();
    let deadline = Duration::from_millis(check.timeout as u64);
    let (program, args) = match check.command.split_first() {
        Some((p, a)) => (p, a),
        None => return,
    };
    let spec = falcon_runtime::exec::Spec::new(Path::new(program), args, deadline, MAX_OUTPUT);
    let result = falcon_runtime::exec::run(&spec, &agent.budget).await;
    let took = started.elapsed().as_millis() as u64;
    let (items, exit, error, bad, failed) = match result {
        Ok(out) if out.stdout_budget.is_some() => {
            let e = out.stdout_budget.unwrap_or(falcon_runtime::budget::BudgetError::NeverFits { limit: 0, wanted: 0 });
            agent.budget.count_close("shell check", &e);
            (Vec::new(), out.status.code(), Some(format!("stdout dropped: {e}")), 0, true)
        }
        Ok(out) if out.stdout_over => {
            (Vec::new(), out.status.code(), Some(format!("stdout over {MAX_OUTPUT} bytes")), 0, true)
        }
        Ok(out) => {
            let endpoint = agent.endpoint().unwrap_or_default();
            let (items, bad) = parse_output(&String::from_utf8_lossy(&out.stdout), check, &endpoint, ts);
            for b in &bad {
                tracing::warn!(metric = %check.metric, line = %b, "shell check line skipped");
            }
            let exit_note = (!out.status.success()).then(|| format!("exited with {}", out.status));
            let error = bad.first().cloned().or(exit_note);
            (items, out.status.code(), error, bad.len() as u64, false)
        }
        Err(e) => {
            tracing::warn!(metric = %check.metric, error = %e, "shell check failed");
            (Vec::new(), None, Some(e.to_string()), 0, true)
        }
    };
    let n = items.len();
    if !items.is_empty() {
        agent.check_values.record(&items, true);
        agent.forward(items);
    }
    agent.shell_checks.update(i, |s| {
        s.runs += 1;
        s.failures += u64::from(failed);
        s.bad_lines += bad;
        s.last_run = ts;
        s.last_duration_ms = took;
        s.last_exit = exit;
        s.last_items = n;
        s.last_error = error;
    });
}

/// Starts one loop per configured check.
pub fn spawn(agent: Arc<Agent>, shutdown: Shutdown) {
    let checks = agent.config().checks.clone();
    for (i, check) in checks.into_iter().enumerate() {
        let (agent, mut shutdown) = (agent.clone(), shutdown.clone());
        tokio::spawn(async move {
            let every = Duration::from_secs(check.interval.max(1) as u64);
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let running = Arc::new(std::sync::atomic::AtomicBool::new(false));
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = shutdown.wait() => return,
                }
                if running.swap(true, std::sync::atomic::Ordering::AcqRel) {
                    agent.shell_checks.update(i, |s| s.overruns += 1);
                    tracing::warn!(metric = %check.metric, "previous run still going: skipped");
                    continue;
                }
                let (agent, check, running) = (agent.clone(), check.clone(), running.clone());
                tokio::spawn(async move {
                    run_once(&agent, i, &check).await;
                    running.store(false, std::sync::atomic::Ordering::Release);
                });
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check() -> ShellCheckConfig {
        ShellCheckConfig {
            metric: "app.log.errors".into(),
            command: vec!["/bin/true".into()],
            tags: [("file".to_string(), "a.log".to_string()), ("env".to_string(), "prod".to_string())]
                .into_iter()
                .collect(),
            interval: 30,
            timeout: 1000,
        }
    }

    #[test]
    fn lines_values_and_tags() {
        assert_eq!(parse_line("42").unwrap(), Line { value: 42.0, tags: BTreeMap::new() });
        let l = parse_line("  -1.5e3   k=v, k2=v2 ").unwrap();
        assert_eq!(l.value, -1500.0);
        assert_eq!(l.tags.get("k2").map(String::as_str), Some("v2"));
        for bad in ["", "x", "NaN", "inf", "1 k", "1 =v", "1 a=b=c"] {
            assert!(parse_line(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn output_becomes_items_with_the_line_tags_over_the_configured() {
        let out = "3\n7 file=b.log,level=warn\nnot a number\n\n";
        let (items, bad) = parse_output(out, &check(), "host1", 1700000000);
        assert_eq!(bad.len(), 1);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].tags, "env=prod,file=a.log");
        assert_eq!(items[1].tags, "env=prod,file=b.log,level=warn");
        assert_eq!((items[1].step, items[1].counter_type.as_str(), items[1].timestamp), (30, "GAUGE", 1700000000));
        assert_eq!(items[1].value, GoValue::Number(7.0));
        let many = "1\n".repeat(MAX_ITEMS + 5);
        let (items, bad) = parse_output(&many, &check(), "h", 0);
        assert_eq!((items.len(), bad.len()), (MAX_ITEMS, 1));
    }
}
