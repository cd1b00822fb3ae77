//! The buffered sender: every batch (a collector group, a plugin run, a `/v1/push`) becomes one
//! `Transfer.Update` call, tried against `transfer.addrs` in a fresh random order until one accepts.
//!
//! Go drops a batch when every transfer fails. Here it stays at the head of a bounded queue and is retried
//! with backoff, oldest first, so batches arrive in order once a transfer answers again; only the bound drops
//! (the oldest batches, counted and logged). With a spool directory the queue is mirrored on disk (see
//! [`crate::spool`]) and survives a restart.

use crate::spool::Spool;
use falcon_proto::jsonrpc::client::{Client, ClientConfig};
use falcon_proto::model::{MetricValue, TransferResponse};
use falcon_runtime::ratelog::RateLimited;
use falcon_runtime::shutdown::Shutdown;
use serde::Serialize;
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// One queued call.
struct Batch {
    id: u64,
    items: usize,
    body: Arc<[u8]>,
    spooled: bool,
}

#[derive(Default)]
struct Queue {
    batches: VecDeque<Batch>,
    items: usize,
    next_id: u64,
    /// Spooled batches delivered since the spool file was last rewritten.
    delivered_in_file: usize,
}

/// Counters shown by `/counter/sender` and logged.
#[derive(Debug, Default, Serialize)]
pub struct SenderStats {
    /// Batches handed to the sender.
    pub batches_in: AtomicU64,
    /// Items handed to the sender.
    pub items_in: AtomicU64,
    /// Batches a transfer accepted.
    pub batches_sent: AtomicU64,
    /// Items a transfer accepted.
    pub items_sent: AtomicU64,
    /// Items transfer reported invalid (Invalid of the replies).
    pub items_invalid: AtomicU64,
    /// Delivery rounds in which every transfer failed.
    pub rounds_failed: AtomicU64,
    /// Items dropped because the buffer was full.
    pub items_dropped: AtomicU64,
    /// Batches that could not be encoded.
    pub batches_unencodable: AtomicU64,
    /// Items waiting now.
    pub items_buffered: AtomicU64,
}

/// Sender settings.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// Transfer addresses.
    pub addrs: Vec<String>,
    /// Dial timeout.
    pub dial_timeout: Duration,
    /// Call timeout (Go: 10 s).
    pub call_timeout: Duration,
    /// Buffer bound in items.
    pub max_items: usize,
    /// First retry delay after a failed round; doubles up to `max_backoff`.
    pub min_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// How streams to the transfers are opened (TLS); plain TCP when None.
    pub connector: Option<Arc<dyn falcon_proto::connect::Connector>>,
}

/// The sender.
pub struct Sender {
    cfg: SenderConfig,
    clients: Vec<Client>,
    queue: Mutex<Queue>,
    spool: Mutex<Option<Spool>>,
    wake: Notify,
    /// Counters.
    pub stats: SenderStats,
    drop_log: RateLimited,
    /// The last batch a transfer accepted: when, and which transfer.
    pub last_sent: falcon_runtime::latest::Latest,
    /// The last failed `Transfer.Update`: when, the address and the error.
    pub last_error: falcon_runtime::latest::Latest,
}

/// Rewrite the spool file after this many of its batches were delivered.
const SPOOL_REWRITE_AFTER: usize = 64;

impl Sender {
    /// Bytes in the spool file (0 without a spool).
    pub fn spool_bytes(&self) -> u64 {
        let sp = match self.spool.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        sp.as_ref().map(|s| s.bytes()).unwrap_or(0)
    }

    /// A sender; `spool` (already opened) is loaded into the queue.
    pub fn new(cfg: SenderConfig, spool: Option<Spool>) -> Arc<Sender> {
        let client_cfg = ClientConfig {
            dial_timeout: cfg.dial_timeout,
            call_timeout: cfg.call_timeout,
            connector: cfg.connector.clone(),
            ..ClientConfig::default()
        };
        let clients = cfg.addrs.iter().map(|a| Client::new(a.clone(), client_cfg.clone())).collect();
        let s = Arc::new(Sender {
            cfg,
            clients,
            queue: Mutex::new(Queue::default()),
            spool: Mutex::new(None),
            wake: Notify::new(),
            stats: SenderStats::default(),
            drop_log: RateLimited::new(Duration::from_secs(10)),
            last_sent: Default::default(),
            last_error: Default::default(),
        });
        if let Some(sp) = spool {
            s.load_spool(sp);
        }
        s
    }

