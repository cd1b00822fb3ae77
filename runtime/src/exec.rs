//! Running a program the process does not control (the agent's plugins and shell checks, the updater's
//! `./control`): no shell, stdin closed, in its own process group so that a deadline kills everything it
//! started, stdout and stderr each read up to a bound and the rest drained (a program blocked on a full pipe
//! would otherwise look hung). What is kept is charged to
//! the agent's buffer budget as it grows; output the budget cannot hold within its wait is dropped like output
//! past the bound, and the run fails.

use crate::budget::{Budget, BudgetError, Lease};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Output read between two charges to the budget.
const READ_STEP: usize = 64 << 10;

/// What a finished run left.
#[derive(Debug)]
pub struct Output {
    /// Exit status.
    pub status: ExitStatus,
    /// stdout, at most the bound.
    pub stdout: Vec<u8>,
    /// stdout went past the bound.
    pub stdout_over: bool,
    /// stdout could not be kept: the buffer budget stayed spent (what was read is dropped).
    pub stdout_budget: Option<BudgetError>,
    /// stderr, at most the bound.
    pub stderr: Vec<u8>,
    /// Covers `stdout` and `stderr` on the budget until the output is dropped.
    pub lease: (Lease, Lease),
}

/// One stream as read: the bytes kept, whether there were more than the bound, a budget refusal, its lease.
type Kept = (Vec<u8>, bool, Option<BudgetError>, Lease);

/// Why a run did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// exec failed (missing, not executable, bad shebang).
    #[error("start failed: {0}")]
    Start(std::io::Error),
    /// Killed at the deadline, with whatever stderr it had written.
    #[error("timed out after {0:?}; process group killed")]
    Timeout(Duration, Vec<u8>),
}

