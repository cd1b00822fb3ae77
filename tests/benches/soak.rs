//! Soak under faults: the three binaries for N minutes with a few hundred simulated agents, and during the run
//! the graph node, the transfer and the HBS are each killed and started again.
//!
//! Run (one command; it builds the release binaries first):
//! `cargo bench -p falcon-tests --bench soak -- [--minutes 10] [--agents 300] [--items 20] [--interval 10]`
//!
//! - HBS on SQLite, the transfer with judge and graph (counting gob nodes, `falcon_tests::gobsink`) and a spool
//!   on both lanes, one real `falcon-agent` (5 s interval), and `--agents` simulated agents in this process: each
//!   reports to HBS (`Agent.ReportStatus`) and sends `--items` items (`Transfer.Update`) every `--interval`
//!   seconds, keeping a batch that failed and sending it again (at most 100 batches each), as the agent does.
//! - Faults, at fractions of the run: 15% the graph node goes away (listener and connections closed), 30% it comes
//!   back on its address; 45% the transfer gets SIGTERM and is started again on the same ports; 65% the HBS gets
//!   SIGTERM and comes back 5 s later.
//! - Printed: every minute the RSS of each binary; at the end items sent and accepted by the simulated agents,
//!   items the transfer accepted from everyone (summed over its runs), items delivered to judge and graph, items
//!   that went through the spool, drops, lost (accepted but never delivered: expected 0 within the spool bound),
//!   duplicates, peak RSS of each binary and the p99 latency of `Transfer.Update`.

use falcon_proto::jsonrpc::{Client, ClientConfig};
use falcon_proto::model::{AgentReportRequest, GoValue, MetricValue, SimpleRpcResponse, TransferResponse};
use falcon_tests::daemon::{workspace_bin, Daemon};
use falcon_tests::gobsink::GobSink;
use falcon_tests::http;
use falcon_tests::util::{spool_total, status_kb};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Opts {
    minutes: f64,
    agents: usize,
    items: usize,
    interval: u64,
}

fn opts() -> Opts {
    let mut o = Opts { minutes: 10.0, agents: 300, items: 20, interval: 10 };
    let args: Vec<String> = std::env::args().collect();
    for w in args.windows(2) {
        match (w[0].as_str(), w[1].parse::<f64>()) {
            ("--minutes", Ok(v)) => o.minutes = v,
            ("--agents", Ok(v)) => o.agents = v as usize,
            ("--items", Ok(v)) => o.items = v as usize,
            ("--interval", Ok(v)) => o.interval = v.max(1.0) as u64,
            _ => {}
        }
    }
    o
}

/// Counters of the simulated agents.
#[derive(Default)]
struct Load {
    sent: AtomicU64,
    accepted: AtomicU64,
    failed_calls: AtomicU64,
    dropped: AtomicU64,
    reports: AtomicU64,
    latencies_us: Mutex<Vec<u64>>,
}

fn free_port() -> String {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.to_string()).unwrap_or_default()
}

fn counter(http_addr: &str, name: &str) -> u64 {
    for path in ["/counter/all", "/counter/extra"] {
        let body = http::get(http_addr, path).body;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if let Some(c) = v["data"].as_array().and_then(|a| a.iter().find(|c| c["Name"] == name)) {
            return c["Cnt"].as_u64().unwrap_or(0);
        }
    }
    0
}

/// What one transfer run accepted, spilled and dropped (its counters start at zero each run).
#[derive(Default, Clone, Copy)]
struct RunTotals {
    received: u64,
    spilled: u64,
    dropped: u64,
}

fn run_totals(h: &str) -> RunTotals {
    RunTotals {
        received: counter(h, "RecvCnt"),
        spilled: spool_total(h, "spilled"),
        dropped: counter(h, "SendToJudgeDropCnt") + counter(h, "SendToGraphDropCnt") + spool_total(h, "dropped"),
    }
}

fn write(path: &Path, text: &str) -> String {
    std::fs::write(path, text).expect("write config");
    path.display().to_string()
}

fn build_binaries() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "-p", "falcon-agent", "-p", "falcon-transfer", "-p", "falcon-hbs"])
        .status()
        .expect("run cargo build");
    assert!(status.success(), "building the release binaries failed");
}

