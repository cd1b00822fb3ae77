//! `/workdir`, `/proc/step` and `/config/reload`.

use super::data;
use crate::app::App;
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
    match app.reload_config() {
        Ok(()) => data(&"ok"),
        Err(e) => data(&e),
    }
}
