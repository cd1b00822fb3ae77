//! Small helpers every test and benchmark used a copy of: polling, git, flags, /proc status fields.

use std::path::Path;
use std::time::{Duration, Instant};

/// Polls `ok` every 50 ms until it holds; panics naming `what` after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs git in `dir` with a fixed identity and default branch; panics if it fails.
pub fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "init.defaultBranch=master"])
        .args(args)
        .current_dir(dir)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "git {args:?} in {}", dir.display());
}

/// The value after `--name` on the command line, or `default` (benchmark flags).
pub fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The sum of one field (`items`, `spilled`, `dropped`...) over every lane of a transfer's `/spool`; 0 when it
/// does not answer.
pub fn spool_total(http_addr: &str, field: &str) -> u64 {
    let body = crate::http::request(http_addr, "GET", "/spool", None, "").map(|r| r.body).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v["data"].as_array().map(|a| a.iter().filter_map(|l| l[field].as_u64()).sum()).unwrap_or(0)
}

/// A `kB` (or plain number) field of `/proc/<pid>/status`, such as `VmHWM:`; 0 when missing.
pub fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0)))
        .unwrap_or(0)
}