/// One simulated agent: a report to HBS and a batch to the transfer every interval, failed batches kept.
async fn sim_agent(i: usize, hbs: String, transfer: String, o: Arc<Opts>, load: Arc<Load>, deadline: Instant) {
    let cfg = ClientConfig {
        dial_timeout: Duration::from_secs(1),
        call_timeout: Duration::from_secs(10),
        ..Default::default()
    };
    let hbs = Client::new(hbs, cfg.clone());
    let transfer = Client::new(transfer, cfg);
    let host = format!("sim-{i:04}");
    let report = AgentReportRequest {
        hostname: host.clone(),
        ip: "127.0.0.1".into(),
        agent_version: "soak".into(),
        plugin_version: String::new(),
    };
    let mut pending: std::collections::VecDeque<Vec<MetricValue>> = Default::default();
    // Spread the agents over the interval.
    tokio::time::sleep(Duration::from_millis((i as u64 * 1000 * o.interval) / o.agents.max(1) as u64)).await;
    let mut tick = tokio::time::interval(Duration::from_secs(o.interval));
    let mut round = 0u64;
    while Instant::now() < deadline {
        tick.tick().await;
        round += 1;
        if hbs.call::<_, SimpleRpcResponse>("Agent.ReportStatus", &report).await.is_ok() {
            load.reports.fetch_add(1, Relaxed);
        }
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        let batch: Vec<MetricValue> = (0..o.items)
            .map(|k| MetricValue {
                endpoint: host.clone(),
                metric: format!("soak.m{k}"),
                value: GoValue::Number(round as f64),
                step: o.interval as i64,
                counter_type: "GAUGE".into(),
                tags: format!("round={round}"),
                timestamp: now,
            })
            .collect();
        load.sent.fetch_add(batch.len() as u64, Relaxed);
        pending.push_back(batch);
        while pending.len() > 100 {
            let old = pending.pop_front().map(|b| b.len()).unwrap_or(0);
            load.dropped.fetch_add(old as u64, Relaxed);
        }
        while let Some(b) = pending.front() {
            let t0 = Instant::now();
            match transfer.call::<_, TransferResponse>("Transfer.Update", b).await {
                Ok(r) => {
                    load.latencies_us.lock().map(|mut l| l.push(t0.elapsed().as_micros() as u64)).ok();
                    load.accepted.fetch_add((r.total - r.invalid).max(0) as u64, Relaxed);
                    pending.pop_front();
                }
                Err(_) => {
                    load.failed_calls.fetch_add(1, Relaxed);
                    break;
                }
            }
        }
    }
}

