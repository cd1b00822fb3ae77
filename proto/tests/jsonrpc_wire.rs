//! The JSON-RPC server and client over real loopback sockets, byte for byte against Go's recorded replies.

use falcon_base::shutdown::{self, Shutdown};
use falcon_proto::jsonrpc::{self, CallError, Client, ClientConfig, Registry, ServerConfig};
use falcon_proto::model::{
    AgentHeartbeatRequest, AgentPluginsResponse, AgentReportRequest, NullRpcRequest, SimpleRpcResponse,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn registry(seen_ids: Arc<AtomicU64>) -> Registry {
    let mut r = Registry::new();
    r.register("Agent.ReportStatus", |req: AgentReportRequest| async move {
        Ok(SimpleRpcResponse { code: if req.hostname.is_empty() { 1 } else { 0 } })
    })
    .unwrap();
    r.register("Agent.MinePlugins", |req: AgentHeartbeatRequest| async move {
        let plugins = if req.hostname == "vm" {
            vec!["sys/args/20_args.sh(hello,world)".to_string(), "sys/demo".to_string()]
        } else {
            vec![]
        };
        Ok(AgentPluginsResponse { plugins: Some(plugins), timestamp: 1795261656 })
    })
    .unwrap();
    r.register("Agent.TrustableIps", |_: NullRpcRequest| async move { Ok("127.0.0.1".to_string()) }).unwrap();
    r.register("Test.Sleep", |ms: i64| async move {
        tokio::time::sleep(Duration::from_millis(ms as u64)).await;
        Ok(ms)
    })
    .unwrap();
    r.register("Test.Fail", |_: NullRpcRequest| async move { Err::<SimpleRpcResponse, _>("boom <&>".to_string()) })
        .unwrap();
    r.register("Test.Panic", |_: NullRpcRequest| async move {
        if true {
            panic!("handler bug");
        }
        Ok(SimpleRpcResponse::default())
    })
    .unwrap();
    r.register("Test.Count", move |_: NullRpcRequest| {
        let seen = seen_ids.clone();
        async move { Ok(seen.fetch_add(1, Ordering::SeqCst) as i64) }
    })
    .unwrap();
    r
}

async fn start(cfg: ServerConfig) -> (String, shutdown::ShutdownTrigger) {
    let (trigger, sd) = shutdown::channel();
    let (addr, _server) = jsonrpc::server::spawn("127.0.0.1:0", registry(Arc::default()), cfg, sd).await.unwrap();
    (addr.to_string(), trigger)
}

/// Sends `req` and reads exactly one `\n`-terminated reply (or "" if the server closed).
async fn exchange(s: &mut TcpStream, req: &[u8]) -> String {
    s.write_all(req).await.unwrap();
    read_line(s).await
}

async fn read_line(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut b)).await.expect("reply in time") {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                out.push(b[0]);
                if b[0] == b'\n' {
                    break;
                }
            }
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn crafted_hbs_edge_cases_get_gos_replies() {
    let (addr, _t) = start(ServerConfig::default()).await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let cases: &[(&[u8], &str)] = &[
        (
            b"{\"method\":\"Agent.NoSuchMethod\",\"params\":[{}],\"id\":1}\n",
            "{\"id\":1,\"result\":null,\"error\":\"rpc: can't find method Agent.NoSuchMethod\"}\n",
        ),
        (b"{\"method\":\"Agent.ReportStatus\",\"params\":[{\"Hostname\":\"\"}],\"id\":2}\n", "{\"id\":2,\"result\":{\"code\":1},\"error\":null}\n"),
        (
            b"{\"method\":\"Agent.MinePlugins\",\"params\":[{\"Hostname\":\"vm\"}],\"id\":\"str-id\"}\n",
            "{\"id\":\"str-id\",\"result\":{\"Plugins\":[\"sys/args/20_args.sh(hello,world)\",\"sys/demo\"],\"Timestamp\":1795261656},\"error\":null}\n",
        ),
        (b"{\"method\":\"Agent.TrustableIps\",\"params\":[null],\"id\":5}\n", "{\"id\":5,\"result\":\"127.0.0.1\",\"error\":null}\n"),
        (
            b"{\"method\":\"Agent.ReportStatus\",\"params\":[{\"Hostname\":\"vm\",\"IP\":\"127.0.0.1\",\"AgentVersion\":\"5.1.2\",\"PluginVersion\":\"x\"}, {\"extra\":1}],\"id\":7}\n",
            "{\"id\":7,\"result\":{\"code\":0},\"error\":null}\n",
        ),
        // Beyond the captures: Go's texts for the other lookup failures and for missing params.
        (b"{\"method\":\"NoDot\",\"params\":[{}],\"id\":8}", "{\"id\":8,\"result\":null,\"error\":\"rpc: service/method request ill-formed: NoDot\"}\n"),
        (b"{\"method\":\"Nope.X\",\"params\":[{}],\"id\":9}", "{\"id\":9,\"result\":null,\"error\":\"rpc: can't find service Nope.X\"}\n"),
        (b"{\"method\":\"Agent.TrustableIps\",\"id\":10}", "{\"id\":10,\"result\":null,\"error\":\"jsonrpc: request body missing params\"}\n"),
        (b"{\"method\":\"Agent.TrustableIps\",\"params\":null,\"id\":11}", "{\"id\":11,\"result\":null,\"error\":\"jsonrpc: request body missing params\"}\n"),
        (
            b"{\"method\":\"Agent.ReportStatus\",\"params\":[{\"Hostname\":5}],\"id\":12}",
            "{\"id\":12,\"result\":null,\"error\":\"json: cannot unmarshal number into Go struct field AgentReportRequest.Hostname of type string\"}\n",
        ),
        (b"null", "{\"id\":null,\"result\":null,\"error\":\"rpc: service/method request ill-formed: \"}\n"),
        (b"{\"method\":\"Test.Fail\",\"params\":[{}],\"id\":[1, 2]}", "{\"id\":[1,2],\"result\":null,\"error\":\"boom \\u003c\\u0026\\u003e\"}\n"),
        (b"{\"method\":\"Test.Panic\",\"params\":[{}],\"id\":13}", "{\"id\":13,\"result\":null,\"error\":\"rpc: internal error\"}\n"),
    ];
    for (req, want) in cases {
        assert_eq!(exchange(&mut s, req).await, *want, "request {}", String::from_utf8_lossy(req));
    }
    // Malformed JSON: no reply, connection closed.
    assert_eq!(exchange(&mut s, b"this is not json\n").await, "");
    // The server is still alive for others.
    let mut s2 = TcpStream::connect(&addr).await.unwrap();
    assert_eq!(
        exchange(&mut s2, b"{\"method\":\"Agent.TrustableIps\",\"params\":[{}],\"id\":0}").await,
        "{\"id\":0,\"result\":\"127.0.0.1\",\"error\":null}\n"
    );
}

