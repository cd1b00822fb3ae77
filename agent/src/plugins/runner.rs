//! One run of a plugin: executed directly (no shell) in its own process group, the whole group killed at
//! cycle x 1000 - 500 ms, stderr written to `<logs>/<FilePath>(<Args>).stderr.log`, stdout decoded as a
//! JSON array of MetricValue.

use super::args::parse_args;
use super::Plugin;
use falcon_proto::model::MetricValue;
use falcon_runtime::exec::{self, ExecError, Spec};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Most stdout or stderr kept from one run; a plugin printing more fails that run.
pub const MAX_OUTPUT: u64 = 16 << 20;

/// Why a run produced nothing.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The file is gone.
    #[error("no such plugin: {0}")]
    Missing(PathBuf),
    /// exec failed (not executable, bad shebang).
    #[error("plugin start fail: {0}")]
    Start(std::io::Error),
    /// Killed at the deadline.
    #[error("timed out after {0:?}; process group killed")]
    Timeout(Duration),
    /// Exited non-zero or by a signal.
    #[error("exited with {0}")]
    Failed(std::process::ExitStatus),
    /// stdout beyond [`MAX_OUTPUT`].
    #[error("stdout larger than {MAX_OUTPUT} bytes")]
    TooMuchOutput,
    /// The agent's buffer budget could not hold stdout.
    #[error("stdout dropped: {0}")]
    Budget(falcon_runtime::budget::BudgetError),
    /// stdout is not a JSON array of MetricValue.
    #[error("stdout is not a JSON array of metrics: {0}")]
    BadJson(String),
}

/// The run's deadline: cycle x 1000 - 500 ms (at least 100 ms).
pub fn timeout_of(cycle: i64) -> Duration {
    Duration::from_millis((cycle.saturating_mul(1000) - 500).max(100) as u64)
}

/// Where a plugin's stderr goes.
pub fn stderr_log(logs: &Path, p: &Plugin) -> PathBuf {
    logs.join(format!("{}({}).stderr.log", p.file_path, p.args))
}

/// Runs `p` once and returns its metrics (an empty stdout gives none); its output is charged to `budget`.
pub async fn run(
    plugin_dir: &Path,
    logs: &Path,
    p: &Plugin,
    budget: &std::sync::Arc<falcon_runtime::budget::Budget>,
) -> Result<Vec<MetricValue>, RunError> {
    let exe = plugin_dir.join(&p.file_path);
    if !exe.is_file() {
        return Err(RunError::Missing(exe));
    }
    let deadline = timeout_of(p.cycle);
    let args = parse_args(&p.args);
    let out = match exec::run(&Spec::new(&exe, &args, deadline, MAX_OUTPUT), budget).await {
        Ok(o) => o,
        Err(ExecError::Start(e)) => return Err(RunError::Start(e)),
        Err(ExecError::Timeout(d, stderr)) => {
            write_stderr(logs, p, &stderr);
            return Err(RunError::Timeout(d));
        }
    };
    write_stderr(logs, p, &out.stderr);
    if !out.status.success() {
        return Err(RunError::Failed(out.status));
    }
    if let Some(e) = out.stdout_budget {
        budget.count_close("plugin", &e);
        return Err(RunError::Budget(e));
    }
    if out.stdout_over {
        return Err(RunError::TooMuchOutput);
    }
    decode_stdout(&out.stdout)
}

/// A plugin's metrics from its stdout: none for blank output, else a JSON array of MetricValue (nulls dropped).
pub fn decode_stdout(stdout: &[u8]) -> Result<Vec<MetricValue>, RunError> {
    if stdout.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let items: Vec<Option<MetricValue>> =
        falcon_proto::gojson::from_slice(stdout).map_err(|e| RunError::BadJson(e.0))?;
    Ok(items.into_iter().flatten().collect())
}

