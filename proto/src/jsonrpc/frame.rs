//! Splitting a TCP stream into JSON values the way Go's `json.Decoder` reads them.
//!
//! Go's JSON-RPC peers send concatenated values with any whitespace (or none) between them; Go happens to end
//! each with `\n` but a Python client does not. A value may arrive split over many reads, and several may come
//! in one read. We scan incrementally with Go's grammar ([`Scanner`]) without re-reading bytes, refuse a
//! malformed value at its first bad byte (as Go's decoder does, so a garbage client is not waited for), and
//! refuse a value larger than the configured bound as soon as it passes that bound.
//!
//! Memory: the read buffer doubles as a message needs it but never past bound + 1 byte, each growth is charged
//! to a [`Lease`] on the process's [`Budget`] first (waiting for room when it is spent), and a connection that
//! goes quiet between messages hands its buffer back, so idle connections cost only their first few KiB.

use crate::gojson::scanner::{Scanner, SyntaxError, Top};
use falcon_base::budget::{Budget, BudgetError, Lease, FREE_PER_LEASE};
use std::future::Future;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Default bound on one JSON-RPC message: Go has none; 64 MiB is over a thousand times a Go agent's cycle.
pub const DEFAULT_MAX_FRAME: usize = 64 << 20;

/// The least room a read gets; a fuller buffer grows first.
const MIN_READ: usize = 1 << 10;

/// How reading a value failed.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The socket failed.
    #[error("read: {0}")]
    Io(#[from] io::Error),
    /// Bytes that cannot start or continue a JSON object (Go closes the connection without a reply).
    #[error("malformed JSON: {0}")]
    Malformed(SyntaxError),
    /// A value grew past the bound.
    #[error("message larger than {limit} bytes")]
    TooLarge {
        /// The configured bound.
        limit: usize,
    },
    /// The peer closed in the middle of a value.
    #[error("connection closed inside a message")]
    UnexpectedEof,
    /// The process's buffer budget stayed spent for the whole wait.
    #[error("{0}")]
    Budget(BudgetError),
    /// A started message got no new byte for the stall timeout.
    #[error("no byte for {0:?} inside a message")]
    Stalled(Duration),
}

