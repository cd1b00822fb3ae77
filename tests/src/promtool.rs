//! `promtool check metrics` from Debian's `prometheus` package: the exposition parser and linter Prometheus
//! itself uses, run on what a `/metrics` route served. `scripts/install-test-deps.sh` installs it.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `promtool check metrics` on `text`; `Err` with promtool's complaints (parse errors and lint findings
/// such as a counter without `_total`, a missing HELP, or a non-base unit).
pub fn check_metrics(text: &str) -> Result<(), String> {
    let exe = crate::server::find_exe(&["promtool"])
        .ok_or("promtool is not installed (Debian package prometheus): run scripts/install-test-deps.sh")?;
    let mut child = Command::new(&exe)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    stdin.write_all(text.as_bytes()).map_err(|e| format!("promtool stdin: {e}"))?;
    drop(stdin);
    let out = child.wait_with_output().map_err(|e| format!("promtool: {e}"))?;
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() && said.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("promtool check metrics ({}): {said}", out.status))
    }
}

/// `GET /metrics` on `addr`: it must answer 200 in the Prometheus text format (its content type) with text that
/// promtool accepts; the text.
pub fn scrape(addr: &str) -> String {
    let r = crate::http::get(addr, "/metrics");
    assert_eq!(r.status, 200, "GET http://{addr}/metrics: {}", r.body);
    assert_eq!(r.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"), "{addr}/metrics");
    check_metrics(&r.body).unwrap_or_else(|e| panic!("{e}\n{}", r.body));
    r.body
}

/// The value of the sample written exactly as `series` (name and labels, in the order served), if any.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promtool_finds_what_is_wrong() {
        if crate::server::find_exe(&["promtool"]).is_none() {
            eprintln!("skipped: promtool not installed");
            return;
        }
        let good = "# HELP x_total Things.\n# TYPE x_total counter\nx_total 1\n";
        assert_eq!(check_metrics(good), Ok(()));
        let no_total = "# HELP x Things.\n# TYPE x counter\nx 1\n";
        assert!(check_metrics(no_total).is_err_and(|e| e.contains("_total")));
        assert!(check_metrics("x{ 1\n").is_err());
        assert_eq!(sample("a_total{x=\"1\"} 3\na_total 4\n", "a_total"), Some(4.0));
        assert_eq!(sample("a_total{x=\"1\"} 3\n", "a_total{x=\"1\"}"), Some(3.0));
    }
}
