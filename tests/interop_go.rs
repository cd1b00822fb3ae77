//! Interop with Go itself (standard library peers built from tests/go/interop):
//! 1. a Go jsonrpc client calling our JSON-RPC server, concurrently, errors included;
//! 2. our JSON-RPC client calling a Go jsonrpc server;
//! 3. our gob client calling a Go `rpc.ServeConn` server with Judge.Send and Graph.Send, the Go side checking
//!    every field of every item;
//! 4. a Go gob client calling our gob server.
//!
//! Plus our JSON encoder against `json.Marshal`, byte for byte.

use falcon_base::shutdown;
use falcon_proto::gob::{GobCallError, GobClient, GobRegistry, GobServerConfig};
use falcon_proto::gojson;
use falcon_proto::jsonrpc::{self, CallError, Client, ClientConfig, Registry, ServerConfig};
use falcon_proto::model::{
    AgentReportRequest, GoValue, GraphItem, JudgeItem, MetricValue, NullRpcRequest, SimpleRpcResponse, TransferResponse,
};
use falcon_proto::pool::{ConnPool, GobDialer, PoolCallError, PoolConfig};
use falcon_tests::gen::{self, BASE_TS};
use falcon_tests::go::GoProcess;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

fn metrics_eq(a: &MetricValue, b: &MetricValue) -> bool {
    let values_eq = match (&a.value, &b.value) {
        (GoValue::Number(x), GoValue::Number(y)) => gen::same_float(*x, *y),
        (x, y) => x == y,
    };
    values_eq
        && (&a.endpoint, &a.metric, a.step, &a.counter_type, &a.tags, a.timestamp)
            == (&b.endpoint, &b.metric, b.step, &b.counter_type, &b.tags, b.timestamp)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_jsonrpc_client_calls_our_server() {
    let mut r = Registry::new();
    r.register("Echo.Metrics", |v: Vec<Option<MetricValue>>| async move { Ok(v) }).unwrap();
    r.register("Test.Count", |v: Vec<Option<MetricValue>>| async move {
        let invalid = v.iter().filter(|m| m.is_none()).count() as i64;
        Ok(TransferResponse { message: "ok".into(), total: v.len() as i64, invalid, latency: 0 })
    })
    .unwrap();
    r.register("Test.Fail", |_: NullRpcRequest| async move { Err::<SimpleRpcResponse, _>("boom <&>".to_string()) })
        .unwrap();
    r.register("Agent.ReportStatus", |a: AgentReportRequest| async move {
        Ok(SimpleRpcResponse { code: i64::from(a.hostname.is_empty()) })
    })
    .unwrap();
    r.register("Agent.TrustableIps", |_: NullRpcRequest| async move { Ok("127.0.0.1".to_string()) }).unwrap();
    let (_trigger, sd) = shutdown::channel();
    let (addr, server) = jsonrpc::server::spawn("127.0.0.1:0", r, ServerConfig::default(), sd).await.unwrap();
    let out = tokio::task::spawn_blocking(move || {
        let mut go = GoProcess::start(&["jsonrpc-client", "-addr", &addr.to_string(), "-n", "40", "-conc", "8"]);
        let ok = go.wait(Duration::from_secs(60));
        (ok, go.rest())
    })
    .await
    .unwrap();
    assert!(out.0, "Go client failed: {}", out.1);
    assert!(out.1.starts_with("OK calls="), "{}", out.1);
    assert!(server.stats().calls.load(SeqCst) >= 8 * 40 * 2 + 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_jsonrpc_client_calls_a_go_server() {
    let mut go = GoProcess::start(&["jsonrpc-server"]);
    let addr = go.listen_addr();
    let c = Arc::new(Client::new(addr, ClientConfig::default()));
    for b in 0..50 {
        let sent: Vec<Option<MetricValue>> =
            (b * 9..b * 9 + 9).map(|i| if i % 9 == 4 { None } else { Some(gen::metric(i)) }).collect();
        let got: Vec<Option<MetricValue>> = c.call("Echo.Metrics", &sent).await.unwrap();
        assert_eq!(got.len(), sent.len());
        for (g, s) in got.iter().zip(&sent) {
            match (g, s) {
                (Some(g), Some(s)) => assert!(metrics_eq(g, s), "echo differs:\n{g:?}\n{s:?}"),
                (None, None) => {}
                _ => panic!("nil mismatch"),
            }
        }
    }
    // Overlapping calls on one connection, replies matched by id whatever their order.
    let mut tasks = Vec::new();
    for ms in [200i64, 5, 120, 1, 60, 30, 90, 2] {
        let c = c.clone();
        tasks.push(tokio::spawn(async move { (ms, c.call::<_, i64>("Test.Sleep", &ms).await) }));
    }
    for t in tasks {
        let (ms, r) = t.await.unwrap();
        assert_eq!(r.unwrap(), ms);
    }
    let r: SimpleRpcResponse = c.call("Agent.ReportStatus", &AgentReportRequest::default()).await.unwrap();
    assert_eq!(r.code, 1);
    let ips: String = c.call("Agent.TrustableIps", &NullRpcRequest {}).await.unwrap();
    assert_eq!(ips, "10.0.0.1,10.0.0.2");
    let e = c.call::<_, SimpleRpcResponse>("Test.Fail", &NullRpcRequest {}).await.unwrap_err();
    assert_eq!(e, CallError::Server("go says no <&>".into()));
    let e = c.call::<_, SimpleRpcResponse>("Echo.Nope", &NullRpcRequest {}).await.unwrap_err();
    assert_eq!(e, CallError::Server("rpc: can't find method Echo.Nope".into()));
    let e = c.call::<_, Vec<Option<MetricValue>>>("Echo.Metrics", &"not a list").await.unwrap_err();
    assert_eq!(e, CallError::Server("json: cannot unmarshal string into Go value of type []*main.MetricValue".into()));
    // Still the same healthy connection after error replies.
    assert!(c.is_connected().await);
    let _: SimpleRpcResponse = c.call("Agent.ReportStatus", &AgentReportRequest::default()).await.unwrap();
}

/// Sends through the pool, retrying while all connections are busy (Go's pool fails at once then).
async fn send<A>(pool: &Arc<ConnPool<GobDialer>>, method: &str, items: &A) -> i64
where
    A: falcon_proto::gob::GobEncode + ?Sized,
{
    loop {
        match pool.gob_call::<_, SimpleRpcResponse>(method, items).await {
            Ok(r) => return r.code,
            Err(PoolCallError::Pool(_)) => tokio::time::sleep(Duration::from_millis(5)).await,
            Err(e) => panic!("{method}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_gob_client_feeds_a_go_judge_and_graph() {
    let mut go = GoProcess::start(&["gob-server"]);
    let addr = go.listen_addr();
    const BATCH: usize = 200;
    const BATCHES: usize = 30;
    // Several connections through the pool, as transfer sends; each gets the type definitions once.
    let pool = ConnPool::new(addr.clone(), GobDialer, PoolConfig { max_conns: 4, ..PoolConfig::default() });
    let mut tasks = Vec::new();
    for b in 0..BATCHES {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let judge: Vec<JudgeItem> = (b * BATCH..(b + 1) * BATCH).map(gen::judge).collect();
            let graph: Vec<GraphItem> = (b * BATCH..(b + 1) * BATCH).map(gen::graph).collect();
            let j = send(&pool, "Judge.Send", &judge).await;
            let g = send(&pool, "Graph.Send", &graph).await;
            (j, g)
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), (BATCH as i64, BATCH as i64), "Go replied with the item count");
    }
    assert!(pool.stats().created <= 4);
    let mut c = GobClient::connect(&addr, Duration::from_secs(1)).await.unwrap();
    let r: SimpleRpcResponse = c.call("Judge.Ping", &NullRpcRequest {}).await.unwrap();
    assert_eq!(r.code, 0);
    let e = c.call::<_, SimpleRpcResponse>("Judge.Nope", &NullRpcRequest {}).await.unwrap_err();
    assert!(matches!(&e, GobCallError::Server(t) if t == "rpc: can't find method Judge.Nope"), "{e:?}");
    let e = c.call::<_, SimpleRpcResponse>("Judge.Fail", &vec![gen::judge(0)]).await.unwrap_err();
    assert!(matches!(&e, GobCallError::Server(t) if t == "judge says no"), "{e:?}");
    // The connection stays usable after error replies.
    let last = vec![gen::judge(BATCH * BATCHES)];
    let r: SimpleRpcResponse = c.call("Judge.Send", &last).await.unwrap();
    assert_eq!(r.code, 1);
    let summary = tokio::task::spawn_blocking(move || go.finish()).await.unwrap();
    let n = BATCH * BATCHES;
    assert_eq!(
        summary,
        format!("SUMMARY judge={} judge_bad=0 graph={n} graph_bad=0 first_bad=\"\"", n + 1),
        "the Go side checked every field of every item"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_gob_client_calls_our_server() {
    let checked = Arc::new(AtomicUsize::new(0));
    let bad = Arc::new(AtomicUsize::new(0));
    let mut r = GobRegistry::new();
    let (c1, b1) = (checked.clone(), bad.clone());
    r.register("Judge.Send", move |items: Vec<JudgeItem>| {
        let (c, b) = (c1.clone(), b1.clone());
        async move {
            for it in &items {
                c.fetch_add(1, SeqCst);
                if !gen::judge_eq(it, &gen::judge((it.timestamp - BASE_TS) as usize)) {
                    b.fetch_add(1, SeqCst);
                }
            }
            Ok(SimpleRpcResponse { code: items.len() as i64 })
        }
    })
    .unwrap();
    let (c2, b2) = (checked.clone(), bad.clone());
    r.register("Graph.Send", move |items: Vec<GraphItem>| {
        let (c, b) = (c2.clone(), b2.clone());
        async move {
            for it in &items {
                c.fetch_add(1, SeqCst);
                if !gen::graph_eq(it, &gen::graph((it.timestamp - BASE_TS) as usize)) {
                    b.fetch_add(1, SeqCst);
                }
            }
            Ok(SimpleRpcResponse { code: items.len() as i64 })
        }
    })
    .unwrap();
    r.register("Judge.Ping", |_: NullRpcRequest| async { Ok(SimpleRpcResponse { code: 0 }) }).unwrap();
    r.register("Judge.Fail", |_: Vec<JudgeItem>| async { Err::<SimpleRpcResponse, _>("judge says no".into()) })
        .unwrap();
    let (_trigger, sd) = shutdown::channel();
    let (addr, server) =
        falcon_proto::gob::server::spawn("127.0.0.1:0", r, GobServerConfig::default(), sd).await.unwrap();
    let out = tokio::task::spawn_blocking(move || {
        let mut go = GoProcess::start(&["gob-client", "-addr", &addr.to_string(), "-batches", "20", "-size", "200"]);
        let ok = go.wait(Duration::from_secs(60));
        (ok, go.rest())
    })
    .await
    .unwrap();
    assert!(out.0, "Go gob client failed: {}", out.1);
    assert!(out.1.starts_with("OK calls="), "{}", out.1);
    // 20 batches of 200 to each service, plus one graph item after the error calls.
    assert_eq!(checked.load(SeqCst), 20 * 200 * 2 + 1);
    assert_eq!(bad.load(SeqCst), 0, "every item Go sent decoded to the generated value");
    assert_eq!(server.stats().error_replies.load(SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_encoding_matches_go_json_marshal() {
    const N: usize = 50_000;
    let text = tokio::task::spawn_blocking(|| {
        let mut go = GoProcess::start(&["json-golden", "-n", &N.to_string()]);
        // Drain stdout before waiting: the output is larger than a pipe buffer.
        let text = go.rest();
        assert!(go.wait(Duration::from_secs(60)), "json-golden failed");
        text
    })
    .await
    .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), N);
    for (i, line) in lines.iter().enumerate() {
        let ours = gojson::to_string(&gen::metric(i)).unwrap();
        assert_eq!(&ours, line, "item {i}: our bytes differ from json.Marshal");
        let back: MetricValue = gojson::from_slice(line.as_bytes()).unwrap();
        assert!(metrics_eq(&back, &gen::metric(i)), "item {i} decodes to the generated value");
    }
}

/// Inputs around `seeds`: every truncation, and at every position each of `bytes` put in place of the byte,
/// inserted before it, and the byte deleted.
fn mutations(seeds: &[&[u8]], bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for seed in seeds {
        out.push(seed.to_vec());
        for at in 0..seed.len() {
            out.push(seed[..at].to_vec());
            let mut del = seed.to_vec();
            del.remove(at);
            out.push(del);
            for &b in bytes {
                let mut put = seed.to_vec();
                put[at] = b;
                out.push(put);
                let mut ins = seed.to_vec();
                ins.insert(at, b);
                out.push(ins);
            }
        }
    }
    out
}

/// What Go's `json.Decoder` says of `input`, in the words of the interop program's `json-scan` mode.
fn our_verdict(input: &[u8]) -> String {
    use falcon_proto::gojson::scanner::{Scanner, Top};
    let mut s = Scanner::new(Top::Any);
    let mut done = 0;
    // Odd-sized pieces, so that every state is also crossed at a piece boundary.
    for piece in input.chunks(7) {
        match s.feed(piece) {
            Ok(Some(end)) => return format!("ok {}", done + end),
            Ok(None) => done += piece.len(),
            Err(e) => return format!("err {}", e.offset + 1),
        }
    }
    match s.finish() {
        Ok(true) => format!("ok {done}"),
        _ if s.idle() => "eof".into(),
        _ => "more".into(),
    }
}

#[test]
fn our_json_scanner_fails_where_gos_decoder_does() {
    let seeds: &[&[u8]] = &[
        br#"{"method":"Transfer.Update","params":[[{"endpoint":"h","metric":"m","value":-1.5e+3,"step":60,"counterType":"GAUGE","tags":"a=b","timestamp":1}]],"id":0}"#,
        br#"{"method":"Agent.ReportStatus","params":[{"Hostname":"h","IP":"1.2.3.4"}],"id":18446744073709551615}"#,
        br#" [true, false, null, 0, -0.5, 1E9, 2e-3, "a\"\\\/\b\f\n\r\t\u00e9x", {}, [], {"k": [1, {"z": null}]}] "#,
        b"null",
        b"-12.5e+7",
    ];
    let bytes = b"x}]{[,:\"\\0-.eE+ \x01\xff";
    let inputs = mutations(seeds, bytes);
    let hex: String = inputs
        .iter()
        .map(|i| {
            let mut l: String = i.iter().map(|b| format!("{b:02x}")).collect();
            l.push('\n');
            l
        })
        .collect();
    let mut go = GoProcess::start(&["json-scan"]);
    let verdicts = go.feed_all(hex.into_bytes());
    assert_eq!(verdicts.len(), inputs.len(), "one verdict per input");
    let mut differ = Vec::new();
    for (input, go_says) in inputs.iter().zip(&verdicts) {
        let ours = our_verdict(input);
        if &ours != go_says {
            differ.push(format!("{:?}: Go {go_says}, ours {ours}", String::from_utf8_lossy(input)));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} inputs differ, e.g.:\n{}",
        differ.len(),
        inputs.len(),
        differ[..differ.len().min(20)].join("\n")
    );
    assert!(verdicts.iter().filter(|v| v.starts_with("err")).count() > 1000, "most mutations are syntax errors");
}
