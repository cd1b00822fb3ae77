//! The JSON-RPC methods (spec §6.4): `Agent.*` for agents, `Hbs.*` for judge.

use crate::state::Hbs;
use falcon_proto::jsonrpc::registry::Registry;
use falcon_proto::model::{
    AgentHeartbeatRequest, AgentPluginsResponse, AgentReportRequest, BuiltinMetricResponse, ExpressionResponse,
    NullRpcRequest, SimpleRpcResponse, StrategiesResponse,
};
use falcon_runtime::timefmt::{format_local, now_unix};
use std::sync::Arc;

/// Local `HH:MM` now, as Go compares strategy windows.
pub fn local_hhmm(now: i64) -> String {
    format_local(now).get(11..16).unwrap_or("00:00").to_string()
}

/// `Agent.BuiltinMetrics` for a snapshot (pure, for tests and benchmarks).
pub fn builtin_metrics(hbs: &Hbs, req: &AgentHeartbeatRequest, now: i64) -> BuiltinMetricResponse {
    if req.hostname.is_empty() {
        return BuiltinMetricResponse::default();
    }
    let mut list = hbs.cache().builtin_metrics(&req.hostname);
    let checksum =
        falcon_proto::tags::builtin_metrics_checksum(list.iter().map(|m| (m.metric.as_str(), m.tags.as_str())));
    // Go's digest sorts the reply list in place.
    list.sort_by_key(|m| m.key());
    let metrics = if req.checksum == checksum { Vec::new() } else { list };
    BuiltinMetricResponse { metrics: Some(metrics), checksum, timestamp: now }
}

/// The methods [`registry`] answers (the page's call plot starts them at zero, so a first call already shows).
pub const METHODS: [&str; 6] = [
    "Agent.ReportStatus",
    "Agent.BuiltinMetrics",
    "Agent.MinePlugins",
    "Agent.TrustableIps",
    "Hbs.GetExpressions",
    "Hbs.GetStrategies",
];

/// Every method.
pub fn registry(hbs: Arc<Hbs>) -> Registry {
    let mut reg = Registry::new();
    let h = hbs.clone();
    let _ = reg.register("Agent.ReportStatus", move |r: AgentReportRequest| {
        let h = h.clone();
        async move {
            let _timer = h.calls.start("Agent.ReportStatus");
            if r.hostname.is_empty() {
                return Ok(SimpleRpcResponse { code: 1 });
            }
            // Memory only: the host row is written by the once-a-second flush (`hostwrites`).
            h.report(r, now_unix());
            Ok(SimpleRpcResponse { code: 0 })
        }
    });
    let h = hbs.clone();
    let _ = reg.register("Agent.BuiltinMetrics", move |r: AgentHeartbeatRequest| {
        let h = h.clone();
        async move {
            let _timer = h.calls.start("Agent.BuiltinMetrics");
            Ok(builtin_metrics(&h, &r, now_unix()))
        }
    });
    let h = hbs.clone();
    let _ = reg.register("Agent.MinePlugins", move |r: AgentHeartbeatRequest| {
        let h = h.clone();
        async move {
            let _timer = h.calls.start("Agent.MinePlugins");
            if r.hostname.is_empty() {
                return Ok(AgentPluginsResponse::default());
            }
            Ok(AgentPluginsResponse { plugins: Some(h.cache().plugins(&r.hostname)), timestamp: now_unix() })
        }
    });
    let h = hbs.clone();
    let _ = reg.register("Agent.TrustableIps", move |_r: NullRpcRequest| {
        let h = h.clone();
        async move {
            let _timer = h.calls.start("Agent.TrustableIps");
            Ok(h.config().trustable_joined())
        }
    });
    let h = hbs.clone();
    let _ = reg.register("Hbs.GetExpressions", move |_r: NullRpcRequest| {
        let h = h.clone();
        async move {
            let _timer = h.calls.start("Hbs.GetExpressions");
            // Go's query leaves the slice nil when there are no rows: `{"expressions":null}`.
            let list = h.cache().expressions.clone();
            Ok(ExpressionResponse { expressions: (!list.is_empty()).then_some(list) })
        }
    });
    let h = hbs;
    let _ = reg.register("Hbs.GetStrategies", move |_r: NullRpcRequest| {
        let h = h.clone();
        async move {
            let _timer = h.calls.start("Hbs.GetStrategies");
            let now = now_unix();
            Ok(StrategiesResponse { host_strategies: Some(h.cache().host_strategies(&local_hhmm(now), now)) })
        }
    });
    reg
}
