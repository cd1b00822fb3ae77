//! Replays agent heartbeats (ReportStatus + BuiltinMetrics + MinePlugins) against the release falcon-hbs with
//! 10,000 hosts in 500 groups, over several connections, and reports calls/s, p50/p99 latency and the server's
//! peak RSS.
//!
//! `cargo bench -p falcon-hbs --bench heartbeat_load -- --secs 20 --conns 8`

#[path = "../tests/common/mod.rs"]
mod common;

use falcon_tests::util::{arg, status_kb};

use common::*;
use falcon_hbs::admin::{Document, GroupDoc, HostDoc, Op, StrategyDoc, TemplateDoc};
use falcon_hbs::db::Db;
use falcon_hbs::store::Store;
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

fn main() {
    let secs = arg("--secs", 20);
    let conns = arg("--conns", 8) as usize;
    let dir = temp_dir("bench");
    let cfg = config(&dir, "");
    let t = Instant::now();
    Db::open(&dir.join("hbs.db")).unwrap().apply(&Op::Import { document: document() }).unwrap();
    let seed_s = t.elapsed().as_secs_f64();
    let hbs = start(&cfg);
    let pid = hbs.pid();
    let addr = hbs.addr("rpc").to_string();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (calls, mut lat) = rt.block_on(async move {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut tasks = Vec::new();
        for c in 0..conns {
            let client = Arc::new(Client::new(addr.clone(), ClientConfig::default()));
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut i = c;
                while Instant::now() < deadline {
                    let host = format!("host-{}", i % HOSTS);
                    i += conns;
                    let t = Instant::now();
                    let r: SimpleRpcResponse = client
                        .call(
                            "Agent.ReportStatus",
                            &AgentReportRequest {
                                hostname: host.clone(),
                                ip: "10.0.0.1".into(),
                                agent_version: "v".into(),
                                plugin_version: "p".into(),
                            },
                        )
                        .await
                        .unwrap();
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
        (all.len(), all)
    });
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "hbs {HOSTS} hosts / {GROUPS} groups, {conns} conns, {secs} s: {} calls, {:.0} calls/s, p50 {:.3} ms, p99 {:.3} ms; server RSS {} kB, peak (VmHWM) {} kB; seed {seed_s:.1} s",
        calls,
        calls as f64 / secs as f64,
        pct(0.50),
        pct(0.99),
        status_kb(pid, "VmRSS:"),
        status_kb(pid, "VmHWM:"),
    );
    drop(hbs);
    std::fs::remove_dir_all(&dir).ok();
}
