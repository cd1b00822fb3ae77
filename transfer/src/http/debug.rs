//! `/debug/connpool/judge` and `/debug/connpool/graph`: one Go `Proc()` line per backend pool.

use super::text;
use crate::app::App;
use axum::http::StatusCode;
use axum::response::Response;

pub(super) fn connpool(app: &App, rest: &str) -> Response {
    let module = rest.split('/').next().unwrap_or("");
    match app.sender.pool_lines(module) {
        Some(lines) => text(StatusCode::OK, lines.join("\n")),
        None => text(StatusCode::OK, "bad args, module not exist\n"),
    }
}
