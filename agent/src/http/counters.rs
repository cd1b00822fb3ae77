//! Ours: `/counter/collectors` (per-collector runs, failures, overruns, last duration), `/counter/sender`,
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

/// Shell checks and their last runs.
pub async fn checks(axum::extract::State(agent): State) -> Response {
    data(&agent.shell_checks.snapshot())
}
