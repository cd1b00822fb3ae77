//! The Go HBS configuration file, unchanged (`g/cfg.go`): `database` is Go's MySQL DSN or a SQLite file.

use falcon_proto::go_struct;
use falcon_proto::gojson;
use falcon_runtime::cli::read_config_object;
use std::path::Path;

pub use falcon_runtime::cli::ConfigError;

go_struct! {
    /// The `http` section.
    pub struct HttpConfig => "g.HttpConfig", custom_default {
        /// Whether to listen.
        pub enabled: bool = "enabled",
        /// `host:port`.
        pub listen: String = "listen",
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
        HttpConfig { enabled: true, listen: "0.0.0.0:6031".into(), token: String::new(), token_required: false }
    }
}

impl HttpConfig {
    /// The token settings of the state-changing routes.
    pub fn gate(&self) -> falcon_runtime::auth::Gate<'_> {
        falcon_runtime::auth::Gate { token: &self.token, required: self.token_required }
    }
}

go_struct! {
    /// The whole file (`g.GlobalConfig`), keys in Go's order.
    pub struct Config => "g.GlobalConfig", custom_default {
        /// Debug logging.
        pub debug: bool = "debug",
        /// Non-empty: heartbeats only update existing hosts (hosts are managed elsewhere).
        pub hosts: String = "hosts",
        /// Go's MySQL DSN (`user:password@tcp(host:3306)/falcon_portal?...`) or a SQLite file path; the HTTP
        /// API shows the password masked.
        #[serde(serialize_with = "crate::store::dsn::serialize_redacted")]
        pub database: String = "database",
        /// Most MySQL connections (unused with SQLite).
        pub max_conns: i64 = "maxConns" as "int",
        /// Go's idle connections (accepted; the MySQL pool closes idle connections by itself).
        pub max_idle: i64 = "maxIdle" as "int",
        /// JSON-RPC listener.
        pub listen: String = "listen",
        /// IPs agents trust for their admin routes (`Agent.TrustableIps`).
        pub trustable: Vec<String> = "trustable",
        /// HTTP API.
        pub http: HttpConfig = "http",
        /// Ours: a second JSON-RPC listener, over TLS (empty: none).
        #[serde(skip_serializing)]
        pub tls_listen: String = "tlsListen",
        /// Ours: PEM certificate chain of the TLS listener.
        #[serde(skip_serializing)]
        pub cert: String = "cert",
        /// Ours: its PEM private key.
        #[serde(skip_serializing)]
        pub key: String = "key",
        /// Ours: PEM CA that clients' certificates must chain to (mutual TLS); empty: no client certificate.
        #[serde(skip_serializing)]
        pub client_ca: String = "clientCA",
        /// Ours: the budget for bytes buffered from clients over every listener, and the bound on one request.
        #[serde(skip_serializing)]
        pub buffers: falcon_runtime::buffers::BuffersConfig = "buffers",
        /// ops-meta's: the agents updaters should run (`default` and `others` by hostname prefix).
        #[serde(skip_serializing)]
        pub agents: Vec<crate::rollout::AgentRule> = "agents" as "[]*g.InheritConfig",
        /// ops-meta's: where the tarballs served at `/tarball/` are.
        #[serde(skip_serializing)]
        pub tarball_dir: String = "tarballDir",
        /// Ours: the file of per-group agent versions (`falcon-hbs admin rollout`).
        #[serde(skip_serializing)]
        pub rollout_file: String = "rolloutFile",
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            debug: true,
            hosts: String::new(),
            database: "./falcon_portal.db".into(),
            max_conns: 20,
            max_idle: 100,
            listen: ":6030".into(),
            trustable: vec![String::new()],
            http: HttpConfig::default(),
            tls_listen: String::new(),
            cert: String::new(),
            key: String::new(),
            client_ca: String::new(),
            buffers: Default::default(),
            agents: Vec::new(),
            tarball_dir: "./tarball".into(),
            rollout_file: "./rollout.json".into(),
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
        // A list in the file replaces the default one (as a slice does in Go).
        let mut cfg = Config::default();
        gojson::decode_into(bytes, &mut cfg, gojson::Ctx::top("g.GlobalConfig"))
            .map_err(|e| ConfigError::Decode { path: name.into(), reason: e.0 })?;
        if crate::store::dsn::is_dsn(&cfg.database) {
            crate::store::dsn::parse(&cfg.database).map_err(|reason| ConfigError::Invalid {
                key: "database".into(),
                reason: format!("MySQL DSN: {reason}"),
            })?;
        }
        if cfg.database.is_empty() {
            return Err(ConfigError::Invalid { key: "database".into(), reason: "empty".into() });
        }
        if !cfg.tls_listen.is_empty() && (cfg.cert.is_empty() || cfg.key.is_empty()) {
            return Err(ConfigError::Invalid { key: "tlsListen".into(), reason: "needs cert and key".into() });
        }
        cfg.buffers.validate("buffers")?;
        if cfg.http.token_required && cfg.http.token.is_empty() {
            return Err(ConfigError::Invalid {
                key: "http.tokenRequired".into(),
                reason: "set, but http.token is empty: nobody could use the admin routes".into(),
            });
        }
        Ok(cfg)
    }

    /// The TLS listener's files, when it is configured.
    pub fn tls_files(&self) -> Option<falcon_runtime::tls::ServerFiles> {
        falcon_runtime::tls::ServerFiles::for_listener(&self.tls_listen, &self.cert, &self.key, &self.client_ca)
    }

    /// `Agent.TrustableIps`'s reply.
    pub fn trustable_joined(&self) -> String {
        self.trustable.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_shape_and_dsn_checked() {
        let c = Config::from_bytes(
            br#"{"database":"x.db","listen":"127.0.0.1:16030","trustable":["127.0.0.1"],"maxIdle":15}"#,
            "t",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(gojson::to_vec(&c).unwrap()).unwrap(),
            r#"{"debug":true,"hosts":"","database":"x.db","maxConns":20,"maxIdle":15,"listen":"127.0.0.1:16030","trustable":["127.0.0.1"],"http":{"enabled":true,"listen":"0.0.0.0:6031"}}"#
        );
        assert_eq!(Config::from_bytes(b"{}", "t").unwrap().trustable_joined(), "");
        let ok = Config::from_bytes(br#"{"database":"root:@tcp(127.0.0.1:3306)/falcon_portal?loc=Local"}"#, "t");
        assert!(ok.is_ok());
        let e = Config::from_bytes(br#"{"database":"root:@tcp(127.0.0.1:x)/falcon_portal"}"#, "t").unwrap_err();
        assert!(e.to_string().contains("config key database") && e.to_string().contains("port"), "{e}");
    }
}
