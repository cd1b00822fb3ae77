//! A bounded connection pool per backend address, with the semantics of Go's `toolkits/conn_pool`:
//! idle connections are reused oldest first, a new one is dialled while fewer than `max_conns` are open, and
//! beyond that fetching fails at once (`maximum connections reached`) rather than queueing. A connection
//! handed back is kept idle unless `max_idle` are idle already; one that failed or timed out is dropped.

use crate::gob::{FromGob, GobCallError, GobEncode};
use std::collections::VecDeque;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Makes connections for a pool.
pub trait Dial: Send + Sync + 'static {
    /// The connection type.
    type Conn: Send + 'static;
    /// Connects to `addr` within `timeout`.
    fn dial(&self, addr: &str, timeout: Duration) -> impl Future<Output = Result<Self::Conn, String>> + Send;
}

/// Pool limits, as the Go config names them.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Open connections at most (`maxConns`).
    pub max_conns: usize,
    /// Idle connections kept at most (`maxIdle`).
    pub max_idle: usize,
    /// Dial timeout (`connTimeout`).
    pub conn_timeout: Duration,
    /// Call timeout (`callTimeout`), applied by callers through [`ConnPool::call_timeout`].
    pub call_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_conns: 32,
            max_idle: 32,
            conn_timeout: Duration::from_millis(1000),
            call_timeout: Duration::from_millis(5000),
        }
    }
}

/// Why no connection could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// All `max_conns` are in use.
    #[error("{addr}: maximum connections reached")]
    MaxConns {
        /// Backend.
        addr: String,
    },
    /// Dialling failed.
    #[error("{addr}: {reason}")]
    Dial {
        /// Backend.
        addr: String,
        /// Cause.
        reason: String,
    },
}

/// Why a call through the pool failed.
#[derive(Debug, thiserror::Error)]
pub enum PoolCallError<E> {
    /// No connection could be had.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// No answer within the call timeout; the connection was closed.
    #[error("{addr}, call timeout")]
    Timeout {
        /// Backend.
        addr: String,
    },
    /// The call itself failed; the connection was closed.
    #[error("{0}")]
    Call(E),
}

struct State<C> {
    open: usize,
    idle: VecDeque<C>,
}

/// A snapshot of a pool, for `/debug/connpool`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStats {
    /// The backend address (Go's pool name).
    pub name: String,
    /// Connections ever created.
    pub created: u64,
    /// Connections open now (idle or in use).
    pub open: usize,
    /// Idle connections.
    pub idle: usize,
}

impl PoolStats {
    /// Go's `Proc()` line: `Name:<addr>,Cnt:<created>,active:<open>,all:<open>,free:<idle>`.
    pub fn proc_line(&self) -> String {
        format!("Name:{},Cnt:{},active:{},all:{},free:{}", self.name, self.created, self.open, self.open, self.idle)
    }
}

/// Connections to one backend address.
pub struct ConnPool<D: Dial> {
    addr: String,
    dialer: D,
    cfg: PoolConfig,
    state: Mutex<State<D::Conn>>,
    created: AtomicU64,
}

impl<D: Dial> ConnPool<D> {
    /// A pool for `addr`; nothing is dialled until used.
    pub fn new(addr: impl Into<String>, dialer: D, cfg: PoolConfig) -> Arc<Self> {
        Arc::new(ConnPool {
            addr: addr.into(),
            dialer,
            cfg,
            state: Mutex::new(State { open: 0, idle: VecDeque::new() }),
            created: AtomicU64::new(0),
        })
    }

