//! Agent <-> HBS heartbeat types. None has JSON tags in Go, so the keys are the capitalised field names.

crate::go_struct! {
    /// `Agent.ReportStatus` argument.
    pub struct AgentReportRequest => "model.AgentReportRequest" {
        /// The agent's endpoint name.
        pub hostname: String = "Hostname",
        /// The IP it reports (configured, or its local address toward HBS).
        pub ip: String = "IP",
        /// Agent version string (`5.1.2` for v0.3).
        pub agent_version: String = "AgentVersion",
        /// Git HEAD of the plugin checkout, or a status text.
        pub plugin_version: String = "PluginVersion",
    }
}

crate::go_struct! {
    /// `Agent.BuiltinMetrics` and `Agent.MinePlugins` argument.
    pub struct AgentHeartbeatRequest => "model.AgentHeartbeatRequest" {
        /// The agent's endpoint name.
        pub hostname: String = "Hostname",
        /// The last builtin-metrics checksum the agent accepted (`"nil"` at start).
        pub checksum: String = "Checksum",
    }
}

crate::go_struct! {
    /// One check HBS hands to an agent (`net.port.listen`, `proc.num`, `du.bs`, `url.check.health`).
    pub struct BuiltinMetric => "model.BuiltinMetric" {
        /// Metric name.
        pub metric: String = "Metric",
        /// Raw tag string from the strategy, e.g. `port=22`.
        pub tags: String = "Tags",
    }
}

impl BuiltinMetric {
    /// Go's `String()`: `metric/tags`, the unit of the checksum.
    pub fn key(&self) -> String {
        format!("{}/{}", self.metric, self.tags)
    }
}

crate::go_struct! {
    /// `Agent.BuiltinMetrics` reply. `Metrics` is `[]` when the agent's checksum matches, `null` in a zero reply.
    pub struct BuiltinMetricResponse => "model.BuiltinMetricResponse" {
        /// The checks, sorted by `metric/tags`.
        pub metrics: Option<Vec<BuiltinMetric>> = "Metrics" as "[]*model.BuiltinMetric",
        /// md5 of the concatenated `metric/tags` strings, `""` when there are none.
        pub checksum: String = "Checksum",
        /// HBS's clock when it answered.
        pub timestamp: i64 = "Timestamp",
    }
}

crate::go_struct! {
    /// `Agent.MinePlugins` reply.
    pub struct AgentPluginsResponse => "model.AgentPluginsResponse" {
        /// Sorted, de-duplicated plugin dirs and files (`sys/ntp`, `sys/x/60_x.sh(a,b)`).
        pub plugins: Option<Vec<String>> = "Plugins",
        /// HBS's clock when it answered.
        pub timestamp: i64 = "Timestamp",
    }
}
