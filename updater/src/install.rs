//! Carrying out what the server wants for one agent: install a version (download, verify, unpack), switch to
//! it, watch it come up, and roll back to the previous version when it does not.
//!
//! Files kept in an agent's directory besides the versions:
//! - `.version`: the version that should run (ops-updater's);
//! - `.installing`: `from` and `to` while a switch is under way; found at start, it means the updater died
//!   mid-switch, and the old version is started again ([`Manager::recover`]);
//! - `.failed`: the version that did not come up and why; it is not tried again until the server names another.

use crate::agents::{self, current_version, says_started, says_stopped, set_current_version};
use crate::fetch::{FetchError, Fetcher};
use crate::model::DesiredAgent;
use crate::unpack::{self, Limits};
use crate::verify;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

const INSTALLING: &str = ".installing";
const FAILED: &str = ".failed";
/// MD5 of the `cfg.json` a version shipped with, to tell an operator's edit from the default.
const SHIPPED_CFG: &str = ".shipped-cfg.md5";
/// The config file kept across versions when the operator changed it.
const CFG: &str = "cfg.json";

/// What one desired agent led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Already as wanted.
    Unchanged,
    /// The wanted version was installed or started, and is healthy.
    Running {
        /// The version now running.
        version: String,
    },
    /// The new version did not come up; the previous one runs again.
    RolledBack {
        /// The version that failed.
        failed: String,
        /// The version running again (None: there was none).
        running: Option<String>,
        /// Why.
        reason: String,
    },
    /// Stopped as asked.
    Stopped,
    /// Not attempted (a version that failed before, a bad name, an unknown command).
    Skipped(String),
    /// Attempted and failed before anything changed (download, checksum, unpack, stopping the old version).
    Failed(String),
}

/// Drives the agents under one directory; one operation at a time (the caller serialises).
pub struct Manager {
    /// The agents' directory.
    pub root: PathBuf,
    /// Downloads.
    pub fetcher: Fetcher,
    /// How long a new version has to become healthy.
    pub health_timeout: Duration,
    /// Per agent name, a URL that must answer 200 too.
    pub health: BTreeMap<String, String>,
    /// Bound on one `./control` run.
    pub control_timeout: Duration,
    /// Bounds on a tarball's content.
    pub limits: Limits,
    /// The last thing that happened to each agent, for the heartbeat's status text and `/status`.
    notes: Mutex<BTreeMap<String, String>>,
}

fn read_failed(dir: &Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string(dir.join(FAILED)).ok()?;
    let (v, why) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    Some((v.trim().to_string(), why.trim().to_string()))
}

impl Manager {
    /// A manager of the agents under `root`.
    pub fn new(
        root: PathBuf,
        fetcher: Fetcher,
        health_timeout: Duration,
        health: BTreeMap<String, String>,
        control_timeout: Duration,
    ) -> Self {
        Manager {
            root,
            fetcher,
            health_timeout,
            health,
            control_timeout,
            limits: Limits::default(),
            notes: Mutex::default(),
        }
    }

    /// The note kept for `agent` (a rollback, a refused tarball), if any.
    pub fn note(&self, agent: &str) -> Option<String> {
        self.notes.lock().ok().and_then(|n| n.get(agent).cloned())
    }

    /// Every note.
    pub fn notes(&self) -> BTreeMap<String, String> {
        self.notes.lock().map(|n| n.clone()).unwrap_or_default()
    }

    fn set_note(&self, agent: &str, note: Option<String>) {
        if let Ok(mut n) = self.notes.lock() {
            match note {
                Some(t) => n.insert(agent.to_string(), t),
                None => n.remove(agent),
            };
        }
    }

    /// Does what `d` asks.
    pub async fn apply(&self, d: &DesiredAgent) -> Outcome {
        if let Err(e) = d.safe_names() {
            return Outcome::Skipped(e);
        }
        match d.cmd.as_str() {
            "start" => self.start(d).await,
            "stop" => self.stop(d).await,
            other => Outcome::Skipped(format!("unknown cmd {other:?}")),
        }
    }

    async fn control(&self, dir: &Path, arg: &str) -> Result<String, String> {
        agents::control(dir, arg, self.control_timeout).await
    }

    async fn stop(&self, d: &DesiredAgent) -> Outcome {
        let dir = self.root.join(&d.name);
        let Some(cur) = current_version(&dir) else { return Outcome::Unchanged };
        let vdir = dir.join(&cur);
        if !vdir.join("control").is_file() {
            return Outcome::Unchanged;
        }
        match self.control(&vdir, "status").await {
            Ok(s) if says_stopped(&s) => Outcome::Unchanged,
            _ => match self.stop_in(&vdir).await {
                Ok(()) => Outcome::Stopped,
                Err(e) => Outcome::Failed(e),
            },
        }
    }

