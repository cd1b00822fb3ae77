//! A gob `net/rpc` server like Go's `rpc.ServeConn`: what judge and graph run, and what our tests and future
//! receivers use to stand in for them.
//!
//! Per connection, requests (header then body) are read in order and each call runs in its own task; replies
//! may leave out of order. Lookup failures and undecodable bodies get Go's error reply (header with `Error`,
//! then an empty struct) and the connection stays open; an unreadable header or a broken stream closes it
//! after the calls in flight have answered.

use super::convert::FromGob;
use super::decode::{Decoder, Message};
use super::encode::{Encoder, GobEncode, TypeTable};
use super::model::{EmptyStruct, RequestHeader, ResponseHeader};
use super::stream::{MessageReader, DEFAULT_MAX_MESSAGE};
use super::value::Value;
use super::GobError;
use crate::netutil::{accept_loop, spawn_call, write_loop};
use crate::rpc_table::{MethodTable, RegistryError};
use falcon_base::ratelog::RateLimited;
use falcon_base::shutdown::Shutdown;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};

/// A reply ready to encode on the connection's stream.
pub trait GobReply: Send {
    /// Appends the reply (and any definitions it needs) to `out`.
    fn encode_into(&self, enc: &mut Encoder, out: &mut Vec<u8>);
}

impl<T: GobEncode + Send> GobReply for T {
    fn encode_into(&self, enc: &mut Encoder, out: &mut Vec<u8>) {
        enc.encode(self, out)
    }
}

/// A started call.
pub type GobCallFuture = Pin<Box<dyn Future<Output = Result<Box<dyn GobReply>, String>> + Send>>;

/// A registered gob method.
pub trait GobMethod: Send + Sync {
    /// Converts the decoded body into the argument and starts the call.
    fn start(&self, body: Value) -> Result<GobCallFuture, String>;
}

struct Typed<F, A> {
    f: F,
    _arg: std::marker::PhantomData<fn(A)>,
}

impl<A, R, F, Fut> GobMethod for Typed<F, A>
where
    A: FromGob + Send + 'static,
    R: GobEncode + Send + 'static,
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, String>> + Send + 'static,
{
    fn start(&self, body: Value) -> Result<GobCallFuture, String> {
        let arg = A::from_gob(body).map_err(|e| format!("gob: {e}"))?;
        let fut = (self.f)(arg);
        Ok(Box::pin(async move { fut.await.map(|r| Box::new(r) as Box<dyn GobReply>) }))
    }
}

/// Gob services and their methods.
#[derive(Default, Clone)]
pub struct GobRegistry {
    table: MethodTable<dyn GobMethod>,
}

impl GobRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `name` (`Service.Method`).
    pub fn register<A, R, F, Fut>(&mut self, name: &str, f: F) -> Result<&mut Self, RegistryError>
    where
        A: FromGob + Send + 'static,
        R: GobEncode + Send + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, String>> + Send + 'static,
    {
        self.table.insert(name, Arc::new(Typed { f, _arg: std::marker::PhantomData }))?;
        Ok(self)
    }
}

/// Limits of a gob server.
#[derive(Debug, Clone)]
pub struct GobServerConfig {
    /// Largest message accepted; a bigger one closes the connection.
    pub max_message: usize,
    /// Calls running at once on one connection; the reader pauses beyond this.
    pub max_inflight_per_conn: usize,
    /// Open connections; more are closed at once.
    pub max_conns: usize,
    /// How long a reply write may stall before the connection is dropped.
    pub write_timeout: Duration,
}

impl Default for GobServerConfig {
    fn default() -> Self {
        GobServerConfig {
            max_message: DEFAULT_MAX_MESSAGE,
            max_inflight_per_conn: 256,
            max_conns: 10_000,
            write_timeout: Duration::from_secs(60),
        }
    }
}

/// Counters of a gob server.
#[derive(Debug, Default)]
pub struct GobServerStats {
    /// Connections accepted.
    pub conns_accepted: AtomicU64,
    /// Connections refused over `max_conns`.
    pub conns_rejected: AtomicU64,
    /// Calls read.
    pub calls: AtomicU64,
    /// Replies carrying an error.
    pub error_replies: AtomicU64,
    /// Connections closed for a broken stream.
    pub bad_streams: AtomicU64,
    /// Connections dropped because the peer did not read replies.
    pub write_stalls: AtomicU64,
}

/// A gob RPC server.
pub struct GobServer {
    registry: Arc<GobRegistry>,
    cfg: GobServerConfig,
    table: Arc<TypeTable>,
    stats: Arc<GobServerStats>,
}

static BAD_STREAM_LOG: RateLimited = RateLimited::new(Duration::from_secs(10));

struct Outgoing {
    header: ResponseHeader,
    body: Result<Box<dyn GobReply>, ()>,
}

impl GobServer {
    /// A server for `registry` using the process-wide type ids.
    pub fn new(registry: GobRegistry, cfg: GobServerConfig) -> Arc<Self> {
        Self::with_table(registry, cfg, TypeTable::global())
    }

