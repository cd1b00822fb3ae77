//! The agent binary against a fake transfer and a fake HBS on loopback with 1 s intervals.

mod common;

use common::*;
use falcon_proto::model::{BuiltinMetric, MetricValue};
use falcon_tests::http;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn bm(metric: &str, tags: &str) -> BuiltinMetric {
    BuiltinMetric { metric: metric.into(), tags: tags.into() }
}

fn find<'a>(items: &'a [MetricValue], metric: &str, tags: &str) -> Option<&'a MetricValue> {
    items.iter().find(|m| m.metric == metric && m.tags == tags)
}

/// The series of the captured Go cycle: (metric, tags) of its builtin items.
fn captured_series() -> Vec<(String, String)> {
    let text = include_str!("../../../shared/captures/agent_metrics_cycle.json");
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l.trim().trim_end_matches(',')).ok())
        .filter(|v| !v["metric"].as_str().unwrap_or("").starts_with("plugin."))
        .map(|v| (v["metric"].as_str().unwrap().to_string(), v["tags"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn builtin_metrics_checks_from_hbs_and_heartbeats() {
    let rt = runtime();
    let calls: Calls = Default::default();
    let transfer = fake_transfer(&rt, "127.0.0.1:0", calls.clone());
    let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listening.local_addr().unwrap().port();
    let free_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = temp_dir("builtin");
    std::fs::write(dir.join("blob"), vec![1u8; 10_000]).unwrap();
    let state = Arc::new(Mutex::new(HbsState::default()));
    let (hbs, _hbs_stop) = fake_hbs(&rt, state.clone());
    let mut agent = start_agent(&dir, &config(&hbs, &[&transfer.addr], r#"{"enabled":false}"#, ""));
    let http_addr = agent.addr("http").to_string();
    {
        let mut s = state.lock().unwrap();
        s.checks = vec![
            bm("net.port.listen", &format!("port={port}")),
            bm("net.port.listen", &format!("port={free_port}")),
            bm("proc.num", "cmdline=falcon-agent"),
            bm("proc.num", "name=no-such-process-xyz"),
            bm("du.bs", &format!("path={}", dir.display())),
            bm("url.check.health", &format!("url=http://{http_addr}/health,timeout=3")),
        ];
    }
    let tags_port = format!("port={port}");
    wait_for("the checks to be reported", 20, || {
        let items = transfer.items();
        find(&items, "net.port.listen", &tags_port).is_some()
            && find(&items, "url.check.health", &format!("url=http://{http_addr}/health,timeout=3,src=agent-it"))
                .is_some()
            && find(&items, "du.bs", &format!("path={}", dir.display())).is_some()
            && items.iter().any(|m| m.metric == "cpu.idle")
    });
    std::thread::sleep(Duration::from_millis(1500));
    let items = transfer.items();
    let v = |m: &str, t: &str| find(&items, m, t).unwrap_or_else(|| panic!("no {m} {t}")).value.as_f64().unwrap();
    assert_eq!(v("net.port.listen", &tags_port), 1.0);
    assert_eq!(v("net.port.listen", &format!("port={free_port}")), 0.0);
    assert!(v("proc.num", "cmdline=falcon-agent") >= 1.0);
    assert_eq!(v("proc.num", "name=no-such-process-xyz"), 0.0);
    assert!(v("du.bs", &format!("path={}", dir.display())) >= 10_000.0);
    assert_eq!(v("url.check.health", &format!("url=http://{http_addr}/health,timeout=3,src=agent-it")), 1.0);
    // Envelope: endpoint, step = interval, the ignore list applied, never NaN.
    assert!(items.iter().all(|m| m.endpoint == "agent-it" && m.step == 1 && m.timestamp > 0));
    assert!(items.iter().all(|m| m.value.as_f64().is_some_and(f64::is_finite)));
    assert!(find(&items, "cpu.busy", "").is_none() && find(&items, "mem.memtotal", "").is_none());
    assert_eq!(find(&items, "cpu.switches", "").unwrap().counter_type, "COUNTER");
    // One timestamp per cycle: every call of a cycle carries the same one, and cycles are a second apart.
    let alive: BTreeSet<i64> = items.iter().filter(|m| m.metric == "agent.alive").map(|m| m.timestamp).collect();
    for call in calls.lock().unwrap().iter() {
        let ts: BTreeSet<i64> = call.iter().map(|m| m.timestamp).collect();
        assert_eq!(ts.len(), 1, "one timestamp per call");
        assert!(alive.contains(ts.iter().next().unwrap()), "every call belongs to a cycle");
    }
    // Every always-present series of the Go capture; the hardware-dependent ones when the machine has them.
    let have: BTreeSet<(String, String)> = items.iter().map(|m| (m.metric.clone(), m.tags.clone())).collect();
    let names: BTreeSet<&str> = items.iter().map(|m| m.metric.as_str()).collect();
    let mut missing = Vec::new();
    for (m, t) in captured_series() {
        let checked_elsewhere = ["du.bs", "url.check.health", "net.port.listen", "proc.num"].contains(&m.as_str());
        let hardware = m.starts_with("net.if.") || m.starts_with("df.") || m.starts_with("TcpExt.");
        if checked_elsewhere {
            continue;
        }
        if hardware {
            if m.starts_with("TcpExt.") && std::fs::read_to_string("/proc/net/netstat").unwrap().contains(&m[7..]) {
                assert!(names.contains(m.as_str()), "{m}");
            }
            if m.starts_with("net.if.")
                && std::fs::read_to_string("/proc/net/dev").unwrap().contains("eth0:")
                && !have.contains(&(m.clone(), t.clone()))
            {
                missing.push(format!("{m} {t}"));
            }
            continue;
        }
        if !have.contains(&(m.clone(), t.clone())) {
            missing.push(format!("{m} {t}"));
        }
    }
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    if mounts
        .lines()
        .any(|l| l.starts_with("/dev/") && l.split_whitespace().nth(1) == Some("/") && l.contains(" ext4 "))
    {
        for m in ["df.bytes.free.percent", "df.inodes.free.percent"] {
            if !have.contains(&(m.to_string(), "mount=/,fstype=ext4".to_string())) {
                missing.push(m.to_string());
            }
        }
        for m in ["df.statistics.total", "df.statistics.used", "df.statistics.used.percent"] {
            if !names.contains(m) {
                missing.push(m.to_string());
            }
        }
    }
    assert!(missing.is_empty(), "missing series: {missing:?}");
    // The disk.io series v0.3 misses on modern kernels, for every whole disk that has done I/O.
    let disks = std::fs::read_to_string("/proc/diskstats").unwrap();
    for line in disks.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 14 && f[3] != "0" && falcon_agent::collector::diskstats::should_handle(f[2]) {
            for m in ["disk.io.read_requests", "disk.io.msec_weighted_total", "disk.io.util", "disk.io.await"] {
                assert!(have.contains(&(m.to_string(), format!("device={}", f[2]))), "{m} {}", f[2]);
            }
        }
    }
    // Heartbeats: ReportStatus with our version; BuiltinMetrics from "nil", then the accepted checksum.
    let s = state.lock().unwrap();
    assert!(!s.reports.is_empty());
    assert_eq!(s.reports[0].hostname, "agent-it");
    assert_eq!(s.reports[0].ip, "127.0.0.1");
    assert_eq!(s.reports[0].plugin_version, "plugin not enabled");
    assert_eq!(s.checksums[0], "nil");
    assert!(s.checksums.len() >= 2 && s.checksums[1].len() == 32, "{:?}", s.checksums);
    drop(s);
    agent.terminate();
    assert!(agent.wait(Duration::from_secs(10)).is_some_and(|s| s.success()));
    drop(listening);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn transfer_outage_loses_no_batch() {
    let rt = runtime();
    let calls: Calls = Default::default();
    let transfer = fake_transfer(&rt, "127.0.0.1:0", calls.clone());
    let addr = transfer.addr.clone();
    let dir = temp_dir("outage");
    let state = Arc::new(Mutex::new(HbsState::default()));
    let (hbs, _s) = fake_hbs(&rt, state);
    let agent = start_agent(&dir, &config(&hbs, &[&addr], r#"{"enabled":false}"#, ""));
    let alive = |c: &Calls| -> BTreeSet<i64> {
        c.lock().unwrap().iter().flatten().filter(|m| m.metric == "agent.alive").map(|m| m.timestamp).collect()
    };
    wait_for("a first cycle", 10, || !alive(&calls).is_empty());
    transfer.stop();
    // Push while the transfer is away too.
    let push = r#"[{"endpoint":"pushed","metric":"during.outage","value":7,"step":60,"counterType":"GAUGE","tags":"","timestamp":1795261617}]"#;
    assert_eq!(http::post_json(agent.addr("http"), "/v1/push", push).body, "success");
    std::thread::sleep(Duration::from_secs(4));
    let before = alive(&calls).len();
    let back = fake_transfer(&rt, &addr, calls.clone());
    wait_for("the buffered cycles", 20, || {
        let a = alive(&calls);
        a.len() >= before + 4 && a.last().unwrap() - a.first().unwrap() + 1 == a.len() as i64
    });
    let a = alive(&calls);
    assert_eq!(a.last().unwrap() - a.first().unwrap() + 1, a.len() as i64, "no cycle missing: {a:?}");
    assert!(back.items().iter().any(|m| m.metric == "during.outage" && m.endpoint == "pushed"));
    let counters = http::get(agent.addr("http"), "/counter/sender").body;
    assert!(counters.contains("\"items_dropped\":0"), "{counters}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn spool_carries_batches_across_a_restart() {
    let rt = runtime();
    let calls: Calls = Default::default();
    // A port with nothing listening: reserve one and free it.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let dir = temp_dir("spool");
    let spool = dir.join("spool");
    let extra = format!(
        r#","transfer":{{"enabled":true,"addrs":["{addr}"],"interval":1,"timeout":200,"spool":"{}"}}"#,
        spool.display()
    );
    let state = Arc::new(Mutex::new(HbsState::default()));
    let (hbs, _s) = fake_hbs(&rt, state);
    // A later "transfer" key overrides the one config() writes (Go's decoder keeps the last).
    let cfg = config(&hbs, &[&addr], r#"{"enabled":false}"#, &extra);
    let mut first = start_agent(&dir, &cfg);
    std::thread::sleep(Duration::from_millis(3500));
    first.terminate();
    assert!(first.wait(Duration::from_secs(10)).is_some_and(|s| s.success()), "{}", first.log());
    let spooled = std::fs::read_to_string(spool.join("pending.jsonl")).unwrap();
    let ts: BTreeSet<i64> = spooled
        .lines()
        .flat_map(|l| serde_json::from_str::<Vec<serde_json::Value>>(l).unwrap())
        .filter(|v| v["metric"] == "agent.alive")
        .map(|v| v["timestamp"].as_i64().unwrap())
        .collect();
    assert!(ts.len() >= 2, "cycles spooled: {ts:?}\n{}", first.log());
    let transfer = fake_transfer(&rt, &addr, calls.clone());
    let _second = start_agent(&dir, &cfg);
    wait_for("the spooled cycles", 20, || {
        let got: BTreeSet<i64> =
            transfer.items().iter().filter(|m| m.metric == "agent.alive").map(|m| m.timestamp).collect();
        ts.is_subset(&got)
    });
    wait_for("the spool to empty", 10, || {
        std::fs::read_to_string(spool.join("pending.jsonl")).map(|s| s.is_empty()).unwrap_or(false)
    });
    std::fs::remove_dir_all(&dir).ok();
}
