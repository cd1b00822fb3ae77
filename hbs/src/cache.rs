//! The in-memory view of the database that every RPC and HTTP read uses (spec §6.3), rebuilt every 60 s and
//! at once after an admin change. A failed reload keeps the last good snapshot.
//!
//! Unlike Go, time-dependent filters (strategy run windows, maintenance) are applied when a request is
//! answered rather than when the cache was loaded, so they take effect on the minute.

use falcon_proto::model::{BuiltinMetric, Expression, HostStrategy, Strategy, Template};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A host row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostRow {
    /// id.
    pub id: i64,
    /// hostname.
    pub hostname: String,
    /// Maintenance window start (unix s).
    pub maintain_begin: i64,
    /// Maintenance window end (unix s).
    pub maintain_end: i64,
}

impl HostRow {
    /// Go's MonitoredHosts rule: not in maintenance when the window has not begun or is over.
    pub fn monitored(&self, now: i64) -> bool {
        self.maintain_begin > now || self.maintain_end < now
    }
}

/// A strategy row as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StrategyRow {
    /// id.
    pub id: i64,
    /// metric.
    pub metric: String,
    /// Raw tags (`k=v,k=v`).
    pub tags: String,
    /// max_step.
    pub max_step: i64,
    /// priority.
    pub priority: i64,
    /// func.
    pub func: String,
    /// op.
    pub op: String,
    /// right_value (text in the database).
    pub right_value: String,
    /// note.
    pub note: String,
    /// `HH:MM` or empty.
    pub run_begin: String,
    /// `HH:MM` or empty.
    pub run_end: String,
    /// Template.
    pub tpl_id: i64,
}

impl StrategyRow {
    /// Go's window rule, with `now` as local `HH:MM` compared as text.
    pub fn active_at(&self, now: &str) -> bool {
        let (b, e) = (self.run_begin.as_str(), self.run_end.as_str());
        (b.is_empty() && e.is_empty()) || (b <= now && e >= now) || (b > e && !(b > now && e < now))
    }
}

/// An expression row as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpressionRow {
    /// id.
    pub id: i64,
    /// `each(metric=x k=v)`.
    pub expression: String,
    /// func.
    pub func: String,
    /// op.
    pub op: String,
    /// right_value.
    pub right_value: String,
    /// max_step.
    pub max_step: i64,
    /// priority.
    pub priority: i64,
    /// note.
    pub note: String,
    /// action_id.
    pub action_id: i64,
}

/// The builtin check metrics handed to agents.
pub const BUILTIN_METRICS: [&str; 4] = ["net.port.listen", "proc.num", "du.bs", "url.check.health"];

/// Everything HBS reads, as loaded.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// hostname -> id.
    pub host_ids: HashMap<String, i64>,
    /// id -> host.
    pub hosts: BTreeMap<i64, HostRow>,
    /// host id -> group ids.
    pub host_groups: HashMap<i64, Vec<i64>>,
    /// group id -> name (for agent rollouts by group).
    pub group_names: HashMap<i64, String>,
    /// group id -> template ids.
    pub group_templates: HashMap<i64, Vec<i64>>,
    /// group id -> plugin dirs.
    pub group_plugins: HashMap<i64, Vec<String>>,
    /// Templates.
    pub templates: BTreeMap<i64, Template>,
    /// Every strategy row, by id.
    pub strategies: Vec<StrategyRow>,
    /// Expression rows with an action and not paused.
    pub expression_rows: Vec<ExpressionRow>,
    /// Parsed expressions (malformed rows skipped).
    pub expressions: Vec<Expression>,
    /// template id -> indexes into `strategies`.
    pub by_template: HashMap<i64, Vec<usize>>,
}

