//! The Go agent's configuration file, unchanged (`g/cfg.go`), plus a few keys of ours that Go ignores.
//!
//! Decoding follows Go's `json.Unmarshal` (case-insensitive keys, unknown keys ignored, type errors naming the
//! field) into structs pre-filled with the documented defaults. Go keeps a missing section as a nil pointer and
//! crashes on first use; a missing section here takes its defaults. [`Config::validate`] rejects values that
//! cannot work, naming the key.

use falcon_proto::go_struct;
use falcon_proto::gojson;
use falcon_runtime::cli::{invalid, read_config_object};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use falcon_runtime::cli::ConfigError;

go_struct! {
    /// The `plugin` section.
    pub struct PluginConfig => "g.PluginConfig", custom_default {
        /// Whether plugins are synced from HBS and run.
        pub enabled: bool = "enabled",
        /// The git checkout of the plugin repository (relative paths are relative to the working directory).
        pub dir: String = "dir",
        /// The repository `/plugin/update` clones (`/config/reload` shows a URL's password and query masked).
        #[serde(serialize_with = "falcon_runtime::redact::url")]
        pub git: String = "git",
        /// Where each plugin's stderr is written.
        pub logs: String = "logs",
    }
}

impl Default for PluginConfig {
    fn default() -> Self {
        PluginConfig {
            enabled: false,
            dir: default_plugin_dir(),
            git: "https://github.com/open-falcon/plugin.git".into(),
            logs: "./logs".into(),
        }
    }
}

fn default_plugin_dir() -> String {
    "./plugin".into()
}

go_struct! {
    /// The `heartbeat` section: the HBS connection.
    pub struct HeartbeatConfig => "g.HeartbeatConfig", custom_default {
        /// Whether the four heartbeat loops run.
        pub enabled: bool = "enabled",
        /// HBS JSON-RPC address.
        pub addr: String = "addr",
        /// Seconds between heartbeats.
        pub interval: i64 = "interval" as "int",
        /// Dial timeout, ms (Go's meaning; a call is bounded at 10 s).
        pub timeout: i64 = "timeout" as "int",
        /// Ours: several HBS addresses. Calls go to one at a time and move to the next on a connection error
        /// or a timeout, then stay there. When non-empty it wins over `addr`.
        #[serde(skip_serializing)]
        pub addrs: Vec<String> = "addrs",
        /// Ours: dial over TLS (the server's `tlsListen`); on when `ca` is set.
        #[serde(skip_serializing)]
        pub tls: falcon_runtime::tls::ClientTlsConfig = "tls",
    }
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        HeartbeatConfig {
            enabled: true,
            addr: "127.0.0.1:6030".into(),
            interval: 60,
            timeout: 1000,
            addrs: Vec::new(),
            tls: Default::default(),
        }
    }
}

impl HeartbeatConfig {
    /// The HBS addresses in failover order: `addrs` when given, else `addr`; empty entries dropped.
    pub fn all_addrs(&self) -> Vec<String> {
        let list: Vec<String> = if self.addrs.is_empty() { vec![self.addr.clone()] } else { self.addrs.clone() };
        list.into_iter().map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect()
    }
}

go_struct! {
    /// The `transfer` section: where metrics go, and how often builtin metrics are collected.
    pub struct TransferConfig => "g.TransferConfig", custom_default {
        /// Whether builtin collection and sending run.
        pub enabled: bool = "enabled",
        /// Transfer JSON-RPC addresses, tried in a fresh random order for every batch.
        pub addrs: Vec<String> = "addrs",
        /// Seconds between collections; also the `step` of builtin metrics.
        pub interval: i64 = "interval" as "int",
        /// Dial timeout, ms.
        pub timeout: i64 = "timeout" as "int",
        /// Ours: items kept in memory while no transfer answers; beyond it the oldest batches are dropped.
        #[serde(skip_serializing)]
        pub buffer_items: i64 = "bufferItems" as "int",
        /// Ours: a directory for the on-disk spool of undelivered batches ("" = memory only).
        #[serde(skip_serializing)]
        pub spool: String = "spool",
        /// Ours: the spool file's bound in bytes.
        #[serde(skip_serializing)]
        pub spool_max_bytes: i64 = "spoolMaxBytes",
        /// Ours: dial over TLS (the server's `tlsListen`); on when `ca` is set.
        #[serde(skip_serializing)]
        pub tls: falcon_runtime::tls::ClientTlsConfig = "tls",
    }
}

/// Default bound of the in-memory send buffer, in items (about 2.5 MB of encoded JSON).
pub const DEFAULT_BUFFER_ITEMS: i64 = 20_000;
/// Default bound of the spool file.
pub const DEFAULT_SPOOL_MAX_BYTES: i64 = 64 << 20;

