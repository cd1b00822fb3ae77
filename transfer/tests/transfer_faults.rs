//! Faults: a graph node that is down and comes back, one that hangs, one that answers garbage; garbage sent
//! to each receiver; SIGTERM with items that cannot be delivered.

mod common;

use common::{config, counter, local, mask_latency, start_sink, temp_config, transfer, wait_for};
use falcon_tests::http;
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Pushes `n` valid GAUGE items named m<from>..m<from+n> through `/api/push`.
fn push(http_addr: &str, from: usize, n: usize) {
    let items: Vec<String> = (from..from + n)
        .map(|i| format!(r#"{{"endpoint":"h{}","metric":"m{i}","value":{i},"step":60,"counterType":"GAUGE","tags":"","timestamp":1795261500}}"#, i % 10))
        .collect();
    let r = http::post_json(http_addr, "/api/push", &format!("[{}]", items.join(",")));
    assert_eq!(
        mask_latency(&r.body),
        format!(r#"{{"msg":"success","data":{{"Message":"ok","Total":{n},"Invalid":0,"Latency":0}}}}"#)
    );
}

const FAST: &str = r#""connTimeout":500,"callTimeout":300,"#;

#[test]
fn a_graph_node_that_is_down_gets_its_queued_items_when_it_comes_back() {
    let judge = start_sink(local());
    // A port with nothing listening yet.
    let graph_port = local();
    let graph_addr = graph_port.local_addr().unwrap().to_string();
    drop(graph_port);
    let cfg = temp_config(
        "down-up",
        &config(&format!(r#""judge-00":"{}""#, judge.addr), &format!(r#""graph-00":"{graph_addr}""#), FAST, ""),
    );
    let t = transfer(&cfg);
    let h = t.addr("http").to_string();
    push(&h, 0, 500);
    wait_for("judge delivery", || judge.judge_count() == 500);
    wait_for("graph retried", || counter(&h, "SendToGraphRequeueCnt") > 0);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(counter(&h, "SendToGraphCnt"), 0);
    assert_eq!(counter(&h, "SendToGraphFailCnt"), 0, "unreachable is not a failure: the items are kept");
    assert_eq!(counter(&h, "SendToGraphDropCnt"), 0);
    push(&h, 500, 100);

    // The node comes back on its address.
    let graph = start_sink(TcpListener::bind(&graph_addr).expect("graph port still free"));
    wait_for("queued items delivered", || counter(&h, "SendToGraphCnt") == 600);
    assert_eq!(
        graph.graph_pks().iter().collect::<HashSet<_>>().len(),
        600,
        "every item arrived once its node came back"
    );
    assert_eq!(counter(&h, "GraphSendCacheCnt"), 0);
    assert_eq!(counter(&h, "SendToGraphFailCnt"), 0);
    assert_eq!(judge.judge_count(), 600);
}

/// A fake node on a free port: each connection is handed to `behave` in its own thread.
fn fake_node(behave: fn(TcpStream)) -> String {
    let l = local();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || behave(s));
        }
    });
    addr
}

/// Reads forever without answering.
fn hanging_node() -> String {
    fake_node(|mut s| {
        let mut buf = [0u8; 4096];
        while s.read(&mut buf).unwrap_or(0) > 0 {}
    })
}

#[test]
fn a_hanging_graph_node_times_out_without_stalling_anything_and_sigterm_drains() {
    let judge = start_sink(local());
    let hang = hanging_node();
    let cfg = temp_config(
        "hang",
        &config(
            &format!(r#""judge-00":"{}""#, judge.addr),
            &format!(r#""graph-00":"{hang}""#),
            FAST,
            r#","drainTimeout":1"#,
        ),
    );
    let mut t = transfer(&cfg);
    let h = t.addr("http").to_string();
    push(&h, 0, 300);
    wait_for("judge unaffected", || judge.judge_count() == 300);
    wait_for("call timeouts noticed", || counter(&h, "SendToGraphRequeueCnt") > 0);
    // Still accepting and forwarding to the healthy node while graph hangs.
    push(&h, 300, 300);
    wait_for("judge still unaffected", || judge.judge_count() == 600);
    assert_eq!(counter(&h, "SendToGraphCnt"), 0);
    assert_eq!(http::get(&h, "/health").body, "ok\n");

    // SIGTERM: stop accepting, try to drain for drainTimeout (1 s), log what is left, exit 0.
    let start = Instant::now();
    t.terminate();
    let status = t.wait(Duration::from_secs(15)).expect("exits after the drain timeout");
    assert!(status.success(), "exit 0: {status:?}");
    assert!(start.elapsed() < Duration::from_secs(10));
    let log = t.log();
    assert!(log.contains("undelivered at exit"), "{log}");
    assert!(log.contains("graph"), "{log}");
}

/// Answers every connection with bytes that are not gob.
fn garbage_node() -> String {
    fake_node(|mut s| {
        let mut buf = [0u8; 4096];
        if s.read(&mut buf).unwrap_or(0) > 0 {
            let _ = s.write_all(b"\x07garbage that is not gob at all");
        }
        std::thread::sleep(Duration::from_secs(5));
    })
}

#[test]
fn garbage_from_peers_closes_their_connections_and_the_transfer_lives_on() {
    let judge = start_sink(local());
    let bad_graph = garbage_node();
    let cfg = temp_config(
        "garbage",
        &config(&format!(r#""judge-00":"{}""#, judge.addr), &format!(r#""graph-00":"{bad_graph}""#), FAST, ""),
    );
    let t = transfer(&cfg);
    let h = t.addr("http").to_string();

    // A graph node answering garbage: transport error, batch kept, transfer fine.
    push(&h, 0, 50);
    wait_for("judge delivery", || judge.judge_count() == 50);
    wait_for("garbage reply treated as a failed delivery", || counter(&h, "SendToGraphRequeueCnt") > 0);

    // JSON-RPC: malformed JSON closes that connection, others are served.
    let mut s = TcpStream::connect(t.addr("rpc")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"this is not json\n").unwrap();
    let mut buf = Vec::new();
    assert_eq!(s.read_to_end(&mut buf).unwrap(), 0, "closed without a reply");
    let mut s = TcpStream::connect(t.addr("rpc")).unwrap();
    s.write_all(b"{\"method\":\"Transfer.Ping\",\"params\":[{}],\"id\":9}").unwrap();
    let mut reply = [0u8; 64];
    let n = s.read(&mut reply).unwrap();
    assert_eq!(&reply[..n], b"{\"id\":9,\"result\":{\"code\":0},\"error\":null}\n");

    // HTTP: a push body that goes wrong early is refused at once, without waiting for the megabyte it announced.
    let mut s = TcpStream::connect(&h).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"POST /api/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n[{\"endpoint\":x").unwrap();
    let mut reply = [0u8; 256];
    let n = s.read(&mut reply).expect("an answer before the body is complete");
    let reply = String::from_utf8_lossy(&reply[..n]).to_string();
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    assert!(reply.ends_with("decode error\n"), "{reply}");

    // HTTP: a broken request gets an error, the server keeps answering.
    let mut s = TcpStream::connect(&h).unwrap();
    s.write_all(b"\x00\x01\x02 GARBAGE\r\n\r\n").unwrap();
    let _ = s.read_to_end(&mut buf);
    assert_eq!(http::get(&h, "/health").body, "ok\n");

    // Socket: binary junk and an over-long line are skipped, a good line still goes through.
    let mut s = TcpStream::connect(t.addr("socket")).unwrap();
    s.write_all(b"\xff\xfe\x00junk\n").unwrap();
    s.write_all(&vec![b'x'; 100 << 10]).unwrap();
    s.write_all(b"\nupdate h9 m.after.junk 1795261500 1 GAUGE 60\nquit\n").unwrap();
    let _ = s.read_to_end(&mut buf);
    wait_for("good socket line forwarded", || counter(&h, "SocketRecvCnt") == 1);
    assert_eq!(counter(&h, "SocketBadLineCnt"), 2);
    wait_for("judge got it", || judge.judge_count() == 51);
}

#[test]
fn at_the_open_file_limit_accepting_backs_off_counts_and_recovers() {
    let cfg = temp_config(
        "emfile",
        &common::outputs_only(r#","socket":{"enabled":true,"listen":"127.0.0.1:0","timeout":3600}"#),
    );
    // A low open-file limit for the transfer alone: the shell sets it and becomes the transfer.
    let bin = env!("CARGO_BIN_EXE_falcon-transfer");
    let t = falcon_tests::daemon::Daemon::start(
        std::path::Path::new("/bin/sh"),
        &["-c", r#"ulimit -n 64 && exec "$0" -c "$1""#, bin, cfg.to_str().unwrap()],
    )
    .unwrap();
    let h = t.addr("http").to_string();
    let before = counter(&h, "AcceptErrorCnt");
    // More connections than descriptors: the kernel queues them, accepting them fails with EMFILE.
    let held: Vec<TcpStream> = (0..120).filter_map(|_| TcpStream::connect(t.addr("socket")).ok()).collect();
    assert!(held.len() > 64);
    std::thread::sleep(Duration::from_millis(1500));
    drop(held);
    let mut errors = 0;
    wait_for("the HTTP port answers again", || {
        errors = std::panic::catch_unwind(|| counter(&h, "AcceptErrorCnt")).unwrap_or(-1);
        errors >= 0
    });
    let errors = errors - before;
    // Spinning would fail thousands of times in 1.5 s; backing off from 50 ms to 1 s fails a handful of times.
    assert!(errors > 0 && errors <= 20, "accept errors counted while at the limit: {errors}");
    assert!(t.log().contains("accept failed (open-file limit?)"), "{}", t.log());
    // Recovered: a new connection is served.
    let mut s = TcpStream::connect(t.addr("socket")).unwrap();
    s.write_all(b"update h1 m.after.emfile 1795261500 1 GAUGE 60\nquit\n").unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    wait_for("the line after the limit", || counter(&h, "SocketRecvCnt") == 1);
}
