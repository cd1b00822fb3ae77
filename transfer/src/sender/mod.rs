//! Sharding and forwarding: the judge and graph rings, one lane (queue + send loop) per judge node and per
//! graph node address, the same for HEAD's p8s relay, and the tsdb, relay, archive, remote-write and InfluxDB
//! lanes.
//!
//! [`Sender::push`] takes the accepted points of one request: it computes each point's PK once, picks the
//! judge node and the graph node on the rings exactly as Go's transfer does, offers graph-path points to
//! `/trace` and `/filter`, and appends to the lanes' queues in one lock each. A full queue refuses items,
//! which are counted (`SendTo*DropCnt`; for graph, once per item however many of its node's addresses refused).

pub mod archive;
pub mod gob;
pub mod http_post;
pub mod influxdb;
pub mod lane;
pub mod relay;
pub mod remote_write;
pub mod spool_dir;
pub mod tsdb;

use crate::config::Config;
use crate::point::{CounterType, Point};
use crate::spool::SpoolError;
use crate::stats::{QueueLens, Stats};
use crate::trace::Recorder;
use falcon_proto::pool::{ConnPool, GobDialer, JsonRpcDialer, PoolConfig, TcpDialer};
use falcon_proto::ring::HashRing;
use falcon_runtime::redact::public_addr;
use lane::{Lane, LanePolicy, Output};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Why the outputs could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A spool directory.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// The relay's TLS files.
    #[error("transfer.tls: {0}")]
    Tls(#[from] falcon_runtime::tls::TlsError),
}

/// One lane's spool, as `/spool` shows it.
#[derive(Debug, serde::Serialize)]
pub struct LaneSpool {
    /// Output name.
    pub output: &'static str,
    /// Node (sharded outputs).
    pub node: String,
    /// Address, or URL without credentials or query.
    pub addr: String,
    /// Directory.
    pub dir: String,
    /// Sizes and counters.
    #[serde(flatten)]
    pub stats: crate::spool::SpoolStats,
}

/// A ring and the lanes of each of its nodes.
struct Sharded {
    ring: HashRing,
    /// Per ring node (ring index order), the indexes of its lanes.
    node_lanes: Vec<Vec<usize>>,
    /// Per lane, its node's ring index.
    lane_node: Vec<usize>,
    lanes: Vec<Arc<Lane>>,
}

/// Everything downstream of the receivers.
pub struct Sender {
    min_step: i64,
    judge: Option<Sharded>,
    graph: Option<Sharded>,
    /// HEAD's p8s relay, sharded like graph.
    p8s: Option<Sharded>,
    /// Metric prefixes the p8s relay skips (`notSyncMetrics`).
    p8s_skip: Vec<String>,
    tsdb: Option<Arc<Lane>>,
    relay: Option<Arc<Lane>>,
    archive: Option<Arc<Lane>>,
    /// One lane per remote-write endpoint.
    remote_write: Vec<Arc<Lane>>,
    influxdb: Option<Arc<Lane>>,
    judge_pools: BTreeMap<String, Arc<ConnPool<GobDialer>>>,
    graph_pools: BTreeMap<String, Arc<ConnPool<GobDialer>>>,
    /// HEAD's p8s relay's pools (for `/metrics`; Go has no `/debug/connpool` for them).
    p8s_pools: BTreeMap<String, Arc<ConnPool<GobDialer>>>,
    stats: Arc<Stats>,
    /// `/trace` of one series on the graph path.
    pub trace: Recorder,
    /// `/filter` of one series on the graph path.
    pub filter: Recorder,
    loops: std::sync::Mutex<Vec<SendLoop>>,
}

/// A lane's send loop, to be spawned on a runtime.
pub type SendLoop = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

fn pool_cfg(conns: i64, idle: i64, conn_ms: i64, call_ms: i64) -> PoolConfig {
    PoolConfig {
        max_conns: conns.max(1) as usize,
        max_idle: idle.max(0) as usize,
        conn_timeout: Duration::from_millis(conn_ms.max(1) as u64),
        call_timeout: Duration::from_millis(call_ms.max(1) as u64),
    }
}