fn write_stderr(logs: &Path, p: &Plugin, text: &[u8]) {
    if text.is_empty() {
        return;
    }
    let path = stderr_log(logs, p);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = std::fs::write(&path, text) {
        tracing::warn!(file = %path.display(), error = %e, "cannot write plugin stderr");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, body: &str) -> Plugin {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Plugin { file_path: name.into(), mtime: 0, cycle: 1, args: String::new() }
    }

    use falcon_runtime::budget::Budget;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("falcon-run-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[tokio::test]
    async fn output_args_and_stderr_log() {
        let d = tmp("ok");
        let mut p = script(
            &d,
            "sys/x/1_x.sh",
            "#!/bin/sh\necho oops >&2\necho \"[{\\\"endpoint\\\":\\\"h\\\",\\\"metric\\\":\\\"m\\\",\\\"value\\\":$#,\\\"step\\\":1,\\\"counterType\\\":\\\"GAUGE\\\",\\\"tags\\\":\\\"a=$2\\\",\\\"timestamp\\\":0},null]\"\n",
        );
        p.args = "x,b\\,c".into();
        let m = run(&d, &d.join("logs"), &p, &Budget::unlimited()).await.unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].value.as_f64(), Some(2.0));
        assert_eq!(m[0].tags, "a=b,c");
        let log = std::fs::read_to_string(d.join("logs/sys/x/1_x.sh(x,b\\,c).stderr.log")).unwrap();
        assert_eq!(log, "oops\n");
        std::fs::remove_dir_all(&d).ok();
    }

    #[tokio::test]
    async fn hanging_plugins_are_killed_with_their_children() {
        let d = tmp("hang");
        let p = script(&d, "1_hang.sh", "#!/bin/sh\nsleep 30 &\nsleep 30\n");
        let t = std::time::Instant::now();
        let e = run(&d, &d, &p, &Budget::unlimited()).await.unwrap_err();
        assert!(matches!(e, RunError::Timeout(_)), "{e}");
        assert!(t.elapsed() < Duration::from_secs(5));
        std::fs::remove_dir_all(&d).ok();
    }

    #[tokio::test]
    async fn failures_are_errors_not_crashes() {
        let d = tmp("bad");
        let p = script(&d, "1_bad.sh", "#!/bin/sh\necho not json\n");
        assert!(matches!(run(&d, &d, &p, &Budget::unlimited()).await, Err(RunError::BadJson(_))));
        let p = script(&d, "1_fail.sh", "#!/bin/sh\nexit 3\n");
        assert!(matches!(run(&d, &d, &p, &Budget::unlimited()).await, Err(RunError::Failed(_))));
        let p = script(&d, "1_empty.sh", "#!/bin/sh\n");
        assert!(run(&d, &d, &p, &Budget::unlimited()).await.unwrap().is_empty());
        std::fs::write(d.join("1_noexec.sh"), "#!/bin/sh\n").unwrap();
        let p = Plugin { file_path: "1_noexec.sh".into(), mtime: 0, cycle: 1, args: String::new() };
        assert!(matches!(run(&d, &d, &p, &Budget::unlimited()).await, Err(RunError::Start(_))));
        let p = Plugin { file_path: "nope".into(), mtime: 0, cycle: 1, args: String::new() };
        assert!(matches!(run(&d, &d, &p, &Budget::unlimited()).await, Err(RunError::Missing(_))));
        std::fs::remove_dir_all(&d).ok();
        assert_eq!(timeout_of(60), Duration::from_millis(59_500));
    }

    #[tokio::test]
    async fn output_the_budget_cannot_hold_fails_the_run_and_is_given_back() {
        let d = tmp("budget");
        // 3 MiB of output; the budget holds at most 7/8 of 2 MiB for one large reader.
        let mut p = script(&d, "1_big.sh", "#!/bin/sh\nhead -c 3145728 /dev/zero | tr '\\0' ' '\necho '[]'\n");
        p.cycle = 30;
        let budget = Budget::new(2 << 20, 1 << 20, Duration::from_millis(100), None);
        let e = run(&d, &d, &p, &budget).await.unwrap_err();
        assert!(matches!(e, RunError::Budget(_)), "{e}");
        assert_eq!((budget.used(), budget.stats().closes), (0, 1));
        // With room, the same output decodes (blank padding, then an empty array).
        let roomy = Budget::new(64 << 20, 4 << 20, Duration::from_millis(100), None);
        assert!(run(&d, &d, &p, &roomy).await.unwrap().is_empty());
        assert_eq!(roomy.used(), 0);
        assert!(roomy.stats().peak >= 3 << 20);
        std::fs::remove_dir_all(&d).ok();
    }
}
