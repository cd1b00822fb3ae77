//! One send queue and the loop that empties it: a judge node, a graph node's address, tsdb, or the relay.
//!
//! The loop pops batches of `batch` items (oldest first) and runs up to `concurrency` deliveries at once. A
//! delivery makes `attempts` tries with a short pause between them, as Go does. What happens when they all
//! fail is where we part from Go, which drops the batch:
//! - the peer answered with an error (it received the batch and refused it): the items are counted as failed
//!   and logged, as in Go;
//! - the peer could not be reached, timed out or broke the stream: the batch goes back to the oldest end of its
//!   queue and the lane pauses with a growing backoff (200 ms doubling to 5 s), so a node that is down keeps
//!   its data queued (within the queue bound) and gets it when it comes back.
//!
//! A lane with a [`Spool`] keeps what its queue cannot hold on disk instead of dropping it: once anything is on
//! disk, new items go there too, and the loop moves them back into the queue, oldest first, whenever the queue
//! is less than half full. A batch put back after a failure then always fits (the queue may exceed its bound
//! by what was in flight), so order is kept. At shutdown what is left in memory is written in front of the spool.
//!
//! Each lane also counts, per batch, what it delivered, had refused, dropped and put back, and keeps the text and
//! time of its last failed attempt, for the page's lane table (`/page/lanes`).

use crate::point::Point;
use crate::queue::SendQueue;
use crate::spool::Spool;
use crate::stats::{QpsCounter, Stats};
use falcon_runtime::ratelog::RateLimited;
use falcon_runtime::timefmt::now_unix;
use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Which output a lane feeds (selects its counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Judge.Send
    Judge,
    /// Graph.Send
    Graph,
    /// OpenTSDB put lines
    Tsdb,
    /// Transfer.Update to other transfers
    Transfer,
    /// The local NDJSON archive (ours)
    Archive,
    /// Prometheus remote write (ours)
    RemoteWrite,
    /// InfluxDB line protocol (HEAD)
    Influxdb,
    /// P8sRelay.Send to falcon2p8s (HEAD)
    P8sRelay,
}

impl Output {
    /// The name used in logs.
    pub fn name(self) -> &'static str {
        match self {
            Output::Judge => "judge",
            Output::Graph => "graph",
            Output::Tsdb => "tsdb",
            Output::Transfer => "transfer",
            Output::Archive => "archive",
            Output::RemoteWrite => "remoteWrite",
            Output::Influxdb => "influxdb",
            Output::P8sRelay => "p8s_relay",
        }
    }

    /// (delivered, failed, dropped, requeued) counters of this output.
    pub fn counters(self, s: &Stats) -> (&QpsCounter, &QpsCounter, &QpsCounter, &QpsCounter) {
        match self {
            Output::Judge => (&s.send_to_judge, &s.judge_fail, &s.judge_drop, &s.judge_requeued),
            Output::Graph => (&s.send_to_graph, &s.graph_fail, &s.graph_drop, &s.graph_requeued),
            Output::Tsdb => (&s.send_to_tsdb, &s.tsdb_fail, &s.tsdb_drop, &s.tsdb_requeued),
            Output::Transfer => (&s.send_to_transfer, &s.transfer_fail, &s.transfer_drop, &s.transfer_requeued),
            Output::Archive => (&s.send_to_archive, &s.archive_fail, &s.archive_drop, &s.archive_requeued),
            Output::RemoteWrite => {
                (&s.send_to_remote_write, &s.remote_write_fail, &s.remote_write_drop, &s.remote_write_requeued)
            }
            Output::Influxdb => (&s.send_to_influxdb, &s.influxdb_fail, &s.influxdb_drop, &s.influxdb_requeued),
            Output::P8sRelay => (&s.send_to_p8s_relay, &s.p8s_relay_fail, &s.p8s_relay_drop, &s.p8s_relay_requeued),
        }
    }

    fn log_site(self) -> &'static RateLimited {
        static SITES: [RateLimited; 8] = [const { RateLimited::new(Duration::from_secs(10)) }; 8];
        &SITES[self as usize]
    }
}

/// Why one delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Not delivered: unreachable, timed out, broken stream. The batch is kept.
    Transport(String),
    /// Delivered and refused by the peer. The batch is counted as failed.
    Rejected(String),
}

