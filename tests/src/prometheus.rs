//! A private Prometheus server for the tests of remote write: Debian's `prometheus` (2.42), run as a child process
//! on a fresh TSDB under the temp dir and a free port on 127.0.0.1, never the system service.
//! `scripts/install-test-deps.sh` installs the package.
//!
//! It receives remote write on [`Prometheus::remote_write_url`] (`--web.enable-remote-write-receiver`), scrapes
//! its own `/metrics` every second (job `prometheus`) unless told not to, and can remote-write what it scrapes to a
//! URL given at start ([`Prometheus::start_with_remote_write`]), e.g. a transfer under test.
//!
//! Timing: Prometheus applies a new scrape configuration on a 5 s tick, so the first self-scrape (and `up`) comes
//! about 5-6 s after start, whatever the scrape interval. A remote-write receiver accepts samples only within about
//! an hour behind the newest sample it holds ("out of bounds" otherwise): a test that writes fixed old timestamps
//! should start without self-scraping ([`PrometheusOptions::scrape_self`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::http::query_string;
use crate::server::{self, Process};

/// How long a start may take until `/-/ready` answers 200 (about 0.1 s on an idle machine).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a clean shutdown may take before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// What a [`Prometheus`] starts with.
#[derive(Debug, Clone)]
pub struct PrometheusOptions {
    /// Scrape its own `/metrics` every second as job `prometheus`, instance `127.0.0.1:<port>` (default true).
    pub scrape_self: bool,
    /// Remote-write everything it scrapes to each of these URLs (default none).
    pub remote_write: Vec<String>,
    /// Other `(job, host:port)` targets scraped every second at `/metrics` (default none).
    pub scrape: Vec<(String, String)>,
}

impl Default for PrometheusOptions {
    fn default() -> Self {
        PrometheusOptions { scrape_self: true, remote_write: Vec::new(), scrape: Vec::new() }
    }
}

/// A running Prometheus on 127.0.0.1; stopped, and its directory removed, when dropped.
pub struct Prometheus {
    /// Temp dir holding `prometheus.yml`, `data/` (the TSDB) and `prometheus.log`.
    dir: PathBuf,
    exe: PathBuf,
    port: u16,
    opts: PrometheusOptions,
    process: Option<Process>,
}

impl Prometheus {
    /// Starts a Prometheus that scrapes itself every second, with the remote-write receiver on. Fails with the
    /// reason and the server's log if it does not get ready; when Prometheus is not installed, says to run
    /// `scripts/install-test-deps.sh`.
    pub fn start() -> Result<Prometheus, String> {
        Prometheus::start_with(&PrometheusOptions::default())
    }

    /// [`Prometheus::start`], also remote-writing its scraped samples to `url` (batches sent at least every
    /// second, retried with 100 ms-1 s backoff on 5xx answers and connection errors).
    pub fn start_with_remote_write(url: &str) -> Result<Prometheus, String> {
        Prometheus::start_with(&PrometheusOptions { remote_write: vec![url.to_string()], ..Default::default() })
    }

