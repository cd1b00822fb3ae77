//! Test peers for the agent: a fake transfer and a fake HBS (our JSON-RPC server, speaking Go's protocol)
//! on loopback, and helpers to write configs and start the real binary.
#![allow(dead_code)]

use falcon_proto::jsonrpc::registry::Registry;
use falcon_proto::jsonrpc::server::{spawn, ServerConfig};
use falcon_proto::model::{
    AgentHeartbeatRequest, AgentPluginsResponse, AgentReportRequest, BuiltinMetric, BuiltinMetricResponse,
    NullRpcRequest, SimpleRpcResponse,
};
use falcon_runtime::shutdown::{channel, ShutdownTrigger};
use falcon_tests::daemon::Daemon;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A runtime for the fake peers.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap()
}

pub use falcon_tests::fake::{Calls, FakeTransfer};

/// Starts a fake transfer on `addr` (use `127.0.0.1:0` for a free port) recording into `calls`.
pub fn fake_transfer(rt: &tokio::runtime::Runtime, addr: &str, calls: Calls) -> FakeTransfer {
    FakeTransfer::start(rt, addr, calls)
}

/// What the fake HBS hands out and what it saw.
#[derive(Default)]
pub struct HbsState {
    /// Builtin checks.
    pub checks: Vec<BuiltinMetric>,
    /// Plugin entries.
    pub plugins: Vec<String>,
    /// Trustable IPs, comma-separated.
    pub trustable: String,
    /// ReportStatus requests.
    pub reports: Vec<AgentReportRequest>,
    /// Checksums the agent sent with BuiltinMetrics.
    pub checksums: Vec<String>,
}

/// Starts a fake HBS.
pub fn fake_hbs(rt: &tokio::runtime::Runtime, state: Arc<Mutex<HbsState>>) -> (String, ShutdownTrigger) {
    let mut reg = Registry::new();
    let s = state.clone();
    reg.register("Agent.ReportStatus", move |r: AgentReportRequest| {
        let s = s.clone();
        async move {
            s.lock().unwrap().reports.push(r);
            Ok(SimpleRpcResponse { code: 0 })
        }
    })
    .unwrap();
    let s = state.clone();
    reg.register("Agent.BuiltinMetrics", move |r: AgentHeartbeatRequest| {
        let s = s.clone();
        async move {
            let mut st = s.lock().unwrap();
            st.checksums.push(r.checksum.clone());
            let sum = falcon_proto::tags::builtin_metrics_checksum(
                st.checks.iter().map(|m| (m.metric.as_str(), m.tags.as_str())),
            );
            let metrics = if sum == r.checksum { vec![] } else { st.checks.clone() };
            Ok(BuiltinMetricResponse {
                metrics: Some(metrics),
                checksum: sum,
                timestamp: falcon_runtime::timefmt::now_unix(),
            })
        }
    })
    .unwrap();
    let s = state.clone();
    reg.register("Agent.MinePlugins", move |_r: AgentHeartbeatRequest| {
        let s = s.clone();
        async move {
            // A nanosecond clock so that two calls in one second are both "newer".
            let ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64;
            Ok(AgentPluginsResponse { plugins: Some(s.lock().unwrap().plugins.clone()), timestamp: ts })
        }
    })
    .unwrap();
    let s = state;
    reg.register("Agent.TrustableIps", move |_r: NullRpcRequest| {
        let s = s.clone();
        async move { Ok(s.lock().unwrap().trustable.clone()) }
    })
    .unwrap();
    let (stop, shutdown) = channel();
    let (local, _) = rt.block_on(spawn("127.0.0.1:0", reg, ServerConfig::default(), shutdown)).unwrap();
    (local.to_string(), stop)
}

/// A fresh temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("falcon-agent-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// An agent config: 1 s intervals, the HTTP API on a free loopback port, `extra` top-level keys appended.
pub fn config(hbs: &str, transfers: &[&str], plugin: &str, extra: &str) -> String {
    let addrs: Vec<String> = transfers.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        r#"{{"debug":true,"hostname":"agent-it","ip":"",
        "plugin":{plugin},
        "heartbeat":{{"enabled":true,"addr":"{hbs}","interval":1,"timeout":1000}},
        "transfer":{{"enabled":true,"addrs":[{}],"interval":1,"timeout":1000}},
        "http":{{"enabled":true,"listen":"127.0.0.1:0","backdoor":false}},
        "collector":{{"ifacePrefix":["eth","em"],"mountPoint":[]}}{extra}}}"#,
        addrs.join(",")
    )
}

/// Writes `cfg` and starts the agent in `dir`.
pub fn start_agent(dir: &Path, cfg: &str) -> Daemon {
    let path = dir.join("cfg.json");
    std::fs::write(&path, cfg).unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_falcon-agent"));
    Daemon::start(&bin, &["-c", path.to_str().unwrap()]).unwrap()
}

/// Polls `ok` every 50 ms for up to `secs` seconds.
pub fn wait_for(what: &str, secs: u64, ok: impl FnMut() -> bool) {
    falcon_tests::util::wait_for(what, Duration::from_secs(secs), ok)
}

/// Writes an executable script `name` in `dir`; its path.
pub fn script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}
