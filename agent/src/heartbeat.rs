//! The four HBS loops (spec §4.7) on one JSON-RPC connection: ReportStatus at start and every interval;
//! BuiltinMetrics (from checksum `"nil"`, replies not newer than the last ignored), MinePlugins (when plugins
//! are enabled) and TrustableIps, each sleeping one interval first.

use crate::app::Agent;
use crate::checks::parse_checks;
use crate::hbs_client::HbsClient;
use crate::plugins::desired::desired;
use falcon_proto::jsonrpc::client::ClientConfig;
use falcon_proto::model::{
    AgentHeartbeatRequest, AgentPluginsResponse, AgentReportRequest, BuiltinMetricResponse, NullRpcRequest,
    SimpleRpcResponse,
};
use falcon_runtime::shutdown::Shutdown;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The state of the BuiltinMetrics loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinState {
    /// The last accepted reply's timestamp (-1 at start).
    pub timestamp: i64,
    /// The last accepted checksum (`"nil"` at start).
    pub checksum: String,
}

impl Default for BuiltinState {
    fn default() -> Self {
        BuiltinState { timestamp: -1, checksum: "nil".into() }
    }
}

impl BuiltinState {
    /// Whether a reply changes the checks: it must be newer and carry another checksum. Accepting it moves
    /// the state on.
    pub fn accept(&mut self, reply: &BuiltinMetricResponse) -> bool {
        if reply.timestamp <= self.timestamp || reply.checksum == self.checksum {
            return false;
        }
        self.timestamp = reply.timestamp;
        self.checksum = reply.checksum.clone();
        true
    }
}

/// Starts the loops (when the heartbeat is enabled with an address).
pub fn spawn(agent: Arc<Agent>, shutdown: Shutdown) {
    let cfg = agent.config();
    let addrs = cfg.heartbeat.all_addrs();
    if !cfg.heartbeat.enabled || addrs.is_empty() {
        return;
    }
    let client = Arc::new(HbsClient::new(
        &addrs,
        ClientConfig {
            dial_timeout: Duration::from_millis(cfg.heartbeat.timeout as u64),
            call_timeout: Duration::from_secs(10),
            connector: agent.hbs_connector.clone(),
            ..ClientConfig::default()
        },
    ));
    let interval = Duration::from_secs(cfg.heartbeat.interval.max(1) as u64);
    tokio::spawn(report_status(agent.clone(), client.clone(), interval, shutdown.clone()));
    tokio::spawn(builtin_metrics(agent.clone(), client.clone(), interval, shutdown.clone()));
    if cfg.plugin.enabled {
        tokio::spawn(mine_plugins(agent.clone(), client.clone(), interval, shutdown.clone()));
    }
    tokio::spawn(trustable_ips(agent, client, interval, shutdown));
}

/// One call to HBS, its outcome counted: `ok` when answered (whatever the answer), `error` when not.
async fn counted<A: serde::Serialize, R: falcon_proto::gojson::GoDecode + Default>(
    agent: &Agent,
    hbs: &HbsClient,
    method: &'static str,
    args: &A,
) -> Result<R, falcon_proto::jsonrpc::client::CallError> {
    let r = hbs.call::<A, R>(method, args).await;
    match &r {
        Ok(_) => {
            agent.hbs_last_ok.store(falcon_runtime::timefmt::now_unix(), std::sync::atomic::Ordering::Relaxed);
            agent.hbs_calls.add(method, "ok")
        }
        Err(e) => {
            agent.hbs_calls.add(method, "error");
            agent.hbs_last_error.set(falcon_runtime::timefmt::now_unix(), &format!("{method}: {e}"));
        }
    }
    r
}

/// Sleeps, or returns false when shutting down.
async fn pause(d: Duration, shutdown: &mut Shutdown) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = shutdown.wait() => false,
    }
}

