//! A minimal HTTP/1.1 client for tests (one request per connection, `Connection: close`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A response: status code, headers (lower-cased names), body.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header name (lower case) and value.
    pub headers: Vec<(String, String)>,
    /// Body (de-chunked).
    pub body: String,
}

impl Response {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Sends a request; `body` None sends no body and no length.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    content_type: &str,
) -> std::io::Result<Response> {
    request_with(addr, method, path, body, content_type, &[])
}

/// [`request`] with extra header lines (`("Content-Encoding", "gzip")`).
pub fn request_with(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    content_type: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Response> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    // One write: a server that answers from the headers alone (an error) and closes must not find body bytes
    // unread, or its close becomes a reset that can take the answer with it.
    let mut bytes = req.into_bytes();
    if let Some(b) = body {
        bytes.extend_from_slice(b);
    }
    s.write_all(&bytes)?;
    let mut raw = Vec::new();
    if let Err(e) = s.read_to_end(&mut raw) {
        // A reset after a whole answer arrived still leaves the answer.
        if raw.is_empty() || e.kind() != std::io::ErrorKind::ConnectionReset {
            return Err(e);
        }
    }
    parse(&raw).ok_or_else(|| std::io::Error::other(format!("bad response: {}", String::from_utf8_lossy(&raw))))
}

/// GET `path`.
pub fn get(addr: &str, path: &str) -> Response {
    request(addr, "GET", path, None, "").unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// POST `body` as JSON.
pub fn post_json(addr: &str, path: &str, body: &str) -> Response {
    request(addr, "POST", path, Some(body.as_bytes()), "application/json")
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

fn parse(raw: &[u8]) -> Option<Response> {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { dechunk(body)? } else { body.to_string() };
    Some(Response { status, headers, body })
}

fn dechunk(mut s: &str) -> Option<String> {
    let mut out = String::new();
    loop {
        let (size, rest) = s.split_once("\r\n")?;
        let n = usize::from_str_radix(size.trim(), 16).ok()?;
        if n == 0 {
            return Some(out);
        }
        out.push_str(rest.get(..n)?);
        s = rest.get(n + 2..)?;
    }
}

/// Percent-encodes `s` for a URL query string or an `application/x-www-form-urlencoded` body: everything but
/// RFC 3986's unreserved characters (so also `&`, `=`, `+`, `[`, `]`, spaces and UTF-8 bytes) becomes `%XX`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `k1=v1&k2=v2` with each name and value percent-encoded ([`percent_encode`]).
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_leaves_only_unreserved_characters() {
        assert_eq!(percent_encode("up{job=\"a b\"}[5m]&x+é"), "up%7Bjob%3D%22a%20b%22%7D%5B5m%5D%26x%2B%C3%A9");
        assert_eq!(query_string(&[("match[]", "m"), ("q", "a=b")]), "match%5B%5D=m&q=a%3Db");
    }
}
