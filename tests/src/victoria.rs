//! A private VictoriaMetrics (single node) for the tests of remote write: Debian's `victoria-metrics` (1.79), run
//! as a child process on a fresh data directory under the temp dir and a free port on 127.0.0.1, never the system
//! service. `scripts/install-test-deps.sh` installs the package.
//!
//! Visibility of fresh samples: VictoriaMetrics buffers incoming rows and makes them searchable every second or
//! two; [`VictoriaMetrics::flush`] (`/internal/force_flush`) does it at once. Its searches end at the current time
//! in whole seconds, so a sample stamped "now" is visible to an instant query from the next second on;
//! [`VictoriaMetrics::export`] asks up to a day ahead, which sees it at once. Retention is 100 years, not short: a
//! sample older than the retention period is dropped at ingestion, and the tests' generated items carry fixed
//! timestamps from 2023 ([`crate::gen::BASE_TS`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::http::query_string;
use crate::server::{self, Process};

/// How long a start may take until `/health` answers (well under a second on an idle machine).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a clean shutdown (it flushes its buffers) may take before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running VictoriaMetrics on 127.0.0.1; stopped, and its directory removed, when dropped.
pub struct VictoriaMetrics {
    /// Temp dir holding `data/` and `victoria-metrics.log`.
    dir: PathBuf,
    exe: PathBuf,
    port: u16,
    process: Option<Process>,
}

impl VictoriaMetrics {
    /// Starts a VictoriaMetrics on a free loopback port and waits until `/health` answers. Fails with the reason
    /// and the server's log if it does not; when VictoriaMetrics is not installed, says to run
    /// `scripts/install-test-deps.sh`.
    pub fn start() -> Result<VictoriaMetrics, String> {
        let exe = server::find_exe(&["victoria-metrics"])
            .ok_or_else(|| server::not_installed("VictoriaMetrics", "victoria-metrics", "victoria-metrics"))?;
        let dir = server::fresh_dir("victoria")?;
        // From here on Drop removes the directory, whatever fails.
        let mut vm = VictoriaMetrics { dir, exe, port: 0, process: None };
        let mut tries = 0;
        loop {
            tries += 1;
            vm.port = server::free_port().map_err(|e| format!("victoria-metrics: {e}"))?;
            match vm.launch() {
                Ok(()) => return Ok(vm),
                Err(e) if tries < server::PORT_TRIES && server::port_taken(&e) => vm.stop(),
                Err(e) => return Err(e),
            }
        }
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`, as [`crate::http`] takes it.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The Prometheus remote-write receiver, `http://127.0.0.1:<port>/api/v1/write`.
    pub fn remote_write_url(&self) -> String {
        format!("{}/api/v1/write", self.url())
    }

    /// The temp dir holding the data and the log; removed on drop.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's log so far (warnings and errors only, for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("victoria-metrics.log")).unwrap_or_default()
    }

    /// Imports samples in the Prometheus text exposition format (`name{label="v"} value [timestamp_ms]` per line;
    /// no timestamp means the server's now) through `/api/v1/import/prometheus`.
    pub fn import_prometheus(&self, text: &str) -> Result<(), String> {
        let path = "/api/v1/import/prometheus";
        let r = server::post(&self.addr(), path, text.as_bytes(), "text/plain")
            .map_err(|e| format!("victoria-metrics: {e}"))?;
        if r.status != 204 && r.status != 200 {
            return Err(format!("victoria-metrics: POST {path}: HTTP {}: {}", r.status, r.body.trim()));
        }
        Ok(())
    }

    /// Makes every sample received so far searchable at once (`/internal/force_flush`) instead of within the next
    /// second or two.
    pub fn flush(&self) -> Result<(), String> {
        let r = server::get(&self.addr(), "/internal/force_flush").map_err(|e| format!("victoria-metrics: {e}"))?;
        if r.status != 200 {
            return Err(format!("victoria-metrics: /internal/force_flush: HTTP {}: {}", r.status, r.body.trim()));
        }
        Ok(())
    }

    /// An instant query (Prometheus-compatible `/api/v1/query`) at the server's current time; returns
    /// `data.result`.
    pub fn query(&self, promql: &str) -> Result<serde_json::Value, String> {
        self.api_result(&format!("/api/v1/query?{}", query_string(&[("query", promql)])))
    }

    /// An instant query at Unix time `time` (seconds); returns `data.result`.
    pub fn query_at(&self, promql: &str, time: f64) -> Result<serde_json::Value, String> {
        let t = time.to_string();
        self.api_result(&format!("/api/v1/query?{}", query_string(&[("query", promql), ("time", &t)])))
    }

