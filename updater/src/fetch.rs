//! HTTP(S) for the updater: GET of tarballs and checksum files, POST of the heartbeat. Bounded in bytes and in
//! time, over our own TCP or TLS streams (no wget, no shell). Redirects are not followed.

use bytes::Bytes;
use falcon_proto::connect::{BoxStream, Connector};
use falcon_runtime::redact::public_addr;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;

/// Why a request failed. URLs in the texts are shown without their query (a signed tarball URL's token would
/// otherwise reach the log and `/status`).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL is not `http://host[:port]/path` or `https://...`.
    #[error("bad URL {0:?}")]
    Url(String),
    /// An `https` URL without TLS settings.
    #[error("{0}: https needs tls.ca in the config")]
    NoTls(String),
    /// Connecting, the TLS handshake, or the exchange failed.
    #[error("{url}: {why}")]
    Transport {
        /// The URL.
        url: String,
        /// What went wrong.
        why: String,
    },
    /// Not 200.
    #[error("{url}: HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The body is larger than the bound.
    #[error("{url}: more than {max} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The bound.
        max: usize,
    },
    /// The whole request took longer than the timeout.
    #[error("{url}: no complete answer within {timeout:?}")]
    Timeout {
        /// The URL.
        url: String,
        /// The bound.
        timeout: Duration,
    },
}

/// A parsed `http(s)://authority/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// TLS or not.
    pub https: bool,
    /// `host:port` to dial (the default port filled in).
    pub addr: String,
    /// The `Host` header (the authority as written).
    pub host: String,
    /// Path and query, at least `/`.
    pub path: String,
}

