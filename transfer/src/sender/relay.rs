//! Transfer-to-transfer relay (HEAD's `transfer` section): `Transfer.Update` over JSON-RPC to the first of the
//! cluster's transfers that takes the batch, starting at a random one and skipping those with `maxConns`
//! calls in flight.

use super::lane::{Deliver, SendError};
use crate::point::{relay_value, Point};
use falcon_proto::jsonrpc::CallError;
use falcon_proto::model::{MetricValue, TransferResponse};
use falcon_proto::pool::{ConnPool, JsonRpcDialer, PoolCallError};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// One receiving transfer.
pub struct RelayHost {
    /// Its name in the config.
    pub name: String,
    /// Connections to it.
    pub pool: Arc<ConnPool<JsonRpcDialer>>,
    inflight: AtomicUsize,
}

impl RelayHost {
    /// A host with its pool.
    pub fn new(name: String, pool: Arc<ConnPool<JsonRpcDialer>>) -> Self {
        RelayHost { name, pool, inflight: AtomicUsize::new(0) }
    }
}

/// Sends batches to the cluster of transfers.
pub struct RelayDeliver {
    /// The transfers, in name order.
    pub hosts: Vec<RelayHost>,
    /// Calls in flight per host at most.
    pub max_conns: usize,
    seed: AtomicU64,
}

impl RelayDeliver {
    /// A relay over `hosts`.
    pub fn new(hosts: Vec<RelayHost>, max_conns: usize) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15)
            | 1;
        RelayDeliver { hosts, max_conns: max_conns.max(1), seed: AtomicU64::new(seed) }
    }

    /// A pseudo-random start index (xorshift; only spreads load).
    fn start(&self) -> usize {
        let mut x = self.seed.load(Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed.store(x, Relaxed);
        (x % self.hosts.len().max(1) as u64) as usize
    }
}

impl Deliver for RelayDeliver {
    async fn send(&self, batch: &[Arc<Point>]) -> Result<(), SendError> {
        let items: Vec<MetricValue> = batch.iter().map(|p| relay_value(p)).collect();
        let items = &items;
        let n = self.hosts.len();
        let start = self.start();
        let mut last = SendError::Transport("every transfer busy".into());
        for i in 0..n {
            let host = &self.hosts[(start + i) % n];
            if host.inflight.fetch_add(1, Relaxed) >= self.max_conns {
                host.inflight.fetch_sub(1, Relaxed);
                continue;
            }
            let r = host
                .pool
                .call_with(|c| async move {
                    let r = c.call::<_, TransferResponse>("Transfer.Update", items).await;
                    (c, r)
                })
                .await;
            host.inflight.fetch_sub(1, Relaxed);
            match r {
                // Invalid > 0 still counts as delivered, as in Go.
                Ok(_) => return Ok(()),
                Err(PoolCallError::Call(CallError::Server(text))) => {
                    last = SendError::Rejected(format!("{}: {text}", host.name))
                }
                Err(e) => last = SendError::Transport(format!("{}: {e}", host.name)),
            }
        }
        Err(last)
    }
}