/// Delivers one batch in one attempt.
pub trait Deliver: Send + Sync + 'static {
    /// One attempt.
    fn send(&self, batch: &[Arc<Point>]) -> impl Future<Output = Result<(), SendError>> + Send;
}

/// How long a lane waits for a partial batch to fill before sending it. Sending whatever one request brought
/// would mean several small calls per request (a 100-item request over two nodes makes two 50-item calls);
/// Go's loop gets its batching from sleeping 50 ms whenever a queue is empty; this is the same bound.
pub const LINGER: Duration = Duration::from_millis(50);

/// How a lane sends.
#[derive(Debug, Clone, Copy)]
pub struct LanePolicy {
    /// Items per delivery.
    pub batch: usize,
    /// Deliveries at once.
    pub concurrency: usize,
    /// Tries per delivery.
    pub attempts: usize,
    /// Pause between tries.
    pub pause: Duration,
}

const BACKOFF_START: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// The longest last-error text a lane keeps, in characters (a peer's error text can be anything).
pub const LAST_ERROR_MAX: usize = 300;

/// The lane's pause after failures to reach its peer.
#[derive(Debug, Default)]
struct Pause {
    /// No delivery starts before this.
    until: Option<Instant>,
    /// The first failure since the last delivery.
    since: Option<Instant>,
}

/// A lane's own counts since start (the output's counters sum them, but for graph's and the p8s relay's
/// drops, which Go counts once per item however many of a node's addresses refused it).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LaneCounts {
    /// Items delivered.
    pub sent: u64,
    /// Items the peer refused.
    pub failed: u64,
    /// Items dropped: queue or spool full, or put back into a full queue.
    pub dropped: u64,
    /// Items put back in the queue after a transport failure.
    pub requeued: u64,
}

#[derive(Debug, Default)]
struct Counts {
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    requeued: AtomicU64,
}

impl Counts {
    fn add(c: &AtomicU64, n: usize) {
        if n > 0 {
            c.fetch_add(n as u64, Relaxed);
        }
    }
}

/// The last failed delivery attempt of a lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastError {
    /// What went wrong, at most [`LAST_ERROR_MAX`] characters.
    pub text: String,
    /// When (Unix seconds).
    pub at: i64,
}

impl LastError {
    /// The record of `e` at `at`.
    pub fn new(e: &SendError, at: i64) -> Self {
        let text = match e {
            SendError::Transport(reason) => bounded(reason, LAST_ERROR_MAX),
            SendError::Rejected(reason) => bounded(&format!("refused: {reason}"), LAST_ERROR_MAX),
        };
        LastError { text, at }
    }
}

/// `text` cut to at most `max` characters (the last one an ellipsis when cut).
fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some(_) => {
            let keep = max.saturating_sub(1);
            let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
            format!("{}…", &text[..end])
        }
    }
}

/// How long a lane has been failing to reach its peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Since the first failure after the last delivery.
    pub since: Duration,
    /// Until the next try may start (zero when it is due or under way).
    pub retry_in: Duration,
}

/// A queue, where it goes, and its state.
#[derive(Debug)]
pub struct Lane {
    /// Output kind.
    pub output: Output,
    /// Node name (empty for tsdb and the relay).
    pub node: String,
    /// Address (or a description for the relay) as shown in logs, metrics and pages: URLs without their
    /// credentials or query ([`falcon_runtime::redact::public_addr`]); the delivery keeps the real one.
    pub addr: String,
    /// The items waiting.
    pub queue: SendQueue<Arc<Point>>,
    inflight: AtomicUsize,
    failures: AtomicU32,
    paused: Mutex<Pause>,
    counts: Counts,
    last_error: Mutex<Option<LastError>>,
    /// Set at shutdown: send partial batches at once.
    pub draining: std::sync::atomic::AtomicBool,
    /// Where items past the queue bound wait, if configured.
    pub spool: Option<Spool>,
    /// Set at exit: start no more deliveries.
    stopped: std::sync::atomic::AtomicBool,
}

/// Items moved from the spool into the queue at a time at most.
const REFILL_MAX: usize = 20_000;

