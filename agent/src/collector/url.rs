//! `url.check.health` for the URLs HBS hands out, in parallel, each bounded by its own timeout. Plain
//! `http://` URLs (without a proxy in the environment) get a HEAD request of ours, which is what `curl -I`
//! sends; anything else runs Go's curl command line, so https, proxies and curl's other schemes work the same.
//! (curl costs about 8 ms of CPU per check here, the request of ours well under one.)

use super::du::join_all;
use super::{gauge, Sample};
use std::time::Duration;
use tokio::process::Command;

/// 1 when curl printed exactly `200` on its first line.
pub fn parse_curl(stdout: &str) -> bool {
    stdout.lines().next().map(str::trim) == Some("200")
}

/// (host, port, path) of a plain `http://` URL.
pub fn parse_http_url(url: &str) -> Option<(String, u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let path = if path.starts_with('?') { format!("/{path}") } else { path };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => 80,
            None => return None,
        };
        (h.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()?),
            None => (authority.to_string(), 80),
        }
    };
    Some((host, port, path.split('#').next().unwrap_or("/").to_string()))
}

/// The status code of an HTTP response's first line.
pub fn parse_status_line(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\n').next()?;
    let text = std::str::from_utf8(line).ok()?;
    let mut it = text.split_whitespace();
    it.next().filter(|v| v.starts_with("HTTP/"))?;
    it.next()?.parse().ok()
}

async fn head_request(url: &str, host: &str, port: u16, path: &str, timeout: Duration) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let work = async {
        let mut s = tokio::net::TcpStream::connect((host, port)).await.ok()?;
        let host_header = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        let req = format!(
            "HEAD {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: falcon-agent\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.ok()?;
        let mut buf = vec![0u8; 512];
        let mut n = 0;
        while n < buf.len() && !buf[..n].contains(&b'\n') {
            let r = s.read(&mut buf[n..]).await.ok()?;
            if r == 0 {
                break;
            }
            n += r;
        }
        parse_status_line(&buf[..n])
    };
    let r = tokio::time::timeout(timeout, work).await.ok().flatten();
    tracing::debug!(url, status = ?r, "url check");
    r
}

fn proxied() -> bool {
    ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
}

/// 1 when the URL answers 200 to a HEAD request within the timeout.
pub async fn check(url: &str, timeout_s: i64) -> bool {
    if !proxied() {
        if let Some((host, port, path)) = parse_http_url(url) {
            let t = Duration::from_secs(timeout_s.clamp(1, 3600) as u64);
            return head_request(url, &host, port, &path, t).await == Some(200);
        }
    }
    curl(url, timeout_s).await
}

/// Runs Go's curl command line with a hard bound of timeout + 2 s.
pub async fn curl(url: &str, timeout_s: i64) -> bool {
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
    fn http_urls() {
        assert_eq!(
            parse_http_url("http://127.0.0.1:11988/health"),
            Some(("127.0.0.1".into(), 11988, "/health".into()))
        );
        assert_eq!(parse_http_url("http://h"), Some(("h".into(), 80, "/".into())));
        assert_eq!(parse_http_url("http://h?a=b"), Some(("h".into(), 80, "/?a=b".into())));
        assert_eq!(parse_http_url("http://[::1]:8080/x#frag"), Some(("::1".into(), 8080, "/x".into())));
        assert_eq!(parse_http_url("https://h/"), None);
        assert_eq!(parse_http_url("http://u:p@h/"), None);
        assert_eq!(parse_http_url("http://h:x/"), None);
        assert_eq!(parse_status_line(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(parse_status_line(b"HTTP/1.0 404 Not Found\r\n"), Some(404));
        assert_eq!(parse_status_line(b"garbage"), None);
    }

    #[tokio::test]
    async fn native_check_against_a_local_server() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            for code in ["200 OK", "500 Oops"] {
                let (mut s, _) = l.accept().await.unwrap();
                let mut b = [0u8; 512];
                let _ = s.read(&mut b).await;
                let _ = s.write_all(format!("HTTP/1.1 {code}\r\nContent-Length: 0\r\n\r\n").as_bytes()).await;
            }
        });
        assert!(check(&format!("http://{addr}/health"), 3).await);
        assert!(!check(&format!("http://{addr}/health"), 3).await);
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        assert!(!check(&format!("http://{closed}/"), 1).await);
    }

    #[test]
    fn only_exactly_200() {
        assert!(parse_curl("200"));
        assert!(!parse_curl("404"));
        assert!(!parse_curl("000"));
        assert!(!parse_curl(""));
    }
}