    /// The backend address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The configured call timeout.
    pub fn call_timeout(&self) -> Duration {
        self.cfg.call_timeout
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State<D::Conn>> {
        // Nothing panics while the lock is held, so a poisoned lock still guards consistent counts.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An idle connection, or a new one while under `max_conns`.
    pub async fn fetch(self: &Arc<Self>) -> Result<Pooled<D>, PoolError> {
        {
            let mut st = self.state();
            if let Some(c) = st.idle.pop_front() {
                return Ok(Pooled { conn: Some(c), pool: self.clone() });
            }
            if st.open >= self.cfg.max_conns.max(1) {
                return Err(PoolError::MaxConns { addr: self.addr.clone() });
            }
            // Reserve the slot before dialling so concurrent fetches respect the bound.
            st.open += 1;
        }
        match self.dialer.dial(&self.addr, self.cfg.conn_timeout).await {
            Ok(c) => {
                self.created.fetch_add(1, Relaxed);
                Ok(Pooled { conn: Some(c), pool: self.clone() })
            }
            Err(reason) => {
                self.state().open -= 1;
                Err(PoolError::Dial { addr: self.addr.clone(), reason })
            }
        }
    }

    fn put_back(&self, c: D::Conn) {
        let mut st = self.state();
        if st.idle.len() >= self.cfg.max_idle {
            st.open -= 1;
        } else {
            st.idle.push_back(c);
        }
    }

    fn forget(&self) {
        self.state().open -= 1;
    }

    /// Current numbers.
    pub fn stats(&self) -> PoolStats {
        let st = self.state();
        PoolStats { name: self.addr.clone(), created: self.created.load(Relaxed), open: st.open, idle: st.idle.len() }
    }

    /// Go's `Call`: takes a connection, runs `f` on it within the call timeout, puts it back on success and
    /// closes it on an error or a timeout (a half-finished exchange leaves the stream unusable). `f` gets the
    /// connection by value and returns it with its result, so the future may borrow what the caller holds.
    pub async fn call_with<T, E, F, Fut>(self: &Arc<Self>, f: F) -> Result<T, PoolCallError<E>>
    where
        F: FnOnce(Pooled<D>) -> Fut,
        Fut: Future<Output = (Pooled<D>, Result<T, E>)>,
    {
        let conn = self.fetch().await?;
        match tokio::time::timeout(self.cfg.call_timeout, f(conn)).await {
            Ok((conn, Ok(v))) => {
                conn.release();
                Ok(v)
            }
            Ok((conn, Err(e))) => {
                drop(conn);
                Err(PoolCallError::Call(e))
            }
            // The future, and the connection in it, were dropped: closed.
            Err(_) => Err(PoolCallError::Timeout { addr: self.addr.clone() }),
        }
    }

    /// Closes every idle connection.
    pub fn clear_idle(&self) {
        let mut st = self.state();
        let n = st.idle.len();
        st.idle.clear();
        st.open -= n;
    }
}

/// A connection out of its pool. [`release`](Pooled::release) returns it; dropping it closes it (Go's
/// `ForceClose`), which is what a failed or timed-out call must do.
pub struct Pooled<D: Dial> {
    conn: Option<D::Conn>,
    pool: Arc<ConnPool<D>>,
}

impl<D: Dial> Pooled<D> {
    /// Hands the healthy connection back to the pool.
    pub fn release(mut self) {
        if let Some(c) = self.conn.take() {
            self.pool.put_back(c);
        }
    }
}

impl<D: Dial> Deref for Pooled<D> {
    type Target = D::Conn;
    fn deref(&self) -> &D::Conn {
        // Only `release` and `drop` take the connection, and both consume the guard.
        self.conn.as_ref().unwrap_or_else(|| unreachable!("pooled connection used after release"))
    }
}

impl<D: Dial> DerefMut for Pooled<D> {
    fn deref_mut(&mut self) -> &mut D::Conn {
        self.conn.as_mut().unwrap_or_else(|| unreachable!("pooled connection used after release"))
    }
}

impl<D: Dial> Drop for Pooled<D> {
    fn drop(&mut self) {
        if self.conn.take().is_some() {
            self.pool.forget();
        }
    }
}

/// Dials gob RPC connections (transfer -> judge/graph).
#[derive(Debug, Clone, Default)]
pub struct GobDialer;

impl Dial for GobDialer {
    type Conn = crate::gob::GobClient;
    async fn dial(&self, addr: &str, timeout: Duration) -> Result<Self::Conn, String> {
        crate::gob::GobClient::connect(addr, timeout).await.map_err(|e| e.to_string())
    }
}

impl ConnPool<GobDialer> {
    /// A gob RPC call through the pool, e.g. `Judge.Send` with a `Vec<JudgeItem>`.
    pub async fn gob_call<A, R>(self: &Arc<Self>, method: &str, args: &A) -> Result<R, PoolCallError<GobCallError>>
    where
        A: GobEncode + ?Sized,
        R: FromGob,
    {
        self.call_with(|mut c| async move {
            let r = c.call(method, args).await;
            (c, r)
        })
        .await
    }
}

/// Dials JSON-RPC connections (transfer -> transfer).
#[derive(Debug, Clone, Default)]
pub struct JsonRpcDialer {
    /// Call timeout and frame bound of each client.
    pub client: crate::jsonrpc::ClientConfig,
}

impl Dial for JsonRpcDialer {
    type Conn = crate::jsonrpc::Client;
    async fn dial(&self, addr: &str, timeout: Duration) -> Result<Self::Conn, String> {
        let cfg = crate::jsonrpc::ClientConfig { dial_timeout: timeout, ..self.client.clone() };
        let c = crate::jsonrpc::Client::new(addr, cfg);
        c.connect().await.map_err(|e| e.to_string())?;
        Ok(c)
    }
}

/// Dials plain TCP connections (transfer -> OpenTSDB).
#[derive(Debug, Clone, Default)]
pub struct TcpDialer;

impl Dial for TcpDialer {
    type Conn = tokio::net::TcpStream;
    async fn dial(&self, addr: &str, timeout: Duration) -> Result<Self::Conn, String> {
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                Ok(s)
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("i/o timeout".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Hands out numbered fake connections; fails when told to.
    struct Fake {
        next: AtomicUsize,
        fail: std::sync::atomic::AtomicBool,
    }

    impl Dial for Arc<Fake> {
        type Conn = usize;
        async fn dial(&self, _: &str, _: Duration) -> Result<usize, String> {
            if self.fail.load(Relaxed) {
                return Err("refused".into());
            }
            Ok(self.next.fetch_add(1, Relaxed))
        }
    }

    fn pool(max_conns: usize, max_idle: usize) -> (Arc<ConnPool<Arc<Fake>>>, Arc<Fake>) {
        let fake = Arc::new(Fake { next: AtomicUsize::new(0), fail: Default::default() });
        let cfg = PoolConfig { max_conns, max_idle, ..PoolConfig::default() };
        (ConnPool::new("10.0.0.1:6070", fake.clone(), cfg), fake)
    }

    #[tokio::test]
    async fn reuses_idle_oldest_first_and_bounds_open() {
        let (p, _) = pool(2, 2);
        let a = p.fetch().await.unwrap();
        let b = p.fetch().await.unwrap();
        assert_eq!((*a, *b), (0, 1));
        assert_eq!(p.fetch().await.err(), Some(PoolError::MaxConns { addr: "10.0.0.1:6070".into() }));
        a.release();
        b.release();
        let again = p.fetch().await.unwrap();
        assert_eq!(*again, 0, "oldest idle first");
        assert_eq!(p.stats().proc_line(), "Name:10.0.0.1:6070,Cnt:2,active:2,all:2,free:1");
    }

    #[tokio::test]
    async fn dropped_connections_free_their_slot() {
        let (p, fake) = pool(1, 1);
        let a = p.fetch().await.unwrap();
        drop(a); // a failed call: force-closed
        assert_eq!(p.stats().open, 0);
        let b = p.fetch().await.unwrap();
        assert_eq!(*b, 1, "a new connection was dialled");
        drop(b);
        fake.fail.store(true, Relaxed);
        assert!(matches!(p.fetch().await, Err(PoolError::Dial { .. })));
        assert_eq!(p.stats().open, 0, "a failed dial does not hold a slot");
    }

    #[tokio::test]
    async fn calls_release_on_success_and_close_on_error_or_timeout() {
        let (p, _) = {
            let fake = Arc::new(Fake { next: AtomicUsize::new(0), fail: Default::default() });
            let cfg = PoolConfig {
                max_conns: 2,
                max_idle: 2,
                call_timeout: Duration::from_millis(50),
                ..PoolConfig::default()
            };
            (ConnPool::new("a:1", fake.clone(), cfg), fake)
        };
        let v = p
            .call_with(|c| async move {
                let id = *c;
                (c, Ok::<_, ()>(id))
            })
            .await
            .unwrap();
        assert_eq!(v, 0);
        assert_eq!((p.stats().open, p.stats().idle), (1, 1), "released");
        let e = p.call_with(|c| async move { (c, Err::<(), _>("boom")) }).await.unwrap_err();
        assert!(matches!(e, PoolCallError::Call("boom")));
        assert_eq!(p.stats().open, 0, "closed after an error");
        let e = p
            .call_with(|c| async move {
                tokio::time::sleep(Duration::from_secs(5)).await;
                (c, Ok::<_, ()>(()))
            })
            .await
            .unwrap_err();
        assert!(matches!(&e, PoolCallError::Timeout { addr } if addr == "a:1"));
        assert_eq!(p.stats().open, 0, "closed after a timeout");
    }

    #[tokio::test]
    async fn closes_beyond_max_idle() {
        let (p, _) = pool(3, 1);
        let a = p.fetch().await.unwrap();
        let b = p.fetch().await.unwrap();
        a.release();
        b.release();
        let s = p.stats();
        assert_eq!((s.open, s.idle), (1, 1));
        p.clear_idle();
        assert_eq!(p.stats().open, 0);
    }
}
