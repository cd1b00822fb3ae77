//! The Grafana dashboard `docs/grafana/falcon-stack.json` against the real daemons: falcon-hbs, falcon-transfer,
//! falcon-agent and falcon-updater run on loopback, busy enough that every series the dashboard shows exists
//! (plugin and shell-check runs, a failing updater operation, judge and graph lanes with one node down); a private
//! Prometheus scrapes them under the job names of `docs/grafana/README.md`. Every panel query and variable query,
//! with the template variables filled in as Grafana would, must parse and evaluate; every metric and label the
//! dashboard names must be in what the daemons serve, so renaming a series breaks this test, not the dashboard.

use falcon_tests::http;
use falcon_tests::prometheus::{Prometheus, PrometheusOptions};
use falcon_tests::stack::{json_str, repo_root, Stack, TempDir};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// How long the scrapes may take to show every series (the first scrape comes about 5-6 s after Prometheus starts).
const SERIES_TIMEOUT: Duration = Duration::from_secs(30);

/// Core panel types only: the dashboard must import without plugins.
const PANEL_TYPES: [&str; 6] = ["row", "timeseries", "stat", "table", "bargauge", "text"];

/// Labels Prometheus adds to every scraped series.
const TARGET_LABELS: [&str; 2] = ["job", "instance"];

/// One query of the dashboard and where it comes from.
struct Query {
    panel: String,
    expr: String,
    legend: String,
}

/// Every panel of the dashboard, rows' nested panels included.
fn all_panels(dash: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in dash["panels"].as_array().expect("dashboard has panels") {
        out.push(p);
        if let Some(nested) = p["panels"].as_array() {
            out.extend(nested.iter());
        }
    }
    out
}

/// Checks the dashboard's shape (importable without plugins, every query on the `${datasource}` variable) and
/// returns its queries.
fn queries(dash: &Value) -> Vec<Query> {
    assert!(dash["schemaVersion"].as_u64().is_some_and(|v| v >= 36), "schemaVersion: {}", dash["schemaVersion"]);
    assert!(dash["uid"].as_str().is_some_and(|u| !u.is_empty()) && dash["title"].is_string());
    let mut ids = BTreeSet::new();
    let mut out = Vec::new();
    for p in all_panels(dash) {
        let title = p["title"].as_str().unwrap_or("?").to_string();
        let kind = p["type"].as_str().unwrap_or("");
        assert!(PANEL_TYPES.contains(&kind), "panel {title}: type {kind:?} is not a core panel");
        let id = p["id"].as_u64().unwrap_or_else(|| panic!("panel {title}: no id"));
        assert!(ids.insert(id), "panel {title}: id {id} used twice");
        let g = &p["gridPos"];
        let (x, w) = (g["x"].as_u64().unwrap_or(99), g["w"].as_u64().unwrap_or(99));
        assert!(x + w <= 24 && g["h"].as_u64().is_some(), "panel {title}: gridPos {g}");
        if kind == "row" || kind == "text" {
            continue;
        }
        assert_eq!(p["datasource"]["uid"], "${datasource}", "panel {title}: datasource");
        // Grafana anchors a bare pattern (`^...$`): an override meant as a regex must be written `/.../`.
        for o in p["fieldConfig"]["overrides"].as_array().into_iter().flatten() {
            if o["matcher"]["id"] == "byRegexp" {
                let re = o["matcher"]["options"].as_str().unwrap_or("");
                assert!(re.len() > 2 && re.starts_with('/') && re.ends_with('/'), "panel {title}: override {re:?}");
            }
        }
        let targets = p["targets"].as_array().unwrap_or_else(|| panic!("panel {title}: no targets"));
        assert!(!targets.is_empty(), "panel {title}: no targets");
        for t in targets {
            assert_eq!(t["datasource"]["uid"], "${datasource}", "panel {title}: target datasource");
            let expr = t["expr"].as_str().unwrap_or_else(|| panic!("panel {title}: a target without expr"));
            let legend = t["legendFormat"].as_str().unwrap_or("").to_string();
            out.push(Query { panel: title.clone(), expr: expr.to_string(), legend });
        }
    }
    out
}

/// The template variables, as Grafana would fill them with "All" selected.
fn substitute(expr: &str, jobs: &[String]) -> String {
    // A multi-value variable in a regex matcher becomes `(a|b)`; `$instance`'s All is its allValue `.*`.
    let job = format!("({})", jobs.join("|"));
    let mut e = expr.to_string();
    for (var, value) in [
        ("$__rate_interval", "1m"),
        ("$__interval", "15s"),
        ("$__range", "5m"),
        ("${job}", &job),
        ("$job", &job),
        ("${instance}", ".*"),
        ("$instance", ".*"),
    ] {
        e = e.replace(var, value);
    }
    assert!(!e.contains('$') && !e.contains("[["), "a variable the test does not know in {expr}");
    e
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Metric names used as selectors (a name right before `{`).
fn selector_names(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in expr.match_indices('{') {
        let name: String = expr[..i].chars().rev().take_while(|&c| is_name_char(c)).collect();
        if !name.is_empty() {
            out.insert(name.chars().rev().collect());
        }
    }
    out
}

/// Every `falcon_[a-z_]+` in the text.
fn falcon_names(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in expr.match_indices("falcon_") {
        if expr[..i].chars().next_back().is_some_and(is_name_char) {
            continue;
        }
        let name: String = expr[i..].chars().take_while(|&c| c.is_ascii_lowercase() || c == '_').collect();
        if name.len() > "falcon_".len() {
            out.insert(name);
        }
    }
    out
}

/// The family a sample name belongs to (histogram series carry a suffix).
fn family(name: &str) -> &str {
    ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name)
}

