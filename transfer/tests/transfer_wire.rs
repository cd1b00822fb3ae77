//! falcon-transfer end to end with Go peers: a Go jsonrpc client pushes, Go `rpc.ServeConn` gob servers act
//! as judge and graph nodes, and every forwarded field is checked against the Go transfer's rules, written
//! out here independently of the transfer's code (spec §3.2-§3.5).

mod common;

use common::{counter, mask_latency, temp_config, transfer, wait_for};
use falcon_proto::gojson;
use falcon_proto::model::{GoValue, GraphItem, JudgeItem, MetricValue};
use falcon_proto::ring::HashRing;
use falcon_proto::tags;
use falcon_tests::gen;
use falcon_tests::go::GoProcess;
use falcon_tests::http;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const MIN_STEP: i64 = 30;

struct Sinks {
    judge: Vec<(String, GoProcess, String)>,
    graph: Vec<(String, Vec<(GoProcess, String)>)>,
}

fn start_sinks() -> Sinks {
    let sink = || {
        let mut p = GoProcess::start(&["gob-sink"]);
        let a = p.listen_addr();
        (p, a)
    };
    let judge = ["judge-00", "judge-01"]
        .into_iter()
        .map(|n| {
            let (p, a) = sink();
            (n.to_string(), p, a)
        })
        .collect();
    let graph = vec![("graph-00".to_string(), vec![sink()]), ("graph-01".to_string(), vec![sink(), sink()])];
    Sinks { judge, graph }
}

fn config_for(s: &Sinks, extra: &str) -> String {
    let judge: Vec<String> = s.judge.iter().map(|(n, _, a)| format!("\"{n}\":\"{a}\"")).collect();
    let graph: Vec<String> = s
        .graph
        .iter()
        .map(|(n, addrs)| {
            format!("\"{n}\":\"{}\"", addrs.iter().map(|(_, a)| a.as_str()).collect::<Vec<_>>().join(", "))
        })
        .collect();
    format!(
        r#"{{"debug":false,"minStep":{MIN_STEP},
        "http":{{"enabled":true,"listen":"127.0.0.1:0"}},
        "rpc":{{"enabled":true,"listen":"127.0.0.1:0"}},
        "socket":{{"enabled":true,"listen":"127.0.0.1:0","timeout":3600}},
        "judge":{{"enabled":true,"batch":200,"connTimeout":1000,"callTimeout":5000,"maxConns":32,"maxIdle":32,"replicas":500,"cluster":{{{}}}}},
        "graph":{{"enabled":true,"batch":200,"connTimeout":1000,"callTimeout":5000,"maxConns":32,"maxIdle":32,"replicas":500,"cluster":{{{}}}}},
        "tsdb":{{"enabled":false}}{extra}}}"#,
        judge.join(","),
        graph.join(",")
    )
}

/// Go's acceptance rules for one generated item (spec §3.2).
fn valid(m: &MetricValue) -> bool {
    let value_ok = match &m.value {
        GoValue::Number(_) | GoValue::Uint(_) => true,
        GoValue::String(s) => !s.is_empty() && gojson::parse_go_float(s).is_ok(),
        _ => false,
    };
    !m.endpoint.is_empty()
        && !m.metric.is_empty()
        && m.metric != "kernel.hostname"
        && ["GAUGE", "COUNTER", "DERIVE"].contains(&m.counter_type.as_str())
        && m.step > 0
        && m.metric.len() + m.tags.len() <= 510
        && value_ok
}

/// Go's conversion to judge and graph items (spec §3.4).
fn expected(m: &MetricValue) -> (JudgeItem, GraphItem) {
    let t = tags::parse_tags(&m.tags);
    let value = m.value.as_f64().unwrap();
    let step = m.step.max(MIN_STEP);
    let ts = m.timestamp - m.timestamp % step;
    let judge = JudgeItem {
        endpoint: m.endpoint.clone(),
        metric: m.metric.clone(),
        value,
        timestamp: ts,
        judge_type: m.counter_type.clone(),
        tags: t.clone(),
    };
    let gauge = m.counter_type == "GAUGE";
    let graph = GraphItem {
        endpoint: m.endpoint.clone(),
        metric: m.metric.clone(),
        tags: t,
        value,
        timestamp: ts,
        ds_type: if gauge { "GAUGE" } else { "DERIVE" }.into(),
        step,
        heartbeat: 2 * step,
        min: if gauge { "U" } else { "0" }.into(),
        max: "U".into(),
    };
    (judge, graph)
}

