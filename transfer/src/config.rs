//! The Go transfer's configuration file, unchanged: v0.3 keys, plus HEAD's `transfer`, `influxdb` and
//! `p8s_relay` sections when present.
//!
//! Decoding follows Go's `json.Unmarshal` (case-insensitive keys, unknown keys ignored, type errors naming
//! the field) into structs pre-filled with the documented defaults, so a missing key takes its default where
//! Go would take zero (a missing `batch` makes Go's transfer stop forwarding silently). [`Config::validate`]
//! then rejects values that cannot work, naming the key. A few keys of ours extend Go's (`queueSize` per
//! output, `drainTimeout`); Go ignores them.

use crate::sender::http_post::basic_auth;
use falcon_proto::go_struct;
use falcon_proto::gojson::{self, Ctx};
use falcon_runtime::buffers::BuffersConfig;
use falcon_runtime::cli::{invalid, read_config_object};
use std::collections::BTreeMap;
use std::path::Path;

pub use falcon_runtime::cli::ConfigError;

/// Most points of one consistent-hash ring (`replicas` x nodes): 2,000 nodes at Go's default 500 replicas,
/// built in a fraction of a second (4.8 million points take seconds and 100 MB).
pub const MAX_RING_POINTS: u64 = 1_000_000;

/// The default bound of every send queue (Go's `DefaultSendQueueMaxSize`).
pub const DEFAULT_QUEUE_SIZE: i64 = 102_400;

go_struct! {
    /// The `http` section.
    pub struct HttpConfig => "g.HttpConfig", custom_default {
        /// Whether to listen.
        pub enabled: bool = "enabled",
        /// `host:port`; an empty host means every interface.
        pub listen: String = "listen",
        /// Ours: a bearer token that lets a caller use the state-changing routes from any address. Never shown.
        #[serde(skip_serializing)]
        pub token: String = "token",
        /// Ours: only the token lets a caller in, loopback included.
        #[serde(skip_serializing)]
        pub token_required: bool = "tokenRequired",
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { enabled: true, listen: "0.0.0.0:6060".into(), token: String::new(), token_required: false }
    }
}

impl HttpConfig {
    /// The token settings of the state-changing routes.
    pub fn gate(&self) -> falcon_runtime::auth::Gate<'_> {
        falcon_runtime::auth::Gate { token: &self.token, required: self.token_required }
    }
}

go_struct! {
    /// The `rpc` section: Go's plaintext JSON-RPC listener, and ours over TLS beside it.
    pub struct RpcConfig => "g.RpcConfig", custom_default {
        /// Whether to listen.
        pub enabled: bool = "enabled",
        /// `host:port`; an empty host means every interface.
        pub listen: String = "listen",
        /// Ours: a second listener, JSON-RPC over TLS (empty: none).
        #[serde(skip_serializing)]
        pub tls_listen: String = "tlsListen",
        /// Ours: PEM certificate chain of the TLS listener.
        #[serde(skip_serializing)]
        pub cert: String = "cert",
        /// Ours: its PEM private key.
        #[serde(skip_serializing)]
        pub key: String = "key",
        /// Ours: PEM CA that clients' certificates must chain to (mutual TLS); empty: no client certificate.
        #[serde(skip_serializing)]
        pub client_ca: String = "clientCA",
    }
}

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig {
            enabled: true,
            listen: "0.0.0.0:8433".into(),
            tls_listen: String::new(),
            cert: String::new(),
            key: String::new(),
            client_ca: String::new(),
        }
    }
}

impl RpcConfig {
    /// The TLS listener's files, when it is configured.
    pub fn tls_files(&self) -> Option<falcon_runtime::tls::ServerFiles> {
        falcon_runtime::tls::ServerFiles::for_listener(&self.tls_listen, &self.cert, &self.key, &self.client_ca)
    }
}

go_struct! {
    /// The `socket` section: the `update ...` line protocol.
    pub struct SocketConfig => "g.SocketConfig", custom_default {
        /// Whether to listen.
        pub enabled: bool = "enabled",
        /// `host:port`.
        pub listen: String = "listen",
        /// Seconds a connection may stay idle between lines.
        pub timeout: i64 = "timeout" as "int",
    }
}

impl Default for SocketConfig {
    fn default() -> Self {
        SocketConfig { enabled: true, listen: "0.0.0.0:4444".into(), timeout: 3600 }
    }
}

go_struct! {
    /// Ours: where an output's items wait on disk when its memory queue is full (a peer down, or slower than
    /// the input). Off when `dir` is empty, as in Go, where such items are dropped.
    pub struct SpoolConfig => "g.SpoolConfig", custom_default {
        /// The output's spool directory; each of its lanes (node address, endpoint) gets a subdirectory.
        pub dir: String = "dir",
        /// Bytes on disk at most for the whole output, shared evenly by its lanes; items past it are dropped
        /// and counted.
        pub max_bytes: i64 = "maxBytes",
    }
}

/// The default spool bound: 1 GiB per output.
pub const DEFAULT_SPOOL_BYTES: i64 = 1 << 30;

impl Default for SpoolConfig {
    fn default() -> Self {
        SpoolConfig { dir: String::new(), max_bytes: DEFAULT_SPOOL_BYTES }
    }
}

impl SpoolConfig {
    /// The directory and bound, when on.
    pub fn enabled(&self) -> Option<(&str, u64)> {
        (!self.dir.is_empty()).then_some((self.dir.as_str(), self.max_bytes.max(0) as u64))
    }
}