#[tokio::test]
async fn calls_run_concurrently_and_reply_out_of_order() {
    let (addr, _t) = start(ServerConfig::default()).await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    // Two pipelined requests in one write, no separator: the slow one must not hold back the fast one.
    s.write_all(
        b"{\"method\":\"Test.Sleep\",\"params\":[400],\"id\":1}{\"method\":\"Test.Sleep\",\"params\":[1],\"id\":2}",
    )
    .await
    .unwrap();
    assert_eq!(read_line(&mut s).await, "{\"id\":2,\"result\":1,\"error\":null}\n");
    assert_eq!(read_line(&mut s).await, "{\"id\":1,\"result\":400,\"error\":null}\n");
}

#[tokio::test]
async fn malformed_input_still_answers_calls_in_flight() {
    let (addr, _t) = start(ServerConfig::default()).await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"{\"method\":\"Test.Sleep\",\"params\":[200],\"id\":1} garbage").await.unwrap();
    assert_eq!(read_line(&mut s).await, "{\"id\":1,\"result\":200,\"error\":null}\n");
    assert_eq!(read_line(&mut s).await, "", "then the connection closes");
}

#[tokio::test]
async fn a_garbage_opening_is_refused_at_its_first_bad_byte_not_at_a_timeout() {
    // Each of these is still an open value to a nesting-only scanner, which would wait for more bytes.
    let openings: [&[u8]; 5] = [b"{garbage", b"{\"method\" 1", b"{\"a\":[1 2", b"{\"a\":tru3", b"{\"a\":\"\x01"];
    for opening in openings {
        let (addr, _t) = start(ServerConfig::default()).await;
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(opening).await.unwrap();
        // The connection stays open from our side; the server must close it on its own, at once.
        let closed = tokio::time::timeout(std::time::Duration::from_secs(2), read_line(&mut s)).await;
        assert_eq!(closed.ok().as_deref(), Some(""), "{}", String::from_utf8_lossy(opening));
    }
}

