//! What the receivers share: the running config, the counters and the sender; `receive` is Go's
//! `RecvMetricValues` (validate, count, queue, reply).

use crate::config::Config;
use crate::point::Point;
use crate::sender::Sender;
use crate::stats::Stats;
use crate::validate::validate;
use crate::wire::Incoming;
use falcon_proto::model::TransferResponse;
use falcon_runtime::timefmt::now_unix;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Where items came from (selects the receive counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// JSON-RPC `Transfer.Update`.
    Rpc,
    /// HTTP `/api/push`.
    Http,
    /// The line protocol.
    Socket,
}

/// The transfer's shared state.
pub struct App {
    /// The running configuration.
    pub cfg: Config,
    /// The file it came from, for `/config/reload`.
    pub config_path: Option<PathBuf>,
    /// Counters.
    pub stats: Arc<Stats>,
    /// Sharding and forwarding.
    pub sender: Arc<Sender>,
    /// The JSON-RPC TLS listener's certificates, once started (reloaded by `/config/reload`).
    pub rpc_tls: std::sync::OnceLock<Arc<falcon_runtime::tls::ServerTls>>,
    /// Bytes buffered from clients, over every listener (fixed at start; a reload does not change it).
    pub budget: Arc<falcon_runtime::budget::Budget>,
    /// `/metrics`.
    pub metrics: falcon_runtime::metrics::Metrics,
    /// The page's traffic history (`/page/traffic`), sampled by [`crate::traffic::run`].
    pub traffic: crate::traffic::Traffic,
}

impl App {
    /// Builds the sender for `cfg` (loops not started); fails when a spool directory or the relay's TLS files
    /// cannot be opened.
    pub fn new(cfg: Config, config_path: Option<PathBuf>) -> Result<Arc<Self>, crate::sender::BuildError> {
        let stats = Arc::new(Stats::new());
        let sender = Sender::new(&cfg, stats.clone())?;
        let budget = cfg.buffers.budget();
        let metrics = crate::metrics::build(stats.clone(), sender.clone(), budget.clone());
        let traffic = crate::traffic::Traffic::default();
        Ok(Arc::new(App {
            cfg,
            config_path,
            stats,
            sender,
            rpc_tls: std::sync::OnceLock::new(),
            budget,
            metrics,
            traffic,
        }))
    }

    /// Re-reads and validates the config file and the RPC TLS certificates (`/config/reload`, SIGHUP). Like Go,
    /// the rings, queues, pools and listeners built at start stay as they are, so a changed file takes effect at
    /// the next restart (logged); unlike Go, which exits when the file is bad, a bad file is reported and the
    /// transfer keeps running. The error is the text `/config/reload` answers.
    pub fn reload_config(&self) -> Result<(), String> {
        // Certificates are re-read from their files; open connections keep their sessions.
        if let Some(tls) = self.rpc_tls.get() {
            if let Err(e) = tls.reload() {
                tracing::error!(error = %e, "config reload: TLS certificates not reloaded; the running ones stay");
                return Err(format!("TLS certificates not reloaded: {e}"));
            }
        }
        let Some(path) = self.config_path.as_ref() else { return Err("no config file".into()) };
        match Config::load(path) {
            Ok(new) if new == self.cfg => Ok(()),
            Ok(_) => {
                tracing::warn!(
                    "config reload: {} changed; the changes take effect at the next restart",
                    path.display()
                );
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "config reload: {} refused; the running config stays", path.display());
                Err(e.to_string())
            }
        }
    }

    /// Whether the config has HEAD's sections (then `/counter/all` lists HEAD's counters).
    pub fn head_config(&self) -> bool {
        self.cfg.transfer.is_some() || self.cfg.influxdb.is_some() || self.cfg.p8s_relay.is_some()
    }

    /// Go's `RecvMetricValues`: validates, counts and queues a request's items and builds the reply.
    pub fn receive(&self, items: Vec<Option<Incoming>>, source: Source) -> TransferResponse {
        let start = Instant::now();
        let verdict = validate(items, now_unix());
        let (total, invalid) = (verdict.total, verdict.invalid);
        self.stats.invalid.add(invalid);
        self.receive_points(verdict.points, source);
        TransferResponse {
            message: "ok".into(),
            total: total as i64,
            invalid: invalid as i64,
            latency: start.elapsed().as_millis() as i64,
        }
    }

    /// Counts and queues already accepted points.
    pub fn receive_points(&self, points: Vec<Point>, source: Source) {
        let n = points.len();
        self.stats.recv.add(n);
        match source {
            Source::Rpc => self.stats.rpc_recv.add(n),
            Source::Http => self.stats.http_recv.add(n),
            Source::Socket => self.stats.socket_recv.add(n),
        }
        self.sender.push(points);
    }
}
