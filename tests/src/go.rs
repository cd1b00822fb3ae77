//! Building and running the Go interop program (`tests/go/interop`).
//!
//! The Go toolchain comes from `scripts/install-test-deps.sh` (Debian's golang-go); a missing toolchain is a
//! test failure with that instruction, never a silent skip.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

/// Builds `tests/go/interop` once per test process and returns the binary's path.
pub fn interop_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = workspace_root().join("tests/go/interop");
        let out_dir = target_dir().join("go-interop");
        std::fs::create_dir_all(&out_dir).expect("create target/go-interop");
        // One output per test process: concurrent test binaries never write the same file.
        let out = out_dir.join(format!("interop-{}", std::process::id()));
        let status = Command::new("go")
            .args(["build", "-buildvcs=false", "-o"])
            .arg(&out)
            .arg(".")
            .current_dir(&src)
            .env("GOCACHE", out_dir.join("cache"))
            .env("GOPATH", out_dir.join("gopath"))
            .env("GOFLAGS", "-mod=mod")
            .env("GOTOOLCHAIN", "local")
            .env("CGO_ENABLED", "0")
            .status()
            .unwrap_or_else(|e| {
                panic!("cannot run `go` ({e}): install the Go toolchain with scripts/install-test-deps.sh")
            });
        assert!(status.success(), "go build of tests/go/interop failed");
        out
    })
}

/// A running Go interop process; killed when dropped.
pub struct GoProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl GoProcess {
    /// Starts `interop <args...>`.
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new(interop_binary())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start go interop program");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout piped"));
        GoProcess { child, stdin, stdout }
    }

    /// Reads the next stdout line (blocking; the Go side bounds its own work).
    pub fn line(&mut self) -> String {
        let mut s = String::new();
        self.stdout.read_line(&mut s).expect("read go stdout");
        s.trim_end().to_string()
    }

    /// For server modes: the address from the `LISTEN <addr>` line.
    pub fn listen_addr(&mut self) -> String {
        let l = self.line();
        l.strip_prefix("LISTEN ").unwrap_or_else(|| panic!("expected LISTEN line, got {l:?}")).to_string()
    }

    /// Closes stdin (server modes print their summary and exit) and returns the next line.
    pub fn finish(&mut self) -> String {
        if let Some(mut s) = self.stdin.take() {
            let _ = s.write_all(b"\n");
        }
        self.line()
    }

    /// Writes `input` to stdin, closes it, and returns every stdout line (modes that read all their input
    /// first, then answer). Stdin is written from its own thread so that a large input cannot deadlock on a
    /// full stdout pipe.
    pub fn feed_all(&mut self, input: Vec<u8>) -> Vec<String> {
        let writer = self.stdin.take().map(|mut s| std::thread::spawn(move || s.write_all(&input)));
        let mut out = Vec::new();
        loop {
            let mut l = String::new();
            match self.stdout.read_line(&mut l) {
                Ok(0) | Err(_) => break,
                Ok(_) => out.push(l.trim_end().to_string()),
            }
        }
        if let Some(w) = writer {
            let _ = w.join();
        }
        out
    }

    /// Closes stdin without reading (modes that then print several lines: read them with [`line`](Self::line)).
    pub fn finish_with_marker(&mut self) {
        if let Some(mut s) = self.stdin.take() {
            let _ = s.write_all(b"\n");
        }
    }

    /// For `gob-sink`: asks for its recording and returns the JSON of every item it got for `service`
    /// (`Judge` or `Graph`), in arrival order.
    pub fn sink_items(&mut self, service: &str) -> Vec<String> {
        self.sink_all().remove(service).unwrap_or_default()
    }

    /// For `gob-sink`: asks for its recording and returns the JSON of every item per service, in arrival order.
    pub fn sink_all(&mut self) -> std::collections::BTreeMap<String, Vec<String>> {
        self.finish_with_marker();
        let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        loop {
            let l = self.line();
            if l == "END" || l.is_empty() {
                break;
            }
            if let Some((service, json)) = l.split_once(' ') {
                out.entry(service.to_string()).or_default().push(json.to_string());
            }
        }
        out
    }

    /// Waits for the process to exit, up to `timeout`; returns whether it exited successfully.
    pub fn wait(&mut self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Remaining stdout, after the process exited.
    pub fn rest(&mut self) -> String {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut self.stdout, &mut s);
        s
    }
}

impl Drop for GoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
