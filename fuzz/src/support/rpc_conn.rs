//! One JSON-RPC connection to a real server loop (`jsonrpc::Server::serve_conn`) over an in-memory stream:
//! the input is what the client writes (in small writes, then it closes its side), and every reply the server
//! writes is read back and checked.

use crate::feedback::{note, note_err, note_n};
use crate::support::chunked::run_ready;
use crate::support::runtime::block_on;
use falcon_proto::jsonrpc::envelope::parse_response;
use falcon_proto::jsonrpc::frame::FrameReader;
use falcon_proto::jsonrpc::{Server, ServerConfig};
use falcon_runtime::shutdown::Shutdown;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// The servers' limits in the targets: a small frame bound, so the too-large path is reachable.
pub fn server_config() -> ServerConfig {
    ServerConfig { max_frame: 4096, ..ServerConfig::default() }
}

/// Serves `data` as one connection and returns what the server wrote (None without a runtime). A connection
/// that does not end within 10 s of the input ending is a finding.
pub fn converse(server: Arc<Server>, data: &[u8]) -> Option<Vec<u8>> {
    let replies = block_on(async move {
        let (srv, cli) = tokio::io::duplex(16 << 10);
        let both = async { tokio::join!(server.serve_conn(srv, Shutdown::never()), client(cli, data)).1 };
        tokio::time::timeout(Duration::from_secs(10), both).await
    })?;
    match replies {
        Ok(r) => Some(r),
        Err(_) => panic!("the JSON-RPC connection did not end within 10 s of the input ending"),
    }
}

async fn client(io: DuplexStream, data: &[u8]) -> Vec<u8> {
    let (mut rd, mut wr) = tokio::io::split(io);
    let write = async {
        // Small writes: the server sees requests split across reads.
        for chunk in data.chunks(61) {
            if wr.write_all(chunk).await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
    };
    let read = async {
        let mut out = Vec::new();
        let _ = rd.read_to_end(&mut out).await;
        out
    };
    tokio::join!(write, read).1
}

/// Each reply is one JSON object with Go's three keys; when the request's id was one Go's client can send (an
/// unsigned integer or null), the reply is one Go's client accepts.
pub fn check_replies(bytes: &[u8]) {
    let mut frames = FrameReader::new(bytes, usize::MAX);
    let mut n = 0;
    loop {
        let f = match run_ready(frames.next_frame()) {
            Some(Ok(Some(f))) => f,
            Some(Ok(None)) => break,
            other => panic!("replies do not frame: {other:?}"),
        };
        n += 1;
        // Raw values: the id is echoed as sent, and JSON allows numbers no float holds (`-1e400`).
        let v: HashMap<String, Box<RawValue>> = serde_json::from_slice(f)
            .unwrap_or_else(|e| panic!("a reply is not JSON: {e}: {}", String::from_utf8_lossy(f)));
        let text = || String::from_utf8_lossy(f).into_owned();
        assert!(["id", "result", "error"].iter().all(|k| v.contains_key(*k)), "a reply without Go's keys: {}", text());
        let go_id = v.get("id").is_some_and(|id| id.get() == "null" || id.get().parse::<u64>().is_ok());
        match parse_response(f) {
            Ok(r) => match r.outcome {
                Ok(_) => note("ok"),
                Err(e) => note_err("error", &e),
            },
            Err(e) if go_id => panic!("a reply Go's client would refuse: {e}: {}", text()),
            Err(_) => note("odd-id"),
        }
    }
    note_n("replies", n);
}
