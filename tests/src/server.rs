//! What the storage-server harnesses ([`crate::prometheus`], [`crate::victoria`], [`crate::influxdb`]) share:
//! finding a Debian binary, a private temp dir, free loopback ports, one child process with its log, bounded
//! readiness waits, a clean stop, and reading their HTTP JSON APIs. Modelled on [`crate::mariadb`].

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::http;

/// Where binaries are looked for after PATH: Debian's packages put them in /usr/bin, daemons sometimes in
/// /usr/sbin, which is often not on a user's PATH.
const EXTRA_DIRS: &[&str] = &["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"];

/// How often a start-up wait polls.
const POLL: Duration = Duration::from_millis(50);

/// How many fresh ports a start tries when another process took the one picked ("address already in use").
pub(crate) const PORT_TRIES: u32 = 3;

/// Distinguishes the temp dirs of several servers in one test process.
static SEQ: AtomicU32 = AtomicU32::new(0);

/// The first executable file named one of `names` in PATH, then in [`EXTRA_DIRS`].
pub(crate) fn find_exe(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).chain(EXTRA_DIRS.iter().map(PathBuf::from)).collect();
    names.iter().find_map(|n| {
        dirs.iter()
            .map(|d| d.join(n))
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
    })
}

/// The error for a missing binary: CI always installs it, so this is a machine to set up, not a test to skip.
pub(crate) fn not_installed(server: &str, exe: &str, package: &str) -> String {
    format!(
        "{server} is not installed: {exe} not found in PATH or {}; run scripts/install-test-deps.sh \
         (installs Debian's {package}) and rerun the tests",
        EXTRA_DIRS.join(", ")
    )
}

/// A new, empty, owner-only directory `<tmp>/falcon-<kind>-<pid>-<n>` for one server.
pub(crate) fn fresh_dir(kind: &str) -> Result<PathBuf, String> {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("falcon-{kind}-{}-{n}", std::process::id()));
    // A leftover of an earlier process with the same pid.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{kind}: create {}: {e}", dir.display()))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("{kind}: chmod {}: {e}", dir.display()))?;
    Ok(dir)
}

/// A port on 127.0.0.1 that was free a moment ago (another process may take it before the server binds it, hence
/// [`PORT_TRIES`]).
pub(crate) fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("find a free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| format!("find a free port: {e}"))
}

/// Whether a start failed because a port was taken: worth another try on fresh ports.
pub(crate) fn port_taken(err: &str) -> bool {
    err.to_ascii_lowercase().contains("address already in use")
}

/// The last `lines` lines of a file from byte `from` on ("" if unreadable).
pub(crate) fn tail_from(path: &Path, from: u64, lines: usize) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        if f.seek(SeekFrom::Start(from)).is_ok() {
            let mut buf = Vec::new();
            let _ = f.read_to_end(&mut buf);
            text = String::from_utf8_lossy(&buf).into_owned();
        }
    }
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// One server process: its command line and the log file its stdout and stderr go to (appended over restarts).
pub(crate) struct Process {
    /// Short name for messages ("prometheus").
    name: &'static str,
    exe: PathBuf,
    args: Vec<String>,
    log: PathBuf,
    /// Where this start's output begins in the log.
    log_from: u64,
    child: Option<Child>,
}

impl Process {
    /// Spawns `exe args` in `cwd` (so relative default paths land in the temp dir), output appended to `log`,
    /// without the environment variables starting with `drop_env` (servers that read settings from the
    /// environment would otherwise take a developer's).
    pub(crate) fn spawn(
        name: &'static str,
        exe: &Path,
        args: Vec<String>,
        cwd: &Path,
        log: PathBuf,
        drop_env: Option<&str>,
    ) -> Result<Process, String> {
        let log_from = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        let out = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| format!("{name}: open {}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| format!("{name}: {e}"))?;
        let mut cmd = Command::new(exe);
        cmd.args(&args).current_dir(cwd).stdin(Stdio::null()).stdout(out).stderr(err);
        if let Some(prefix) = drop_env {
            for (k, _) in std::env::vars_os() {
                if k.to_string_lossy().starts_with(prefix) {
                    cmd.env_remove(k);
                }
            }
        }
        let child = cmd.spawn().map_err(|e| format!("{name}: run {}: {e}", exe.display()))?;
        Ok(Process { name, exe: exe.to_path_buf(), args, log, log_from, child: Some(child) })
    }

    /// The child's pid while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// An error message: `why`, the command line and the tail of this start's log.
    pub(crate) fn failure(&self, why: &str) -> String {
        format!(
            "{}: {why}\ncommand: {} {}\nlog ({}):\n{}",
            self.name,
            self.exe.display(),
            self.args.join(" "),
            self.log.display(),
            tail_from(&self.log, self.log_from, 40)
        )
    }

    /// Polls `ready` until it says yes, within `timeout`. Fails (and stops the process) if the process exits or the
    /// time runs out; the error has the last probe error and the log tail, and says "address already in use" when
    /// the log does (see [`port_taken`]).
    pub(crate) fn wait_ready(
        &mut self,
        timeout: Duration,
        mut ready: impl FnMut() -> Result<(), String>,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(self.failure(&format!("exited during start-up ({status})")));
                }
            }
            let last = match ready() {
                // Alive after the probe too: a server that lost its port to another process exits at once, and the
                // answer may then have come from that other process.
                Ok(()) if self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None))) => return Ok(()),
                Ok(()) => "answered, but the process has exited".to_string(),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                let e = self.failure(&format!("not ready within {timeout:?}: {last}"));
                self.stop(Duration::from_secs(5));
                return Err(e);
            }
            std::thread::sleep(POLL);
        }
    }

    /// SIGTERM (servers flush and close their files), then SIGKILL if it has not exited within `timeout`.
    pub(crate) fn stop(&mut self, timeout: Duration) {
        if let Some(child) = self.child.take() {
            stop_child(child, timeout);
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(10));
    }
}

