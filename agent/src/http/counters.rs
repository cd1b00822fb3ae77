//! Ours: `/counter/collectors` (per-collector runs, failures, overruns, last duration) and `/counter/sender`.

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
