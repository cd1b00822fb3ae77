//! Splitting a TCP stream into JSON values the way Go's `json.Decoder` reads them.
//!
//! Go's JSON-RPC peers send concatenated values with any whitespace (or none) between them; Go happens to end
//! each with `\n` but a Python client does not. A value may arrive split over many reads, and several may come
//! in one read. We scan incrementally (strings, escapes, nesting) without re-reading bytes, refuse a value
//! larger than the configured bound as soon as it passes that bound, and never buffer more than bound + one read.

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
    Malformed(&'static str),
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

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Between values.
    Idle,
    /// Inside an object or array.
    Value { depth: u32, in_str: bool, esc: bool },
    /// Inside a top-level `null` (Go decodes it into an empty request).
    Null,
}

/// Reads one JSON value at a time from a byte stream.
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Start of the value being scanned (bytes before it are consumed).
    start: usize,
    /// Next byte to scan.
    pos: usize,
    state: State,
    max_frame: usize,
    read_chunk: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// Wraps a stream; values above `max_frame` bytes are refused.
    pub fn new(inner: R, max_frame: usize) -> Self {
        FrameReader { inner, buf: Vec::new(), start: 0, pos: 0, state: State::Idle, max_frame, read_chunk: 64 << 10 }
    }

    /// The next complete value, or None on a clean end of stream between values.
    /// The slice is valid until the next call.
    pub async fn next_frame(&mut self) -> Result<Option<&[u8]>, FrameError> {
        // Drop what the previous frame used.
        if self.state == State::Idle && self.start > 0 {
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
                self.state = State::Idle;
                return Ok(Some(&self.buf[frame]));
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
                return match self.state {
                    State::Idle => Ok(None),
                    _ => Err(FrameError::UnexpectedEof),
                };
            }
        }
    }

    /// Advances the scanner over buffered bytes; returns the end of a complete value if one closed.
    fn scan(&mut self) -> Result<Option<usize>, FrameError> {
        let buf = &self.buf;
        let mut i = self.pos;
        let mut state = self.state;
        let result = loop {
            if i >= buf.len() {
                break None;
            }
            let c = buf[i];
            match &mut state {
                State::Idle => match c {
                    b' ' | b'\t' | b'\n' | b'\r' => self.start = i + 1,
                    b'{' => state = State::Value { depth: 1, in_str: false, esc: false },
                    b'n' => state = State::Null,
                    _ => return Err(FrameError::Malformed("a request must be a JSON object")),
                },
                State::Null => {
                    let want = b"null"[i - self.start];
                    if c != want {
                        return Err(FrameError::Malformed("invalid literal"));
                    }
                    if i + 1 - self.start == 4 {
                        i += 1;
                        break Some(i);
                    }
                }
                State::Value { depth, in_str, esc } => {
                    if *in_str {
                        if *esc {
                            *esc = false;
                        } else if c == b'\\' {
                            *esc = true;
                        } else if c == b'"' {
                            *in_str = false;
                        } else {
                            // Skip ahead to the next byte that matters inside a string.
                            if let Some(off) = buf[i + 1..].iter().position(|&b| b == b'"' || b == b'\\') {
                                i += off;
                            } else {
                                i = buf.len() - 1;
                            }
                        }
                    } else {
                        match c {
                            b'"' => *in_str = true,
                            b'{' | b'[' => *depth += 1,
                            b'}' | b']' => {
                                *depth -= 1;
                                if *depth == 0 {
                                    i += 1;
                                    break Some(i);
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            i += 1;
            if state != State::Idle && i - self.start > self.max_frame {
                return Err(FrameError::TooLarge { limit: self.max_frame });
            }
        };
        self.pos = i;
        self.state = state;
        if result.is_none() && state != State::Idle && i - self.start > self.max_frame {
            return Err(FrameError::TooLarge { limit: self.max_frame });
        }
        Ok(result)
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