/// Go's strategy tag parsing: split on `,`, then on the first `=`; pieces without `=` are skipped, spaces kept.
pub fn parse_strategy_tags(tags: &str) -> BTreeMap<String, String> {
    tags.split(',').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Parses `each(metric=qps project=falcon)`: the text between the first `(` and the first `)` after it, split
/// on whitespace into `k=v` items, at least two, one of them `metric`. None for a malformed row (a missing `)`
/// crashes Go's reload loop).
pub fn parse_expression(text: &str) -> Option<(String, BTreeMap<String, String>)> {
    let open = text.find('(')?;
    let close = open + text[open..].find(')')?;
    let items: Vec<&str> = text[open + 1..close].split_whitespace().collect();
    if items.len() < 2 {
        return None;
    }
    let mut metric = None;
    let mut tags = BTreeMap::new();
    for it in items {
        let kv: Vec<&str> = it.split('=').collect();
        if kv.len() != 2 {
            return None;
        }
        if kv[0] == "metric" {
            metric = Some(kv[1].to_string());
        } else {
            tags.insert(kv[0].to_string(), kv[1].to_string());
        }
    }
    Some((metric?, tags))
}

fn parse_right_value(v: &str) -> Option<f64> {
    falcon_proto::gojson::parse_go_float(v.trim()).ok()
}

impl Snapshot {
    /// Fills the derived indexes; called after loading.
    pub fn derive(&mut self) {
        self.by_template.clear();
        for (i, s) in self.strategies.iter().enumerate() {
            self.by_template.entry(s.tpl_id).or_default().push(i);
        }
        self.expressions = self
            .expression_rows
            .iter()
            .filter_map(|r| {
                let Some((metric, tags)) = parse_expression(&r.expression) else {
                    tracing::warn!(id = r.id, expression = %r.expression, "malformed expression skipped");
                    return None;
                };
                let right_value = parse_right_value(&r.right_value)?;
                Some(Expression {
                    id: r.id,
                    metric,
                    tags,
                    func: r.func.clone(),
                    operator: r.op.clone(),
                    right_value,
                    max_step: r.max_step,
                    priority: r.priority,
                    note: r.note.clone(),
                    action_id: r.action_id,
                })
            })
            .collect();
    }

    /// The chain root -> `tid` following parent ids through known templates; empty on a loop (Go also empties
    /// any chain 10 deep, loop or not).
    pub fn parent_chain(&self, tid: i64) -> Vec<i64> {
        let mut chain = Vec::new();
        let mut seen = HashSet::new();
        let mut cur = tid;
        while cur > 0 {
            let Some(t) = self.templates.get(&cur) else { break };
            if !seen.insert(cur) || chain.len() >= 64 {
                tracing::warn!(template = tid, "template parent loop");
                return Vec::new();
            }
            chain.push(cur);
            cur = t.parent_id;
        }
        chain.reverse();
        chain
    }

    fn host_group_ids(&self, hostname: &str) -> &[i64] {
        self.host_ids.get(hostname).and_then(|h| self.host_groups.get(h)).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The names of the groups `hostname` is in.
    pub fn host_group_names(&self, hostname: &str) -> Vec<String> {
        self.host_group_ids(hostname).iter().filter_map(|g| self.group_names.get(g).cloned()).collect()
    }

    /// The templates bound to a host's groups, in binding order, de-duplicated.
    pub fn host_template_ids(&self, host_id: i64) -> Vec<i64> {
        let mut out = Vec::new();
        for g in self.host_groups.get(&host_id).map(Vec::as_slice).unwrap_or(&[]) {
            for t in self.group_templates.get(g).map(Vec::as_slice).unwrap_or(&[]) {
                if !out.contains(t) {
                    out.push(*t);
                }
            }
        }
        out
    }

    /// `Agent.BuiltinMetrics`'s list: the checks of the host's templates and all their ancestors, de-duplicated
    /// on metric+tags, in strategy id order.
    pub fn builtin_metrics(&self, hostname: &str) -> Vec<BuiltinMetric> {
        let Some(hid) = self.host_ids.get(hostname) else { return Vec::new() };
        let mut tids = BTreeSet::new();
        for t in self.host_template_ids(*hid) {
            tids.insert(t);
            tids.extend(self.parent_chain(t));
        }
        // Only the strategies of those templates (the index), back in id order as Go's query returns them.
        let mut rows: Vec<&StrategyRow> = tids
            .iter()
            .flat_map(|t| self.by_template.get(t).into_iter().flatten())
            .map(|i| &self.strategies[*i])
            .filter(|s| BUILTIN_METRICS.contains(&s.metric.as_str()))
            .collect();
        rows.sort_by_key(|s| s.id);
        let mut seen = HashSet::new();
        rows.into_iter()
            .filter(|s| seen.insert(format!("{}{}", s.metric, s.tags)))
            .map(|s| BuiltinMetric { metric: s.metric.clone(), tags: s.tags.clone() })
            .collect()
    }

    /// `Agent.MinePlugins`'s list: sorted, de-duplicated plugin dirs of the host's groups.
    pub fn plugins(&self, hostname: &str) -> Vec<String> {
        let set: BTreeSet<&String> = self
            .host_group_ids(hostname)
            .iter()
            .flat_map(|g| self.group_plugins.get(g).into_iter().flatten())
            .collect();
        set.into_iter().cloned().collect()
    }

    fn strategy(&self, row: &StrategyRow, tpl: &Template) -> Option<Strategy> {
        Some(Strategy {
            id: row.id,
            metric: row.metric.clone(),
            tags: parse_strategy_tags(&row.tags),
            func: row.func.clone(),
            operator: row.op.clone(),
            right_value: parse_right_value(&row.right_value)?,
            max_step: row.max_step,
            priority: row.priority,
            note: row.note.clone(),
            tpl: Some(tpl.clone()),
        })
    }

    /// Every strategy active at `hhmm` whose template exists and whose right value parses (`/strategies`).
    pub fn active_strategies(&self, hhmm: &str) -> BTreeMap<i64, Strategy> {
        self.strategies
            .iter()
            .filter(|s| s.active_at(hhmm))
            .filter_map(|s| Some((s.id, self.strategy(s, self.templates.get(&s.tpl_id)?)?)))
            .collect()
    }

    /// Go's `CalcInheritStrategies` for one host's templates.
    pub fn inherit(&self, tids: &[i64], active: &BTreeMap<i64, Strategy>) -> Vec<Strategy> {
        let chains: Vec<Vec<i64>> = tids.iter().map(|t| self.parent_chain(*t)).filter(|c| !c.is_empty()).collect();
        let mut kept: Vec<&Vec<i64>> = Vec::new();
        for (i, c) in chains.iter().enumerate() {
            let mut valid = true;
            for (j, other) in chains.iter().enumerate() {
                if i == j {
                    continue;
                }
                if c == other {
                    break;
                }
                if c.iter().all(|x| other.contains(x)) {
                    valid = false;
                    break;
                }
            }
            if valid {
                kept.push(c);
            }
        }
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for chain in kept {
            let Some(leaf) = chain.last().and_then(|l| self.templates.get(l)) else { continue };
            let mut groups: BTreeMap<String, Vec<&Strategy>> = BTreeMap::new();
            for tid in chain {
                let mut mine: BTreeMap<String, Vec<&Strategy>> = BTreeMap::new();
                for i in self.by_template.get(tid).map(Vec::as_slice).unwrap_or(&[]) {
                    if let Some(s) = active.get(&self.strategies[*i].id) {
                        let key = format!("metric:{}/tags:{}", s.metric, sorted_tags(&s.tags));
                        mine.entry(key).or_default().push(s);
                    }
                }
                groups.extend(mine);
            }
            let mut members: Vec<&Strategy> = groups.into_values().flatten().collect();
            members.sort_by_key(|s| s.id);
            for s in members {
                if seen.insert(s.id) {
                    let mut s = s.clone();
                    if s.tpl.as_ref().map(|t| t.id) != Some(leaf.id) {
                        s.tpl = Some(leaf.clone());
                    }
                    out.push(s);
                }
            }
        }
        out
    }

    /// `Hbs.GetStrategies`: hosts with templates, not in maintenance, with at least one strategy; by hostname.
    pub fn host_strategies(&self, hhmm: &str, now: i64) -> Vec<HostStrategy> {
        let active = self.active_strategies(hhmm);
        let mut out: Vec<HostStrategy> = self
            .hosts
            .values()
            .filter(|h| h.monitored(now))
            .filter_map(|h| {
                let tids = self.host_template_ids(h.id);
                if tids.is_empty() {
                    return None;
                }
                let ss = self.inherit(&tids, &active);
                (!ss.is_empty()).then(|| HostStrategy { hostname: h.hostname.clone(), strategies: Some(ss) })
            })
            .collect();
        out.sort_by(|a, b| a.hostname.cmp(&b.hostname));
        out
    }
}

/// `k1=v1,k2=v2` of a tag map in key order (Go's `SortedTags`).
pub fn sorted_tags(tags: &BTreeMap<String, String>) -> String {
    tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_and_tags() {
        let (m, t) = parse_expression("each(metric=qps project=falcon)").unwrap();
        assert_eq!(m, "qps");
        assert_eq!(t["project"], "falcon");
        assert!(parse_expression("each(metric=qps project=falcon").is_none(), "no ) : Go panics");
        assert!(parse_expression("each)metric=a b=c(").is_none());
        assert!(parse_expression("each(metric=qps)").is_none());
        assert!(parse_expression("each(project=x a=b)").is_none());
        assert!(parse_expression("each(metric=a b=c=d)").is_none());
        let t = parse_strategy_tags("url=http://h/?a=b,timeout=3,junk, sp = x");
        assert_eq!(t["url"], "http://h/?a=b");
        assert_eq!(t[" sp "], " x");
        assert!(!t.contains_key("junk"));
    }

    #[test]
    fn run_windows() {
        let s = |b: &str, e: &str| StrategyRow { run_begin: b.into(), run_end: e.into(), ..Default::default() };
        assert!(s("", "").active_at("12:00"));
        assert!(s("09:00", "18:00").active_at("12:00"));
        assert!(!s("09:00", "18:00").active_at("19:00"));
        assert!(s("22:00", "06:00").active_at("23:30"));
        assert!(s("22:00", "06:00").active_at("05:00"));
        assert!(!s("22:00", "06:00").active_at("12:00"));
    }
}
