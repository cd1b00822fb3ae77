//! The admin operations over HTTP: `GET /admin/export`, `POST /admin/apply` (one [`crate::admin::Op`] as JSON),
//! for loopback callers and the configured trustable IPs only. The caches are rebuilt before the reply.

use crate::admin::Op;
use crate::http::{data, text};
use crate::state::Hbs;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// A caller with `http.token`, or from loopback or a trustable IP unless `http.tokenRequired` is set.
pub(crate) fn trusted(h: &Hbs, ip: IpAddr, headers: &HeaderMap) -> bool {
    let cfg = h.config();
    let by_address = falcon_runtime::auth::is_trusted(ip, cfg.trustable.iter());
    cfg.http.gate().admit(headers, by_address).allowed()
}

pub(crate) fn refused() -> Response {
    (StatusCode::FORBIDDEN, "no privilege").into_response()
}

/// The routes.
pub fn routes() -> Router<Arc<Hbs>> {
    Router::new().route("/admin/export", get(export)).route("/admin/apply", post(apply))
}

async fn export(State(h): State<Arc<Hbs>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap) -> Response {
    if !trusted(&h, peer.ip(), &headers) {
        return refused();
    }
    match tokio::task::spawn_blocking(move || h.store.export()).await {
        Ok(Ok(d)) => data(&d),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn apply(
    State(h): State<Arc<Hbs>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !trusted(&h, peer.ip(), &headers) {
        return refused();
    }
    let max = h.config().buffers.max_message();
    let mut lease = h.budget.lease();
    let body = match falcon_runtime::body::read_json_body(body, max, true, &mut lease).await {
        Ok(b) => b,
        Err(e @ falcon_runtime::body::JsonBodyError::TooLarge(_)) => {
            return (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response()
        }
        Err(e @ (falcon_runtime::body::JsonBodyError::Budget(_) | falcon_runtime::body::JsonBodyError::Stalled(_))) => {
            e.count(&lease, "http /admin/apply");
            return (StatusCode::SERVICE_UNAVAILABLE, [(axum::http::header::CONNECTION, "close")], e.to_string())
                .into_response();
        }
        Err(e) => return (StatusCode::BAD_REQUEST, format!("bad operation: {e}")).into_response(),
    };
    let op: Op = match serde_json::from_slice(&body) {
        Ok(op) => op,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("bad operation: {e}")).into_response(),
    };
    let r = tokio::task::spawn_blocking(move || {
        let r = h.store.apply(&op);
        if r.is_ok() {
            let _ = h.reload();
        }
        r
    })
    .await;
    match r {
        Ok(Ok(msg)) => text(msg),
        Ok(Err(crate::store::DbError::Invalid(m))) => (StatusCode::BAD_REQUEST, m).into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