#[tokio::test]
async fn oversized_frame_closes_the_connection() {
    let (addr, _t) = start(ServerConfig { max_frame: 1024, ..ServerConfig::default() }).await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let mut big = b"{\"method\":\"Agent.ReportStatus\",\"params\":[{\"Hostname\":\"".to_vec();
    big.extend(std::iter::repeat_n(b'x', 4096));
    big.extend_from_slice(b"\"}],\"id\":1}");
    let _ = s.write_all(&big).await;
    assert_eq!(read_line(&mut s).await, "");
}

#[tokio::test]
async fn client_matches_ids_and_reports_server_errors() {
    let (addr, _t) = start(ServerConfig::default()).await;
    let c = Arc::new(Client::new(addr, ClientConfig::default()));
    let r: SimpleRpcResponse =
        c.call("Agent.ReportStatus", &AgentReportRequest { hostname: "h".into(), ..Default::default() }).await.unwrap();
    assert_eq!(r.code, 0);
    let ips: String = c.call("Agent.TrustableIps", &NullRpcRequest {}).await.unwrap();
    assert_eq!(ips, "127.0.0.1");
    let e = c.call::<_, SimpleRpcResponse>("Test.Fail", &NullRpcRequest {}).await.unwrap_err();
    assert_eq!(e, CallError::Server("boom <&>".into()));
    let e = c.call::<_, SimpleRpcResponse>("Agent.Nope", &NullRpcRequest {}).await.unwrap_err();
    assert_eq!(e, CallError::Server("rpc: can't find method Agent.Nope".into()));
    // Concurrent calls with different latencies on one connection.
    let mut tasks = Vec::new();
    for ms in [300i64, 10, 150, 1, 80] {
        let c = c.clone();
        tasks.push(tokio::spawn(async move { c.call::<_, i64>("Test.Sleep", &ms).await }));
    }
    let got: Vec<i64> = futures_join(tasks).await;
    assert_eq!(got, vec![300, 10, 150, 1, 80]);
}

async fn futures_join(tasks: Vec<tokio::task::JoinHandle<Result<i64, CallError>>>) -> Vec<i64> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap().unwrap());
    }
    out
}

#[tokio::test]
async fn client_timeout_drops_connection_and_redials_with_fresh_ids() {
    // A raw server that records each request's id and answers only ids that are not 1.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, String)>();
    tokio::spawn(async move {
        let mut conn_no = 0;
        loop {
            let (s, _) = listener.accept().await.unwrap();
            conn_no += 1;
            let tx = tx.clone();
            tokio::spawn(async move {
                let (rd, mut wr) = s.into_split();
                let mut frames = jsonrpc::frame::FrameReader::new(rd, 1 << 20);
                while let Ok(Some(f)) = frames.next_frame().await {
                    let req = jsonrpc::envelope::parse_request(f).unwrap();
                    let id = req.id.unwrap().to_string();
                    tx.send((conn_no, id.clone())).unwrap();
                    if req.method != "T.Hang" {
                        let mut out = Vec::new();
                        jsonrpc::envelope::write_response(&mut out, Some(&id), Ok(b"{\"code\":0}"));
                        wr.write_all(&out).await.unwrap();
                    }
                }
            });
        }
    });
    let c = Client::new(addr, ClientConfig { call_timeout: Duration::from_millis(300), ..ClientConfig::default() });
    let _: SimpleRpcResponse = c.call("T.Ok", &NullRpcRequest {}).await.unwrap();
    let e = c.call::<_, SimpleRpcResponse>("T.Hang", &NullRpcRequest {}).await.unwrap_err();
    assert!(matches!(e, CallError::Timeout { .. }), "{e:?}");
    assert!(!c.is_connected().await, "a timed-out call drops the connection");
    let _: SimpleRpcResponse = c.call("T.Ok", &NullRpcRequest {}).await.unwrap();
    let seen: Vec<_> = (0..3).map(|_| rx.try_recv().unwrap()).collect();
    assert_eq!(seen, vec![(1, "0".to_string()), (1, "1".to_string()), (2, "0".to_string())]);
}

