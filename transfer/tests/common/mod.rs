//! Helpers shared by the transfer's integration tests.
#![allow(dead_code)]

use falcon_proto::gob::{GobRegistry, GobServer, GobServerConfig};
use falcon_proto::model::{GraphItem, JudgeItem, SimpleRpcResponse};
use falcon_proto::tags;
use falcon_runtime::shutdown;
use falcon_tests::daemon::Daemon;
use falcon_tests::http;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A judge+graph gob node in its own thread, recording the PK of every item it receives.
pub struct Sink {
    /// Where it listens.
    pub addr: String,
    judge: Arc<Mutex<Vec<String>>>,
    graph: Arc<Mutex<Vec<String>>>,
    _stop: shutdown::ShutdownTrigger,
}

impl Sink {
    /// Judge items received.
    pub fn judge_count(&self) -> usize {
        self.judge.lock().unwrap().len()
    }
    /// PKs of the judge items received.
    pub fn judge_pks(&self) -> Vec<String> {
        self.judge.lock().unwrap().clone()
    }
    /// PKs of the graph items received.
    pub fn graph_pks(&self) -> Vec<String> {
        self.graph.lock().unwrap().clone()
    }
}

/// A loopback listener on a free port.
pub fn local() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

/// Serves Judge.Send and Graph.Send on `listener` until the sink is dropped.
pub fn start_sink(listener: TcpListener) -> Sink {
    let addr = listener.local_addr().unwrap().to_string();
    let judge = Arc::new(Mutex::new(Vec::new()));
    let graph = Arc::new(Mutex::new(Vec::new()));
    let (trigger, sd) = shutdown::channel();
    let (j, g) = (judge.clone(), graph.clone());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let mut r = GobRegistry::new();
            r.register("Judge.Send", move |items: Vec<JudgeItem>| {
                j.lock().unwrap().extend(items.iter().map(|i| tags::pk(&i.endpoint, &i.metric, &i.tags)));
                async move { Ok(SimpleRpcResponse { code: 0 }) }
            })
            .unwrap();
            r.register("Graph.Send", move |items: Vec<GraphItem>| {
                g.lock().unwrap().extend(items.iter().map(|i| tags::pk(&i.endpoint, &i.metric, &i.tags)));
                async move { Ok(SimpleRpcResponse { code: 0 }) }
            })
            .unwrap();
            listener.set_nonblocking(true).unwrap();
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            GobServer::new(r, GobServerConfig::default()).serve(l, sd).await;
        });
    });
    Sink { addr, judge, graph, _stop: trigger }
}

/// Writes `json` as a config file in a fresh temp directory.
pub fn temp_config(name: &str, json: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("falcon-transfer-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("cfg.json");
    std::fs::write(&p, json).unwrap();
    p
}

/// Starts the real binary with `cfg`.
pub fn transfer(cfg: &std::path::Path) -> Daemon {
    Daemon::start(std::path::Path::new(env!("CARGO_BIN_EXE_falcon-transfer")), &["-c", cfg.to_str().unwrap()]).unwrap()
}

/// A counter from `/counter/all` (or `/counter/extra` for ours).
pub fn counter(http_addr: &str, name: &str) -> i64 {
    for path in ["/counter/all", "/counter/extra"] {
        let r = http::get(http_addr, path);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        if let Some(c) = v["data"].as_array().unwrap().iter().find(|c| c["Name"] == name) {
            return c["Cnt"].as_i64().unwrap();
        }
    }
    panic!("no counter {name}")
}

/// Polls `ok` for up to 30 s.
pub fn wait_for(what: &str, ok: impl FnMut() -> bool) {
    falcon_tests::util::wait_for(what, Duration::from_secs(30), ok)
}

/// A config with the given judge and graph clusters (JSON object bodies) and extra top-level keys.
pub fn config(judge: &str, graph: &str, timeouts: &str, extra: &str) -> String {
    format!(
        r#"{{"debug":false,"minStep":30,
        "http":{{"enabled":true,"listen":"127.0.0.1:0"}},
        "rpc":{{"enabled":true,"listen":"127.0.0.1:0"}},
        "socket":{{"enabled":true,"listen":"127.0.0.1:0","timeout":3600}},
        "judge":{{"enabled":true,"batch":200,{timeouts}"maxConns":32,"maxIdle":32,"replicas":500,"cluster":{{{judge}}}}},
        "graph":{{"enabled":true,"batch":200,{timeouts}"maxConns":32,"maxIdle":32,"replicas":500,"cluster":{{{graph}}}}},
        "tsdb":{{"enabled":false}}{extra}}}"#
    )
}

