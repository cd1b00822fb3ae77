//! The rollout routes on the HTTP port: ops-meta's `POST /heartbeat` for updaters, the tarballs with their
//! checksums (`GET /tarball/<name>-<version>.tar.gz[.md5|.sha256]`), the rollout's state (`GET /rollout`) and
//! the per-group versions (`POST /admin/rollout`, trusted callers only).

use crate::http::{data, text};
use crate::rollout::{desired_agents, tarball_request};
use crate::state::Hbs;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use falcon_proto::model::{HeartbeatRequest, HeartbeatResponse};
use std::net::SocketAddr;
use std::sync::Arc;

/// The routes.
pub fn routes() -> Router<Arc<Hbs>> {
    Router::new()
        .route("/heartbeat", post(heartbeat))
        .route("/tarball/{file}", get(tarball))
        .route("/rollout", get(rollout))
        .route("/admin/rollout", post(admin_rollout))
}

/// Go's `http.Error`.
fn go_error(status: StatusCode, msg: &str) -> Response {
    let mut r = (status, format!("{msg}\n")).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r.headers_mut().insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    r
}

/// ops-meta's heartbeat, counted by outcome.
async fn heartbeat(State(h): State<Arc<Hbs>>, headers: HeaderMap, body: Body) -> Response {
    let r = heartbeat_reply(&h, headers, body).await;
    h.updater_http.heartbeat(r.status().as_u16());
    r
}

/// ops-meta's heartbeat: record what runs, answer what should.
async fn heartbeat_reply(h: &Arc<Hbs>, headers: HeaderMap, body: Body) -> Response {
    if headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).map(str::trim) == Some("0") {
        return go_error(StatusCode::BAD_REQUEST, "body is blank");
    }
    let max = h.config().buffers.max_message();
    let mut lease = h.budget.lease();
    let bytes = match falcon_runtime::body::read_json_body(body, max, true, &mut lease).await {
        Ok(b) => b,
        Err(e @ (falcon_runtime::body::JsonBodyError::Budget(_) | falcon_runtime::body::JsonBodyError::Stalled(_))) => {
            e.count(&lease, "http /heartbeat");
            // The rest of the body was never read: the connection is not reused.
            let mut r = go_error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string());
            r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            return r;
        }
        Err(_) => return go_error(StatusCode::BAD_REQUEST, "body format error"),
    };
    if bytes.is_empty() {
        return go_error(StatusCode::BAD_REQUEST, "body is blank");
    }
    let req: HeartbeatRequest = match falcon_proto::gojson::from_first_value(&bytes) {
        Ok(r) => r,
        Err(_) => return go_error(StatusCode::BAD_REQUEST, "body format error"),
    };
    if req.hostname.is_empty() {
        return go_error(StatusCode::BAD_REQUEST, "hostname is blank");
    }
    // Past the bounds a report is not remembered; the host is still answered.
    let _ = h.updater_reports.record(&req);
    let cfg = h.config();
    let mut desired = desired_agents(&cfg.agents, &req.hostname);
    h.rollout.current().apply(&mut desired, &h.cache().host_group_names(&req.hostname));
    let resp =
        HeartbeatResponse { error_message: String::new(), desired_agents: (!desired.is_empty()).then_some(desired) };
    match falcon_proto::gojson::to_vec(&resp) {
        Ok(b) => {
            let mut r = (StatusCode::OK, b).into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(falcon_runtime::render::JSON_CONTENT_TYPE));
            r
        }
        Err(e) => go_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// A file sent in 64 KiB pieces as the client reads them: a tarball served to a thousand updaters at once
/// costs a thousand small buffers, not a thousand copies of it.
struct FileBody {
    file: tokio::fs::File,
    left: u64,
}

