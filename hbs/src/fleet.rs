//! The fleet as the page shows it (`GET /page/fleet`): every host heard from and every host of the database,
//! with its versions, last heartbeat, staleness and groups, and the count of hosts by agent version.

use crate::cache::Snapshot;
use crate::state::AgentSeen;
use serde::Serialize;
use std::collections::BTreeMap;

/// Seconds between an agent's heartbeats assumed when the caller gives none: the HBS is never told the agents'
/// interval, and Go's agent default is 60 s.
pub const DEFAULT_INTERVAL: i64 = 60;
/// Heartbeats missed before a host is stale.
pub const MISSED: i64 = 3;
/// The largest interval a caller may give (a day).
pub const MAX_INTERVAL: i64 = 86_400;

/// Whether a host whose last heartbeat is `age` seconds old is stale for agents reporting every `interval` s.
pub fn is_stale(age: i64, interval: i64) -> bool {
    age > MISSED * interval
}

/// A caller's `?interval=`, bounded; the default when absent or not a positive number.
pub fn interval(given: Option<&str>) -> i64 {
    match given.and_then(|s| s.trim().parse::<i64>().ok()) {
        Some(n) if n > 0 => n.min(MAX_INTERVAL),
        _ => DEFAULT_INTERVAL,
    }
}

/// One host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostRow {
    /// As reported, or as in the database for a host never heard from.
    pub hostname: String,
    /// Reported IP (empty: never heard from).
    pub ip: String,
    /// Reported agent version.
    pub agent_version: String,
    /// Reported plugin version.
    pub plugin_version: String,
    /// Unix seconds of the last heartbeat this process received (null: none since it started).
    pub last_heartbeat: Option<i64>,
    /// Seconds since then.
    pub age_seconds: Option<i64>,
    /// Heard from, but not for [`MISSED`] intervals.
    pub stale: bool,
    /// In the database, not heard from since this process started.
    pub never: bool,
    /// In a maintenance window now.
    pub maintenance: bool,
    /// The names of its groups, sorted (empty for a host not in the database).
    pub groups: Vec<String>,
}

/// The answer of `GET /page/fleet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fleet {
    /// Unix seconds the answer was made.
    pub now: i64,
    /// The heartbeat interval assumed.
    pub interval: i64,
    /// Seconds without a heartbeat after which a host is stale.
    pub stale_after: i64,
    /// Every host, by hostname.
    pub hosts: Vec<HostRow>,
    /// Hosts heard from since start, by agent version.
    pub versions: BTreeMap<String, u64>,
}

