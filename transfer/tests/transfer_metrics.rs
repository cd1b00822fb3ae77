//! `GET /metrics` on the real binary: the Prometheus text format as promtool checks it, the values matching what
//! was received and delivered, and a real Prometheus scraping it.

mod common;

use common::{transfer, wait_for};
use falcon_tests::http;
use falcon_tests::prometheus::{Prometheus, PrometheusOptions};
use falcon_tests::promtool::{sample, scrape};
use std::time::Duration;

#[test]
fn metrics_report_traffic_lanes_latency_and_pools_and_prometheus_scrapes_them() {
    let (sink, cfg, _down) = common::config_with_a_node_down("metrics");
    let t = transfer(&cfg);
    let h = t.addr("http").to_string();
    common::push_40_valid_2_invalid(&h, &sink);

    let text = scrape(&h);
    let v = |s: &str| sample(&text, s).unwrap_or_else(|| panic!("no sample {s} in\n{text}"));
    assert_eq!(v(r#"falcon_transfer_received_items_total{protocol="http"}"#), 40.0);
    assert_eq!(v(r#"falcon_transfer_received_items_total{protocol="rpc"}"#), 0.0);
    assert_eq!(v("falcon_transfer_invalid_items_total"), 2.0);
    assert_eq!(v(r#"falcon_transfer_sent_items_total{output="judge"}"#), 40.0);
    assert!(v(r#"falcon_transfer_send_duration_seconds_count{output="judge"}"#) >= 1.0);
    assert_eq!(v(r#"falcon_transfer_queue_items{output="judge",node="judge-00"}"#), 0.0);
    // The graph node that is down keeps its share queued (or in flight) and its lane backs off.
    let graph_sent = v(r#"falcon_transfer_sent_items_total{output="graph"}"#);
    assert!(graph_sent < 40.0, "some items belong to the node that is down");
    wait_for("the down node's lane backing off", || {
        let t = http::get(&h, "/metrics").body;
        sample(&t, r#"falcon_transfer_lane_backing_off{output="graph",node="graph-01"}"#) == Some(1.0)
    });
    let pooled = sample(
        &text,
        &format!(r#"falcon_transfer_pool_connections_created_total{{output="judge",addr="{}"}}"#, sink.addr),
    );
    assert!(pooled.is_some_and(|n| n >= 1.0), "{text}");
    assert!(v("process_resident_memory_bytes") > 1e6);
    assert_eq!(v(r#"falcon_transfer_build_info{version="0.1.0"}"#), 1.0);
    // The HTTP listener's bounded connections: this scrape's own connection is open and was accepted.
    assert!(v("falcon_transfer_http_connections_open") >= 1.0);
    assert!(v("falcon_transfer_http_connections_accepted_total") >= 2.0, "the pushes and this scrape");
    assert_eq!(v("falcon_transfer_http_connections_rejected_total"), 0.0);
    assert!(v("falcon_transfer_buffer_budget_bytes") > 0.0);

    // A real Prometheus scrapes the route and stores what it says.
    let prom = Prometheus::start_with(&PrometheusOptions {
        scrape_self: false,
        scrape: vec![("falcon-transfer".into(), h.clone())],
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let got = prom
        .wait_query(
            r#"falcon_transfer_received_items_total{job="falcon-transfer",protocol="http"}"#,
            Duration::from_secs(30),
        )
        .unwrap_or_else(|e| panic!("{e}\n{}", prom.log()));
    assert_eq!(got[0]["value"][1], "40", "{got:?}");
}