    /// Starts a Prometheus as `opts` say.
    pub fn start_with(opts: &PrometheusOptions) -> Result<Prometheus, String> {
        let exe = server::find_exe(&["prometheus"])
            .ok_or_else(|| server::not_installed("Prometheus", "prometheus", "prometheus"))?;
        let dir = server::fresh_dir("prometheus")?;
        // From here on Drop removes the directory, whatever fails.
        let mut p = Prometheus { dir, exe, port: 0, opts: opts.clone(), process: None };
        let mut tries = 0;
        loop {
            tries += 1;
            p.port = server::free_port().map_err(|e| format!("prometheus: {e}"))?;
            // The self-scrape target names the port, so the file is written for each port tried.
            std::fs::write(p.config_path(), p.config())
                .map_err(|e| format!("prometheus: write {}: {e}", p.config_path().display()))?;
            match p.launch() {
                Ok(()) => return Ok(p),
                Err(e) if tries < server::PORT_TRIES && server::port_taken(&e) => p.stop(),
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

    /// The remote-write receiver, `http://127.0.0.1:<port>/api/v1/write`.
    pub fn remote_write_url(&self) -> String {
        format!("{}/api/v1/write", self.url())
    }

    /// The temp dir holding the configuration, the TSDB and the log; removed on drop.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// An instant query at the server's current time; returns `data.result` (for a vector, an array of
    /// `{"metric":{...},"value":[t,"v"]}`).
    pub fn query(&self, promql: &str) -> Result<serde_json::Value, String> {
        self.api_result(&format!("/api/v1/query?{}", query_string(&[("query", promql)])))
    }

    /// An instant query at Unix time `time` (seconds, fractions allowed); returns `data.result`.
    pub fn query_at(&self, promql: &str, time: f64) -> Result<serde_json::Value, String> {
        let t = time.to_string();
        self.api_result(&format!("/api/v1/query?{}", query_string(&[("query", promql), ("time", &t)])))
    }

    /// A range query from `start` to `end` (Unix seconds) every `step` seconds; returns `data.result` (an array of
    /// `{"metric":{...},"values":[[t,"v"],...]}`).
    pub fn query_range(&self, promql: &str, start: f64, end: f64, step: f64) -> Result<serde_json::Value, String> {
        let (s, e, st) = (start.to_string(), end.to_string(), step.to_string());
        let q = query_string(&[("query", promql), ("start", &s), ("end", &e), ("step", &st)]);
        self.api_result(&format!("/api/v1/query_range?{q}"))
    }

    /// Polls [`Prometheus::query`] until its result is a non-empty array, for at most `timeout`; returns that array.
    /// Scrapes and remote writes land asynchronously, so tests wait for them with this.
    pub fn wait_query(&self, promql: &str, timeout: Duration) -> Result<Vec<serde_json::Value>, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.query(promql) {
                Ok(serde_json::Value::Array(a)) if !a.is_empty() => return Ok(a),
                Ok(v) => format!("last result {v}"),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                return Err(format!("prometheus: no result for {promql} within {timeout:?}: {last}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The label sets of the series matching the selector `matcher` (such as `up{job="prometheus"}`) over all
    /// stored time; returns `data` (an array of label objects).
    pub fn series(&self, matcher: &str) -> Result<serde_json::Value, String> {
        self.api_data(&format!("/api/v1/series?{}", query_string(&[("match[]", matcher)])))
    }

    /// Stops the server: SIGTERM (it closes the TSDB cleanly, within milliseconds when idle), then SIGKILL if it has
    /// not exited within 30 s. Does nothing if it is not running.
    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.stop(STOP_TIMEOUT);
        }
    }

    /// Starts the server again on the same TSDB, configuration and port (stopping it first if it runs) and waits
    /// until it is ready.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.launch()
    }

    /// The pid of the running server.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().and_then(|p| p.pid())
    }

    fn config_path(&self) -> PathBuf {
        self.dir.join("prometheus.yml")
    }

    /// The YAML configuration. Strings are written as JSON strings, which YAML reads as they are.
    fn config(&self) -> String {
        let mut c = String::from(
            "# Written by falcon-tests (tests/src/prometheus.rs) for one test server.\n\
             global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n",
        );
        let mut jobs: Vec<(String, String)> = self.opts.scrape.clone();
        if self.opts.scrape_self {
            jobs.insert(0, ("prometheus".into(), self.addr()));
        }
        if !jobs.is_empty() {
            c.push_str("scrape_configs:\n");
        }
        for (job, target) in &jobs {
            c.push_str(&format!(
                "  - job_name: {}\n    static_configs:\n      - targets: [{}]\n",
                serde_json::Value::String(job.clone()),
                serde_json::Value::String(target.clone())
            ));
        }
        if !self.opts.remote_write.is_empty() {
            c.push_str("remote_write:\n");
        }
        for url in &self.opts.remote_write {
            // The default 5 s batch deadline and 30 ms-5 s backoff would make tests wait; a receiver under test
            // gets each batch within a second and a retry soon after a refusal.
            c.push_str(&format!(
                "  - url: {}\n    remote_timeout: 5s\n    queue_config:\n      \
                 batch_send_deadline: 1s\n      min_backoff: 100ms\n      max_backoff: 1s\n",
                serde_json::Value::String(url.clone())
            ));
        }
        c
    }

    fn args(&self) -> Vec<String> {
        vec![
            format!("--config.file={}", self.config_path().display()),
            format!("--storage.tsdb.path={}", self.dir.join("data").display()),
            format!("--web.listen-address={}", self.addr()),
            "--web.enable-remote-write-receiver".to_string(),
            // Tests live for seconds; nothing needs keeping, and the default 15d only matters at compaction.
            "--storage.tsdb.retention.time=1d".to_string(),
        ]
    }

    /// Spawns the server and waits until `/-/ready` answers 200 (503 while the TSDB opens).
    fn launch(&mut self) -> Result<(), String> {
        let log = self.dir.join("prometheus.log");
        let mut process = Process::spawn("prometheus", &self.exe, self.args(), &self.dir, log, None)?;
        let addr = self.addr();
        process.wait_ready(START_TIMEOUT, || {
            let r = server::get(&addr, "/-/ready")?;
            if r.status == 200 {
                Ok(())
            } else {
                Err(format!("/-/ready: HTTP {}: {}", r.status, r.body.trim()))
            }
        })?;
        self.process = Some(process);
        Ok(())
    }

    fn api_data(&self, path: &str) -> Result<serde_json::Value, String> {
        let r = server::get(&self.addr(), path).map_err(|e| format!("prometheus: {e}"))?;
        server::prom_data(&format!("prometheus: GET {path}"), &r)
    }

    fn api_result(&self, path: &str) -> Result<serde_json::Value, String> {
        let data = self.api_data(path)?;
        data.get("result").cloned().ok_or_else(|| format!("prometheus: GET {path}: no data.result in {data}"))
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
