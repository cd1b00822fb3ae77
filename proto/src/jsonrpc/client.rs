//! A JSON-RPC client like Go's `rpc.Client` with the jsonrpc codec, plus the timeouts Go's callers add.
//!
//! One TCP connection per client, dialled lazily; request ids count from 0 on each new connection; calls may
//! overlap and replies are matched by id. A broken connection fails every pending call and the next call
//! redials. A call that times out also drops the connection (as every Go caller does: a wedged peer must not
//! keep a half-dead stream).

use super::envelope::{parse_response, write_request};
use super::frame::{FrameReader, DEFAULT_MAX_FRAME};
use crate::connect::BoxStream;
use crate::gojson::{self, GoDecode};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Client timeouts and limits.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Bound on connecting.
    pub dial_timeout: Duration,
    /// Bound on a whole call (send and reply).
    pub call_timeout: Duration,
    /// Largest reply accepted.
    pub max_frame: usize,
    /// How the stream is opened (TLS, for instance); plain TCP when None. The dial timeout covers it all.
    pub connector: Option<Arc<dyn crate::connect::Connector>>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            dial_timeout: Duration::from_secs(1),
            call_timeout: Duration::from_secs(10),
            max_frame: DEFAULT_MAX_FRAME,
            connector: None,
        }
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// Could not connect.
    #[error("dial {addr}: {reason}")]
    Dial {
        /// Target.
        addr: String,
        /// Cause.
        reason: String,
    },
    /// No reply within the call timeout.
    #[error("{addr}, call timeout")]
    Timeout {
        /// Target.
        addr: String,
    },
    /// The connection broke before the reply.
    #[error("connection to {addr} closed: {reason}")]
    Closed {
        /// Target.
        addr: String,
        /// Cause.
        reason: String,
    },
    /// The peer broke the protocol; the connection was dropped.
    #[error("protocol error from {addr}: {reason}")]
    Protocol {
        /// Target.
        addr: String,
        /// What was wrong.
        reason: String,
    },
    /// The server answered with an error.
    #[error("{0}")]
    Server(String),
    /// The arguments could not be encoded (NaN, for example).
    #[error("encode arguments: {0}")]
    Encode(String),
    /// The result could not be decoded into the reply type.
    #[error("decode reply: {0}")]
    Decode(String),
}

type Waiter = oneshot::Sender<Result<Vec<u8>, CallError>>;

#[derive(Default)]
struct Pending {
    next_id: u64,
    waiters: HashMap<u64, Waiter>,
    broken: Option<CallError>,
}

struct Conn {
    writer: tokio::sync::Mutex<tokio::io::WriteHalf<BoxStream>>,
    pending: Arc<Mutex<Pending>>,
    reader: JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Conn {
    /// Fails every waiter and refuses new calls.
    fn break_with(pending: &Mutex<Pending>, err: CallError) {
        let Ok(mut p) = pending.lock() else { return };
        if p.broken.is_none() {
            p.broken = Some(err.clone());
        }
        for (_, w) in p.waiters.drain() {
            let _ = w.send(Err(err.clone()));
        }
    }
}

/// A JSON-RPC client for one address.
pub struct Client {
    addr: String,
    cfg: ClientConfig,
    conn: tokio::sync::Mutex<Option<Arc<Conn>>>,
}

impl Client {
    /// A client for `addr`; nothing is dialled until the first call.
    pub fn new(addr: impl Into<String>, cfg: ClientConfig) -> Self {
        Client { addr: addr.into(), cfg, conn: tokio::sync::Mutex::new(None) }
    }

    /// The address it calls.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Connects now (calls do this themselves); useful to fail fast.
    pub async fn connect(&self) -> Result<(), CallError> {
        self.connection().await.map(|_| ())
    }

    /// Whether a live connection is open.
    pub async fn is_connected(&self) -> bool {
        match self.conn.lock().await.as_ref() {
            Some(c) => c.pending.lock().map(|p| p.broken.is_none()).unwrap_or(false),
            None => false,
        }
    }

    /// Drops the connection; the next call redials.
    pub async fn close(&self) {
        if let Some(c) = self.conn.lock().await.take() {
            Conn::break_with(
                &c.pending,
                CallError::Closed { addr: self.addr.clone(), reason: "closed by caller".into() },
            );
        }
    }

