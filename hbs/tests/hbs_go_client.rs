//! A standard-library Go jsonrpc client, as agent and as judge, against falcon-hbs on the captured database.

mod common;

use common::*;
use falcon_tests::go::GoProcess;
use serde_json::Value;
use std::time::Duration;

#[test]
fn go_agent_and_judge_calls() {
    let dir = temp_dir("go-client");
    let cfg = config(&dir, "");
    seeded(&dir);
    let hbs = start(&cfg);
    let mut go = GoProcess::start(&["hbs-client", "-addr", hbs.addr("rpc")]);
    let lines: Vec<String> = (0..7).map(|_| go.line()).collect();
    assert!(go.wait(Duration::from_secs(30)), "Go client failed: {lines:?}");
    assert_eq!(lines[0], r#"{"code":0}"#);
    assert_eq!(
        lines[1],
        r#"{"Metrics":[{"Metric":"du.bs","Tags":"path=/opt/falcon/data"},{"Metric":"net.port.listen","Tags":"port=13306"},{"Metric":"net.port.listen","Tags":"port=22"},{"Metric":"proc.num","Tags":"cmdline=falcon-judge"},{"Metric":"proc.num","Tags":"name=mariadbd"},{"Metric":"url.check.health","Tags":"url=http://127.0.0.1:11988/health,timeout=3"}],"Checksum":"52fa70c8a25a08cef8388dd5f602450c","Timestamp":0}"#
    );
    assert_eq!(lines[2], r#"{"Metrics":[],"Checksum":"52fa70c8a25a08cef8388dd5f602450c","Timestamp":0}"#);
    assert_eq!(lines[3], r#"{"Plugins":["sys/args/20_args.sh(hello,world)","sys/demo"],"Timestamp":0}"#);
    assert_eq!(lines[4], r#""127.0.0.1""#);
    let st: Value = serde_json::from_str(&lines[5]).unwrap();
    let hs = st["hostStrategies"].as_array().unwrap();
    assert_eq!(hs.len(), 1);
    assert_eq!(hs[0]["hostname"], "vm");
    let ss = hs[0]["strategies"].as_array().unwrap();
    let ids: Vec<i64> = ss.iter().map(|s| s["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert!(ss.iter().all(|s| s["tpl"]["id"] == 2), "inherited strategies carry the leaf template");
    assert_eq!(
        lines[6],
        r#"{"expressions":[{"id":1,"metric":"agent.alive","tags":{"endpoint":"vm"},"func":"all(#1)","operator":"==","rightValue":1,"maxStep":3,"priority":4,"note":"agent alive (demo expression, always fires)","actionId":1}]}"#
    );
    std::fs::remove_dir_all(&dir).ok();
}
