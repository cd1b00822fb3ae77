//! Load generator: drives `Transfer.Update` into a real `falcon-transfer` (release build) over N connections
//! with batches of B items, to two judge and two graph gob sinks, and reports what went through.
//!
//! Run: `cargo bench -p falcon-transfer --bench loadgen -- [--conns 4] [--batch 100] [--seconds 10]
//!       [--series 10000] [--rate 0] [--threads 0]` (`--rate` items/s in total, 0 = as fast as it goes;
//!       `--threads` is the transfer's `workerThreads`, 0 = one per CPU) [--output remote-write].
//! `--output remote-write` replaces the gob sinks with a real VictoriaMetrics (Debian's, started on a temporary
//! directory and a loopback port) fed by the transfer's remote write; delivery is read from the transfer's
//! `SendToRemoteWriteCnt`.
//! `--outage S` keeps the graph sinks down for the first S seconds (their addresses refuse connections), and
//! `--spool` gives judge and graph a spool (`--queue N` items in memory per address, the rest on disk); the
//! summary then also says how many items went through the spool and how long the replay took.
//! `--input remote-write` sends the same items as Prometheus remote write 1.0 requests (snappy + protobuf, one
//! series per item) to the transfer's `/api/v1/write` over keep-alive HTTP/1.1 connections instead of
//! `Transfer.Update`.
//! `FALCON_TRANSFER_BIN=<path>` runs another transfer binary under the same load.
//!
//! The sinks count items without decoding them (they read the slice length of each `Send` argument), so
//! nearly all CPU they use is socket work; the transfer's CPU is read from /proc/<pid>/stat and its peak RSS
//! from VmHWM.

use falcon_proto::gojson;
use falcon_proto::jsonrpc::{Client, ClientConfig};
use falcon_proto::model::{GoValue, MetricValue, TransferResponse};
use falcon_tests::daemon::Daemon;
use falcon_tests::gobsink::GobSink;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

struct Opts {
    threads: usize,
    conns: usize,
    batch: usize,
    seconds: u64,
    series: usize,
    rate: u64,
    remote_write: bool,
    remote_write_in: bool,
    outage: u64,
    spool: bool,
    queue: usize,
}

