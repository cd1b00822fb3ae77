//! Agent rollouts, ops-meta's job done by the HBS: updaters `POST /heartbeat` what runs on their host and get
//! back what should (`falcon-updater`, or Open-Falcon's ops-updater).
//!
//! - What should run comes from the `agents` section of the config in ops-meta's format: per agent a
//!   `default` and `others` matched by hostname prefix, later matches winning field by field.
//! - Ours on top: a version per HBS group (`falcon-hbs admin rollout set ...`), so a canary group runs a new
//!   version first. Kept in a small JSON file (`rolloutFile`), not in the portal database, which the HBS never
//!   alters; re-read when it changes. When a host is in several groups with a rollout, the latest set wins.
//! - What runs is remembered per host and agent (three days, as ops-meta) and shown at `GET /rollout`.

use falcon_proto::go_struct;
use falcon_proto::model::{DesiredAgent, HeartbeatRequest, RealAgent};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

go_struct! {
    /// ops-meta's `default`: one agent for every host.
    pub struct AgentDefault => "g.AgentDefaultConfig" {
        /// The agent's name (its directory under the updater).
        pub name: String = "name",
        /// The version.
        pub version: String = "version",
        /// Base URL of its tarballs.
        pub tarball: String = "tarball",
        /// Base URL of its `.md5` files; empty: the tarball's.
        pub md5: String = "md5",
        /// `start` or `stop`.
        pub cmd: String = "cmd",
    }
}

go_struct! {
    /// ops-meta's `others`: overrides for hosts whose name starts with `prefix` (empty fields keep the default).
    pub struct AgentOther => "g.AgentOtherConfig" {
        /// Hostname prefix.
        pub prefix: String = "prefix",
        /// The version.
        pub version: String = "version",
        /// Base URL of its tarballs.
        pub tarball: String = "tarball",
        /// Base URL of its `.md5` files.
        pub md5: String = "md5",
        /// `start` or `stop`.
        pub cmd: String = "cmd",
    }
}

go_struct! {
    /// One element of `agents`.
    pub struct AgentRule => "g.InheritConfig" {
        /// The default (a rule without one is skipped, as ops-meta does).
        pub default: Option<AgentDefault> = "default" as "*g.AgentDefaultConfig",
        /// Prefix overrides, in order.
        pub others: Option<Vec<Option<AgentOther>>> = "others" as "[]*g.AgentOtherConfig",
    }
}

/// ops-meta's `DesiredAgents(hostname)`.
pub fn desired_agents(rules: &[AgentRule], hostname: &str) -> Vec<DesiredAgent> {
    let mut out = Vec::new();
    for rule in rules {
        let Some(d) = &rule.default else { continue };
        let mut a = DesiredAgent {
            name: d.name.clone(),
            version: d.version.clone(),
            tarball: d.tarball.clone(),
            md5: d.md5.clone(),
            cmd: d.cmd.clone(),
        };
        for o in rule.others.iter().flatten().flatten() {
            if !hostname.starts_with(&o.prefix) {
                continue;
            }
            for (field, value) in
                [(&mut a.version, &o.version), (&mut a.tarball, &o.tarball), (&mut a.md5, &o.md5), (&mut a.cmd, &o.cmd)]
            {
                if !value.is_empty() {
                    *field = value.clone();
                }
            }
        }
        out.push(a);
    }
    out
}

/// A version set for a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupVersion {
    /// The agent's name.
    pub agent: String,
    /// The HBS group.
    pub group: String,
    /// The version its hosts run.
    pub version: String,
    /// Unix seconds when it was set (the latest wins for a host in several groups).
    pub set: i64,
}

/// The rollout file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutFile {
    /// Group versions.
    #[serde(default)]
    pub groups: Vec<GroupVersion>,
}

impl RolloutFile {
    /// Reads `path`; a missing file is empty.
    pub fn read(path: &Path) -> Result<RolloutFile, String> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RolloutFile::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes `path` through a temporary file and a rename.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Sets (or replaces) `agent`'s version for `group`.
    pub fn set(&mut self, agent: &str, group: &str, version: &str, now: i64) {
        self.groups.retain(|g| !(g.agent == agent && g.group == group));
        self.groups.push(GroupVersion { agent: agent.into(), group: group.into(), version: version.into(), set: now });
    }

    /// Removes `agent`'s version for `group`; whether there was one.
    pub fn clear(&mut self, agent: &str, group: &str) -> bool {
        let before = self.groups.len();
        self.groups.retain(|g| !(g.agent == agent && g.group == group));
        before != self.groups.len()
    }

