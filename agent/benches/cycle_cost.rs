//! Runs the release agent for a while at a 1 s interval against an in-process fake transfer and HBS (which
//! hands out a port, a process rule, a du path and a URL, so du and curl run every cycle as in Go's
//! measurement) and reports CPU per cycle (own and children) and peak RSS (VmHWM).
//!
//! `cargo bench -p falcon-agent --bench cycle_cost -- --secs 60`

#[path = "../tests/common/mod.rs"]
mod common;

use falcon_tests::util::{arg, status_kb};

use common::*;
use falcon_proto::model::BuiltinMetric;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
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
    ((f[11] + f[12]) / t, (f[13] + f[14]) / t)
}

fn main() {
    let secs = arg("--secs", 60);
    let rt = runtime();
    let calls: Calls = Default::default();
    let transfer = fake_transfer(&rt, "127.0.0.1:0", calls.clone());
    let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listening.local_addr().unwrap().port();
    let dir = temp_dir("bench");
    let state = Arc::new(Mutex::new(HbsState::default()));
    let (hbs, _stop) = fake_hbs(&rt, state.clone());
    let cfg =
        config(&hbs, &[&transfer.addr], r#"{"enabled":false}"#, "").replace(r#""debug":true"#, r#""debug":false"#);
    let agent = start_agent(&dir, &cfg);
    let pid = agent.pid();
    let url = format!("url=http://{}/health,timeout=3", agent.addr("http"));
    // --checks: 1 all four kinds, 0 none, 2..5 only port, proc, du or url (to see what each costs).
    let which = arg("--checks", 1) as usize;
    let all = vec![
        BuiltinMetric { metric: "net.port.listen".into(), tags: format!("port={port}") },
        BuiltinMetric { metric: "proc.num".into(), tags: "name=falcon-agent".into() },
        BuiltinMetric { metric: "du.bs".into(), tags: format!("path={}", dir.display()) },
        BuiltinMetric { metric: "url.check.health".into(), tags: url },
    ];
    state.lock().unwrap().checks = match which {
        0 => vec![],
        2..=5 => vec![all[which - 2].clone()],
        _ => all,
    };
    let rss_start = status_kb(pid, "VmRSS:");
    let (own0, child0) = cpu(pid);
    std::thread::sleep(Duration::from_secs(secs));
    let (own1, child1) = cpu(pid);
    let hwm = status_kb(pid, "VmHWM:");
    let threads = status_kb(pid, "Threads:");
    let items = transfer.items();
    let cycles: BTreeSet<i64> = items.iter().filter(|m| m.metric == "agent.alive").map(|m| m.timestamp).collect();
    let n = cycles.len().max(1) as f64;
    let per_cycle = items.len() as f64 / n;
    println!(
        "agent {secs} s at 1 s: cycles {} items/cycle {per_cycle:.0} own CPU {:.3} s ({:.2} ms/cycle) children {:.3} s ({:.2} ms/cycle) total {:.2} ms/cycle; RSS start {rss_start} kB, peak (VmHWM) {hwm} kB; threads {threads}",
        cycles.len(),
        own1 - own0,
        (own1 - own0) * 1000.0 / n,
        child1 - child0,
        (child1 - child0) * 1000.0 / n,
        ((own1 - own0) + (child1 - child0)) * 1000.0 / n,
    );
    drop(agent);
    std::fs::remove_dir_all(&dir).ok();
}