fn opts() -> Opts {
    let mut o = Opts {
        threads: 0,
        conns: 4,
        batch: 100,
        seconds: 10,
        series: 10_000,
        rate: 0,
        remote_write: false,
        remote_write_in: false,
        outage: 0,
        spool: false,
        queue: 0,
    };
    let args: Vec<String> = std::env::args().collect();
    o.spool = args.iter().any(|a| a == "--spool");
    o.remote_write = args.windows(2).any(|w| w[0] == "--output" && w[1] == "remote-write");
    o.remote_write_in = args.windows(2).any(|w| w[0] == "--input" && w[1] == "remote-write");
    let mut i = 1;
    while i < args.len() {
        let v = args.get(i + 1).and_then(|s| s.parse::<u64>().ok());
        match (args[i].as_str(), v) {
            ("--conns", Some(v)) => o.conns = v as usize,
            ("--batch", Some(v)) => o.batch = v as usize,
            ("--seconds", Some(v)) => o.seconds = v,
            ("--series", Some(v)) => o.series = v as usize,
            ("--rate", Some(v)) => o.rate = v,
            ("--threads", Some(v)) => o.threads = v as usize,
            ("--outage", Some(v)) => o.outage = v,
            ("--queue", Some(v)) => o.queue = v as usize,
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    o
}

/// A counting gob sink on a free port (kept running for the whole run).
async fn sink(counter: Arc<AtomicU64>) -> String {
    let s = GobSink::start("127.0.0.1:0", counter).await.expect("bind sink");
    let addr = s.addr.clone();
    std::mem::forget(s);
    addr
}

/// A sink whose address refuses connections for `down` first.
async fn late_sink(counter: Arc<AtomicU64>, down: Duration) -> String {
    let addr = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("reserve a port");
    tokio::spawn(async move {
        tokio::time::sleep(down).await;
        let s = GobSink::start(&addr.to_string(), counter).await.expect("sink port taken meanwhile");
        std::mem::forget(s);
    });
    addr.to_string()
}

fn proc_stat(pid: u32) -> (f64, u64) {
    let ticks: f64 = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let cpu = (f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0))
        / ticks;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm_kb = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (cpu, hwm_kb)
}

fn main() {
    let o = opts();
    let vm = o
        .remote_write
        .then(|| falcon_tests::victoria::VictoriaMetrics::start().unwrap_or_else(|e| panic!("victoria-metrics: {e}")));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(run(o, vm.as_ref().map(|v| v.remote_write_url())));
}

/// A remote-write request carrying `items`, one series each, snappy-compressed.
fn remote_write_body(items: &[MetricValue]) -> Vec<u8> {
    use falcon_transfer::sender::remote_write::pb;
    let label = |n: &str, v: &str| pb::Label { name: n.into(), value: v.into() };
    let timeseries = items
        .iter()
        .map(|m| {
            let mut labels = vec![label("__name__", &m.metric.replace('.', "_")), label("hostname", &m.endpoint)];
            for (k, v) in falcon_proto::tags::parse_tags(&m.tags) {
                labels.push(label(&k, &v));
            }
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            let value = m.value.as_f64().unwrap_or(0.0);
            pb::TimeSeries { labels, samples: vec![pb::Sample { value, timestamp: m.timestamp * 1000 }] }
        })
        .collect();
    let raw = prost::Message::encode_to_vec(&pb::WriteRequest { timeseries });
    snap::raw::Encoder::new().compress_vec(&raw).expect("snappy")
}

/// Posts the batches to `/api/v1/write` on one keep-alive connection until `deadline`; returns call latencies.
async fn post_loop(
    addr: String,
    batches: Arc<Vec<Vec<u8>>>,
    accepted: Arc<AtomicU64>,
    batch: usize,
    first: usize,
    deadline: Instant,
) -> Vec<Duration> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let stream = tokio::net::TcpStream::connect(&addr).await.expect("connect to the transfer's HTTP port");
    let _ = stream.set_nodelay(true);
    let (rd, mut wr) = stream.into_split();
    let mut rd = tokio::io::BufReader::new(rd);
    let mut lat = Vec::new();
    let mut k = first;
    let mut line = String::new();
    while Instant::now() < deadline {
        let body = &batches[k % batches.len()];
        let head = format!(
            "POST /api/v1/write HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let t0 = Instant::now();
        wr.write_all(head.as_bytes()).await.expect("write head");
        wr.write_all(body).await.expect("write body");
        // Status line, headers, then Content-Length bytes of body.
        let mut status = 0;
        let mut len = 0usize;
        loop {
            line.clear();
            rd.read_line(&mut line).await.expect("read reply");
            let l = line.trim_end();
            if l.is_empty() && status != 0 {
                break;
            }
            if let Some(rest) = l.strip_prefix("HTTP/1.1 ") {
                status = rest.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
            } else if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut skip = vec![0u8; len];
        rd.read_exact(&mut skip).await.expect("read reply body");
        lat.push(t0.elapsed());
        assert_eq!(status, 204, "remote write refused: {}", String::from_utf8_lossy(&skip));
        accepted.fetch_add(batch as u64, Relaxed);
        k += 1;
    }
    lat
}

/// The transfer's remote-write delivery counter.
fn remote_written(http: &str) -> u64 {
    let body = falcon_tests::http::get(http, "/counter/extra").body;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v["data"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["Name"] == "SendToRemoteWriteCnt"))
        .and_then(|c| c["Cnt"].as_u64())
        .unwrap_or(0)
}

async fn run(o: Opts, remote_write: Option<String>) {
    let judge_count = Arc::new(AtomicU64::new(0));
    let graph_count = Arc::new(AtomicU64::new(0));
    let j: Vec<String> = vec![sink(judge_count.clone()).await, sink(judge_count.clone()).await];
    let down = Duration::from_secs(o.outage);
    let g: Vec<String> = if o.outage > 0 {
        vec![late_sink(graph_count.clone(), down).await, late_sink(graph_count.clone(), down).await]
    } else {
        vec![sink(graph_count.clone()).await, sink(graph_count.clone()).await]
    };
    let dir = std::env::temp_dir().join(format!("falcon-loadgen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut lane_opts = String::new();
    if o.queue > 0 {
        lane_opts.push_str(&format!(r#""queueSize":{},"#, o.queue));
    }
    if o.spool {
        lane_opts.push_str(&format!(r#""spool":{{"dir":"{}","maxBytes":4294967296}},"#, dir.join("spool").display()));
    }
    let outputs = match &remote_write {
        Some(url) => format!(
            r#""judge":{{"enabled":false}},"graph":{{"enabled":false}},
            "remoteWrite":{{"enabled":true,"batch":2000,"maxConns":4,"endpoints":[{{"url":"{url}"}}]}},"#
        ),
        None => format!(
            r#""judge":{{"enabled":true,"batch":200,"maxConns":32,"maxIdle":32,"replicas":500,{lane_opts}"cluster":{{"judge-00":"{}","judge-01":"{}"}}}},
            "graph":{{"enabled":true,"batch":200,"maxConns":32,"maxIdle":32,"replicas":500,{lane_opts}"cluster":{{"graph-00":"{}","graph-01":"{}"}}}},"#,
            j[0], j[1], g[0], g[1]
        ),
    };
    let cfg = format!(
        r#"{{"debug":false,"minStep":30,"http":{{"enabled":true,"listen":"127.0.0.1:0"}},"rpc":{{"enabled":true,"listen":"127.0.0.1:0"}},"socket":{{"enabled":false}},
        {outputs}"tsdb":{{"enabled":false}},"workerThreads":{}}}"#,
        o.threads
    );
    let cfg_path = dir.join("cfg.json");
    std::fs::write(&cfg_path, cfg).expect("write config");
    // FALCON_TRANSFER_BIN runs another build (A/B comparisons) under the same load.
    let bin = std::env::var_os("FALCON_TRANSFER_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_BIN_EXE_falcon-transfer")));
    let t = Daemon::start(&bin, &["-c", cfg_path.to_str().unwrap_or("cfg.json")]).expect("start transfer");
    let rpc = t.addr("rpc").to_string();

    // Pre-encoded batches over `series` distinct series, so the generator spends its CPU on the socket.
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let batches: Vec<Vec<u8>> = (0..64)
        .map(|b| {
            let items: Vec<MetricValue> = (0..o.batch)
                .map(|i| {
                    let s = (b * o.batch + i) % o.series.max(1);
                    MetricValue {
                        endpoint: format!("host-{:05}", s / 10),
                        metric: format!("metric.{}", s % 10),
                        value: GoValue::Number((b * 7 + i) as f64 * 0.5),
                        step: 60,
                        counter_type: if s.is_multiple_of(3) { "COUNTER" } else { "GAUGE" }.into(),
                        tags: format!("idx={},dc=bj", s % 4),
                        timestamp: now,
                    }
                })
                .collect();
            if o.remote_write_in {
                remote_write_body(&items)
            } else {
                gojson::to_vec(&items).expect("encode batch")
            }
        })
        .collect();
    let batches = Arc::new(batches);
    let accepted = Arc::new(AtomicU64::new(0));
    let (cpu0, _) = proc_stat(t.pid());
    let start = Instant::now();
    let deadline = start + Duration::from_secs(o.seconds);
    let mut tasks = Vec::new();
    let http_in = t.addr("http").to_string();
    for c in 0..o.conns {
        let (batches, accepted, rpc) = (batches.clone(), accepted.clone(), rpc.clone());
        let per_conn_rate = o.rate as f64 / o.conns as f64;
        let batch = o.batch;
        let rw_in = o.remote_write_in.then(|| http_in.clone());
        tasks.push(tokio::spawn(async move {
            if let Some(addr) = rw_in {
                return post_loop(addr, batches, accepted, batch, c, deadline).await;
            }
            let client = Client::new(rpc, ClientConfig::default());
            let mut lat = Vec::new();
            let mut k = c;
            let mut sent = 0u64;
            while Instant::now() < deadline {
                if per_conn_rate > 0.0 {
                    let due = start + Duration::from_secs_f64(sent as f64 / per_conn_rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                let t0 = Instant::now();
                let raw =
                    client.call_raw("Transfer.Update", &batches[k % batches.len()]).await.expect("Transfer.Update");
                lat.push(t0.elapsed());
                let r: TransferResponse = gojson::from_slice(&raw).expect("reply");
                accepted.fetch_add((r.total - r.invalid) as u64, Relaxed);
                sent += batch as u64;
                k += 1;
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for task in tasks {
        lat.extend(task.await.expect("load task"));
    }
    let send_secs = start.elapsed().as_secs_f64();
    let total = accepted.load(Relaxed);
    let http = t.addr("http").to_string();
    let spilled = {
        let h = http.clone();
        tokio::task::spawn_blocking(move || falcon_tests::util::spool_total(&h, "spilled")).await.unwrap_or(0)
    };
    // Let forwarding finish (bounded), and the outage end.
    let drain_deadline = Instant::now() + Duration::from_secs(30).max(down.saturating_sub(start.elapsed()) * 3);
    if remote_write.is_some() {
        // Both "sinks" are the remote-write endpoint here: the counter stands for judge and graph.
        while Instant::now() < drain_deadline {
            let h = http.clone();
            let n = tokio::task::spawn_blocking(move || remote_written(&h)).await.unwrap_or(0);
            judge_count.store(n, Relaxed);
            graph_count.store(n, Relaxed);
            if n >= total {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    while (judge_count.load(Relaxed) < total || graph_count.load(Relaxed) < total) && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_secs = start.elapsed().as_secs_f64();
    let replay_secs = (all_secs - o.outage as f64).max(0.0);
    let spilled = spilled.max({
        let h = http.clone();
        tokio::task::spawn_blocking(move || falcon_tests::util::spool_total(&h, "spilled")).await.unwrap_or(0)
    });
    let (cpu1, hwm_kb) = proc_stat(t.pid());
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1e3)
            .unwrap_or(0.0)
    };
    let cpu = cpu1 - cpu0;
    println!(
        "loadgen: input={} output={} outage_s={} spool={} queue={} spilled={} replay_s={:.1} threads={} conns={} batch={} seconds={} rate={} accepted={} accepted_per_s={:.0} judge_received={} graph_received={} forwarded_per_s={:.0} call_ms_p50={:.2} call_ms_p99={:.2} transfer_cpu_s={:.2} cpu_us_per_item={:.2} cpu_s_per_million={:.2} transfer_peak_rss_mb={:.1}",
        if o.remote_write_in { "remote-write(/api/v1/write)" } else { "jsonrpc(Transfer.Update)" },
        if remote_write.is_some() { "remote-write(victoria-metrics)" } else { "gob(judge+graph)" },
        o.outage,
        o.spool,
        o.queue,
        spilled,
        if o.outage > 0 { replay_secs } else { 0.0 },
        o.threads,
        o.conns,
        o.batch,
        o.seconds,
        o.rate,
        total,
        total as f64 / send_secs,
        judge_count.load(Relaxed),
        graph_count.load(Relaxed),
        judge_count.load(Relaxed).min(graph_count.load(Relaxed)) as f64 / all_secs,
        pct(0.5),
        pct(0.99),
        cpu,
        cpu / total.max(1) as f64 * 1e6,
        cpu / total.max(1) as f64 * 1e6,
        hwm_kb as f64 / 1024.0,
    );
    let _ = std::fs::remove_dir_all(&dir);
}