go_struct! {
    /// The addresses of one cluster node (`clusterList` in `/config`).
    pub struct ClusterNode => "g.ClusterNode" {
        /// Every address of the node; each gets every item.
        pub addrs: Vec<String> = "addrs",
    }
}

go_struct! {
    /// A sharded gob output: `judge`, `graph` (and the shape of HEAD's `p8s_relay`).
    pub struct ClusterConfig => "g.ClusterConfig", custom_default {
        /// Whether to send.
        pub enabled: bool = "enabled",
        /// Items per `Send` call.
        pub batch: i64 = "batch" as "int",
        /// Dial timeout, ms.
        pub conn_timeout: i64 = "connTimeout" as "int",
        /// Call timeout, ms.
        pub call_timeout: i64 = "callTimeout" as "int",
        /// Connections (and calls in flight) per address.
        pub max_conns: i64 = "maxConns" as "int",
        /// Idle connections kept per address.
        pub max_idle: i64 = "maxIdle" as "int",
        /// Ring points per node.
        pub replicas: i64 = "replicas" as "int",
        /// Node name -> address (graph: comma-separated addresses, all of which get every item).
        pub cluster: BTreeMap<String, String> = "cluster",
        /// Derived from `cluster` (shown by `/config`, as in Go).
        pub cluster_list: BTreeMap<String, ClusterNode> = "clusterList",
        /// Items queued per address before new ones are dropped (ours; Go's is fixed at 102400).
        #[serde(skip_serializing)]
        pub queue_size: i64 = "queueSize" as "int",
        /// Ours: the on-disk overflow of this output's queues.
        #[serde(skip_serializing)]
        pub spool: SpoolConfig = "spool",
    }
}

impl Default for ClusterConfig {
    /// Documented defaults with no nodes: `cluster` must come from the file, because decoding merges a JSON
    /// object into an existing map (as Go does) and a default node would survive next to the file's own.
    fn default() -> Self {
        ClusterConfig {
            enabled: true,
            batch: 200,
            conn_timeout: 1000,
            call_timeout: 5000,
            max_conns: 32,
            max_idle: 32,
            replicas: 500,
            cluster: BTreeMap::new(),
            cluster_list: BTreeMap::new(),
            queue_size: DEFAULT_QUEUE_SIZE,
            spool: SpoolConfig::default(),
        }
    }
}

go_struct! {
    /// The `tsdb` section: OpenTSDB telnet `put` lines.
    pub struct TsdbConfig => "g.TsdbConfig", custom_default {
        /// Whether to send.
        pub enabled: bool = "enabled",
        /// Lines per write.
        pub batch: i64 = "batch" as "int",
        /// Dial timeout, ms.
        pub conn_timeout: i64 = "connTimeout" as "int",
        /// Write timeout, ms.
        pub call_timeout: i64 = "callTimeout" as "int",
        /// Connections at most.
        pub max_conns: i64 = "maxConns" as "int",
        /// Idle connections kept.
        pub max_idle: i64 = "maxIdle" as "int",
        /// Attempts per batch.
        pub retry: i64 = "retry" as "int",
        /// OpenTSDB `host:port`.
        pub address: String = "address",
        /// Items queued before new ones are dropped (ours).
        #[serde(skip_serializing)]
        pub queue_size: i64 = "queueSize" as "int",
        /// Ours: the on-disk overflow of this output's queues.
        #[serde(skip_serializing)]
        pub spool: SpoolConfig = "spool",
    }
}

impl Default for TsdbConfig {
    fn default() -> Self {
        TsdbConfig {
            enabled: false,
            batch: 200,
            conn_timeout: 1000,
            call_timeout: 5000,
            max_conns: 32,
            max_idle: 32,
            retry: 3,
            address: "127.0.0.1:8088".into(),
            queue_size: DEFAULT_QUEUE_SIZE,
            spool: SpoolConfig::default(),
        }
    }
}

go_struct! {
    /// HEAD's `transfer` section: relay everything to other transfers over JSON-RPC.
    pub struct RelayConfig => "g.TransferConfig", custom_default {
        /// Whether to relay.
        pub enabled: bool = "enabled",
        /// Items per `Transfer.Update`.
        pub batch: i64 = "batch" as "int",
        /// Dial timeout, ms.
        pub conn_timeout: i64 = "connTimeout" as "int",
        /// Call timeout, ms.
        pub call_timeout: i64 = "callTimeout" as "int",
        /// Calls in flight per transfer.
        pub max_conns: i64 = "maxConns" as "int",
        /// Idle connections kept per transfer.
        pub max_idle: i64 = "maxIdle" as "int",
        /// Rounds over the cluster per batch.
        pub retry: i64 = "retry" as "int",
        /// Name -> `host:port` of the receiving transfers.
        pub cluster: BTreeMap<String, String> = "cluster",
        /// Items queued before new ones are dropped (ours).
        #[serde(skip_serializing)]
        pub queue_size: i64 = "queueSize" as "int",
        /// Ours: the on-disk overflow of this output's queues.
        #[serde(skip_serializing)]
        pub spool: SpoolConfig = "spool",
        /// Ours: dial the receiving transfers over TLS (their `rpc.tlsListen`).
        #[serde(skip_serializing)]
        pub tls: falcon_runtime::tls::ClientTlsConfig = "tls",
    }
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            enabled: false,
            batch: 200,
            conn_timeout: 1000,
            call_timeout: 5000,
            max_conns: 32,
            max_idle: 32,
            retry: 3,
            cluster: BTreeMap::new(),
            queue_size: DEFAULT_QUEUE_SIZE,
            spool: SpoolConfig::default(),
            tls: Default::default(),
        }
    }
}

