//! Headless Chromium (Debian's `chromium`, installed by `scripts/install-test-deps.sh`) loading our pages: the DOM
//! after the page's scripts ran, or a screenshot. Started with a fresh profile and without Chromium's background
//! networking (this machine's network is closed; only the loopback page is fetched).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Chromium's executable, if installed.
pub fn chromium() -> Option<PathBuf> {
    crate::server::find_exe(&["chromium", "chromium-browser"])
}

fn command(exe: &Path, profile: &Path) -> Command {
    let mut c = Command::new(exe);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .stdin(Stdio::null());
    c
}

fn run(mut c: Command, timeout: Duration) -> Result<String, String> {
    let mut child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(|e| format!("chromium: {e}"))?;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("chromium did not finish within {timeout:?}"));
            }
        }
    }
    let out = child.wait_with_output().map_err(|e| format!("chromium: {e}"))?;
    if !out.status.success() {
        return Err(format!("chromium {}: {}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The DOM of `url` after its scripts ran for `budget` of virtual time (fetches to the page's server included).
pub fn dump_dom(url: &str, budget: Duration, profile: &Path) -> Result<String, String> {
    let exe = chromium().ok_or("chromium not installed")?;
    let mut c = command(&exe, profile);
    c.arg(format!("--virtual-time-budget={}", budget.as_millis())).arg("--dump-dom").arg(url);
    run(c, budget + Duration::from_secs(30))
}

/// A PNG of `url` at `width` x `height` after `budget` of virtual time.
pub fn screenshot(
    url: &str,
    out: &Path,
    width: u32,
    height: u32,
    budget: Duration,
    profile: &Path,
) -> Result<(), String> {
    let exe = chromium().ok_or("chromium not installed")?;
    let mut c = command(&exe, profile);
    c.arg(format!("--virtual-time-budget={}", budget.as_millis()))
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", out.display()))
        .arg(url);
    run(c, budget + Duration::from_secs(30))?;
    if out.is_file() {
        Ok(())
    } else {
        Err(format!("no screenshot at {}", out.display()))
    }
}