    /// `./control stop`, then waits for `status` to say stopped.
    async fn stop_in(&self, vdir: &Path) -> Result<(), String> {
        self.control(vdir, "stop").await?;
        let deadline = tokio::time::Instant::now() + self.control_timeout;
        loop {
            match self.control(vdir, "status").await {
                Ok(s) if says_stopped(&s) => return Ok(()),
                Ok(s) if tokio::time::Instant::now() >= deadline => {
                    return Err(format!("still {:?} after stop", s.trim()))
                }
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    async fn start(&self, d: &DesiredAgent) -> Outcome {
        let dir = self.root.join(&d.name);
        if let Some((failed, why)) = read_failed(&dir) {
            if failed == d.version {
                return Outcome::Skipped(format!("{} failed before ({why}); waiting for another version", d.version));
            }
        }
        let cur = current_version(&dir);
        if cur.as_deref() == Some(d.version.as_str()) {
            let outcome = self.ensure_running(d, &dir.join(&d.version)).await;
            if !matches!(outcome, Outcome::Failed(_)) {
                // The server is back on what runs: earlier notes (a refused tarball) no longer apply.
                self.set_note(&d.name, None);
            }
            return outcome;
        }
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return Outcome::Failed(format!("create {}: {e}", dir.display()));
        }
        let new_dir = dir.join(&d.version);
        if !new_dir.join("control").is_file() {
            if let Err(e) = self.install(d, &new_dir).await {
                self.set_note(&d.name, Some(format!("{} not installed: {e}", d.version)));
                return Outcome::Failed(e);
            }
        }
        // A version the server names again after another one may be tried again.
        let _ = std::fs::remove_file(dir.join(FAILED));
        if let Some(cur) = &cur {
            carry_config(&dir.join(cur), &new_dir);
        }
        self.switch(d, &dir, cur.as_deref(), &new_dir).await
    }

    /// Downloads, verifies and unpacks `d` into `new_dir`.
    async fn install(&self, d: &DesiredAgent, new_dir: &Path) -> Result<(), String> {
        let file = d.tarball_file();
        let tarball = self.fetcher.get(&d.tarball_url()).await.map_err(|e| e.to_string())?;
        let md5 = self.fetcher.get(&d.md5_url()).await.map_err(|e| e.to_string())?;
        verify::check_md5(&tarball, &String::from_utf8_lossy(&md5), &file).map_err(|e| e.to_string())?;
        // The SHA-256 is optional: a server without one answers 404.
        match self.fetcher.get(&d.sha256_url()).await {
            Ok(sha) => {
                verify::check_sha256(&tarball, &String::from_utf8_lossy(&sha), &file).map_err(|e| e.to_string())?
            }
            Err(FetchError::Status { status: 404, .. }) => {}
            Err(e) => return Err(e.to_string()),
        }
        let (tarball, dest, limits) = (tarball, new_dir.to_path_buf(), self.limits);
        tokio::task::spawn_blocking(move || unpack::unpack(&tarball, &dest, limits))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        if let Ok(cfg) = std::fs::read(new_dir.join(CFG)) {
            let _ = std::fs::write(new_dir.join(SHIPPED_CFG), verify::md5_hex(&cfg));
        }
        tracing::info!(agent = %d.name, version = %d.version, "installed");
        Ok(())
    }

    /// Runs the current version if it is not running.
    async fn ensure_running(&self, d: &DesiredAgent, vdir: &Path) -> Outcome {
        match self.control(vdir, "status").await {
            Ok(s) if says_started(&s) => Outcome::Unchanged,
            _ => match self.control(vdir, "start").await {
                Ok(_) => match self.watch(&d.name, vdir).await {
                    Ok(()) => Outcome::Running { version: d.version.clone() },
                    Err(e) => Outcome::Failed(format!("{} does not come up: {e}", d.version)),
                },
                Err(e) => Outcome::Failed(e),
            },
        }
    }

    /// Stops `cur`, starts `new_dir`, watches it; rolls back on failure.
    async fn switch(&self, d: &DesiredAgent, dir: &Path, cur: Option<&str>, new_dir: &Path) -> Outcome {
        let marker = format!("from={}\nto={}\n", cur.unwrap_or(""), d.version);
        if let Err(e) = std::fs::write(dir.join(INSTALLING), marker) {
            return Outcome::Failed(format!("write {INSTALLING}: {e}"));
        }
        if let Some(cur) = cur {
            let old = dir.join(cur);
            if old.join("control").is_file() {
                if let Err(e) = self.stop_in(&old).await {
                    let _ = std::fs::remove_file(dir.join(INSTALLING));
                    return Outcome::Failed(format!("stopping {cur}: {e}"));
                }
            }
        }
        let started = match self.control(new_dir, "start").await {
            Ok(_) => self.watch(&d.name, new_dir).await,
            Err(e) => Err(e),
        };
        match started {
            Ok(()) => {
                if let Err(e) = set_current_version(dir, &d.version) {
                    tracing::error!(agent = %d.name, error = %e, "cannot write .version");
                }
                let _ = std::fs::remove_file(dir.join(INSTALLING));
                prune(dir, &d.version, cur);
                self.set_note(&d.name, None);
                tracing::info!(agent = %d.name, from = cur.unwrap_or("-"), to = %d.version, "switched");
                Outcome::Running { version: d.version.clone() }
            }
            Err(reason) => {
                let _ = self.control(new_dir, "stop").await;
                let _ = std::fs::write(dir.join(FAILED), format!("{}\n{reason}\n", d.version));
                let running = match cur {
                    Some(cur) => {
                        let old = dir.join(cur);
                        match self.control(&old, "start").await {
                            Ok(_) => Some(cur.to_string()),
                            Err(e) => {
                                tracing::error!(agent = %d.name, version = cur, error = %e, "previous version does not start again");
                                None
                            }
                        }
                    }
                    None => None,
                };
                let _ = std::fs::remove_file(dir.join(INSTALLING));
                let note = format!(
                    "rollback: {} failed ({reason}); running {}",
                    d.version,
                    running.as_deref().unwrap_or("nothing")
                );
                tracing::warn!(agent = %d.name, "{note}");
                self.set_note(&d.name, Some(note));
                Outcome::RolledBack { failed: d.version.clone(), running, reason }
            }
        }
    }

    /// Waits until the agent in `vdir` is healthy twice in a row a second apart, for at most the health
    /// timeout: `control status` says started and, when configured, its health URL answers 200.
    async fn watch(&self, name: &str, vdir: &Path) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + self.health_timeout;
        let probe = Fetcher { tls: self.fetcher.tls.clone(), max_bytes: 64 << 10, timeout: Duration::from_secs(2) };
        let url = self.health.get(name).cloned().or_else(|| agent_health_url(name, vdir));
        let mut healthy_since: Option<tokio::time::Instant> = None;
        let mut last = String::from("never checked");
        loop {
            let ok = match self.control(vdir, "status").await {
                Ok(s) if says_started(&s) => match &url {
                    Some(url) => match probe.get(url).await {
                        Ok(_) => Ok(()),
                        Err(e) => Err(format!("health check: {e}")),
                    },
                    None => Ok(()),
                },
                Ok(s) => Err(format!("status says {:?}", s.trim())),
                Err(e) => Err(e),
            };
            let now = tokio::time::Instant::now();
            match ok {
                Ok(()) => match healthy_since {
                    Some(t) if now.duration_since(t) >= Duration::from_secs(1) => return Ok(()),
                    Some(_) => {}
                    None => healthy_since = Some(now),
                },
                Err(e) => {
                    healthy_since = None;
                    last = e;
                }
            }
            if now >= deadline {
                return Err(format!("not healthy within {:?}: {last}", self.health_timeout));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Finishes a switch the updater died in: when `.installing` is there and `.version` still names the old
    /// version, the new one is stopped and the old one started again.
    pub async fn recover(&self) {
        let Ok(rd) = std::fs::read_dir(&self.root) else { return };
        for e in rd.filter_map(|e| e.ok()) {
            let dir = e.path();
            let Ok(text) = std::fs::read_to_string(dir.join(INSTALLING)) else { continue };
            let get = |k: &str| text.lines().find_map(|l| l.strip_prefix(k)).unwrap_or("").trim().to_string();
            let (from, to) = (get("from="), get("to="));
            let name = e.file_name().to_string_lossy().into_owned();
            if current_version(&dir).as_deref() == Some(from.as_str()) && !to.is_empty() && to != from {
                tracing::warn!(agent = %name, %from, %to, "an earlier switch did not finish; running the old version again");
                let _ = self.control(&dir.join(&to), "stop").await;
                if !from.is_empty() {
                    let _ = self.control(&dir.join(&from), "start").await;
                }
            }
            let _ = std::fs::remove_file(dir.join(INSTALLING));
        }
    }
}

/// For falcon-agent without a configured health URL: its `/health` on the port its config listens on, read
/// from the config it runs with (`var/conf/agent.json` of a `./control pack agent` tarball, shared by the
/// versions, or a Go-style `cfg.json` in the version directory). None for other agents, or when its HTTP is off.
pub fn agent_health_url(name: &str, vdir: &Path) -> Option<String> {
    if name != "falcon-agent" {
        return None;
    }
    let candidates = [vdir.parent().map(|d| d.join("var/conf/agent.json")), Some(vdir.join(CFG))];
    let cfg: serde_json::Value = candidates
        .iter()
        .flatten()
        .find_map(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())?;
    let http = &cfg["http"];
    if http["enabled"].as_bool() == Some(false) {
        return None;
    }
    let listen = http["listen"].as_str().unwrap_or(":1988");
    let port = listen.rsplit_once(':').map(|(_, p)| p).filter(|p| p.parse::<u16>().is_ok())?;
    let host = match listen.rsplit_once(':').map(|(h, _)| h) {
        Some("" | "0.0.0.0" | "[::]") | None => "127.0.0.1",
        Some(h) => h,
    };
    Some(format!("http://{host}:{port}/health"))
}

/// Keeps the operator's `cfg.json`: when the running version's differs from the one it shipped with (or its
/// shipped one is unknown), it is copied over the new version's.
fn carry_config(old: &Path, new: &Path) {
    let Ok(cfg) = std::fs::read(old.join(CFG)) else { return };
    let shipped = std::fs::read_to_string(old.join(SHIPPED_CFG)).ok();
    if shipped.as_deref().map(str::trim) == Some(verify::md5_hex(&cfg).as_str()) {
        return;
    }
    match std::fs::write(new.join(CFG), &cfg) {
        Ok(()) => tracing::info!(from = %old.display(), to = %new.display(), "kept the operator's cfg.json"),
        Err(e) => tracing::warn!(error = %e, "cannot carry cfg.json over"),
    }
}

/// Removes version directories other than `keep` and `previous`.
fn prune(dir: &Path, keep: &str, previous: Option<&str>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == keep || Some(name.as_str()) == previous || !e.path().is_dir() {
            continue;
        }
        if e.path().join("control").is_file() {
            tracing::info!(dir = %e.path().display(), "pruning an old version");
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A version directory whose `control` records its calls in `<agent>/calls` and keeps its state in a file.
    fn fake_version(agent: &Path, version: &str) -> PathBuf {
        let dir = agent.join(version);
        std::fs::create_dir_all(&dir).unwrap();
        let script = format!(
            "#!/bin/sh\necho \"{version} $1\" >> ../calls\ncase $1 in\n start) touch running ;;\n stop) rm -f running ;;\n status) if [ -f running ]; then echo started; else echo stoped; fi ;;\nesac\n"
        );
        std::fs::write(dir.join("control"), script).unwrap();
        std::fs::set_permissions(dir.join("control"), std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    fn manager(root: &Path) -> Manager {
        let fetcher = Fetcher { tls: None, max_bytes: 1 << 20, timeout: Duration::from_secs(1) };
        Manager::new(root.to_path_buf(), fetcher, Duration::from_secs(3), BTreeMap::new(), Duration::from_secs(5))
    }

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("falcon-install-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[tokio::test]
    async fn a_switch_the_updater_died_in_is_undone_at_start() {
        let root = tmp("recover");
        let agent = root.join("falcon-agent");
        fake_version(&agent, "1.0");
        let new = fake_version(&agent, "2.0");
        set_current_version(&agent, "1.0").unwrap();
        // Died after starting 2.0 and before writing .version: 1.0 was stopped, 2.0 runs.
        std::fs::write(new.join("running"), "").unwrap();
        std::fs::write(agent.join(INSTALLING), "from=1.0\nto=2.0\n").unwrap();
        manager(&root).recover().await;
        assert!(!new.join("running").exists(), "the new version is stopped");
        assert!(agent.join("1.0/running").exists(), "the old one runs again");
        assert!(!agent.join(INSTALLING).exists());
        assert_eq!(current_version(&agent).as_deref(), Some("1.0"));
        // A marker whose switch did complete (.version already the new one) is only removed.
        std::fs::write(agent.join(INSTALLING), "from=0.9\nto=1.0\n").unwrap();
        manager(&root).recover().await;
        assert!(agent.join("1.0/running").exists() && !agent.join(INSTALLING).exists());
        std::fs::remove_dir_all(&root).ok();
    }

    #[tokio::test]
    async fn start_and_stop_follow_the_contract_and_a_failed_version_waits() {
        let root = tmp("cmds");
        let agent = root.join("a");
        fake_version(&agent, "1.0");
        set_current_version(&agent, "1.0").unwrap();
        let m = manager(&root);
        let d = DesiredAgent { name: "a".into(), version: "1.0".into(), cmd: "start".into(), ..Default::default() };
        assert_eq!(m.apply(&d).await, Outcome::Running { version: "1.0".into() });
        assert_eq!(m.apply(&d).await, Outcome::Unchanged);
        let stop = DesiredAgent { cmd: "stop".into(), ..d.clone() };
        assert_eq!(m.apply(&stop).await, Outcome::Stopped);
        assert_eq!(m.apply(&stop).await, Outcome::Unchanged);
        let odd = DesiredAgent { cmd: "restart".into(), ..d.clone() };
        assert!(matches!(m.apply(&odd).await, Outcome::Skipped(_)));
        std::fs::write(agent.join(FAILED), "2.0\nnot healthy\n").unwrap();
        let two = DesiredAgent { version: "2.0".into(), ..d.clone() };
        assert!(matches!(m.apply(&two).await, Outcome::Skipped(ref why) if why.contains("failed before")));
        // A download that cannot happen changes nothing and is noted for the heartbeat.
        let three = DesiredAgent { version: "3.0".into(), tarball: "http://127.0.0.1:1".into(), ..d.clone() };
        assert!(matches!(m.apply(&three).await, Outcome::Failed(_)));
        assert_eq!(current_version(&agent).as_deref(), Some("1.0"));
        assert!(!agent.join("3.0").exists());
        assert!(m.note("a").is_some_and(|n| n.contains("3.0 not installed")));
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn falcon_agents_health_url_comes_from_its_config() {
        let root = tmp("health");
        let v = root.join("falcon-agent/1.0");
        std::fs::create_dir_all(&v).unwrap();
        assert_eq!(agent_health_url("falcon-agent", &v), None);
        std::fs::write(v.join(CFG), r#"{"http":{"enabled":true,"listen":":1988"}}"#).unwrap();
        assert_eq!(agent_health_url("falcon-agent", &v).as_deref(), Some("http://127.0.0.1:1988/health"));
        assert_eq!(agent_health_url("other-agent", &v), None);
        // The shared var/conf of a packed tarball wins.
        std::fs::create_dir_all(root.join("falcon-agent/var/conf")).unwrap();
        std::fs::write(root.join("falcon-agent/var/conf/agent.json"), r#"{"http":{"listen":"127.0.0.2:2000"}}"#)
            .unwrap();
        assert_eq!(agent_health_url("falcon-agent", &v).as_deref(), Some("http://127.0.0.2:2000/health"));
        std::fs::write(root.join("falcon-agent/var/conf/agent.json"), r#"{"http":{"enabled":false}}"#).unwrap();
        assert_eq!(agent_health_url("falcon-agent", &v), None);
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn the_operators_config_is_carried_and_a_shipped_one_is_not() {
        let root = tmp("cfg");
        let (old, new) = (root.join("1"), root.join("2"));
        std::fs::create_dir_all(&old).unwrap();
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(old.join(CFG), "{\"shipped\":1}").unwrap();
        std::fs::write(old.join(SHIPPED_CFG), verify::md5_hex(b"{\"shipped\":1}")).unwrap();
        std::fs::write(new.join(CFG), "{\"shipped\":2}").unwrap();
        carry_config(&old, &new);
        assert_eq!(
            std::fs::read_to_string(new.join(CFG)).unwrap(),
            "{\"shipped\":2}",
            "unchanged default: the new one"
        );
        std::fs::write(old.join(CFG), "{\"edited\":true}").unwrap();
        carry_config(&old, &new);
        assert_eq!(std::fs::read_to_string(new.join(CFG)).unwrap(), "{\"edited\":true}", "an edit is kept");
        // Pruning keeps the current and previous versions only.
        for v in ["0", "3"] {
            std::fs::create_dir_all(root.join(v)).unwrap();
            std::fs::write(root.join(v).join("control"), "").unwrap();
        }
        std::fs::write(root.join("1/control"), "").unwrap();
        std::fs::write(root.join("2/control"), "").unwrap();
        prune(&root, "2", Some("1"));
        let mut left: Vec<String> =
            std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        assert_eq!(left, vec!["1", "2"]);
        std::fs::remove_dir_all(&root).ok();
    }
}