go_struct! {
    /// Ours: a local newline-delimited JSON archive of every accepted item, size-bounded and rotated.
    pub struct ArchiveConfig => "g.ArchiveConfig", custom_default {
        /// Whether to write it.
        pub enabled: bool = "enabled",
        /// Directory of `archive.jsonl` and its rotated `archive.jsonl.<n>`.
        pub dir: String = "dir",
        /// Bytes per file before it is rotated.
        pub max_bytes: i64 = "maxBytes",
        /// Rotated files kept (the oldest is deleted).
        pub max_files: i64 = "maxFiles" as "int",
        /// Items per write.
        pub batch: i64 = "batch" as "int",
        /// Items queued before new ones are dropped.
        pub queue_size: i64 = "queueSize" as "int",
        /// Ours: the on-disk overflow of this output's queues.
        #[serde(skip_serializing)]
        pub spool: SpoolConfig = "spool",
    }
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        ArchiveConfig {
            enabled: false,
            dir: "./var/archive".into(),
            max_bytes: 64 << 20,
            max_files: 4,
            batch: 1000,
            queue_size: DEFAULT_QUEUE_SIZE,
            spool: SpoolConfig::default(),
        }
    }
}

go_struct! {
    /// `basicAuth` of a remote-write endpoint.
    pub struct BasicAuth => "g.BasicAuth" {
        /// User.
        pub username: String = "username",
        /// Password (`/config` shows it masked).
        #[serde(serialize_with = "falcon_runtime::redact::secret")]
        pub password: String = "password",
    }
}

go_struct! {
    /// One remote-write endpoint.
    pub struct RemoteWriteEndpoint => "g.RemoteWriteEndpoint" {
        /// `http://host:port/api/v1/write` (VictoriaMetrics, Prometheus with its receiver on, Mimir...);
        /// `/config` shows it without its password and query values.
        #[serde(serialize_with = "falcon_runtime::redact::url")]
        pub url: String = "url",
        /// Extra headers (`X-Scope-OrgID` for a multi-tenant Mimir...); `/config` masks credential values.
        #[serde(serialize_with = "falcon_runtime::redact::headers")]
        pub headers: BTreeMap<String, String> = "headers",
        /// Basic authentication, when `username` is set.
        pub basic_auth: BasicAuth = "basicAuth",
        /// A bearer token, when set (`/config` shows it masked).
        #[serde(serialize_with = "falcon_runtime::redact::secret")]
        pub bearer_token: String = "bearerToken",
    }
}

go_struct! {
    /// Ours: Prometheus remote write 1.0 out, every item to every endpoint.
    pub struct RemoteWriteConfig => "g.RemoteWriteConfig", custom_default {
        /// Whether to send.
        pub enabled: bool = "enabled",
        /// Items per request.
        pub batch: i64 = "batch" as "int",
        /// Request timeout, ms.
        pub timeout: i64 = "timeout" as "int",
        /// Requests at once per endpoint.
        pub max_conns: i64 = "maxConns" as "int",
        /// Items queued per endpoint before new ones are dropped.
        pub queue_size: i64 = "queueSize" as "int",
        /// Ours: the on-disk overflow of this output's queues.
        #[serde(skip_serializing)]
        pub spool: SpoolConfig = "spool",
        /// The label that carries the endpoint (`hostname` as falcon2p8s; `ident` for Nightingale).
        pub endpoint_label: String = "endpointLabel",
        /// Where to send.
        pub endpoints: Vec<RemoteWriteEndpoint> = "endpoints",
    }
}

impl Default for RemoteWriteConfig {
    fn default() -> Self {
        RemoteWriteConfig {
            enabled: false,
            batch: 1000,
            timeout: 5000,
            max_conns: 4,
            queue_size: 200_000,
            spool: SpoolConfig::default(),
            endpoint_label: "hostname".into(),
            endpoints: Vec::new(),
        }
    }
}

impl RemoteWriteEndpoint {
    /// Every header a request carries: the configured ones and the authorization.
    pub fn all_headers(&self) -> Vec<(String, String)> {
        let mut h: Vec<(String, String)> = self.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if !self.basic_auth.username.is_empty() {
            h.push(("authorization".into(), basic_auth(&self.basic_auth.username, &self.basic_auth.password)));
        } else if !self.bearer_token.is_empty() {
            h.push(("authorization".into(), format!("Bearer {}", self.bearer_token)));
        }
        h
    }
}

go_struct! {
    /// Ours: how `/api/v1/write` (Prometheus remote write in) maps series to items.
    pub struct RemoteWriteInConfig => "g.RemoteWriteInConfig", custom_default {
        /// Labels tried in order for the endpoint; the first present one is used and removed from the tags.
        pub endpoint_labels: Vec<String> = "endpointLabels",
        /// The step of the items, seconds.
        pub step: i64 = "step",
    }
}

impl Default for RemoteWriteInConfig {
    fn default() -> Self {
        RemoteWriteInConfig { endpoint_labels: vec!["hostname".into(), "ident".into(), "instance".into()], step: 60 }
    }
}