impl http_body::Body for FileBody {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use tokio::io::AsyncRead;
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        let mut chunk = vec![0u8; (64 << 10).min(self.left as usize)];
        let mut rb = tokio::io::ReadBuf::new(&mut chunk);
        match std::pin::Pin::new(&mut self.file).poll_read(cx, &mut rb) {
            std::task::Poll::Pending => std::task::Poll::Pending,
            std::task::Poll::Ready(Err(e)) => std::task::Poll::Ready(Some(Err(e))),
            std::task::Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                if n == 0 {
                    // Shorter than it was when opened: end here, the client sees the length mismatch.
                    self.left = 0;
                    return std::task::Poll::Ready(None);
                }
                self.left -= n as u64;
                chunk.truncate(n);
                std::task::Poll::Ready(Some(Ok(http_body::Frame::data(chunk.into()))))
            }
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.left)
    }
}

/// A tarball or checksum line, counted by kind and outcome.
async fn tarball(State(h): State<Arc<Hbs>>, Path(file): Path<String>) -> Response {
    let request = tarball_request(&file);
    let (r, bytes) = match request {
        Some((name, kind)) => tarball_reply(&h, &file, name, kind).await,
        None => (not_found(), 0),
    };
    let checksum = request.is_some_and(|(_, kind)| kind != "tarball");
    h.updater_http.file(checksum, r.status().as_u16(), bytes);
    r
}

fn not_found() -> Response {
    go_error(StatusCode::NOT_FOUND, "404 page not found")
}

/// The tarball `name` from `tarballDir` (with its length), or its `md5sum`/`sha256sum` line (`kind`; a file named
/// `file` beside it wins over the one computed).
async fn tarball_reply(h: &Arc<Hbs>, file: &str, name: &str, kind: &'static str) -> (Response, u64) {
    let dir = std::path::PathBuf::from(&h.config().tarball_dir);
    if kind == "tarball" {
        let opened = match tokio::fs::File::open(dir.join(name)).await {
            Ok(f) => f.metadata().await.map(|m| (f, m.len())),
            Err(e) => Err(e),
        };
        return match opened {
            Ok((file, len)) => {
                let mut r = Response::new(Body::new(FileBody { file, left: len }));
                r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/gzip"));
                (r, len)
            }
            Err(_) => (not_found(), 0),
        };
    }
    let (name, file) = (name.to_string(), file.to_string());
    let h2 = h.clone();
    let result = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        if let Ok(given) = std::fs::read(dir.join(&file)) {
            // A checksum file is one line: more is not served.
            return Ok(String::from_utf8_lossy(&given[..given.len().min(4096)]).into_owned());
        }
        let (md5, sha) = h2.checksums.lines(&dir, &name)?;
        Ok(if kind == "md5" { md5 } else { sha })
    })
    .await;
    match result {
        Ok(Ok(text)) => (([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response(), 0),
        _ => (not_found(), 0),
    }
}

/// What every updater reported, by agent and version, the failures, and the group versions.
async fn rollout(State(h): State<Arc<Hbs>>) -> Response {
    h.updater_reports.clean(falcon_runtime::timefmt::now_unix());
    #[derive(serde::Serialize)]
    struct View {
        agents: std::collections::BTreeMap<
            String,
            std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
        >,
        failures: std::collections::BTreeMap<String, String>,
        groups: Vec<crate::rollout::GroupVersion>,
    }
    let v = h.updater_reports.view();
    data(&View { agents: v.agents, failures: v.failures, groups: h.rollout.current().groups })
}

/// `{"agent", "group", "version"}` sets a group's version; an empty version clears it.
async fn admin_rollout(
    State(h): State<Arc<Hbs>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !crate::admin_http::trusted(&h, peer.ip(), &headers) {
        return crate::admin_http::refused();
    }
    let mut lease = h.budget.lease();
    let Ok(bytes) = falcon_runtime::body::read_json_body(body, 64 << 10, true, &mut lease).await else {
        return (StatusCode::BAD_REQUEST, "bad body").into_response();
    };
    #[derive(serde::Deserialize)]
    struct Set {
        agent: String,
        group: String,
        #[serde(default)]
        version: String,
    }
    let Ok(set) = serde_json::from_slice::<Set>(&bytes) else {
        return (StatusCode::BAD_REQUEST, "want {\"agent\", \"group\", \"version\"}").into_response();
    };
    match crate::rollout::set_group_version(&h.rollout.path, &set.agent, &set.group, &set.version) {
        Ok(msg) => text(msg),
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}