impl Default for TransferConfig {
    fn default() -> Self {
        TransferConfig {
            enabled: true,
            addrs: vec!["127.0.0.1:8433".into(), "127.0.0.1:8433".into()],
            interval: 60,
            timeout: 1000,
            buffer_items: DEFAULT_BUFFER_ITEMS,
            spool: String::new(),
            spool_max_bytes: DEFAULT_SPOOL_MAX_BYTES,
            tls: Default::default(),
        }
    }
}

go_struct! {
    /// The `http` section.
    pub struct HttpConfig => "g.HttpConfig", custom_default {
        /// Whether the HTTP API listens.
        pub enabled: bool = "enabled",
        /// `host:port`; an empty host means every interface.
        pub listen: String = "listen",
        /// Enables `/run` (still only for trusted callers).
        pub backdoor: bool = "backdoor",
        /// Ours: a bearer token that lets a caller use the state-changing routes from any address. Never shown.
        #[serde(skip_serializing)]
        pub token: String = "token",
        /// Ours: only the token lets a caller in, loopback included.
        #[serde(skip_serializing)]
        pub token_required: bool = "tokenRequired",
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            enabled: true,
            listen: ":1988".into(),
            backdoor: false,
            token: String::new(),
            token_required: false,
        }
    }
}

impl HttpConfig {
    /// The token settings of the state-changing routes.
    pub fn gate(&self) -> falcon_runtime::auth::Gate<'_> {
        falcon_runtime::auth::Gate { token: &self.token, required: self.token_required }
    }
}

go_struct! {
    /// The `collector` section.
    pub struct CollectorConfig => "g.CollectorConfig", custom_default {
        /// Interface name prefixes for `net.if.*`; empty means every interface.
        pub iface_prefix: Vec<String> = "ifacePrefix",
        /// If non-empty, only these mount points are reported by `df.*`.
        pub mount_point: Vec<String> = "mountPoint",
        /// Ours: the /proc root ("" = `$NUX_ROOTFS/proc`, else `/proc`).
        #[serde(skip_serializing)]
        pub proc_root: String = "procRoot",
        /// Ours: the /sys root ("" = `$NUX_ROOTFS/sys`, else `/sys`).
        #[serde(skip_serializing)]
        pub sys_root: String = "sysRoot",
        /// Ours: `process.*` (CPU, memory, swap, descriptors, threads, I/O) for every `proc.num` rule.
        #[serde(skip_serializing)]
        pub process_metrics: bool = "processMetrics",
        /// Ours: the write probe behind `sys.disk.rw` (the read-only remount check stays on).
        #[serde(skip_serializing)]
        pub disk_rw_check: bool = "diskRwCheck",
        /// Ours: SMART (smartctl) and LSI RAID (storcli, megacli) health where those tools are installed.
        #[serde(skip_serializing)]
        pub disk_health: bool = "diskHealth",
    }
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            iface_prefix: vec!["eth".into(), "em".into()],
            mount_point: Vec::new(),
            proc_root: String::new(),
            sys_root: String::new(),
            process_metrics: true,
            disk_rw_check: true,
            disk_health: true,
        }
    }
}

go_struct! {
    /// Ours: the `ntp` section, an SNTP query every cycle for `sys.ntp.offset` and `sys.ntp.fail`.
    pub struct NtpConfig => "g.NtpConfig", custom_default {
        /// Whether the clock is checked (off when the section is absent).
        pub enabled: bool = "enabled",
        /// `host` or `host:port` (port 123 by default), asked in order until one answers.
        pub servers: Vec<String> = "servers",
        /// How long one server may take to answer, ms.
        pub timeout: i64 = "timeout" as "int",
    }
}

impl Default for NtpConfig {
    fn default() -> Self {
        NtpConfig { enabled: false, servers: Vec::new(), timeout: default_ntp_timeout() }
    }
}

fn default_ntp_timeout() -> i64 {
    1000
}

go_struct! {
    /// Ours: one entry of `checks`, a command whose output lines become items of one metric.
    pub struct ShellCheckConfig => "g.ShellCheckConfig", custom_default {
        /// The metric every output line becomes.
        pub metric: String = "metric",
        /// The program and its arguments (no shell unless the program is one).
        pub command: Vec<String> = "command",
        /// Tags of every item; a line's own tags override these.
        pub tags: BTreeMap<String, String> = "tags",
        /// Seconds between runs; also the items' step.
        pub interval: i64 = "interval" as "int",
        /// How long a run may take, ms; then its process group is killed.
        pub timeout: i64 = "timeout" as "int",
    }
}

