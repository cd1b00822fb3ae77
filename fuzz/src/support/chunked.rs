//! An in-memory stream that hands out its bytes in chunks of varying size, so that readers see values split
//! at every possible place, as they are on a real socket.

use crate::rng::Rng;
use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, ReadBuf};

/// Reads `data` in chunks whose sizes come from `sizes` (a generator seeded from the input itself).
pub struct Chunked<'a> {
    data: &'a [u8],
    sizes: Rng,
    /// Largest chunk; 0 means "everything at once".
    max_chunk: usize,
}

impl<'a> Chunked<'a> {
    /// Splits `data` pseudo-randomly, chunks of 1..=`max_chunk` bytes (0: one read for everything).
    pub fn new(data: &'a [u8], seed: u64, max_chunk: usize) -> Self {
        Chunked { data, sizes: Rng::new(seed), max_chunk }
    }
}

impl AsyncRead for Chunked<'_> {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let max = self.max_chunk;
        let want = if max == 0 { self.data.len() } else { 1 + self.sizes.below(max) };
        let n = want.min(self.data.len()).min(buf.remaining());
        let (head, tail) = self.data.split_at(n);
        buf.put_slice(head);
        self.data = tail;
        Poll::Ready(Ok(()))
    }
}

/// Runs a future that never waits (its I/O is in memory): polls it a bounded number of times with a no-op
/// waker. None if it is still pending, which for these futures would itself be a bug worth seeing.
pub fn run_ready<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..16 {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Some(v);
        }
    }
    None
}
