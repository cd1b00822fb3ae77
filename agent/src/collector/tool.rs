//! Running the disk tools (smartctl, storcli, MegaCli) from a blocking collector thread: found in PATH or
//! root's sbin directories, run without a shell, stdout bounded, the child killed at its deadline and reaped
//! without ever blocking the collection on a process stuck in disk I/O.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Where root's tools live when the agent's PATH (often a service manager's minimal one) lacks them.
const SBIN_DIRS: [&str; 3] = ["/usr/sbin", "/sbin", "/usr/local/sbin"];

/// The most a tool may print; a bigger output is cut and counted as a failure rather than buffered.
pub const MAX_OUTPUT: u64 = 4 << 20;

/// How long a killed child gets to be reaped before a background thread is left to wait for it (a process
/// stuck in uninterruptible disk I/O ignores SIGKILL until the I/O ends).
const REAP_GRACE: Duration = Duration::from_secs(1);

/// The first executable found: each of `names` in the PATH directories and [`SBIN_DIRS`], then the absolute
/// `paths` (vendor install locations).
pub fn find_tool(names: &[&str], paths: &[&str]) -> Option<PathBuf> {
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path_var).collect();
    dirs.extend(SBIN_DIRS.iter().map(PathBuf::from));
    let in_dirs = names.iter().flat_map(|n| dirs.iter().map(move |d| d.join(n)));
    in_dirs.chain(paths.iter().map(PathBuf::from)).find(|p| is_executable(p))
}

/// A regular file with an execute bit.
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// What a finished tool run left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    /// Exit code; None when a signal ended the process.
    pub code: Option<i32>,
    /// Standard output, at most [`MAX_OUTPUT`] bytes.
    pub stdout: Vec<u8>,
}

/// Runs `program args` without a shell, stdin and stderr null, in the temporary directory (storcli and MegaCli
/// drop log files into their working directory). The child is killed when it overruns `timeout`
/// ([`io::ErrorKind::TimedOut`]) or prints more than [`MAX_OUTPUT`] ([`io::ErrorKind::InvalidData`]).
pub fn run_tool(program: &Path, args: &[&str], timeout: Duration) -> io::Result<ToolOutput> {
    // A day is "no limit" for these tools and keeps the deadline arithmetic from overflowing.
    let timeout = timeout.min(Duration::from_secs(24 * 3600));
    let deadline = Instant::now() + timeout;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .current_dir(std::env::temp_dir())
        .spawn()?;
    let stdout = match read_stdout(&mut child, timeout) {
        Ok(s) => s,
        Err(e) => {
            kill_and_reap(child);
            return Err(e);
        }
    };
    let code = wait_until(child, deadline)?;
    Ok(ToolOutput { code, stdout })
}

/// Reads the child's stdout to its end in a thread, so that the wait is bounded even when the child hangs with
/// the pipe open.
fn read_stdout(child: &mut Child, timeout: Duration) -> io::Result<Vec<u8>> {
    let pipe = child.stdout.take().ok_or_else(|| io::Error::other("no stdout pipe"))?;
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new().name("tool-stdout".into()).spawn(move || {
        let mut buf = Vec::new();
        let r = pipe.take(MAX_OUTPUT + 1).read_to_end(&mut buf).map(|_| buf);
        // The receiver is gone only when the run already timed out.
        let _ = tx.send(r);
    })?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(buf)) if buf.len() as u64 > MAX_OUTPUT => {
            Err(io::Error::new(io::ErrorKind::InvalidData, format!("output over {MAX_OUTPUT} bytes")))
        }
        Ok(r) => r,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, format!("no end of output in {timeout:?}"))),
    }
}

/// Polls the child until it exits or the deadline passes (then kills it).
fn wait_until(mut child: Child, deadline: Instant) -> io::Result<Option<i32>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status.code());
        }
        let now = Instant::now();
        if now >= deadline {
            kill_and_reap(child);
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no exit before the deadline"));
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(10)));
    }
}

/// Kills the child and reaps it, handing the wait to a detached thread if it does not die within
/// [`REAP_GRACE`], so that a collection never blocks on a process stuck in the kernel and no zombie is left.
fn kill_and_reap(mut child: Child) {
    let _ = child.kill();
    let give_up = Instant::now() + REAP_GRACE;
    while Instant::now() < give_up {
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let spawned = std::thread::Builder::new().name("tool-reap".into()).spawn(move || {
        let _ = child.wait();
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start a thread to reap a killed tool");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_tool_in_path_or_absolute() {
        assert!(find_tool(&["sh"], &[]).is_some());
        assert_eq!(find_tool(&["no-such-tool-falcon"], &["/bin/sh"]), Some(PathBuf::from("/bin/sh")));
        // Neither a directory nor a file without an execute bit will do.
        use std::os::unix::fs::PermissionsExt;
        let plain = std::env::temp_dir().join(format!("falcon-smart-plain-{}", std::process::id()));
        std::fs::write(&plain, "x").unwrap();
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
        let plain_str = plain.to_str().unwrap();
        assert_eq!(find_tool(&["no-such-tool-falcon"], &["/nonexistent/x", "/", plain_str]), None);
        std::fs::remove_file(&plain).unwrap();
    }

    #[test]
    fn runs_a_tool_and_keeps_stdout_and_code() {
        let sh = find_tool(&["sh"], &[]).unwrap();
        let out = run_tool(&sh, &["-c", "echo hi; exit 3"], Duration::from_secs(10)).unwrap();
        assert_eq!(out, ToolOutput { code: Some(3), stdout: b"hi\n".to_vec() });
    }

    #[test]
    fn kills_a_tool_that_overruns() {
        let sh = find_tool(&["sh"], &[]).unwrap();
        let t = Instant::now();
        let e = run_tool(&sh, &["-c", "sleep 30"], Duration::from_millis(200)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        // Output closed but no exit: the second wait is bounded too.
        let e = run_tool(&sh, &["-c", "exec >&-; sleep 30"], Duration::from_millis(200)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(t.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn cuts_a_tool_that_prints_too_much() {
        let Some(yes) = find_tool(&["yes"], &[]) else {
            return;
        };
        let e = run_tool(&yes, &[], Duration::from_secs(20)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn missing_program_is_an_error_not_a_panic() {
        assert!(run_tool(Path::new("/nonexistent/smartctl"), &[], Duration::from_secs(1)).is_err());
    }
}