fn main() {
    let o = Arc::new(opts());
    build_binaries();
    let dir: PathBuf = std::env::temp_dir().join(format!("falcon-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let judge_n = Arc::new(AtomicU64::new(0));
    let graph_n = Arc::new(AtomicU64::new(0));
    let judge = rt.block_on(GobSink::start("127.0.0.1:0", judge_n.clone())).expect("judge sink");
    let mut graph = Some(rt.block_on(GobSink::start("127.0.0.1:0", graph_n.clone())).expect("graph sink"));
    let graph_addr = graph.as_ref().map(|g| g.addr.clone()).unwrap_or_default();

    let (hbs_rpc, hbs_http) = (free_port(), free_port());
    let hbs_cfg = write(
        &dir.join("hbs.json"),
        &format!(
            r#"{{"debug":false,"database":"{}","listen":"{hbs_rpc}","trustable":["127.0.0.1"],"http":{{"enabled":true,"listen":"{hbs_http}"}}}}"#,
            dir.join("hbs.db").display()
        ),
    );
    let (t_rpc, t_http) = (free_port(), free_port());
    let spool =
        |name: &str| format!(r#""spool":{{"dir":"{}","maxBytes":1073741824}}"#, dir.join("spool").join(name).display());
    let t_cfg = write(
        &dir.join("transfer.json"),
        &format!(
            r#"{{"debug":false,"minStep":30,"drainTimeout":10,
            "http":{{"enabled":true,"listen":"{t_http}"}},"rpc":{{"enabled":true,"listen":"{t_rpc}"}},"socket":{{"enabled":false}},
            "judge":{{"enabled":true,"batch":200,"maxConns":8,"queueSize":20000,{},"cluster":{{"judge-00":"{}"}}}},
            "graph":{{"enabled":true,"batch":200,"maxConns":8,"queueSize":20000,{},"cluster":{{"graph-00":"{graph_addr}"}}}}}}"#,
            spool("judge"),
            judge.addr,
            spool("graph")
        ),
    );
    let agent_cfg = write(
        &dir.join("agent.json"),
        &format!(
            r#"{{"debug":false,"hostname":"soak-real",
            "heartbeat":{{"enabled":true,"addr":"{hbs_rpc}","interval":5,"timeout":1000}},
            "transfer":{{"enabled":true,"addrs":["{t_rpc}"],"interval":5,"timeout":1000}},
            "http":{{"enabled":false}}}}"#
        ),
    );
    let start_hbs = || Daemon::start(&workspace_bin("falcon-hbs"), &["-c", &hbs_cfg]).expect("start hbs");
    let start_transfer = || Daemon::start(&workspace_bin("falcon-transfer"), &["-c", &t_cfg]).expect("start transfer");
    let mut hbs = start_hbs();
    let mut transfer = start_transfer();
    let agent = Daemon::start(&workspace_bin("falcon-agent"), &["-c", &agent_cfg]).expect("start agent");

    let total = Duration::from_secs_f64(o.minutes * 60.0);
    let start = Instant::now();
    let deadline = start + total;
    let load = Arc::new(Load::default());
    for i in 0..o.agents {
        rt.spawn(sim_agent(i, hbs_rpc.clone(), t_rpc.clone(), o.clone(), load.clone(), deadline));
    }
    println!(
        "soak: minutes={} agents={} items={} interval_s={} ({} items/s from the simulated agents)",
        o.minutes,
        o.agents,
        o.items,
        o.interval,
        o.agents * o.items / o.interval as usize
    );

    let at = |f: f64| start + total.mul_f64(f);
    let mut faults: Vec<(Instant, &str)> = vec![
        (at(0.15), "graph-down"),
        (at(0.30), "graph-up"),
        (at(0.45), "transfer-restart"),
        (at(0.65), "hbs-restart"),
    ];
    let mut runs: Vec<RunTotals> = Vec::new();
    let mut peak = [0u64; 3];
    let mut last_line = start;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(1));
        for (k, pid) in [transfer.pid(), hbs.pid(), agent.pid()].into_iter().enumerate() {
            peak[k] = peak[k].max(status_kb(pid, "VmRSS:"));
        }
        if let Some(&(when, what)) = faults.first() {
            if Instant::now() >= when {
                faults.remove(0);
                let t = start.elapsed().as_secs();
                match what {
                    "graph-down" => {
                        if let Some(g) = graph.take() {
                            g.stop();
                        }
                    }
                    "graph-up" => graph = rt.block_on(GobSink::start(&graph_addr, graph_n.clone())).ok(),
                    "transfer-restart" => {
                        runs.push(run_totals(&t_http));
                        transfer.terminate();
                        let status = transfer.wait(Duration::from_secs(60));
                        println!("soak: t={t}s transfer stopped ({status:?})");
                        transfer = start_transfer();
                    }
                    _ => {
                        hbs.terminate();
                        let _ = hbs.wait(Duration::from_secs(30));
                        std::thread::sleep(Duration::from_secs(5));
                        hbs = start_hbs();
                    }
                }
                println!("soak: t={t}s fault {what}");
            }
        }
        if last_line.elapsed() >= Duration::from_secs(60) {
            last_line = Instant::now();
            println!(
                "soak: t={}s rss_mb transfer={:.1} hbs={:.1} agent={:.1} accepted={} judge={} graph={}",
                start.elapsed().as_secs(),
                status_kb(transfer.pid(), "VmRSS:") as f64 / 1024.0,
                status_kb(hbs.pid(), "VmRSS:") as f64 / 1024.0,
                status_kb(agent.pid(), "VmRSS:") as f64 / 1024.0,
                load.accepted.load(Relaxed),
                judge_n.load(Relaxed),
                graph_n.load(Relaxed)
            );
        }
    }
    // The load has stopped; the real agent keeps sending, so take the transfer's count, then wait for delivery.
    std::thread::sleep(Duration::from_secs(o.interval + 2));
    drop(agent);
    std::thread::sleep(Duration::from_secs(2));
    let settle = Instant::now() + Duration::from_secs(180);
    let mut last = run_totals(&t_http);
    while Instant::now() < settle {
        last = run_totals(&t_http);
        let expected: u64 = runs.iter().map(|r| r.received).sum::<u64>() + last.received;
        if judge_n.load(Relaxed) >= expected && graph_n.load(Relaxed) >= expected {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    runs.push(last);
    let expected: u64 = runs.iter().map(|r| r.received).sum();
    let (j, g) = (judge_n.load(Relaxed), graph_n.load(Relaxed));
    let lost = expected.saturating_sub(j.min(g));
    let mut lat = load.latencies_us.lock().map(|l| l.clone()).unwrap_or_default();
    lat.sort_unstable();
    let p99 = lat.get(lat.len().saturating_sub(1).min(lat.len() * 99 / 100)).copied().unwrap_or(0);
    println!(
        "soak: sent={} accepted={} sim_failed_calls={} sim_dropped={} hbs_reports={} transfer_received={} judge_delivered={} graph_delivered={} spooled={} dropped={} lost={} duplicates={} update_p99_ms={:.2} peak_rss_mb transfer={:.1} hbs={:.1} agent={:.1}",
        load.sent.load(Relaxed),
        load.accepted.load(Relaxed),
        load.failed_calls.load(Relaxed),
        load.dropped.load(Relaxed),
        load.reports.load(Relaxed),
        expected,
        j,
        g,
        runs.iter().map(|r| r.spilled).sum::<u64>(),
        runs.iter().map(|r| r.dropped).sum::<u64>(),
        lost,
        j.max(g).saturating_sub(expected),
        p99 as f64 / 1000.0,
        peak[0] as f64 / 1024.0,
        peak[1] as f64 / 1024.0,
        peak[2] as f64 / 1024.0,
    );
    drop(transfer);
    drop(hbs);
    let _ = std::fs::remove_dir_all(&dir);
    if lost > 0 {
        std::process::exit(1);
    }
}
