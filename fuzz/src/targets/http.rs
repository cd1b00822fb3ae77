//! The three HTTP APIs as a client reaches them: the real routers (transfer, agent, HBS: the first input byte
//! picks one) called with a request built from the rest, `METHOD PATH` on the first line, `name: value`
//! headers, a blank line, the body. This covers what the request reaches besides the bodies the other
//! targets feed directly: path decoding and matching, `/trace` and `/filter` arguments, path parameters, the
//! declared-length and header checks.
//!
//! The caller is an address no config trusts, so the routes that change state or run programs (`/exit`,
//! `/plugin/update`, `/run`, the HBS admin API) answer 403 and nothing leaves the process; the transfer has
//! every output off, the agent no transfer loop running.

use crate::feedback::{note, note_n};
use crate::support::{hbs_state, runtime::block_on};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Method, Request, Uri};
use axum::Router;
use falcon_runtime::shutdown;
use std::net::SocketAddr;
use tower_service::Service;

thread_local! {
    static ROUTERS: [Option<Router>; 3] = [transfer(), agent(), hbs_state::estate().map(falcon_hbs::http::router)];
}

fn transfer() -> Option<Router> {
    let mut cfg = falcon_transfer::config::Config::default();
    cfg.judge.enabled = false;
    cfg.graph.enabled = false;
    cfg.tsdb.enabled = false;
    falcon_transfer::app::App::new(cfg, None).ok().map(falcon_transfer::http::router)
}

fn agent() -> Option<Router> {
    let mut cfg = falcon_agent::config::Config::default();
    cfg.transfer.addrs = vec!["127.0.0.1:1".into()];
    // The trigger is dropped: `/exit` refuses this caller anyway.
    let (exit, _) = shutdown::channel();
    falcon_agent::app::Agent::new(cfg, None, exit).ok().map(falcon_agent::http::router)
}

/// Longest response body read back.
const MAX_RESPONSE: usize = 16 << 20;

pub fn run(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else { return };
    let Some(router) = ROUTERS.with(|r| r[usize::from(which) % 3].clone()) else { return };
    let Some(req) = request(rest) else {
        note("unrepresentable");
        return;
    };
    let status = block_on(async move {
        let mut svc = router;
        if std::future::poll_fn(|cx| Service::<Request<Body>>::poll_ready(&mut svc, cx)).await.is_err() {
            return None;
        }
        let resp = svc.call(req).await.ok()?;
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), MAX_RESPONSE).await;
        note_n("body", body.map_or(0, |b| b.len()));
        Some(status)
    });
    if let Some(Some(s)) = status {
        note(s.as_str());
    }
}

/// The request the bytes describe, or None where no HTTP parser would hand one over (a bad method or path).
fn request(bytes: &[u8]) -> Option<Request<Body>> {
    let split = bytes.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(i) => (&bytes[..i], &bytes[i + 2..]),
        None => (bytes, &b""[..]),
    };
    let mut lines = head.split(|&b| b == b'\n');
    let first = lines.next()?;
    let mut parts = first.splitn(2, |&b| b == b' ');
    let method = Method::from_bytes(parts.next()?).ok()?;
    let uri = Uri::try_from(parts.next().unwrap_or(b"/")).ok()?;
    let mut req = Request::builder().method(method).uri(uri).body(Body::from(body.to_vec())).ok()?;
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(&line[..colon]), HeaderValue::from_bytes(line[colon + 1..].trim_ascii()))
        else {
            continue;
        };
        req.headers_mut().append(name, value);
    }
    req.extensions_mut().insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 7], 40_000))));
    Some(req)
}
