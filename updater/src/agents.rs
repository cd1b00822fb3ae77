//! The agents on this host, as ops-updater lays them out under its directory:
//!
//! ```text
//! <dir>/falcon-agent/.version        the version that should run
//! <dir>/falcon-agent/5.1.0/control   each version unpacked whole
//! ```
//!
//! `./control start|stop|status` is the only way an agent is driven (the contract: `status` prints `started`
//! or `stoped`). Every run is bounded in time and output ([`falcon_runtime::exec`]) and killed with its process
//! group past the deadline.

use crate::model::RealAgent;
use falcon_runtime::budget::Budget;
use falcon_runtime::exec::{self, ExecError, Spec};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file naming the version that should run.
pub const VERSION_FILE: &str = ".version";

/// An agent's directory.
pub fn agent_dir(root: &Path, name: &str) -> PathBuf {
    root.join(name)
}

/// The version in `.version`, trimmed; None when missing or empty.
pub fn current_version(agent_dir: &Path) -> Option<String> {
    let v = std::fs::read_to_string(agent_dir.join(VERSION_FILE)).ok()?;
    let v = v.trim();
    (!v.is_empty() && !v.contains('/') && v != "..").then(|| v.to_string())
}

/// Writes `.version` (through a temporary file and a rename, so it is never half written).
pub fn set_current_version(agent_dir: &Path, version: &str) -> std::io::Result<()> {
    let tmp = agent_dir.join(".version.tmp");
    std::fs::write(&tmp, version)?;
    std::fs::rename(tmp, agent_dir.join(VERSION_FILE))
}

/// Output kept of one `./control` run (a status word, or an error's last lines).
const CONTROL_OUTPUT: u64 = 64 << 10;

/// Runs `./control <arg>` in `dir`: its combined output, or why it failed (exit status, timeout). What
/// `start` launches is left running.
pub async fn control(dir: &Path, arg: &str, timeout: Duration) -> Result<String, String> {
    let args = [arg.to_string()];
    let spec = Spec {
        dir: Some(dir),
        leave_children: true,
        ..Spec::new(Path::new("./control"), &args, timeout, CONTROL_OUTPUT)
    };
    match exec::run(&spec, &Budget::unlimited()).await {
        Ok(out) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            if out.status.success() {
                Ok(text)
            } else {
                Err(format!("./control {arg} exited with {}: {}", out.status, text.trim()))
            }
        }
        Err(ExecError::Start(e)) => Err(format!("exec ./control {arg}: {e}")),
        Err(ExecError::Timeout(d, _)) => Err(format!("./control {arg} did not finish within {d:?}")),
    }
}

/// Whether a `control status` output says the agent runs (ops-updater's test).
pub fn says_started(status: &str) -> bool {
    status.contains("started")
}

/// Whether it says the agent is stopped (`stoped`, the contract's spelling, or `stopped`).
pub fn says_stopped(status: &str) -> bool {
    status.contains("stoped") || status.contains("stopped")
}

/// Every agent under `root` with a `.version` and a `<version>/control`, with its status, as ops-updater
/// reports them (sorted by name).
pub async fn scan(root: &Path, timeout: Duration, now: i64) -> Vec<RealAgent> {
    let mut names: Vec<String> = match std::fs::read_dir(root) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect(),
        Err(e) => {
            tracing::warn!(dir = %root.display(), error = %e, "cannot list the agents' directory");
            return Vec::new();
        }
    };
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let dir = agent_dir(root, &name);
        let Some(version) = current_version(&dir) else { continue };
        let vdir = dir.join(&version);
        if !vdir.join("control").is_file() {
            tracing::debug!(agent = %name, %version, "no control in the current version's directory");
            continue;
        }
        let status = match control(&vdir, "status", timeout).await {
            Ok(s) => s.trim().to_string(),
            Err(e) => format!("exec `./control status` fail: {e}"),
        };
        out.push(RealAgent { name, version, status, timestamp: now });
    }
    out
}
