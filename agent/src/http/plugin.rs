//! `/plugin/update`, `/plugin/reset` (trusted callers only, bounded in time) and `/plugins`.

use super::{data, text, Peer, State};
use crate::plugins::git;
use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::response::Response;
use std::path::PathBuf;

/// git pull or clone.
pub async fn update(axum::extract::State(agent): State, ConnectInfo(peer): Peer, headers: HeaderMap) -> Response {
    if !agent.admits(&headers, peer.ip()) {
        return text("no privilege");
    }
    let cfg = agent.config();
    if !cfg.plugin.enabled {
        return text("plugin not enabled");
    }
    match git::update(&PathBuf::from(&cfg.plugin.dir), &cfg.plugin.git, git::GIT_TIMEOUT).await {
        Ok(()) => text("success"),
        Err(e) => text(e),
    }
}

/// git reset --hard.
pub async fn reset(axum::extract::State(agent): State, ConnectInfo(peer): Peer, headers: HeaderMap) -> Response {
    if !agent.admits(&headers, peer.ip()) {
        return text("no privilege");
    }
    let cfg = agent.config();
    if !cfg.plugin.enabled {
        return text("plugin not enabled");
    }
    match git::reset(&PathBuf::from(&cfg.plugin.dir), git::GIT_TIMEOUT).await {
        Ok(()) => text("success"),
        Err(e) => text(e),
    }
}

/// The scheduled plugins.
pub async fn list(axum::extract::State(agent): State) -> Response {
    data(&agent.plugins.snapshot())
}
