//! falcon-agent: a drop-in replacement for Open-Falcon's Go agent.
//!
//! Layout:
//! - [`config`]: the Go config file, unchanged, with defaults and validation.
//! - [`identity`]: endpoint, local IP, versions.
//! - [`collector`]: one file per builtin collector (pure `parse_*` over /proc text, plus a thin reader),
//!   the 1 s [`collector::sampler`], and the registry.
//! - [`cycle`]: the collection loop: groups, timestamps, overruns.
//! - [`outgoing`]: endpoint/step/timestamp, `ignore`, default tags, the NaN guard.
//! - [`sender`] and [`spool`]: the buffered, loss-aware `Transfer.Update` sender.
//! - [`checks`] and [`heartbeat`]: the four HBS loops and the checks they hand out, over [`hbs_client`]
//!   (one or more HBS addresses with failover).
//! - [`plugins`]: desired set, scheduler, runner, git (programs run through `falcon_runtime::exec`).
//! - [`http`]: the :1988 API.
//! - [`shellchecks`]: the config's `checks`, commands whose output lines become items.
//! - [`check`]: the `-check` flag.

pub mod app;
pub mod check;
pub mod check_values;
pub mod checks;
pub mod collector;
pub mod config;
pub mod cycle;
pub mod hbs_client;
pub mod heartbeat;
pub mod history;
pub mod http;
pub mod identity;
pub mod metrics;
pub mod outgoing;
pub mod plugins;
pub mod sender;
pub mod shellchecks;
pub mod spool;
pub mod stats;

use app::Agent;
use falcon_runtime::shutdown::Shutdown;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// A started agent.
pub struct Running {
    /// The HTTP address, when listening.
    pub http: Option<SocketAddr>,
    sender: JoinHandle<()>,
}

impl Running {
    /// Waits (at most `bound`) for the sender to stop and spool what is left; call after triggering shutdown.
    pub async fn finish(self, bound: std::time::Duration) {
        if tokio::time::timeout(bound, self.sender).await.is_err() {
            tracing::warn!("sender did not stop in time");
        }
    }
}

/// Starts every loop and the HTTP server; everything stops when `shutdown` fires.
pub async fn start(agent: Arc<Agent>, shutdown: Shutdown) -> std::io::Result<Running> {
    let cfg = agent.config();
    let http = if cfg.http.enabled && !cfg.http.listen.is_empty() {
        let addr = falcon_runtime::listen::listen_addr(&cfg.http.listen);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("http.listen {addr}: {e}")))?;
        let local = listener.local_addr()?;
        let (a, s) = (agent.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = http::serve(listener, a, s).await {
                tracing::error!(error = %e, "HTTP server stopped");
            }
        });
        Some(local)
    } else {
        None
    };
    let sender = tokio::spawn(agent.sender.clone().run(shutdown.clone()));
    tokio::spawn(cycle::sample(agent.clone(), shutdown.clone()));
    if cfg.transfer.enabled && !cfg.transfer.addrs.is_empty() {
        tokio::spawn(cycle::run(agent.clone(), shutdown.clone()));
    } else {
        tracing::warn!("transfer disabled or without addresses: builtin metrics are not collected");
    }
    shellchecks::spawn(agent.clone(), shutdown.clone());
    tokio::spawn(history::run(agent.clone(), shutdown.clone()));
    heartbeat::spawn(agent, shutdown);
    Ok(Running { http, sender })
}
