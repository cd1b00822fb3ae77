//! The HBS's page on the real binary: `/` and `/index.html` (the HTML with the shared style inlined),
//! `/ui/plot.js`, `/page/fleet` (agents heard from, hosts of the database never heard from, groups, versions,
//! staleness) and `/page/calls` (calls per second by method, sampled every second here through
//! `FALCON_PAGE_STEP_MS`).

mod common;

use common::*;
use falcon_hbs::admin::Op;
use falcon_hbs::store::Store;
use falcon_tests::http;
use serde_json::Value;
use std::time::Duration;

fn report(rpc: &str, host: &str, version: &str) {
    let req = format!(
        r#"{{"method":"Agent.ReportStatus","params":[{{"Hostname":"{host}","IP":"10.1.1.{}","AgentVersion":"{version}","PluginVersion":"plug-{host}"}}],"id":1}}"#,
        host.len()
    );
    assert!(call(rpc, &req).contains(r#""result":{"code":0}"#));
}

fn data(addr: &str, path: &str) -> Value {
    let r = http::get(addr, path);
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    assert!(r.header("content-type").unwrap_or("").starts_with("application/json"), "{path}");
    let v: Value = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", r.body));
    assert_eq!(v["msg"], "success", "{path}");
    v["data"].clone()
}

fn host<'a>(fleet: &'a Value, name: &str) -> &'a Value {
    fleet["hosts"]
        .as_array()
        .and_then(|a| a.iter().find(|h| h["hostname"] == name))
        .unwrap_or_else(|| panic!("no {name} in {fleet}"))
}

#[test]
fn page_fleet_calls_and_assets() {
    // Read once by the binary at start; this file's only test, so no other test sees it change.
    std::env::set_var("FALCON_PAGE_STEP_MS", "1000");
    let dir = temp_dir("page");
    seeded(&dir);
    {
        let db = falcon_hbs::db::Db::open(&dir.join("hbs.db")).unwrap();
        for op in [
            Op::AddHost { hostname: "never-1".into() },
            Op::AddGroup { name: "canary".into() },
            Op::GroupAddHost { group: "canary".into(), hostname: "vm".into() },
            Op::GroupAddHost { group: "canary".into(), hostname: "never-1".into() },
        ] {
            db.apply(&op).unwrap();
        }
    }
    let hbs = start(&config(&dir, ""));
    let (rpc, h) = (hbs.addr("rpc").to_string(), hbs.addr("http").to_string());
    for (name, version) in [("vm", "6.0.1"), ("vm2", "6.0.1"), ("vm3", "7.0.0")] {
        report(&rpc, name, version);
    }

    // The fleet: reported values, the database's groups, the host never heard from, versions counted.
    let f = data(&h, "/page/fleet");
    let now = f["now"].as_i64().unwrap();
    assert_eq!((f["interval"].as_i64(), f["staleAfter"].as_i64()), (Some(60), Some(180)));
    let names: Vec<&str> = f["hosts"].as_array().unwrap().iter().filter_map(|h| h["hostname"].as_str()).collect();
    assert_eq!(names, ["never-1", "vm", "vm2", "vm3"]);
    let vm = host(&f, "vm");
    assert_eq!(vm["ip"], "10.1.1.2");
    assert_eq!(vm["agentVersion"], "6.0.1");
    assert_eq!(vm["pluginVersion"], "plug-vm");
    assert!((now - vm["lastHeartbeat"].as_i64().unwrap()).abs() <= 5, "{vm}");
    assert!(vm["ageSeconds"].as_i64().unwrap() <= 5, "{vm}");
    assert_eq!(
        (&vm["stale"], &vm["never"], &vm["maintenance"]),
        (&Value::Bool(false), &Value::Bool(false), &Value::Bool(false))
    );
    assert_eq!(vm["groups"], serde_json::json!(["canary", "falcon-ref-grp"]));
    assert_eq!(host(&f, "vm3")["agentVersion"], "7.0.0");
    let never = host(&f, "never-1");
    assert_eq!(never["never"], true);
    assert_eq!(never["stale"], false);
    assert_eq!(never["lastHeartbeat"], Value::Null);
    assert_eq!(never["ageSeconds"], Value::Null);
    assert_eq!(never["ip"], "");
    assert_eq!(never["groups"], serde_json::json!(["canary"]));
    assert_eq!(f["versions"], serde_json::json!({"6.0.1": 2, "7.0.0": 1}));

    // Calls per second: once the sampler has two samples, more calls show as a positive rate.
    falcon_tests::util::wait_for("two samples", Duration::from_secs(10), || {
        data(&h, "/page/calls")["times"].as_array().is_some_and(|t| t.len() >= 2)
    });
    let calls = data(&h, "/page/calls");
    assert_eq!(calls["step"], 1);
    assert!(calls["series"]["Hbs.GetStrategies"].is_array(), "every method plotted from the start: {calls}");
    for _ in 0..5 {
        report(&rpc, "vm3", "7.0.0");
    }
    falcon_tests::util::wait_for("a rate of Agent.ReportStatus", Duration::from_secs(10), || {
        let v = data(&h, "/page/calls");
        v["series"]["Agent.ReportStatus"].as_array().is_some_and(|s| s.iter().any(|x| x.as_f64().unwrap_or(0.0) > 0.0))
    });
    let v = data(&h, "/page/calls");
    let (times, series) =
        (v["times"].as_array().unwrap().len(), v["series"]["Agent.ReportStatus"].as_array().unwrap().len());
    assert_eq!(times, series, "series aligned with times");

    // `?interval=1`: vm, silent since its one report, turns stale after 3 s; vm3 reported again later.
    let f = data(&h, "/page/fleet?interval=1");
    assert_eq!((f["interval"].as_i64(), f["staleAfter"].as_i64()), (Some(1), Some(3)));
    falcon_tests::util::wait_for("vm stale at a 1 s interval", Duration::from_secs(10), || {
        host(&data(&h, "/page/fleet?interval=1"), "vm")["stale"] == true
    });
    let f = data(&h, "/page/fleet?interval=bogus");
    assert_eq!(f["staleAfter"], 180, "a bad interval is the default");
    assert_eq!(host(&f, "vm")["stale"], false);

    // The page and the plot script.
    for path in ["/", "/index.html"] {
        let r = http::get(&h, path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"), "{path}");
        assert!(r.body.contains("<title>falcon-hbs fleet</title>"), "{path}");
        assert!(r.body.contains(r#"<script src="/ui/plot.js"></script>"#), "{path}");
        assert!(r.body.contains("falconPlot("), "{path}");
        assert!(r.body.contains("border-collapse"), "{path}: the shared style inlined");
        assert!(!r.body.contains("/*FALCON_CSS*/"), "{path}");
    }
    let js = http::get(&h, "/ui/plot.js");
    assert_eq!(js.status, 200);
    assert_eq!(js.header("content-type"), Some("text/javascript; charset=utf-8"));
    assert!(js.body.contains("window.falconPlot"));
    // Go's routes are unchanged beside them.
    assert_eq!(http::get(&h, "/health").body, "ok");
}
