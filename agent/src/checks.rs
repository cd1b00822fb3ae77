//! The checks HBS hands out through `Agent.BuiltinMetrics` (ports, process rules, du paths, URLs), parsed
//! with Go's rules (`cron/builtin.go`); a tag string Go would reject is skipped with a log line.

use falcon_proto::model::BuiltinMetric;
use std::collections::{BTreeMap, BTreeSet};

/// A `proc.num` rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcRule {
    /// `name=`: the exact process name.
    pub name: Option<String>,
    /// `cmdline=`: a substring of the command line.
    pub cmdline: Option<String>,
}

/// The current set of checks; replaced whole when the checksum changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checks {
    /// Ports for `net.port.listen`, ascending.
    pub ports: Vec<i64>,
    /// `proc.num` rules keyed by their raw tag string, sorted by it.
    pub procs: Vec<(String, ProcRule)>,
    /// Paths for `du.bs`, sorted.
    pub du_paths: Vec<String>,
    /// URLs for `url.check.health` with their timeout in seconds, sorted by URL.
    pub urls: Vec<(String, i64)>,
}

/// Builds the checks from an HBS reply.
pub fn parse_checks(metrics: &[BuiltinMetric]) -> Checks {
    let mut ports = BTreeSet::new();
    let mut procs = BTreeMap::new();
    let mut paths = BTreeSet::new();
    let mut urls = BTreeMap::new();
    for m in metrics {
        let ok = match m.metric.as_str() {
            "net.port.listen" => parse_port(&m.tags).map(|p| ports.insert(p)).is_some(),
            "du.bs" => parse_path(&m.tags).map(|p| paths.insert(p)).is_some(),
            "proc.num" => {
                procs.insert(m.tags.clone(), parse_proc_rule(&m.tags));
                true
            }
            "url.check.health" => parse_url(&m.tags).map(|(u, t)| urls.insert(u, t)).is_some(),
            _ => true,
        };
        if !ok {
            tracing::warn!(metric = %m.metric, tags = %m.tags, "HBS check with unusable tags skipped");
        }
    }
    Checks {
        ports: ports.into_iter().collect(),
        procs: procs.into_iter().collect(),
        du_paths: paths.into_iter().collect(),
        urls: urls.into_iter().collect(),
    }
}

/// `port=22` -> 22 (the tag string must hold exactly one `=`, as in Go).
pub fn parse_port(tags: &str) -> Option<i64> {
    let mut it = tags.split('=');
    let (_, v, None) = (it.next()?, it.next()?, it.next()) else { return None };
    v.parse().ok()
}

/// `path=/data` -> `/data` (trimmed). Unlike Go, a path may contain `=`.
pub fn parse_path(tags: &str) -> Option<String> {
    let (_, v) = tags.split_once('=')?;
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// `name=nginx,cmdline=x` -> the rule; pieces with other keys are ignored.
pub fn parse_proc_rule(tags: &str) -> ProcRule {
    let mut r = ProcRule::default();
    for piece in tags.split(',') {
        if let Some(v) = piece.strip_prefix("name=") {
            r.name = Some(v.trim().to_string());
        } else if let Some(v) = piece.strip_prefix("cmdline=") {
            r.cmdline = Some(v.trim().to_string());
        }
    }
    r
}

/// `url=<url>,timeout=<seconds>` -> (url, seconds). Go requires exactly one `,` and one `=` per piece, so it
/// rejects every URL with a query string; here the URL is everything between `url=` and the last
/// `,timeout=`.
pub fn parse_url(tags: &str) -> Option<(String, i64)> {
    let (head, timeout) = tags.rsplit_once(",timeout=")?;
    let url = head.split_once('=').map(|(_, u)| u)?;
    let t: i64 = timeout.trim().parse().ok()?;
    (!url.is_empty() && t > 0).then(|| (url.to_string(), t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bm(m: &str, t: &str) -> BuiltinMetric {
        BuiltinMetric { metric: m.into(), tags: t.into() }
    }

    #[test]
    fn the_captured_strategies() {
        let c = parse_checks(&[
            bm("du.bs", "path=/opt/falcon/data"),
            bm("net.port.listen", "port=13306"),
            bm("net.port.listen", "port=22"),
            bm("proc.num", "cmdline=falcon-judge"),
            bm("proc.num", "name=mariadbd"),
            bm("url.check.health", "url=http://127.0.0.1:11988/health,timeout=3"),
        ]);
        assert_eq!(c.ports, [22, 13306]);
        assert_eq!(c.du_paths, ["/opt/falcon/data"]);
        assert_eq!(c.urls, [("http://127.0.0.1:11988/health".to_string(), 3)]);
        assert_eq!(c.procs.len(), 2);
        assert_eq!(c.procs[0].1, ProcRule { name: None, cmdline: Some("falcon-judge".into()) });
    }

    #[test]
    fn go_rejections_and_our_extensions() {
        assert_eq!(parse_port("port=x"), None);
        assert_eq!(parse_port("port=1=2"), None);
        assert_eq!(parse_port("22"), None);
        assert_eq!(parse_url("url=http://h/?a=b&c=d,timeout=5"), Some(("http://h/?a=b&c=d".into(), 5)));
        assert_eq!(parse_url("url=http://h/,timeout=x"), None);
        assert_eq!(parse_url("url=http://h/"), None);
        assert_eq!(parse_path("path= /a=b "), Some("/a=b".into()));
        assert_eq!(parse_path("path="), None);
        assert_eq!(
            parse_proc_rule("name=nginx,cmdline= master "),
            ProcRule { name: Some("nginx".into()), cmdline: Some("master".into()) }
        );
        let c = parse_checks(&[bm("net.port.listen", "port=22"), bm("net.port.listen", "port=22"), bm("x", "y")]);
        assert_eq!(c.ports, [22]);
    }
}
