//! The agent's shared state: the live config (reloadable), the sender, the sampler, the checks and trusted
//! IPs from HBS, the plugin scheduler and the collector counters.

use crate::checks::Checks;
use crate::collector::sampler::Sampler;
use crate::collector::Env;
use crate::config::{Config, ConfigError};
use crate::plugins::scheduler::Scheduler;
use crate::sender::{Sender, SenderConfig};
use crate::spool::Spool;
use crate::stats::CollectorStats;
use falcon_proto::model::MetricValue;
use falcon_runtime::shutdown::ShutdownTrigger;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// Shared state.
pub struct Agent {
    cfg: RwLock<Arc<Config>>,
    path: Option<PathBuf>,
    rootfs: PathBuf,
    proc: PathBuf,
    sys: PathBuf,
    /// The buffered sender.
    pub sender: Arc<Sender>,
    /// The 1 s sampler.
    pub sampler: Arc<Sampler>,
    /// Checks from HBS.
    pub checks: Arc<RwLock<Arc<Checks>>>,
    /// CPU ticks of matched processes at the previous cycle (`process.cpu.percent`).
    pub proc_history: Arc<Mutex<crate::collector::procstat::History>>,
    /// SMART and RAID results (`sys.disk.smart.*`, `sys.disk.lsiraid.*`).
    pub disk_health: Arc<crate::collector::diskhealth::DiskHealth>,
    /// Mount options first seen and probes in flight (`sys.disk.rw`).
    pub rw_tracker: Arc<Mutex<crate::collector::diskrw::Tracker>>,
    /// Trusted IPs from HBS (None until the first sync, as in Go).
    pub trustable: RwLock<Option<Vec<String>>>,
    /// The local address toward HBS.
    pub local_ip: RwLock<String>,
    /// Running plugins.
    pub plugins: Arc<Scheduler>,
    /// Collector counters.
    pub stats: CollectorStats,
    /// Shell checks' last runs.
    pub shell_checks: crate::shellchecks::ShellChecks,
    /// Stops the agent (`/exit`, signals).
    pub exit: ShutdownTrigger,
    /// How streams to HBS are opened (`heartbeat.tls`); plain TCP when None.
    pub hbs_connector: Option<Arc<dyn falcon_proto::connect::Connector>>,
    /// Bytes buffered from clients and from plugin and check output (fixed at start).
    pub budget: Arc<falcon_runtime::budget::Budget>,
    /// HBS calls by method and outcome (`ok`: answered, `error`: not).
    pub hbs_calls: falcon_runtime::outcomes::Outcomes,
    /// Unix seconds of the last HBS call that was answered (0: none yet).
    pub hbs_last_ok: std::sync::atomic::AtomicI64,
    /// `/metrics`, built at the first scrape (an agent nobody scrapes does not pay for it).
    pub metrics: std::sync::OnceLock<falcon_runtime::metrics::Metrics>,
    /// The last HBS call that failed: when and why.
    pub hbs_last_error: falcon_runtime::latest::Latest,
    /// The checksum of the builtin checks in force (HBS's, from the last BuiltinMetrics reply that changed them).
    pub builtin_checksum: RwLock<String>,
    /// The last value of every check (the page).
    pub check_values: crate::check_values::CheckValues,
    /// The last hour of CPU, memory and network (the page's plots).
    pub history: falcon_runtime::history::History,
}

/// The connector of a `tls` section, when it is on; an error names the section.
fn connector(
    section: &str,
    tls: &falcon_runtime::tls::ClientTlsConfig,
) -> std::io::Result<Option<Arc<dyn falcon_proto::connect::Connector>>> {
    if !tls.enabled() {
        return Ok(None);
    }
    falcon_runtime::tls::ClientTls::new(tls)
        .map(|c| Some(c as Arc<dyn falcon_proto::connect::Connector>))
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{section}.tls: {e}")))
}