/// Reads `r` to its end (or until `stop` turns true), keeping at most `max` bytes.
async fn read_bounded<R: AsyncRead + Unpin>(
    r: Option<R>,
    max: u64,
    mut lease: Lease,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Kept {
    let Some(mut r) = r else { return (Vec::new(), false, None, lease) };
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let mut buf = Vec::new();
    let mut over = false;
    let mut refused = None;
    loop {
        if buf.len() == buf.capacity() {
            if buf.len() > max {
                over = true;
                break;
            }
            // One byte past the bound tells that there was more; charged before it is allocated.
            let cap = buf.capacity().saturating_mul(2).max(READ_STEP).min(max.saturating_add(1));
            if let Err(e) = lease.grow_to(cap).await {
                refused = Some(e);
                break;
            }
            buf.reserve_exact(cap - buf.len());
        }
        let read = tokio::select! {
            r = r.read_buf(&mut buf) => r,
            _ = stop.wait_for(|s| *s) => break,
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    if buf.len() > max {
        over = true;
        buf.truncate(max);
    }
    if refused.is_some() {
        buf = Vec::new();
        lease.shrink_to(0);
    }
    let mut sink = [0u8; 8192];
    loop {
        let read = tokio::select! {
            r = r.read(&mut sink) => r,
            _ = stop.wait_for(|s| *s) => break,
        };
        if !matches!(read, Ok(n) if n > 0) {
            break;
        }
    }
    (buf, over, refused, lease)
}

fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
}

/// What to run, and how.
#[derive(Debug, Clone, Copy)]
pub struct Spec<'a> {
    /// The program.
    pub program: &'a std::path::Path,
    /// Its arguments.
    pub args: &'a [String],
    /// Its working directory (None: ours).
    pub dir: Option<&'a std::path::Path>,
    /// How long it may run; then its process group is killed.
    pub deadline: Duration,
    /// Bytes kept of each of stdout and stderr.
    pub max_output: u64,
    /// Leave what it started running once it exits (a `control start`), and read its output for at most
    /// [`LINGER`] more; otherwise its process group is killed when it exits.
    pub leave_children: bool,
}

/// How long output is still read after a program that leaves children running has exited.
pub const LINGER: Duration = Duration::from_secs(1);

impl<'a> Spec<'a> {
    /// `program args...` in our directory, its children killed when it exits.
    pub fn new(program: &'a std::path::Path, args: &'a [String], deadline: Duration, max_output: u64) -> Self {
        Spec { program, args, dir: None, deadline, max_output, leave_children: false }
    }
}

/// Runs `spec`, the output kept charged to `budget`.
pub async fn run(spec: &Spec<'_>, budget: &Arc<Budget>) -> Result<Output, ExecError> {
    let (deadline, max_output) = (spec.deadline, spec.max_output);
    let mut cmd = tokio::process::Command::new(spec.program);
    if let Some(dir) = spec.dir {
        cmd.current_dir(dir);
    }
    cmd.args(spec.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(ExecError::Start)?;
    let pid = child.id();
    // Turned true to stop reading pipes that what the program started keeps open.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let out = tokio::spawn(read_bounded(child.stdout.take(), max_output, budget.lease(), stopped.clone()));
    let err = tokio::spawn(read_bounded(child.stderr.take(), max_output, budget.lease(), stopped));
    let status = match tokio::time::timeout(deadline, child.wait()).await {
        Ok(s) => s.map_err(ExecError::Start)?,
        Err(_) => {
            kill_group(pid);
            let _ = child.wait().await;
            out.abort();
            // Children of the program may hold stderr open; do not wait on them.
            let stderr = match tokio::time::timeout(Duration::from_millis(200), err).await {
                Ok(Ok((e, ..))) => e,
                _ => Vec::new(),
            };
            return Err(ExecError::Timeout(deadline, stderr));
        }
    };
    let empty = || (Vec::new(), false, None, budget.lease());
    let (out, err) = if spec.leave_children {
        // What it started may hold the pipes open for as long as it runs: read for a moment more, then keep
        // what came.
        let stop_later = async {
            tokio::time::sleep(LINGER).await;
            let _ = stop.send(true);
        };
        let (o, e, ()) = tokio::join!(out, err, async {
            tokio::select! {
                _ = stop_later => {}
                _ = stop.closed() => {}
            }
        });
        (o.ok(), e.ok())
    } else {
        // Background children that keep the pipes open are killed with the group once the program exits.
        kill_group(pid);
        (out.await.ok(), err.await.ok())
    };
    let (stdout, stdout_over, stdout_budget, out_lease) = out.unwrap_or_else(empty);
    let (stderr, _, _, err_lease) = err.unwrap_or_else(empty);
    Ok(Output { status, stdout, stdout_over, stdout_budget, stderr, lease: (out_lease, err_lease) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Running, not gone nor a zombie waiting for a reaper.
    fn alive(pid: i32) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X'))
    }

    /// `sh -c` that starts a background sleep holding stdout, prints its pid and exits.
    async fn started_child(leave_children: bool) -> (Output, std::time::Duration) {
        let args = ["-c".to_string(), "sleep 30 & echo $!".to_string()];
        let spec =
            Spec { leave_children, ..Spec::new(std::path::Path::new("/bin/sh"), &args, Duration::from_secs(10), 1024) };
        let t = std::time::Instant::now();
        let out = run(&spec, &Budget::unlimited()).await.unwrap();
        (out, t.elapsed())
    }

    #[tokio::test]
    async fn children_are_killed_on_exit_unless_left_running() {
        let (out, took) = started_child(false).await;
        let pid: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert!(took < Duration::from_secs(5), "{took:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!alive(pid), "the group is killed when the program exits");
        // A `control start`: the child stays, and the run ends a moment after the program although the child
        // still holds the pipe.
        let (out, took) = started_child(true).await;
        let pid: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert!(took >= LINGER && took < LINGER * 4, "{took:?}");
        assert!(alive(pid), "what the program started keeps running");
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }

    #[tokio::test]
    async fn output_is_bounded_and_the_directory_is_used() {
        let args = ["-c".to_string(), "pwd; head -c 100000 /dev/zero".to_string()];
        let dir = std::env::temp_dir();
        let spec = Spec {
            dir: Some(&dir),
            ..Spec::new(std::path::Path::new("/bin/sh"), &args, Duration::from_secs(10), 1000)
        };
        let out = run(&spec, &Budget::unlimited()).await.unwrap();
        assert!(out.stdout_over && out.stdout.len() == 1000);
        let cwd =
            String::from_utf8_lossy(&out.stdout[..out.stdout.iter().position(|&b| b == b'\n').unwrap()]).into_owned();
        assert_eq!(std::fs::canonicalize(cwd).unwrap(), std::fs::canonicalize(&dir).unwrap());
    }
}
