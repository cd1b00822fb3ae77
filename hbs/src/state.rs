//! Shared state: config, the store, the cache snapshot, the agents map and the host-write queue.

use crate::cache::Snapshot;
use crate::config::Config;
use crate::hostwrites::HostWrites;
use crate::store::{DbError, Store};
use falcon_proto::model::AgentReportRequest;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

/// The last heartbeat of an agent.
#[derive(Debug, Clone)]
pub struct AgentSeen {
    /// When (unix s).
    pub last_update: i64,
    /// What it reported.
    pub report: AgentReportRequest,
}

/// Shared state.
pub struct Hbs {
    cfg: RwLock<Arc<Config>>,
    path: Option<PathBuf>,
    /// The database.
    pub store: Arc<dyn Store>,
    cache: RwLock<Arc<Snapshot>>,
    /// hostname -> last heartbeat.
    pub agents: Mutex<BTreeMap<String, AgentSeen>>,
    /// Host rows waiting to be written.
    pub host_writes: HostWrites,
    /// The JSON-RPC TLS listener's certificates, once started (reloaded by `/config/reload`).
    pub rpc_tls: std::sync::OnceLock<Arc<falcon_runtime::tls::ServerTls>>,
    /// Bytes buffered from clients, over every listener (fixed at start; a reload does not change it).
    pub budget: Arc<falcon_runtime::budget::Budget>,
    /// Per-group agent versions (the rollout file).
    pub rollout: crate::rollout::RolloutState,
    /// What updaters reported.
    pub updater_reports: crate::rollout::Reports,
    /// Checksums of served tarballs.
    pub checksums: crate::rollout::Checksums,
    /// Updaters' heartbeats and downloads, for `/metrics`.
    pub updater_http: crate::metrics::UpdaterHttpStats,
    /// JSON-RPC calls by method, for `/metrics`.
    pub calls: crate::metrics::CallStats,
    /// JSON-RPC calls per second by method, for the page ([`crate::call_history`]).
    pub call_history: falcon_runtime::history::History,
    /// What cache and config reloads did, for `/metrics`.
    pub reloads: crate::metrics::ReloadStats,
    /// `/metrics`.
    pub metrics: falcon_runtime::metrics::Metrics,
}

impl Hbs {
    /// State over an opened database; loads the caches (an error here is fatal, as in Go).
    pub fn new(cfg: Config, path: Option<PathBuf>, store: Arc<dyn Store>) -> Result<Arc<Hbs>, DbError> {
        let snap = store.load()?;
        let budget = cfg.buffers.budget();
        let rollout = crate::rollout::RolloutState::new(PathBuf::from(&cfg.rollout_file));
        let calls = crate::metrics::CallStats::default();
        let reloads = crate::metrics::ReloadStats::default();
        reloads.last_ok.store(falcon_runtime::timefmt::now_unix(), std::sync::atomic::Ordering::Relaxed);
        Ok(Arc::new_cyclic(|me| Hbs {
            metrics: crate::metrics::build(me.clone(), &calls, budget.clone()),
            calls,
            call_history: falcon_runtime::history::History::for_page(),
            reloads,
            budget,
            rollout,
            updater_reports: Default::default(),
            checksums: Default::default(),
            updater_http: Default::default(),
            cfg: RwLock::new(Arc::new(cfg)),
            path,
            store,
            cache: RwLock::new(Arc::new(snap)),
            agents: Mutex::new(BTreeMap::new()),
            host_writes: HostWrites::default(),
            rpc_tls: std::sync::OnceLock::new(),
        }))
    }