go_struct! {
    /// HEAD's `influxdb` section: line protocol over InfluxDB 1.x's HTTP `/write`.
    pub struct InfluxdbConfig => "g.InfluxdbConfig", custom_default {
        /// Whether to send.
        pub enabled: bool = "enabled",
        /// Points per write.
        pub batch: i64 = "batch" as "int",
        /// Attempts per batch.
        pub retry: i64 = "retry" as "int",
        /// Writes at once.
        pub max_conns: i64 = "maxConns" as "int",
        /// HTTP timeout, ms.
        pub timeout: i64 = "timeout" as "int",
        /// `http://host:port` (`/config` shows it without a password or query values).
        #[serde(serialize_with = "falcon_runtime::redact::url")]
        pub address: String = "address",
        /// Database.
        pub db: String = "db",
        /// User (basic authentication when set).
        pub username: String = "username",
        /// Password (`/config` shows it masked, where HEAD shows it to any caller).
        #[serde(serialize_with = "falcon_runtime::redact::secret")]
        pub password: String = "password",
        /// Timestamp precision: `s` (HEAD's example), `ms`, `u` or `ns`.
        pub precision: String = "precision",
        /// Ours: items queued before new ones are dropped.
        #[serde(skip_serializing)]
        pub queue_size: i64 = "queueSize" as "int",
        /// Ours: the on-disk overflow of this output's queues.
        #[serde(skip_serializing)]
        pub spool: SpoolConfig = "spool",
    }
}

impl Default for InfluxdbConfig {
    /// HEAD's example values, without its sample credentials and database.
    fn default() -> Self {
        InfluxdbConfig {
            enabled: false,
            batch: 200,
            retry: 3,
            max_conns: 32,
            timeout: 5000,
            address: "http://127.0.0.1:8086".into(),
            db: String::new(),
            username: String::new(),
            password: String::new(),
            precision: "s".into(),
            queue_size: DEFAULT_QUEUE_SIZE,
            spool: SpoolConfig::default(),
        }
    }
}

go_struct! {
    /// HEAD's `p8s_relay` section: gob `P8sRelay.Send` to falcon2p8s exporters, sharded like graph.
    pub struct P8sRelayConfig => "g.P8sRelayConfig", custom_default {
        /// Whether to send.
        pub enabled: bool = "enabled",
        /// Items per call.
        pub batch: i64 = "batch" as "int",
        /// Dial timeout, ms.
        pub conn_timeout: i64 = "connTimeout" as "int",
        /// Call timeout, ms.
        pub call_timeout: i64 = "callTimeout" as "int",
        /// Connections per address.
        pub max_conns: i64 = "maxConns" as "int",
        /// Idle connections per address.
        pub max_idle: i64 = "maxIdle" as "int",
        /// Ring points per node.
        pub replicas: i64 = "replicas" as "int",
        /// Metric prefixes not relayed.
        pub not_sync_metrics: Vec<String> = "notSyncMetrics",
        /// Node -> addresses.
        pub cluster: BTreeMap<String, String> = "cluster",
        /// Derived from `cluster`.
        pub cluster_list: BTreeMap<String, ClusterNode> = "clusterList",
        /// Items queued per address before new ones are dropped (ours).
        #[serde(skip_serializing)]
        pub queue_size: i64 = "queueSize" as "int",
        /// Ours: the on-disk overflow of this output's queues.
        #[serde(skip_serializing)]
        pub spool: SpoolConfig = "spool",
    }
}

impl Default for P8sRelayConfig {
    /// HEAD's example values, without its sample nodes (a JSON object merges into an existing map).
    fn default() -> Self {
        P8sRelayConfig {
            enabled: false,
            batch: 200,
            conn_timeout: 1000,
            call_timeout: 5000,
            max_conns: 32,
            max_idle: 32,
            replicas: 500,
            not_sync_metrics: vec!["gpu.".into(), "snmp.".into()],
            cluster: BTreeMap::new(),
            cluster_list: BTreeMap::new(),
            queue_size: DEFAULT_QUEUE_SIZE,
            spool: SpoolConfig::default(),
        }
    }
}

impl P8sRelayConfig {
    /// The settings the graph-like ring and lanes are built from.
    pub fn as_cluster(&self) -> ClusterConfig {
        ClusterConfig {
            enabled: self.enabled,
            batch: self.batch,
            conn_timeout: self.conn_timeout,
            call_timeout: self.call_timeout,
            max_conns: self.max_conns,
            max_idle: self.max_idle,
            replicas: self.replicas,
            cluster: self.cluster.clone(),
            cluster_list: self.cluster_list.clone(),
            queue_size: self.queue_size,
            spool: self.spool.clone(),
        }
    }
}

go_struct! {
    /// The whole file.
    pub struct Config => "g.GlobalConfig", custom_default {
        /// Debug logging.
        pub debug: bool = "debug",
        /// Smallest step in seconds; below 1 means 30.
        pub min_step: i64 = "minStep" as "int",
        /// HTTP API.
        pub http: HttpConfig = "http",
        /// JSON-RPC receiver.
        pub rpc: RpcConfig = "rpc",
        /// Line-protocol receiver.
        pub socket: SocketConfig = "socket",
        /// Judge output.
        pub judge: ClusterConfig = "judge",
        /// Graph output.
        pub graph: ClusterConfig = "graph",
        /// OpenTSDB output.
        pub tsdb: TsdbConfig = "tsdb",
        /// HEAD: transfer relay.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub transfer: Option<RelayConfig> = "transfer",
        /// HEAD: InfluxDB output.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub influxdb: Option<InfluxdbConfig> = "influxdb",
        /// HEAD: p8s relay output.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub p8s_relay: Option<P8sRelayConfig> = "p8s_relay",
        /// Ours: the local archive (absent from `/config` unless configured).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub archive: Option<ArchiveConfig> = "archive",
        /// Ours: Prometheus remote write in, on the HTTP port's `/api/v1/write`.
        #[serde(skip_serializing)]
        pub remote_write_in: RemoteWriteInConfig = "remoteWriteIn",
        /// Ours: Prometheus remote write out (absent from `/config` unless configured).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub remote_write: Option<RemoteWriteConfig> = "remoteWrite",
        /// Seconds to keep delivering queued items after SIGTERM/SIGINT (ours).
        #[serde(skip_serializing)]
        pub drain_timeout: i64 = "drainTimeout" as "int",
        /// Worker threads (shards), 0 for one per two CPUs, at least one (ours). More shards raise the peak
        /// throughput; fewer cost less CPU per item at moderate load. See docs/benchmarks.md.
        #[serde(skip_serializing)]
        pub worker_threads: i64 = "workerThreads" as "int",
        /// Ours: the budget for bytes buffered from clients over every listener, and the bound on one request.
        #[serde(skip_serializing)]
        pub buffers: BuffersConfig = "buffers",
    }
}