/// The items a sink recorded for `service`, as Go's JSON, sorted.
fn dump(p: &mut GoProcess, service: &str) -> Vec<String> {
    let mut out = p.sink_items(service);
    out.sort();
    out
}

#[test]
fn go_client_to_our_transfer_to_go_judge_and_graph_every_field() {
    let mut sinks = start_sinks();
    let cfg = temp_config("wire", &config_for(&sinks, ""));
    let t = transfer(&cfg);
    const N: usize = 3000;
    const BATCH: usize = 150;
    let mut push = GoProcess::start(&[
        "transfer-push",
        "-addr",
        t.addr("rpc"),
        "-from",
        "0",
        "-to",
        &N.to_string(),
        "-batch",
        &BATCH.to_string(),
    ]);
    // Replies: Total counts every element, Invalid the rejected ones.
    let metrics: Vec<MetricValue> = (0..N).map(gen::metric).collect();
    for chunk in metrics.chunks(BATCH) {
        let invalid = chunk.iter().filter(|m| !valid(m)).count();
        assert_eq!(push.line(), format!("REPLY ok {} {invalid}", chunk.len()));
    }
    assert!(push.line().starts_with("OK calls="));

    let judge_ring = HashRing::new(["judge-00", "judge-01"], 500).unwrap();
    let graph_ring = HashRing::new(["graph-00", "graph-01"], 500).unwrap();
    let mut want_judge: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut want_graph: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut graph_deliveries = 0;
    for m in metrics.iter().filter(|m| valid(m)) {
        let pk = tags::pk(&m.endpoint, &m.metric, &tags::parse_tags(&m.tags));
        let (j, g) = expected(m);
        want_judge.entry(judge_ring.get(&pk).to_string()).or_default().push(gojson::to_string(&j).unwrap());
        let node = graph_ring.get(&pk).to_string();
        graph_deliveries += if node == "graph-01" { 2 } else { 1 };
        want_graph.entry(node).or_default().push(gojson::to_string(&g).unwrap());
    }
    let valid_n = metrics.iter().filter(|m| valid(m)).count() as i64;
    assert!(valid_n > 1000, "the generator covers both valid and invalid items");
    let http_addr = t.addr("http").to_string();
    wait_for("every item forwarded", || {
        counter(&http_addr, "SendToJudgeCnt") == valid_n && counter(&http_addr, "SendToGraphCnt") == graph_deliveries
    });
    assert_eq!(counter(&http_addr, "RecvCnt"), valid_n);
    assert_eq!(counter(&http_addr, "RpcRecvCnt"), valid_n);
    for name in ["SendToJudgeDropCnt", "SendToGraphDropCnt", "SendToJudgeFailCnt", "SendToGraphFailCnt"] {
        assert_eq!(counter(&http_addr, name), 0, "{name}");
    }

    for (node, p, _) in sinks.judge.iter_mut() {
        let mut want = want_judge.remove(node.as_str()).unwrap_or_default();
        want.sort();
        let got = dump(p, "Judge");
        assert!(want.len() > 100, "{node}: the ring spreads items over both nodes");
        assert_eq!(got.len(), want.len(), "{node}: item count");
        assert!(got == want, "{node}: judge items differ from Go's conversion");
    }
    for (node, addrs) in sinks.graph.iter_mut() {
        let mut want = want_graph.remove(node.as_str()).unwrap_or_default();
        want.sort();
        for (p, addr) in addrs.iter_mut() {
            let got = dump(p, "Graph");
            assert!(want.len() > 100, "{node}: the ring spreads items over both nodes");
            assert_eq!(got.len(), want.len(), "{node} {addr}: item count");
            assert!(got == want, "{node} {addr}: graph items differ from Go's conversion");
        }
    }
    // stderr is a pipe here, as it is a log file under ./control: no colour escapes.
    assert!(!t.log().contains('\x1b'), "ANSI escapes in the log:\n{}", t.log());
}