/// The comma-separated identifiers inside the parentheses following each `keyword` (`by (a, b)`).
fn grouping_labels(expr: &str, keyword: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in expr.match_indices(keyword) {
        let before_ok = !expr[..i].chars().next_back().is_some_and(is_name_char);
        let rest = expr[i + keyword.len()..].trim_start();
        if !before_ok || !rest.starts_with('(') {
            continue;
        }
        let inner = rest[1..].split(')').next().unwrap_or("");
        out.extend(inner.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string));
    }
    out
}

/// Label names in selector matchers (`{a="x",b=~"y"}`).
fn matcher_labels(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = expr;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else { break };
        let inner = &rest[open + 1..open + close];
        let (mut quoted, mut name_start) = (false, Some(0));
        for (j, c) in inner.char_indices() {
            if c == '"' && !inner[..j].ends_with('\\') {
                quoted = !quoted;
            } else if quoted {
                continue;
            } else if c == ',' {
                name_start = Some(j + 1);
            } else if matches!(c, '=' | '!') {
                if let Some(s) = name_start.take() {
                    let name = inner[s..j].trim();
                    if !name.is_empty() {
                        out.insert(name.to_string());
                    }
                }
            }
        }
        rest = &rest[open + close + 1..];
    }
    out
}

/// `{{label}}` references of a legend.
fn legend_labels(legend: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for piece in legend.split("{{").skip(1) {
        if let Some((name, _)) = piece.split_once("}}") {
            out.insert(name.trim().to_string());
        }
    }
    out
}

/// What the daemons serve: family names (from `# TYPE`) and the label names seen on each sample name.
#[derive(Default)]
struct Served {
    families: BTreeSet<String>,
    labels: BTreeMap<String, BTreeSet<String>>,
}

impl Served {
    fn add(&mut self, text: &str) {
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                if let Some(name) = rest.split_whitespace().next() {
                    self.families.insert(name.to_string());
                }
                continue;
            }
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let name: String = line.chars().take_while(|&c| is_name_char(c)).collect();
            let labels = self.labels.entry(name.clone()).or_default();
            if let Some(inner) = line[name.len()..].strip_prefix('{').and_then(|r| r.rsplit_once('}')).map(|x| x.0) {
                labels.extend(matcher_labels(&format!("{{{inner}}}")));
            }
        }
    }

    /// The labels a selector of `name` may use: its samples' own and the target labels.
    fn labels_of(&self, name: &str) -> Option<BTreeSet<String>> {
        let mut l = match name {
            "up" => BTreeSet::new(),
            _ => self.labels.get(name)?.clone(),
        };
        l.extend(TARGET_LABELS.iter().map(|s| s.to_string()));
        Some(l)
    }
}

/// `label_values(<selector>, <label>)` -> (selector, label).
fn label_values(query: &str) -> Option<(&str, &str)> {
    let inner = query.trim().strip_prefix("label_values(")?.strip_suffix(')')?;
    let (selector, label) = inner.rsplit_once(',')?;
    Some((selector.trim(), label.trim()))
}