/// Builds the fleet from the cache and the agents map.
pub fn build(snap: &Snapshot, agents: &BTreeMap<String, AgentSeen>, now: i64, interval: i64) -> Fleet {
    let groups = |hostname: &str| {
        let mut g = snap.host_group_names(hostname);
        g.sort();
        g.dedup();
        g
    };
    let maintenance = |hostname: &str| {
        snap.host_ids.get(hostname).and_then(|id| snap.hosts.get(id)).is_some_and(|h| !h.monitored(now))
    };
    let mut hosts = Vec::with_capacity(agents.len().max(snap.hosts.len()));
    let mut versions = BTreeMap::new();
    for (name, seen) in agents {
        // A clock that went back gives age 0, not a negative age.
        let age = (now - seen.last_update).max(0);
        *versions.entry(seen.report.agent_version.clone()).or_insert(0u64) += 1;
        hosts.push(HostRow {
            hostname: name.clone(),
            ip: seen.report.ip.clone(),
            agent_version: seen.report.agent_version.clone(),
            plugin_version: seen.report.plugin_version.clone(),
            last_heartbeat: Some(seen.last_update),
            age_seconds: Some(age),
            stale: is_stale(age, interval),
            never: false,
            maintenance: maintenance(name),
            groups: groups(name),
        });
    }
    for h in snap.hosts.values() {
        if agents.contains_key(&h.hostname) {
            continue;
        }
        hosts.push(HostRow {
            hostname: h.hostname.clone(),
            ip: String::new(),
            agent_version: String::new(),
            plugin_version: String::new(),
            last_heartbeat: None,
            age_seconds: None,
            stale: false,
            never: true,
            maintenance: !h.monitored(now),
            groups: groups(&h.hostname),
        });
    }
    hosts.sort_by(|a, b| a.hostname.cmp(&b.hostname));
    Fleet { now, interval, stale_after: MISSED * interval, hosts, versions }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::HostRow as DbHost;
    use falcon_proto::model::AgentReportRequest;

    fn seen(host: &str, version: &str, at: i64) -> (String, AgentSeen) {
        let report = AgentReportRequest {
            hostname: host.into(),
            ip: format!("10.0.0.{}", host.len()),
            agent_version: version.into(),
            plugin_version: "p1".into(),
        };
        (host.to_string(), AgentSeen { last_update: at, report })
    }

    fn snapshot() -> Snapshot {
        let mut s = Snapshot::default();
        for (id, name) in [(1, "web-01"), (2, "db-01"), (3, "idle")] {
            s.host_ids.insert(name.into(), id);
            s.hosts.insert(id, DbHost { id, hostname: name.into(), ..Default::default() });
        }
        if let Some(h) = s.hosts.get_mut(&2) {
            h.maintain_end = 2_000;
        }
        s.group_names.insert(10, "web".into());
        s.group_names.insert(11, "all".into());
        s.host_groups.insert(1, vec![10, 11]);
        s.host_groups.insert(3, vec![11]);
        s
    }

    #[test]
    fn staleness_is_three_missed_intervals() {
        assert!(!is_stale(180, 60));
        assert!(is_stale(181, 60));
        assert!(!is_stale(899, 300));
        assert_eq!(interval(None), 60);
        assert_eq!(interval(Some("300")), 300);
        assert_eq!(interval(Some("0")), 60);
        assert_eq!(interval(Some("-5")), 60);
        assert_eq!(interval(Some("x")), 60);
        assert_eq!(interval(Some("99999999")), MAX_INTERVAL);
    }

    #[test]
    fn rows_join_agents_and_database_hosts() {
        let now = 1_000;
        let agents: BTreeMap<String, AgentSeen> =
            [seen("web-01", "6.0.1", 990), seen("db-01", "6.0.1", 700), seen("new", "7.0.0", 1_005)]
                .into_iter()
                .collect();
        let f = build(&snapshot(), &agents, now, 60);
        assert_eq!((f.now, f.interval, f.stale_after), (1_000, 60, 180));
        let names: Vec<&str> = f.hosts.iter().map(|h| h.hostname.as_str()).collect();
        assert_eq!(names, ["db-01", "idle", "new", "web-01"]);
        let by = |n: &str| f.hosts.iter().find(|h| h.hostname == n).cloned().unwrap_or_else(|| panic!("{n}"));

        let web = by("web-01");
        assert_eq!((web.last_heartbeat, web.age_seconds, web.stale, web.never), (Some(990), Some(10), false, false));
        assert_eq!(web.groups, ["all", "web"]);
        assert_eq!(
            (web.ip.as_str(), web.agent_version.as_str(), web.plugin_version.as_str()),
            ("10.0.0.6", "6.0.1", "p1")
        );

        let db = by("db-01");
        assert!(db.stale && !db.never, "300 s silent at a 60 s interval");
        assert!(db.maintenance);
        assert!(db.groups.is_empty());

        let idle = by("idle");
        assert!(idle.never && !idle.stale);
        assert_eq!((idle.last_heartbeat, idle.age_seconds), (None, None));
        assert_eq!(idle.groups, ["all"]);

        let new = by("new");
        assert_eq!(new.age_seconds, Some(0), "a heartbeat from the future is not a negative age");
        assert!(new.groups.is_empty(), "not in the database yet");

        assert_eq!(f.versions, BTreeMap::from([("6.0.1".to_string(), 2), ("7.0.0".to_string(), 1)]));
        assert!(!build(&snapshot(), &agents, now, 300).hosts.iter().any(|h| h.stale), "a longer interval");
    }

    #[test]
    fn serializes_with_the_page_field_names() {
        let agents: BTreeMap<String, AgentSeen> = [seen("web-01", "6.0.1", 990)].into_iter().collect();
        let v = serde_json::to_value(build(&snapshot(), &agents, 1_000, 60)).unwrap_or_default();
        assert_eq!(v["staleAfter"], 180);
        let web = &v["hosts"][2];
        for k in ["hostname", "ip", "agentVersion", "pluginVersion", "lastHeartbeat", "ageSeconds", "stale", "never"] {
            assert!(web.get(k).is_some(), "{k} in {web}");
        }
        assert_eq!(v["hosts"][0]["lastHeartbeat"], serde_json::Value::Null);
        assert_eq!(v["versions"]["6.0.1"], 1);
    }
}
