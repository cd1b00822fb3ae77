//! Ours: `/metrics` (Prometheus), `/counter/collectors` (per-collector runs, failures, overruns, last duration), `/counter/sender`,
//! `/counter/buffers` (the buffer budget) and `/checks` (every shell check with its last run).

use super::{data, State};
use axum::response::Response;

/// Collector counters.
pub async fn collectors(axum::extract::State(agent): State) -> Response {
    data(&agent.stats.snapshot())
}

/// Sender counters.
pub async fn sender(axum::extract::State(agent): State) -> Response {
    data(&agent.sender.stats)
}

/// The buffer budget: bytes held now, peak, waits and closes.
pub async fn buffers(axum::extract::State(agent): State) -> Response {
    data(&agent.budget.stats())
}

/// `/metrics`, in the Prometheus text format (the registry is built at the first scrape).
pub async fn metrics(axum::extract::State(agent): State) -> Response {
    let m =
        agent.metrics.get_or_init(|| crate::metrics::build(std::sync::Arc::downgrade(&agent), agent.budget.clone()));
    let mut r = Response::new(axum::body::Body::from(m.render()));
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(falcon_runtime::metrics::CONTENT_TYPE),
    );
    r
}

/// Shell checks and their last runs.
pub async fn checks(axum::extract::State(agent): State) -> Response {
    data(&agent.shell_checks.snapshot())
}