    fn load_spool(&self, sp: Spool) {
        match sp.load() {
            Ok(l) => {
                if l.corrupt > 0 {
                    tracing::warn!(lines = l.corrupt, file = %sp.path().display(), "torn spool lines skipped");
                }
                let n = l.batches.len();
                let mut q = self.lock_queue();
                for (body, items) in l.batches {
                    let id = q.next_id;
                    q.next_id += 1;
                    q.items += items;
                    q.batches.push_back(Batch { id, items, body: body.into(), spooled: true });
                }
                if n > 0 {
                    tracing::info!(batches = n, items = q.items, "undelivered batches loaded from the spool");
                }
                self.trim(&mut q);
                self.stats.items_buffered.store(q.items as u64, Relaxed);
            }
            Err(e) => tracing::error!(file = %sp.path().display(), error = %e, "cannot read the spool"),
        }
        if let Ok(mut slot) = self.spool.lock() {
            *slot = Some(sp);
        }
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        match self.queue.lock() {
            Ok(q) => q,
            Err(p) => p.into_inner(),
        }
    }

    /// Drops the oldest batches (never the last one) until the buffer is within its bound.
    fn trim(&self, q: &mut Queue) {
        let mut dropped = 0usize;
        while q.items > self.cfg.max_items && q.batches.len() > 1 {
            if let Some(b) = q.batches.pop_front() {
                q.items -= b.items;
                dropped += b.items;
            }
        }
        if dropped > 0 {
            self.stats.items_dropped.fetch_add(dropped as u64, Relaxed);
            if let Some(suppressed) = self.drop_log.check() {
                tracing::warn!(
                    items = dropped,
                    total_dropped = self.stats.items_dropped.load(Relaxed),
                    suppressed,
                    "send buffer full: oldest items dropped"
                );
            }
        }
    }

    /// Queues one batch (nothing for an empty one).
    pub fn submit(&self, items: &[MetricValue]) {
        if items.is_empty() {
            return;
        }
        let body = match falcon_proto::gojson::to_vec(items) {
            Ok(b) => b,
            Err(e) => {
                self.stats.batches_unencodable.fetch_add(1, Relaxed);
                tracing::error!(error = %e, items = items.len(), "batch cannot be encoded; dropped");
                return;
            }
        };
        self.stats.batches_in.fetch_add(1, Relaxed);
        self.stats.items_in.fetch_add(items.len() as u64, Relaxed);
        {
            let mut q = self.lock_queue();
            let id = q.next_id;
            q.next_id += 1;
            q.items += items.len();
            q.batches.push_back(Batch { id, items: items.len(), body: body.into(), spooled: false });
            self.trim(&mut q);
            self.stats.items_buffered.store(q.items as u64, Relaxed);
        }
        self.wake.notify_one();
    }

    /// Items waiting.
    pub fn buffered(&self) -> usize {
        self.lock_queue().items
    }

    /// Batches waiting (in memory or written to the spool) and their items.
    pub fn waiting(&self) -> (usize, usize) {
        let q = self.lock_queue();
        (q.batches.len(), q.items)
    }

