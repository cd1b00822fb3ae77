//! The buffer budget against the real binary: many connections each sending a large message and then holding
//! it open, while a normal agent keeps pushing its cycle. Buffered bytes never pass the budget (its peak gauge
//! is exact), every hostile connection is closed with a counted reason, and the normal client is served all
//! along.

mod common;

use common::{config, counter, local, start_sink, temp_config, transfer, wait_for};
use falcon_tests::flood::{self, buffers};
use falcon_tests::http;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BUDGET: u64 = 8 << 20;
const HOSTILE: usize = 40;

/// Sends the start of a 1.5 MiB message and never finishes it; true once the transfer has closed the
/// connection, without a reply (within 20 s).
fn hostile(rpc: String) -> bool {
    let o = flood::partial_message(&rpc, flood::RPC_HEAD, 1536 << 10, Duration::from_secs(20));
    o.closed && o.reply.is_empty()
}

/// One Go-agent-sized `Transfer.Update` (150 items, about 30 KB) on `s`; true when the reply says all 150 came.
fn agent_cycle(s: &mut TcpStream, id: usize) -> bool {
    let items: Vec<String> = (0..150)
        .map(|i| {
            format!(
                r#"{{"endpoint":"normal-host","metric":"agent.cycle.metric.with.a.longer.name.{i}","value":{id},"step":60,"counterType":"GAUGE","tags":"idc=test,service=budget,instance=a-fairly-long-instance-name-{i}","timestamp":{}}}"#,
                1_795_261_500 + id as i64 * 60
            )
        })
        .collect();
    let req = format!(r#"{{"method":"Transfer.Update","params":[[{}]],"id":{id}}}"#, items.join(","));
    assert!(req.len() > 25_000, "{}", req.len());
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut reply = Vec::new();
    let mut b = [0u8; 1024];
    while !reply.ends_with(b"\n") {
        match s.read(&mut b) {
            Ok(0) | Err(_) => return false,
            Ok(n) => reply.extend_from_slice(&b[..n]),
        }
    }
    String::from_utf8_lossy(&reply).contains(r#""Total":150"#)
}

#[test]
fn hostile_partial_messages_stay_within_the_budget_and_a_normal_agent_is_served() {
    let sink = start_sink(local());
    let nodes = format!(r#""n":"{}""#, sink.addr);
    let extra =
        format!(r#","buffers":{{"budgetBytes":{BUDGET},"maxMessageBytes":2097152,"waitMs":500,"stallSeconds":2}}"#);
    let cfg = temp_config("budget", &config(&nodes, &nodes, "", &extra));
    let t = transfer(&cfg);
    let (h, rpc) = (t.addr("http").to_string(), t.addr("rpc").to_string());

    let flooding = Arc::new(AtomicBool::new(true));
    let hostiles: Vec<_> = (0..HOSTILE)
        .map(|_| {
            let rpc = rpc.clone();
            std::thread::spawn(move || hostile(rpc))
        })
        .collect();
    let watcher = {
        let (h, flooding) = (h.clone(), flooding.clone());
        std::thread::spawn(move || {
            let mut most = 0;
            while flooding.load(Ordering::Relaxed) {
                most = most.max(buffers(&h)["BufferedBytes"].as_u64().unwrap());
                std::thread::sleep(Duration::from_millis(10));
            }
            most
        })
    };

    // The agent pushes its cycle over one connection every 100 ms for as long as the hostile ones hold on.
    let mut agent = TcpStream::connect(&rpc).unwrap();
    agent.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let mut cycles = 0;
    while hostiles.iter().any(|h| !h.is_finished()) && started.elapsed() < Duration::from_secs(60) {
        assert!(agent_cycle(&mut agent, cycles), "cycle {cycles} not served during the flood");
        cycles += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let closed = hostiles.into_iter().filter_map(|h| h.join().ok()).filter(|&c| c).count();
    flooding.store(false, Ordering::Relaxed);
    let most_seen = watcher.join().unwrap();

    let b = buffers(&h);
    eprintln!("after the flood: {b}; agent cycles served: {cycles}; most sampled: {most_seen}");
    assert_eq!(closed, HOSTILE, "every hostile connection is closed: {b}");
    let (peak, waits) = (b["BufferedBytesPeak"].as_u64().unwrap(), b["BufferBudgetWaits"].as_u64().unwrap());
    let closes = b["BufferBudgetCloses"].as_u64().unwrap() + b["BufferStallCloses"].as_u64().unwrap();
    assert!(peak <= BUDGET && most_seen <= BUDGET, "peak {peak}, sampled {most_seen}");
    assert!(peak > BUDGET / 2, "the flood did fill the budget: {b}");
    assert!(waits > 0, "readers had to wait: {b}");
    assert_eq!(closes, HOSTILE as u64, "each closed with a counted reason: {b}");
    wait_for("the closes logged", || t.log().contains("buffer budget: closing"));
    assert!(cycles >= 5, "{cycles}");
    wait_for("budget given back", || buffers(&h)["BufferedBytes"].as_u64() == Some(0));
    wait_for("every cycle delivered", || sink.judge_count() == cycles * 150);
    assert_eq!(counter(&h, "RecvCnt"), (cycles * 150) as i64);

    // HTTP: a push body that stops half way is given up after the stall timeout, with 503, and counted.
    let stalls = buffers(&h)["BufferStallCloses"].as_u64().unwrap();
    let o = flood::partial_message(&h, &flood::http_head("/api/push", 200_000), 100_000, Duration::from_secs(10));
    let reply = o.reply;
    assert!(o.closed && reply.starts_with("HTTP/1.1 503"), "{reply}");
    assert!(reply.contains("no byte of the body for 2s"), "{reply}");
    assert_eq!(buffers(&h)["BufferStallCloses"].as_u64().unwrap(), stalls + 1);
    // And a body over maxMessageBytes is refused as before.
    let big = format!("[{}]", "0,".repeat(1_100_000).trim_end_matches(','));
    assert_eq!(http::post_json(&h, "/api/push", &big).status, 413);
}
