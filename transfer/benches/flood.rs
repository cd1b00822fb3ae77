//! Flood bench: N connections each send one JSON-RPC message at the per-message bound into a real release
//! `falcon-transfer` on its default `buffers` (256 MiB budget, 16 MiB messages), all at once; reports the
//! transfer's peak RSS against N, and its RSS 10 s after the flood against its idle RSS.
//!
//! Run: `cargo bench -p falcon-transfer --bench flood -- [--conns 1,4,16,64,256] [--mode complete|partial]`
//! - `complete`: a whole `Transfer.Ping` padded to just under the bound; the reply is read, then the
//!   connection closed.
//! - `partial`: the same message less its last bytes, then the connection closed mid-message.
//!
//! Target (issue: bounded memory): peak RSS below budget + 64 MB whatever N, and within 20% of idle RSS 10 s
//! after the flood ends. One summary line per N.

use falcon_tests::daemon::Daemon;
use falcon_tests::flood::buffers;
use falcon_tests::util::status_kb;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MIB: f64 = (1 << 20) as f64;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

/// One message of `size` bytes: a `Transfer.Ping` whose params carry padding.
fn message(size: usize) -> Vec<u8> {
    let head = br#"{"method":"Transfer.Ping","params":[{"pad":""#;
    let tail = br#""}],"id":1}"#;
    let mut m = Vec::with_capacity(size);
    m.extend_from_slice(head);
    m.resize(size - tail.len(), b'p');
    m.extend_from_slice(tail);
    m
}

/// Sends `msg` (less its last 16 bytes when `partial`); true when a reply came (complete) or the send went
/// through (partial).
fn client(addr: &str, msg: &[u8], partial: bool) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else { return false };
    let _ = s.set_write_timeout(Some(Duration::from_secs(60)));
    let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
    let body = if partial { &msg[..msg.len() - 16] } else { msg };
    if s.write_all(body).is_err() {
        return false;
    }
    if partial {
        return true;
    }
    let mut reply = [0u8; 256];
    matches!(s.read(&mut reply), Ok(n) if n > 0 && reply[..n].starts_with(b"{\"id\":1,\"result\""))
}

fn rss_mb(pid: u32) -> f64 {
    status_kb(pid, "VmRSS:") as f64 / 1024.0
}

fn main() {
    let conns: Vec<usize> = arg("--conns")
        .unwrap_or_else(|| "1,4,16,64,256".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let partial = arg("--mode").as_deref() == Some("partial");
    let dir = std::env::temp_dir().join(format!("falcon-flood-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cfg = r#"{"debug":false,"minStep":30,"http":{"enabled":true,"listen":"127.0.0.1:0"},"rpc":{"enabled":true,"listen":"127.0.0.1:0"},"socket":{"enabled":false},"judge":{"enabled":false},"graph":{"enabled":false},"tsdb":{"enabled":false}}"#;
    let cfg_path = dir.join("cfg.json");
    std::fs::write(&cfg_path, cfg).expect("write config");
    let bin = std::env::var_os("FALCON_TRANSFER_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_BIN_EXE_falcon-transfer")));
    let t = Daemon::start(&bin, &["-c", cfg_path.to_str().unwrap_or("cfg.json")]).expect("start transfer");
    let (rpc, http) = (t.addr("rpc").to_string(), t.addr("http").to_string());
    let b = buffers(&http);
    let budget = b["BufferBudgetBytes"].as_u64().unwrap_or(0) as f64 / MIB;
    let bound = falcon_transfer::config::DEFAULT_MAX_MESSAGE as usize;
    let msg = Arc::new(message(bound - 64));
    // Warm up: one ordinary call, then let the process settle.
    assert!(client(&rpc, &message(4096), false), "warm-up ping");
    std::thread::sleep(Duration::from_secs(3));
    for n in conns {
        let idle = rss_mb(t.pid());
        let before = buffers(&http);
        let running = Arc::new(AtomicBool::new(true));
        let peak = Arc::new(AtomicU64::new(0));
        let sampler = {
            let (running, peak, pid) = (running.clone(), peak.clone(), t.pid());
            std::thread::spawn(move || {
                while running.load(Relaxed) {
                    peak.fetch_max(status_kb(pid, "VmRSS:"), Relaxed);
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        let started = Instant::now();
        let clients: Vec<_> = (0..n)
            .map(|_| {
                let (rpc, msg) = (rpc.clone(), msg.clone());
                std::thread::spawn(move || client(&rpc, &msg, partial))
            })
            .collect();
        let served = clients.into_iter().filter_map(|c| c.join().ok()).filter(|&ok| ok).count();
        let elapsed = started.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(500));
        running.store(false, Relaxed);
        let _ = sampler.join();
        std::thread::sleep(Duration::from_secs(10));
        let after = rss_mb(t.pid());
        let b = buffers(&http);
        let delta = |k: &str| b[k].as_u64().unwrap_or(0) - before[k].as_u64().unwrap_or(0);
        let peak = peak.load(Relaxed) as f64 / 1024.0;
        println!(
            "flood: mode={} conns={n} message_mb={:.1} budget_mb={budget:.0} served={served} elapsed_s={elapsed:.2} idle_rss_mb={idle:.1} peak_rss_mb={peak:.1} peak_under_budget_plus_64={} after10s_rss_mb={after:.1} after_within_20pct={} buffered_peak_mb={:.1} waits={} closes={} stalls={}",
            if partial { "partial" } else { "complete" },
            msg.len() as f64 / MIB,
            peak < budget + 64.0,
            after <= idle * 1.2,
            b["BufferedBytesPeak"].as_u64().unwrap_or(0) as f64 / MIB,
            delta("BufferBudgetWaits"),
            delta("BufferBudgetCloses"),
            delta("BufferStallCloses"),
        );
    }
    t.terminate();
}
