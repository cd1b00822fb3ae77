//! Shared state: config, database, the cache snapshot and the agents map.

use crate::cache::Snapshot;
use crate::config::Config;
use crate::db::{Db, DbError};
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
    pub db: Db,
    cache: RwLock<Arc<Snapshot>>,
    /// hostname -> last heartbeat.
    pub agents: Mutex<BTreeMap<String, AgentSeen>>,
}

impl Hbs {
    /// State over an opened database; loads the caches (an error here is fatal, as in Go).
    pub fn new(cfg: Config, path: Option<PathBuf>, db: Db) -> Result<Arc<Hbs>, DbError> {
        let snap = db.load()?;
        Ok(Arc::new(Hbs {
            cfg: RwLock::new(Arc::new(cfg)),
            path,
            db,
            cache: RwLock::new(Arc::new(snap)),
            agents: Mutex::new(BTreeMap::new()),
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
        match self.db.load() {
            Ok(s) => {
                match self.cache.write() {
                    Ok(mut c) => *c = Arc::new(s),
                    Err(p) => *p.into_inner() = Arc::new(s),
                }
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "cache reload failed; keeping the last good caches");
                Err(e)
            }
        }
    }

    /// Go's `Agents.Put` + host write: the database is written when the agent is new to this process or its
    /// ip, agent or plugin version changed. Returns whether a host row was created.
    pub fn report(&self, r: AgentReportRequest, now: i64) -> bool {
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
        let mut created = false;
        if changed {
            match self.db.report_host(&r, !self.config().hosts.is_empty()) {
                Ok(c) => created = c,
                Err(e) => tracing::error!(host = %r.hostname, error = %e, "host write failed"),
            }
        }
        if let Ok(mut agents) = self.agents.lock() {
            agents.insert(r.hostname.clone(), AgentSeen { last_update: now, report: r });
        }
        created
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

    #[test]
    fn a_failed_reload_keeps_the_last_good_caches() {
        let db = Db::memory().unwrap();
        db.apply(&crate::admin::Op::AddHost { hostname: "h1".into() }).unwrap();
        let hbs = Hbs::new(Config::default(), None, db).unwrap();
        assert!(hbs.cache().host_ids.contains_key("h1"));
        hbs.db.conn().execute_batch("DROP TABLE grp_tpl").unwrap();
        assert!(hbs.reload().is_err());
        assert!(hbs.cache().host_ids.contains_key("h1"), "last good snapshot kept");
    }

    #[test]
    fn heartbeats_write_only_when_something_changed() {
        let hbs = Hbs::new(Config::default(), None, Db::memory().unwrap()).unwrap();
        let r = AgentReportRequest {
            hostname: "a".into(),
            ip: "1".into(),
            agent_version: "v".into(),
            plugin_version: "p".into(),
        };
        assert!(hbs.report(r.clone(), 10));
        hbs.db.conn().execute("UPDATE host SET ip='changed-elsewhere'", []).unwrap();
        assert!(!hbs.report(r.clone(), 11));
        let ip: String = hbs.db.conn().query_row("SELECT ip FROM host", [], |x| x.get(0)).unwrap();
        assert_eq!(ip, "changed-elsewhere", "same report: no write");
        assert!(!hbs.report(AgentReportRequest { ip: "2".into(), ..r }, 12));
        let ip: String = hbs.db.conn().query_row("SELECT ip FROM host", [], |x| x.get(0)).unwrap();
        assert_eq!(ip, "2");
        assert_eq!(hbs.forget_stale(12 + 86_401, 86_400), 1);
    }
}
