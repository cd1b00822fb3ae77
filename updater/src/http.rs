//! The updater's HTTP API on `http.listen`: `/health`, `/version`, `/status` (what it manages, the last
//! heartbeat, the last error and outcome per agent), `/metrics` (Prometheus).

use crate::heartbeat::Updater;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

/// The routes.
pub fn router(u: Arc<Updater>) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/version", get(|| async { env!("CARGO_PKG_VERSION") }))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .with_state(u)
}

async fn metrics(State(u): State<Arc<Updater>>) -> Response {
    let m = u.metrics.get_or_init(|| crate::metrics::build(Arc::downgrade(&u)));
    ([(axum::http::header::CONTENT_TYPE, falcon_runtime::metrics::CONTENT_TYPE)], m.render()).into_response()
}

async fn status(State(u): State<Arc<Updater>>) -> Response {
    let s = u.status.lock().map(|s| s.clone()).unwrap_or_default();
    match falcon_runtime::render::data_json(&s) {
        Ok(bytes) => ([(axum::http::header::CONTENT_TYPE, "application/json; charset=UTF-8")], bytes).into_response(),
        Err(e) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