fn read<T: Clone>(l: &RwLock<T>) -> T {
    match l.read() {
        Ok(v) => v.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

impl Agent {
    /// Builds the state (opening the spool, if configured) without starting anything.
    pub fn new(cfg: Config, path: Option<PathBuf>, exit: ShutdownTrigger) -> std::io::Result<Arc<Agent>> {
        let (proc, sys) = cfg.roots();
        let rootfs = std::env::var_os("NUX_ROOTFS").filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or("/".into());
        let spool = if cfg.transfer.spool.is_empty() {
            None
        } else {
            Some(Spool::open(&PathBuf::from(&cfg.transfer.spool), cfg.transfer.spool_max_bytes as u64)?)
        };
        let hbs_connector = connector("heartbeat", &cfg.heartbeat.tls)?;
        let sender = Sender::new(
            SenderConfig {
                connector: connector("transfer", &cfg.transfer.tls)?,
                addrs: cfg.transfer.addrs.clone(),
                dial_timeout: Duration::from_millis(cfg.transfer.timeout as u64),
                call_timeout: Duration::from_secs(10),
                max_items: cfg.transfer.buffer_items as usize,
                min_backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(30),
            },
            spool,
        );
        let shell_checks = crate::shellchecks::ShellChecks::new(&cfg.checks);
        let budget = cfg.buffers.budget();
        Ok(Arc::new_cyclic(|weak: &std::sync::Weak<Agent>| {
            let sink_owner = weak.clone();
            let dirs_owner = weak.clone();
            let plugins = Scheduler::new(
                Arc::new(move |items: Vec<MetricValue>| {
                    if let Some(a) = sink_owner.upgrade() {
                        a.forward(items);
                    }
                }),
                Arc::new(move || match dirs_owner.upgrade() {
                    Some(a) => {
                        let c = a.config();
                        (PathBuf::from(&c.plugin.dir), PathBuf::from(&c.plugin.logs))
                    }
                    None => (PathBuf::from("."), PathBuf::from(".")),
                }),
                budget.clone(),
            );
            Agent {
                cfg: RwLock::new(Arc::new(cfg)),
                path,
                sampler: Arc::new(Sampler::new(proc.clone())),
                rootfs,
                proc,
                sys,
                sender,
                checks: Arc::new(RwLock::new(Arc::new(Checks::default()))),
                proc_history: Arc::default(),
                rw_tracker: Arc::default(),
                disk_health: Arc::default(),
                trustable: RwLock::new(None),
                local_ip: RwLock::new(String::new()),
                plugins,
                stats: CollectorStats::default(),
                shell_checks,
                exit,
                hbs_connector,
                budget,
                hbs_calls: Default::default(),
                hbs_last_ok: Default::default(),
                metrics: Default::default(),
                hbs_last_error: Default::default(),
                builtin_checksum: RwLock::new(String::new()),
                check_values: Default::default(),
                history: falcon_runtime::history::History::for_page(),
            }
        }))
    }

    /// The live config.
    pub fn config(&self) -> Arc<Config> {
        read(&self.cfg)
    }

    /// Re-reads the config file; on error the running config stays.
    pub fn reload(&self) -> Result<Arc<Config>, ConfigError> {
        let Some(path) = &self.path else { return Ok(self.config()) };
        let new = Arc::new(Config::load(path)?);
        match self.cfg.write() {
            Ok(mut c) => *c = new.clone(),
            Err(p) => *p.into_inner() = new.clone(),
        }
        Ok(new)
    }

    /// The endpoint.
    pub fn endpoint(&self) -> Result<String, String> {
        crate::identity::hostname(&self.config().hostname)
    }

    /// The IP reported to HBS: configured, else the local address toward HBS.
    pub fn ip(&self) -> String {
        let c = self.config();
        if !c.ip.is_empty() {
            return c.ip.clone();
        }
        read(&self.local_ip)
    }

    /// Sets the local address.
    pub fn set_local_ip(&self, ip: String) {
        if let Ok(mut l) = self.local_ip.write() {
            *l = ip;
        }
    }

    /// A collector environment for the current config.
    pub fn env(&self) -> Env {
        let c = self.config();
        Env {
            rootfs: self.rootfs.clone(),
            proc: self.proc.clone(),
            sys: self.sys.clone(),
            iface_prefix: c.collector.iface_prefix.clone(),
            mount_points: c.collector.mount_point.clone(),
            sampler: self.sampler.clone(),
            checks: self.checks.clone(),
            process_metrics: c.collector.process_metrics,
            proc_history: self.proc_history.clone(),
            disk_rw_check: c.collector.disk_rw_check,
            rw_tracker: self.rw_tracker.clone(),
            disk_health: c.collector.disk_health.then(|| self.disk_health.clone()),
        }
    }

    /// Replaces the checks.
    pub fn set_checks(&self, checks: Checks) {
        match self.checks.write() {
            Ok(mut c) => *c = Arc::new(checks),
            Err(p) => *p.into_inner() = Arc::new(checks),
        }
    }

    /// Plugin output and pushed items: default tags, then the sender.
    pub fn forward(&self, items: Vec<MetricValue>) {
        let items = crate::outgoing::forwarded(items, &self.config().default_tags);
        self.sender.submit(&items);
    }

    /// The trusted list.
    pub fn trustable_ips(&self) -> Option<Vec<String>> {
        read(&self.trustable)
    }

    /// Whether a caller's address is trusted: loopback, or an IP HBS lists as trustable.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        falcon_runtime::auth::is_trusted(ip, self.trustable_ips().unwrap_or_default().iter())
    }

    /// Whether a caller may use the routes that change state: it sent `http.token`, or its address is trusted
    /// and `http.tokenRequired` is off.
    pub fn admits(&self, headers: &axum::http::HeaderMap, ip: IpAddr) -> bool {
        self.config().http.gate().admit(headers, self.is_trusted(ip)).allowed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_is_loopback_or_an_hbs_listed_ip() {
        let (t, _s) = falcon_runtime::shutdown::channel();
        let a = Agent::new(Config::default(), None, t).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(a.is_trusted(ip("127.0.0.1")) && a.is_trusted(ip("127.8.9.1")) && a.is_trusted(ip("::1")));
        assert!(a.is_trusted(ip("::ffff:127.0.0.1")));
        assert!(!a.is_trusted(ip("10.1.1.1")));
        *a.trustable.write().unwrap() = Some(vec!["10.1.1.1".into(), " 2001:db8::1".into(), "".into()]);
        assert!(a.is_trusted(ip("10.1.1.1")) && a.is_trusted(ip("2001:db8::1")) && a.is_trusted(ip("::ffff:10.1.1.1")));
        assert!(!a.is_trusted(ip("10.1.1.2")));
    }
}
