//! CPU per cycle and peak RSS of the release agent, and of the Go v0.3 agent in the same run when
//! `FALCON_GO_AGENT` names its binary (`scripts/build-go-agent.sh` builds one).
//!
//! `[FALCON_GO_AGENT=/path] cargo bench -p falcon-agent --bench cycle_cost -- --secs 30 [--conns 3000]
//! [--scenarios abc] [--page]` (`--page`: our agent's page, its data and /metrics read every second during the
//! window, with its history sampled every 100 ms so that it is full)
//!
//! Each agent runs alone at a 1 s interval, plugins off, against its own in-process fake transfer and HBS, in
//! three scenarios:
//! - (a) no checks from HBS;
//! - (b) one check of each kind: a listening port, a `proc.num` rule, a `du.bs` path and a `url.check.health`
//!   URL served by this benchmark;
//! - (c) the checks of (b) while the benchmark holds `--conns` established loopback TCP connections, to show
//!   whether a cycle's cost grows with the number of sockets on the host.
//!
//! The window starts when the agent's first cycle has arrived plus one second, and lasts `--secs`. CPU is the
//! agent's utime+stime and its children's (du, curl, ss) from `/proc/<pid>/stat`; peak RSS is VmHWM at the end.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{fake_hbs, HbsState};
use falcon_proto::model::BuiltinMetric;
use falcon_tests::fake::FakeTransfer;
use falcon_tests::util::{arg, status_kb};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// (own, children) CPU seconds of `pid`.
fn cpu(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = after.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    let t = clock_ticks();
    // Fields 14-17 of stat are utime, stime, cutime, cstime; `after` starts at field 3.
    let g = |i: usize| f.get(i).copied().unwrap_or(0.0);
    ((g(11) + g(12)) / t, (g(13) + g(14)) / t)
}

/// An HTTP server answering 200 to anything, for the URL check (one thread, until the benchmark exits).
fn http_ok() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for mut s in l.incoming().map_while(Result::ok) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    addr
}

/// `n` established loopback connections (both ends held), at most 8,000.
fn hold_connections(n: usize) -> Vec<TcpStream> {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let mut held = Vec::with_capacity(2 * n);
    for _ in 0..n.min(8_000) {
        let Ok(c) = TcpStream::connect(addr) else { break };
        let Ok((s, _)) = l.accept() else { break };
        held.push(c);
        held.push(s);
    }
    held
}

fn agent_config(host: &str, hbs: &str, transfer: &str, http: Option<&str>) -> String {
    let (enabled, listen) = match http {
        Some(addr) => (true, addr),
        None => (false, "127.0.0.1:0"),
    };
    format!(
        r#"{{"debug":false,"hostname":"{host}","ip":"127.0.0.1",
        "plugin":{{"enabled":false,"dir":"./plugin","git":"","logs":"./logs"}},
        "heartbeat":{{"enabled":true,"addr":"{hbs}","interval":1,"timeout":1000}},
        "transfer":{{"enabled":true,"addrs":["{transfer}"],"interval":1,"timeout":1000}},
        "http":{{"enabled":{enabled},"listen":"{listen}","backdoor":false}},
        "collector":{{"ifacePrefix":["eth","em"],"mountPoint":[]}}}}"#
    )
}

struct Measured {
    cycles: usize,
    items: f64,
    own_ms: f64,
    child_ms: f64,
    hwm_kb: u64,
    anon_kb: u64,
    file_kb: u64,
    threads: u64,
}

/// Distinct cycle timestamps (from `agent.alive`) of `host` seen by `transfer`.
fn cycles(transfer: &FakeTransfer, host: &str) -> (BTreeSet<i64>, usize) {
    let items = transfer.items();
    let mine: Vec<_> = items.iter().filter(|m| m.endpoint == host).collect();
    (mine.iter().filter(|m| m.metric == "agent.alive").map(|m| m.timestamp).collect(), mine.len())
}

/// With `--page`, the window also has a reader of our agent's page and its data every second (what a browser
/// left open on it does), with the page's history sampled every 100 ms so that its 360 samples fill up.
fn read_pages(addr: String, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut reads = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            for path in ["/", "/ui/plot.js", "/page/agent", "/page/history", "/metrics"] {
                if falcon_tests::http::get(&addr, path).status == 200 {
                    reads += 1;
                }
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        reads
    })
}

