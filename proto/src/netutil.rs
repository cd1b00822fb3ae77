//! Connection plumbing shared by the RPC servers: a bounded accept loop and a reply writer that coalesces
//! queued replies and drops peers that stop reading.

use falcon_base::ratelog::RateLimited;
use falcon_base::shutdown::Shutdown;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};

static REJECT_LOG: RateLimited = RateLimited::new(Duration::from_secs(10));
static ACCEPT_ERROR_LOG: RateLimited = RateLimited::new(Duration::from_secs(10));
static ACCEPT_ERRORS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Accepts that failed in this process (at the open-file limit, usually), for the binaries' counters.
pub fn accept_errors() -> u64 {
    ACCEPT_ERRORS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Counts and logs (at a bounded rate) a failed accept; returns the pause before the next one.
pub fn accept_failed(e: &std::io::Error, failures: &mut u32, what: &str) -> Duration {
    // Usually EMFILE or ENFILE; back off instead of spinning, count it, and say it now and then.
    ACCEPT_ERRORS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let pause = accept_backoff(*failures);
    *failures = failures.saturating_add(1);
    if let Some(n) = ACCEPT_ERROR_LOG.check() {
        tracing::warn!(error = %e, suppressed = n, pause_ms = pause.as_millis() as u64, "{what}: accept failed (open-file limit?); backing off");
    }
    pause
}

/// The pause after the `n`th accept failure in a row: 50 ms doubling to 1 s, so a listener at the open-file
/// limit waits for descriptors to free up instead of spinning on a listen queue it cannot drain.
fn accept_backoff(n: u32) -> Duration {
    Duration::from_millis(50u64.saturating_mul(1 << n.min(5))).min(Duration::from_secs(1))
}

/// Accepts until `shutdown`, running `handle` for each connection in its own task. At most `max_conns` run at
/// once; beyond that a new connection is closed at once, reported to `on_reject` and logged at a bounded rate.
pub async fn accept_loop<F, Fut>(
    listener: TcpListener,
    max_conns: usize,
    on_reject: impl Fn(),
    what: &'static str,
    mut shutdown: Shutdown,
    handle: F,
) where
    F: Fn(TcpStream, Shutdown) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(max_conns.max(1)));
    let mut failures = 0u32;
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.wait() => return,
        };
        let (stream, peer) = match accepted {
            Ok(x) => {
                failures = 0;
                x
            }
            Err(e) => {
                let pause = accept_failed(&e, &mut failures, what);
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = shutdown.wait() => return,
                }
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            on_reject();
            if let Some(n) = REJECT_LOG.check() {
                tracing::warn!(%peer, limit = max_conns, suppressed = n, "{what}: too many connections, closing new one");
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let fut = handle(stream, shutdown.clone());
        tokio::spawn(async move {
            fut.await;
            drop(permit);
        });
    }
}

/// Writes what arrives on `rx` (turned into bytes by `encode`), coalescing queued items into one write.
/// Returns when every sender is gone (after shutting the write side down), on a write error, or when a write
/// stalls longer than `timeout` (reported to `on_stall`).
pub async fn write_loop<W, T>(
    wr: W,
    mut rx: mpsc::Receiver<T>,
    timeout: Duration,
    on_stall: impl FnOnce(),
    mut encode: impl FnMut(T, &mut Vec<u8>),
) where
    W: AsyncWrite,
{
    let mut wr = Box::pin(wr);
    let mut buf = Vec::new();
    while let Some(first) = rx.recv().await {
        buf.clear();
        encode(first, &mut buf);
        while buf.len() < (256 << 10) {
            match rx.try_recv() {
                Ok(m) => encode(m, &mut buf),
                Err(_) => break,
            }
        }
        match tokio::time::timeout(timeout, wr.write_all(&buf)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return,
            Err(_) => {
                on_stall();
                tracing::warn!("peer stopped reading replies for {timeout:?}, dropping connection");
                return;
            }
        }
    }
    let _ = wr.shutdown().await;
}

/// Polls `fut` once, in place: its output if it completed without waiting (most handlers only compute), None if
/// it has to wait (then spawn it). A panic inside becomes `Some(Err("rpc: internal error"))`.
pub fn poll_now<T>(
    fut: &mut std::pin::Pin<Box<dyn Future<Output = Result<T, String>> + Send>>,
) -> Option<Result<T, String>> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(&mut cx))) {
        Ok(std::task::Poll::Ready(v)) => Some(v),
        Ok(std::task::Poll::Pending) => None,
        Err(_) => Some(Err("rpc: internal error".to_string())),
    }
}

/// Runs one RPC call for a connection in its own task, holding `permit` (a slot of the connection's in-flight
/// bound) until it is done; a panicking handler becomes the error `rpc: internal error` instead of silence.
/// `deliver` gets the outcome (and is where the reply is queued).
pub fn spawn_call<T, C, D, DF>(permit: tokio::sync::OwnedSemaphorePermit, call: C, deliver: D)
where
    T: Send + 'static,
    C: Future<Output = Result<T, String>> + Send + 'static,
    D: FnOnce(Result<T, String>) -> DF + Send + 'static,
    DF: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let outcome = tokio::spawn(call).await.unwrap_or_else(|_| Err("rpc: internal error".to_string()));
        deliver(outcome).await;
        drop(permit);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_failures_back_off_to_a_second() {
        let pauses: Vec<u64> = (0..8).map(|n| accept_backoff(n).as_millis() as u64).collect();
        assert_eq!(pauses, [50, 100, 200, 400, 800, 1000, 1000, 1000]);
    }
}
