//! Splitting a TCP stream into JSON values the way Go's `json.Decoder` reads them.
//!
//! Go's JSON-RPC peers send concatenated values with any whitespace (or none) between them; Go happens to end
//! each with `\n` but a Python client does not. A value may arrive split over many reads, and several may come
//! in one read. We scan incrementally with Go's grammar ([`Scanner`]) without re-reading bytes, refuse a
//! malformed value at its first bad byte (as Go's decoder does, so a garbage client is not waited for), refuse a
//! value larger than the configured bound as soon as it passes that bound, and never buffer more than bound +
//! one read.

use crate::gojson::scanner::{Scanner, SyntaxError, Top};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Default bound on one JSON-RPC message.
pub const DEFAULT_MAX_FRAME: usize = 64 << 20;

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
    read_chunk: usize,
    /// Offset (from the frame start) just past the first nested value that closed back to depth 1.
    first_nested_end: Option<usize>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// Wraps a stream; values above `max_frame` bytes are refused.
    pub fn new(inner: R, max_frame: usize) -> Self {
        FrameReader {
            inner,
            buf: Vec::new(),
            start: 0,
            pos: 0,
            scanner: Scanner::new(Top::ObjectOrNull),
            max_frame,
            read_chunk: 64 << 10,
            first_nested_end: None,
        }
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
            self.buf.reserve(self.read_chunk);
            let n = self.inner.read_buf(&mut self.buf).await?;
            if n == 0 {
                return if self.scanner.idle() { Ok(None) } else { Err(FrameError::UnexpectedEof) };
            }
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
                let c = self.0.remove(0);
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
}