/// A response's body as JSON if the status is `want`; otherwise an error with the status and body. `what` names the
/// request in messages.
pub(crate) fn json_body(what: &str, resp: &http::Response, want: &[u16]) -> Result<serde_json::Value, String> {
    if !want.contains(&resp.status) {
        return Err(format!("{what}: HTTP {}: {}", resp.status, resp.body.trim()));
    }
    serde_json::from_str(&resp.body).map_err(|e| format!("{what}: not JSON ({e}): {}", resp.body.trim()))
}

/// The `data` of a Prometheus-style API answer (`{"status":"success","data":...}`); an error with `error` and
/// `errorType` otherwise. Used for Prometheus and VictoriaMetrics alike.
pub(crate) fn prom_data(what: &str, resp: &http::Response) -> Result<serde_json::Value, String> {
    // Errors come with 400, 422 or 503 and the same JSON shape, whose message is the useful part.
    let v = json_body(what, resp, &[200, 400, 422, 503])?;
    if v.get("status").and_then(|s| s.as_str()) != Some("success") {
        return Err(format!("{what}: HTTP {}: {}", resp.status, resp.body.trim()));
    }
    v.get("data").cloned().ok_or_else(|| format!("{what}: no data in {}", resp.body.trim()))
}

/// `GET`; an I/O error becomes a message naming the request.
pub(crate) fn get(addr: &str, path: &str) -> Result<http::Response, String> {
    http::request(addr, "GET", path, None, "").map_err(|e| format!("GET http://{addr}{path}: {e}"))
}

/// `POST` of `body` with `content_type`; an I/O error becomes a message naming the request.
pub(crate) fn post(addr: &str, path: &str, body: &[u8], content_type: &str) -> Result<http::Response, String> {
    http::request(addr, "POST", path, Some(body), content_type).map_err(|e| format!("POST http://{addr}{path}: {e}"))
}

/// The current Unix time in seconds.
pub(crate) fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Stops a server child: SIGTERM (a clean shutdown), then SIGKILL if it has not exited within `timeout`; reaped
/// either way.
pub(crate) fn stop_child(mut child: Child, timeout: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
    }
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_binary_says_how_to_install_it() {
        assert_eq!(find_exe(&["falcon-no-such-server"]), None);
        let msg = not_installed("InfluxDB", "influxd", "influxdb");
        assert!(msg.starts_with("InfluxDB is not installed: influxd not found in PATH or /usr/sbin"), "{msg}");
        assert!(msg.contains("run scripts/install-test-deps.sh (installs Debian's influxdb)"), "{msg}");
    }

    #[test]
    fn a_taken_port_is_recognised_in_each_servers_words() {
        // As Prometheus 2.42, VictoriaMetrics 1.79 and InfluxDB 1.6 log it.
        assert!(port_taken(
            r#"msg="Unable to start web listener" err="listen tcp 127.0.0.1:1: bind: address already in use""#
        ));
        assert!(port_taken(
            "fatal cannot start http server at 127.0.0.1:1: listen tcp4 127.0.0.1:1: bind: address already in use"
        ));
        assert!(port_taken("run: open server: listen: listen tcp 127.0.0.1:1: bind: address already in use"));
        assert!(!port_taken("exited during start-up (exit status: 1)"));
    }
}