/// Sends `req` on a raw connection and reads one reply line.
fn rpc_line(s: &mut TcpStream, req: &[u8]) -> String {
    s.write_all(req).unwrap();
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    while s.read(&mut b).unwrap_or(0) == 1 {
        out.push(b[0]);
        if b[0] == b'\n' {
            break;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn crafted_rpc_cases_http_api_and_socket_match_go() {
    let mut sinks = start_sinks();
    let cfg = temp_config("api", &config_for(&sinks, ""));
    let t = transfer(&cfg);
    let h = t.addr("http").to_string();

    // captures/crafted/transfer_jsonrpc_edge_cases.txt, byte for byte.
    let mut s = TcpStream::connect(t.addr("rpc")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let crafted: &[(&[u8], &str)] = &[
        (b"{\"method\":\"Transfer.Ping\",\"params\":[{}],\"id\":1}\n", "{\"id\":1,\"result\":{\"code\":0},\"error\":null}\n"),
        (b"{\"method\":\"Transfer.Update\",\"params\":[[]],\"id\":2}\n", "{\"id\":2,\"result\":{\"Message\":\"ok\",\"Total\":0,\"Invalid\":0,\"Latency\":0},\"error\":null}\n"),
        (
            b"{\"method\":\"Transfer.Update\",\"params\":[[{\"endpoint\":\"vm\",\"metric\":\"peer.rpc.str\",\"value\":\"12.5\",\"step\":10,\"counterType\":\"GAUGE\",\"tags\":\"a=b\",\"timestamp\":1795261656},{\"endpoint\":\"vm\",\"metric\":\"peer.rpc.bad\",\"value\":\"abc\",\"step\":10,\"counterType\":\"GAUGE\",\"tags\":\"\",\"timestamp\":1795261656},{\"endpoint\":\"vm\",\"metric\":\"kernel.hostname\",\"value\":1,\"step\":10,\"counterType\":\"GAUGE\",\"tags\":\"\",\"timestamp\":1795261656},{\"endpoint\":\"vm\",\"metric\":\"peer.rpc.nostep\",\"value\":1,\"step\":0,\"counterType\":\"GAUGE\",\"tags\":\"\",\"timestamp\":1795261656},{\"endpoint\":\"vm\",\"metric\":\"peer.rpc.derive\",\"value\":5,\"step\":10,\"counterType\":\"DERIVE\",\"tags\":\"\",\"timestamp\":0},null]],\"id\":3}\n",
            "{\"id\":3,\"result\":{\"Message\":\"ok\",\"Total\":6,\"Invalid\":4,\"Latency\":0},\"error\":null}\n",
        ),
        (
            b"{\"method\":\"Transfer.Update\",\"params\":[{\"not\":\"a list\"}],\"id\":4}\n",
            "{\"id\":4,\"result\":null,\"error\":\"json: cannot unmarshal object into Go value of type []*model.MetricValue\"}\n",
        ),
    ];
    for (req, want) in crafted {
        assert_eq!(mask_latency(&rpc_line(&mut s, req)), *want);
    }

    // captures/http/transfer_api_push*.txt
    let r = http::post_json(
        &h,
        "/api/push",
        r#"[{"endpoint":"vm","metric":"peer.api.push","timestamp":1795261507,"step":10,"value":3.25,"counterType":"GAUGE","tags":"k1=v1,k2=v2"},{"endpoint":"vm","metric":"peer.api.push.str","timestamp":1795261507,"step":10,"value":"7","counterType":"GAUGE","tags":""},{"endpoint":"","metric":"invalid.no.endpoint","timestamp":1795261507,"step":10,"value":1,"counterType":"GAUGE","tags":""}]"#,
    );
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, r#"{"msg":"success","data":{"Message":"ok","Total":3,"Invalid":1,"Latency":0}}"#)
    );
    assert_eq!(r.header("content-type"), Some("application/json; charset=UTF-8"));
    let r = http::post_json(&h, "/api/push", "nope");
    assert_eq!((r.status, r.body.as_str()), (400, "decode error\n"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let r = http::request(&h, "POST", "/api/push", Some(b""), "application/json").unwrap();
    assert_eq!((r.status, r.body.as_str()), (400, "blank body\n"));

    // Plain routes.
    assert_eq!(http::get(&h, "/health").body, "ok\n");
    assert_eq!(http::get(&h, "/health").header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(http::get(&h, "/version").body, format!("{}\n", env!("CARGO_PKG_VERSION")));
    assert!(http::get(&h, "/workdir").body.ends_with('\n'));
    assert_eq!(http::get(&h, "/proc/step").body, r#"{"msg":"success","data":{"min_step":30}}"#);
    assert_eq!(http::get(&h, "/no/such/page").status, 404);
    let cfg_json: serde_json::Value = serde_json::from_str(&http::get(&h, "/config").body).unwrap();
    assert_eq!(cfg_json["data"]["graph"]["clusterList"]["graph-01"]["addrs"].as_array().unwrap().len(), 2);
    assert_eq!(http::get(&h, "/config/reload").body, r#"{"msg":"success","data":"ok"}"#);
    let counters: serde_json::Value = serde_json::from_str(&http::get(&h, "/counter/all").body).unwrap();
    let names: Vec<&str> = counters["data"].as_array().unwrap().iter().map(|c| c["Name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 24);
    assert_eq!(names[0], "RecvCnt");
    assert_eq!(counter(&h, "HttpRecvCnt"), 2);
    assert_eq!(http::get(&h, "/statistics/all").status, 200);

    // Trace and filter: armed first (empty), then they show the newest matching items.
    assert_eq!(http::get(&h, "/trace/vm/agent.alive").body, r#"{"msg":"success","data":[]}"#);
    assert_eq!(http::get(&h, "/filter/vm/cpu.idle/lt/1000").body, r#"{"msg":"success","data":[]}"#);
    assert_eq!(http::get(&h, "/filter/vm/cpu.idle/lt/x").body, r#"{"msg":"success","data":"bad threadhold"}"#);
    assert_eq!(http::get(&h, "/filter/vm/cpu.idle/le/1").body, r#"{"msg":"success","data":"bad opt: le"}"#);
    for ts in [1795261587, 1795261597, 1795261607, 1795261617] {
        let body = format!(
            r#"[{{"endpoint":"vm","metric":"agent.alive","value":1,"step":10,"counterType":"GAUGE","tags":"","timestamp":{ts}}},{{"endpoint":"vm","metric":"cpu.idle","value":{},"step":10,"counterType":"GAUGE","tags":"","timestamp":{ts}}}]"#,
            if ts == 1795261617 { 1500.0 } else { 0.5 }
        );
        assert_eq!(http::post_json(&h, "/api/push", &body).status, 200);
    }
    let r = http::get(&h, "/trace/vm/agent.alive");
    let want = |ts: i64| {
        format!(
            r#"{{"Value":{{"metric":"agent.alive","endpoint":"vm","timestamp":{ts},"step":10,"value":1,"counterType":"GAUGE","tags":{{}}}}}}"#
        )
    };
    assert_eq!(
        r.body,
        format!(r#"{{"msg":"success","data":[{},{},{}]}}"#, want(1795261617), want(1795261607), want(1795261597))
    );
    let r: serde_json::Value = serde_json::from_str(&http::get(&h, "/filter/vm/cpu.idle/lt/1000").body).unwrap();
    assert_eq!(r["data"].as_array().unwrap().len(), 3, "1500 is not below 1000");
    let pools = http::get(&h, "/debug/connpool/judge");
    assert_eq!(pools.body.lines().count(), 2);
    assert!(pools.body.lines().all(|l| l.starts_with("Name:127.0.0.1:") && l.contains(",Cnt:")), "{}", pools.body);
    assert_eq!(http::get(&h, "/debug/connpool/nope").body, "bad args, module not exist\n");

    // captures/http/transfer_socket_telnet.txt, plus a CRLF line Go would reject.
    let mut sock = TcpStream::connect(t.addr("socket")).unwrap();
    sock.write_all(b"update vm peer.socket.test 1795261520 2.5 GAUGE 10\nupdate vm peer.socket.default 1795261520 7\nupdate vm peer.socket.crlf 1795261520 3 GAUGE 60\r\nbogus line\nquit\n").unwrap();
    let mut rest = Vec::new();
    let _ = sock.read_to_end(&mut rest);
    assert!(rest.is_empty(), "the socket receiver never answers");
    wait_for("socket items forwarded", || counter(&h, "SocketRecvCnt") == 3);

    // Everything that reached the sinks: the socket items converted as Go converts them.
    wait_for("queues empty", || {
        let c: serde_json::Value = serde_json::from_str(&http::get(&h, "/counter/all").body).unwrap();
        c["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["Name"].as_str().unwrap().ends_with("SendCacheCnt"))
            .all(|e| e["Cnt"] == 0)
            && counter(&h, "SendToJudgeCnt") == counter(&h, "RecvCnt")
    });
    let mut graph_lines = Vec::new();
    for (_, addrs) in sinks.graph.iter_mut() {
        if let Some((p, _)) = addrs.first_mut() {
            graph_lines.extend(dump(p, "Graph"));
        }
    }
    let find = |metric: &str| -> GraphItem {
        let line = graph_lines
            .iter()
            .find(|l| l.contains(&format!("\"metric\":\"{metric}\"")))
            .unwrap_or_else(|| panic!("{metric} not forwarded"));
        gojson::from_slice(line.as_bytes()).unwrap()
    };
    let g = find("peer.socket.test");
    assert_eq!((g.ds_type.as_str(), g.step, g.timestamp, g.value), ("GAUGE", 30, 1795261500, 2.5));
    let g = find("peer.socket.default");
    assert_eq!(
        (g.ds_type.as_str(), g.min.as_str(), g.step, g.heartbeat, g.timestamp),
        ("DERIVE", "0", 60, 120, 1795261500)
    );
    let g = find("peer.socket.crlf");
    assert_eq!((g.ds_type.as_str(), g.step), ("GAUGE", 60));
    let g = find("peer.api.push");
    assert_eq!(g.tags, tags::parse_tags("k1=v1,k2=v2"));
    let g = find("peer.rpc.derive");
    assert_eq!((g.ds_type.as_str(), g.value), ("DERIVE", 5.0));
}

/// HEAD's `convert2P8sRelayItem` and `Push2P8sRelaySendQueue`, written out from spec §3.12: skipped prefixes,
/// DERIVE refused, value through `%.3f`, step raised to minStep and the timestamp aligned to it.
fn expected_p8s(m: &MetricValue, skip: &[&str]) -> Option<serde_json::Value> {
    if skip.iter().any(|p| m.metric.starts_with(p)) || m.counter_type == "DERIVE" {
        return None;
    }
    let value: f64 = format!("{:.3}", m.value.as_f64().unwrap()).parse().unwrap();
    let step = m.step.max(MIN_STEP);
    let tags = tags::parse_tags(&m.tags);
    Some(serde_json::json!({
        "endpoint": m.endpoint, "metric": m.metric, "tags": tags,
        "value": value, "timestamp": m.timestamp - m.timestamp % step, "metric_type": m.counter_type, "step": step,
    }))
}

#[test]
fn p8s_relay_reaches_go_sinks_on_heads_ring_with_every_field() {
    // p8s-00 with one address, p8s-01 with two: both of p8s-01's get each of its items.
    let sink = || {
        let mut p = GoProcess::start(&["gob-sink"]);
        let a = p.listen_addr();
        (p, a)
    };
    let mut nodes = [("p8s-00", vec![sink()]), ("p8s-01", vec![sink(), sink()])];
    let cluster: Vec<String> = nodes
        .iter()
        .map(|(n, a)| format!("\"{n}\":\"{}\"", a.iter().map(|(_, a)| a.as_str()).collect::<Vec<_>>().join(",")))
        .collect();
    let skip = ["m.1"]; // a prefix: m.1 and m.10 are not relayed
    let cfg = temp_config(
        "p8s",
        &common::outputs_only(&format!(
            r#","p8s_relay":{{"enabled":true,"batch":100,"notSyncMetrics":["m.1"],"cluster":{{{}}}}}"#,
            cluster.join(",")
        )),
    );
    let t = transfer(&cfg);
    const N: usize = 2000;
    let mut push = GoProcess::start(&[
        "transfer-push",
        "-addr",
        t.addr("rpc"),
        "-from",
        "0",
        "-to",
        &N.to_string(),
        "-batch",
        "200",
    ]);
    for _ in 0..N / 200 {
        assert!(push.line().starts_with("REPLY ok"));
    }
    assert!(push.line().starts_with("OK calls="));

    let ring = HashRing::new(["p8s-00", "p8s-01"], 500).unwrap();
    let mut want: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    let (mut derive, mut deliveries) = (0, 0);
    for m in (0..N).map(gen::metric).filter(valid) {
        let Some(item) = expected_p8s(&m, &skip) else {
            derive += i64::from(m.counter_type == "DERIVE" && !skip.iter().any(|p| m.metric.starts_with(p)));
            continue;
        };
        let node = ring.get(&tags::pk(&m.endpoint, &m.metric, &tags::parse_tags(&m.tags))).to_string();
        deliveries += if node == "p8s-01" { 2 } else { 1 };
        want.entry(node).or_default().push(item);
    }
    let h = t.addr("http").to_string();
    wait_for("every p8s item delivered", || counter(&h, "SendToP8sRelayCnt") == deliveries);
    assert!(derive > 0, "the generator makes DERIVE items");
    assert_eq!(counter(&h, "SendToP8sRelayDeriveSkipCnt"), derive);
    assert_eq!((counter(&h, "SendToP8sRelayDropCnt"), counter(&h, "SendToP8sRelayFailCnt")), (0, 0));
    let key = |v: &serde_json::Value| v.to_string();
    for (node, addrs) in nodes.iter_mut() {
        let mut want = want.remove(*node).unwrap_or_default();
        want.sort_by_key(key);
        assert!(want.len() > 100, "{node}: the ring spreads items over both nodes");
        for (p, addr) in addrs.iter_mut() {
            let mut got: Vec<serde_json::Value> = p
                .sink_items("P8sRelay")
                .iter()
                .map(|l| {
                    let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                    // The sink writes the value as Go's text; read it back as Go would.
                    let text = v["value"].as_str().unwrap().to_string();
                    v["value"] = serde_json::json!(falcon_proto::gojson::parse_go_float(&text).unwrap());
                    v
                })
                .collect();
            got.sort_by_key(key);
            assert_eq!(got.len(), want.len(), "{node} {addr}: item count");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g, w, "{node} {addr}");
            }
        }
    }
}

#[test]
fn config_reload_takes_a_bearer_token_and_can_require_it() {
    let cfg = temp_config(
        "token",
        &common::outputs_only(
            r#","http":{"enabled":true,"listen":"127.0.0.1:0","token":"tr-t0k3n-zz","tokenRequired":true}"#,
        ),
    );
    let t = transfer(&cfg);
    let h = t.addr("http").to_string();
    let with = |token: &str| {
        let auth = format!("Bearer {token}");
        http::request_with(&h, "GET", "/config/reload", None, "text/plain", &[("Authorization", auth.as_str())])
            .unwrap()
    };
    assert_eq!(http::get(&h, "/config/reload").body, r#"{"msg":"success","data":"no privilege"}"#);
    assert_eq!(with("nope").body, r#"{"msg":"success","data":"no privilege"}"#);
    assert_eq!(with("tr-t0k3n-zz").body, r#"{"msg":"success","data":"ok"}"#);
    assert!(!http::get(&h, "/config").body.contains("tr-t0k3n-zz"), "the token is never shown");
    assert!(!t.log().contains("tr-t0k3n-zz"), "the token is never logged");
}
