//! The HBS's `GET /metrics` on the real binary: promtool accepts it, calls are counted by method, agents are
//! counted by version, the cache's age and sizes show, and a refused config reload (SIGHUP) is counted.

mod common;

use common::*;
use falcon_tests::http;
use falcon_tests::promtool::{sample, scrape};
use std::time::Duration;

#[test]
fn metrics_count_calls_agents_cache_and_reload_failures() {
    let dir = temp_dir("metrics");
    seeded(&dir);
    let cfg = config(&dir, "");
    let hbs = start(&cfg);
    let (rpc, h) = (hbs.addr("rpc").to_string(), hbs.addr("http").to_string());
    for (host, version) in [("vm", "6.0.1"), ("vm2", "6.0.1"), ("vm3", "7.0.0")] {
        let report = format!(
            r#"{{"method":"Agent.ReportStatus","params":[{{"Hostname":"{host}","IP":"127.0.0.1","AgentVersion":"{version}","PluginVersion":"p"}}],"id":1}}"#
        );
        assert!(call(&rpc, &report).contains(r#""result":{"code":0}"#));
    }
    let builtin = r#"{"method":"Agent.BuiltinMetrics","params":[{"Hostname":"vm","Checksum":"nil"}],"id":2}"#;
    assert!(call(&rpc, builtin).contains(r#""id":2,"result""#));

    let text = scrape(&h);
    let v = |s: &str| sample(&text, s).unwrap_or_else(|| panic!("no sample {s} in\n{text}"));
    assert_eq!(v(r#"falcon_hbs_rpc_calls_total{method="Agent.ReportStatus"}"#), 3.0);
    assert_eq!(v(r#"falcon_hbs_rpc_calls_total{method="Agent.BuiltinMetrics"}"#), 1.0);
    assert_eq!(v(r#"falcon_hbs_rpc_duration_seconds_count{method="Agent.BuiltinMetrics"}"#), 1.0);
    assert_eq!(v(r#"falcon_hbs_agents_by_version{version="6.0.1"}"#), 2.0);
    assert_eq!(v(r#"falcon_hbs_agents_by_version{version="7.0.0"}"#), 1.0);
    assert_eq!(v("falcon_hbs_agents"), 3.0);
    assert_eq!(v("falcon_hbs_agents_stale"), 0.0);
    assert!(v(r#"falcon_hbs_cache_rows{table="hosts"}"#) >= 1.0);
    assert!(v("falcon_hbs_cache_age_seconds") <= 5.0);
    assert_eq!(v("falcon_hbs_cache_reload_failures_total"), 0.0);
    assert_eq!(v(r#"falcon_hbs_db_errors_total{op="load"}"#), 0.0);
    assert_eq!(v("falcon_hbs_config_reload_failures_total"), 0.0);

    // A broken config file and SIGHUP: refused, counted, and the HBS answers on.
    std::fs::write(&cfg, "{ broken").expect("break the config");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(hbs.pid() as i32), nix::sys::signal::Signal::SIGHUP)
        .expect("SIGHUP");
    falcon_tests::util::wait_for("the refused reload counted", Duration::from_secs(10), || {
        sample(&http::get(&h, "/metrics").body, "falcon_hbs_config_reload_failures_total") == Some(1.0)
    });
    assert!(hbs.log().contains("config reload failed; the running config stays"));
    assert!(call(&rpc, builtin).contains(r#""id":2,"result""#));
}
