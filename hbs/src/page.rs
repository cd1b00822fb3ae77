//! The HBS's own page: the fleet view at `GET /` (Go's HBS answers 404 there), the shared plot script, and the
//! JSON routes behind the page (`/page/fleet`, `/page/calls`) in Go's `{"msg","data"}` envelope.

use crate::http::data;
use crate::state::Hbs;
use axum::extract::State;
use axum::http::{header, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use falcon_runtime::ui;
use std::sync::{Arc, OnceLock};

const PAGE: &str = include_str!("page.html");
const CSS_PLACEHOLDER: &str = "/*FALCON_CSS*/";

/// The page with the shared style inlined, built once.
pub fn html() -> &'static str {
    static HTML: OnceLock<String> = OnceLock::new();
    HTML.get_or_init(|| PAGE.replacen(CSS_PLACEHOLDER, ui::CSS, 1))
}

/// The routes.
pub fn routes() -> Router<Arc<Hbs>> {
    Router::new()
        .route("/", get(page))
        .route("/index.html", get(page))
        .route(ui::PLOT_JS_PATH, get(plot_js))
        .route("/page/fleet", get(fleet))
        .route("/page/calls", get(|State(h): State<Arc<Hbs>>| async move { data(&h.call_history.view()) }))
}

async fn page() -> Response {
    let mut r = html().into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    r
}

async fn plot_js() -> Response {
    let mut r = ui::PLOT_JS.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ui::JS_CONTENT_TYPE));
    r
}

/// `?interval=N`: the agents' heartbeat interval in seconds (default 60).
async fn fleet(State(h): State<Arc<Hbs>>, uri: Uri) -> Response {
    let interval = crate::fleet::interval(query_value(uri.query().unwrap_or(""), "interval"));
    let now = falcon_runtime::timefmt::now_unix();
    let snap = h.cache();
    // Built under the agents lock: heartbeats wait about as long as a copy of the map would make them.
    let f = match h.agents.lock() {
        Ok(a) => crate::fleet::build(&snap, &a, now, interval),
        Err(p) => crate::fleet::build(&snap, &p.into_inner(), now, interval),
    };
    data(&f)
}

/// The first value of `key` in a query string (no percent-decoding: the values read here are numbers).
fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == key).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_inlines_the_style_and_loads_the_plot_script() {
        let p = html();
        assert!(!p.contains(CSS_PLACEHOLDER));
        assert!(p.contains(ui::CSS.lines().next().unwrap_or("missing")));
        assert!(p.contains(&format!(r#"<script src="{}">"#, ui::PLOT_JS_PATH)));
        for id in [r#"id="hosts""#, r#"id="versions""#, r#"id="calls""#, r#"id="err""#, r#"id="filter""#] {
            assert!(p.contains(id), "{id}");
        }
    }

    #[test]
    fn query_values() {
        assert_eq!(query_value("interval=300", "interval"), Some("300"));
        assert_eq!(query_value("a=1&interval=5&interval=6", "interval"), Some("5"));
        assert_eq!(query_value("intervalx=3&interval", "interval"), None);
        assert_eq!(query_value("", "interval"), None);
    }
}