    /// A server using a given type-id table.
    pub fn with_table(registry: GobRegistry, cfg: GobServerConfig, table: Arc<TypeTable>) -> Arc<Self> {
        Arc::new(GobServer { registry: Arc::new(registry), cfg, table, stats: Arc::default() })
    }

    /// Its counters.
    pub fn stats(&self) -> Arc<GobServerStats> {
        self.stats.clone()
    }

    /// Accepts until `shutdown`.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: Shutdown) {
        let stats = self.stats.clone();
        let this = self.clone();
        accept_loop(
            listener,
            self.cfg.max_conns,
            move || {
                stats.conns_rejected.fetch_add(1, Relaxed);
            },
            "gob rpc",
            shutdown,
            move |stream, sd| {
                let this = this.clone();
                async move { this.serve_conn(stream, sd).await }
            },
        )
        .await
    }

    /// Serves one connection.
    pub async fn serve_conn<S>(self: &Arc<Self>, stream: S, mut shutdown: Shutdown)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        self.stats.conns_accepted.fetch_add(1, Relaxed);
        let (rd, wr) = tokio::io::split(stream);
        let inflight_max = self.cfg.max_inflight_per_conn.max(1);
        let (tx, rx) = mpsc::channel::<Outgoing>(inflight_max + 16);
        let mut enc = Encoder::with_table(self.table.clone());
        let stats = self.stats.clone();
        let writer = tokio::spawn(write_loop(
            wr,
            rx,
            self.cfg.write_timeout,
            move || {
                stats.write_stalls.fetch_add(1, Relaxed);
            },
            move |o: Outgoing, buf: &mut Vec<u8>| {
                enc.encode(&o.header, buf);
                match o.body {
                    Ok(reply) => reply.encode_into(&mut enc, buf),
                    Err(()) => enc.encode(&EmptyStruct, buf),
                }
            },
        ));
        let inflight = Arc::new(Semaphore::new(inflight_max));
        let mut reader = MessageReader::new(Box::pin(rd), self.cfg.max_message);
        let mut dec = Decoder::new();
        loop {
            if tx.is_closed() {
                break;
            }
            let header = tokio::select! {
                r = next_value(&mut reader, &mut dec) => r,
                _ = shutdown.wait() => break,
            };
            let header = match header.and_then(|v| v.map(RequestHeader::from_gob).transpose()) {
                Ok(Some(h)) => h,
                Ok(None) => break,
                Err(e) => {
                    self.bad_stream(&e);
                    break;
                }
            };
            let body = match next_value(&mut reader, &mut dec).await {
                Ok(Some(v)) => v,
                Ok(None) => break,
                Err(e) => {
                    self.bad_stream(&e);
                    break;
                }
            };
            self.stats.calls.fetch_add(1, Relaxed);
            let started = self.registry.table.lookup(&header.service_method).and_then(|m| m.start(body));
            let reply_header = |error: String| ResponseHeader {
                service_method: header.service_method.clone(),
                seq: header.seq,
                error,
            };
            match started {
                Err(text) => {
                    self.stats.error_replies.fetch_add(1, Relaxed);
                    if tx.send(Outgoing { header: reply_header(text), body: Err(()) }).await.is_err() {
                        break;
                    }
                }
                Ok(fut) => {
                    let Ok(permit) = inflight.clone().acquire_owned().await else { break };
                    let tx = tx.clone();
                    let stats = self.stats.clone();
                    let ok_header = reply_header(String::new());
                    spawn_call(permit, fut, move |outcome| async move {
                        let out = match outcome {
                            Ok(reply) => Outgoing { header: ok_header, body: Ok(reply) },
                            Err(text) => {
                                stats.error_replies.fetch_add(1, Relaxed);
                                Outgoing { header: ResponseHeader { error: text, ..ok_header }, body: Err(()) }
                            }
                        };
                        let _ = tx.send(out).await;
                    });
                }
            }
        }
        drop(tx);
        let _ = writer.await;
    }

    fn bad_stream(&self, e: &GobError) {
        self.stats.bad_streams.fetch_add(1, Relaxed);
        if let Some(n) = BAD_STREAM_LOG.check() {
            tracing::warn!(error = %e, suppressed = n, "gob rpc: closing connection");
        }
    }
}

/// The next value on the stream (definitions absorbed), None at a clean end.
async fn next_value<R: AsyncRead + Unpin>(
    reader: &mut MessageReader<R>,
    dec: &mut Decoder,
) -> Result<Option<Value>, GobError> {
    loop {
        let Some(msg) = reader.next_message().await? else { return Ok(None) };
        if let Message::Value(_, v) = dec.decode_message(msg)? {
            return Ok(Some(v));
        }
    }
}

/// Binds `addr` and serves `registry` in a background task; returns the bound address.
pub async fn spawn(
    addr: &str,
    registry: GobRegistry,
    cfg: GobServerConfig,
    shutdown: Shutdown,
) -> std::io::Result<(std::net::SocketAddr, Arc<GobServer>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let server = GobServer::new(registry, cfg);
    tokio::spawn(server.clone().serve(listener, shutdown));
    Ok((local, server))
}
