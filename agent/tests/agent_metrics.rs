//! The agent's `GET /metrics` on the real binary against fake HBS and transfer peers: promtool accepts it,
//! collectors, sends, HBS calls (answered and not) and shell checks are counted.

mod common;

use common::*;
use falcon_tests::http;
use falcon_tests::promtool::{sample, scrape};
use std::sync::{Arc, Mutex};

#[test]
fn metrics_count_collectors_sends_hbs_calls_and_checks() {
    let rt = runtime();
    let transfer = fake_transfer(&rt, "127.0.0.1:0", Default::default());
    let (hbs, _s) = fake_hbs(&rt, Arc::new(Mutex::new(HbsState::default())));
    let dir = temp_dir("metrics");
    let ok = script(&dir, "ok.sh", "#!/bin/sh\necho 1\n");
    // A check that outlives its timeout fails (a non-zero exit is a result, as for Nagios-style checks).
    let bad = script(&dir, "bad.sh", "#!/bin/sh\nsleep 5\n");
    let extra = format!(
        r#","checks":[{{"metric":"app.ok","command":["{ok}"],"interval":1,"timeout":2000}},
                     {{"metric":"app.bad","command":["{bad}"],"interval":1,"timeout":300}}]"#
    );
    let agent = start_agent(&dir, &config(&hbs, &[&transfer.addr], r#"{"enabled":false}"#, &extra));
    let h = agent.addr("http").to_string();
    wait_for("a cycle delivered", 20, || transfer.items().iter().any(|m| m.metric == "cpu.idle"));
    wait_for("both checks ran", 20, || {
        let t = http::get(&h, "/metrics").body;
        sample(&t, r#"falcon_agent_check_runs_total{check="app.bad",outcome="failed"}"#).is_some_and(|n| n >= 1.0)
            && sample(&t, r#"falcon_agent_check_runs_total{check="app.ok",outcome="ok"}"#).is_some_and(|n| n >= 1.0)
    });
    wait_for("BuiltinMetrics answered", 20, || {
        sample(
            &http::get(&h, "/metrics").body,
            r#"falcon_agent_hbs_calls_total{method="Agent.BuiltinMetrics",outcome="ok"}"#,
        )
        .is_some_and(|n| n >= 1.0)
    });

    let text = scrape(&h);
    let v = |s: &str| sample(&text, s).unwrap_or_else(|| panic!("no sample {s} in\n{text}"));
    assert!(v(r#"falcon_agent_collector_runs_total{collector="cpu",outcome="ok"}"#) >= 1.0);
    assert!(v(r#"falcon_agent_collector_duration_seconds_total{collector="cpu"}"#) > 0.0);
    assert!(v("falcon_agent_sent_items_total") >= 1.0);
    assert!(v("falcon_agent_sent_batches_total") >= 1.0);
    assert_eq!(v("falcon_agent_dropped_items_total"), 0.0);
    assert!(v(r#"falcon_agent_hbs_calls_total{method="Agent.ReportStatus",outcome="ok"}"#) >= 1.0);
    assert!(v("falcon_agent_hbs_last_success_timestamp_seconds") > 1.7e9);
    assert!(v("falcon_agent_buffer_budget_bytes") > 0.0);
    assert!(v("process_resident_memory_bytes") > 0.0);

    // HBS gone: the calls are counted as errors.
    drop(_s);
    wait_for("HBS calls failing", 30, || {
        sample(
            &http::get(&h, "/metrics").body,
            r#"falcon_agent_hbs_calls_total{method="Agent.ReportStatus",outcome="error"}"#,
        )
        .is_some_and(|n| n >= 1.0)
    });
}
