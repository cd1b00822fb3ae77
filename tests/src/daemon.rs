//! Running one of our binaries as a test peer: it prints `<name>: listening <kind> <addr>` lines and then
//! `<name>: ready` on stderr; everything it logs is kept for assertions.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running binary; killed when dropped.
pub struct Daemon {
    child: Child,
    /// Listener addresses by kind (`rpc`, `http`, `socket`...).
    pub addrs: HashMap<String, String>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Daemon {
    /// Starts `bin` with `args` and waits (up to 30 s) for its `ready` line.
    pub fn start(bin: &Path, args: &[&str]) -> Result<Self, String> {
        Self::start_in(bin, args, None)
    }

    /// [`Daemon::start`] in working directory `dir` (None: the test's), where a config's relative paths resolve.
    pub fn start_in(bin: &Path, args: &[&str], dir: Option<&Path>) -> Result<Self, String> {
        Self::start_with(bin, args, dir, &[])
    }

    /// [`Daemon::start`] with extra environment variables.
    pub fn start_env(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Self, String> {
        Self::start_with(bin, args, None, env)
    }

    fn start_with(bin: &Path, args: &[&str], dir: Option<&Path>, env: &[(&str, &str)]) -> Result<Self, String> {
        let mut cmd = Command::new(bin);
        if let Some(dir) = dir {
            cmd.current_dir(dir);
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("start {}: {e}", bin.display()))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line.clone());
                if let Ok(mut l) = log2.lock() {
                    l.push(line);
                }
            }
        });
        let mut addrs = HashMap::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if line.ends_with(": ready") {
                        break;
                    }
                    if let Some((_, rest)) = line.split_once(": listening ") {
                        if let Some((kind, addr)) = rest.split_once(' ') {
                            addrs.insert(kind.to_string(), addr.to_string());
                        }
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let log = log.lock().map(|l| l.join("\n")).unwrap_or_default();
                    return Err(format!("{} did not become ready:\n{log}", bin.display()));
                }
            }
        }
        Ok(Daemon { child, addrs, log })
    }

    /// The address of listener `kind`.
    pub fn addr(&self, kind: &str) -> &str {
        self.addrs.get(kind).map(String::as_str).unwrap_or_else(|| panic!("no {kind} listener in {:?}", self.addrs))
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything it wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.join("\n")).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Path of a workspace binary built by cargo (tests of another package cannot use `CARGO_BIN_EXE_*`).
pub fn workspace_bin(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
    dir.join(name)
}