    /// Every raw sample of the series matching the selector `matcher` (such as `{__name__=~"cpu.*"}`), with
    /// exact millisecond timestamps, from `/api/v1/export`: one object per series,
    /// `{"metric":{...},"values":[...],"timestamps":[...]}`. Series order is unspecified. The best check that every
    /// item written is there: nothing is aggregated or looked back.
    pub fn export(&self, matcher: &str) -> Result<Vec<serde_json::Value>, String> {
        let path = format!("/api/v1/export?{}", all_time(matcher));
        let r = server::get(&self.addr(), &path).map_err(|e| format!("victoria-metrics: {e}"))?;
        if r.status != 200 {
            return Err(format!("victoria-metrics: GET {path}: HTTP {}: {}", r.status, r.body.trim()));
        }
        r.body
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| format!("victoria-metrics: export line not JSON ({e}): {l}")))
            .collect()
    }

    /// Flushes and polls [`VictoriaMetrics::export`] until it holds at least `samples` samples in all, for at most
    /// `timeout`; returns the last export. Writes through a receiver under test land asynchronously.
    pub fn wait_export(
        &self,
        matcher: &str,
        samples: usize,
        timeout: Duration,
    ) -> Result<Vec<serde_json::Value>, String> {
        let deadline = Instant::now() + timeout;
        loop {
            self.flush()?;
            let series = self.export(matcher)?;
            let n: usize = series.iter().map(|s| s["values"].as_array().map_or(0, |v| v.len())).sum();
            if n >= samples {
                return Ok(series);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "victoria-metrics: {n} of {samples} samples of {matcher} within {timeout:?}; log:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The label sets of the series matching `matcher` over all stored time; returns `data`.
    pub fn series(&self, matcher: &str) -> Result<serde_json::Value, String> {
        let path = format!("/api/v1/series?{}", all_time(matcher));
        let r = server::get(&self.addr(), &path).map_err(|e| format!("victoria-metrics: {e}"))?;
        server::prom_data(&format!("victoria-metrics: GET {path}"), &r)
    }

    /// Stops the server: SIGTERM (it flushes and closes its files), then SIGKILL if it has not exited within 30 s.
    /// Does nothing if it is not running.
    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.stop(STOP_TIMEOUT);
        }
    }

    /// Starts the server again on the same data and port (stopping it first if it runs) and waits until it is
    /// healthy.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.launch()
    }

    /// The pid of the running server.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().and_then(|p| p.pid())
    }

    fn args(&self) -> Vec<String> {
        vec![
            format!("-storageDataPath={}", self.dir.join("data").display()),
            format!("-httpListenAddr={}", self.addr()),
            // Long, not short: see the module doc (old fixed timestamps would be dropped).
            "-retentionPeriod=100y".to_string(),
            // The default 30 s hides the newest samples from queries; tests read right after writing.
            "-search.latencyOffset=0s".to_string(),
            // Cached range results would go stale when a test writes samples into the past.
            "-search.disableCache".to_string(),
            // Several test servers share the machine; the default is 60 % of its memory for caches.
            "-memory.allowedBytes=256MiB".to_string(),
            // Start-up chatter off; warnings (such as rejected rows) stay for failure messages.
            "-loggerLevel=WARN".to_string(),
        ]
    }

    /// Spawns the server and waits until `/health` answers 200.
    fn launch(&mut self) -> Result<(), String> {
        let log = self.dir.join("victoria-metrics.log");
        let mut process = Process::spawn("victoria-metrics", &self.exe, self.args(), &self.dir, log, None)?;
        let addr = self.addr();
        process.wait_ready(START_TIMEOUT, || {
            let r = server::get(&addr, "/health")?;
            if r.status == 200 {
                Ok(())
            } else {
                Err(format!("/health: HTTP {}: {}", r.status, r.body.trim()))
            }
        })?;
        self.process = Some(process);
        Ok(())
    }

    fn api_result(&self, path: &str) -> Result<serde_json::Value, String> {
        let r = server::get(&self.addr(), path).map_err(|e| format!("victoria-metrics: {e}"))?;
        let data = server::prom_data(&format!("victoria-metrics: GET {path}"), &r)?;
        data.get("result").cloned().ok_or_else(|| format!("victoria-metrics: GET {path}: no data.result in {data}"))
    }
}

impl Drop for VictoriaMetrics {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `match[]=<matcher>&start=1&end=<now + 1 day>`: all stored time. VictoriaMetrics takes a missing or zero `start`
/// as "the last day" for series, and its default `end` is now in whole seconds, which would hide samples of the
/// current second.
fn all_time(matcher: &str) -> String {
    let end = ((server::unix_now() as i64) + 86_400).to_string();
    query_string(&[("match[]", matcher), ("start", "1"), ("end", &end)])
}