/// The transfer's buffer budget: it takes every agent's traffic.
pub const DEFAULT_BUFFER_BUDGET: i64 = 256 << 20;
/// The transfer's bound on one request: 16 MiB is about 80,000 items, over 500 Go agent cycles.
pub const DEFAULT_MAX_MESSAGE: i64 = 16 << 20;

impl Default for Config {
    fn default() -> Self {
        Config {
            debug: true,
            min_step: 30,
            http: HttpConfig::default(),
            rpc: RpcConfig::default(),
            socket: SocketConfig::default(),
            judge: ClusterConfig::default(),
            graph: ClusterConfig::default(),
            tsdb: TsdbConfig::default(),
            transfer: None,
            influxdb: None,
            p8s_relay: None,
            archive: None,
            remote_write: None,
            remote_write_in: RemoteWriteInConfig::default(),
            drain_timeout: 10,
            worker_threads: 0,
            buffers: BuffersConfig::with_defaults(DEFAULT_BUFFER_BUDGET, DEFAULT_MAX_MESSAGE),
        }
    }
}

/// Go's `formatClusterItems`: each value split on `,`, every part trimmed.
fn cluster_list(cluster: &BTreeMap<String, String>) -> BTreeMap<String, ClusterNode> {
    cluster
        .iter()
        .map(|(node, addrs)| {
            (node.clone(), ClusterNode { addrs: addrs.split(',').map(|a| a.trim().to_string()).collect() })
        })
        .collect()
}