impl Lane {
    /// A lane with a queue of `cap` items, sent `batch` at a time.
    pub fn new(output: Output, node: &str, addr: &str, cap: usize, batch: usize) -> Arc<Self> {
        Self::with_spool(output, node, addr, cap, batch, None)
    }

    /// A lane whose overflow goes to `spool`.
    pub fn with_spool(
        output: Output,
        node: &str,
        addr: &str,
        cap: usize,
        batch: usize,
        spool: Option<Spool>,
    ) -> Arc<Self> {
        Arc::new(Lane {
            output,
            node: node.to_string(),
            addr: addr.to_string(),
            queue: SendQueue::with_batch(cap, batch),
            inflight: AtomicUsize::new(0),
            failures: AtomicU32::new(0),
            paused: Mutex::new(Pause::default()),
            counts: Counts::default(),
            last_error: Mutex::new(None),
            draining: std::sync::atomic::AtomicBool::new(false),
            spool,
            stopped: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Items queued, on disk, or being delivered.
    pub fn pending(&self) -> usize {
        self.queue.len() + self.inflight.load(Relaxed) + self.spool.as_ref().map_or(0, |s| s.len())
    }

    /// Items being delivered.
    pub fn inflight(&self) -> usize {
        self.inflight.load(Relaxed)
    }

    /// Queues `items` (oldest first); returns how many were dropped: past the queue bound without a spool,
    /// past the spool's byte bound with one.
    pub fn offer(&self, items: impl IntoIterator<Item = Arc<Point>>) -> usize {
        let Some(spool) = &self.spool else {
            let dropped = self.queue.push_many(items);
            Counts::add(&self.counts.dropped, dropped);
            return dropped;
        };
        let items: Vec<Arc<Point>> = items.into_iter().collect();
        let mut g = spool.lock();
        let dropped = if g.is_empty() {
            let over = self.queue.push_or_return(items);
            if over.is_empty() {
                return 0;
            }
            g.append(&over)
        } else {
            g.append(&items)
        };
        drop(g);
        Counts::add(&self.counts.dropped, dropped);
        if dropped > 0 {
            static LOG: RateLimited = RateLimited::new(Duration::from_secs(10));
            if let Some(suppressed) = LOG.check() {
                tracing::warn!(output = self.output.name(), node = %self.node, addr = %self.addr, dir = %spool.dir().display(), dropped, suppressed, "spool full; items dropped");
            }
        }
        dropped
    }

    /// Moves items from the spool back into the queue when it is less than half full.
    fn refill(&self) {
        let Some(spool) = &self.spool else { return };
        if spool.is_empty() || self.queue.len() > self.queue.cap() / 2 {
            return;
        }
        let mut g = spool.lock();
        let room = self.queue.cap().saturating_sub(self.queue.len());
        let items = g.read(room.min(REFILL_MAX));
        // Only a batch put back after a failure can have taken the room meanwhile; what no longer fits goes
        // back in front of the spool.
        let over = self.queue.push_or_return(items);
        if !over.is_empty() {
            g.prepend(&over);
        }
    }

    /// At exit: starts no more deliveries, waits up to `wait` for those in flight to end (delivered, or put
    /// back), then writes what is queued in front of the spool for the next run. Returns how many items are
    /// lost: still in flight, or past the spool's bound.
    pub async fn stop_and_persist(&self, wait: Duration) -> usize {
        self.stopped.store(true, Relaxed);
        let deadline = Instant::now() + wait;
        while self.inflight() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.persist() + self.inflight()
    }

    /// Writes what is still queued in front of the spool; returns how many items could not be kept.
    fn persist(&self) -> usize {
        let Some(spool) = &self.spool else { return 0 };
        let items = self.queue.pop_batch(usize::MAX);
        let lost = spool.lock().prepend(&items);
        spool.sync();
        if !items.is_empty() {
            tracing::info!(output = self.output.name(), node = %self.node, addr = %self.addr, items = items.len() - lost, dir = %spool.dir().display(), "kept on disk for the next run");
        }
        lost
    }

    fn pause_after_failure(&self) {
        let k = self.failures.fetch_add(1, Relaxed).min(16);
        let d = BACKOFF_START.saturating_mul(1 << k).min(BACKOFF_MAX);
        let now = Instant::now();
        let mut p = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        p.until = Some(now + d);
        p.since.get_or_insert(now);
    }

    fn recovered(&self) {
        if self.failures.swap(0, Relaxed) > 0 {
            tracing::info!(output = self.output.name(), node = %self.node, addr = %self.addr, "delivering again");
        }
        *self.paused.lock().unwrap_or_else(|e| e.into_inner()) = Pause::default();
    }

    fn pause(&self) -> Option<Instant> {
        self.paused.lock().unwrap_or_else(|e| e.into_inner()).until
    }

    /// While the lane's peer cannot be reached (from a failure to the next delivery, pauses and the tries
    /// between them alike): since when, and how long until the next try.
    pub fn backoff(&self) -> Option<Backoff> {
        let p = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let since = p.since?;
        Some(Backoff {
            since: now.saturating_duration_since(since),
            retry_in: p.until.map_or(Duration::ZERO, |u| u.saturating_duration_since(now)),
        })
    }

    /// This lane's counts since start.
    pub fn counts(&self) -> LaneCounts {
        LaneCounts {
            sent: self.counts.sent.load(Relaxed),
            failed: self.counts.failed.load(Relaxed),
            dropped: self.counts.dropped.load(Relaxed),
            requeued: self.counts.requeued.load(Relaxed),
        }
    }

    /// Counts `n` items as failed without a delivery (items the output cannot carry).
    pub fn add_failed(&self, n: usize) {
        Counts::add(&self.counts.failed, n);
    }

    /// The last failed delivery attempt, kept after the lane recovers.
    pub fn last_error(&self) -> Option<LastError> {
        self.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn note_error(&self, e: &SendError) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(LastError::new(e, now_unix()));
    }
}

/// Empties `lane` into `deliver` forever (the process ends it).
pub async fn run<D: Deliver>(lane: Arc<Lane>, deliver: Arc<D>, policy: LanePolicy, stats: Arc<Stats>) {
    let slots = Arc::new(Semaphore::new(policy.concurrency.max(1)));
    // The lane's latency series, looked up once rather than per batch.
    let seconds = stats.send_seconds.get_or_create_owned(&vec![("output", lane.output.name().to_string())]);
    loop {
        // A full batch is sent at once; a partial one after LINGER (the queue wakes us only on a full batch).
        if !lane.draining.load(Relaxed) {
            lane.queue.wait_len(policy.batch.max(1), Instant::now() + LINGER).await;
        } else if lane.queue.is_empty() {
            tokio::time::sleep(LINGER).await;
        }
        if lane.stopped.load(Relaxed) {
            tokio::time::sleep(LINGER).await;
            continue;
        }
        lane.refill();
        if lane.queue.is_empty() {
            continue;
        }
        if let Some(until) = lane.pause() {
            tokio::time::sleep_until(until).await;
        }
        let Ok(permit) = slots.clone().acquire_owned().await else { return };
        if lane.stopped.load(Relaxed) {
            continue;
        }
        let batch = lane.queue.pop_batch(policy.batch.max(1));
        if batch.is_empty() {
            continue;
        }
        lane.inflight.fetch_add(batch.len(), Relaxed);
        let (lane, deliver, stats, seconds) = (lane.clone(), deliver.clone(), stats.clone(), seconds.clone());
        tokio::spawn(async move {
            let n = batch.len();
            deliver_batch(&lane, &*deliver, policy, &stats, &seconds, batch).await;
            lane.inflight.fetch_sub(n, Relaxed);
            drop(permit);
        });
    }
}

async fn deliver_batch<D: Deliver>(
    lane: &Lane,
    deliver: &D,
    policy: LanePolicy,
    stats: &Stats,
    seconds: &falcon_runtime::metrics::prometheus_client::metrics::histogram::Histogram,
    batch: Vec<Arc<Point>>,
) {
    let (ok, failed, dropped, requeued) = lane.output.counters(stats);
    let mut last = SendError::Transport("no attempt".into());
    for attempt in 0..policy.attempts.max(1) {
        if attempt > 0 {
            tokio::time::sleep(policy.pause).await;
        }
        let started = Instant::now();
        let sent = deliver.send(&batch).await;
        seconds.observe(started.elapsed().as_secs_f64());
        match sent {
            Ok(()) => {
                ok.add(batch.len());
                Counts::add(&lane.counts.sent, batch.len());
                lane.recovered();
                return;
            }
            Err(e) => {
                lane.note_error(&e);
                last = e;
            }
        }
    }
    let n = batch.len();
    match last {
        SendError::Rejected(reason) => {
            failed.add(n);
            Counts::add(&lane.counts.failed, n);
            if let Some(suppressed) = lane.output.log_site().check() {
                tracing::warn!(output = lane.output.name(), node = %lane.node, addr = %lane.addr, items = n, %reason, suppressed, "peer refused a batch; items counted as failed");
            }
        }
        SendError::Transport(reason) => {
            lane.pause_after_failure();
            let lost = if lane.spool.is_some() {
                lane.queue.requeue_all(batch);
                0
            } else {
                lane.queue.requeue(batch)
            };
            requeued.add(n - lost);
            dropped.add(lost);
            Counts::add(&lane.counts.requeued, n - lost);
            Counts::add(&lane.counts.dropped, lost);
            if let Some(suppressed) = lane.output.log_site().check() {
                tracing::warn!(output = lane.output.name(), node = %lane.node, addr = %lane.addr, items = n, dropped = lost, %reason, suppressed, "delivery failed; batch kept in queue, retrying with backoff");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point::CounterType;
    use std::sync::atomic::AtomicBool;

    struct Flaky {
        up: AtomicBool,
        reject: AtomicBool,
        got: Mutex<Vec<f64>>,
    }

    impl Deliver for Flaky {
        async fn send(&self, batch: &[Arc<Point>]) -> Result<(), SendError> {
            if self.reject.load(Relaxed) {
                return Err(SendError::Rejected("no".into()));
            }
            if !self.up.load(Relaxed) {
                return Err(SendError::Transport("refused".into()));
            }
            self.got.lock().unwrap().extend(batch.iter().map(|p| p.value));
            Ok(())
        }
    }

    fn pt(v: f64) -> Arc<Point> {
        Arc::new(Point {
            endpoint: Arc::from("h"),
            metric: "m".into(),
            tags: String::new(),
            value: v,
            timestamp: 1,
            step: 60,
            counter_type: CounterType::Gauge,
        })
    }

    #[tokio::test]
    async fn keeps_items_while_down_then_delivers_in_order() {
        let stats = Arc::new(Stats::new());
        let lane = Lane::new(Output::Graph, "g", "a:1", 100, 3);
        let d = Arc::new(Flaky { up: AtomicBool::new(false), reject: AtomicBool::new(false), got: Mutex::default() });
        let policy = LanePolicy { batch: 3, concurrency: 1, attempts: 3, pause: Duration::from_millis(1) };
        tokio::spawn(run(lane.clone(), d.clone(), policy, stats.clone()));
        lane.queue.push_many((0..7).map(|i| pt(i as f64)));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(lane.pending(), 7, "nothing lost while down");
        assert!(stats.graph_requeued.get() >= 3);
        assert_eq!(stats.graph_fail.get(), 0);
        let down = lane.backoff().expect("backing off while down");
        assert!(down.since >= Duration::from_millis(100) && down.retry_in <= BACKOFF_MAX, "{down:?}");
        let err = lane.last_error().expect("a last error");
        assert_eq!(err.text, "refused");
        assert!(err.at > 0);
        let c = lane.counts();
        assert_eq!((c.sent, c.failed, c.dropped), (0, 0, 0));
        assert_eq!(c.requeued as i64, stats.graph_requeued.get());
        d.up.store(true, Relaxed);
        let deadline = Instant::now() + Duration::from_secs(10);
        while lane.pending() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(*d.got.lock().unwrap(), (0..7).map(f64::from).collect::<Vec<_>>());
        assert_eq!(stats.send_to_graph.get(), 7);
        assert_eq!(lane.counts().sent, 7);
        assert_eq!(lane.backoff(), None, "delivering again");
        assert_eq!(lane.last_error().map(|e| e.text), Some("refused".to_string()), "the last error is kept");
    }

    #[tokio::test]
    async fn a_spooled_lane_keeps_everything_in_order_through_an_outage() {
        let dir = std::env::temp_dir().join(format!("falcon-lane-spool-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let stats = Arc::new(Stats::new());
        let spool = Spool::open_with_segments(&dir, 1 << 30, 4096).unwrap();
        let lane = Lane::with_spool(Output::Graph, "g", "a:1", 50, 10, Some(spool));
        let d = Arc::new(Flaky { up: AtomicBool::new(false), reject: AtomicBool::new(false), got: Mutex::default() });
        // One batch at a time: with more, batches in flight complete (or fail) in any order, here as in Go.
        let policy = LanePolicy { batch: 10, concurrency: 1, attempts: 2, pause: Duration::from_millis(1) };
        tokio::spawn(run(lane.clone(), d.clone(), policy, stats.clone()));
        // Pushed in several requests while the peer is down: 50 fit in memory, the rest go to disk.
        for chunk in (0..2000).collect::<Vec<usize>>().chunks(137) {
            assert_eq!(lane.offer(chunk.iter().map(|&i| pt(i as f64))), 0, "nothing dropped");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(lane.pending(), 2000);
        assert!(lane.spool.as_ref().unwrap().len() >= 1900);
        d.up.store(true, Relaxed);
        let deadline = Instant::now() + Duration::from_secs(20);
        while lane.pending() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let got = d.got.lock().unwrap().clone();
        assert!(got == (0..2000).map(|i| i as f64).collect::<Vec<_>>(), "all, in order: {} items", got.len());
        assert_eq!((stats.send_to_graph.get(), stats.graph_drop.get()), (2000, 0));
        let st = lane.spool.as_ref().unwrap().stats();
        assert_eq!((st.items, st.bytes, st.spilled, st.replayed), (0, 0, st.replayed, st.spilled));
        assert!(st.spilled >= 1900);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn refused_batches_are_counted_as_failed() {
        let stats = Arc::new(Stats::new());
        let lane = Lane::new(Output::Judge, "j", "a:1", 100, 10);
        let d = Arc::new(Flaky { up: AtomicBool::new(true), reject: AtomicBool::new(true), got: Mutex::default() });
        let policy = LanePolicy { batch: 10, concurrency: 2, attempts: 3, pause: Duration::from_millis(1) };
        tokio::spawn(run(lane.clone(), d, policy, stats.clone()));
        lane.queue.push_many((0..25).map(|i| pt(i as f64)));
        let deadline = Instant::now() + Duration::from_secs(10);
        while lane.pending() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(stats.judge_fail.get(), 25);
        assert_eq!(stats.send_to_judge.get(), 0);
        assert_eq!(lane.counts(), LaneCounts { failed: 25, ..Default::default() });
        assert_eq!(lane.last_error().map(|e| e.text), Some("refused: no".to_string()));
        assert_eq!(lane.backoff(), None, "a refusal is not a backoff");
    }

    #[test]
    fn drops_at_the_queue_bound_are_counted_per_lane() {
        let lane = Lane::new(Output::Judge, "j", "a:1", 5, 10);
        assert_eq!(lane.offer((0..8).map(|i| pt(i as f64))), 3);
        assert_eq!(lane.offer((0..2).map(|i| pt(i as f64))), 2);
        assert_eq!(lane.counts(), LaneCounts { dropped: 5, ..Default::default() });
        lane.add_failed(4);
        assert_eq!(lane.counts().failed, 4);
    }

    #[test]
    fn last_error_text_is_bounded() {
        assert_eq!(bounded("short", LAST_ERROR_MAX), "short");
        let exact = "x".repeat(LAST_ERROR_MAX);
        assert_eq!(bounded(&exact, LAST_ERROR_MAX), exact);
        let long = "é".repeat(LAST_ERROR_MAX * 2);
        let cut = bounded(&long, LAST_ERROR_MAX);
        assert_eq!(cut.chars().count(), LAST_ERROR_MAX);
        assert!(cut.ends_with("é…"));
        let e = LastError::new(&SendError::Rejected("x".repeat(1000)), 7);
        assert_eq!((e.text.chars().count(), e.at), (LAST_ERROR_MAX, 7));
        assert!(e.text.starts_with("refused: xxx"));
        assert_eq!(LastError::new(&SendError::Transport("dial tcp: refused".into()), 1).text, "dial tcp: refused");
    }
}
