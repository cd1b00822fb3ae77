//! Logs as a service writes them: `--log-file` rotated by size, `--log-format json`, SIGHUP reopening the file
//! (after an outside rotation moved it) and reloading the config, on the real binary.

mod common;

use common::temp_config;
use falcon_tests::http;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn numbered(p: &Path, i: u32) -> PathBuf {
    PathBuf::from(format!("{}.{i}", p.display()))
}

fn hup(child: &Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).expect("SIGHUP");
}

/// Every line of the file is a JSON object with a level and a message.
fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn json_log_file_rotates_by_size_and_reopens_on_sighup() {
    let cfg = temp_config("logs", &common::config(r#""j":"127.0.0.1:1""#, r#""g":"127.0.0.1:1""#, "", ""));
    let dir = cfg.parent().expect("dir").to_path_buf();
    let log = dir.join("log/transfer.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_falcon-transfer"))
        .args(["-c", cfg.to_str().expect("path"), "--log-format", "json", "--log-file"])
        .arg(&log)
        .args(["--log-max-bytes", "4000", "--log-keep", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start falcon-transfer");
    // The ready and listening lines go to the file too: stderr itself was moved there.
    common::wait_for("ready line in the log file", || read(&log).contains("falcon-transfer: ready"));
    let text = read(&log);
    let http_addr = text
        .lines()
        .find_map(|l| l.strip_prefix("falcon-transfer: listening http "))
        .expect("http address in the log file")
        .to_string();
    let started = json_lines(&text);
    assert!(
        started.iter().any(|v| v["level"] == "INFO" && v["fields"]["message"] == "falcon-transfer started"),
        "{text}"
    );

    // Each SIGHUP logs a line: enough of them rotate the file twice over, keeping two old ones. Signals sent
    // before the last was handled would merge into one, so each waits for its line (the newest SIGHUP line
    // changes: in the current file, or in .1 when that line was the one that rotated it).
    let mut last = last_hup(&log);
    for _ in 0..60 {
        hup(&child);
        common::wait_for("the SIGHUP line", || last_hup(&log) != last);
        last = last_hup(&log);
    }
    assert!(numbered(&log, 1).exists() && numbered(&log, 2).exists(), "rotated files kept");
    assert!(!numbered(&log, 3).exists(), "only --log-keep 2 kept");
    for p in [numbered(&log, 1), numbered(&log, 2)] {
        let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        assert!((4000..4000 + 1024).contains(&size), "{}: {size} bytes, rotated near the limit", p.display());
        assert!(!json_lines(&read(&p)).is_empty());
    }

    // Moved away by an outside tool, then SIGHUP: the process writes to a new file at the path.
    std::fs::rename(&log, dir.join("moved.log")).expect("move the log");
    hup(&child);
    common::wait_for("a new log file after SIGHUP", || read(&log).contains("SIGHUP: log file reopened"));
    // The reload it did checked the file: a broken one is reported in the log and the transfer runs on.
    std::fs::write(&cfg, "{ not json").expect("break the config");
    hup(&child);
    common::wait_for("the refused reload in the log", || read(&log).contains("refused; the running config stays"));
    assert_eq!(http::get(&http_addr, "/health").body.trim(), "ok");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The newest "SIGHUP" line, whole (its timestamp makes it unique).
fn last_hup(log: &Path) -> Option<String> {
    [log.to_path_buf(), numbered(log, 1)]
        .iter()
        .find_map(|p| read(p).lines().rev().find(|l| l.contains("SIGHUP: log file reopened")).map(str::to_string))
}
