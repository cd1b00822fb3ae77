//! `/workdir`, `/ips`, `/config/reload`, `/exit` and `/run`.

use super::{data, http_error, msg, text, Peer, State};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use std::time::Duration;

/// How long a `/run` command may take.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The directory of the executable.
pub async fn workdir() -> Response {
    let dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.display().to_string()))
        .unwrap_or_else(|| ".".into());
    data(&dir)
}

/// The trusted IPs from HBS (`null` before the first sync).
pub async fn ips(axum::extract::State(agent): State) -> Response {
    data(&agent.trustable_ips())
}

/// Re-reads the config file. Go exits on a broken file; here the running config stays and the reply says why.
pub async fn config_reload(
    axum::extract::State(agent): State,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
) -> Response {
    if !agent.admits(&headers, peer.ip()) {
        return text("no privilege");
    }
    match agent.reload() {
        Ok(cfg) => data(&*cfg),
        Err(e) => {
            tracing::error!(error = %e, "config reload failed; the running config stays");
            msg(&format!("reload failed, running config kept: {e}"))
        }
    }
}

/// Stops the agent one second later (cleanly: undelivered batches go to the spool).
pub async fn exit(axum::extract::State(agent): State, ConnectInfo(peer): Peer, headers: HeaderMap) -> Response {
    if !agent.admits(&headers, peer.ip()) {
        return text("no privilege");
    }
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        tracing::info!("exit requested over HTTP");
        agent.exit.trigger();
    });
    text("exiting...")
}

/// `sh -c <body>` when `http.backdoor` is on and the caller is trusted.
pub async fn run(axum::extract::State(agent): State, ConnectInfo(peer): Peer, req: Request<Body>) -> Response {
    if !agent.config().http.backdoor {
        return text("/run disabled");
    }
    if !agent.admits(req.headers(), peer.ip()) {
        return text("no privilege");
    }
    let body = match axum::body::to_bytes(req.into_body(), 1 << 20).await {
        Ok(b) => b,
        Err(e) => return http_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    if body.is_empty() {
        return http_error(StatusCode::BAD_REQUEST, "body is blank");
    }
    let script = String::from_utf8_lossy(&body).into_owned();
    tracing::warn!(peer = %peer, command = %script, "/run");
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c").arg(&script).kill_on_drop(true).stdin(std::process::Stdio::null());
    match tokio::time::timeout(RUN_TIMEOUT, cmd.output()).await {
        Err(_) => text(format!("exec fail: timed out after {} s", RUN_TIMEOUT.as_secs())),
        Ok(Err(e)) => text(format!("exec fail: {e}")),
        Ok(Ok(out)) if out.status.success() => text(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(Ok(out)) => text(format!("exec fail: {}", out.status)),
    }
}