async fn report_status(agent: Arc<Agent>, hbs: Arc<HbsClient>, every: Duration, mut shutdown: Shutdown) {
    loop {
        let cfg = agent.config();
        if agent.ip().is_empty() {
            if let Some(ip) = crate::identity::local_ip_toward(hbs.addr()) {
                agent.set_local_ip(ip.to_string());
            }
        }
        let req = AgentReportRequest {
            hostname: agent.endpoint().unwrap_or_else(|e| format!("error:{e}")),
            ip: agent.ip(),
            agent_version: crate::identity::VERSION.to_string(),
            plugin_version: crate::identity::plugin_version(cfg.plugin.enabled, &PathBuf::from(&cfg.plugin.dir)).await,
        };
        match counted::<_, SimpleRpcResponse>(&agent, &hbs, "Agent.ReportStatus", &req).await {
            Ok(r) if r.code != 0 => tracing::warn!(code = r.code, "Agent.ReportStatus refused"),
            Ok(_) => tracing::debug!("Agent.ReportStatus ok"),
            Err(e) => tracing::warn!(error = %e, "Agent.ReportStatus failed"),
        }
        if !pause(every, &mut shutdown).await {
            return;
        }
    }
}

async fn builtin_metrics(agent: Arc<Agent>, hbs: Arc<HbsClient>, every: Duration, mut shutdown: Shutdown) {
    let mut state = BuiltinState::default();
    while pause(every, &mut shutdown).await {
        let Ok(hostname) = agent.endpoint() else { continue };
        let req = AgentHeartbeatRequest { hostname, checksum: state.checksum.clone() };
        match counted::<_, BuiltinMetricResponse>(&agent, &hbs, "Agent.BuiltinMetrics", &req).await {
            Ok(r) => {
                if state.accept(&r) {
                    let checks = parse_checks(r.metrics.as_deref().unwrap_or(&[]));
                    tracing::info!(checksum = %state.checksum, ?checks, "builtin checks from HBS");
                    if let Ok(mut c) = agent.builtin_checksum.write() {
                        c.clone_from(&state.checksum);
                    }
                    agent.set_checks(checks);
                }
            }
            Err(e) => tracing::warn!(error = %e, "Agent.BuiltinMetrics failed"),
        }
    }
}

async fn mine_plugins(agent: Arc<Agent>, hbs: Arc<HbsClient>, every: Duration, mut shutdown: Shutdown) {
    let mut last = -1i64;
    while pause(every, &mut shutdown).await {
        let Ok(hostname) = agent.endpoint() else { continue };
        let req = AgentHeartbeatRequest { hostname, checksum: String::new() };
        match counted::<_, AgentPluginsResponse>(&agent, &hbs, "Agent.MinePlugins", &req).await {
            Ok(r) if r.timestamp > last => {
                last = r.timestamp;
                let list = r.plugins.unwrap_or_default();
                if list.is_empty() {
                    agent.plugins.clear();
                } else {
                    let dir = PathBuf::from(&agent.config().plugin.dir);
                    agent.plugins.reconcile(desired(&dir, &list));
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "Agent.MinePlugins failed"),
        }
    }
}

async fn trustable_ips(agent: Arc<Agent>, hbs: Arc<HbsClient>, every: Duration, mut shutdown: Shutdown) {
    while pause(every, &mut shutdown).await {
        match counted::<_, String>(&agent, &hbs, "Agent.TrustableIps", &NullRpcRequest {}).await {
            Ok(list) => {
                let ips: Vec<String> = list.split(',').map(str::to_string).collect();
                if let Ok(mut t) = agent.trustable.write() {
                    *t = Some(ips);
                }
            }
            Err(e) => tracing::warn!(error = %e, "Agent.TrustableIps failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(ts: i64, sum: &str) -> BuiltinMetricResponse {
        BuiltinMetricResponse { metrics: Some(vec![]), checksum: sum.into(), timestamp: ts }
    }

    #[test]
    fn go_acceptance_rules() {
        let mut s = BuiltinState::default();
        assert!(s.accept(&reply(100, "abc")));
        assert!(!s.accept(&reply(100, "def")), "not newer");
        assert!(!s.accept(&reply(99, "def")), "older");
        assert!(!s.accept(&reply(200, "abc")), "same checksum means unchanged");
        assert!(s.accept(&reply(300, "")), "no checks any more");
        assert_eq!(s, BuiltinState { timestamp: 300, checksum: String::new() });
    }
}
