//! The agent's buffer budget against the real binary: `/v1/push` bodies that never finish are answered 503
//! (budget spent, or the body stalled) and counted, buffered bytes never pass the budget, and a local script's
//! normal push is served all along.

mod common;

use common::*;
use falcon_tests::flood::{self, buffers};
use falcon_tests::http;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BUDGET: u64 = 2 << 20;
const HOSTILE: usize = 10;

#[test]
fn hostile_push_bodies_stay_within_the_budget_and_a_normal_push_is_served() {
    let rt = runtime();
    let transfer = fake_transfer(&rt, "127.0.0.1:0", Default::default());
    let (hbs, _s) = fake_hbs(&rt, Arc::new(Mutex::new(HbsState::default())));
    let dir = temp_dir("budget");
    let extra =
        format!(r#","buffers":{{"budgetBytes":{BUDGET},"maxMessageBytes":1048576,"waitMs":300,"stallSeconds":2}}"#);
    let agent = start_agent(&dir, &config(&hbs, &[&transfer.addr], r#"{"enabled":false}"#, &extra));
    let h = agent.addr("http").to_string();

    let hostiles: Vec<_> = (0..HOSTILE)
        .map(|_| {
            let h = h.clone();
            let head = flood::http_head("/v1/push", 1_000_000);
            std::thread::spawn(move || flood::partial_message(&h, &head, 900 << 10, Duration::from_secs(20)))
        })
        .collect();
    let started = Instant::now();
    let mut pushed = 0u64;
    while hostiles.iter().any(|t| !t.is_finished()) && started.elapsed() < Duration::from_secs(30) {
        let item = format!(
            r#"[{{"endpoint":"vm","metric":"budget.push","value":{pushed},"step":60,"counterType":"GAUGE","tags":"","timestamp":1795261507}}]"#
        );
        let r = http::post_json(&h, "/v1/push", &item);
        assert_eq!((r.status, r.body.as_str()), (200, "success"), "push {pushed} during the flood");
        pushed += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let outcomes: Vec<_> = hostiles.into_iter().map(|t| t.join().unwrap()).collect();
    let b = buffers(&h);
    eprintln!("after the flood: {b}; pushes served meanwhile: {pushed}");
    for o in &outcomes {
        assert!(o.closed && o.reply.starts_with("HTTP/1.1 503"), "{o:?}");
    }
    let peak = b["BufferedBytesPeak"].as_u64().unwrap();
    assert!(peak <= BUDGET && peak > BUDGET / 2, "{b}");
    let closes = b["BufferBudgetCloses"].as_u64().unwrap() + b["BufferStallCloses"].as_u64().unwrap();
    assert_eq!(closes, HOSTILE as u64, "{b}");
    assert!(pushed >= 5, "{pushed}");
    wait_for("every normal push forwarded", 15, || {
        transfer.items().iter().filter(|m| m.metric == "budget.push").count() as u64 == pushed
    });
    wait_for("budget given back", 5, || buffers(&h)["BufferedBytes"].as_u64() == Some(0));
}
