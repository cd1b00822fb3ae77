//! A JSON-RPC server that behaves like Go's `rpc.ServeCodec(jsonrpc.NewServerCodec(conn))`.
//!
//! Per connection: requests are read one after another; each call runs in its own task, so replies may
//! leave out of order (clients match them by id). Lookup failures and params decode errors get Go's error
//! replies and the connection stays open. Malformed JSON (or an oversized message) stops reading; calls
//! already running still get their replies, then the connection closes, as Go does. Unlike Go, everything is
//! bounded: connections, calls in flight per connection (the reader waits when full), message size, and the
//! time a peer may leave replies unread.

use super::envelope::{parse_go_shape, parse_request, write_response, ParamsError};
use super::frame::{FrameError, FrameReader, DEFAULT_MAX_FRAME};
use super::registry::Registry;
use crate::netutil::{accept_loop, poll_now, spawn_call};
use falcon_base::budget::Budget;
use falcon_base::ratelog::RateLimited;
use falcon_base::shutdown::Shutdown;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};

/// Limits of a JSON-RPC server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request accepted; a bigger one closes the connection.
    pub max_frame: usize,
    /// Calls running at once on one connection; the reader pauses beyond this.
    pub max_inflight_per_conn: usize,
    /// Open connections; more are accepted and closed at once.
    pub max_conns: usize,
    /// How long a reply write may stall before the connection is dropped.
    pub write_timeout: Duration,
    /// The process's budget for buffered request bytes, shared with its other listeners.
    pub budget: Arc<Budget>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_frame: DEFAULT_MAX_FRAME,
            max_inflight_per_conn: 256,
            max_conns: 10_000,
            write_timeout: Duration::from_secs(60),
            budget: Budget::unlimited(),
        }
    }
}

/// Counters of a server (all monotonic except `conns_open`).
#[derive(Debug, Default)]
pub struct ServerStats {
    /// Connections accepted.
    pub conns_accepted: AtomicU64,
    /// Connections closed at once because `max_conns` were open.
    pub conns_rejected: AtomicU64,
    /// Connections open now.
    pub conns_open: AtomicU64,
    /// Requests read.
    pub calls: AtomicU64,
    /// Replies that carried an error.
    pub error_replies: AtomicU64,
    /// Connections closed for malformed JSON.
    pub malformed: AtomicU64,
    /// Connections closed for an oversized message.
    pub oversize: AtomicU64,
    /// Connections dropped because the peer did not read its replies.
    pub write_stalls: AtomicU64,
}

/// A JSON-RPC server over a method registry.
pub struct Server {
    registry: Arc<Registry>,
    cfg: ServerConfig,
    stats: Arc<ServerStats>,
}

static BAD_INPUT_LOG: RateLimited = RateLimited::new(Duration::from_secs(10));

impl Server {
    /// A server for `registry`.
    pub fn new(registry: Registry, cfg: ServerConfig) -> Arc<Self> {
        Arc::new(Server { registry: Arc::new(registry), cfg, stats: Arc::default() })
    }

    /// Its counters.
    pub fn stats(&self) -> Arc<ServerStats> {
        self.stats.clone()
    }

