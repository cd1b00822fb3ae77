//! Host writes, coalesced. Go's HBS runs one `INSERT ... ON DUPLICATE KEY UPDATE` per heartbeat that changed
//! something, from the RPC goroutine: 10,000 agents starting at once are 10,000 statements and as many
//! connections (falcon-plus#183, #361). Here a heartbeat only queues its report, one entry per host (a newer
//! report replaces the queued one); a loop writes the queue at most once a second, up to [`MAX_BATCH`] hosts in
//! one statement or transaction. While the database is away the reports wait, bounded by [`MAX_QUEUED`] (the
//! oldest dropped past it, counted and logged) and land when it returns.

use crate::store::{DbError, Store};
use falcon_proto::model::AgentReportRequest;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Most hosts waiting to be written.
pub const MAX_QUEUED: usize = 100_000;
/// Most hosts in one write.
pub const MAX_BATCH: usize = 10_000;

#[derive(Default)]
struct Queue {
    order: VecDeque<String>,
    pending: HashMap<String, AgentReportRequest>,
}

/// Counters, shown by `/counter/hostwrites`.
#[derive(Debug, Default)]
pub struct HostWriteStats {
    /// Reports queued.
    pub queued: AtomicU64,
    /// Host rows written.
    pub written: AtomicU64,
    /// Writes (statements or transactions) executed.
    pub writes: AtomicU64,
    /// Writes that failed (the batch was put back).
    pub failed_writes: AtomicU64,
    /// Reports dropped because the queue was full.
    pub dropped: AtomicU64,
}

/// The queue.
#[derive(Default)]
pub struct HostWrites {
    queue: Mutex<Queue>,
    /// Counters.
    pub stats: HostWriteStats,
}

impl HostWrites {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        match self.queue.lock() {
            Ok(q) => q,
            Err(p) => p.into_inner(),
        }
    }

    /// Queues a report; a report already queued for the host is replaced in place.
    pub fn push(&self, r: AgentReportRequest) {
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        let mut q = self.lock();
        if let Some(slot) = q.pending.get_mut(&r.hostname) {
            *slot = r;
            return;
        }
        if q.order.len() >= MAX_QUEUED {
            if let Some(old) = q.order.pop_front() {
                q.pending.remove(&old);
                let n = self.stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n == 1 || n.is_power_of_two() {
                    tracing::warn!(dropped = n, host = %old, "host write queue full: oldest report dropped");
                }
            }
        }
        q.order.push_back(r.hostname.clone());
        q.pending.insert(r.hostname.clone(), r);
    }

    /// Reports waiting.
    pub fn len(&self) -> usize {
        self.lock().order.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn take(&self, max: usize) -> Vec<AgentReportRequest> {
        let mut q = self.lock();
        let n = q.order.len().min(max);
        let hosts: Vec<String> = q.order.drain(..n).collect();
        hosts.into_iter().filter_map(|h| q.pending.remove(&h)).collect()
    }

    /// Puts a failed batch back at the front, unless a newer report for the host arrived meanwhile.
    fn put_back(&self, batch: Vec<AgentReportRequest>) {
        let mut q = self.lock();
        for r in batch.into_iter().rev() {
            if q.pending.contains_key(&r.hostname) {
                continue;
            }
            q.order.push_front(r.hostname.clone());
            q.pending.insert(r.hostname.clone(), r);
        }
        while q.order.len() > MAX_QUEUED {
            if let Some(h) = q.order.pop_back() {
                q.pending.remove(&h);
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Writes up to [`MAX_BATCH`] queued reports in one call; on failure they go back to the queue. Returns how
    /// many hosts were new.
    pub fn flush(&self, store: &dyn Store, update_only: bool) -> Result<usize, DbError> {
        let batch = self.take(MAX_BATCH);
        if batch.is_empty() {
            return Ok(0);
        }
        self.stats.writes.fetch_add(1, Ordering::Relaxed);
        match store.write_hosts(&batch, update_only) {
            Ok(inserted) => {
                self.stats.written.fetch_add(batch.len() as u64, Ordering::Relaxed);
                Ok(inserted)
            }
            Err(e) => {
                self.stats.failed_writes.fetch_add(1, Ordering::Relaxed);
                self.put_back(batch);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    fn report(host: &str, ip: &str) -> AgentReportRequest {
        AgentReportRequest {
            hostname: host.into(),
            ip: ip.into(),
            agent_version: "v".into(),
            plugin_version: "p".into(),
        }
    }

    #[test]
    fn coalesces_per_host_and_writes_in_one_batch() {
        let db = Db::memory().unwrap();
        let w = HostWrites::default();
        w.push(report("a", "1"));
        w.push(report("b", "1"));
        w.push(report("a", "2"));
        assert_eq!(w.len(), 2);
        assert_eq!(w.flush(&db, false).unwrap(), 2);
        assert!(w.is_empty());
        assert_eq!(w.stats.writes.load(Ordering::Relaxed), 1);
        let ip: String = db.conn().query_row("SELECT ip FROM host WHERE hostname='a'", [], |r| r.get(0)).unwrap();
        assert_eq!(ip, "2", "the newer report wins");
        assert_eq!(w.flush(&db, false).unwrap(), 0, "nothing queued, nothing written");
        assert_eq!(w.stats.writes.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_failed_write_keeps_the_batch_and_newer_reports_win() {
        let db = Db::memory().unwrap();
        db.conn().execute_batch("ALTER TABLE host RENAME TO host_away").unwrap();
        let w = HostWrites::default();
        w.push(report("a", "1"));
        w.push(report("b", "1"));
        assert!(w.flush(&db, false).is_err());
        assert_eq!(w.len(), 2);
        w.push(report("a", "3"));
        db.conn().execute_batch("ALTER TABLE host_away RENAME TO host").unwrap();
        assert_eq!(w.flush(&db, false).unwrap(), 2);
        let ip: String = db.conn().query_row("SELECT ip FROM host WHERE hostname='a'", [], |r| r.get(0)).unwrap();
        assert_eq!(ip, "3");
        assert_eq!(w.stats.failed_writes.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn the_bound_drops_the_oldest() {
        let w = HostWrites::default();
        for i in 0..MAX_QUEUED + 3 {
            w.push(report(&format!("h{i}"), "1"));
        }
        assert_eq!(w.len(), MAX_QUEUED);
        assert_eq!(w.stats.dropped.load(Ordering::Relaxed), 3);
        assert_eq!(w.take(1)[0].hostname, "h3");
    }
}