impl Config {
    /// Reads, decodes and validates `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = read_config_object(path)?;
        let cfg = Self::from_json(&file.bytes, &file.object).map_err(|reason| match reason {
            ConfigError::Decode { reason, .. } => ConfigError::Decode { path: path.display().to_string(), reason },
            other => other,
        })?;
        Ok(cfg)
    }

    /// Decodes and validates a JSON object already read (`obj` tells which optional sections are present).
    pub fn from_json(text: &[u8], obj: &serde_json::Map<String, serde_json::Value>) -> Result<Self, ConfigError> {
        // HEAD sections start from their documented defaults when the file has them.
        let present = |name: &str| obj.keys().any(|k| gojson::eq_fold(name, k));
        let mut cfg = Config {
            transfer: present("transfer").then(RelayConfig::default),
            influxdb: present("influxdb").then(InfluxdbConfig::default),
            p8s_relay: present("p8s_relay").then(P8sRelayConfig::default),
            ..Config::default()
        };
        gojson::decode_into(text, &mut cfg, Ctx::top("g.GlobalConfig"))
            .map_err(|e| ConfigError::Decode { path: String::new(), reason: e.0 })?;
        cfg.judge.cluster_list = cluster_list(&cfg.judge.cluster);
        cfg.graph.cluster_list = cluster_list(&cfg.graph.cluster);
        if let Some(p) = cfg.p8s_relay.as_mut() {
            p.cluster_list = cluster_list(&p.cluster);
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Go's `MinStep`: `minStep`, or 30 when below 1.
    pub fn effective_min_step(&self) -> i64 {
        if self.min_step < 1 {
            30
        } else {
            self.min_step
        }
    }

    /// The number of worker shards: `workerThreads`, or one per two CPUs (at least one). One shard takes
    /// 400,000-600,000 items/s on the 2-core test machine; each shard busy only part of the time costs
    /// wakeups that a smaller count avoids (docs/benchmarks.md).
    pub fn effective_workers(&self) -> usize {
        if self.worker_threads > 0 {
            return self.worker_threads as usize;
        }
        let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        (cpus / 2).max(1)
    }

    /// Rejects settings that cannot work, naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, enabled, listen) in
            [("http", self.http.enabled, &self.http.listen), ("rpc", self.rpc.enabled, &self.rpc.listen)]
        {
            if enabled && listen.is_empty() {
                return Err(invalid(&format!("{name}.listen"), "empty while enabled"));
            }
        }
        if !self.rpc.tls_listen.is_empty() && (self.rpc.cert.is_empty() || self.rpc.key.is_empty()) {
            return Err(invalid("rpc.tlsListen", "needs rpc.cert and rpc.key"));
        }
        if self.http.token_required && self.http.token.is_empty() {
            return Err(invalid("http.tokenRequired", "set, but http.token is empty: nobody could reload"));
        }
        self.buffers.validate("buffers")?;
        if self.socket.enabled {
            if self.socket.listen.is_empty() {
                return Err(invalid("socket.listen", "empty while enabled"));
            }
            if self.socket.timeout < 1 {
                return Err(invalid("socket.timeout", "must be at least 1 second"));
            }
        }
        let p8s = self.p8s_relay().map(P8sRelayConfig::as_cluster);
        for (name, c) in
            [("judge", &self.judge), ("graph", &self.graph)].into_iter().chain(p8s.as_ref().map(|c| ("p8s_relay", c)))
        {
            if !c.enabled {
                continue;
            }
            pool_settings(name, c.batch, c.conn_timeout, c.call_timeout, c.max_conns, c.max_idle, c.queue_size)?;
            positive(name, "replicas", c.replicas)?;
            if c.cluster.is_empty() {
                return Err(invalid(&format!("{name}.cluster"), "no nodes while enabled"));
            }
            // The ring is built at start with `replicas` points per node: past the bound that takes gigabytes
            // and minutes, or aborts on a failed allocation (Go's transfer loops and allocates the same way).
            let points = (c.replicas as u64).checked_mul(c.cluster.len() as u64);
            if points.is_none_or(|p| p > MAX_RING_POINTS) {
                return Err(invalid(
                    &format!("{name}.replicas"),
                    format!(
                        "replicas x nodes must be at most {MAX_RING_POINTS}, got {} x {}",
                        c.replicas,
                        c.cluster.len()
                    ),
                ));
            }
            for (node, addrs) in &c.cluster_list {
                if name == "judge" && addrs.addrs.len() > 1 {
                    return Err(invalid(
                        &format!("judge.cluster.{node}"),
                        "judge nodes take one address (Go does not split judge addresses on ',')",
                    ));
                }
                if addrs.addrs.iter().any(|a| a.is_empty()) {
                    return Err(invalid(&format!("{name}.cluster.{node}"), "empty address"));
                }
            }
        }
        if self.tsdb.enabled {
            let t = &self.tsdb;
            pool_settings("tsdb", t.batch, t.conn_timeout, t.call_timeout, t.max_conns, t.max_idle, t.queue_size)?;
            if t.address.is_empty() {
                return Err(invalid("tsdb.address", "empty while enabled"));
            }
        }
        if let Some(r) = self.transfer.as_ref().filter(|r| r.enabled) {
            pool_settings("transfer", r.batch, r.conn_timeout, r.call_timeout, r.max_conns, r.max_idle, r.queue_size)?;
            if r.cluster.is_empty() {
                return Err(invalid("transfer.cluster", "no transfers while enabled"));
            }
        }
        if let Some(i) = self.influxdb() {
            for (key, v) in [("batch", i.batch), ("retry", i.retry), ("maxConns", i.max_conns), ("timeout", i.timeout)]
            {
                positive("influxdb", key, v)?;
            }
            positive("influxdb", "queueSize", i.queue_size)?;
            if !i.address.starts_with("http://") || i.address.parse::<hyper::Uri>().is_err() {
                return Err(invalid(
                    "influxdb.address",
                    "must be an http:// URL (https is not supported in this build)",
                ));
            }
            if i.db.is_empty() {
                return Err(invalid("influxdb.db", "empty while enabled"));
            }
            if crate::sender::influxdb::precision_factor(&i.precision).is_none() {
                return Err(invalid("influxdb.precision", "must be s, ms, u or ns"));
            }
        }
        for (name, spool) in self.spools() {
            if spool.enabled().is_some_and(|(_, max)| max < 1 << 20) {
                return Err(invalid(&format!("{name}.spool.maxBytes"), "must be at least 1048576 (1 MiB)"));
            }
        }
        if let Some(a) = self.archive() {
            if a.dir.is_empty() {
                return Err(invalid("archive.dir", "empty while enabled"));
            }
            positive("archive", "maxBytes", a.max_bytes)?;
            positive("archive", "maxFiles", a.max_files)?;
            positive("archive", "batch", a.batch)?;
            positive("archive", "queueSize", a.queue_size)?;
        }
        if let Some(r) = self.remote_write() {
            positive("remoteWrite", "batch", r.batch)?;
            positive("remoteWrite", "timeout", r.timeout)?;
            positive("remoteWrite", "maxConns", r.max_conns)?;
            positive("remoteWrite", "queueSize", r.queue_size)?;
            if r.endpoint_label.is_empty()
                || crate::sender::remote_write::label_name(&r.endpoint_label) != r.endpoint_label
            {
                return Err(invalid("remoteWrite.endpointLabel", "must be a label name ([a-zA-Z_][a-zA-Z0-9_]*)"));
            }
            if r.endpoints.is_empty() {
                return Err(invalid("remoteWrite.endpoints", "no endpoints while enabled"));
            }
            for (i, e) in r.endpoints.iter().enumerate() {
                if !e.url.starts_with("http://") || e.url.parse::<hyper::Uri>().is_err() {
                    return Err(invalid(
                        &format!("remoteWrite.endpoints[{i}].url"),
                        "must be an http:// URL (https is not supported in this build)",
                    ));
                }
            }
        }
        positive("remoteWriteIn", "step", self.remote_write_in.step)?;
        if self.remote_write_in.endpoint_labels.iter().all(|l| l.is_empty()) {
            return Err(invalid("remoteWriteIn.endpointLabels", "must name at least one label"));
        }
        if self.drain_timeout < 0 {
            return Err(invalid("drainTimeout", "must not be negative"));
        }
        if !(0..=1024).contains(&self.worker_threads) {
            return Err(invalid("workerThreads", "must be between 0 (one per two CPUs) and 1024"));
        }
        Ok(())
    }

    /// The archive settings, if enabled.
    pub fn archive(&self) -> Option<&ArchiveConfig> {
        self.archive.as_ref().filter(|a| a.enabled)
    }

    /// The InfluxDB settings, if enabled.
    pub fn influxdb(&self) -> Option<&InfluxdbConfig> {
        self.influxdb.as_ref().filter(|i| i.enabled)
    }

    /// The spool settings of every output section present, by section name.
    pub fn spools(&self) -> Vec<(&'static str, &SpoolConfig)> {
        let mut v = vec![("judge", &self.judge.spool), ("graph", &self.graph.spool), ("tsdb", &self.tsdb.spool)];
        v.extend(self.transfer.as_ref().map(|c| ("transfer", &c.spool)));
        v.extend(self.influxdb.as_ref().map(|c| ("influxdb", &c.spool)));
        v.extend(self.p8s_relay.as_ref().map(|c| ("p8s_relay", &c.spool)));
        v.extend(self.archive.as_ref().map(|c| ("archive", &c.spool)));
        v.extend(self.remote_write.as_ref().map(|c| ("remoteWrite", &c.spool)));
        v
    }

    /// The p8s relay settings, if enabled.
    pub fn p8s_relay(&self) -> Option<&P8sRelayConfig> {
        self.p8s_relay.as_ref().filter(|p| p.enabled)
    }

    /// The remote-write settings, if enabled.
    pub fn remote_write(&self) -> Option<&RemoteWriteConfig> {
        self.remote_write.as_ref().filter(|r| r.enabled)
    }

    /// The queue bound of the relay, if enabled.
    pub fn relay(&self) -> Option<&RelayConfig> {
        self.transfer.as_ref().filter(|r| r.enabled)
    }
}

