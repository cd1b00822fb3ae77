//! Spools: a Go graph node (a standard-library gob sink) that is down for two minutes under steady load gets
//! every item once it is back, with the transfer's memory bounded by its queue, not by the outage; and what a
//! stopped transfer still held is delivered by the next run.

mod common;

use common::{counter, local, mask_latency, temp_config, transfer, wait_for};
use falcon_tests::go::GoProcess;
use falcon_tests::http;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Pushes items `from..from + n` through `/api/push`: item `i` has value `i`, one of 1,000 series, and a
/// timestamp that moves on every 1,000 items, so that each series' samples are in time order.
fn push(http_addr: &str, from: usize, n: usize) {
    let items: Vec<String> = (from..from + n)
        .map(|i| {
            format!(
                r#"{{"endpoint":"h{}","metric":"m{}","value":{i},"step":60,"counterType":"GAUGE","tags":"","timestamp":{}}}"#,
                i % 10,
                i % 1000,
                1_795_000_000 + (i / 1000) as i64 * 60
            )
        })
        .collect();
    let r = http::post_json(http_addr, "/api/push", &format!("[{}]", items.join(",")));
    assert_eq!(
        mask_latency(&r.body),
        format!(r#"{{"msg":"success","data":{{"Message":"ok","Total":{n},"Invalid":0,"Latency":0}}}}"#)
    );
}

/// A graph-only transfer config with a spool under `dir`.
fn spool_config(graph_addr: &str, dir: &std::path::Path, queue: usize) -> String {
    format!(
        r#"{{"debug":false,"minStep":30,"drainTimeout":1,
        "http":{{"enabled":true,"listen":"127.0.0.1:0"}},
        "rpc":{{"enabled":true,"listen":"127.0.0.1:0"}},
        "socket":{{"enabled":false}},
        "judge":{{"enabled":false}},
        "graph":{{"enabled":true,"batch":500,"connTimeout":500,"callTimeout":3000,"maxConns":4,"maxIdle":4,"replicas":500,
                 "queueSize":{queue},"cluster":{{"graph-00":"{graph_addr}"}},
                 "spool":{{"dir":"{}","maxBytes":268435456}}}}}}"#,
        dir.display()
    )
}

/// The values a Go sink recorded, checking each appears once.
fn values_once(sink: &mut GoProcess) -> HashSet<u64> {
    let mut seen = HashSet::new();
    for line in sink.sink_items("Graph") {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let value = v["value"].as_f64().unwrap() as u64;
        assert!(seen.insert(value), "item {value} delivered twice");
    }
    seen
}

fn spool_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("falcon-transfer-spool-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn a_graph_node_down_for_two_minutes_under_steady_load_loses_nothing() {
    // 2,500 items/s for two minutes: 300,000 items, 30 times what the queue holds.
    const PER_PUSH: usize = 500;
    const PUSHES: usize = 600;
    const QUEUE: usize = 10_000;
    let graph_addr = local().local_addr().unwrap().to_string();
    let dir = spool_dir("outage");
    let t = transfer(&temp_config("spool-outage", &spool_config(&graph_addr, &dir, QUEUE)));
    let h = t.addr("http").to_string();
    let start = Instant::now();
    for k in 0..PUSHES {
        push(&h, k * PER_PUSH, PER_PUSH);
        // Steady: one push every 200 ms, whatever the push itself took.
        let next = start + Duration::from_millis(200 * (k as u64 + 1));
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let total = (PER_PUSH * PUSHES) as i64;
    assert_eq!(counter(&h, "SendToGraphCnt"), 0, "the node was down all along");
    assert_eq!(counter(&h, "SendToGraphDropCnt"), 0);
    let spool: serde_json::Value = serde_json::from_str(&http::get(&h, "/spool").body).unwrap();
    let lane = &spool["data"][0];
    assert_eq!((lane["output"].as_str(), lane["node"].as_str()), (Some("graph"), Some("graph-00")));
    assert!(lane["items"].as_i64().unwrap() >= total - QUEUE as i64 - 2 * 500 * 4, "{lane}");
    let rss_down = falcon_tests::util::status_kb(t.pid(), "VmHWM:");

    // The node comes back on its address.
    let mut sink = GoProcess::start(&["gob-sink", "-listen", &graph_addr]);
    assert_eq!(sink.listen_addr(), graph_addr);
    falcon_tests::util::wait_for("every item delivered", Duration::from_secs(120), || {
        counter(&h, "SendToGraphCnt") == total
    });
    assert_eq!((counter(&h, "SendToGraphDropCnt"), counter(&h, "SendToGraphFailCnt")), (0, 0));
    let spool: serde_json::Value = serde_json::from_str(&http::get(&h, "/spool").body).unwrap();
    let lane = &spool["data"][0];
    assert_eq!((lane["items"].as_i64(), lane["bytes"].as_i64(), lane["dropped"].as_i64()), (Some(0), Some(0), Some(0)));
    assert_eq!(lane["spilled"], lane["replayed"]);
    let seen = values_once(&mut sink);
    assert_eq!(seen.len(), total as usize, "every item arrived once");
    assert!((0..total as u64).all(|v| seen.contains(&v)));
    // Memory is bounded by the queue, not by the outage: 300,000 items held in memory would take well over
    // 60 MB on their own.
    let rss = falcon_tests::util::status_kb(t.pid(), "VmHWM:");
    eprintln!("peak RSS while down: {rss_down} KiB, after replay: {rss} KiB");
    assert!(rss < 48 * 1024, "peak RSS {rss} KiB");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn what_a_stopped_transfer_held_is_delivered_by_the_next_run() {
    let graph_addr = local().local_addr().unwrap().to_string();
    let dir = spool_dir("restart");
    let cfg = temp_config("spool-restart", &spool_config(&graph_addr, &dir, 5_000));
    let mut t = transfer(&cfg);
    let h = t.addr("http").to_string();
    for k in 0..20 {
        push(&h, k * 1000, 1000);
    }
    wait_for("a delivery attempt failed", || counter(&h, "SendToGraphRequeueCnt") > 0);
    t.terminate();
    assert!(t.wait(Duration::from_secs(20)).is_some_and(|s| s.success()), "{}", t.log());
    // The log is read from the process's pipe by a thread: wait for its last lines.
    wait_for("the spool line in the log", || t.log().contains("kept on disk for the next run"));
    let log = t.log();
    assert!(!log.contains("undelivered at exit"), "nothing lost but what was in flight: {log}");

    let mut sink = GoProcess::start(&["gob-sink", "-listen", &graph_addr]);
    assert_eq!(sink.listen_addr(), graph_addr);
    let t2 = transfer(&cfg);
    let h2 = t2.addr("http").to_string();
    wait_for("the previous run's items delivered", || counter(&h2, "SendToGraphCnt") == 20_000);
    let seen = values_once(&mut sink);
    assert_eq!(seen.len(), 20_000);
    assert!(t2.log().contains("replaying them first"), "{}", t2.log());
    let _ = std::fs::remove_dir_all(&dir);
}