    async fn connection(&self) -> Result<Arc<Conn>, CallError> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            if c.pending.lock().map(|p| p.broken.is_none()).unwrap_or(false) {
                return Ok(c.clone());
            }
        }
        *slot = None;
        let stream = crate::connect::open(self.cfg.connector.as_ref(), &self.addr, self.cfg.dial_timeout)
            .await
            .map_err(|reason| CallError::Dial { addr: self.addr.clone(), reason })?;
        let (rd, wr) = tokio::io::split(stream);
        let pending = Arc::new(Mutex::new(Pending::default()));
        let reader = tokio::spawn(read_loop(rd, pending.clone(), self.addr.clone(), self.cfg.max_frame));
        let conn = Arc::new(Conn { writer: tokio::sync::Mutex::new(wr), pending, reader });
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Drops `conn` if it is still the current connection, failing its pending calls with `err`.
    async fn kill(&self, conn: &Arc<Conn>, err: CallError) {
        Conn::break_with(&conn.pending, err);
        let mut slot = self.conn.lock().await;
        if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
            *slot = None;
        }
    }

    /// Calls `method` with `args` (sent as `params:[args]`) and decodes the result into `R`.
    pub async fn call<A, R>(&self, method: &str, args: &A) -> Result<R, CallError>
    where
        A: Serialize + ?Sized,
        R: GoDecode + Default,
    {
        let args_json = gojson::to_vec(args).map_err(|e| CallError::Encode(gojson::strip_position(&e)))?;
        let raw = self.call_raw(method, &args_json).await?;
        gojson::from_slice::<R>(&raw).map_err(|e| CallError::Decode(e.0))
    }

    /// Calls with pre-encoded JSON arguments; returns the raw result JSON.
    pub async fn call_raw(&self, method: &str, args_json: &[u8]) -> Result<Vec<u8>, CallError> {
        let deadline = Instant::now() + self.cfg.call_timeout;
        let conn = tokio::time::timeout_at(deadline, self.connection())
            .await
            .map_err(|_| CallError::Timeout { addr: self.addr.clone() })??;
        let (id, rx) = {
            let mut p = conn
                .pending
                .lock()
                .map_err(|_| CallError::Closed { addr: self.addr.clone(), reason: "poisoned".into() })?;
            if let Some(e) = &p.broken {
                return Err(e.clone());
            }
            let id = p.next_id;
            p.next_id += 1;
            let (tx, rx) = oneshot::channel();
            p.waiters.insert(id, tx);
            (id, rx)
        };
        let mut msg = Vec::with_capacity(args_json.len() + method.len() + 48);
        write_request(&mut msg, method, args_json, id);
        let write = async {
            let mut w = conn.writer.lock().await;
            w.write_all(&msg).await
        };
        match tokio::time::timeout_at(deadline, write).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let err = CallError::Closed { addr: self.addr.clone(), reason: e.to_string() };
                self.kill(&conn, err.clone()).await;
                return Err(err);
            }
            Err(_) => {
                let err = CallError::Timeout { addr: self.addr.clone() };
                self.kill(&conn, err.clone()).await;
                return Err(err);
            }
        }
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(CallError::Closed { addr: self.addr.clone(), reason: "reader ended".into() }),
            Err(_) => {
                let err = CallError::Timeout { addr: self.addr.clone() };
                self.kill(&conn, err.clone()).await;
                Err(err)
            }
        }
    }
}

async fn read_loop(rd: tokio::io::ReadHalf<BoxStream>, pending: Arc<Mutex<Pending>>, addr: String, max_frame: usize) {
    let mut frames = FrameReader::new(rd, max_frame);
    let err = loop {
        let frame = match frames.next_frame().await {
            Ok(Some(f)) => f,
            Ok(None) => break CallError::Closed { addr, reason: "EOF".into() },
            Err(e) => break CallError::Closed { addr, reason: e.to_string() },
        };
        let resp = match parse_response(frame) {
            Ok(r) => r,
            Err(reason) => break CallError::Protocol { addr, reason },
        };
        let waiter = match pending.lock() {
            Ok(mut p) => p.waiters.remove(&resp.id),
            Err(_) => None,
        };
        // A reply nobody waits for (its call timed out) is dropped, as Go's client does.
        if let Some(w) = waiter {
            let _ = w.send(match resp.outcome {
                Ok(result) => Ok(result.as_bytes().to_vec()),
                Err(text) => Err(CallError::Server(text)),
            });
        }
    };
    Conn::break_with(&pending, err);
}
