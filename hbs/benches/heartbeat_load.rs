//! Heartbeat load on the release falcon-hbs, on SQLite and on MariaDB in one run (`--backends sqlite,mysql`):
//! a database of 10,000 hosts in 500 groups; first a burst of 10,000 *new* agents reporting at once (the host
//! writes Go runs one statement each for), then steady heartbeats (ReportStatus + BuiltinMetrics + MinePlugins)
//! over several connections. Reports the writes the server executed (MariaDB's `Com_insert`/`Com_update`, our
//! `/counter/hostwrites`), calls/s, p50/p99 latency and the server's peak RSS.
//!
//! `cargo bench -p falcon-hbs --bench heartbeat_load -- --secs 15 --conns 8 [--backends sqlite,mysql]`

#[path = "../tests/common/mod.rs"]
mod common;

use falcon_tests::util::{arg, status_kb};

use common::*;
use falcon_hbs::admin::{Document, GroupDoc, HostDoc, Op, StrategyDoc, TemplateDoc};
use falcon_proto::jsonrpc::client::{Client, ClientConfig};
use falcon_proto::model::{
    AgentHeartbeatRequest, AgentPluginsResponse, AgentReportRequest, BuiltinMetricResponse, SimpleRpcResponse,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HOSTS: usize = 10_000;
const GROUPS: usize = 500;

fn document() -> Document {
    let templates: Vec<TemplateDoc> = (0..10)
        .map(|t| TemplateDoc {
            name: format!("tpl-{t}"),
            parent: if t > 0 { "tpl-0".into() } else { String::new() },
            strategies: vec![
                StrategyDoc {
                    metric: "net.port.listen".into(),
                    tags: format!("port={}", 8000 + t),
                    ..Default::default()
                },
                StrategyDoc { metric: "proc.num".into(), tags: format!("name=app{t}"), ..Default::default() },
                StrategyDoc {
                    metric: "cpu.idle".into(),
                    op: "<".into(),
                    right_value: "5".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        })
        .collect();
    let groups = (0..GROUPS)
        .map(|g| GroupDoc {
            name: format!("grp-{g}"),
            hosts: (0..HOSTS / GROUPS).map(|i| format!("host-{}", g * (HOSTS / GROUPS) + i)).collect(),
            templates: vec![format!("tpl-{}", g % 10)],
            plugins: vec![format!("sys/g{}", g % 7), "sys/common".into()],
        })
        .collect();
    Document {
        hosts: (0..HOSTS).map(|i| HostDoc { hostname: format!("host-{i}"), ..Default::default() }).collect(),
        templates,
        groups,
        expressions: vec![],
    }
}

/// The status counters of the writes that matter here.
fn com_writes(m: &falcon_tests::mariadb::MariaDb) -> (i64, i64, i64) {
    let rows =
        m.query_rows("SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_insert', 'Com_update', 'Com_select')").unwrap();
    let get = |name: &str| -> i64 {
        rows.iter()
            .find(|r| r[0].as_deref() == Some(name))
            .and_then(|r| r[1].as_deref())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (get("Com_insert"), get("Com_update"), get("Com_select"))
}

fn host_writes(http: &str) -> i64 {
    let body = falcon_tests::http::get(http, "/counter/hostwrites").body;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v["data"]["writes"].as_i64().unwrap_or(-1)
}

fn report(host: String) -> AgentReportRequest {
    AgentReportRequest { hostname: host, ip: "10.0.0.1".into(), agent_version: "v".into(), plugin_version: "p".into() }
}

/// `n` distinct new agents report once, spread over `conns` connections; returns the seconds it took.
fn burst(rt: &tokio::runtime::Runtime, addr: &str, conns: usize, n: usize) -> f64 {
    let t = Instant::now();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for c in 0..conns {
            let client = Client::new(addr.to_string(), ClientConfig::default());
            tasks.push(tokio::spawn(async move {
                for i in (c..n).step_by(conns) {
                    let r: SimpleRpcResponse =
                        client.call("Agent.ReportStatus", &report(format!("new-{i}"))).await.unwrap();
                    assert_eq!(r.code, 0);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    t.elapsed().as_secs_f64()
}

/// Steady heartbeats for `secs`; returns every call's latency.
fn steady(rt: &tokio::runtime::Runtime, addr: &str, conns: usize, secs: u64) -> Vec<Duration> {
    rt.block_on(async move {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut tasks = Vec::new();
        for c in 0..conns {
            let client = Arc::new(Client::new(addr.to_string(), ClientConfig::default()));
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut i = c;
                while Instant::now() < deadline {
                    let host = format!("host-{}", i % HOSTS);
                    i += conns;
                    let t = Instant::now();
                    let r: SimpleRpcResponse = client.call("Agent.ReportStatus", &report(host.clone())).await.unwrap();
                    assert_eq!(r.code, 0);
                    lat.push(t.elapsed());
                    let t = Instant::now();
                    let b: BuiltinMetricResponse = client
                        .call(
                            "Agent.BuiltinMetrics",
                            &AgentHeartbeatRequest { hostname: host.clone(), checksum: "nil".into() },
                        )
                        .await
                        .unwrap();
                    assert!(b.metrics.is_some_and(|m| m.len() >= 2), "checks from the template and its parent");
                    lat.push(t.elapsed());
                    let t = Instant::now();
                    let p: AgentPluginsResponse = client
                        .call("Agent.MinePlugins", &AgentHeartbeatRequest { hostname: host, checksum: String::new() })
                        .await
                        .unwrap();
                    assert_eq!(p.plugins.map(|p| p.len()), Some(2));
                    lat.push(t.elapsed());
                }
                lat
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    })
}

fn run(backend: Backend, secs: u64, conns: usize) {
    let db = TestDb::new(backend, "bench");
    let t = Instant::now();
    db.store().apply(&Op::Import { document: document() }).unwrap();
    let seed_s = t.elapsed().as_secs_f64();
    let hbs = start(&db.config(""));
    let pid = hbs.pid();
    let (addr, http) = (hbs.addr("rpc").to_string(), hbs.addr("http").to_string());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();

    let com0 = db.maria.as_ref().map(com_writes);
    let w0 = host_writes(&http);
    let burst_s = burst(&rt, &addr, conns, HOSTS);
    // The rows land with the next flushes; wait for the queue to drain (bounded).
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let body = falcon_tests::http::get(&http, "/counter/hostwrites").body;
        if body.contains(r#""waiting":0"#) && body.contains(&format!(r#""written":{HOSTS}"#)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let writes = host_writes(&http) - w0;
    let com = match (com0, db.maria.as_ref().map(com_writes)) {
        (Some(a), Some(b)) => format!(
            "; MariaDB Com_insert {} Com_update {} Com_select {} (Go v0.3: one INSERT ... ON DUPLICATE KEY UPDATE per new agent, {HOSTS})",
            b.0 - a.0,
            b.1 - a.1,
            b.2 - a.2
        ),
        _ => String::new(),
    };
    println!("hbs {backend:?}: burst of {HOSTS} new agents over {conns} conns in {burst_s:.2} s ({:.0} reports/s): {writes} host writes{com}", HOSTS as f64 / burst_s);

    let com0 = db.maria.as_ref().map(com_writes);
    let mut lat = steady(&rt, &addr, conns, secs);
    let calls = lat.len();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1000.0;
    let com = match (com0, db.maria.as_ref().map(com_writes)) {
        (Some(a), Some(b)) => {
            format!("; MariaDB Com_insert {} Com_update {} Com_select {}", b.0 - a.0, b.1 - a.1, b.2 - a.2)
        }
        _ => String::new(),
    };
    println!(
        "hbs {backend:?}: {HOSTS} hosts / {GROUPS} groups, {conns} conns, {secs} s steady: {calls} calls, {:.0} calls/s, p50 {:.3} ms, p99 {:.3} ms; server RSS {} kB, peak (VmHWM) {} kB; import {seed_s:.1} s{com}",
        calls as f64 / secs as f64,
        pct(0.50),
        pct(0.99),
        status_kb(pid, "VmRSS:"),
        status_kb(pid, "VmHWM:"),
    );
    drop(hbs);
}

fn main() {
    let secs = arg("--secs", 15);
    let conns = arg("--conns", 8) as usize;
    let backends = std::env::args().skip_while(|a| a != "--backends").nth(1).unwrap_or_else(|| "sqlite,mysql".into());
    for b in backends.split(',') {
        match b.trim() {
            "sqlite" => run(Backend::Sqlite, secs, conns),
            "mysql" => run(Backend::Mysql, secs, conns),
            other => eprintln!("unknown backend {other:?} (sqlite, mysql)"),
        }
    }
}