    /// Applies the group versions to a host in `groups`: for each desired agent, the latest version set for
    /// one of the host's groups.
    pub fn apply(&self, desired: &mut [DesiredAgent], groups: &[String]) {
        for d in desired {
            let best = self
                .groups
                .iter()
                .filter(|g| g.agent == d.name && groups.iter().any(|h| h == &g.group))
                .max_by_key(|g| g.set);
            if let Some(g) = best {
                d.version = g.version.clone();
            }
        }
    }
}

/// Sets (a non-empty `version`) or clears `agent`'s version for `group` in the rollout file at `path`; the
/// admin command line and the admin API both come here. Names are checked as the updater checks them.
pub fn set_group_version(path: &Path, agent: &str, group: &str, version: &str) -> Result<String, String> {
    if group.is_empty() {
        return Err("group is empty".into());
    }
    let probe = DesiredAgent {
        name: agent.into(),
        version: if version.is_empty() { "x".into() } else { version.into() },
        ..Default::default()
    };
    probe.safe_names()?;
    let mut f = RolloutFile::read(path)?;
    let msg = if version.is_empty() {
        if !f.clear(agent, group) {
            return Err(format!("no version set for {agent} in group {group}"));
        }
        format!("{agent}: group {group} follows the agents section again")
    } else {
        f.set(agent, group, version, falcon_runtime::timefmt::now_unix());
        format!("{agent}: group {group} runs {version}")
    };
    f.write(path)?;
    Ok(msg)
}

/// What updaters reported, per host and agent.
#[derive(Debug, Default)]
pub struct Reports {
    hosts: Mutex<BTreeMap<String, BTreeMap<String, RealAgent>>>,
    dropped: std::sync::atomic::AtomicU64,
}

/// `GET /rollout`: per agent, per version, the hosts and their status.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RolloutView {
    /// agent -> version -> hostname -> status.
    pub agents: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    /// Hosts whose updater reported a rollback, a version it could not install or another failure, with the
    /// status text.
    pub failures: BTreeMap<String, String>,
}

/// Hosts remembered at most (the route is open to any updater, as ops-meta's): new ones past it are not kept.
pub const MAX_HOSTS: usize = 200_000;
/// Agents remembered per host at most.
pub const MAX_AGENTS_PER_HOST: usize = 32;
/// Bytes of a reported status text kept.
pub const MAX_STATUS: usize = 1024;

/// Three days without a heartbeat and a host is forgotten (ops-meta's rule).
pub const STALE_SECONDS: i64 = 3 * 24 * 3600;

impl Reports {
    /// Records a heartbeat's agents, within [`MAX_HOSTS`] and [`MAX_AGENTS_PER_HOST`] (what does not fit is
    /// counted and logged at a bounded rate); returns whether all of it was kept.
    pub fn record(&self, req: &HeartbeatRequest) -> bool {
        static DROPPED_LOG: falcon_runtime::ratelog::RateLimited =
            falcon_runtime::ratelog::RateLimited::new(std::time::Duration::from_secs(60));
        let Some(agents) = &req.real_agents else { return true };
        if agents.is_empty() {
            return true;
        }
        let Ok(mut h) = self.hosts.lock() else { return false };
        if !h.contains_key(&req.hostname) && h.len() >= MAX_HOSTS {
            self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Some(suppressed) = DROPPED_LOG.check() {
                tracing::warn!(host = %req.hostname, suppressed, "updater reports: {MAX_HOSTS} hosts remembered; not keeping more");
            }
            return false;
        }
        let m = h.entry(req.hostname.clone()).or_default();
        let mut all = true;
        for a in agents {
            if !m.contains_key(&a.name) && m.len() >= MAX_AGENTS_PER_HOST {
                all = false;
                continue;
            }
            let mut a = a.clone();
            if a.status.len() > MAX_STATUS {
                let cut = (0..=MAX_STATUS).rev().find(|&i| a.status.is_char_boundary(i)).unwrap_or(0);
                a.status.truncate(cut);
            }
            m.insert(a.name.clone(), a);
        }
        if !all {
            self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        all
    }

    /// Reports not kept for the bounds.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Forgets hosts whose every report is older than `now - STALE_SECONDS`.
    pub fn clean(&self, now: i64) {
        if let Ok(mut h) = self.hosts.lock() {
            h.retain(|_, agents| agents.values().any(|a| a.timestamp > now - STALE_SECONDS));
        }
    }

    /// The view of every host.
    pub fn view(&self) -> RolloutView {
        let mut v = RolloutView::default();
        if let Ok(h) = self.hosts.lock() {
            for (host, agents) in h.iter() {
                for a in agents.values() {
                    v.agents
                        .entry(a.name.clone())
                        .or_default()
                        .entry(a.version.clone())
                        .or_default()
                        .insert(host.clone(), a.status.clone());
                    if ["rollback", "not installed", "fail"].iter().any(|w| a.status.contains(w)) {
                        v.failures.insert(format!("{host}/{}", a.name), a.status.clone());
                    }
                }
            }
        }
        v
    }
}

/// The rollout file and its last content, re-read when its modification time changes.
#[derive(Debug)]
pub struct RolloutState {
    /// Where it is.
    pub path: PathBuf,
    cached: Mutex<(Option<std::time::SystemTime>, RolloutFile)>,
}

impl RolloutState {
    /// The state kept in `path`.
    pub fn new(path: PathBuf) -> Self {
        RolloutState { path, cached: Mutex::new((None, RolloutFile::default())) }
    }