/// Parses `url`; `http` when it has no scheme (ops-updater's `server` is a bare `host:port`).
pub fn parse_url(url: &str) -> Result<Url, FetchError> {
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else if url.contains("://") {
        return Err(FetchError::Url(public_addr(url)));
    } else {
        (false, url)
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains(['@', ' ']) || path.contains([' ', '\r', '\n']) {
        return Err(FetchError::Url(public_addr(url)));
    }
    // A port is present when the part after the last ':' is digits and not inside an IPv6 literal.
    let has_port = authority.rsplit_once(':').is_some_and(|(h, p)| {
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (!h.starts_with('[') || h.ends_with(']'))
    });
    let addr = if has_port { authority.to_string() } else { format!("{authority}:{}", if https { 443 } else { 80 }) };
    Ok(Url { https, addr, host: authority.to_string(), path: path.to_string() })
}

/// An HTTP client with bounds.
#[derive(Debug, Clone)]
pub struct Fetcher {
    /// Dials `https` URLs (None: they fail with [`FetchError::NoTls`]).
    pub tls: Option<Arc<dyn Connector>>,
    /// Largest body accepted.
    pub max_bytes: usize,
    /// Bound on one whole request, connect to last byte.
    pub timeout: Duration,
}

impl Fetcher {
    /// GETs `url`; the body when the status is 200.
    pub async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        self.request(url, None).await
    }

    /// POSTs a JSON body to `url`; the answer's body when the status is 200.
    pub async fn post_json(&self, url: &str, body: Vec<u8>) -> Result<Vec<u8>, FetchError> {
        self.request(url, Some(body)).await
    }

    async fn request(&self, url: &str, body: Option<Vec<u8>>) -> Result<Vec<u8>, FetchError> {
        let timeout = self.timeout;
        match tokio::time::timeout(timeout, self.exchange(url, body)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout { url: public_addr(url), timeout }),
        }
    }

    async fn exchange(&self, url: &str, body: Option<Vec<u8>>) -> Result<Vec<u8>, FetchError> {
        let u = parse_url(url)?;
        let transport = |why: String| FetchError::Transport { url: public_addr(url), why };
        let stream: BoxStream = if u.https {
            let tls = self.tls.as_ref().ok_or_else(|| FetchError::NoTls(public_addr(url)))?;
            tls.connect(&u.addr).await.map_err(|e| transport(e.to_string()))?
        } else {
            Box::new(falcon_proto::connect::tcp(&u.addr).await.map_err(|e| transport(e.to_string()))?)
        };
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| transport(e.to_string()))?;
        let driver = tokio::spawn(conn);
        let method = if body.is_some() { "POST" } else { "GET" };
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(&u.path)
            .header("host", &u.host)
            .header("user-agent", concat!("falcon-updater/", env!("CARGO_PKG_VERSION")));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req.body(Full::new(Bytes::from(body.unwrap_or_default()))).map_err(|e| transport(e.to_string()))?;
        let resp = sender.send_request(req).await.map_err(|e| transport(e.to_string()))?;
        let status = resp.status().as_u16();
        if status != 200 {
            driver.abort();
            return Err(FetchError::Status { url: public_addr(url), status });
        }
        let declared = resp
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_bytes as u64) {
            driver.abort();
            return Err(FetchError::TooLarge { url: public_addr(url), max: self.max_bytes });
        }
        let mut body = resp.into_body();
        let mut out = Vec::with_capacity(declared.unwrap_or(0).min(self.max_bytes as u64) as usize);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| transport(e.to_string()))?;
            if let Ok(chunk) = frame.into_data() {
                if out.len() + chunk.len() > self.max_bytes {
                    driver.abort();
                    return Err(FetchError::TooLarge { url: public_addr(url), max: self.max_bytes });
                }
                out.extend_from_slice(&chunk);
            }
        }
        driver.abort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = parse_url("http://10.0.0.1:8888/falcon/falcon-agent-1.0.tar.gz").unwrap();
        assert_eq!(
            (u.https, u.addr.as_str(), u.host.as_str(), u.path.as_str()),
            (false, "10.0.0.1:8888", "10.0.0.1:8888", "/falcon/falcon-agent-1.0.tar.gz")
        );
        let u = parse_url("https://meta.example.com/heartbeat").unwrap();
        assert_eq!((u.https, u.addr.as_str(), u.host.as_str()), (true, "meta.example.com:443", "meta.example.com"));
        let u = parse_url("127.0.0.1:2000/heartbeat").unwrap();
        assert_eq!((u.https, u.addr.as_str()), (false, "127.0.0.1:2000"));
        let u = parse_url("http://[::1]:8080").unwrap();
        assert_eq!((u.addr.as_str(), u.path.as_str()), ("[::1]:8080", "/"));
        assert_eq!(parse_url("http://[::1]/x").unwrap().addr, "[::1]:80");
        for bad in ["ftp://x/y", "http:///x", "http://user:pw@h/x", "http://h/a b"] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    /// A one-shot server on loopback answering every connection with `reply` (or nothing, when None).
    async fn server(reply: Option<Vec<u8>>) -> String {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let reply = reply.clone();
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    match reply {
                        Some(r) => {
                            let _ = s.write_all(&r).await;
                        }
                        None => tokio::time::sleep(Duration::from_secs(30)).await,
                    }
                });
            }
        });
        addr
    }

    fn fetcher(max: usize) -> Fetcher {
        Fetcher { tls: None, max_bytes: max, timeout: Duration::from_millis(500) }
    }

    #[tokio::test]
    async fn bodies_statuses_bounds_and_timeouts() {
        let ok = server(Some(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_vec())).await;
        assert_eq!(fetcher(100).get(&format!("http://{ok}/x")).await.unwrap(), b"hello");
        assert!(matches!(fetcher(4).get(&format!("http://{ok}/x")).await, Err(FetchError::TooLarge { max: 4, .. })));
        // No length announced: the bound is applied while reading.
        let chunked = server(Some(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n0123456789".to_vec())).await;
        assert!(matches!(fetcher(4).get(&format!("http://{chunked}/x")).await, Err(FetchError::TooLarge { .. })));
        let missing = server(Some(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec())).await;
        assert!(matches!(
            fetcher(100).get(&format!("http://{missing}/x")).await,
            Err(FetchError::Status { status: 404, .. })
        ));
        // A signed URL's token stays out of the error text (the log, /status).
        let e = fetcher(100).get(&format!("http://{missing}/x?token=t0k")).await.unwrap_err().to_string();
        assert_eq!(e, format!("http://{missing}/x: HTTP 404"));
        let silent = server(None).await;
        assert!(matches!(fetcher(100).get(&format!("http://{silent}/x")).await, Err(FetchError::Timeout { .. })));
        assert!(matches!(fetcher(100).get("https://127.0.0.1:1/x").await, Err(FetchError::NoTls(_))));
        assert!(matches!(fetcher(100).get("http://127.0.0.1:1/x").await, Err(FetchError::Transport { .. })));
    }
}
