//! falcon-hbs on the captured database answers the recorded agent and judge streams as the Go HBS did, on both
//! back ends: a SQLite file and a MariaDB `falcon_portal` made from the portal's schema.

mod common;

use common::*;
use falcon_tests::http;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const CAP: &str = "../../shared/captures";

fn read(p: &str) -> Vec<u8> {
    std::fs::read(format!("{}/{CAP}/{p}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Sends `requests` (a recorded client stream) and reads `n` reply lines.
fn replay(addr: &str, requests: &[u8], n: usize) -> Vec<String> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(requests).unwrap();
    let mut r = BufReader::new(s);
    (0..n)
        .map(|_| {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            line
        })
        .collect()
}

/// Replies keyed by id, timestamps masked, strategy lists sorted by id (Go's order is map order).
fn by_id(lines: &[String]) -> BTreeMap<String, Value> {
    lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut v: Value = serde_json::from_str(&mask_ts(l)).unwrap();
            if let Some(hs) = v.pointer_mut("/result/hostStrategies").and_then(Value::as_array_mut) {
                for h in hs {
                    if let Some(ss) = h.get_mut("strategies").and_then(Value::as_array_mut) {
                        ss.sort_by_key(|s| s["id"].as_i64());
                    }
                }
            }
            (v["id"].to_string(), v)
        })
        .collect()
}

both!(recorded_streams_get_the_recorded_replies, recorded_streams);

fn recorded_streams(backend: Backend) {
    let db = TestDb::new(backend, "captured");
    db.seed();
    let hbs = start(&db.config(""));
    let rpc = hbs.addr("rpc");

    let want = String::from_utf8(read("raw/agent-hbs/conn2.s2c.bin")).unwrap();
    let want: Vec<String> = want.lines().map(str::to_string).collect();
    let got = replay(rpc, &read("raw/agent-hbs/conn2.c2s.bin"), want.len());
    assert_eq!(by_id(&got), by_id(&want));

    let want = String::from_utf8(read("raw/judge-hbs/conn1.s2c.bin")).unwrap();
    let want: Vec<String> = want.lines().map(str::to_string).collect();
    let got = replay(rpc, &read("raw/judge-hbs/conn1.c2s.bin"), want.len());
    assert_eq!(by_id(&got), by_id(&want));

    // Byte for byte where Go's order is defined (the agent stream has no map-ordered list).
    let got =
        replay(rpc, br#"{"method":"Agent.BuiltinMetrics","params":[{"Hostname":"vm","Checksum":"nil"}],"id":3}"#, 1);
    assert_eq!(
        mask_ts(&got[0]),
        mask_ts(
            r#"{"id":3,"result":{"Metrics":[{"Metric":"du.bs","Tags":"path=/opt/falcon/data"},{"Metric":"net.port.listen","Tags":"port=13306"},{"Metric":"net.port.listen","Tags":"port=22"},{"Metric":"proc.num","Tags":"cmdline=falcon-judge"},{"Metric":"proc.num","Tags":"name=mariadbd"},{"Metric":"url.check.health","Tags":"url=http://127.0.0.1:11988/health,timeout=3"}],"Checksum":"52fa70c8a25a08cef8388dd5f602450c","Timestamp":1795261457},"error":null}"#
        ) + "\n"
    );
}

both!(crafted_edge_cases, crafted);

fn crafted(backend: Backend) {
    let db = TestDb::new(backend, "crafted");
    db.seed();
    let hbs = start(&db.config(""));
    let text = String::from_utf8(read("crafted/hbs_jsonrpc_edge_cases.txt")).unwrap();
    let mut s = TcpStream::connect(hbs.addr("rpc")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let unquote = |l: &str| -> Vec<u8> {
        // Python bytes literal b'...': only \n, \' and \\ occur in this file.
        let body = &l[2..l.len() - 1];
        body.replace("\\n", "\n").replace("\\'", "'").replace("\\\\", "\\").into_bytes()
    };
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        let Some(req) = l.strip_prefix(">>> ") else { continue };
        let want = lines.next().unwrap().strip_prefix("<<< ").unwrap();
        s.write_all(&unquote(req)).unwrap();
        if want == "b''" {
            let mut rest = Vec::new();
            let n = r.read_to_end(&mut rest).unwrap_or(0);
            assert_eq!(n, 0, "connection closed without a reply");
            break;
        }
        let mut got = String::new();
        r.read_line(&mut got).unwrap();
        assert_eq!(mask_ts(&got), mask_ts(&String::from_utf8(unquote(want)).unwrap()), "reply to {req}");
    }
}

both!(http_routes_match_the_capture, http_routes);

fn http_routes(backend: Backend) {
    let db = TestDb::new(backend, "http");
    db.seed();
    let hbs = start(&db.config(""));
    let h = hbs.addr("http");
    let body = |f: &str| {
        let t = String::from_utf8(read(&format!("http/{f}"))).unwrap();
        t.rsplit("\r\n\r\n").next().unwrap().trim_end().to_string()
    };
    for (path, file) in [
        ("/strategies", "hbs_strategies.txt"),
        ("/templates", "hbs_templates.txt"),
        ("/hosts", "hbs_hosts.txt"),
        ("/expressions", "hbs_expressions.txt"),
        ("/plugins/vm", "hbs_plugins_vm.txt"),
    ] {
        let r = http::get(h, path);
        assert_eq!(r.body, body(file), "{path}");
        assert_eq!(r.header("content-type"), Some("application/json; charset=UTF-8"));
    }
    assert_eq!(http::get(h, "/health").body, "ok");
    assert_eq!(http::get(h, "/agents").body, r#"{"msg":"success","data":[]}"#);
    replay(hbs.addr("rpc"), br#"{"method":"Agent.ReportStatus","params":[{"Hostname":"vm","IP":"127.0.0.1","AgentVersion":"5.1.2","PluginVersion":"x"}],"id":0}"#, 1);
    assert_eq!(http::get(h, "/agents").body, r#"{"msg":"success","data":["vm"]}"#);
    let reload = http::get(h, "/config/reload").body;
    assert!(reload.starts_with(r#"{"msg":"success","data":{"debug":false,"hosts":"","database":"#), "{reload}");
    // Go shows the DSN whole; ours masks its password.
    let shown: serde_json::Value = serde_json::from_str(&reload).unwrap();
    let database = shown["data"]["database"].as_str().unwrap();
    match backend {
        Backend::Mysql => assert!(database.starts_with("falcon:******@tcp(127.0.0.1:"), "{database}"),
        Backend::Sqlite => assert!(database.ends_with(".db") && !database.contains("******"), "{database}"),
    }
}

both!(an_empty_database_answers_as_go_does, empty_database);

fn empty_database(backend: Backend) {
    let db = TestDb::new(backend, "empty");
    let hbs = start(&db.config(""));
    let rpc = hbs.addr("rpc");
    // Go's GetStrategies starts from an empty slice; its expression query leaves a nil one.
    let got = replay(rpc, br#"{"method":"Hbs.GetStrategies","params":[{}],"id":1}"#, 1);
    assert_eq!(got[0], "{\"id\":1,\"result\":{\"hostStrategies\":[]},\"error\":null}\n");
    let got = replay(rpc, br#"{"method":"Hbs.GetExpressions","params":[{}],"id":2}"#, 1);
    assert_eq!(got[0], "{\"id\":2,\"result\":{\"expressions\":null},\"error\":null}\n");
    assert_eq!(http::get(hbs.addr("http"), "/expressions").body, r#"{"msg":"success","data":null}"#);
}