    /// Accepts connections until `shutdown` fires; open connections then stop reading and finish their calls.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: Shutdown) {
        let stats = self.stats.clone();
        let this = self.clone();
        accept_loop(
            listener,
            self.cfg.max_conns,
            move || {
                stats.conns_rejected.fetch_add(1, Relaxed);
            },
            "jsonrpc",
            shutdown,
            move |stream, sd| {
                let this = this.clone();
                async move { this.serve_conn(stream, sd).await }
            },
        )
        .await
    }

    /// Serves one connection until EOF, an error, or `shutdown`.
    pub async fn serve_conn<S>(self: &Arc<Self>, stream: S, mut shutdown: Shutdown)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        self.stats.conns_accepted.fetch_add(1, Relaxed);
        self.stats.conns_open.fetch_add(1, Relaxed);
        let (rd, wr) = tokio::io::split(stream);
        let inflight_max = self.cfg.max_inflight_per_conn.max(1);
        let (tx, rx) = mpsc::channel::<Vec<u8>>(inflight_max + 16);
        let stats = self.stats.clone();
        let writer = tokio::spawn(crate::netutil::write_loop(
            wr,
            rx,
            self.cfg.write_timeout,
            move || {
                stats.write_stalls.fetch_add(1, Relaxed);
            },
            |bytes: Vec<u8>, buf: &mut Vec<u8>| buf.extend_from_slice(&bytes),
        ));
        let inflight = Arc::new(Semaphore::new(inflight_max));
        let mut frames = FrameReader::with_lease(Box::pin(rd), self.cfg.max_frame, self.cfg.budget.lease());
        loop {
            if tx.is_closed() {
                break;
            }
            let next = tokio::select! {
                r = frames.next_frame_meta() => r,
                _ = shutdown.wait() => break,
            };
            let (frame, nested_end) = match next {
                Ok(Some(f)) => f,
                Ok(None) | Err(FrameError::Io(_)) | Err(FrameError::UnexpectedEof) => break,
                Err(FrameError::Budget(e)) => {
                    self.cfg.budget.count_close("jsonrpc", &e);
                    break;
                }
                Err(FrameError::Stalled(_)) => {
                    self.cfg.budget.count_stall("jsonrpc", frames.held());
                    break;
                }
                Err(e) => {
                    let counter = if matches!(e, FrameError::TooLarge { .. }) {
                        &self.stats.oversize
                    } else {
                        &self.stats.malformed
                    };
                    counter.fetch_add(1, Relaxed);
                    if let Some(n) = BAD_INPUT_LOG.check() {
                        tracing::warn!(error = %e, suppressed = n, "jsonrpc: closing connection");
                    }
                    break;
                }
            };
            // Go's own request shape is read from offsets; anything else gets the full parse.
            let parsed = match parse_go_shape(frame, nested_end) {
                Some(r) => Ok(r),
                None => parse_request(frame),
            };
            let req = match parsed {
                Ok(r) => r,
                Err(e) => {
                    self.stats.malformed.fetch_add(1, Relaxed);
                    if let Some(n) = BAD_INPUT_LOG.check() {
                        tracing::warn!(error = %e, suppressed = n, "jsonrpc: bad request header, closing connection");
                    }
                    break;
                }
            };
            self.stats.calls.fetch_add(1, Relaxed);
            let id = req.id.map(str::to_owned);
            let started = match self.registry.lookup(&req.method) {
                Err(text) => Err(text),
                Ok(m) => match req.params {
                    None => Err("jsonrpc: request body missing params".to_string()),
                    Some(params) => match m.start(params) {
                        Ok(f) => Ok(f),
                        Err(ParamsError::Reply(text)) => Err(text),
                        Err(ParamsError::Malformed(e)) => {
                            self.stats.malformed.fetch_add(1, Relaxed);
                            if let Some(n) = BAD_INPUT_LOG.check() {
                                tracing::warn!(error = %e, suppressed = n, "jsonrpc: malformed params, closing connection");
                            }
                            break;
                        }
                    },
                },
            };
            let mut out = Vec::with_capacity(128);
            match started {
                Err(text) => {
                    self.stats.error_replies.fetch_add(1, Relaxed);
                    write_response(&mut out, id.as_deref(), Err(&text));
                }
                Ok(mut fut) => {
                    // The slot is taken before the first poll, so the bound covers every step of every call.
                    let Ok(permit) = inflight.clone().acquire_owned().await else { break };
                    match poll_now(&mut fut) {
                        // Completed without waiting: answered right here, no task, no wakeup.
                        Some(outcome) => {
                            drop(permit);
                            if outcome.is_err() {
                                self.stats.error_replies.fetch_add(1, Relaxed);
                            }
                            write_response(&mut out, id.as_deref(), outcome.as_deref().map_err(String::as_str));
                        }
                        None => {
                            let tx = tx.clone();
                            let stats = self.stats.clone();
                            spawn_call(permit, fut, move |outcome| async move {
                                let mut bytes = Vec::new();
                                if outcome.is_err() {
                                    stats.error_replies.fetch_add(1, Relaxed);
                                }
                                write_response(&mut bytes, id.as_deref(), outcome.as_deref().map_err(String::as_str));
                                let _ = tx.send(bytes).await;
                            });
                            continue;
                        }
                    }
                }
            }
            if tx.send(out).await.is_err() {
                break;
            }
        }
        drop(tx);
        let _ = writer.await;
        self.stats.conns_open.fetch_sub(1, Relaxed);
    }
}

/// Binds `addr` and serves `registry` on it in a background task; returns the bound address.
pub async fn spawn(
    addr: &str,
    registry: Registry,
    cfg: ServerConfig,
    shutdown: Shutdown,
) -> std::io::Result<(std::net::SocketAddr, Arc<Server>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let server = Server::new(registry, cfg);
    tokio::spawn(server.clone().serve(listener, shutdown));
    Ok((local, server))
}
