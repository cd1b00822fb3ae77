//! Running a program the agent does not control (a plugin, a shell check): no shell, stdin closed, in its own
//! process group so that a deadline kills everything it started, stdout and stderr each read up to a bound
//! and the rest drained (a program blocked on a full pipe would otherwise look hung). What is kept is charged to
//! the agent's buffer budget as it grows; output the budget cannot hold within its wait is dropped like output
//! past the bound, and the run fails.

use falcon_proto::budget::{Budget, BudgetError, Lease};
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

async fn read_bounded<R: AsyncRead + Unpin>(r: Option<R>, max: u64, mut lease: Lease) -> Kept {
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
        match r.read_buf(&mut buf).await {
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
    while let Ok(n) = r.read(&mut sink).await {
        if n == 0 {
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

/// Runs `program args...` with a deadline, keeping at most `max_output` bytes of each stream, charged to
/// `budget`.
pub async fn run(
    program: &std::path::Path,
    args: &[String],
    deadline: Duration,
    max_output: u64,
    budget: &Arc<Budget>,
) -> Result<Output, ExecError> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(ExecError::Start)?;
    let pid = child.id();
    let out = tokio::spawn(read_bounded(child.stdout.take(), max_output, budget.lease()));
    let err = tokio::spawn(read_bounded(child.stderr.take(), max_output, budget.lease()));
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
    // Background children that keep the pipes open are killed with the group once the program exits.
    kill_group(pid);
    let empty = || (Vec::new(), false, None, budget.lease());
    let (stdout, stdout_over, stdout_budget, out_lease) = out.await.unwrap_or_else(|_| empty());
    let (stderr, _, _, err_lease) = err.await.unwrap_or_else(|_| empty());
    Ok(Output { status, stdout, stdout_over, stdout_budget, stderr, lease: (out_lease, err_lease) })
}
