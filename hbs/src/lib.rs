//! falcon-hbs: a drop-in replacement for Open-Falcon's Go HBS, on an embedded SQLite database or an existing falcon_portal
//! MySQL database.
//!
//! Layout:
//! - [`config`]: the Go config file (with `database` naming a SQLite file).
//! - [`store`]: the one interface to the database and Go's DSN; [`db`]: its SQLite back end (schema and
//!   migrations, the cache load, the heartbeat write).
//! - [`hostwrites`]: heartbeat host rows, coalesced and written at most once a second.
//! - [`cache`]: the in-memory snapshot and the rules on it (inheritance, checksums' input, plugins, windows).
//! - [`state`]: config, database, snapshot and the agents map.
//! - [`rpc`]: `Agent.*` and `Hbs.*`.
//! - [`http`]: Go's read routes; [`admin_http`]: the admin API.
//! - [`admin`]: administrative operations and the JSON document (import/export).
//! - [`rollout`], [`rollout_http`]: agent rollouts for updaters (ops-meta's `/heartbeat`, tarballs, per-group
//!   versions, `/rollout`).
//! - [`page`]: the fleet page at `/` and its JSON routes; [`fleet`]: the hosts it shows; [`call_history`]:
//!   the JSON-RPC calls it plots.

pub mod admin;
pub mod admin_http;
pub mod cache;
pub mod call_history;
pub mod config;
pub mod db;
pub mod fleet;
pub mod hostwrites;
pub mod http;
pub mod metrics;
pub mod page;
pub mod rollout;
pub mod rollout_http;
pub mod rpc;
pub mod state;
pub mod store;

use falcon_runtime::shutdown::Shutdown;
use state::Hbs;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Where a started HBS listens.
pub struct Running {
    /// JSON-RPC.
    pub rpc: SocketAddr,
    /// HTTP, when enabled.
    pub http: Option<SocketAddr>,
    /// JSON-RPC over TLS, when configured.
    pub rpc_tls: Option<SocketAddr>,
}

/// Starts the RPC and HTTP servers and the cache loops.
pub async fn start(hbs: Arc<Hbs>, shutdown: Shutdown) -> std::io::Result<Running> {
    let cfg = hbs.config();
    let addr = falcon_runtime::listen::listen_addr(&cfg.listen);
    let rpc_cfg = falcon_proto::jsonrpc::ServerConfig {
        max_frame: cfg.buffers.max_message(),
        budget: hbs.budget.clone(),
        ..Default::default()
    };
    let (rpc, server) =
        falcon_proto::jsonrpc::server::spawn(&addr, rpc::registry(hbs.clone()), rpc_cfg, shutdown.clone())
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("listen {addr}: {e}")))?;
    let rpc_tls = match cfg.tls_files() {
        Some(files) => {
            let tls = falcon_runtime::tls::ServerTls::new(files, "rpc-tls")
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("tlsListen: {e}")))?;
            let a = falcon_runtime::listen::listen_addr(&cfg.tls_listen);
            let l = tokio::net::TcpListener::bind(&a)
                .await
                .map_err(|e| std::io::Error::new(e.kind(), format!("tlsListen {a}: {e}")))?;
            let local = l.local_addr()?;
            let _ = hbs.rpc_tls.set(tls.clone());
            tokio::spawn(falcon_proto::netutil::accept_loop(
                l,
                10_000,
                || {},
                "rpc-tls",
                shutdown.clone(),
                move |s, sd| {
                    let (server, tls) = (server.clone(), tls.clone());
                    async move {
                        // A refused handshake is counted and logged by `accept`.
                        if let Some(s) = tls.accept(s).await {
                            server.serve_conn(s, sd).await
                        }
                    }
                },
            ));
            Some(local)
        }
        None => None,
    };
    let http = if cfg.http.enabled && !cfg.http.listen.is_empty() {
        let a = falcon_runtime::listen::listen_addr(&cfg.http.listen);
        let l = tokio::net::TcpListener::bind(&a)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("http.listen {a}: {e}")))?;
        let local = l.local_addr()?;
        let (h, s) = (hbs.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = http::serve(l, h, s).await {
                tracing::error!(error = %e, "HTTP server stopped");
            }
        });
        Some(local)
    } else {
        None
    };
    tokio::spawn(refresh(hbs.clone(), shutdown.clone()));
    tokio::spawn(flush_hosts(hbs.clone(), shutdown.clone()));
    tokio::spawn(call_history::run(hbs.clone(), shutdown.clone()));
    tokio::spawn(watch(hbs, shutdown));
    Ok(Running { rpc, http, rpc_tls })
}

/// Go's loop: reload every 60 s; and forget agents silent for 24 h, once a day.
async fn refresh(hbs: Arc<Hbs>, mut shutdown: Shutdown) {
    let mut n = 0u64;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = shutdown.wait() => return,
        }
        let h = hbs.clone();
        let _ = tokio::task::spawn_blocking(move || h.reload()).await;
        n += 1;
        if n.is_multiple_of(24 * 60) {
            let gone = hbs.forget_stale(falcon_runtime::timefmt::now_unix(), 24 * 3600);
            tracing::info!(gone, "stale agents forgotten");
        }
    }
}

/// Writes queued host rows once a second, and what is left at shutdown (bounded).
async fn flush_hosts(hbs: Arc<Hbs>, mut shutdown: Shutdown) {
    let mut failing = false;
    loop {
        let stop = tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => false,
            _ = shutdown.wait() => true,
        };
        let h = hbs.clone();
        match tokio::task::spawn_blocking(move || h.flush_hosts()).await {
            Ok(Err(e)) if !failing => {
                failing = true;
                tracing::error!(error = %e, queued = hbs.host_writes.len(), "host write failed; reports kept for the next try");
            }
            Ok(Ok(_)) if failing => {
                failing = false;
                tracing::info!("host writes work again");
            }
            _ => {}
        }
        if stop {
            return;
        }
    }
}

/// Reloads soon after another process (`falcon-hbs admin`, another HBS, the portal) commits to the database:
/// within a second on SQLite, five seconds on MySQL.
async fn watch(hbs: Arc<Hbs>, mut shutdown: Shutdown) {
    let token = |h: &Arc<Hbs>| {
        let h = h.clone();
        tokio::task::spawn_blocking(move || h.store.change_token().unwrap_or(0))
    };
    let mut last = token(&hbs).await.unwrap_or(0);
    let every = hbs.store.change_poll();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.wait() => return,
        }
        let v = token(&hbs).await.unwrap_or(last);
        if v != last {
            last = v;
            let h = hbs.clone();
            let _ = tokio::task::spawn_blocking(move || h.reload()).await;
            tracing::info!("database changed by another process: caches reloaded");
        }
    }
}
