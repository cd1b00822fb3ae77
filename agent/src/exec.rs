//! Running a program the agent does not control (a plugin, a shell check): no shell, stdin closed, in its own
//! process group so that a deadline kills everything it started, stdout and stderr each read up to a bound
//! and the rest drained (a program blocked on a full pipe would otherwise look hung).

use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// What a finished run left.
#[derive(Debug)]
pub struct Output {
    /// Exit status.
    pub status: ExitStatus,
    /// stdout, at most the bound.
    pub stdout: Vec<u8>,
    /// stdout went past the bound.
    pub stdout_over: bool,
    /// stderr, at most the bound.
    pub stderr: Vec<u8>,
}

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

async fn read_bounded<R: AsyncRead + Unpin>(r: Option<R>, max: u64) -> (Vec<u8>, bool) {
    let Some(r) = r else { return (Vec::new(), false) };
    let mut buf = Vec::new();
    let mut limited = r.take(max + 1);
    let _ = limited.read_to_end(&mut buf).await;
    let over = buf.len() as u64 > max;
    buf.truncate(max as usize);
    let mut rest = limited.into_inner();
    let mut sink = [0u8; 8192];
    while let Ok(n) = rest.read(&mut sink).await {
        if n == 0 {
            break;
        }
    }
    (buf, over)
}

fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
}

/// Runs `program args...` with a deadline, keeping at most `max_output` bytes of each stream.
pub async fn run(
    program: &std::path::Path,
    args: &[String],
    deadline: Duration,
    max_output: u64,
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
    let out = tokio::spawn(read_bounded(child.stdout.take(), max_output));
    let err = tokio::spawn(read_bounded(child.stderr.take(), max_output));
    let status = match tokio::time::timeout(deadline, child.wait()).await {
        Ok(s) => s.map_err(ExecError::Start)?,
        Err(_) => {
            kill_group(pid);
            let _ = child.wait().await;
            out.abort();
            // Children of the program may hold stderr open; do not wait on them.
            let stderr = match tokio::time::timeout(Duration::from_millis(200), err).await {
                Ok(Ok((e, _))) => e,
                _ => Vec::new(),
            };
            return Err(ExecError::Timeout(deadline, stderr));
        }
    };
    // Background children that keep the pipes open are killed with the group once the program exits.
    kill_group(pid);
    let (stdout, stdout_over) = out.await.unwrap_or_default();
    let (stderr, _) = err.await.unwrap_or_default();
    Ok(Output { status, stdout, stdout_over, stderr })
}