    /// The config.
    pub fn config(&self) -> Arc<Config> {
        match self.cfg.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Re-reads the config file (the database path and listeners apply at the next start).
    pub fn reload_config(&self) -> Result<Arc<Config>, crate::config::ConfigError> {
        let r = self.load_config();
        if r.is_err() {
            self.reloads.config_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        r
    }

    fn load_config(&self) -> Result<Arc<Config>, crate::config::ConfigError> {
        // Certificates are re-read from their files; open connections keep their sessions.
        if let Some(tls) = self.rpc_tls.get() {
            tls.reload()
                .map_err(|e| crate::config::ConfigError::Invalid { key: "cert".into(), reason: e.to_string() })?;
        }
        let Some(p) = &self.path else { return Ok(self.config()) };
        let new = Arc::new(Config::load(p)?);
        match self.cfg.write() {
            Ok(mut c) => *c = new.clone(),
            Err(p) => *p.into_inner() = new.clone(),
        }
        Ok(new)
    }

    /// The current snapshot.
    pub fn cache(&self) -> Arc<Snapshot> {
        match self.cache.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Rebuilds the snapshot; on error the last good one stays and the error is returned.
    pub fn reload(&self) -> Result<(), DbError> {
        match self.store.load() {
            Ok(s) => {
                match self.cache.write() {
                    Ok(mut c) => *c = Arc::new(s),
                    Err(p) => *p.into_inner() = Arc::new(s),
                }
                self.reloads.last_ok.store(falcon_runtime::timefmt::now_unix(), std::sync::atomic::Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                self.reloads.failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::error!(error = %e, "cache reload failed; keeping the last good caches");
                Err(e)
            }
        }
    }

    /// Go's `Agents.Put` + host write: the host row is queued for writing when the agent is new to this
    /// process or its ip, agent or plugin version changed ([`HostWrites`]).
    pub fn report(&self, r: AgentReportRequest, now: i64) {
        let changed = {
            let agents = match self.agents.lock() {
                Ok(a) => a,
                Err(p) => p.into_inner(),
            };
            match agents.get(&r.hostname) {
                None => true,
                Some(a) => {
                    a.report.ip != r.ip
                        || a.report.agent_version != r.agent_version
                        || a.report.plugin_version != r.plugin_version
                }
            }
        };
        if changed {
            self.host_writes.push(r.clone());
        }
        if let Ok(mut agents) = self.agents.lock() {
            agents.insert(r.hostname.clone(), AgentSeen { last_update: now, report: r });
        }
    }

    /// Writes the queued host rows (one batch); when hosts were new, reloads the caches so that their checks
    /// and plugins are known at once. Returns how many were new.
    pub fn flush_hosts(&self) -> Result<usize, DbError> {
        let created = self.host_writes.flush(self.store.as_ref(), !self.config().hosts.is_empty())?;
        if created > 0 {
            self.reload()?;
        }
        Ok(created)
    }

    /// Forgets agents not seen for `max_age` seconds (Go: 24 h, checked daily).
    pub fn forget_stale(&self, now: i64, max_age: i64) -> usize {
        let Ok(mut agents) = self.agents.lock() else { return 0 };
        let before = agents.len();
        agents.retain(|_, a| now - a.last_update <= max_age);
        before - agents.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::db::Db;

    #[test]
    fn a_failed_reload_keeps_the_last_good_caches() {
        let db = Arc::new(Db::memory().unwrap());
        db.apply(&crate::admin::Op::AddHost { hostname: "h1".into() }).unwrap();
        let hbs = Hbs::new(Config::default(), None, db.clone()).unwrap();
        assert!(hbs.cache().host_ids.contains_key("h1"));
        db.conn().execute_batch("DROP TABLE grp_tpl").unwrap();
        assert!(hbs.reload().is_err());
        assert!(hbs.cache().host_ids.contains_key("h1"), "last good snapshot kept");
    }

    #[test]
    fn heartbeats_write_only_when_something_changed() {
        let db = Arc::new(Db::memory().unwrap());
        let hbs = Hbs::new(Config::default(), None, db.clone()).unwrap();
        let r = AgentReportRequest {
            hostname: "a".into(),
            ip: "1".into(),
            agent_version: "v".into(),
            plugin_version: "p".into(),
        };
        hbs.report(r.clone(), 10);
        assert_eq!(hbs.flush_hosts().unwrap(), 1);
        assert!(hbs.cache().host_ids.contains_key("a"), "a new host reloads the caches");
        db.conn().execute("UPDATE host SET ip='changed-elsewhere'", []).unwrap();
        hbs.report(r.clone(), 11);
        assert_eq!(hbs.flush_hosts().unwrap(), 0);
        let ip: String = db.conn().query_row("SELECT ip FROM host", [], |x| x.get(0)).unwrap();
        assert_eq!(ip, "changed-elsewhere", "same report: no write");
        hbs.report(AgentReportRequest { ip: "2".into(), ..r }, 12);
        assert_eq!(hbs.flush_hosts().unwrap(), 0);
        let ip: String = db.conn().query_row("SELECT ip FROM host", [], |x| x.get(0)).unwrap();
        assert_eq!(ip, "2");
        assert_eq!(hbs.forget_stale(12 + 86_401, 86_400), 1);
    }
}
