//! The updater's config file: ops-updater's keys unchanged (`debug`, `hostname`, `desiredAgent`, `server`,
//! `interval`, `http`), and ours for what it lacks. Decoded with Go's rules, missing keys take the defaults.

use falcon_proto::go_struct;
use falcon_proto::gojson::{self, Ctx};
use falcon_runtime::cli::{invalid, read_config_object, ConfigError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

go_struct! {
    /// The `http` section.
    pub struct HttpConfig => "g.HttpConfig", custom_default {
        /// Whether to listen.
        pub enabled: bool = "enabled",
        /// `host:port`.
        pub listen: String = "listen",
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { enabled: true, listen: "127.0.0.1:2001".into() }
    }
}

go_struct! {
    /// The whole file.
    pub struct Config => "g.GlobalConfig", custom_default {
        /// Debug logging.
        pub debug: bool = "debug",
        /// The host's name in heartbeats; empty: the system's.
        pub hostname: String = "hostname",
        /// Non-empty: only this agent is managed (other desired agents are ignored).
        pub desired_agent: String = "desiredAgent",
        /// The server: `host:port` (ops-updater's form, `http://<server>/heartbeat`) or a base URL.
        pub server: String = "server",
        /// Seconds between heartbeats (the first comes after a random delay within one interval).
        pub interval: i64 = "interval" as "int",
        /// Our HTTP API (`/health`, `/version`, `/status`).
        pub http: HttpConfig = "http",
        /// Ours: the directory holding the agents; empty: the updater's own directory, as ops-updater.
        pub dir: String = "dir",
        /// Ours: seconds a newly started version has to become healthy before it is rolled back.
        pub health_timeout: i64 = "healthTimeout" as "int",
        /// Ours: per agent name, a URL that must answer 200 for the agent to count as healthy (besides its
        /// `control status` saying `started`). falcon-agent without one: its `/health` on the port of its config.
        pub health: BTreeMap<String, String> = "health",
        /// Ours: largest tarball downloaded, in bytes.
        pub max_download_bytes: i64 = "maxDownloadBytes",
        /// Ours: seconds one download (or heartbeat) may take.
        pub download_timeout: i64 = "downloadTimeout" as "int",
        /// Ours: seconds one `./control` run may take.
        pub control_timeout: i64 = "controlTimeout" as "int",
        /// Ours: TLS for `https` servers and tarball URLs (`ca` turns it on).
        pub tls: falcon_runtime::tls::ClientTlsConfig = "tls",
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            debug: false,
            hostname: String::new(),
            desired_agent: String::new(),
            server: "127.0.0.1:6031".into(),
            interval: 300,
            http: HttpConfig::default(),
            dir: String::new(),
            health_timeout: 60,
            health: BTreeMap::new(),
            max_download_bytes: 512 << 20,
            download_timeout: 300,
            control_timeout: 30,
            tls: Default::default(),
        }
    }
}

impl Config {
    /// Reads, decodes and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = read_config_object(path)?;
        Self::from_bytes(&file.bytes, &path.display().to_string())
    }

    /// Decodes and validates bytes (`name` for errors).
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        gojson::decode_into(bytes, &mut cfg, Ctx::top("g.GlobalConfig"))
            .map_err(|e| ConfigError::Decode { path: name.into(), reason: e.0 })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Rejects values that cannot work, naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.server.trim().is_empty() {
            return Err(invalid("server", "empty"));
        }
        crate::fetch::parse_url(&self.heartbeat_url()).map_err(|e| invalid("server", e.to_string()))?;
        if self.interval < 1 {
            return Err(invalid("interval", "must be at least 1 second"));
        }
        if !(1..=86_400).contains(&self.health_timeout) {
            return Err(invalid("healthTimeout", "must be between 1 and 86400 seconds"));
        }
        if self.max_download_bytes < 1 << 10 {
            return Err(invalid("maxDownloadBytes", "must be at least 1024"));
        }
        if self.download_timeout < 1 || self.control_timeout < 1 {
            return Err(invalid("downloadTimeout", "downloadTimeout and controlTimeout must be at least 1 second"));
        }
        for (name, url) in &self.health {
            crate::fetch::parse_url(url).map_err(|e| invalid(&format!("health.{name}"), e.to_string()))?;
        }
        Ok(())
    }

    /// `http://<server>/heartbeat`, or `<server>/heartbeat` when the server is a URL.
    pub fn heartbeat_url(&self) -> String {
        let s = self.server.trim().trim_end_matches('/');
        if s.contains("://") {
            format!("{s}/heartbeat")
        } else {
            format!("http://{s}/heartbeat")
        }
    }

    /// The agents' directory: `dir`, or the directory of the running executable.
    pub fn agents_dir(&self) -> PathBuf {
        if !self.dir.is_empty() {
            return PathBuf::from(&self.dir);
        }
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// `interval` as a duration.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval.max(1) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_updaters_example_config_loads() {
        // cfg.example.json of ops-updater.
        let c = Config::from_bytes(
            br#"{"debug": true, "hostname": "", "desiredAgent": "", "server": "127.0.0.1:2000", "interval": 300,
                 "http": {"enabled": true, "listen": "0.0.0.0:2001"}}"#,
            "t",
        )
        .unwrap();
        assert_eq!(c.heartbeat_url(), "http://127.0.0.1:2000/heartbeat");
        assert_eq!((c.interval, c.health_timeout, c.http.listen.as_str()), (300, 60, "0.0.0.0:2001"));
        let c = Config::from_bytes(br#"{"server": "https://meta.example.com/"}"#, "t").unwrap();
        assert_eq!(c.heartbeat_url(), "https://meta.example.com/heartbeat");
        for (bad, key) in [
            (r#"{"server": ""}"#, "server"),
            (r#"{"interval": 0}"#, "interval"),
            (r#"{"health": {"a": "ftp://x"}}"#, "health.a"),
            (r#"{"interval": "5"}"#, "interval"),
        ] {
            let e = Config::from_bytes(bad.as_bytes(), "t").unwrap_err().to_string();
            assert!(e.contains(key), "{bad}: {e}");
        }
    }
}
