//! The HTTP API (spec §6.5): Go's paths and envelopes.

use crate::state::Hbs;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

fn json(body: Vec<u8>) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(falcon_runtime::render::JSON_CONTENT_TYPE));
    r
}

/// `{"msg":"success","data":...}`; an unencodable value gives a 500 with the encoder's error.
pub fn data<T: Serialize>(v: &T) -> Response {
    match falcon_runtime::render::data_json(v) {
        Ok(body) => json(body),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Plain text.
pub fn text(s: impl Into<String>) -> Response {
    let mut r = (StatusCode::OK, s.into()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

#[derive(Serialize)]
#[allow(non_snake_case)]
struct HostView<'a> {
    Id: i64,
    Name: &'a str,
}

/// The routes.
pub fn router(hbs: Arc<Hbs>) -> Router {
    Router::new()
        .route("/health", any(|| async { text("ok") }))
        .route("/version", any(|| async { text(env!("CARGO_PKG_VERSION")) }))
        .route(
            "/workdir",
            any(|| async {
                let d = std::env::current_exe()
                    .ok()
                    .and_then(|p| p.parent().map(|d| d.display().to_string()))
                    .unwrap_or_default();
                data(&d)
            }),
        )
        .route("/config/reload", any(config_reload))
        .route(
            "/metrics",
            any(|State(h): State<Arc<Hbs>>| async move {
                ([(axum::http::header::CONTENT_TYPE, falcon_runtime::metrics::CONTENT_TYPE)], h.metrics.render())
                    .into_response()
            }),
        )
        .route(
            "/expressions",
            any(|State(h): State<Arc<Hbs>>| async move {
                // `null` when there are none, as Go renders its nil slice.
                let c = h.cache();
                data(&(!c.expressions.is_empty()).then_some(&c.expressions))
            }),
        )
        .route(
            "/counter/accept",
            // Ours: accepts that failed (the open-file limit, usually); the JSON-RPC listener backs off on them.
            any(|| async {
                let mut m = BTreeMap::new();
                m.insert("AcceptErrorCnt", falcon_proto::netutil::accept_errors());
                data(&m)
            }),
        )
        .route(
            "/counter/buffers",
            // Ours: the budget for bytes buffered from clients (gauge, peak, waits, closes).
            any(|State(h): State<Arc<Hbs>>| async move { data(&h.budget.stats()) }),
        )
        .route(
            "/counter/hostwrites",
            // Ours: the host-write queue (queued, written, writes, failed writes, dropped) and its length.
            any(|State(h): State<Arc<Hbs>>| async move {
                let w = &h.host_writes;
                let get = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
                let mut m = BTreeMap::new();
                m.insert("queued", get(&w.stats.queued));
                m.insert("written", get(&w.stats.written));
                m.insert("writes", get(&w.stats.writes));
                m.insert("failed_writes", get(&w.stats.failed_writes));
                m.insert("dropped", get(&w.stats.dropped));
                m.insert("waiting", w.len() as u64);
                data(&m)
            }),
        )
        .route(
            "/agents",
            any(|State(h): State<Arc<Hbs>>| async move {
                let names: Vec<String> = h.agents.lock().map(|a| a.keys().cloned().collect()).unwrap_or_default();
                data(&names)
            }),
        )
        .route(
            "/hosts",
            any(|State(h): State<Arc<Hbs>>| async move {
                let now = falcon_runtime::timefmt::now_unix();
                let c = h.cache();
                let m: BTreeMap<String, HostView> = c
                    .hosts
                    .values()
                    .filter(|x| x.monitored(now))
                    .map(|x| (x.id.to_string(), HostView { Id: x.id, Name: &x.hostname }))
                    .collect();
                data(&m)
            }),
        )
        .route(
            "/strategies",
            any(|State(h): State<Arc<Hbs>>| async move {
                let now = falcon_runtime::timefmt::now_unix();
                let m: BTreeMap<String, _> = h
                    .cache()
                    .active_strategies(&crate::rpc::local_hhmm(now))
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                data(&m)
            }),
        )
        .route(
            "/templates",
            any(|State(h): State<Arc<Hbs>>| async move {
                let m: BTreeMap<String, _> =
                    h.cache().templates.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
                data(&m)
            }),
        )
        .route(
            "/plugins/{hostname}",
            any(|State(h): State<Arc<Hbs>>, Path(host): Path<String>| async move { data(&h.cache().plugins(&host)) }),
        )
        .merge(crate::admin_http::routes())
        .merge(crate::rollout_http::routes())
        .merge(crate::page::routes())
        .with_state(hbs)
}

async fn config_reload(
    State(h): State<Arc<Hbs>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
) -> Response {
    // Loopback, as in Go, or a caller with `http.token`.
    if !h.config().http.gate().admit(&headers, peer.ip().is_loopback()).allowed() {
        return text("no privilege");
    }
    match h.reload_config() {
        Ok(c) => data(&*c),
        Err(e) => json(falcon_runtime::render::msg_json(&format!("reload failed, running config kept: {e}"))),
    }
}

/// Serves until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    hbs: Arc<Hbs>,
    shutdown: falcon_runtime::shutdown::Shutdown,
) -> std::io::Result<()> {
    falcon_runtime::http_serve::serve(listener, router(hbs), shutdown).await
}
