//! The data behind the agent's page on the real binary, against fake HBS and transfer peers: `/page/agent`
//! (the last send and its transfer, waiting batches, HBS reachable and the checksum in force, checks with their
//! last values, collectors) and `/page/history` (samples of CPU, memory and network), `/` and `/ui/plot.js`.

mod common;

use common::*;
use falcon_proto::model::BuiltinMetric;
use falcon_tests::http;
use serde_json::Value;
use std::sync::{Arc, Mutex};

fn page(h: &str, path: &str) -> Value {
    let r = http::get(h, path);
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", r.body));
    v["data"].clone()
}

#[test]
fn the_page_data_says_where_items_went_what_hbs_asked_and_what_the_checks_saw() {
    // The agent inherits it: history samples every 300 ms.
    std::env::set_var("FALCON_PAGE_STEP_MS", "300");
    let rt = runtime();
    let transfer = fake_transfer(&rt, "127.0.0.1:0", Default::default());
    let state = Arc::new(Mutex::new(HbsState::default()));
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let listening = port.local_addr().expect("addr").port();
    state.lock().unwrap().checks =
        vec![BuiltinMetric { metric: "net.port.listen".into(), tags: format!("port={listening}") }];
    let (hbs, _s) = fake_hbs(&rt, state);
    let dir = temp_dir("page");
    let ok = script(&dir, "ok.sh", "#!/bin/sh\necho 7\n");
    let extra = format!(r#","checks":[{{"metric":"app.seven","command":["{ok}"],"interval":1,"timeout":2000}}]"#);
    let agent = start_agent(&dir, &config(&hbs, &[&transfer.addr], r#"{"enabled":false}"#, &extra));
    let h = agent.addr("http").to_string();

    wait_for("a send, the checks from HBS and both check values", 30, || {
        let p = page(&h, "/page/agent");
        let checks = p["checks"].as_array().cloned().unwrap_or_default();
        p["send"]["lastSent"]["text"] == transfer.addr.as_str()
            && !p["hbs"]["checksum"].as_str().unwrap_or("").is_empty()
            && checks.iter().any(|c| c["metric"] == "net.port.listen" && c["value"] == 1.0)
            && checks.iter().any(|c| c["metric"] == "app.seven" && c["value"] == 7.0)
    });
    let p = page(&h, "/page/agent");
    assert_eq!(p["hostname"], "agent-it");
    assert_eq!(p["hbs"]["reachable"], true, "{p}");
    assert!(p["hbs"]["lastOk"].as_i64().unwrap_or(0) > 1_700_000_000, "{p}");
    assert_eq!(p["hbs"]["addrs"][0], hbs.as_str());
    assert_eq!(p["send"]["addrs"][0], transfer.addr.as_str());
    assert!(p["send"]["itemsSent"].as_u64().unwrap_or(0) > 0, "{p}");
    assert_eq!(p["shellChecks"][0]["metric"], "app.seven");
    assert!(p["collectors"].as_u64().unwrap_or(0) > 5, "{p}");
    assert!(p["failedCollectors"].is_array());
    assert!(p["plugins"].as_object().is_some_and(|o| o.is_empty()), "plugins are disabled: {p}");

    wait_for("three history samples with CPU and memory", 20, || {
        let v = page(&h, "/page/history");
        v["times"].as_array().is_some_and(|t| t.len() >= 3)
            && v["series"]["mem.used"]
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x.as_f64().is_some_and(|m| m > 0.0 && m <= 100.0)))
            && v["series"]["cpu.busy"].is_array()
    });

    // The page and the plot script it loads.
    let r = http::get(&h, "/");
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.body.contains("/ui/plot.js") && r.body.contains("/page/agent") && !r.body.contains("/*FALCON_CSS*/"));
    let js = http::get(&h, "/ui/plot.js");
    assert_eq!((js.status, js.header("content-type")), (200, Some("text/javascript; charset=utf-8")));
    assert!(js.body.contains("falconPlot"));

    // Transfer gone: the page says what failed and keeps the batches waiting.
    transfer.stop();
    wait_for("the send error and batches waiting", 30, || {
        let p = page(&h, "/page/agent");
        p["send"]["lastError"]["text"].as_str().is_some_and(|t| !t.is_empty())
            && p["send"]["batchesWaiting"].as_u64().unwrap_or(0) > 0
    });
    drop(port);
}
