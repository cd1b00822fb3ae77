//! The HTTP API on `http.listen` (spec §4.5): Go's paths, envelopes and status codes, any method. Routes that
//! change state (/plugin/update, /plugin/reset, /config/reload, /exit, /run) answer only loopback callers and
//! the IPs HBS lists as trustable.

mod admin;
mod counters;
mod page;
mod plugin;
pub mod push;
pub mod state;
pub mod system;

use crate::app::Agent;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;

/// Handler state.
pub type State = axum::extract::State<Arc<Agent>>;
/// The caller's address.
pub type Peer = ConnectInfo<SocketAddr>;

/// Every route.
pub fn router(agent: Arc<Agent>) -> Router {
    Router::new()
        .route("/v1/push", any(push::push))
        .route("/plugin/update", any(plugin::update))
        .route("/plugin/reset", any(plugin::reset))
        .route("/plugins", any(plugin::list))
        .route("/health", any(|| async { text("ok") }))
        .route("/version", any(|| async { text(crate::identity::VERSION) }))
        .route("/workdir", any(admin::workdir))
        .route("/config/reload", any(admin::config_reload))
        .route("/ips", any(admin::ips))
        .route("/exit", any(admin::exit))
        .route("/run", any(admin::run))
        .merge(system::routes())
        .route("/counter/collectors", any(counters::collectors))
        .route("/counter/sender", any(counters::sender))
        .route("/counter/buffers", any(counters::buffers))
        .route("/metrics", any(counters::metrics))
        .route("/checks", any(counters::checks))
        .route("/page/agent", any(state::agent))
        .route("/page/history", any(state::history))
        .route(falcon_runtime::ui::PLOT_JS_PATH, any(state::plot_js))
        .fallback(page::fallback)
        .with_state(agent)
}

fn json(bytes: Vec<u8>) -> Response {
    let mut r = (StatusCode::OK, bytes).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(falcon_runtime::render::JSON_CONTENT_TYPE));
    r
}

/// Go's `RenderDataJson`: `{"msg":"success","data":...}`.
pub fn data<T: Serialize>(v: &T) -> Response {
    match falcon_runtime::render::data_json(v) {
        Ok(b) => json(b),
        Err(e) => http_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Go's `RenderMsgJson`: `{"msg":"..."}`.
pub fn msg(m: &str) -> Response {
    json(falcon_runtime::render::msg_json(m))
}

/// Data or the error as a msg (Go's `AutoRender`).
pub fn auto<T: Serialize, E: std::fmt::Display>(r: Result<T, E>) -> Response {
    match r {
        Ok(v) => data(&v),
        Err(e) => msg(&e.to_string()),
    }
}

/// A plain-text 200 (Go's sniffed `w.Write`).
pub fn text(s: impl Into<String>) -> Response {
    let mut r = (StatusCode::OK, s.into()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

/// Go's `http.Error`: the text and a newline, nosniff.
pub fn http_error(status: StatusCode, s: &str) -> Response {
    let mut r = (status, format!("{s}\n")).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    r
}

/// Serves until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    agent: Arc<Agent>,
    shutdown: falcon_runtime::shutdown::Shutdown,
) -> std::io::Result<()> {
    falcon_runtime::http_serve::serve(listener, router(agent), shutdown).await
}
