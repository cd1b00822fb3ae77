//! A judge or graph as our gob server stands in for them: `GobServer::serve_conn` reads requests from the fuzz
//! bytes (the client side writes them and closes) and answers while a client reads every reply.
//!
//! Checked: the connection ends (within a bound) once the input does, no task panics, and every reply the
//! server wrote decodes as a response header and body.

use crate::feedback::{note, note_err, note_n};
use crate::support::runtime::block_on;
use falcon_proto::gob::stream::split_messages;
use falcon_proto::gob::{Decoder, FromGob, GobRegistry, GobServer, GobServerConfig, Message, ResponseHeader};
use falcon_proto::model::{GraphItem, JudgeItem, NullRpcRequest, SimpleRpcResponse};
use falcon_runtime::shutdown::Shutdown;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

thread_local! {
    static SERVER: Arc<GobServer> = server();
}

fn server() -> Arc<GobServer> {
    let mut reg = GobRegistry::new();
    // Registration only fails on a repeated name.
    let _ = reg.register("Judge.Send", |items: Vec<JudgeItem>| async move {
        Ok::<_, String>(SimpleRpcResponse { code: i64::from(items.is_empty()) })
    });
    let _ = reg.register("Graph.Send", |items: Vec<GraphItem>| async move {
        Ok::<_, String>(SimpleRpcResponse { code: i64::from(items.is_empty()) })
    });
    let _ =
        reg.register("Judge.Ping", |_: NullRpcRequest| async move { Err::<SimpleRpcResponse, _>("down".to_string()) });
    // A small message bound, so the too-large path is reachable with small inputs.
    let cfg = GobServerConfig { max_message: 4096, max_inflight_per_conn: 4, ..GobServerConfig::default() };
    GobServer::new(reg, cfg)
}

pub fn run(data: &[u8]) {
    let server = SERVER.with(Arc::clone);
    let before = counters(&server);
    let replies = block_on(async move {
        let (srv, cli) = tokio::io::duplex(16 << 10);
        let both = async { tokio::join!(server.serve_conn(srv, Shutdown::never()), client(cli, data)).1 };
        tokio::time::timeout(Duration::from_secs(10), both).await
    });
    // The server's counters tell how far the input got: calls read, error replies, a broken stream.
    let after = counters(&SERVER.with(Arc::clone));
    for (name, (a, b)) in ["calls", "errors", "bad"].iter().zip(after.iter().zip(before)) {
        note_n(name, (a - b) as usize);
    }
    let Some(replies) = replies else { return };
    let Ok(replies) = replies else { panic!("the gob connection did not end within 10 s of the input ending") };
    check_replies(&replies);
}

fn counters(s: &GobServer) -> [u64; 3] {
    let st = s.stats();
    [st.calls.load(Relaxed), st.error_replies.load(Relaxed), st.bad_streams.load(Relaxed)]
}

/// Writes the input, closes the write side, and reads replies until the server closes.
async fn client(io: DuplexStream, data: &[u8]) -> Vec<u8> {
    let (mut rd, mut wr) = tokio::io::split(io);
    let write = async {
        // The server may close early on a broken stream; the rest of the input is then refused.
        let _ = wr.write_all(data).await;
        let _ = wr.shutdown().await;
    };
    let read = async {
        let mut out = Vec::new();
        let _ = rd.read_to_end(&mut out).await;
        out
    };
    tokio::join!(write, read).1
}

/// Replies come as header/body pairs, definitions first; all of it must decode.
fn check_replies(bytes: &[u8]) {
    let msgs = split_messages(bytes).unwrap_or_else(|e| panic!("server replies do not split: {e}"));
    let mut dec = Decoder::new();
    let mut values = 0;
    for m in msgs {
        match dec.decode_message(m) {
            Ok(Message::TypeDef(_)) => {}
            Ok(Message::Value(_, v)) => {
                if values % 2 == 0 {
                    match ResponseHeader::from_gob(v) {
                        Ok(h) if h.error.is_empty() => note("reply:ok"),
                        Ok(h) => note_err("reply", &h.error),
                        Err(e) => panic!("reply header does not convert: {e}"),
                    }
                }
                values += 1;
            }
            Err(e) => panic!("server reply does not decode: {e}"),
        }
    }
    assert_eq!(values % 2, 0, "a reply header without its body");
    note_n("replies", values / 2);
}
