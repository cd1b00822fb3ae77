//! Serving an axum router with bounds of our own on its connections. Under axum, hyper accepts every connection
//! and waits on each as long as the peer likes (no header or idle timeout without a timer), so a client that
//! opens connections and sends nothing would take every file descriptor of the process: the transfer could then
//! open neither a spool file nor a connection to graph. Here each listener keeps at most [`MAX_CONNS`]
//! connections (more are accepted and closed at once, counted and logged at a bounded rate) and closes a
//! connection on which nothing was read or written for [`IDLE`] (to twice that; counted). Go's `net/http` servers have neither
//! bound.

use axum::serve::ListenerExt;
use falcon_base::ratelog::RateLimited;
use falcon_base::shutdown::Shutdown;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// Connections one HTTP listener keeps open at most (the JSON-RPC listeners have their own bound).
pub const MAX_CONNS: usize = 1024;

/// How long a connection may see no byte read or written before it is closed (within twice this): longer than
/// any of our handlers runs (git in `/plugin/update`: 120 s).
pub const IDLE: Duration = Duration::from_secs(300);

/// What the process's HTTP listeners did with connections (all of them together).
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Connections accepted and served.
    pub accepted: AtomicU64,
    /// Connections closed at once because the listener had [`MAX_CONNS`] open.
    pub rejected: AtomicU64,
    /// Connections closed after [`IDLE`] without a byte either way.
    pub idle_closed: AtomicU64,
    /// Connections open now.
    pub open: AtomicU64,
}

static STATS: ConnStats = ConnStats {
    accepted: AtomicU64::new(0),
    rejected: AtomicU64::new(0),
    idle_closed: AtomicU64::new(0),
    open: AtomicU64::new(0),
};
static REJECT_LOG: RateLimited = RateLimited::new(Duration::from_secs(10));

/// The counts of this process's HTTP listeners.
pub fn stats() -> &'static ConnStats {
    &STATS
}

/// Serves `router` on `listener` with [`MAX_CONNS`] and [`IDLE`] until `shutdown`; handlers can take
/// `ConnectInfo<SocketAddr>`.
pub async fn serve(listener: TcpListener, router: axum::Router, shutdown: Shutdown) -> io::Result<()> {
    serve_with(listener, router, shutdown, MAX_CONNS, IDLE).await
}

/// [`serve`] with other bounds (tests).
async fn serve_with(
    listener: TcpListener,
    router: axum::Router,
    mut shutdown: Shutdown,
    max_conns: usize,
    idle: Duration,
) -> io::Result<()> {
    let limited = Limited { inner: listener, slots: Arc::new(Semaphore::new(max_conns.max(1))), max_conns, idle };
    // `tap_io` (doing nothing) is what gives a custom listener axum's `ConnectInfo` of its address type.
    axum::serve(limited.tap_io(|_| {}), router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await
}

/// A TCP listener that hands out at most `max_conns` connections at once.
struct Limited {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    max_conns: usize,
    idle: Duration,
}

impl axum::serve::Listener for Limited {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        let mut failures = 0u32;
        loop {
            let (stream, peer) = match self.inner.accept().await {
                Ok(x) => x,
                Err(e) => {
                    let pause = falcon_proto::netutil::accept_failed(&e, &mut failures, "http");
                    tokio::time::sleep(pause).await;
                    continue;
                }
            };
            failures = 0;
            let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                STATS.rejected.fetch_add(1, Relaxed);
                if let Some(n) = REJECT_LOG.check() {
                    tracing::warn!(%peer, limit = self.max_conns, suppressed = n, "http: too many connections, closing new one");
                }
                continue;
            };
            STATS.accepted.fetch_add(1, Relaxed);
            STATS.open.fetch_add(1, Relaxed);
            return (Conn::new(stream, slot, self.idle), peer);
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// One served connection: its slot, and an idle deadline. Reads and writes only mark progress (no clock, no
/// timer operation on the request path); when the deadline passes with progress marked, it moves on by `idle`,
/// so a connection is closed after `idle` to twice `idle` without a byte either way.
pub struct Conn {
    io: TcpStream,
    _slot: OwnedSemaphorePermit,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    progressed: bool,
}

impl Conn {
    fn new(io: TcpStream, slot: OwnedSemaphorePermit, idle: Duration) -> Conn {
        Conn { io, _slot: slot, idle, deadline: Box::pin(tokio::time::sleep(idle)), progressed: false }
    }

    /// A write's outcome: progress marked, or the idle check when the socket would block.
    fn wrote(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        match r {
            Poll::Ready(r) => {
                if matches!(r, Ok(n) if n > 0) {
                    self.progressed = true;
                }
                Poll::Ready(r)
            }
            Poll::Pending => self.idle_check(cx).map(Err),
        }
    }

    /// Called when the socket would block: an error once the connection has been idle too long.
    fn idle_check(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        while self.deadline.as_mut().poll(cx).is_ready() {
            if !std::mem::take(&mut self.progressed) {
                STATS.idle_closed.fetch_add(1, Relaxed);
                return Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "http connection idle"));
            }
            let next = Instant::now() + self.idle;
            self.deadline.as_mut().reset(next);
        }
        Poll::Pending
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        STATS.open.fetch_sub(1, Relaxed);
    }
}