impl Sender {
    /// Builds rings, queues, spools and pools from a validated config; [`take_loops`](Self::take_loops) gives
    /// the send loops. Fails when a configured spool directory cannot be opened.
    pub fn new(cfg: &Config, stats: Arc<Stats>) -> Result<Arc<Self>, BuildError> {
        let min_step = cfg.effective_min_step();
        let mut loops: Vec<SendLoop> = Vec::new();
        let mut judge_pools = BTreeMap::new();
        let mut graph_pools = BTreeMap::new();

        let mut sharded = |output: Output,
                           c: &crate::config::ClusterConfig,
                           pools: &mut BTreeMap<String, Arc<ConnPool<GobDialer>>>| {
            let Ok(ring) = HashRing::new(c.cluster.keys().cloned(), c.replicas.max(1) as usize) else {
                return Ok::<_, SpoolError>(None);
            };
            let lane_count = c.cluster_list.values().map(|n| n.addrs.len()).sum();
            let mut node_lanes = Vec::new();
            let mut lane_node = Vec::new();
            let mut lanes = Vec::new();
            let pcfg = pool_cfg(c.max_conns, c.max_idle, c.conn_timeout, c.call_timeout);
            let policy = LanePolicy {
                batch: c.batch.max(1) as usize,
                concurrency: c.max_conns.max(1) as usize,
                attempts: 3,
                pause: Duration::from_millis(10),
            };
            for node in ring.nodes() {
                let addrs = c.cluster_list.get(node).map(|n| n.addrs.clone()).unwrap_or_default();
                let mut idx = Vec::new();
                for addr in addrs {
                    let spool = spool_dir::open(&c.spool, output, &format!("{node}@{addr}"), None, lane_count)?;
                    let lane = Lane::with_spool(output, node, &addr, c.queue_size.max(1) as usize, policy.batch, spool);
                    let pool = pools
                        .entry(addr.clone())
                        .or_insert_with(|| ConnPool::new(addr.clone(), GobDialer, pcfg.clone()))
                        .clone();
                    let service = match output {
                        Output::Judge => gob::Service::Judge,
                        Output::P8sRelay => gob::Service::P8sRelay,
                        _ => gob::Service::Graph,
                    };
                    let deliver = Arc::new(gob::GobDeliver { pool, service, min_step });
                    loops.push(Box::pin(lane::run(lane.clone(), deliver, policy, stats.clone())));
                    idx.push(lanes.len());
                    lane_node.push(node_lanes.len());
                    lanes.push(lane);
                }
                node_lanes.push(idx);
            }
            Ok(Some(Sharded { ring, node_lanes, lane_node, lanes }))
        };
        let judge = if cfg.judge.enabled { sharded(Output::Judge, &cfg.judge, &mut judge_pools)? } else { None };
        let graph = if cfg.graph.enabled { sharded(Output::Graph, &cfg.graph, &mut graph_pools)? } else { None };
        let mut p8s_pools = BTreeMap::new();
        let p8s = match cfg.p8s_relay() {
            Some(p) => sharded(Output::P8sRelay, &p.as_cluster(), &mut p8s_pools)?,
            None => None,
        };
        let p8s_skip = cfg.p8s_relay().map(|p| p.not_sync_metrics.clone()).unwrap_or_default();

        let tsdb = cfg.tsdb.enabled.then(|| -> Result<_, SpoolError> {
            let t = &cfg.tsdb;
            let spool = spool_dir::open(&t.spool, Output::Tsdb, "", None, 1)?;
            let lane = Lane::with_spool(
                Output::Tsdb,
                "",
                &t.address,
                t.queue_size.max(1) as usize,
                t.batch.max(1) as usize,
                spool,
            );
            let pool = ConnPool::new(
                t.address.clone(),
                TcpDialer,
                pool_cfg(t.max_conns, t.max_idle, t.conn_timeout, t.call_timeout),
            );
            let policy = LanePolicy {
                batch: t.batch.max(1) as usize,
                concurrency: t.max_conns.max(1) as usize,
                attempts: t.retry.max(1) as usize,
                pause: Duration::from_millis(100),
            };
            loops.push(Box::pin(lane::run(lane.clone(), Arc::new(tsdb::TsdbDeliver { pool }), policy, stats.clone())));
            Ok(lane)
        });
        let tsdb = tsdb.transpose()?;

        let relay = cfg.relay().map(|r| -> Result<_, BuildError> {
            let lane = Lane::with_spool(
                Output::Transfer,
                "",
                "transfer cluster",
                r.queue_size.max(1) as usize,
                r.batch.max(1) as usize,
                spool_dir::open(&r.spool, Output::Transfer, "", None, 1)?,
            );
            let pcfg = pool_cfg(r.max_conns, r.max_idle, r.conn_timeout, r.call_timeout);
            let connector = match r.tls.enabled() {
                true => Some(falcon_runtime::tls::ClientTls::new(&r.tls)? as Arc<dyn falcon_proto::connect::Connector>),
                false => None,
            };
            let dialer = JsonRpcDialer {
                client: falcon_proto::jsonrpc::ClientConfig {
                    call_timeout: pcfg.call_timeout,
                    connector,
                    ..Default::default()
                },
            };
            let hosts = r
                .cluster
                .iter()
                .map(|(name, addr)| {
                    relay::RelayHost::new(name.clone(), ConnPool::new(addr.clone(), dialer.clone(), pcfg.clone()))
                })
                .collect::<Vec<_>>();
            let per_host = r.max_conns.max(1) as usize;
            let policy = LanePolicy {
                batch: r.batch.max(1) as usize,
                concurrency: per_host * hosts.len().max(1),
                attempts: r.retry.max(1) as usize,
                pause: Duration::from_millis(10),
            };
            let deliver = Arc::new(relay::RelayDeliver::new(hosts, per_host));
            loops.push(Box::pin(lane::run(lane.clone(), deliver, policy, stats.clone())));
            Ok(lane)
        });
        let relay = relay.transpose()?;

        let archive = cfg.archive().map(|a| -> Result<_, SpoolError> {
            let spool = spool_dir::open(&a.spool, Output::Archive, "", None, 1)?;
            let lane = Lane::with_spool(Output::Archive, "", &a.dir, a.queue_size as usize, a.batch as usize, spool);
            let policy =
                LanePolicy { batch: a.batch as usize, concurrency: 1, attempts: 3, pause: Duration::from_millis(100) };
            let files = archive::Rotating::new(std::path::Path::new(&a.dir), a.max_bytes as u64, a.max_files as usize);
            let deliver = Arc::new(archive::ArchiveDeliver { files: std::sync::Mutex::new(files) });
            loops.push(Box::pin(lane::run(lane.clone(), deliver, policy, stats.clone())));
            Ok(lane)
        });
        let archive = archive.transpose()?;

        let mut remote_write = Vec::new();
        if let Some(r) = cfg.remote_write() {
            let policy = LanePolicy {
                batch: r.batch as usize,
                concurrency: r.max_conns as usize,
                attempts: 3,
                pause: Duration::from_millis(100),
            };
            let mut names = spool_dir::ShownNames::default();
            for e in &r.endpoints {
                let timeout = Duration::from_millis(r.timeout as u64);
                match remote_write::RemoteWriteDeliver::new(
                    &e.url,
                    &e.all_headers(),
                    &r.endpoint_label,
                    timeout,
                    r.max_conns as usize,
                ) {
                    Ok(d) => {
                        let shown = names.next(&e.url);
                        // Earlier versions named the spool by the whole URL: only a URL with credentials or a
                        // query had another name (otherwise it is this lane's or another lane's current one).
                        let legacy = (public_addr(&e.url) != e.url).then_some(e.url.as_str());
                        let spool = spool_dir::open(&r.spool, Output::RemoteWrite, &shown, legacy, r.endpoints.len())?;
                        let lane = Lane::with_spool(
                            Output::RemoteWrite,
                            "",
                            &shown,
                            r.queue_size as usize,
                            r.batch as usize,
                            spool,
                        );
                        loops.push(Box::pin(lane::run(lane.clone(), Arc::new(d), policy, stats.clone())));
                        remote_write.push(lane);
                    }
                    // The config check refuses what would fail here; say it if something slipped through.
                    Err(err) => {
                        tracing::error!(url = %public_addr(&e.url), error = %err, "remote write endpoint not usable")
                    }
                }
            }
        }

        let influxdb = cfg.influxdb().map(|c| match influxdb::InfluxDeliver::new(c) {
            Ok(d) => {
                let spool = spool_dir::open(&c.spool, Output::Influxdb, "", None, 1)?;
                let addr = public_addr(&c.address);
                let lane =
                    Lane::with_spool(Output::Influxdb, "", &addr, c.queue_size as usize, c.batch as usize, spool);
                let policy = LanePolicy {
                    batch: c.batch as usize,
                    concurrency: c.max_conns as usize,
                    attempts: c.retry as usize,
                    pause: Duration::ZERO,
                };
                loops.push(Box::pin(lane::run(lane.clone(), Arc::new(d), policy, stats.clone())));
                Ok::<_, SpoolError>(Some(lane))
            }
            Err(e) => {
                tracing::error!(error = %e, "influxdb output not usable");
                Ok(None)
            }
        });
        let influxdb = influxdb.transpose()?.flatten();

        Ok(Arc::new(Sender {
            min_step,
            archive,
            remote_write,
            influxdb,
            judge,
            graph,
            p8s,
            p8s_skip,
            tsdb,
            relay,
            judge_pools,
            graph_pools,
            p8s_pools,
            stats,
            trace: Recorder::new(3),
            filter: Recorder::new(5),
            loops: std::sync::Mutex::new(loops),
        }))
    }

