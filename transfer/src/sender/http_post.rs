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
    headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>,
    timeout: Duration,
}

impl Poster {
    /// A poster to `url` with `headers`, keeping up to `max_idle` connections.
    pub fn new(url: &str, headers: &[(String, String)], timeout: Duration, max_idle: usize) -> Result<Self, String> {
        let url: hyper::Uri = url.parse().map_err(|e| format!("url {url:?}: {e}"))?;
        let mut hs = Vec::new();
        for (k, v) in headers {
            let name = hyper::header::HeaderName::from_bytes(k.as_bytes()).map_err(|e| format!("header {k:?}: {e}"))?;
            let value = hyper::header::HeaderValue::from_str(v).map_err(|e| format!("header {k:?} value: {e}"))?;
            hs.push((name, value));
        }
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_max_idle_per_host(max_idle)
            .build_http();
        Ok(Poster { client, url, headers: hs, timeout })
    }

    /// The URL, for messages.
    pub fn url(&self) -> &hyper::Uri {
        &self.url
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
            let resp = self.client.request(req).await.map_err(|e| NoReply(format!("{}: {e}", self.url)))?;
            let status = resp.status().as_u16();
            let text = match Limited::new(resp.into_body(), MAX_REPLY).collect().await {
                Ok(b) => String::from_utf8_lossy(&b.to_bytes()).trim().to_string(),
                Err(_) => String::new(),
            };
            Ok((status, text))
        };
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(NoReply(format!("{}: no reply in {:?}", self.url, self.timeout))),
        }
    }
}