#[test]
fn every_dashboard_query_evaluates_on_the_real_daemons_and_names_served_series() {
    let started = Instant::now();
    let path = repo_root().join("docs/grafana/falcon-stack.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let dash: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
    let queries = queries(&dash);
    let panels = all_panels(&dash).iter().filter(|p| p["type"] != "row").count();

    let dir = std::env::temp_dir().join(format!("falcon-grafana-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _cleanup = TempDir(dir.clone());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let stack = Stack::start(&dir, &rt);
    let jobs = stack.jobs();
    let job_names: Vec<String> = jobs.iter().map(|(j, _)| j.clone()).collect();
    let prom =
        Prometheus::start_with(&PrometheusOptions { scrape_self: false, scrape: jobs.clone(), ..Default::default() })
            .unwrap_or_else(|e| panic!("{e}"));
    // A failure message with every log, for what went wrong in a query or a wait.
    let logs = |what: String| {
        format!(
            "{what}\n--- prometheus log:\n{}\n--- hbs:\n{}\n--- transfer:\n{}\n--- agent:\n{}\n--- updater:\n{}",
            prom.log(),
            stack.hbs.log(),
            stack.transfer.log(),
            stack.agent.log(),
            stack.updater.log()
        )
    };

    // Every target up, and every series the dashboard names stored (some appear only after a plugin run, a
    // delivery attempt or an updater operation).
    for job in &job_names {
        prom.wait_query(&format!("up{{job={}}} == 1", json_str(job)), SERIES_TIMEOUT)
            .unwrap_or_else(|e| panic!("{}", logs(e)));
    }
    let mut referenced = BTreeSet::new();
    for q in &queries {
        referenced.extend(falcon_names(&q.expr));
    }
    for name in &referenced {
        prom.wait_query(&format!("count({{__name__={}}})", json_str(name)), SERIES_TIMEOUT).unwrap_or_else(|e| {
            panic!("{}", logs(format!("the dashboard names {name}: is it still served under that name? {e}")))
        });
    }
    // Rates need two samples in their window: wait for a second scrape of every one of those series.
    for name in &referenced {
        let twice = format!("count_over_time({{__name__={}}}[1m]) >= 2", json_str(name));
        prom.wait_query(&twice, SERIES_TIMEOUT).unwrap_or_else(|e| panic!("{}", logs(e)));
    }
    let scraped_in = started.elapsed();

    // What each daemon serves now, for names and labels.
    let mut served = Served::default();
    for (job, addr) in &jobs {
        let r = http::get(addr, "/metrics");
        assert_eq!(r.status, 200, "{job} /metrics: {}", r.body);
        served.add(&r.body);
    }
    for name in &referenced {
        assert!(
            served.families.contains(family(name)),
            "the dashboard uses {name}, but no daemon serves a {} family",
            family(name)
        );
    }

    // The variables: each label_values selector evaluates and yields the label (the job list names every daemon).
    for v in dash["templating"]["list"].as_array().expect("templating.list") {
        let name = v["name"].as_str().unwrap_or("?");
        match v["type"].as_str() {
            Some("datasource") => assert_eq!(v["query"], "prometheus", "variable {name}"),
            Some("query") => {
                let q = v["query"].as_str().or(v["query"]["query"].as_str()).unwrap_or("");
                let (selector, label) = label_values(q).unwrap_or_else(|| panic!("variable {name}: {q:?}"));
                let result = prom.query(&substitute(selector, &job_names)).unwrap_or_else(|e| panic!("{}", logs(e)));
                let values: BTreeSet<&str> =
                    result.as_array().into_iter().flatten().filter_map(|s| s["metric"][label].as_str()).collect();
                assert!(!values.is_empty(), "variable {name}: {q} gives no {label}: {result}");
                if name == "job" {
                    for job in &job_names {
                        assert!(values.contains(job.as_str()), "variable job lacks {job}: {values:?}");
                    }
                }
            }
            other => panic!("variable {name}: unexpected type {other:?}"),
        }
    }
    for want in ["datasource", "job", "instance"] {
        assert!(
            dash["templating"]["list"].as_array().into_iter().flatten().any(|v| v["name"] == want),
            "no {want} variable"
        );
    }

    // Every panel query evaluates; its labels (grouping, matchers, legend) exist on the series it selects.
    // Every panel shows something here; single queries may be empty when they select error outcomes only.
    let mut empty = Vec::new();
    let mut panels_with_data = BTreeSet::new();
    for q in &queries {
        let expr = substitute(&q.expr, &job_names);
        let result =
            prom.query(&expr).unwrap_or_else(|e| panic!("{}", logs(format!("panel {}: {expr}: {e}", q.panel))));
        if result.as_array().is_some_and(Vec::is_empty) {
            empty.push(format!("{}: {}", q.panel, q.expr));
        } else {
            panels_with_data.insert(q.panel.clone());
        }
        let mut known = BTreeSet::new();
        for name in selector_names(&expr) {
            let labels = served
                .labels_of(&name)
                .unwrap_or_else(|| panic!("panel {}: no daemon serves samples of {name}", q.panel));
            known.extend(labels);
            if name.ends_with("_bucket") {
                known.insert("le".to_string());
            }
        }
        let mut used = grouping_labels(&expr, "by");
        used.extend(grouping_labels(&expr, "on"));
        used.extend(matcher_labels(&expr));
        used.extend(legend_labels(&q.legend));
        for l in used {
            assert!(known.contains(&l), "panel {}: label {l} is on none of the series of {}", q.panel, q.expr);
        }
    }

    for q in &queries {
        assert!(panels_with_data.contains(&q.panel), "panel {} shows nothing: {empty:#?}", q.panel);
    }
    println!(
        "grafana dashboard: {panels} panels, {} queries, {} falcon metrics; {} queries gave no series here \
         (error-only series): {empty:#?}",
        queries.len(),
        referenced.len(),
        empty.len()
    );
    println!("series scraped after {scraped_in:?}; test took {:?}", started.elapsed());
}
