//! The transfer's own page at `/` (ours: Go answers 404): items per second over the last hour and every
//! output lane's queue, spool, counts and state. The page is built once from `page.html` and the shared style;
//! its data comes from `/page/traffic` (a [`falcon_runtime::history::HistoryView`]) and `/page/lanes`.

use crate::sender::lane::Lane;
use crate::sender::Sender;
use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use falcon_runtime::redact::public_addr;
use serde::Serialize;
use std::sync::OnceLock;

const PAGE: &str = include_str!("page.html");

/// Where `page.html` takes the shared style.
const CSS_MARK: &str = "/*falcon-ui-css*/";

/// The page: `page.html` with the shared style in place.
pub fn html() -> &'static str {
    static HTML: OnceLock<String> = OnceLock::new();
    HTML.get_or_init(|| PAGE.replacen(CSS_MARK, falcon_runtime::ui::CSS, 1))
}

fn with_type(body: &'static str, content_type: &'static str) -> Response {
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// `GET /`.
pub fn index() -> Response {
    with_type(html(), "text/html; charset=utf-8")
}

/// `GET /ui/plot.js`.
pub fn plot_js() -> Response {
    with_type(falcon_runtime::ui::PLOT_JS, falcon_runtime::ui::JS_CONTENT_TYPE)
}

/// One lane as `/page/lanes` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LaneRow {
    /// Output name (`judge`, `graph`, `remoteWrite`...).
    pub output: &'static str,
    /// Node name (empty for outputs without nodes).
    pub node: String,
    /// Address or URL, without credentials or query.
    pub addr: String,
    /// Items waiting in memory.
    pub queue: usize,
    /// The memory queue's bound.
    pub capacity: usize,
    /// Items being delivered.
    pub inflight: usize,
    /// Bytes of the spool on disk (`null` without a spool).
    pub spool_bytes: Option<u64>,
    /// Items in the spool (`null` without a spool).
    pub spool_items: Option<usize>,
    /// Items delivered since start.
    pub sent: u64,
    /// Items the peer refused.
    pub failed: u64,
    /// Items dropped (queue or spool full).
    pub dropped: u64,
    /// Items put back after a transport failure.
    pub requeued: u64,
    /// `up`, or `backing_off` from a failure to reach the peer until the next delivery.
    pub state: &'static str,
    /// Seconds since the first failure of the current backoff (0 when up).
    pub backoff_seconds: u64,
    /// Seconds until the next try (0 when up, or when the try is due or under way), to 0.1 s.
    pub retry_in_seconds: f64,
    /// The last failed attempt's error (kept after the lane recovers), at most 300 characters.
    pub last_error: Option<String>,
    /// When it happened (Unix seconds).
    pub last_error_at: Option<i64>,
}

impl LaneRow {
    /// The row of `lane` now.
    pub fn of(lane: &Lane) -> Self {
        let counts = lane.counts();
        let spool = lane.spool.as_ref().map(|s| s.stats());
        let backoff = lane.backoff();
        let last = lane.last_error();
        LaneRow {
            output: lane.output.name(),
            node: lane.node.clone(),
            addr: public_addr(&lane.addr),
            queue: lane.queue.len(),
            capacity: lane.queue.cap(),
            inflight: lane.inflight(),
            spool_bytes: spool.as_ref().map(|s| s.bytes),
            spool_items: spool.as_ref().map(|s| s.items),
            sent: counts.sent,
            failed: counts.failed,
            dropped: counts.dropped,
            requeued: counts.requeued,
            state: if backoff.is_some() { "backing_off" } else { "up" },
            backoff_seconds: backoff.map_or(0, |b| b.since.as_secs()),
            retry_in_seconds: backoff.map_or(0.0, |b| (b.retry_in.as_secs_f64() * 10.0).round() / 10.0),
            last_error_at: last.as_ref().map(|e| e.at),
            last_error: last.map(|e| e.text),
        }
    }
}

/// What `/page/lanes` serves.
#[derive(Debug, Serialize)]
pub struct Lanes {
    /// Every lane: judge, graph, p8s relay (per node address), then tsdb, relay, archive, remote write, InfluxDB.
    pub lanes: Vec<LaneRow>,
}

/// Every lane of `sender`, now.
pub fn lanes(sender: &Sender) -> Lanes {
    Lanes { lanes: sender.lanes().iter().map(|l| LaneRow::of(l)).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point::{CounterType, Point};
    use crate::sender::lane::Output;
    use std::sync::Arc;

    fn pt() -> Arc<Point> {
        Arc::new(Point {
            endpoint: Arc::from("h"),
            metric: "m".into(),
            tags: String::new(),
            value: 1.0,
            timestamp: 1,
            step: 60,
            counter_type: CounterType::Gauge,
        })
    }

    #[test]
    fn the_page_has_the_shared_style_and_the_elements_it_fills() {
        let h = html();
        assert!(h.contains("<title>falcon-transfer</title>"));
        assert!(!h.contains(CSS_MARK) && h.contains(falcon_runtime::ui::CSS));
        assert!(h.contains(&format!(r#"<script src="{}"></script>"#, falcon_runtime::ui::PLOT_JS_PATH)));
        for id in ["lanes", "traffic", "err"] {
            assert!(h.contains(&format!(r#"id="{id}""#)), "{id}");
        }
        assert!(h.contains("dataset.ready"));
        assert!(std::ptr::eq(h, html()), "built once");
    }

    #[test]
    fn a_lane_row_has_its_counts_and_a_public_address() {
        let lane = Lane::new(Output::RemoteWrite, "", "https://u:pw@vm:8428/api/v1/write?token=t", 3, 10);
        assert_eq!(lane.offer((0..5).map(|_| pt())), 2);
        let row = LaneRow::of(&lane);
        assert_eq!(row.addr, "https://vm:8428/api/v1/write");
        assert_eq!((row.queue, row.capacity, row.inflight, row.dropped), (3, 3, 0, 2));
        assert_eq!((row.spool_bytes, row.spool_items), (None, None));
        assert_eq!((row.state, row.backoff_seconds, row.retry_in_seconds), ("up", 0, 0.0));
        assert!(row.last_error.is_none() && row.last_error_at.is_none());
        let json = serde_json::to_value(&row).unwrap_or_default();
        let mut keys: Vec<&str> = json.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "addr",
                "backoffSeconds",
                "capacity",
                "dropped",
                "failed",
                "inflight",
                "lastError",
                "lastErrorAt",
                "node",
                "output",
                "queue",
                "requeued",
                "retryInSeconds",
                "sent",
                "spoolBytes",
                "spoolItems",
                "state"
            ]
        );
    }
}