    /// The current content (an unreadable file keeps the last good one, logged).
    pub fn current(&self) -> RolloutFile {
        let mtime = std::fs::metadata(&self.path).and_then(|m| m.modified()).ok();
        let Ok(mut c) = self.cached.lock() else { return RolloutFile::default() };
        if c.0 != mtime || mtime.is_none() {
            match RolloutFile::read(&self.path) {
                Ok(f) => *c = (mtime, f),
                Err(e) => tracing::warn!(error = %e, "rollout file unreadable; the last good one stays"),
            }
        }
        c.1.clone()
    }
}

/// The MD5 and SHA-256 lines of a tarball in `dir`, as `md5sum`/`sha256sum` print them, cached by size and
/// modification time.
#[derive(Debug, Default)]
pub struct Checksums {
    cache: Mutex<BTreeMap<String, (u64, std::time::SystemTime, String, String)>>,
}

/// A file name a tarball request may ask for: `<name>.tar.gz`, `.tar.gz.md5` or `.tar.gz.sha256`, no path.
pub fn tarball_request(file: &str) -> Option<(&str, &'static str)> {
    if file.is_empty() || file.starts_with('.') || file.contains(['/', '\\', '\0']) {
        return None;
    }
    if let Some(t) = file.strip_suffix(".md5") {
        t.ends_with(".tar.gz").then_some((t, "md5"))
    } else if let Some(t) = file.strip_suffix(".sha256") {
        t.ends_with(".tar.gz").then_some((t, "sha256"))
    } else {
        file.ends_with(".tar.gz").then_some((file, "tarball"))
    }
}

impl Checksums {
    /// The `md5sum` and `sha256sum` lines of `dir/file`.
    pub fn lines(&self, dir: &Path, file: &str) -> std::io::Result<(String, String)> {
        let path = dir.join(file);
        let meta = std::fs::metadata(&path)?;
        let (size, mtime) = (meta.len(), meta.modified()?);
        if let Ok(c) = self.cache.lock() {
            if let Some((s, m, md5, sha)) = c.get(file) {
                if *s == size && *m == mtime {
                    return Ok((md5.clone(), sha.clone()));
                }
            }
        }
        // Read in pieces: a large tarball is hashed without being held in memory.
        let mut f = std::fs::File::open(&path)?;
        let mut md5 = md5::Context::new();
        let mut sha = ring::digest::Context::new(&ring::digest::SHA256);
        let mut buf = vec![0u8; 256 << 10];
        loop {
            let n = std::io::Read::read(&mut f, &mut buf)?;
            if n == 0 {
                break;
            }
            md5.consume(&buf[..n]);
            sha.update(&buf[..n]);
        }
        let md5 = format!("{:x}  {file}\n", md5.compute());
        let sha: String = sha.finish().as_ref().iter().map(|b| format!("{b:02x}")).collect();
        let sha = format!("{sha}  {file}\n");
        if let Ok(mut c) = self.cache.lock() {
            c.insert(file.to_string(), (size, mtime, md5.clone(), sha.clone()));
        }
        Ok((md5, sha))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: &str) -> Vec<AgentRule> {
        falcon_proto::gojson::from_slice(json.as_bytes()).unwrap()
    }

