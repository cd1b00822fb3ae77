//! falcon-transfer: receives metrics, validates them, shards each series to judge and graph nodes exactly as
//! the Go transfer does, and forwards them in batches without losing what it can keep.
//!
//! Layout:
//! - [`config`]: the Go config file, defaults and validation.
//! - [`wire`], [`validate`], [`point`]: the item as received, Go's acceptance rules, and the accepted item
//!   with its per-output forms.
//! - [`receiver`]: JSON-RPC `Transfer.Update`/`Ping` and the `update ...` line protocol; HTTP `/api/push` is
//!   in [`http`] with the rest of the API.
//! - [`sender`]: rings, per-address lanes (bounded queue + send loop), judge/graph gob, tsdb, relay.
//! - [`stats`], [`trace`]: `/counter/all` and `/trace`, `/filter`.
//! - [`traffic`]: the rates the page at `/` plots, sampled every 10 s.
//! - [`app`]: the shared state; [`start`] binds the listeners, [`Running::shutdown`] drains.
//! - [`shards`]: one single-threaded runtime per worker thread; connections and send loops live on them.
//! - [`spool`]: a lane's on-disk overflow, so a peer that is down costs disk, not data.
//! - [`alloc`]: allocator settings that give a flood's memory back once it is over.

pub mod alloc;
pub mod app;
pub mod config;
pub mod http;
pub mod metrics;
pub mod point;
pub mod queue;
pub mod receiver;
pub mod sender;
pub mod shards;
pub mod spool;
pub mod stats;
pub mod trace;
pub mod traffic;
pub mod validate;
pub mod wire;