#[tokio::test]
async fn broken_connection_fails_pending_calls_then_redials() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        // First connection: read one request and hang up; later ones answer properly.
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 256];
        let _ = s.read(&mut buf).await;
        drop(s);
        let (trigger_keep, _) = shutdown::channel();
        let mut r = Registry::new();
        r.register("T.Ok", |_: NullRpcRequest| async { Ok(SimpleRpcResponse { code: 7 }) }).unwrap();
        let server = jsonrpc::Server::new(r, ServerConfig::default());
        server.serve(listener, Shutdown::never()).await;
        drop(trigger_keep);
    });
    let c = Client::new(addr, ClientConfig::default());
    let e = c.call::<_, SimpleRpcResponse>("T.Ok", &NullRpcRequest {}).await.unwrap_err();
    assert!(matches!(e, CallError::Closed { .. }), "{e:?}");
    let r: SimpleRpcResponse = c.call("T.Ok", &NullRpcRequest {}).await.unwrap();
    assert_eq!(r.code, 7);
}

#[tokio::test]
async fn protocol_violation_from_server_breaks_the_connection() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 256];
        let _ = s.read(&mut buf).await;
        // result:null with error:null is fatal for a Go client.
        s.write_all(b"{\"id\":0,\"result\":null,\"error\":null}\n").await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let c = Client::new(addr, ClientConfig::default());
    let e = c.call::<_, SimpleRpcResponse>("T.X", &NullRpcRequest {}).await.unwrap_err();
    assert_eq!(e, CallError::Protocol { addr: c.addr().to_string(), reason: "invalid error <nil>".into() });
    assert!(!c.is_connected().await);
}

#[tokio::test]
async fn dial_failure_is_an_error() {
    // Bind then drop to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let c = Client::new(format!("127.0.0.1:{port}"), ClientConfig::default());
    let e = c.call::<_, SimpleRpcResponse>("T.X", &NullRpcRequest {}).await.unwrap_err();
    assert!(matches!(e, CallError::Dial { .. }), "{e:?}");
}

#[tokio::test]
async fn in_flight_calls_are_bounded_per_connection() {
    let (addr, _t) = start(ServerConfig { max_inflight_per_conn: 2, ..ServerConfig::default() }).await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    // Three 300 ms calls with room for two: the third starts only when one ends, so all three take >= 600 ms.
    let t0 = std::time::Instant::now();
    for id in 1..=3 {
        s.write_all(format!("{{\"method\":\"Test.Sleep\",\"params\":[300],\"id\":{id}}}").as_bytes()).await.unwrap();
    }
    for _ in 0..3 {
        assert!(read_line(&mut s).await.contains("\"result\":300"));
    }
    assert!(t0.elapsed() >= Duration::from_millis(590), "third call waited for a slot");
}

#[tokio::test]
async fn go_shaped_request_with_broken_params_closes_like_go() {
    let (addr, _t) = start(ServerConfig::default()).await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    // Well-formed Go shape: answered.
    assert_eq!(
        exchange(&mut s, b"{\"method\":\"Agent.ReportStatus\",\"params\":[{\"Hostname\":\"h\"}],\"id\":1}").await,
        "{\"id\":1,\"result\":{\"code\":0},\"error\":null}\n"
    );
    // Same shape, params not JSON: Go's decoder fails on the whole request and closes without a reply.
    assert_eq!(
        exchange(&mut s, b"{\"method\":\"Agent.ReportStatus\",\"params\":[{\"Hostname\" \"h\"}],\"id\":2}").await,
        ""
    );
}