    /// Delivers queued batches until `shutdown`, then spools what is left.
    pub async fn run(self: Arc<Self>, mut shutdown: Shutdown) {
        let mut backoff = self.cfg.min_backoff;
        loop {
            let head = {
                let q = self.lock_queue();
                q.batches.front().map(|b| (b.id, b.items, b.body.clone()))
            };
            let Some((id, items, body)) = head else {
                tokio::select! {
                    _ = self.wake.notified() => continue,
                    _ = shutdown.wait() => break,
                }
            };
            let delivered = tokio::select! {
                r = self.deliver(&body) => r,
                _ = shutdown.wait() => break,
            };
            if let Some(reply) = delivered {
                backoff = self.cfg.min_backoff;
                self.stats.batches_sent.fetch_add(1, Relaxed);
                self.stats.items_sent.fetch_add(items as u64, Relaxed);
                self.stats.items_invalid.fetch_add(reply.invalid.max(0) as u64, Relaxed);
                self.delivered(id);
            } else {
                self.stats.rounds_failed.fetch_add(1, Relaxed);
                self.spool_pending();
                tracing::warn!(
                    buffered = self.buffered(),
                    retry_in_ms = backoff.as_millis() as u64,
                    "no transfer accepted the batch; kept for retry"
                );
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait() => break,
                }
                backoff = (backoff * 2).min(self.cfg.max_backoff);
            }
        }
        self.spool_pending();
        let left = self.buffered();
        if left > 0 {
            let spooled = self.spool.lock().map(|s| s.is_some()).unwrap_or(false);
            if spooled {
                tracing::info!(items = left, "undelivered items kept in the spool");
            } else {
                tracing::warn!(items = left, "undelivered items lost at exit (no spool configured)");
            }
        }
    }

    /// One round: each address once, in a fresh random order.
    async fn deliver(&self, body: &[u8]) -> Option<TransferResponse> {
        for i in shuffled(self.clients.len()) {
            let c = &self.clients[i];
            match c.call_raw("Transfer.Update", body).await {
                Ok(raw) => {
                    let reply: TransferResponse = falcon_proto::gojson::from_slice(&raw).unwrap_or_default();
                    tracing::debug!(addr = c.addr(), total = reply.total, invalid = reply.invalid, "sent");
                    self.last_sent.set(falcon_runtime::timefmt::now_unix(), c.addr());
                    return Some(reply);
                }
                Err(e) => {
                    tracing::warn!(addr = c.addr(), error = %e, "Transfer.Update failed");
                    self.last_error.set(falcon_runtime::timefmt::now_unix(), &format!("{}: {e}", c.addr()));
                }
            }
        }
        None
    }

    fn delivered(&self, id: u64) {
        let mut q = self.lock_queue();
        // The batch may have been dropped by the bound while it was in flight.
        if q.batches.front().is_some_and(|b| b.id == id) {
            if let Some(b) = q.batches.pop_front() {
                q.items -= b.items;
                if b.spooled {
                    q.delivered_in_file += 1;
                }
            }
        }
        self.stats.items_buffered.store(q.items as u64, Relaxed);
        let rewrite = q.delivered_in_file > 0 && (q.batches.is_empty() || q.delivered_in_file >= SPOOL_REWRITE_AFTER);
        if rewrite {
            if let Ok(mut sp) = self.spool.lock() {
                if let Some(sp) = sp.as_mut() {
                    let keep: Vec<&[u8]> = q.batches.iter().filter(|b| b.spooled).map(|b| &b.body[..]).collect();
                    if let Err(e) = sp.rewrite(keep) {
                        tracing::error!(error = %e, "cannot rewrite the spool");
                    }
                }
            }
            q.delivered_in_file = 0;
        }
    }

    /// Writes every batch not yet on disk to the spool (if there is one), within its byte bound.
    fn spool_pending(&self) {
        let Ok(mut sp) = self.spool.lock() else { return };
        let Some(sp) = sp.as_mut() else { return };
        let mut q = self.lock_queue();
        let fresh: usize = q.batches.iter().filter(|b| !b.spooled).map(|b| b.body.len() + 1).sum();
        if fresh == 0 {
            return;
        }
        if !sp.fits(fresh as u64) {
            // Compact to what is still queued, then drop the oldest until the rest fits.
            let mut need: u64 = q.batches.iter().map(|b| b.body.len() as u64 + 1).sum();
            let mut dropped = 0;
            while q.batches.len() > 1 && need > sp.max_bytes() {
                if let Some(b) = q.batches.pop_front() {
                    need -= b.body.len() as u64 + 1;
                    q.items -= b.items;
                    dropped += b.items;
                }
            }
            if dropped > 0 {
                self.stats.items_dropped.fetch_add(dropped as u64, Relaxed);
                tracing::warn!(items = dropped, "spool full: oldest items dropped");
            }
            let all: Vec<&[u8]> = q.batches.iter().map(|b| &b.body[..]).collect();
            if let Err(e) = sp.rewrite(all) {
                tracing::error!(error = %e, "cannot write the spool");
                return;
            }
            q.delivered_in_file = 0;
            for b in q.batches.iter_mut() {
                b.spooled = true;
            }
            self.stats.items_buffered.store(q.items as u64, Relaxed);
            return;
        }
        let fresh_bodies: Vec<&[u8]> = q.batches.iter().filter(|b| !b.spooled).map(|b| &b.body[..]).collect();
        match sp.append(fresh_bodies) {
            Ok(()) => {
                for b in q.batches.iter_mut() {
                    b.spooled = true;
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot append to the spool"),
        }
    }
}

/// A random permutation of 0..n (a fresh order for every batch, as Go's `rand.Perm`).
pub fn shuffled(n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let mut seed = std::collections::hash_map::RandomState::new().build_hasher().finish() | 1;
    for i in (1..n).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffles_cover_every_order() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..500 {
            let p = shuffled(3);
            let mut s = p.clone();
            s.sort();
            assert_eq!(s, [0, 1, 2]);
            seen.insert(p);
        }
        assert_eq!(seen.len(), 6);
        assert!(shuffled(0).is_empty());
    }

    fn item(i: i64) -> MetricValue {
        MetricValue { endpoint: "h".into(), metric: "m".into(), step: 60, timestamp: i, ..Default::default() }
    }

    #[test]
    fn the_bound_drops_oldest_and_counts() {
        let cfg = SenderConfig {
            addrs: vec![],
            dial_timeout: Duration::from_millis(10),
            call_timeout: Duration::from_millis(10),
            max_items: 5,
            min_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
            connector: None,
        };
        let s = Sender::new(cfg, None);
        s.submit(&[item(1), item(2)]);
        s.submit(&[item(3), item(4)]);
        s.submit(&[]);
        assert_eq!(s.buffered(), 4);
        s.submit(&[item(5), item(6)]);
        assert_eq!(s.buffered(), 4);
        assert_eq!(s.stats.items_dropped.load(Relaxed), 2);
        let q = s.lock_queue();
        assert!(std::str::from_utf8(&q.batches[0].body).unwrap().contains("\"timestamp\":3"));
    }
}
