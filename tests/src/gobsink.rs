//! A gob judge/graph node for load runs: it answers every `Send` the way Go's `rpc.ServeConn` does and counts the
//! items of each argument without decoding them (it reads the slice length), so nearly all its CPU is socket
//! work. It can be stopped (listener and every connection closed, as a killed node) and started again on the
//! same address.

use falcon_proto::gob::decode::{Decoder, Message};
use falcon_proto::gob::stream::MessageReader;
use falcon_proto::gob::wire::Reader;
use falcon_proto::gob::{Encoder, FromGob, RequestHeader, ResponseHeader};
use falcon_proto::model::SimpleRpcResponse;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

/// A running sink; stopped when dropped.
pub struct GobSink {
    /// Where it listens.
    pub addr: String,
    stop: watch::Sender<bool>,
}

impl GobSink {
    /// Listens on `bind` (`127.0.0.1:0` for a free port) and adds every item received to `counter`.
    pub async fn start(bind: &str, counter: Arc<AtomicU64>) -> std::io::Result<GobSink> {
        let l = tokio::net::TcpListener::bind(bind).await?;
        let addr = l.local_addr()?.to_string();
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(accept(l, counter, stopped));
        Ok(GobSink { addr, stop })
    }

    /// Closes the listener and every connection.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for GobSink {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn accept(l: tokio::net::TcpListener, counter: Arc<AtomicU64>, mut stopped: watch::Receiver<bool>) {
    loop {
        let s = tokio::select! {
            r = l.accept() => match r { Ok((s, _)) => s, Err(_) => continue },
            _ = stopped.changed() => return,
        };
        let (counter, mut stopped) = (counter.clone(), stopped.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = serve(s, counter) => {}
                _ = stopped.changed() => {}
            }
        });
    }
}

async fn serve(s: tokio::net::TcpStream, counter: Arc<AtomicU64>) {
    let _ = s.set_nodelay(true);
    let (rd, mut wr) = s.into_split();
    let mut reader = MessageReader::new(rd, 64 << 20);
    let mut dec = Decoder::new();
    let mut enc = Encoder::new();
    let mut out = Vec::new();
    let mut header: Option<RequestHeader> = None;
    while let Ok(Some(msg)) = reader.next_message().await {
        let mut r = Reader::new(msg);
        let Ok(id) = r.int() else { return };
        if header.is_none() || id < 0 {
            // Type definitions and the small header go through the decoder.
            match dec.decode_message(msg) {
                Ok(Message::Value(_, v)) => header = RequestHeader::from_gob(v).ok(),
                Ok(Message::TypeDef(_)) => {}
                Err(_) => return,
            }
            continue;
        }
        // The argument: skip the singleton delta, read the slice length.
        let n = r.uint().and_then(|_| r.uint()).unwrap_or(0);
        counter.fetch_add(n, Relaxed);
        let Some(h) = header.take() else { return };
        out.clear();
        enc.encode(&ResponseHeader { service_method: h.service_method, seq: h.seq, error: String::new() }, &mut out);
        enc.encode(&SimpleRpcResponse { code: 0 }, &mut out);
        if wr.write_all(&out).await.is_err() {
            return;
        }
    }
}
