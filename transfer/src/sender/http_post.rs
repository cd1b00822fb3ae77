//! The HTTP/1.1 POST the HTTP outputs share (remote write, InfluxDB): a pooled hyper client, fixed headers
//! (authorization included), a whole-request timeout, and the reply's status with the start of its body.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use std::time::Duration;

type Client = hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// Most of a reply body kept (for error messages).
const MAX_REPLY: usize = 4096;

/// Why a POST got no reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoReply(pub String);

/// A target URL with its headers.
pub struct Poster {
    client: Client,
    url: hyper::Uri,
    /// The URL as errors show it: without credentials or query.
    shown: String,
    headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>,
    timeout: Duration,
}

impl Poster {
    /// A poster to `url` with `headers`, keeping up to `max_idle` connections.
    pub fn new(url: &str, headers: &[(String, String)], timeout: Duration, max_idle: usize) -> Result<Self, String> {
        let shown = falcon_runtime::redact::public_addr(url);
        let url: hyper::Uri = url.parse().map_err(|e| format!("url {shown:?}: {e}"))?;
        let mut hs = Vec::new();
        for (k, v) in headers {
            let name = hyper::header::HeaderName::from_bytes(k.as_bytes()).map_err(|e| format!("header {k:?}: {e}"))?;
            let value = hyper::header::HeaderValue::from_str(v).map_err(|e| format!("header {k:?} value: {e}"))?;
            hs.push((name, value));
        }
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_max_idle_per_host(max_idle)
            .build_http();
        Ok(Poster { client, url, shown, headers: hs, timeout })
    }

    /// POSTs `body` with these extra headers; the status and the start of the reply body.
    pub async fn post(&self, body: Vec<u8>, extra: &[(&str, &str)]) -> Result<(u16, String), NoReply> {
        let fut = async {
            let mut req = hyper::Request::post(self.url.clone())
                .header("user-agent", concat!("falcon-transfer/", env!("CARGO_PKG_VERSION")));
            for (k, v) in extra {
                req = req.header(*k, *v);
            }
            for (k, v) in &self.headers {
                req = req.header(k, v);
            }
            let req = req.body(Full::new(Bytes::from(body))).map_err(|e| NoReply(format!("request: {e}")))?;
            let resp = self.client.request(req).await.map_err(|e| NoReply(format!("{}: {e}", self.shown)))?;
            let status = resp.status().as_u16();
            let text = match Limited::new(resp.into_body(), MAX_REPLY).collect().await {
                Ok(b) => String::from_utf8_lossy(&b.to_bytes()).trim().to_string(),
                Err(_) => String::new(),
            };
            Ok((status, text))
        };
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(NoReply(format!("{}: no reply in {:?}", self.shown, self.timeout))),
        }
    }
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The `Authorization` value of HTTP basic authentication.
pub fn basic_auth(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors_and_basic_auth() {
        let cases =
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")];
        for (plain, want) in cases {
            assert_eq!(base64(plain.as_bytes()), want);
        }
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(basic_auth("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }
}