    #[test]
    fn ops_metas_example_config() {
        // The `agents` section of ops-meta's cfg.example.json.
        let r = rules(
            r#"[{"default": {"name": "falcon-agent", "version": "0.0.1", "tarball": "http://11.11.11.11:8888/falcon", "md5": "", "cmd": "start"},
                 "others": [{"prefix": "lg-falcon", "version": "1.0.0", "tarball": "", "md5": "", "cmd": ""},
                            {"prefix": "lg-dinp", "version": "1.0.1", "tarball": "", "md5": "", "cmd": ""}]},
                {"default": {"name": "dinp-agent", "version": "0.0.1", "tarball": "http://11.11.11.11:8888/dinp", "md5": "", "cmd": "start"}},
                {"others": []}]"#,
        );
        let d = desired_agents(&r, "web-01");
        assert_eq!(d.len(), 2, "a rule without default is skipped");
        assert_eq!((d[0].name.as_str(), d[0].version.as_str(), d[0].cmd.as_str()), ("falcon-agent", "0.0.1", "start"));
        let d = desired_agents(&r, "lg-falcon-03");
        assert_eq!((d[0].version.as_str(), d[0].tarball.as_str()), ("1.0.0", "http://11.11.11.11:8888/falcon"));
        assert_eq!(d[1].version, "0.0.1");
        // Later matches win: "lg-" matches both prefixes only if both are prefixes of the name.
        let r = rules(
            r#"[{"default": {"name": "a", "version": "1", "cmd": "start"}, "others": [{"prefix": "lg", "version": "2"}, {"prefix": "lg-x", "cmd": "stop"}, null]}]"#,
        );
        let d = desired_agents(&r, "lg-x1");
        assert_eq!((d[0].version.as_str(), d[0].cmd.as_str()), ("2", "stop"));
    }

    #[test]
    fn group_versions_latest_wins() {
        let mut f = RolloutFile::default();
        f.set("falcon-agent", "canary", "5.2.0", 100);
        f.set("falcon-agent", "web", "5.1.9", 200);
        f.set("other", "canary", "9", 300);
        let base = DesiredAgent { name: "falcon-agent".into(), version: "5.1.0".into(), ..Default::default() };
        let mut d = vec![base.clone()];
        f.apply(&mut d, &["canary".into()]);
        assert_eq!(d[0].version, "5.2.0");
        let mut d = vec![base.clone()];
        f.apply(&mut d, &["canary".into(), "web".into()]);
        assert_eq!(d[0].version, "5.1.9");
        let mut d = vec![base.clone()];
        f.apply(&mut d, &["db".into()]);
        assert_eq!(d[0].version, "5.1.0");
        assert!(f.clear("falcon-agent", "web"));
        assert!(!f.clear("falcon-agent", "web"));
    }

    #[test]
    fn reports_are_bounded() {
        let r = Reports::default();
        let agents = (0..MAX_AGENTS_PER_HOST + 3)
            .map(|i| RealAgent { name: format!("a{i}"), status: "x".repeat(5000), timestamp: 10, ..Default::default() })
            .collect();
        assert!(!r.record(&HeartbeatRequest { hostname: "h".into(), real_agents: Some(agents) }));
        let v = r.view();
        let kept: usize = v.agents.values().map(|versions| versions.values().map(|h| h.len()).sum::<usize>()).sum();
        assert_eq!((kept, r.dropped()), (MAX_AGENTS_PER_HOST, 1));
        assert!(v.agents["a0"][""]["h"].len() <= MAX_STATUS);
        r.clean(10 + STALE_SECONDS + 1);
        assert!(r.view().agents.is_empty(), "stale hosts are forgotten");
    }

    #[test]
    fn checksum_lines_are_those_of_md5sum_and_sha256sum() {
        let dir = std::env::temp_dir().join(format!("falcon-hbs-sums-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a-1.tar.gz"), "abc").unwrap();
        let (md5, sha) = Checksums::default().lines(&dir, "a-1.tar.gz").unwrap();
        // `printf abc > a-1.tar.gz; md5sum a-1.tar.gz; sha256sum a-1.tar.gz`
        assert_eq!(md5, "900150983cd24fb0d6963f7d28e17f72  a-1.tar.gz\n");
        assert_eq!(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  a-1.tar.gz\n");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn tarball_names() {
        assert_eq!(tarball_request("falcon-agent-1.0.tar.gz"), Some(("falcon-agent-1.0.tar.gz", "tarball")));
        assert_eq!(tarball_request("falcon-agent-1.0.tar.gz.md5"), Some(("falcon-agent-1.0.tar.gz", "md5")));
        assert_eq!(tarball_request("a.tar.gz.sha256"), Some(("a.tar.gz", "sha256")));
        for bad in ["../x.tar.gz", "a/b.tar.gz", ".x.tar.gz", "x.zip", "", "cfg.json.md5"] {
            assert_eq!(tarball_request(bad), None, "{bad}");
        }
    }
}