    /// The send loops, once (the caller spawns them where it wants them to run).
    pub fn take_loops(&self) -> Vec<SendLoop> {
        std::mem::take(&mut *self.loops.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Transfer's effective minStep.
    pub fn min_step(&self) -> i64 {
        self.min_step
    }

    /// Queues accepted points on every enabled output.
    pub fn push(&self, points: Vec<Point>) {
        if points.is_empty() {
            return;
        }
        let points: Vec<Arc<Point>> = points.into_iter().map(Arc::new).collect();
        let mut judge_staged = self.judge.as_ref().map(|s| vec![Vec::new(); s.lanes.len()]);
        let mut graph_staged = self.graph.as_ref().map(|s| vec![Vec::new(); s.lanes.len()]);
        let mut p8s_staged = self.p8s.as_ref().map(|s| vec![Vec::new(); s.lanes.len()]);
        let mut p8s_derive = 0;
        let mut pk = String::with_capacity(128);
        for p in &points {
            p.write_pk(&mut pk);
            if let (Some(g), Some(staged)) = (&self.graph, graph_staged.as_mut()) {
                self.trace.offer(&pk, p);
                self.filter.offer(&pk, p);
                for &l in &g.node_lanes[g.ring.get_index(&pk)] {
                    staged[l].push(p.clone());
                }
            }
            if let (Some(j), Some(staged)) = (&self.judge, judge_staged.as_mut()) {
                for &l in &j.node_lanes[j.ring.get_index(&pk)] {
                    staged[l].push(p.clone());
                }
            }
            if let (Some(r), Some(staged)) = (&self.p8s, p8s_staged.as_mut()) {
                if self.p8s_skip.iter().any(|prefix| p.metric.starts_with(prefix.as_str())) {
                    // notSyncMetrics: not for Prometheus, by the operator's choice.
                } else if p.counter_type == CounterType::Derive {
                    p8s_derive += 1;
                } else {
                    for &l in &r.node_lanes[r.ring.get_index(&pk)] {
                        staged[l].push(p.clone());
                    }
                }
            }
        }
        if let (Some(g), Some(staged)) = (&self.graph, graph_staged) {
            // Each address refuses a suffix of its staged items, so the items refused anywhere on a node are the
            // last max(refused) of them: Go's "+1 per item if any replica refused".
            let mut refused = vec![0usize; g.node_lanes.len()];
            for (l, items) in staged.into_iter().enumerate() {
                if !items.is_empty() {
                    let r = g.lanes[l].offer(items);
                    let n = g.lane_node[l];
                    refused[n] = refused[n].max(r);
                }
            }
            self.note_drops(Output::Graph, refused.iter().sum());
        }
        if let (Some(j), Some(staged)) = (&self.judge, judge_staged) {
            let mut refused = 0;
            for (l, items) in staged.into_iter().enumerate() {
                if !items.is_empty() {
                    refused += j.lanes[l].offer(items);
                }
            }
            self.note_drops(Output::Judge, refused);
        }
        if let (Some(r), Some(staged)) = (&self.p8s, p8s_staged) {
            let mut refused = vec![0usize; r.node_lanes.len()];
            for (l, items) in staged.into_iter().enumerate() {
                if !items.is_empty() {
                    let n = r.lane_node[l];
                    refused[n] = refused[n].max(r.lanes[l].offer(items));
                }
            }
            self.note_drops(Output::P8sRelay, refused.iter().sum());
        }
        if p8s_derive > 0 {
            // HEAD logs each one and counts nothing; we count them and log at most every 10 s.
            self.stats.p8s_relay_derive.add(p8s_derive);
            static LOG: falcon_runtime::ratelog::RateLimited =
                falcon_runtime::ratelog::RateLimited::new(Duration::from_secs(10));
            if let Some(suppressed) = LOG.check() {
                tracing::warn!(items = p8s_derive, suppressed, "p8s relay: DERIVE items are not relayed (as in HEAD)");
            }
        }
        if let Some(t) = &self.tsdb {
            self.note_drops(Output::Tsdb, t.offer(points.iter().cloned()));
        }
        if let Some(r) = &self.relay {
            self.note_drops(Output::Transfer, r.offer(points.iter().cloned()));
        }
        if let Some(a) = &self.archive {
            self.note_drops(Output::Archive, a.offer(points.iter().cloned()));
        }
        for l in &self.remote_write {
            self.note_drops(Output::RemoteWrite, l.offer(points.iter().cloned()));
        }
        if let Some(l) = &self.influxdb {
            // Line protocol cannot carry NaN or an infinity: counted as failed here, once, and not queued.
            let unsendable = points.iter().filter(|p| !p.value.is_finite()).count();
            if unsendable > 0 {
                self.stats.influxdb_fail.add(unsendable);
                l.add_failed(unsendable);
                static LOG: falcon_runtime::ratelog::RateLimited =
                    falcon_runtime::ratelog::RateLimited::new(Duration::from_secs(10));
                if let Some(suppressed) = LOG.check() {
                    tracing::warn!(
                        items = unsendable,
                        suppressed,
                        "influxdb: NaN or infinite values cannot be written in line protocol; counted as failed"
                    );
                }
            }
            self.note_drops(Output::Influxdb, l.offer(points.iter().filter(|p| p.value.is_finite()).cloned()));
        }
    }

    fn note_drops(&self, output: Output, n: usize) {
        if n == 0 {
            return;
        }
        output.counters(&self.stats).2.add(n);
        static LOG: falcon_runtime::ratelog::RateLimited =
            falcon_runtime::ratelog::RateLimited::new(Duration::from_secs(10));
        if let Some(suppressed) = LOG.check() {
            tracing::warn!(output = output.name(), dropped = n, suppressed, "send queue full, items dropped");
        }
    }

    /// Items waiting per output.
    pub fn queue_lens(&self) -> QueueLens {
        let sum = |s: &Option<Sharded>| s.as_ref().map(|s| s.lanes.iter().map(|l| l.queue.len()).sum()).unwrap_or(0);
        QueueLens {
            judge: sum(&self.judge),
            graph: sum(&self.graph),
            tsdb: self.tsdb.as_ref().map(|l| l.queue.len()).unwrap_or(0),
            transfer: self.relay.as_ref().map(|l| l.queue.len()).unwrap_or(0),
            p8s_relay: sum(&self.p8s),
        }
    }

    /// Every lane.
    pub fn lanes(&self) -> Vec<Arc<Lane>> {
        let mut v: Vec<Arc<Lane>> = Vec::new();
        for s in [&self.judge, &self.graph, &self.p8s].into_iter().flatten() {
            v.extend(s.lanes.iter().cloned());
        }
        v.extend(self.tsdb.iter().cloned());
        v.extend(self.relay.iter().cloned());
        v.extend(self.archive.iter().cloned());
        v.extend(self.remote_write.iter().cloned());
        v.extend(self.influxdb.iter().cloned());
        v
    }

    /// Every lane with a spool and what its spool holds and did (`/spool`).
    pub fn spool_stats(&self) -> Vec<LaneSpool> {
        self.lanes()
            .iter()
            .filter_map(|l| {
                let s = l.spool.as_ref()?;
                Some(LaneSpool {
                    output: l.output.name(),
                    node: l.node.clone(),
                    addr: l.addr.clone(),
                    dir: s.dir().display().to_string(),
                    stats: s.stats(),
                })
            })
            .collect()
    }

    /// Items queued or in flight anywhere.
    pub fn pending(&self) -> usize {
        self.lanes().iter().map(|l| l.pending()).sum()
    }

    /// Keeps delivering until nothing is pending or `timeout` passes; returns what was left per lane.
    pub async fn drain(&self, timeout: Duration) -> Vec<(Arc<Lane>, usize)> {
        for l in self.lanes() {
            l.draining.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        while self.pending() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.lanes().into_iter().map(|l| (l.clone(), l.pending())).filter(|(_, n)| *n > 0).collect()
    }

    /// Every judge, graph and p8s relay connection pool's state, with its output.
    pub fn pool_stats(&self) -> Vec<(&'static str, falcon_proto::pool::PoolStats)> {
        let judge = self.judge_pools.values().map(|p| ("judge", p.stats()));
        let graph = self.graph_pools.values().map(|p| ("graph", p.stats()));
        judge.chain(graph).chain(self.p8s_pools.values().map(|p| ("p8s_relay", p.stats()))).collect()
    }

    /// Go's `/debug/connpool/judge|graph` lines.
    pub fn pool_lines(&self, which: &str) -> Option<Vec<String>> {
        let pools: &BTreeMap<String, Arc<ConnPool<GobDialer>>> = match which {
            "judge" => &self.judge_pools,
            "graph" => &self.graph_pools,
            _ => return None,
        };
        Some(pools.values().map(|p| p.stats().proc_line()).collect())
    }

    /// The judge and graph nodes a PK maps to (for tests and debugging).
    pub fn shards(&self, pk: &str) -> (Option<String>, Option<String>) {
        let pick = |s: &Option<Sharded>| s.as_ref().map(|s| s.ring.get(pk).to_string());
        (pick(&self.judge), pick(&self.graph))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(json: &str) -> Config {
        let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).unwrap();
        Config::from_json(json.as_bytes(), &obj).unwrap()
    }

    fn points(n: usize) -> Vec<Point> {
        (0..n)
            .map(|i| Point {
                endpoint: Arc::from(format!("h{i}").as_str()),
                metric: "m".into(),
                tags: String::new(),
                value: 1.0,
                timestamp: 1,
                step: 60,
                counter_type: CounterType::Gauge,
            })
            .collect()
    }

    #[test]
    fn full_queues_drop_and_count_like_go() {
        // One judge node, one graph node with two addresses; queues of 5; loops not started, so nothing drains.
        let c = cfg(r#"{"judge":{"queueSize":5,"cluster":{"j":"127.0.0.1:1"}},
                        "graph":{"queueSize":5,"cluster":{"g":"127.0.0.1:2, 127.0.0.1:3"}},
                        "tsdb":{"enabled":true,"queueSize":4,"address":"127.0.0.1:4"}}"#);
        let stats = Arc::new(Stats::new());
        let s = Sender::new(&c, stats.clone()).unwrap();
        s.push(points(8));
        assert_eq!(stats.judge_drop.get(), 3);
        assert_eq!(stats.graph_drop.get(), 3, "once per item, not once per refusing address");
        assert_eq!(stats.tsdb_drop.get(), 4);
        let lens = s.queue_lens();
        assert_eq!((lens.judge, lens.graph, lens.tsdb), (5, 10, 4));
        assert_eq!(s.pending(), 19);
        assert_eq!(s.pool_lines("graph").unwrap().len(), 2);
        assert_eq!(s.shards("h1/m"), (Some("j".to_string()), Some("g".to_string())));
    }
}