/// Replaces the value of every `"Latency":<n>` with 0: it is a measured duration, the rest of the reply is
/// compared byte for byte.
pub fn mask_latency(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("\"Latency\":") {
        let start = i + "\"Latency\":".len();
        out.push_str(&rest[..start]);
        let digits = rest[start..].bytes().take_while(u8::is_ascii_digit).count();
        out.push('0');
        rest = &rest[start + digits..];
    }
    out.push_str(rest);
    out
}

/// A config with HTTP and JSON-RPC on free ports, no socket, judge and graph off, and `extra` top-level keys:
/// the base of the tests of the other outputs.
pub fn outputs_only(extra: &str) -> String {
    format!(
        r#"{{"debug":false,"minStep":30,
        "http":{{"enabled":true,"listen":"127.0.0.1:0"}},
        "rpc":{{"enabled":true,"listen":"127.0.0.1:0"}},
        "socket":{{"enabled":false}},
        "judge":{{"enabled":false}},
        "graph":{{"enabled":false}}{extra}}}"#
    )
}

/// One HTTP request a [`http_capture`] answered with 2xx.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Request line and headers, lower-cased.
    pub head: String,
    /// The body.
    pub body: Vec<u8>,
}

/// A loopback HTTP/1.1 receiver: answers the first `fail_first` requests with 503, then `status`; records every
/// request it answered with 2xx.
pub fn http_capture(fail_first: usize, status: u16) -> (String, Arc<Mutex<Vec<Captured>>>) {
    use std::io::{Read, Write};
    let l = local();
    let addr = l.local_addr().unwrap().to_string();
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    std::thread::spawn(move || {
        let mut n = 0usize;
        for mut s in l.incoming().flatten() {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            loop {
                // One request: headers, then Content-Length bytes.
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match s.read(&mut b) {
                        Ok(1) => head.push(b[0]),
                        _ => break,
                    }
                }
                if !head.ends_with(b"\r\n\r\n") {
                    break;
                }
                let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0u8; len];
                if s.read_exact(&mut body).is_err() {
                    break;
                }
                n += 1;
                let code = if n <= fail_first { 503 } else { status };
                if (200..300).contains(&code) {
                    sink.lock().unwrap().push(Captured { head, body });
                }
                let reply = format!("HTTP/1.1 {code} X\r\ncontent-length: 2\r\n\r\nno");
                if s.write_all(reply.as_bytes()).is_err() {
                    break;
                }
            }
        }
    });
    (addr, got)
}

/// The remote-write requests among `captured`, decoded (snappy, then protobuf).
pub fn remote_write_requests(captured: &[Captured]) -> Vec<falcon_transfer::sender::remote_write::pb::WriteRequest> {
    captured
        .iter()
        .map(|c| {
            assert!(
                c.head.contains("content-encoding: snappy") && c.head.contains("x-prometheus-remote-write-version")
            );
            let raw = snap::raw::Decoder::new().decompress_vec(&c.body).unwrap();
            prost::Message::decode(raw.as_slice()).unwrap()
        })
        .collect()
}

/// A config (in a temp directory named after `name`) with judge-00 and graph-00 on a live sink and graph-01 on
/// a port where nothing listens, short timeouts: the sink and graph-01's address.
pub fn config_with_a_node_down(name: &str) -> (Sink, PathBuf, String) {
    let sink = start_sink(local());
    let down = local();
    let down_addr = down.local_addr().expect("addr").to_string();
    drop(down);
    let cfg = temp_config(
        name,
        &config(
            &format!(r#""judge-00":"{}""#, sink.addr),
            &format!(r#""graph-00":"{}","graph-01":"{down_addr}""#, sink.addr),
            r#""connTimeout":300,"callTimeout":300,"#,
            "",
        ),
    );
    (sink, cfg, down_addr)
}

/// Pushes 40 valid GAUGE items (endpoints h0..h39) and 2 invalid ones (no metric; a bad counterType) through
/// `/api/push` and waits until the judge sink has the 40.
pub fn push_40_valid_2_invalid(http_addr: &str, sink: &Sink) {
    let mut items: Vec<String> = (0..40)
        .map(|i| format!(r#"{{"endpoint":"h{i}","metric":"m","value":1,"step":60,"counterType":"GAUGE","tags":"","timestamp":1795261500}}"#))
        .collect();
    items.push(r#"{"endpoint":"h","metric":"","value":1,"step":60,"counterType":"GAUGE","tags":""}"#.into());
    items.push(r#"{"endpoint":"h","metric":"x","value":1,"step":60,"counterType":"NOPE","tags":""}"#.into());
    let r = http::post_json(http_addr, "/api/push", &format!("[{}]", items.join(",")));
    assert!(r.body.contains(r#""Total":42,"Invalid":2"#), "{}", r.body);
    wait_for("all judge items delivered", || sink.judge_count() == 40);
}
