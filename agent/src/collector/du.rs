//! `du.bs` for the paths HBS hands out: `du -bs <path>` per path, in parallel, each bounded in time.

use super::{gauge, Num, Sample};
use std::time::Duration;
use tokio::process::Command;

/// Go's per-path bound.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The size from `du -bs` output (`12288\t/path`), if stderr was empty.
pub fn parse_du(stdout: &str, stderr: &str) -> Option<u64> {
    if !stderr.trim().is_empty() {
        return None;
    }
    stdout.split_whitespace().next()?.parse().ok()
}

/// Runs `du -bs path` with a timeout; None on any failure.
pub async fn du(path: &str, timeout: Duration) -> Option<u64> {
    let mut cmd = Command::new("du");
    cmd.arg("-bs").arg(path).kill_on_drop(true).stdin(std::process::Stdio::null());
    let out = tokio::time::timeout(timeout, cmd.output()).await.ok()?.ok()?;
    parse_du(&String::from_utf8_lossy(&out.stdout), &String::from_utf8_lossy(&out.stderr))
}

/// One `du.bs` per path, -1 where du failed or timed out (Go's convention), in the paths' order.
pub async fn collect(paths: &[String], timeout: Duration) -> Vec<Sample> {
    let runs = paths.iter().map(|p| async move {
        let v = match du(p, timeout).await {
            Some(v) => Num::Uint(v),
            None => {
                tracing::warn!(path = %p, "du -bs failed or timed out");
                Num::Float(-1.0)
            }
        };
        gauge("du.bs", v, format!("path={p}"))
    });
    join_all(runs).await
}

/// Runs futures concurrently on the current task and keeps their order.
pub async fn join_all<F: std::future::Future>(futs: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futs {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rules() {
        assert_eq!(parse_du("12288\t/opt/falcon/data\n", ""), Some(12288));
        assert_eq!(parse_du("12288\t/x\n", "du: cannot read directory"), None);
        assert_eq!(parse_du("", ""), None);
    }

    #[tokio::test]
    async fn real_du_in_parallel_with_failures_as_minus_one() {
        let dir = std::env::temp_dir().join(format!("falcon-du-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("f"), vec![0u8; 5000]).unwrap();
        let paths = vec![dir.display().to_string(), "/nonexistent/falcon".to_string()];
        let s = collect(&paths, TIMEOUT).await;
        assert!(s[0].value >= 5000.0, "{:?}", s[0]);
        assert_eq!(s[1].value, -1.0);
        assert_eq!(s[1].tags, "path=/nonexistent/falcon");
        std::fs::remove_dir_all(&dir).ok();
    }
}
