//! The :1988 API over the wire: Go's paths, envelopes and status codes.

mod common;

use common::*;
use falcon_tests::http;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[test]
fn routes_envelopes_and_exit() {
    let rt = runtime();
    let transfer = fake_transfer(&rt, "127.0.0.1:0", Default::default());
    let dir = temp_dir("http");
    let state = Arc::new(Mutex::new(HbsState { trustable: "10.1.1.1,127.0.0.1".into(), ..Default::default() }));
    let (hbs, _s) = fake_hbs(&rt, state);
    let cfg = config(&hbs, &[&transfer.addr], r#"{"enabled":false}"#, "");
    let mut agent = start_agent(&dir, &cfg);
    let h = agent.addr("http").to_string();

    let r = http::get(&h, "/health");
    assert_eq!((r.status, r.body.as_str(), r.header("content-type")), (200, "ok", Some("text/plain; charset=utf-8")));
    assert_eq!(http::get(&h, "/version").body, env!("CARGO_PKG_VERSION"));
    assert_eq!(http::get(&h, "/ips").body, r#"{"msg":"success","data":null}"#, "null before the first sync");
    wait_for("trustable ips", 10, || http::get(&h, "/ips").body.contains("10.1.1.1"));
    assert_eq!(http::get(&h, "/ips").body, r#"{"msg":"success","data":["10.1.1.1","127.0.0.1"]}"#);

    // /v1/push: Go's texts for blank and undecodable bodies.
    let r = http::request(&h, "POST", "/v1/push", Some(b""), "application/json").unwrap();
    assert_eq!((r.status, r.body.as_str()), (400, "body is blank\n"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let r = http::post_json(&h, "/v1/push", "[{");
    assert_eq!((r.status, r.body.as_str()), (400, "connot decode body\n"));
    // A body that goes wrong early is refused at once, not after the megabyte it announced.
    {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&h).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n[{\"endpoint\" 1").unwrap();
        let mut reply = [0u8; 512];
        let n = s.read(&mut reply).expect("an answer before the body is complete");
        let reply = String::from_utf8_lossy(&reply[..n]).to_string();
        assert!(reply.starts_with("HTTP/1.1 400") && reply.ends_with("connot decode body\n"), "{reply}");
    }
    let good = r#"{"endpoint":"vm","metric":"peer.push.gauge","value":1.5,"step":60,"counterType":"GAUGE","tags":"a=b","timestamp":1795261507}"#;
    let r = http::post_json(&h, "/v1/push", &format!("[{good}]"));
    assert_eq!((r.status, r.body.as_str()), (200, "success"));
    let bad = r#"{"endpoint":"","metric":"x","timestamp":0,"step":10,"value":1,"counterType":"GAUGE","tags":""}"#;
    let r = http::post_json(&h, "/v1/push", &format!("[{bad},{good},null]"));
    assert_eq!(r.status, 400);
    assert!(r.body.starts_with("2 of 3 items invalid, 1 accepted: item 0: empty endpoint; item 2: null"), "{}", r.body);
    wait_for("pushed items", 10, || {
        transfer.items().iter().filter(|m| m.metric == "peer.push.gauge" && m.timestamp == 1795261507).count() == 2
    });
    assert!(!transfer.items().iter().any(|m| m.metric == "x"));

    // Config and the guarded routes (the caller is loopback, so trusted).
    let reload = http::get(&h, "/config/reload").body;
    let expected = falcon_agent::config::Config::from_bytes(cfg.as_bytes(), "t").unwrap().to_go_json();
    assert_eq!(reload, format!(r#"{{"msg":"success","data":{}}}"#, String::from_utf8(expected).unwrap()));
    std::fs::write(dir.join("cfg.json"), "{broken").unwrap();
    let r = http::get(&h, "/config/reload").body;
    assert!(r.starts_with(r#"{"msg":"reload failed, running config kept: "#), "{r}");
    assert_eq!(http::get(&h, "/run").body, "/run disabled");

    // Host routes.
    wait_for("cpu samples", 5, || http::get(&h, "/proc/cpu/usage").body.contains("\"busy\":"));
    let cpu: serde_json::Value = serde_json::from_str(&http::get(&h, "/proc/cpu/usage").body).unwrap();
    let keys: Vec<&String> = cpu["data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["busy", "guest", "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"]);
    let page_cpu: serde_json::Value = serde_json::from_str(&http::get(&h, "/page/cpu/usage").body).unwrap();
    assert!(page_cpu["data"][0][0].as_str().unwrap().ends_with('%'));
    let mem: serde_json::Value = serde_json::from_str(&http::get(&h, "/page/memory").body).unwrap();
    assert_eq!(mem["data"].as_array().unwrap().len(), 3);
    let pm: serde_json::Value = serde_json::from_str(&http::get(&h, "/proc/memory").body).unwrap();
    assert_eq!(
        pm["data"]["total"].as_u64().unwrap(),
        pm["data"]["free"].as_u64().unwrap() + pm["data"]["used"].as_u64().unwrap()
    );
    let load: serde_json::Value = serde_json::from_str(&http::get(&h, "/proc/system/loadavg").body).unwrap();
    assert!(load["data"]["TotalProcesses"].as_i64().unwrap() > 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&http::get(&h, "/page/system/loadavg").body).unwrap()["data"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(http::get(&h, "/page/system/uptime").body.contains(" days "));
    assert!(http::get(&h, "/proc/system/uptime").body.contains("\"mins\":"));
    let date = http::get(&h, "/system/date").body;
    assert_eq!(date.len(), r#"{"msg":"success","data":"2026-11-21 11:45:07"}"#.len(), "{date}");
    assert_eq!(http::get(&h, "/proc/kernel/hostname").body, r#"{"msg":"success","data":"agent-it"}"#);
    assert!(http::get(&h, "/proc/kernel/maxfiles").body.starts_with(r#"{"msg":"success","data":"#));
    assert!(http::get(&h, "/proc/kernel/version")
        .body
        .contains(&std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap().trim().to_string()));
    assert!(http::get(&h, "/proc/cpu/num").body.starts_with(r#"{"msg":"success","data":"#));
    assert!(http::get(&h, "/page/df").body.starts_with(r#"{"msg":"success","data":["#));
    assert!(http::get(&h, "/page/diskio").body.starts_with(r#"{"msg":"success","data":"#));
    assert!(http::get(&h, "/workdir").body.starts_with(r#"{"msg":"success","data":"/"#));
    assert!(http::get(&h, "/counter/collectors").body.contains("\"cpu\":{\"ok\":"));
    let root = http::get(&h, "/");
    assert!(root.status == 200 && root.body.contains("falcon-agent"));
    let r = http::get(&h, "/no/such/page");
    assert_eq!((r.status, r.body.as_str()), (404, "404 page not found\n"));

    // /exit: replies, then the process exits cleanly a second later.
    assert_eq!(http::get(&h, "/exit").body, "exiting...");
    let status = agent.wait(Duration::from_secs(10)).expect("agent exits after /exit");
    assert!(status.success());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn backdoor_run_for_trusted_callers() {
    let rt = runtime();
    let transfer = fake_transfer(&rt, "127.0.0.1:0", Default::default());
    let dir = temp_dir("run");
    let (hbs, _s) = fake_hbs(&rt, Default::default());
    let cfg = config(&hbs, &[&transfer.addr], r#"{"enabled":false}"#, "")
        .replace(r#""backdoor":false"#, r#""backdoor":true"#);
    let agent = start_agent(&dir, &cfg);
    let h = agent.addr("http");
    assert_eq!(http::request(h, "POST", "/run", Some(b"echo hi"), "text/plain").unwrap().body, "hi\n");
    let r = http::request(h, "POST", "/run", Some(b""), "text/plain").unwrap();
    assert_eq!((r.status, r.body.as_str()), (400, "body is blank\n"));
    assert!(http::request(h, "POST", "/run", Some(b"exit 3"), "text/plain").unwrap().body.starts_with("exec fail: "));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_configs_are_refused_with_the_key() {
    let dir = temp_dir("badcfg");
    let path = dir.join("cfg.json");
    std::fs::write(&path, r#"{"transfer":{"interval":-1}}"#).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_falcon-agent"))
        .args(["-c", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("transfer.interval"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_falcon-agent")).arg("-v").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), env!("CARGO_PKG_VERSION"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_falcon-agent"))
        .args(["-check", "-c", dir.join("missing.json").to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cpu              ... ok") && text.contains("memory           ... ok"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn admin_routes_take_a_bearer_token_and_can_require_it() {
    let rt = runtime();
    let transfer = fake_transfer(&rt, "127.0.0.1:0", Default::default());
    let dir = temp_dir("token");
    let state = Arc::new(Mutex::new(HbsState { trustable: "127.0.0.1".into(), ..Default::default() }));
    let (hbs, _s) = fake_hbs(&rt, state);
    let http_cfg = r#","http":{"enabled":true,"listen":"127.0.0.1:0","token":"ag-t0k3n-zz","tokenRequired":true}"#;
    let plugin = r#"{"enabled":false,"git":"https://pl-user:git-s3cret@git.example/plugins.git"}"#;
    let cfg = config(&hbs, &[&transfer.addr], plugin, http_cfg);
    let agent = start_agent(&dir, &cfg);
    let h = agent.addr("http").to_string();
    let with = |token: &str, path: &str| {
        let auth = format!("Bearer {token}");
        http::request_with(&h, "GET", path, None, "text/plain", &[("Authorization", auth.as_str())]).unwrap()
    };
    for path in ["/plugin/update", "/plugin/reset", "/config/reload", "/exit"] {
        assert_eq!(http::get(&h, path).body, "no privilege", "{path}: loopback is not enough when required");
        assert_eq!(with("wrong", path).body, "no privilege", "{path}");
    }
    assert_eq!(with("ag-t0k3n-zz", "/plugin/update").body, "plugin not enabled", "let in");
    let r = with("ag-t0k3n-zz", "/config/reload");
    assert!(r.body.starts_with(r#"{"msg":"success","data":{"#), "{}", r.body);
    assert!(!r.body.contains("ag-t0k3n-zz"), "the token is never shown: {}", r.body);
    assert!(r.body.contains(r#""git":"https://pl-user:******@git.example/plugins.git""#), "{}", r.body);
    assert!(!r.body.contains("git-s3cret"), "a repository URL's password is not shown: {}", r.body);
    assert!(!agent.log().contains("ag-t0k3n-zz"), "the token is never logged");
}
