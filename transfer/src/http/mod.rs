//! The HTTP API on `http.listen`, with Go's paths, envelopes and status codes.
//!
//! Like Go's `DefaultServeMux`, routes accept any method and match on the (percent-decoded) path; unknown
//! paths get `404 page not found`. JSON replies are `{"msg":"success","data":...}` with
//! `Content-Type: application/json; charset=UTF-8`; plain ones are `text/plain; charset=utf-8`.
//! Ours: the page at `/` (Go: 404) with its script and data routes (`/ui/plot.js`, `/page/*`).

mod api;
pub mod body;
mod common;
mod debug;
mod page;
mod proc;
pub mod remote_write_in;

use crate::app::App;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;

/// The largest body any form of remote write may claim once decoded, whatever the config says (fuzzing uses it).
pub const MAX_BODY: usize = 64 << 20;

/// The router.
pub fn router(app: Arc<App>) -> Router {
    Router::new().fallback(dispatch).with_state(app)
}

async fn dispatch(State(app): State<Arc<App>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request) -> Response {
    let path = percent_decode(req.uri().path());
    match path.as_str() {
        "/api/push" => api::push(&app, req).await,
        "/api/v1/write" => remote_write_in::write(&app, req).await,
        "/health" => text(StatusCode::OK, "ok\n"),
        "/version" => text(StatusCode::OK, format!("{}\n", env!("CARGO_PKG_VERSION"))),
        "/workdir" => text(StatusCode::OK, format!("{}\n", common::self_dir())),
        "/config" => data(&app.cfg),
        "/config/reload" => common::reload(&app, peer, req.headers()),
        "/counter/all" | "/statistics/all" => data(&app.stats.all(app.sender.queue_lens(), app.head_config())),
        "/counter/extra" => data(&app.stats.extra()),
        "/counter/buffers" => data(&app.budget.stats()),
        "/metrics" => metrics(&app),
        "/spool" => data(&app.sender.spool_stats()),
        "/proc/step" => data(&common::MinStep { min_step: app.sender.min_step() }),
        "/" | "/index.html" => page::index(),
        falcon_runtime::ui::PLOT_JS_PATH => page::plot_js(),
        "/page/traffic" => data(&app.traffic.view()),
        "/page/lanes" => data(&page::lanes(&app.sender)),
        p => {
            if let Some(rest) = p.strip_prefix("/trace/") {
                proc::trace(&app, rest)
            } else if let Some(rest) = p.strip_prefix("/filter/") {
                proc::filter(&app, rest)
            } else if let Some(rest) = p.strip_prefix("/debug/connpool/") {
                debug::connpool(&app, rest)
            } else {
                text(StatusCode::NOT_FOUND, "404 page not found\n")
            }
        }
    }
}

/// `/metrics`, in the Prometheus text format.
fn metrics(app: &App) -> Response {
    let mut r = Response::new(Body::from(app.metrics.render()));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(falcon_runtime::metrics::CONTENT_TYPE));
    r
}

/// A plain-text reply.
fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let mut r = Response::new(Body::from(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

/// A request given up for the buffer budget (spent for the whole wait, or the body stalled): 503, and the
/// connection is closed rather than reused, since the rest of the body was never read.
fn budget_refusal(why: &str) -> Response {
    let mut r = http_error(StatusCode::SERVICE_UNAVAILABLE, why);
    r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// Go's `http.Error`: text, `X-Content-Type-Options: nosniff`, a trailing newline.
fn http_error(status: StatusCode, msg: &str) -> Response {
    let mut r = text(status, format!("{msg}\n"));
    r.headers_mut().insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    r
}

/// Go's `RenderDataJson`; an unencodable value (NaN) gives Go's 500 with the encoder's error.
fn data<T: Serialize>(value: &T) -> Response {
    match falcon_runtime::render::data_json(value) {
        Ok(bytes) => {
            let mut r = Response::new(Body::from(bytes));
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=UTF-8"));
            r
        }
        Err(e) => http_error(StatusCode::INTERNAL_SERVER_ERROR, &falcon_proto::gojson::strip_position(&e)),
    }
}

/// Decodes `%XX` escapes as Go's `URL.Path` does (invalid escapes are kept as they are).
fn percent_decode(path: &str) -> String {
    let b = path.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_paths() {
        assert_eq!(percent_decode("/trace/vm/cpu.idle"), "/trace/vm/cpu.idle");
        assert_eq!(percent_decode("/trace/h%20x/m%2Fn"), "/trace/h x/m/n");
        assert_eq!(percent_decode("/bad%zz%4"), "/bad%zz%4");
        assert_eq!(percent_decode("/end%41"), "/endA");
    }
}
