//! One task per plugin: the first run one cycle after (re)scheduling, runs of one plugin never overlap (a
//! tick that comes during a run is skipped), and a plugin whose key disappears or whose file's mtime changes
//! is stopped (and restarted with the new file).

use super::runner;
use super::Plugin;
use falcon_proto::model::MetricValue;
use falcon_runtime::budget::Budget;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Where plugin output goes.
pub type Sink = Arc<dyn Fn(Vec<MetricValue>) + Send + Sync>;
/// The current (plugin dir, logs dir), read at every run so a config reload applies.
pub type Dirs = Arc<dyn Fn() -> (PathBuf, PathBuf) + Send + Sync>;

struct Running {
    plugin: Plugin,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The running plugin set.
pub struct Scheduler {
    running: Mutex<BTreeMap<String, Running>>,
    sink: Sink,
    dirs: Dirs,
    /// Plugin output is charged to it while it is read and decoded.
    budget: Arc<Budget>,
    /// Runs per plugin, `ok` or `failed` (`/metrics`).
    pub runs: Arc<falcon_runtime::outcomes::Outcomes>,
    /// Each scheduled plugin's last run (the agent's page); entries go with their plugin.
    pub last: Arc<Mutex<BTreeMap<String, LastRun>>>,
}

/// How a plugin's last run went.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LastRun {
    /// When it started (Unix seconds).
    pub at: i64,
    /// Milliseconds it took.
    #[serde(rename = "durationMs")]
    pub duration_ms: u64,
    /// Whether it exited 0 with output that decoded.
    pub ok: bool,
    /// Items it printed.
    pub items: usize,
    /// Why it failed (its exit status, a timeout, bad output), bounded.
    pub error: Option<String>,
}

impl Scheduler {
    /// An empty set.
    pub fn new(sink: Sink, dirs: Dirs, budget: Arc<Budget>) -> Arc<Scheduler> {
        Arc::new(Scheduler {
            running: Mutex::new(BTreeMap::new()),
            sink,
            dirs,
            budget,
            runs: Default::default(),
            last: Default::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Running>> {
        match self.running.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The scheduled plugins (`/plugins`).
    pub fn snapshot(&self) -> BTreeMap<String, Plugin> {
        self.lock().iter().map(|(k, r)| (k.clone(), r.plugin.clone())).collect()
    }

    /// Stops everything.
    pub fn clear(&self) {
        self.lock().clear();
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Each scheduled plugin's last run, if it ran.
    pub fn last_runs(&self) -> BTreeMap<String, LastRun> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Makes the running set equal `desired` (must be called inside the runtime).
    pub fn reconcile(&self, desired: BTreeMap<String, Plugin>) {
        let mut running = self.lock();
        running.retain(|k, r| {
            let keep = desired.get(k).is_some_and(|d| d.mtime == r.plugin.mtime);
            if !keep {
                tracing::info!(plugin = %k, "plugin stopped");
            }
            keep
        });
        self.last.lock().unwrap_or_else(|e| e.into_inner()).retain(|k, _| running.contains_key(k));
        for (key, plugin) in desired {
            if running.contains_key(&key) {
                continue;
            }
            tracing::info!(plugin = %key, cycle = plugin.cycle, "plugin scheduled");
            let task = tokio::spawn(schedule(
                key.clone(),
                plugin.clone(),
                self.sink.clone(),
                self.dirs.clone(),
                self.budget.clone(),
                self.runs.clone(),
                self.last.clone(),
            ));
            running.insert(key, Running { plugin, task });
        }
    }
}

/// The longest cycle scheduled: a year. A file name may claim any cycle (`9223372036854775807_x.sh`); adding
/// such a duration to the clock would overflow the timer and kill the plugin's task.
const MAX_CYCLE: Duration = Duration::from_secs(365 * 24 * 3600);

/// The period of a plugin whose file name says `cycle` seconds.
fn period(cycle: i64) -> Duration {
    Duration::from_secs(cycle.max(1) as u64).min(MAX_CYCLE)
}

async fn schedule(
    key: String,
    plugin: Plugin,
    sink: Sink,
    dirs: Dirs,
    budget: Arc<Budget>,
    runs: Arc<falcon_runtime::outcomes::Outcomes>,
    last: Arc<Mutex<BTreeMap<String, LastRun>>>,
) {
    let cycle = period(plugin.cycle);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + cycle, cycle);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        ticker.tick().await;
        let (dir, logs) = dirs();
        let (at, started) = (falcon_runtime::timefmt::now_unix(), std::time::Instant::now());
        let result = runner::run(&dir, &logs, &plugin, &budget).await;
        let mut run = LastRun { at, duration_ms: started.elapsed().as_millis() as u64, ..LastRun::default() };
        match &result {
            Ok(items) => (run.ok, run.items) = (true, items.len()),
            Err(e) => run.error = Some(e.to_string().chars().take(300).collect()),
        }
        if let Ok(mut l) = last.lock() {
            l.insert(key.clone(), run);
        }
        match result {
            Ok(items) if items.is_empty() => {
                runs.add(&key, "ok");
                tracing::debug!(plugin = %key, "plugin printed nothing")
            }
            Ok(items) => {
                runs.add(&key, "ok");
                tracing::debug!(plugin = %key, items = items.len(), "plugin ran");
                sink(items);
            }
            Err(e) => {
                runs.add(&key, "failed");
                tracing::warn!(plugin = %key, error = %e, "plugin run failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_absurd_cycle_is_capped_instead_of_overflowing_the_timer() {
        assert_eq!(super::period(60), std::time::Duration::from_secs(60));
        assert_eq!(super::period(0), std::time::Duration::from_secs(1));
        let p = super::period(i64::MAX);
        assert_eq!(p, super::MAX_CYCLE);
        let _ = tokio::time::Instant::now() + p;
    }

    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn runs_on_its_cycle_and_reconciles() {
        let d = std::env::temp_dir().join(format!("falcon-sched-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("1_a.sh");
        std::fs::write(&f, "#!/bin/sh\necho '[{\"endpoint\":\"h\",\"metric\":\"m\",\"value\":1,\"step\":1,\"counterType\":\"GAUGE\",\"tags\":\"\",\"timestamp\":0}]'\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        let got = Arc::new(Mutex::new(0usize));
        let g2 = got.clone();
        let dir2 = d.clone();
        let s = Scheduler::new(
            Arc::new(move |items: Vec<MetricValue>| *g2.lock().unwrap() += items.len()),
            Arc::new(move || (dir2.clone(), dir2.clone())),
            Budget::unlimited(),
        );
        let p = Plugin { file_path: "1_a.sh".into(), mtime: 5, cycle: 1, args: String::new() };
        s.reconcile([("1_a.sh".to_string(), p.clone())].into());
        assert_eq!(s.snapshot().len(), 1);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(*got.lock().unwrap(), 0, "the first run comes one cycle after scheduling");
        tokio::time::sleep(Duration::from_millis(1300)).await;
        assert!(*got.lock().unwrap() >= 1);
        let mut changed = p.clone();
        changed.mtime = 6;
        s.reconcile([("1_a.sh".to_string(), changed)].into());
        assert_eq!(s.snapshot()["1_a.sh"].mtime, 6);
        s.reconcile(BTreeMap::new());
        assert!(s.snapshot().is_empty());
        std::fs::remove_dir_all(&d).ok();
    }
}