#[allow(clippy::too_many_arguments)]
fn run_one(bin: &Path, who: &str, scenario: char, secs: u64, conns: usize, url: &str, page: bool) -> Option<Measured> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let transfer = FakeTransfer::start(&rt, "127.0.0.1:0", Default::default());
    let dir = std::env::temp_dir().join(format!("falcon-cycle-cost-{who}-{scenario}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let listening = TcpListener::bind("127.0.0.1:0").unwrap();
    let checks = match scenario {
        'a' => vec![],
        _ => vec![
            BuiltinMetric {
                metric: "net.port.listen".into(),
                tags: format!("port={}", listening.local_addr().unwrap().port()),
            },
            BuiltinMetric { metric: "proc.num".into(), tags: "name=falcon-agent".into() },
            BuiltinMetric { metric: "du.bs".into(), tags: format!("path={}", dir.display()) },
            BuiltinMetric { metric: "url.check.health".into(), tags: format!("url=http://{url}/health,timeout=3") },
        ],
    };
    let held = if scenario == 'c' { hold_connections(conns) } else { Vec::new() };
    let state = std::sync::Arc::new(std::sync::Mutex::new(HbsState { checks, ..Default::default() }));
    let (hbs, _stop) = fake_hbs(&rt, state);
    let host = format!("bench-{who}-{scenario}");
    let page_addr = page.then(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    });
    std::fs::write(dir.join("cfg.json"), agent_config(&host, &hbs, &transfer.addr, page_addr.as_deref())).unwrap();
    let mut child: Child = Command::new(bin)
        .args(["-c", "cfg.json"])
        .env("FALCON_PAGE_STEP_MS", if page { "100" } else { "10000" })
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| eprintln!("start {}: {e}", bin.display()))
        .ok()?;
    let pid = child.id();
    // The first cycle comes one interval after start; the checks arrive with the first heartbeat.
    let deadline = Instant::now() + Duration::from_secs(20);
    while cycles(&transfer, &host).0.len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    let (seen0, items0) = cycles(&transfer, &host);
    let (own0, child0) = cpu(pid);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = page_addr.map(|a| read_pages(a, stop.clone()));
    std::thread::sleep(Duration::from_secs(secs));
    let (own1, child1) = cpu(pid);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(r) = reader {
        println!("{who} ({scenario}): {} page reads answered in the window", r.join().unwrap_or(0));
    }
    let (seen1, items1) = cycles(&transfer, &host);
    let hwm_kb = status_kb(pid, "VmHWM:");
    let (anon_kb, file_kb) = (status_kb(pid, "RssAnon:"), status_kb(pid, "RssFile:"));
    let threads = status_kb(pid, "Threads:");
    let _ = child.kill();
    let _ = child.wait();
    drop(held);
    std::fs::remove_dir_all(&dir).ok();
    let n = seen1.difference(&seen0).count();
    if n == 0 {
        eprintln!("{who} ({scenario}): no cycle arrived in the window");
        return None;
    }
    Some(Measured {
        cycles: n,
        items: (items1 - items0) as f64 / n as f64,
        own_ms: (own1 - own0) * 1000.0 / n as f64,
        child_ms: (child1 - child0) * 1000.0 / n as f64,
        hwm_kb,
        anon_kb,
        file_kb,
        threads,
    })
}

fn main() {
    let secs = arg("--secs", 30);
    let conns = arg("--conns", 3000) as usize;
    let page = std::env::args().any(|a| a == "--page");
    let scenarios: Vec<char> = std::env::args()
        .skip_while(|a| a != "--scenarios")
        .nth(1)
        .unwrap_or_else(|| "abc".into())
        .chars()
        .filter(|c| matches!(c, 'a' | 'b' | 'c'))
        .collect();
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_falcon-agent"));
    let go = std::env::var_os("FALCON_GO_AGENT").map(PathBuf::from).filter(|p| p.exists());
    if go.is_none() {
        println!("FALCON_GO_AGENT not set (or missing): measuring ours only");
    }
    let url = http_ok();
    println!("agent cycle cost: {secs} s window per run, 1 s interval, {conns} connections in (c)");
    println!("| agent | scenario | cycles | items/cycle | own ms/cycle | children ms/cycle | total ms/cycle | peak RSS | RSS anon/file at end | threads |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut totals = Vec::new();
    for s in &scenarios {
        let mut row = Vec::new();
        for (who, bin) in [("rust", Some(ours.clone())), ("go", go.clone())] {
            let Some(bin) = bin else { continue };
            let Some(m) = run_one(&bin, who, *s, secs, conns, &url, page && who == "rust") else { continue };
            let total = m.own_ms + m.child_ms;
            println!(
                "| {who} | {s} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} MB | {:.1} / {:.1} MB | {} |",
                m.cycles,
                m.items,
                m.own_ms,
                m.child_ms,
                total,
                m.hwm_kb as f64 / 1000.0,
                m.anon_kb as f64 / 1000.0,
                m.file_kb as f64 / 1000.0,
                m.threads
            );
            row.push((who, total, m.hwm_kb));
        }
        totals.push((*s, row));
    }
    for (s, row) in totals {
        let get = |w: &str| row.iter().find(|r| r.0 == w).copied();
        match (get("rust"), get("go")) {
            (Some(r), Some(g)) => println!(
                "summary ({s}): rust {:.2} ms/cycle, go {:.2} ms/cycle, ratio {:.2}; peak RSS rust {:.1} MB, go {:.1} MB",
                r.1,
                g.1,
                r.1 / g.1.max(1e-9),
                r.2 as f64 / 1000.0,
                g.2 as f64 / 1000.0
            ),
            (Some(r), None) => println!("summary ({s}): rust {:.2} ms/cycle, peak RSS {:.1} MB", r.1, r.2 as f64 / 1000.0),
            _ => {}
        }
    }
}