/// Reads one JSON value at a time from a byte stream.
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Start of the value being scanned (bytes before it are consumed).
    start: usize,
    /// Next byte to scan.
    pos: usize,
    scanner: Scanner,
    max_frame: usize,
    /// Covers the buffer's capacity.
    lease: Lease,
    /// Offset (from the frame start) just past the first nested value that closed back to depth 1.
    first_nested_end: Option<usize>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// Wraps a stream whose buffer is not budgeted (replies from a server this process chose); values above
    /// `max_frame` bytes are refused.
    pub fn new(inner: R, max_frame: usize) -> Self {
        Self::with_lease(inner, max_frame, Budget::unlimited().lease())
    }

    /// Wraps a client's stream: the buffer grows only as far as `lease` lets it.
    pub fn with_lease(inner: R, max_frame: usize, lease: Lease) -> Self {
        FrameReader {
            inner,
            buf: Vec::new(),
            start: 0,
            pos: 0,
            scanner: Scanner::new(Top::ObjectOrNull),
            max_frame,
            lease,
            first_nested_end: None,
        }
    }

    /// Buffer bytes held now (its capacity).
    pub fn held(&self) -> usize {
        self.buf.capacity()
    }

    /// For the frame last returned: where its first nested top-level value (an object member that is an array
    /// or object) ends, counted from the frame's start. Lets the envelope of Go's request shape be read
    /// without parsing the params twice.
    pub fn first_nested_end(&self) -> Option<usize> {
        self.first_nested_end
    }

    /// Whether bytes beyond the last returned value are already buffered (more pipelined requests).
    pub fn has_buffered_input(&self) -> bool {
        self.buf[self.start..].iter().any(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    }

    /// The next complete value, or None on a clean end of stream between values.
    /// The slice is valid until the next call.
    pub async fn next_frame(&mut self) -> Result<Option<&[u8]>, FrameError> {
        Ok(self.next_frame_meta().await?.map(|(f, _)| f))
    }

    /// Like [`next_frame`](Self::next_frame), with [`first_nested_end`](Self::first_nested_end) of that frame.
    pub async fn next_frame_meta(&mut self) -> Result<Option<(&[u8], Option<usize>)>, FrameError> {
        // Drop what the previous frame used.
        if self.scanner.idle() && self.start > 0 {
            if self.start >= self.buf.len() {
                self.buf.clear();
                self.pos = 0;
                self.start = 0;
            } else if self.start > self.buf.len() / 2 || self.start > (1 << 20) {
                self.buf.drain(..self.start);
                self.pos -= self.start;
                self.start = 0;
            }
        }
        loop {
            if let Some(end) = self.scan()? {
                let frame = self.start..end;
                self.start = end;
                return Ok(Some((&self.buf[frame], self.first_nested_end)));
            }
            // Need more bytes; compact first so the buffer stays bounded by the frame size.
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.pos -= self.start;
                self.start = 0;
            }
            let n = if self.scanner.idle() && self.buf.is_empty() {
                self.read_between_messages().await?
            } else {
                self.read_inside_message().await?
            };
            if n == 0 {
                return if self.scanner.idle() { Ok(None) } else { Err(FrameError::UnexpectedEof) };
            }
        }
    }

    /// Waits for the next message's first bytes. If none are there yet, the buffer is handed back (down to the
    /// uncharged first KiB) before waiting: an idle connection holds nothing of the budget.
    async fn read_between_messages(&mut self) -> Result<usize, FrameError> {
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(FREE_PER_LEASE);
        }
        let now = {
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            std::pin::pin!(self.inner.read_buf(&mut self.buf)).poll(&mut cx)
        };
        if let std::task::Poll::Ready(r) = now {
            return Ok(r?);
        }
        if self.buf.capacity() > FREE_PER_LEASE {
            self.buf = Vec::with_capacity(FREE_PER_LEASE);
            self.lease.shrink_to(FREE_PER_LEASE);
        }
        Ok(self.inner.read_buf(&mut self.buf).await?)
    }

    /// Reads more of a started message, growing the buffer (charged to the lease first) when it is nearly
    /// full, and giving up if the peer sends nothing for the budget's stall timeout.
    async fn read_inside_message(&mut self) -> Result<usize, FrameError> {
        let cap = self.buf.capacity();
        if cap - self.buf.len() < MIN_READ {
            // Enough to see one byte past the bound; start is 0 here, so the buffer is the message so far.
            let most = self.max_frame.saturating_add(1);
            let want = cap.saturating_mul(2).max(self.buf.len() + MIN_READ).max(FREE_PER_LEASE).min(most);
            if want > cap {
                self.lease.grow_to(want).await.map_err(FrameError::Budget)?;
                self.buf.reserve_exact(want - self.buf.len());
            }
        }
        match self.lease.budget().stall() {
            None => Ok(self.inner.read_buf(&mut self.buf).await?),
            Some(d) => match tokio::time::timeout(d, self.inner.read_buf(&mut self.buf)).await {
                Ok(r) => Ok(r?),
                Err(_) => Err(FrameError::Stalled(d)),
            },
        }
    }

    /// Advances the scanner over buffered bytes; returns the end of a complete value if one closed. A byte
    /// that cannot start or continue the value fails at once, where Go's decoder would.
    fn scan(&mut self) -> Result<Option<usize>, FrameError> {
        if self.scanner.idle() {
            // Whitespace between values is consumed, never buffered as part of a frame.
            while self.pos < self.buf.len() && matches!(self.buf[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
                self.pos += 1;
            }
            self.start = self.pos;
            self.first_nested_end = None;
            if self.pos == self.buf.len() {
                return Ok(None);
            }
        }
        // Never scan past the bound: a value still open there is too large.
        let limit = self.buf.len().min(self.start.saturating_add(self.max_frame));
        match self.scanner.feed(&self.buf[self.pos..limit]) {
            Ok(Some(n)) => {
                let end = self.pos + n;
                self.pos = end;
                self.first_nested_end = self.scanner.first_nested_end().map(|e| e as usize);
                self.scanner.reset();
                Ok(Some(end))
            }
            Ok(None) => {
                self.pos = limit;
                if self.buf.len() - self.start > self.max_frame {
                    return Err(FrameError::TooLarge { limit: self.max_frame });
                }
                Ok(None)
            }
            Err(e) => Err(FrameError::Malformed(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` one read at a time.
    struct Chunks(Vec<Vec<u8>>);
    impl AsyncRead for Chunks {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            if !self.0.is_empty() {
                let n = self.0[0].len().min(buf.remaining());
                let rest = self.0[0].split_off(n);
                let c = std::mem::replace(&mut self.0[0], rest);
                if self.0[0].is_empty() {
                    self.0.remove(0);
                }
                buf.put_slice(&c);
            }
            std::task::Poll::Ready(Ok(()))
        }
    }

    async fn frames(chunks: &[&[u8]], max: usize) -> (Vec<String>, Option<String>) {
        let mut r = FrameReader::new(Chunks(chunks.iter().map(|c| c.to_vec()).collect()), max);
        let mut out = Vec::new();
        loop {
            match r.next_frame().await {
                Ok(Some(f)) => out.push(String::from_utf8_lossy(f).into_owned()),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e.to_string())),
            }
        }
    }

    #[tokio::test]
    async fn concatenated_split_and_whitespace() {
        let (f, e) = frames(&[b"{\"a\":1}{\"b\":\"}{\\\"\"}", b" \n\t{\"c\"", b":[1,{}]}", b"\r\n"], 1024).await;
        assert_eq!(f, vec![r#"{"a":1}"#, r#"{"b":"}{\""}"#, r#"{"c":[1,{}]}"#]);
        assert!(e.is_none());
        // One byte per read.
        let text = br#"{"method":"x","params":[{"s":"a\\b\"c"}],"id":0} null{}"#;
        let chunks: Vec<&[u8]> = text.chunks(1).collect();
        let (f, e) = frames(&chunks, 1024).await;
        assert_eq!(f, vec![r#"{"method":"x","params":[{"s":"a\\b\"c"}],"id":0}"#, "null", "{}"]);
        assert!(e.is_none());
    }

    #[tokio::test]
    async fn malformed_and_eof() {
        let (f, e) = frames(&[b"{}this is not json"], 1024).await;
        assert_eq!(f.len(), 1);
        assert!(e.unwrap().contains("malformed"));
        let (_, e) = frames(&[b"[1]"], 1024).await;
        assert!(e.unwrap().contains("malformed"));
        let (_, e) = frames(&[b"{\"a\":"], 1024).await;
        assert!(e.unwrap().contains("inside a message"));
        let (_, e) = frames(&[b"nul!"], 1024).await;
        assert!(e.unwrap().contains("malformed"));
    }

    #[tokio::test]
    async fn too_large_is_refused_early() {
        let big = vec![b' '; 10_000];
        // Whitespace between values never counts.
        let (f, e) = frames(&[&big, b"{}"], 16).await;
        assert_eq!(f, vec!["{}"]);
        assert!(e.is_none());
        let (f, e) = frames(&[b"{\"k\":\"", &[b'x'; 100], b"\"}"], 32).await;
        assert!(f.is_empty());
        assert_eq!(e.unwrap(), "message larger than 32 bytes");
        // Exactly at the bound is fine.
        let (f, e) = frames(&[b"{\"k\":\"12345\"}"], 13).await;
        assert_eq!(f.len(), 1, "{e:?}");
    }

    #[tokio::test]
    async fn the_buffer_stops_one_byte_past_the_bound() {
        let mut chunks: Vec<&[u8]> = vec![b"{\"k\":\""];
        let x = vec![b'x'; 10_000];
        chunks.extend(std::iter::repeat_n(&x[..], 30));
        let mut r = FrameReader::new(Chunks(chunks.iter().map(|c| c.to_vec()).collect()), 100_000);
        assert!(matches!(r.next_frame().await, Err(FrameError::TooLarge { limit: 100_000 })));
        assert!(r.held() <= 100_001, "{}", r.held());
    }

    #[tokio::test]
    async fn a_quiet_connection_gives_its_buffer_back() {
        let budget = Budget::new(64 << 20, 1 << 20, Duration::from_secs(1), None);
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let mut r = FrameReader::with_lease(server, 1 << 20, budget.lease());
        let big = format!("{{\"k\":\"{}\"}}", "y".repeat(300_000));
        tokio::io::AsyncWriteExt::write_all(&mut client, big.as_bytes()).await.unwrap();
        assert_eq!(r.next_frame().await.unwrap().unwrap().len(), big.len());
        assert!(budget.used() >= 300_000 - FREE_PER_LEASE);
        // Nothing more comes: the reader waits with its first KiB only.
        assert!(tokio::time::timeout(Duration::from_millis(50), r.next_frame()).await.is_err());
        assert_eq!((r.held(), budget.used()), (FREE_PER_LEASE, 0));
    }

    #[tokio::test]
    async fn a_spent_budget_closes_after_the_wait() {
        let budget = Budget::new(4 << 20, 1 << 20, Duration::from_millis(100), None);
        let mut hog = budget.lease();
        hog.grow_to(3 << 20).await.unwrap();
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let mut r = FrameReader::with_lease(server, 8 << 20, budget.lease());
        let w = tokio::spawn(async move {
            let _ = tokio::io::AsyncWriteExt::write_all(&mut client, b"{\"k\":\"").await;
            let _ = tokio::io::AsyncWriteExt::write_all(&mut client, &vec![b'z'; 2 << 20]).await;
            client
        });
        let e = r.next_frame().await.unwrap_err();
        assert!(matches!(e, FrameError::Budget(BudgetError::Exhausted { .. })), "{e}");
        assert!(budget.used() <= budget.limit());
        drop(r);
        drop(w);
        drop(hog);
        assert_eq!(budget.used(), 0);
    }

    #[tokio::test]
    async fn a_stalled_message_is_dropped() {
        let budget = Budget::new(4 << 20, 1 << 20, Duration::from_secs(1), Some(Duration::from_millis(100)));
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let mut r = FrameReader::with_lease(server, 1 << 20, budget.lease());
        tokio::io::AsyncWriteExt::write_all(&mut client, b"{\"method\":").await.unwrap();
        let e = r.next_frame().await.unwrap_err();
        assert!(matches!(e, FrameError::Stalled(_)), "{e}");
    }
}
