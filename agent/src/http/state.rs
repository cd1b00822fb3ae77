//! The data behind the agent's page about itself: `/page/agent` (sending, HBS, checks, plugins, collectors) and
//! `/page/history` (the last hour of CPU, memory and network), with `/ui/plot.js` for the plots.

use super::{data, State};
use crate::app::Agent;
use axum::response::{IntoResponse, Response};
use falcon_runtime::latest::Event;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;

/// Sending to transfer.
#[derive(Debug, Serialize)]
pub struct Send {
    /// Transfer addresses, in the config's order.
    pub addrs: Vec<String>,
    /// The last batch a transfer accepted: when (`at`) and which transfer (`text`).
    #[serde(rename = "lastSent")]
    pub last_sent: Option<Event>,
    /// The last failed call: when and why.
    #[serde(rename = "lastError")]
    pub last_error: Option<Event>,
    /// Batches waiting to be sent, in memory or in the spool file.
    #[serde(rename = "batchesWaiting")]
    pub batches_waiting: usize,
    /// Their items.
    #[serde(rename = "itemsWaiting")]
    pub items_waiting: usize,
    /// Bytes in the spool file.
    #[serde(rename = "spoolBytes")]
    pub spool_bytes: u64,
    /// Items sent since start.
    #[serde(rename = "itemsSent")]
    pub items_sent: u64,
    /// Items dropped since start (buffer full).
    #[serde(rename = "itemsDropped")]
    pub items_dropped: u64,
}

/// The link to HBS.
#[derive(Debug, Serialize)]
pub struct Hbs {
    /// HBS addresses, in failover order.
    pub addrs: Vec<String>,
    /// Whether HBS answered a call within the last three heartbeat intervals.
    pub reachable: bool,
    /// When HBS last answered (Unix seconds; 0: never).
    #[serde(rename = "lastOk")]
    pub last_ok: i64,
    /// The last failed call.
    #[serde(rename = "lastError")]
    pub last_error: Option<Event>,
    /// The checksum of the builtin checks in force (empty until HBS sent some).
    pub checksum: String,
}

/// A collector with failures.
#[derive(Debug, Serialize)]
pub struct FailedCollector {
    /// Its name.
    pub name: String,
    /// Failed runs since start.
    pub failed: u64,
    /// Successful runs since start.
    pub ok: u64,
    /// The last failure.
    #[serde(rename = "lastError")]
    pub last_error: String,
}

/// Everything `/page/agent` answers.
#[derive(Debug, Serialize)]
pub struct AgentPage {
    /// The endpoint it reports as.
    pub hostname: String,
    /// Its version.
    pub version: &'static str,
    /// Unix seconds now.
    pub now: i64,
    /// Sending.
    pub send: Send,
    /// HBS.
    pub hbs: Hbs,
    /// Every check's last value (HBS's builtin checks and the shell checks).
    pub checks: Vec<crate::check_values::CheckValue>,
    /// The shell checks with their last runs.
    #[serde(rename = "shellChecks")]
    pub shell_checks: Vec<crate::shellchecks::Status>,
    /// Each scheduled plugin and its last run (null before the first).
    pub plugins: BTreeMap<String, Option<crate::plugins::scheduler::LastRun>>,
    /// Collectors that failed at least once, with their last error.
    #[serde(rename = "failedCollectors")]
    pub failed_collectors: Vec<FailedCollector>,
    /// Collectors that ran.
    pub collectors: usize,
}

/// Builds the page's data.
pub fn agent_page(agent: &Agent, now: i64) -> AgentPage {
    let cfg = agent.config();
    let (batches_waiting, items_waiting) = agent.sender.waiting();
    let st = &agent.sender.stats;
    let last_ok = agent.hbs_last_ok.load(Relaxed);
    let window = 3 * cfg.heartbeat.interval.max(1);
    let runs = agent.plugins.last_runs();
    let plugins = agent.plugins.snapshot().into_keys().map(|k| (k.clone(), runs.get(&k).cloned())).collect();
    let collectors = agent.stats.snapshot();
    let failed_collectors = collectors
        .iter()
        .filter(|(_, s)| s.failed > 0)
        .map(|(name, s)| FailedCollector {
            name: name.clone(),
            failed: s.failed,
            ok: s.ok,
            last_error: s.last_error.clone(),
        })
        .collect();
    AgentPage {
        hostname: agent.endpoint().unwrap_or_else(|e| format!("error: {e}")),
        version: crate::identity::VERSION,
        now,
        send: Send {
            addrs: cfg.transfer.addrs.clone(),
            last_sent: agent.sender.last_sent.get(),
            last_error: agent.sender.last_error.get(),
            batches_waiting,
            items_waiting,
            spool_bytes: agent.sender.spool_bytes(),
            items_sent: st.items_sent.load(Relaxed),
            items_dropped: st.items_dropped.load(Relaxed),
        },
        hbs: Hbs {
            addrs: cfg.heartbeat.all_addrs(),
            reachable: last_ok > 0 && now - last_ok <= window,
            last_ok,
            last_error: agent.hbs_last_error.get(),
            checksum: agent.builtin_checksum.read().map(|c| c.clone()).unwrap_or_default(),
        },
        checks: agent.check_values.snapshot(),
        shell_checks: agent.shell_checks.snapshot(),
        plugins,
        failed_collectors,
        collectors: collectors.len(),
    }
}

/// `/page/agent`.
pub async fn agent(axum::extract::State(agent): State) -> Response {
    data(&agent_page(&agent, falcon_runtime::timefmt::now_unix()))
}

/// `/page/history`.
pub async fn history(axum::extract::State(agent): State) -> Response {
    data(&agent.history.view())
}

/// `/ui/plot.js`.
pub async fn plot_js() -> Response {
    ([(axum::http::header::CONTENT_TYPE, falcon_runtime::ui::JS_CONTENT_TYPE)], falcon_runtime::ui::PLOT_JS)
        .into_response()
}
