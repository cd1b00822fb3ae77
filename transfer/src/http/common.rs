//! `/workdir`, `/proc/step` and `/config/reload`.

use super::data;
use crate::app::App;
use crate::config::Config;
use axum::response::Response;
use serde::Serialize;
use std::net::SocketAddr;

/// The executable's directory (Go's `file.SelfDir()`).
pub(super) fn self_dir() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.display().to_string()))
        .unwrap_or_else(|| ".".to_string())
}

/// `/proc/step`'s data.
#[derive(Serialize)]
pub(super) struct MinStep {
    pub(super) min_step: i64,
}

/// `/config/reload`: loopback callers (as in Go) or callers with `http.token`. Re-reads and validates the file.
/// Like Go, the rings, queues, pools and listeners built at start stay as they are, so the running
/// configuration does not change; unlike Go, which exits when the file is bad, a bad file is reported and the
/// transfer keeps running.
pub(super) fn reload(app: &App, peer: SocketAddr, headers: &axum::http::HeaderMap) -> Response {
    if !app.cfg.http.gate().admit(headers, peer.ip().is_loopback()).allowed() {
        return data(&"no privilege");
    }
    // Certificates are re-read from their files; open connections keep their sessions.
    if let Some(tls) = app.rpc_tls.get() {
        if let Err(e) = tls.reload() {
            tracing::error!(error = %e, "config/reload: TLS certificates not reloaded; the running ones stay");
            return data(&format!("TLS certificates not reloaded: {e}"));
        }
    }
    let Some(path) = app.config_path.as_ref() else { return data(&"no config file") };
    match Config::load(path) {
        Ok(new) if new == app.cfg => data(&"ok"),
        Ok(_) => {
            tracing::warn!("config/reload: {} changed; the changes take effect at the next restart", path.display());
            data(&"ok")
        }
        Err(e) => data(&e.to_string()),
    }
}
