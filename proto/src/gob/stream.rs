//! Reading length-prefixed gob messages from an async stream, with a size bound checked before buffering.

use super::GobError;
use tokio::io::{AsyncRead, AsyncReadExt, BufReader};

/// Default bound on one gob message.
pub const DEFAULT_MAX_MESSAGE: usize = 64 << 20;

/// Reads one gob message at a time.
pub struct MessageReader<R> {
    inner: BufReader<R>,
    buf: Vec<u8>,
    max: usize,
}

impl<R: AsyncRead + Unpin> MessageReader<R> {
    /// Wraps a stream; messages above `max` bytes are refused.
    pub fn new(inner: R, max: usize) -> Self {
        MessageReader { inner: BufReader::with_capacity(64 << 10, inner), buf: Vec::new(), max }
    }

    /// The next message's bytes (after the length prefix), or None at a clean end of stream.
    pub async fn next_message(&mut self) -> Result<Option<&[u8]>, GobError> {
        let first = match self.inner.read_u8().await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let len = if first < 128 {
            u64::from(first)
        } else {
            let n = 256 - usize::from(first);
            if n > 8 {
                return Err(GobError::Malformed(format!("message length with {n} bytes")));
            }
            let mut b = [0u8; 8];
            self.inner.read_exact(&mut b[8 - n..]).await.map_err(eof)?;
            u64::from_be_bytes(b)
        };
        if len == 0 {
            return Err(GobError::Malformed("empty message".into()));
        }
        if len > self.max as u64 {
            return Err(GobError::TooLarge { len, limit: self.max });
        }
        self.buf.resize(len as usize, 0);
        self.inner.read_exact(&mut self.buf).await.map_err(eof)?;
        Ok(Some(&self.buf))
    }
}

fn eof(e: std::io::Error) -> GobError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        GobError::Eof
    } else {
        e.into()
    }
}

/// Splits a whole recorded stream into its messages (the bytes after each length prefix).
pub fn split_messages(mut data: &[u8]) -> Result<Vec<&[u8]>, GobError> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let mut r = super::wire::Reader::new(data);
        let len = r.uint()?;
        let prefix = data.len() - r.remaining();
        if len == 0 || len > r.remaining() as u64 {
            return Err(GobError::Malformed(format!("message length {len} with {} bytes left", r.remaining())));
        }
        out.push(&data[prefix..prefix + len as usize]);
        data = &data[prefix + len as usize..];
    }
    Ok(out)
}