impl Default for ShellCheckConfig {
    fn default() -> Self {
        ShellCheckConfig {
            metric: String::new(),
            command: Vec::new(),
            tags: BTreeMap::new(),
            interval: default_check_interval(),
            timeout: default_check_timeout(),
        }
    }
}

fn default_check_interval() -> i64 {
    60
}

fn default_check_timeout() -> i64 {
    10_000
}

go_struct! {
    /// The whole file (`g.GlobalConfig`).
    pub struct Config => "g.GlobalConfig", custom_default {
        /// Debug logging.
        pub debug: bool = "debug",
        /// Endpoint override.
        pub hostname: String = "hostname",
        /// IP reported to HBS; empty means the local address toward HBS.
        pub ip: String = "ip",
        /// Plugins.
        pub plugin: PluginConfig = "plugin",
        /// HBS.
        pub heartbeat: HeartbeatConfig = "heartbeat",
        /// Transfer.
        pub transfer: TransferConfig = "transfer",
        /// HTTP API.
        pub http: HttpConfig = "http",
        /// Collector options.
        pub collector: CollectorConfig = "collector",
        /// Tags appended to every metric sent (builtin, plugin and pushed).
        pub default_tags: BTreeMap<String, String> = "default_tags",
        /// Builtin metric names to drop (value must be `true`).
        pub ignore: BTreeMap<String, bool> = "ignore",
        /// Ours: the clock check.
        #[serde(skip_serializing)]
        pub ntp: NtpConfig = "ntp",
        /// Ours: shell checks.
        #[serde(skip_serializing)]
        pub checks: Vec<ShellCheckConfig> = "checks",
        /// Ours: the budget for bytes buffered from clients (`/v1/push` bodies) and from plugin and check
        /// output, and the bound on one pushed body.
        #[serde(skip_serializing)]
        pub buffers: falcon_runtime::buffers::BuffersConfig = "buffers",
    }
}

impl Default for Config {
    fn default() -> Self {
        let ignore = [
            "cpu.busy",
            "df.bytes.free",
            "df.bytes.total",
            "df.bytes.used",
            "df.bytes.used.percent",
            "df.inodes.total",
            "df.inodes.free",
            "df.inodes.used",
            "df.inodes.used.percent",
            "mem.memtotal",
            "mem.memused",
            "mem.memused.percent",
            "mem.memfree",
            "mem.swaptotal",
            "mem.swapused",
            "mem.swapfree",
        ];
        Config {
            debug: true,
            hostname: String::new(),
            ip: String::new(),
            plugin: PluginConfig::default(),
            heartbeat: HeartbeatConfig::default(),
            transfer: TransferConfig::default(),
            http: HttpConfig::default(),
            collector: CollectorConfig::default(),
            default_tags: BTreeMap::new(),
            ignore: ignore.iter().map(|k| (k.to_string(), true)).collect(),
            ntp: NtpConfig::default(),
            checks: Vec::new(),
            buffers: Default::default(),
        }
    }
}

