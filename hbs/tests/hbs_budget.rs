//! The HBS's buffer budget against the real binary: hostile connections sending large JSON-RPC messages they
//! never finish are closed with a counted reason, buffered bytes never pass the budget, and agents' calls are
//! answered all along.

mod common;

use common::*;
use falcon_tests::flood::{self, buffers};
use std::time::{Duration, Instant};

const BUDGET: u64 = 2 << 20;
const HOSTILE: usize = 12;
const BUILTIN_VM: &str = r#"{"method":"Agent.BuiltinMetrics","params":[{"Hostname":"vm","Checksum":"nil"}],"id":1}"#;

#[test]
fn hostile_partial_messages_stay_within_the_budget_and_agents_are_answered() {
    let dir = temp_dir("budget");
    seeded(&dir);
    let extra =
        format!(r#","buffers":{{"budgetBytes":{BUDGET},"maxMessageBytes":1048576,"waitMs":300,"stallSeconds":2}}"#);
    let hbs = start(&config(&dir, &extra));
    let (rpc, h) = (hbs.addr("rpc").to_string(), hbs.addr("http").to_string());

    let hostiles: Vec<_> = (0..HOSTILE)
        .map(|_| {
            let rpc = rpc.clone();
            std::thread::spawn(move || {
                flood::partial_message(&rpc, flood::RPC_HEAD, 900 << 10, Duration::from_secs(20))
            })
        })
        .collect();
    let started = Instant::now();
    let mut answered = 0;
    while hostiles.iter().any(|t| !t.is_finished()) && started.elapsed() < Duration::from_secs(30) {
        assert!(call(&rpc, BUILTIN_VM).contains(r#""id":1,"result""#), "call {answered} not answered");
        answered += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let outcomes: Vec<_> = hostiles.into_iter().map(|t| t.join().unwrap()).collect();
    let b = buffers(&h);
    eprintln!("after the flood: {b}; calls answered meanwhile: {answered}");
    assert!(outcomes.iter().all(|o| o.closed && o.reply.is_empty()), "{outcomes:?}");
    let peak = b["BufferedBytesPeak"].as_u64().unwrap();
    assert!(peak <= BUDGET && peak > BUDGET / 2, "{b}");
    let closes = b["BufferBudgetCloses"].as_u64().unwrap() + b["BufferStallCloses"].as_u64().unwrap();
    assert_eq!(closes, HOSTILE as u64, "{b}");
    assert!(b["BufferBudgetWaits"].as_u64().unwrap() > 0, "{b}");
    assert!(answered >= 5, "{answered}");
    assert_eq!(b["BufferedBytes"].as_u64(), Some(0), "{b}");
    // A message over the bound closes its connection at once, as before.
    let o = flood::partial_message(&rpc, flood::RPC_HEAD, 1100 << 10, Duration::from_secs(10));
    assert!(o.closed && o.reply.is_empty(), "{o:?}");
    falcon_tests::util::wait_for("the oversize close logged", Duration::from_secs(10), || {
        hbs.log().contains("message larger than 1048576 bytes")
    });
}