/// The settings every output shares: batch, timeouts, connections, queue bound.
fn pool_settings(
    section: &str,
    batch: i64,
    conn: i64,
    call: i64,
    conns: i64,
    idle: i64,
    queue: i64,
) -> Result<(), ConfigError> {
    positive(section, "batch", batch)?;
    positive(section, "connTimeout", conn)?;
    positive(section, "callTimeout", call)?;
    positive(section, "maxConns", conns)?;
    non_negative(section, "maxIdle", idle)?;
    positive(section, "queueSize", queue)
}

fn positive(section: &str, key: &str, v: i64) -> Result<(), ConfigError> {
    if v < 1 {
        return Err(invalid(&format!("{section}.{key}"), format!("must be at least 1, got {v}")));
    }
    Ok(())
}

fn non_negative(section: &str, key: &str, v: i64) -> Result<(), ConfigError> {
    if v < 0 {
        return Err(invalid(&format!("{section}.{key}"), format!("must not be negative, got {v}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).unwrap();
        Config::from_json(text.as_bytes(), &obj)
    }

    /// The config of the recorded Go run, whose `/config` reply is in captures/http/transfer_config.txt.
    const CAPTURED: &str = r#"{"debug":true,"minStep":10,
        "http":{"enabled":true,"listen":"127.0.0.1:16060"},
        "rpc":{"enabled":true,"listen":"127.0.0.1:18433"},
        "socket":{"enabled":true,"listen":"127.0.0.1:14444","timeout":3600},
        "judge":{"enabled":true,"batch":200,"connTimeout":1000,"callTimeout":5000,"maxConns":32,"maxIdle":32,"replicas":500,"cluster":{"judge-00":"127.0.0.1:26080"}},
        "graph":{"enabled":true,"batch":200,"connTimeout":1000,"callTimeout":5000,"maxConns":32,"maxIdle":32,"replicas":500,"cluster":{"graph-00":"127.0.0.1:26070"}},
        "tsdb":{"enabled":false,"batch":200,"connTimeout":1000,"callTimeout":5000,"maxConns":32,"maxIdle":32,"retry":3,"address":"127.0.0.1:18088"}}"#;

    #[test]
    fn config_endpoint_body_matches_go() {
        let cfg = parse(CAPTURED).unwrap();
        let want = r#"{"debug":true,"minStep":10,"http":{"enabled":true,"listen":"127.0.0.1:16060"},"rpc":{"enabled":true,"listen":"127.0.0.1:18433"},"socket":{"enabled":true,"listen":"127.0.0.1:14444","timeout":3600},"judge":{"enabled":true,"batch":200,"connTimeout":1000,"callTimeout":5000,"maxConns":32,"maxIdle":32,"replicas":500,"cluster":{"judge-00":"127.0.0.1:26080"},"clusterList":{"judge-00":{"addrs":["127.0.0.1:26080"]}}},"graph":{"enabled":true,"batch":200,"connTimeout":1000,"callTimeout":5000,"maxConns":32,"maxIdle":32,"replicas":500,"cluster":{"graph-00":"127.0.0.1:26070"},"clusterList":{"graph-00":{"addrs":["127.0.0.1:26070"]}}},"tsdb":{"enabled":false,"batch":200,"connTimeout":1000,"callTimeout":5000,"maxConns":32,"maxIdle":32,"retry":3,"address":"127.0.0.1:18088"}}"#;
        assert_eq!(gojson::to_string(&cfg).unwrap(), want);
    }

    #[test]
    fn keys_fold_defaults_fill_and_graph_addresses_split() {
        let cfg = parse(
            r#"{"MINSTEP":0,"graph":{"cluster":{"g1":" 10.0.0.1:6070 , 10.0.0.2:6070"}},"judge":{"enabled":false}}"#,
        )
        .unwrap();
        assert_eq!(cfg.graph.cluster.len(), 1, "no default node next to the file's own");
        assert_eq!(cfg.effective_min_step(), 30);
        assert_eq!(cfg.graph.batch, 200, "missing key takes the documented default");
        assert_eq!(cfg.graph.cluster_list["g1"].addrs, vec!["10.0.0.1:6070", "10.0.0.2:6070"]);
        assert!(cfg.transfer.is_none());
    }

    const NODES: &str = r#""judge":{"cluster":{"j":"127.0.0.1:1"}},"graph":{"cluster":{"g":"127.0.0.1:2"}}"#;

    #[test]
    fn head_sections_are_optional_and_default_when_present() {
        let cfg = parse(&format!(r#"{{{NODES},"transfer":{{"enabled":true,"cluster":{{"t1":"127.0.0.1:8433"}}}},"influxdb":{{"enabled":false}},"p8s_relay":{{}}}}"#)).unwrap();
        let r = cfg.relay().unwrap();
        assert_eq!((r.batch, r.retry, r.max_conns), (200, 3, 32));
        assert!(cfg.influxdb.is_some() && cfg.p8s_relay.is_some());
        let p = cfg.p8s_relay.as_ref().unwrap();
        assert_eq!(
            (p.batch, p.replicas, p.not_sync_metrics.clone()),
            (200, 500, vec!["gpu.".to_string(), "snmp.".into()])
        );
        let cfg = parse(&format!(
            r#"{{{NODES},"p8s_relay":{{"enabled":true,"notSyncMetrics":["x."],"cluster":{{"p":"a:1, b:2"}}}}}}"#
        ))
        .unwrap();
        let p = cfg.p8s_relay().unwrap();
        assert_eq!(p.not_sync_metrics, vec!["x."], "the file's list replaces the default one");
        assert_eq!(p.cluster_list["p"].addrs, vec!["a:1", "b:2"]);
    }

    #[test]
    fn bad_configs_name_the_key() {
        let cases = [
            (r#"{"judge":{"batch":"200"}}"#, "Go struct field ClusterConfig.judge.batch of type int"),
            (r#"{"graph":{"batch":0}}"#, "config key graph.batch: must be at least 1, got 0"),
            (r#"{"graph":{"cluster":{}}}"#, "config key graph.cluster: no nodes while enabled"),
            (r#"{"judge":{"cluster":{"j":"a:1,b:2"}}}"#, "config key judge.cluster.j"),
            (r#"{"graph":{"cluster":{"g":"a:1,"}}}"#, "config key graph.cluster.g: empty address"),
            (r#"{"rpc":{"listen":""}}"#, "config key rpc.listen"),
            (r#"{"influxdb":{"enabled":true}}"#, "config key influxdb.db: empty while enabled"),
            (r#"{"influxdb":{"enabled":true,"db":"f","precision":"m"}}"#, "config key influxdb.precision"),
            (r#"{"influxdb":{"enabled":true,"db":"f","address":"https://x"}}"#, "config key influxdb.address"),
            (r#"{"p8s_relay":{"enabled":true}}"#, "config key p8s_relay.cluster: no nodes while enabled"),
            (r#"{"p8s_relay":{"enabled":true,"batch":0,"cluster":{"p":"a:1"}}}"#, "config key p8s_relay.batch"),
            (r#"{"transfer":{"enabled":true}}"#, "config key transfer.cluster"),
            (
                r#"{"graph":{"cluster":{"g":"a:1"},"spool":{"dir":"/x","maxBytes":1000}}}"#,
                "config key graph.spool.maxBytes: must be at least",
            ),
            (r#"{"tsdb":{"enabled":true,"address":""}}"#, "config key tsdb.address"),
        ];
        for (text, want) in cases {
            // Each case on top of a config that is otherwise valid.
            let mut full: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&format!("{{{NODES}}}")).unwrap();
            for (k, v) in serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text).unwrap() {
                full.insert(k, v);
            }
            let text = &serde_json::to_string(&full).unwrap();
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn shipped_example_is_valid() {
        let text = include_str!("../cfg.example.json");
        let cfg = parse(text).unwrap();
        assert_eq!(cfg.judge.cluster["judge-00"], "127.0.0.1:6080");
    }

    #[test]
    fn fuzz_regression_absurd_replicas_are_refused_at_load() {
        // Found by the transfer_config fuzz target: 30,000,000 replicas took 22 s and 844 MB to start (4,775,807
        // took 3 s), 4,000,000,000 aborted on a failed 77 GB allocation, and i64::MAX panicked in the ring's
        // HashMap.
        for replicas in ["4775807", "30000000", "4000000000", "9223372036854775807"] {
            let e = parse(&format!(r#"{{"judge":{{"replicas":{replicas},"cluster":{{"j":"127.0.0.1:1"}}}}}}"#));
            assert!(e.unwrap_err().to_string().contains("judge.replicas"), "{replicas}");
        }
        let e = parse(
            r#"{"judge":{"enabled":false},"graph":{"replicas":500001,"cluster":{"a":"127.0.0.1:1","b":"127.0.0.1:2"}}}"#,
        );
        let e = e.unwrap_err().to_string();
        assert!(e.contains("graph.replicas") && e.contains("replicas x nodes"), "{e}");
        parse(r#"{"judge":{"enabled":false},"graph":{"replicas":500000,"cluster":{"a":"127.0.0.1:1","b":"127.0.0.1:2"}}}"#)
            .unwrap();
    }
}
