//! Reading a JSON request body the way Go's `json.NewDecoder(r.Body).Decode` does: chunk by chunk, refusing it
//! at the first byte that is not JSON instead of after the whole body arrived, and never holding more than a
//! bound.
//!
//! The first value is scanned as it arrives ([`Scanner`]); once it has ended, the rest of the body is collected
//! (within the bound) without looking at it, since Go's decoder ignores what follows the value.
//!
//! Every byte kept is charged to the caller's [`Lease`] on the process's buffer budget before it is kept; when
//! the budget is spent the read pauses (hyper stops reading the socket) for the budget's wait, and a body that
//! stops arriving for the budget's stall timeout is given up.

use crate::budget::{BudgetError, Lease};
use bytes::Bytes;
use falcon_proto::gojson::scanner::{Scanner, SyntaxError, Top};
use http_body::Body;
use http_body_util::BodyExt;
use std::time::Duration;

/// Why a body was not read.
#[derive(Debug, thiserror::Error)]
pub enum JsonBodyError {
    /// More than the bound.
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    /// Not JSON, from the given byte on.
    #[error("{0}")]
    Syntax(SyntaxError),
    /// The connection failed while reading.
    #[error("reading the body: {0}")]
    Read(String),
    /// The process's buffer budget stayed spent for the whole wait.
    #[error("{0}")]
    Budget(BudgetError),
    /// No new byte of the body for the stall timeout.
    #[error("no byte of the body for {0:?}")]
    Stalled(Duration),
}

impl JsonBodyError {
    /// Counts a read given up for the budget (spent, or a stalled body holding it) on the lease's budget.
    pub fn count(&self, lease: &Lease, what: &str) {
        match self {
            JsonBodyError::Budget(e) => lease.budget().count_close(what, e),
            JsonBodyError::Stalled(_) => lease.budget().count_stall(what, lease.held()),
            _ => {}
        }
    }
}

/// Reads `body`, at most `max` bytes, each charged to `lease` before it is kept (the caller keeps the lease
/// while it uses the bytes). With `scan`, a syntax error in the first JSON value ends the read at once;
/// without, the body is only collected (a compressed or non-JSON body is checked after decoding).
pub async fn read_json_body<B>(body: B, max: usize, scan: bool, lease: &mut Lease) -> Result<Bytes, JsonBodyError>
where
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    let mut body = std::pin::pin!(body);
    let mut scanner = scan.then(|| Scanner::new(Top::Any));
    let mut out: Vec<u8> = Vec::new();
    let mut first: Option<Bytes> = None;
    let stall = lease.budget().stall();
    loop {
        let next = match stall {
            None => body.frame().await,
            Some(d) => tokio::time::timeout(d, body.frame()).await.map_err(|_| JsonBodyError::Stalled(d))?,
        };
        let Some(frame) = next else { break };
        let frame = frame.map_err(|e| JsonBodyError::Read(e.to_string()))?;
        let Ok(chunk) = frame.into_data() else { continue };
        let len = first.as_ref().map_or(out.len(), Bytes::len) + chunk.len();
        if len > max {
            return Err(JsonBodyError::TooLarge(max));
        }
        if let Some(s) = scanner.as_mut() {
            if s.feed(&chunk).map_err(JsonBodyError::Syntax)?.is_some() {
                scanner = None;
            }
        }
        // A body in one chunk (the usual case) is returned without a copy.
        if first.is_none() && out.is_empty() {
            lease.grow_to(chunk.len()).await.map_err(JsonBodyError::Budget)?;
            first = Some(chunk);
            continue;
        }
        if out.capacity() < len {
            // Doubling, but never past the bound, and charged before it is allocated.
            let cap = out.capacity().saturating_mul(2).max(len).min(max);
            lease.grow_to(cap).await.map_err(JsonBodyError::Budget)?;
            out.reserve_exact(cap - out.len());
        }
        if let Some(f) = first.take() {
            out.extend_from_slice(&f);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(first.unwrap_or_else(|| Bytes::from(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::{Budget, FREE_PER_LEASE};
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A body delivered in `chunks`, then (if `hang`) never finishing.
    struct TestBody {
        chunks: std::collections::VecDeque<Bytes>,
        hang: bool,
    }

    impl Body for TestBody {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            match self.chunks.pop_front() {
                Some(c) => Poll::Ready(Some(Ok(http_body::Frame::data(c)))),
                None if self.hang => Poll::Pending,
                None => Poll::Ready(None),
            }
        }
    }

    fn body(chunks: Vec<&'static [u8]>, hang: bool) -> TestBody {
        TestBody { chunks: chunks.into_iter().map(Bytes::from_static).collect(), hang }
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    async fn read(b: TestBody, max: usize, scan: bool) -> Result<Bytes, JsonBodyError> {
        read_json_body(b, max, scan, &mut Budget::unlimited().lease()).await
    }

    #[test]
    fn collects_a_valid_body_and_ignores_what_follows_the_value() {
        let b = run(read(body(vec![b"[{\"a\":", b"1}]", b" trailing"], false), 1024, true)).unwrap();
        assert_eq!(&b[..], b"[{\"a\":1}] trailing");
        let b = run(read(body(vec![b"[1]"], false), 1024, true)).unwrap();
        assert_eq!(&b[..], b"[1]");
    }

    #[test]
    fn garbage_is_refused_without_waiting_for_the_rest() {
        // The body never ends: only the scan can stop the read.
        let r = run(async {
            tokio::time::timeout(
                std::time::Duration::from_secs(5),
                read(body(vec![b"[{\"a\":1},", b"{x"], true), 1024, true),
            )
            .await
        });
        match r {
            Ok(Err(JsonBodyError::Syntax(e))) => assert_eq!((e.offset, e.byte), (10, b'x')),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bounded() {
        let r = run(read(body(vec![b"[\"12345", b"67890\"]"], false), 10, true));
        assert!(matches!(r, Err(JsonBodyError::TooLarge(10))));
        // Without scanning, garbage is collected for the caller to judge.
        let b = run(read(body(vec![b"\x1f\x8b"], false), 10, false)).unwrap();
        assert_eq!(&b[..], b"\x1f\x8b");
    }

    #[test]
    fn charged_to_the_lease_and_refused_when_the_budget_is_spent() {
        run(async {
            let budget = Budget::new(1 << 20, 512 << 10, Duration::from_millis(50), Some(Duration::from_millis(50)));
            let mut lease = budget.lease();
            let b = read_json_body(body(vec![&[b' '; 3000], &[b' '; 3000], b"1"], false), 1 << 20, true, &mut lease);
            assert_eq!(b.await.unwrap().len(), 6001);
            assert!(budget.used() >= 6001 - FREE_PER_LEASE, "{}", budget.used());
            drop(lease);
            assert_eq!(budget.used(), 0);
            // More than the budget minus its reserve can hold: refused after the wait.
            let big: &'static [u8] = Box::leak(vec![b' '; 600 << 10].into_boxed_slice());
            let mut lease = budget.lease();
            let r = read_json_body(body(vec![big, big], false), 4 << 20, true, &mut lease).await;
            assert!(matches!(r, Err(JsonBodyError::Budget(_))), "{r:?}");
            // A body that stops arriving is given up.
            let mut lease = budget.lease();
            let r = read_json_body(body(vec![b"[1"], true), 1024, true, &mut lease).await;
            assert!(matches!(r, Err(JsonBodyError::Stalled(_))), "{r:?}");
        });
    }
}