impl AsyncRead for Conn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.progressed = true;
                }
                Poll::Ready(r)
            }
            Poll::Pending => self.idle_check(cx).map(Err),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, data);
        self.wrote(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.wrote(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A server on loopback with small bounds; returns its address and the shutdown trigger that stops it.
    fn server(
        rt: &tokio::runtime::Runtime,
        max: usize,
        idle: Duration,
    ) -> (SocketAddr, falcon_base::shutdown::ShutdownTrigger) {
        let (trigger, shutdown) = falcon_base::shutdown::channel();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let router = axum::Router::new().route(
            "/",
            axum::routing::get(|axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>| async move {
                format!("hello {}", peer.ip())
            }),
        );
        rt.spawn(serve_with(listener, router, shutdown, max, idle));
        (addr, trigger)
    }

    fn get(addr: SocketAddr) -> io::Result<String> {
        let mut s = std::net::TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    }

    /// Waits up to 5 s for `ok`.
    fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
        let end = std::time::Instant::now() + Duration::from_secs(5);
        while !ok() {
            assert!(std::time::Instant::now() < end, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    // One test: the counters are the process's.
    #[test]
    fn connections_past_the_limit_are_closed_and_idle_ones_reclaimed() {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
        let (addr, _stop) = server(&rt, 2, Duration::from_millis(300));
        assert!(get(addr).expect("served").ends_with("hello 127.0.0.1"), "ConnectInfo reaches the handlers");

        // Two silent connections take both slots; a third is closed at once (read: EOF or reset).
        let rejected = STATS.rejected.load(Relaxed);
        let idle = STATS.idle_closed.load(Relaxed);
        let held: Vec<_> = (0..2).map(|_| std::net::TcpStream::connect(addr).expect("connect")).collect();
        eventually("two connections open", || STATS.open.load(Relaxed) == 2);
        let mut third = std::net::TcpStream::connect(addr).expect("connect");
        third.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        let mut buf = [0u8; 16];
        assert!(matches!(third.read(&mut buf), Ok(0) | Err(_)), "the third connection is closed");
        assert_eq!(STATS.rejected.load(Relaxed), rejected + 1);

        // The silent two are closed after the idle time, and the listener serves again.
        eventually("idle connections closed", || STATS.idle_closed.load(Relaxed) >= idle + 2);
        eventually("slots free", || STATS.open.load(Relaxed) == 0);
        for mut s in held {
            s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
            assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)), "closed by the server");
        }
        assert!(get(addr).expect("served again").ends_with("hello 127.0.0.1"));

        // A slow client that keeps sending (a byte every 100 ms for about 1.5 s, five idle times) is served.
        let mut slow = std::net::TcpStream::connect(addr).expect("connect");
        slow.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        for b in b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".chunks(2) {
            slow.write_all(b).expect("write");
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut head = [0u8; 12];
        slow.read_exact(&mut head).expect("answer");
        assert_eq!(&head, b"HTTP/1.1 200");
    }
}