use app::App;
use falcon_proto::jsonrpc::{Server, ServerConfig};
use falcon_proto::netutil::accept_loop;
use falcon_runtime::listen::listen_addr;
use falcon_runtime::shutdown::{self, ShutdownTrigger};
use shards::Shards;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Why the transfer could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not bind.
    #[error("{what} listen on {addr}: {source}")]
    Bind {
        /// Which listener.
        what: &'static str,
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The TLS listener's files.
    #[error("rpc.tlsListen: {0}")]
    Tls(#[from] falcon_runtime::tls::TlsError),
}

/// A started transfer.
pub struct Running {
    /// The JSON-RPC listener's address, if enabled.
    pub rpc: Option<SocketAddr>,
    /// The JSON-RPC over TLS listener's address, if configured.
    pub rpc_tls: Option<SocketAddr>,
    /// The HTTP listener's address, if enabled.
    pub http: Option<SocketAddr>,
    /// The line-protocol listener's address, if enabled.
    pub socket: Option<SocketAddr>,
    /// The shared state.
    pub app: Arc<App>,
    trigger: ShutdownTrigger,
}

async fn bind(what: &'static str, addr: &str) -> Result<TcpListener, StartError> {
    TcpListener::bind(listen_addr(addr)).await.map_err(|source| StartError::Bind {
        what,
        addr: addr.to_string(),
        source,
    })
}

/// Binds every enabled listener and starts the send loops. Accepting, HTTP and shutdown run on the calling
/// runtime; each accepted connection and each send loop runs on one of `shards`.
pub async fn start(app: Arc<App>, shards: Arc<Shards>) -> Result<Running, StartError> {
    let (trigger, sd) = shutdown::channel();
    let cfg = &app.cfg;
    let mut running = Running { rpc: None, rpc_tls: None, http: None, socket: None, app: app.clone(), trigger };

    // Bind everything first so a port conflict fails the start cleanly.
    let rpc = if cfg.rpc.enabled { Some(bind("rpc", &cfg.rpc.listen).await?) } else { None };
    let http = if cfg.http.enabled { Some(bind("http", &cfg.http.listen).await?) } else { None };
    let socket = if cfg.socket.enabled { Some(bind("socket", &cfg.socket.listen).await?) } else { None };
    let rpc_tls = match cfg.rpc.tls_files() {
        Some(files) => {
            let tls = falcon_runtime::tls::ServerTls::new(files, "rpc-tls")?;
            Some((bind("rpc-tls", &cfg.rpc.tls_listen).await?, tls))
        }
        None => None,
    };

    for (i, send_loop) in app.sender.take_loops().into_iter().enumerate() {
        shards.get(i).spawn(send_loop);
    }
    tokio::spawn(traffic::run(app.clone(), sd.clone()));

    // The registry only fails on a duplicate name, which cannot happen with two fixed names.
    let rpc_cfg =
        ServerConfig { max_frame: cfg.buffers.max_message(), budget: app.budget.clone(), ..ServerConfig::default() };
    let server = receiver::rpc::registry(app.clone()).ok().map(|r| Server::new(r, rpc_cfg));
    if let (Some(l), Some(server)) = (rpc, server.clone()) {
        running.rpc = l.local_addr().ok();
        let shards = shards.clone();
        tokio::spawn(accept_loop(
            l,
            10_000,
            || {},
            "rpc",
            sd.clone(),
            move |stream, sd| {
                let (server, shards) = (server.clone(), shards.clone());
                async move { shards.serve_on_next(stream, move |s| async move { server.serve_conn(s, sd).await }).await }
            },
        ));
    }
    if let (Some((l, tls)), Some(server)) = (rpc_tls, server) {
        running.rpc_tls = l.local_addr().ok();
        let _ = app.rpc_tls.set(tls.clone());
        let shards = shards.clone();
        tokio::spawn(accept_loop(
            l,
            10_000,
            || {},
            "rpc-tls",
            sd.clone(),
            move |stream, sd| {
                let (server, shards, tls) = (server.clone(), shards.clone(), tls.clone());
                async move {
                    shards
                        .serve_on_next(stream, move |s| async move {
                            // The handshake runs on the connection's shard; a refused one is counted and logged.
                            if let Some(s) = tls.accept(s).await {
                                server.serve_conn(s, sd).await
                            }
                        })
                        .await
                }
            },
        ));
    }
    if let Some(l) = http {
        running.http = l.local_addr().ok();
        let (router, sd) = (http::router(app.clone()), sd.clone());
        tokio::spawn(async move {
            if let Err(e) = falcon_runtime::http_serve::serve(l, router, sd).await {
                tracing::error!(error = %e, "http server failed");
            }
        });
    }
    if let Some(l) = socket {
        running.socket = l.local_addr().ok();
        let idle = Duration::from_secs(cfg.socket.timeout.max(1) as u64);
        let app2 = app.clone();
        tokio::spawn(accept_loop(
            l,
            10_000,
            || {},
            "socket",
            sd.clone(),
            move |stream, sd| {
                let (app, shards) = (app2.clone(), shards.clone());
                async move { shards.serve_on_next(stream, move |s| receiver::socket::serve_conn(s, app, idle, sd)).await }
            },
        ));
    }
    Ok(running)
}

impl Running {
    /// Stops accepting, keeps delivering for up to the config's `drainTimeout`, writes what lanes with a
    /// spool still hold to disk, logs what is lost and returns how many items were neither delivered nor kept.
    pub async fn shutdown(self) -> usize {
        self.trigger.trigger();
        let left = self.app.sender.drain(Duration::from_secs(self.app.cfg.drain_timeout.max(0) as u64)).await;
        let mut total = 0;
        for (lane, n) in &left {
            // A lane with a spool keeps its queue on disk for the next run; only what was in flight (or past
            // the spool's bound) is lost.
            let lost = if lane.spool.is_some() { lane.stop_and_persist(Duration::from_secs(5)).await } else { *n };
            total += lost;
            if lost > 0 {
                tracing::warn!(output = lane.output.name(), node = %lane.node, addr = %lane.addr, items = lost, "undelivered at exit");
            }
        }
        self.app.stats.undelivered_at_exit.add(total);
        total
    }
}
