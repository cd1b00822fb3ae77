//! The transfer's own page on the real binary: `/` and `/ui/plot.js`, and the data behind them, `/page/lanes`
//! (per-lane counts for a live node, backoff and last error for a node that is down) and `/page/traffic`
//! (per-second rates, sampled every second here through `FALCON_PAGE_STEP_MS`).

mod common;

use common::wait_for;
use falcon_tests::daemon::Daemon;
use falcon_tests::http;
use serde_json::Value;

fn data(h: &str, path: &str) -> Value {
    let r = http::get(h, path);
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json; charset=UTF-8"));
    let v: Value = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", r.body));
    assert_eq!(v["msg"], "success", "{v}");
    v["data"].clone()
}

fn lane(lanes: &Value, output: &str, node: &str) -> Value {
    lanes["lanes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["output"] == output && l["node"] == node)
        .unwrap_or_else(|| panic!("no lane {output}/{node} in {lanes}"))
        .clone()
}

fn sum(view: &Value, series: &str) -> f64 {
    view["series"][series].as_array().map_or(0.0, |v| v.iter().filter_map(Value::as_f64).sum())
}

#[test]
fn page_routes_show_traffic_lanes_and_a_node_that_is_down() {
    let (sink, cfg, down_addr) = common::config_with_a_node_down("page");
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_falcon-transfer"));
    let t = Daemon::start_env(bin, &["-c", cfg.to_str().unwrap()], &[("FALCON_PAGE_STEP_MS", "1000")]).unwrap();
    let h = t.addr("http").to_string();

    // The page, its script, and Go's 404 elsewhere.
    for path in ["/", "/index.html"] {
        let r = http::get(&h, path);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert!(r.body.contains("<title>falcon-transfer</title>"), "{}", r.body);
        assert!(r.body.contains(falcon_runtime::ui::CSS), "the shared style is inlined");
        assert!(r.body.contains(r#"<script src="/ui/plot.js"></script>"#));
    }
    let js = http::get(&h, falcon_runtime::ui::PLOT_JS_PATH);
    assert_eq!(js.status, 200);
    assert_eq!(js.header("content-type"), Some(falcon_runtime::ui::JS_CONTENT_TYPE));
    assert_eq!(js.body, falcon_runtime::ui::PLOT_JS);
    assert_eq!(http::get(&h, "/nope").body, "404 page not found\n");

    common::push_40_valid_2_invalid(&h, &sink);

    // Lanes: the live judge node delivered everything; the graph node that is down backs off with its error.
    wait_for("the down node's lane backing off with an error", || {
        let l = lane(&data(&h, "/page/lanes"), "graph", "graph-01");
        l["state"] == "backing_off" && l["lastError"].is_string()
    });
    let lanes = data(&h, "/page/lanes");
    assert_eq!(lanes["lanes"].as_array().unwrap().len(), 3, "{lanes}");
    let judge = lane(&lanes, "judge", "judge-00");
    assert_eq!(judge["addr"], sink.addr.as_str());
    assert_eq!(
        (judge["sent"].as_u64(), judge["failed"].as_u64(), judge["dropped"].as_u64()),
        (Some(40), Some(0), Some(0))
    );
    assert_eq!((judge["queue"].as_u64(), judge["inflight"].as_u64()), (Some(0), Some(0)));
    assert_eq!(judge["capacity"].as_u64(), Some(102_400));
    assert_eq!((judge["state"].as_str(), judge["backoffSeconds"].as_u64()), (Some("up"), Some(0)));
    assert!(judge["lastError"].is_null() && judge["lastErrorAt"].is_null(), "{judge}");
    assert!(judge["spoolBytes"].is_null() && judge["spoolItems"].is_null(), "no spool configured");

    let live = lane(&lanes, "graph", "graph-00");
    let dead = lane(&lanes, "graph", "graph-01");
    let live_sent = live["sent"].as_u64().unwrap();
    assert_eq!(live_sent as usize, sink.graph_pks().len());
    assert!(live_sent > 0 && live_sent < 40, "both graph nodes have a share: {live}");
    assert_eq!(dead["addr"], down_addr.as_str());
    assert_eq!(dead["sent"].as_u64(), Some(0));
    let held = dead["queue"].as_u64().unwrap() + dead["inflight"].as_u64().unwrap();
    assert_eq!(held, 40 - live_sent, "the down node's share is kept: {dead}");
    assert!(dead["requeued"].as_u64().unwrap() > 0, "{dead}");
    assert_eq!(dead["dropped"].as_u64(), Some(0));
    let text = dead["lastError"].as_str().unwrap();
    assert!(!text.is_empty() && text.chars().count() <= 300, "{text}");
    let at = dead["lastErrorAt"].as_i64().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now - 120..=now + 1).contains(&at), "{at} vs {now}");
    assert!(dead["retryInSeconds"].as_f64().is_some_and(|s| (0.0..=5.0).contains(&s)), "{dead}");

    // Traffic: rates per second, one sample a second.
    wait_for("the push in the traffic history", || {
        let v = data(&h, "/page/traffic");
        v["times"].as_array().unwrap().len() >= 2 && sum(&v, "received") > 0.0 && sum(&v, "sent.judge") > 0.0
    });
    let view = data(&h, "/page/traffic");
    assert_eq!(view["step"], 1);
    let n = view["times"].as_array().unwrap().len();
    for s in ["received", "invalid", "sent.judge", "sent.graph"] {
        assert_eq!(view["series"][s].as_array().map(Vec::len), Some(n), "{s}: {view}");
    }
    assert_eq!(view["series"].as_object().unwrap().len(), 4, "{view}");
    // 40 valid and 2 invalid items over about a second (a loaded machine may stretch a step).
    let (received, invalid) = (sum(&view, "received"), sum(&view, "invalid"));
    assert!((20.0..=60.0).contains(&received), "{view}");
    assert!((received / invalid - 20.0).abs() < 2.0, "{view}");
}
