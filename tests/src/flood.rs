//! Hostile clients for the buffer-budget tests and the flood bench: a connection that sends the start of a
//! large message and never finishes it, and the budget's counters as a binary's `/counter/buffers` shows them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// What a hostile connection saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The peer closed the connection (EOF or reset) before the deadline.
    pub closed: bool,
    /// Whatever it answered first (an HTTP status line and body, or nothing).
    pub reply: String,
}

/// Connects to `addr`, sends `head`, then `filler` bytes of `x` in 64 KiB writes and never the end of the
/// message; waits up to `deadline` for the peer to close. Writes that block (the peer stopped reading) and
/// fail (it closed) end the sending early.
pub fn partial_message(addr: &str, head: &[u8], filler: usize, deadline: Duration) -> Outcome {
    let Ok(mut s) = TcpStream::connect(addr) else { return Outcome { closed: false, reply: "connect failed".into() } };
    let _ = s.set_write_timeout(Some(deadline));
    let _ = s.set_read_timeout(Some(deadline));
    let _ = s.write_all(head);
    let chunk = vec![b'x'; 64 << 10];
    let mut left = filler;
    while left > 0 {
        let n = left.min(chunk.len());
        if s.write_all(&chunk[..n]).is_err() {
            break;
        }
        left -= n;
    }
    let mut reply = Vec::new();
    let mut b = [0u8; 4096];
    loop {
        match s.read(&mut b) {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(&b[..n]),
            Err(e) => {
                use std::io::ErrorKind::*;
                let closed = matches!(e.kind(), ConnectionReset | BrokenPipe | ConnectionAborted);
                return Outcome { closed, reply: String::from_utf8_lossy(&reply).into_owned() };
            }
        }
    }
    Outcome { closed: true, reply: String::from_utf8_lossy(&reply).into_owned() }
}

/// The start of a JSON-RPC request whose first string never ends.
pub const RPC_HEAD: &[u8] = br#"{"method":"Transfer.Update","params":[{"endpoint":""#;

/// The head of an HTTP POST of `len` bytes to `path`, and the start of a JSON array whose string never ends.
pub fn http_head(path: &str, len: usize) -> Vec<u8> {
    format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n[{{\"endpoint\":\"").into_bytes()
}

/// The `data` of a binary's `/counter/buffers`.
pub fn buffers(http_addr: &str) -> serde_json::Value {
    let r = crate::http::get(http_addr, "/counter/buffers");
    serde_json::from_str::<serde_json::Value>(&r.body).map(|v| v["data"].clone()).unwrap_or_default()
}

/// One field of [`buffers`] as a number (0 when absent).
pub fn buffers_field(http_addr: &str, field: &str) -> u64 {
    buffers(http_addr)[field].as_u64().unwrap_or(0)
}