impl Config {
    /// Reads, decodes and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = read_config_object(path)?;
        Self::from_json(&file.bytes, &file.object, &path.display().to_string())
    }

    /// Decodes and validates a config file's bytes (`name` is used in errors).
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Config, ConfigError> {
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(bytes)
            .map_err(|e| ConfigError::Decode { path: name.into(), reason: e.to_string() })?;
        Self::from_json(bytes, &object, name)
    }

    /// Decodes and validates a config file's bytes and its already-parsed top-level object.
    pub fn from_json(
        bytes: &[u8],
        object: &serde_json::Map<String, serde_json::Value>,
        name: &str,
    ) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        // The ignore list is a map, and decoding merges a file's map into the existing one; Go decodes into a
        // fresh (nil) map, so the defaults must not survive next to the file's own list.
        cfg.ignore.clear();
        let has_ignore = object.keys().any(|k| gojson::eq_fold("ignore", k));
        gojson::decode_into(bytes, &mut cfg, gojson::Ctx::top("g.GlobalConfig"))
            .map_err(|e| ConfigError::Decode { path: name.into(), reason: e.0 })?;
        if !has_ignore {
            cfg.ignore = Config::default().ignore;
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Rejects values that cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.buffers.validate("buffers")?;
        if self.http.token_required && self.http.token.is_empty() {
            return Err(invalid(
                "http.tokenRequired",
                "set, but http.token is empty: nobody could use the admin routes",
            ));
        }
        if self.transfer.enabled && self.transfer.interval <= 0 {
            return Err(invalid("transfer.interval", "must be a positive number of seconds"));
        }
        if self.heartbeat.enabled && self.heartbeat.interval <= 0 {
            return Err(invalid("heartbeat.interval", "must be a positive number of seconds"));
        }
        for (key, v) in [("transfer.timeout", self.transfer.timeout), ("heartbeat.timeout", self.heartbeat.timeout)] {
            if v <= 0 {
                return Err(invalid(key, "must be a positive number of milliseconds"));
            }
        }
        if self.transfer.buffer_items <= 0 {
            return Err(invalid("transfer.bufferItems", "must be positive"));
        }
        if self.transfer.spool_max_bytes <= 0 {
            return Err(invalid("transfer.spoolMaxBytes", "must be positive"));
        }
        for (k, v) in &self.default_tags {
            if k.is_empty() || k.contains([',', '=']) || v.contains([',', '=']) {
                return Err(invalid(&format!("default_tags.{k}"), "keys and values may not contain ',' or '='"));
            }
        }
        if self.heartbeat.enabled && !self.heartbeat.addrs.is_empty() && self.heartbeat.all_addrs().is_empty() {
            return Err(invalid("heartbeat.addrs", "lists only empty addresses"));
        }
        self.validate_ntp()?;
        self.validate_checks()
    }

    fn validate_ntp(&self) -> Result<(), ConfigError> {
        let n = &self.ntp;
        if !n.enabled {
            return Ok(());
        }
        if n.servers.iter().all(|s| s.trim().is_empty()) {
            return Err(invalid("ntp.servers", "must list at least one server when ntp.enabled is true"));
        }
        if !(1..=60_000).contains(&n.timeout) {
            return Err(invalid("ntp.timeout", "must be between 1 and 60000 milliseconds"));
        }
        Ok(())
    }

    fn validate_checks(&self) -> Result<(), ConfigError> {
        for (i, c) in self.checks.iter().enumerate() {
            let key = |k: &str| format!("checks[{i}].{k}");
            if c.metric.trim().is_empty() || c.metric.contains(char::is_whitespace) {
                return Err(invalid(&key("metric"), "must be a metric name without spaces"));
            }
            if c.command.first().is_none_or(|p| p.is_empty()) {
                return Err(invalid(&key("command"), "must name a program: [\"/path/to/prog\", \"arg\", ...]"));
            }
            if c.interval <= 0 {
                return Err(invalid(&key("interval"), "must be a positive number of seconds"));
            }
            if c.timeout <= 0 {
                return Err(invalid(&key("timeout"), "must be a positive number of milliseconds"));
            }
            for (k, v) in &c.tags {
                if k.is_empty() || k.contains([',', '=']) || v.contains([',', '=']) {
                    return Err(invalid(&key(&format!("tags.{k}")), "keys and values may not contain ',' or '='"));
                }
            }
        }
        Ok(())
    }

    /// Whether a builtin metric name is dropped by `ignore`.
    pub fn ignored(&self, metric: &str) -> bool {
        self.ignore.get(metric).copied().unwrap_or(false)
    }

    /// The /proc and /sys roots: the config keys, else `$NUX_ROOTFS/proc` and `/sys`, else the real ones.
    pub fn roots(&self) -> (PathBuf, PathBuf) {
        let rootfs = std::env::var_os("NUX_ROOTFS").filter(|v| !v.is_empty()).map(PathBuf::from);
        let pick = |configured: &str, sub: &str| {
            if !configured.is_empty() {
                PathBuf::from(configured)
            } else if let Some(r) = &rootfs {
                r.join(sub)
            } else {
                PathBuf::from("/").join(sub)
            }
        };
        (pick(&self.collector.proc_root, "proc"), pick(&self.collector.sys_root, "sys"))
    }

    /// The config as Go's `/config/reload` shows it.
    pub fn to_go_json(&self) -> Vec<u8> {
        gojson::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPTURED: &str = r#"{"debug":true,"hostname":"","ip":"","plugin":{"enabled":true,"dir":"/opt/falcon/run/agent/plugin","git":"/opt/falcon/plugin-src","logs":"/opt/falcon/logs/agent-plugin"},"heartbeat":{"enabled":true,"addr":"127.0.0.1:26030","interval":10,"timeout":1000},"transfer":{"enabled":true,"addrs":["127.0.0.1:28433"],"interval":10,"timeout":1000},"http":{"enabled":true,"listen":"127.0.0.1:11988","backdoor":false},"collector":{"ifacePrefix":["eth","em"],"mountPoint":[]},"default_tags":{},"ignore":{"cpu.busy":true,"df.bytes.free":true,"df.bytes.total":true,"df.bytes.used":true,"df.bytes.used.percent":true,"df.inodes.free":true,"df.inodes.total":true,"df.inodes.used":true,"df.inodes.used.percent":true,"mem.memfree":true,"mem.memtotal":true,"mem.memused":true,"mem.memused.percent":true,"mem.swapfree":true,"mem.swaptotal":true,"mem.swapused":true}}"#;

    #[test]
    fn the_captured_config_round_trips_as_go_renders_it() {
        let cfg = Config::from_bytes(CAPTURED.as_bytes(), "t").unwrap();
        assert_eq!(String::from_utf8(cfg.to_go_json()).unwrap(), CAPTURED);
        assert!(cfg.ignored("cpu.busy"));
        assert!(!cfg.ignored("cpu.idle"));
    }

    #[test]
    fn the_example_file_decodes_to_the_go_defaults() {
        let text = include_str!("../cfg.example.json");
        let cfg = Config::from_bytes(text.as_bytes(), "example").unwrap();
        let d = Config::default();
        assert_eq!(cfg.to_go_json(), d.to_go_json());
    }

    #[test]
    fn missing_sections_take_defaults_and_a_file_ignore_list_replaces_the_default() {
        let cfg =
            Config::from_bytes(br#"{"Transfer":{"interval":5},"ignore":{"load.1min":true,"x":false}}"#, "t").unwrap();
        assert_eq!(cfg.transfer.interval, 5);
        assert_eq!(cfg.transfer.addrs.len(), 2);
        assert_eq!(cfg.heartbeat.addr, "127.0.0.1:6030");
        assert!(cfg.ignored("load.1min"));
        assert!(!cfg.ignored("x"));
        assert!(!cfg.ignored("cpu.busy"));
        let cfg = Config::from_bytes(b"{}", "t").unwrap();
        assert!(cfg.ignored("cpu.busy"));
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = Config::from_bytes(br#"{"transfer":{"interval":0}}"#, "t").unwrap_err().to_string();
        assert!(e.contains("transfer.interval"), "{e}");
        let e = Config::from_bytes(br#"{"transfer":{"interval":"x"}}"#, "t").unwrap_err().to_string();
        assert!(e.contains("interval"), "{e}");
        let e = Config::from_bytes(br#"{"default_tags":{"a":"b,c"}}"#, "t").unwrap_err().to_string();
        assert!(e.contains("default_tags.a"), "{e}");
        for (text, key) in [
            (r#"{"ntp":{"enabled":true}}"#, "ntp.servers"),
            (r#"{"ntp":{"enabled":true,"servers":["a"],"timeout":0}}"#, "ntp.timeout"),
            (r#"{"checks":[{"metric":"m","command":[]}]}"#, "checks[0].command"),
            (
                r#"{"checks":[{"metric":"m","command":["/bin/true"]},{"metric":"","command":["x"]}]}"#,
                "checks[1].metric",
            ),
            (r#"{"checks":[{"metric":"m","command":["x"],"interval":0}]}"#, "checks[0].interval"),
            (r#"{"checks":[{"metric":"m","command":["x"],"tags":{"a":"b=c"}}]}"#, "checks[0].tags.a"),
            (r#"{"heartbeat":{"addrs":[" "]}}"#, "heartbeat.addrs"),
        ] {
            let e = Config::from_bytes(text.as_bytes(), "t").unwrap_err().to_string();
            assert!(e.contains(key), "{text}: {e}");
        }
    }

    #[test]
    fn our_sections_take_their_defaults() {
        let cfg = Config::from_bytes(
            br#"{"heartbeat":{"addr":"a:1","addrs":["b:1","c:1"]},"ntp":{"enabled":true,"servers":["pool"]},
            "checks":[{"metric":"app.errors","command":["/bin/echo","1"],"tags":{"file":"a.log"}}],
            "collector":{"processMetrics":false}}"#,
            "t",
        )
        .unwrap();
        assert_eq!(cfg.heartbeat.all_addrs(), ["b:1", "c:1"]);
        assert_eq!((cfg.ntp.timeout, cfg.ntp.servers.len()), (1000, 1));
        assert_eq!((cfg.checks[0].interval, cfg.checks[0].timeout), (60, 10_000));
        assert!(!cfg.collector.process_metrics && cfg.collector.disk_rw_check && cfg.collector.disk_health);
        let d = Config::default();
        assert_eq!(d.heartbeat.all_addrs(), ["127.0.0.1:6030"]);
        assert!(!d.ntp.enabled && d.checks.is_empty() && d.collector.process_metrics);
    }
}
