//! `url.check.health` for the URLs HBS hands out: `curl -I` (as Go runs it, so https and proxies work the
//! same), in parallel, each bounded by its own timeout.

use super::du::join_all;
use super::{gauge, Sample};
use std::time::Duration;
use tokio::process::Command;

/// 1 when curl printed exactly `200` on its first line.
pub fn parse_curl(stdout: &str) -> bool {
    stdout.lines().next().map(str::trim) == Some("200")
}

/// Runs Go's curl command line with a hard bound of timeout + 2 s.
pub async fn check(url: &str, timeout_s: i64) -> bool {
    let mut cmd = Command::new("curl");
    cmd.args(["--max-filesize", "102400", "-I", "-m", &timeout_s.to_string(), "-o", "/dev/null", "-s"])
        .args(["-w", "%{http_code}", url])
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    let bound = Duration::from_secs(timeout_s.clamp(1, 3600) as u64 + 2);
    match tokio::time::timeout(bound, cmd.output()).await {
        Ok(Ok(out)) => parse_curl(&String::from_utf8_lossy(&out.stdout)),
        Ok(Err(e)) => {
            tracing::warn!(url, error = %e, "cannot run curl");
            false
        }
        Err(_) => false,
    }
}

/// One sample per (url, timeout), tagged `url=..,timeout=..,src=<endpoint>`.
pub async fn collect(urls: &[(String, i64)], endpoint: &str) -> Vec<Sample> {
    join_all(urls.iter().map(|(u, t)| async move {
        let ok = check(u, *t).await;
        gauge("url.check.health", if ok { 1.0 } else { 0.0 }, format!("url={u},timeout={t},src={endpoint}"))
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exactly_200() {
        assert!(parse_curl("200"));
        assert!(!parse_curl("404"));
        assert!(!parse_curl("000"));
        assert!(!parse_curl(""));
    }
}
