//! What the three binaries share on their command line: Go's `-c <file>` (default `cfg.json`) and `-v`, and
//! reading the config file with a clear error naming it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// Missing or unreadable.
    #[error("config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a JSON object.
    #[error("config file {path}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with Go's wording where there is one.
        reason: String,
    },
}

/// Why a configuration cannot be used (every binary's config loader returns this).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Unreadable or not JSON.
    #[error(transparent)]
    File(#[from] ConfigFileError),
    /// A key of the wrong type (Go's decoder text names it).
    #[error("config file {path}: {reason}")]
    Decode {
        /// The file.
        path: String,
        /// Go-style reason.
        reason: String,
    },
    /// A value that cannot work.
    #[error("config key {key}: {reason}")]
    Invalid {
        /// Dotted key, e.g. `judge.batch`.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

/// A value that cannot work, naming its key.
pub fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.to_string(), reason: reason.into() }
}

/// A config file's bytes, and the object they hold (for checking which sections are present).
#[derive(Debug, Clone)]
pub struct ConfigObject {
    /// The file as read.
    pub bytes: Vec<u8>,
    /// Its top-level object.
    pub object: serde_json::Map<String, serde_json::Value>,
}

/// Reads `path` and checks it is one JSON object, as Go's `json.Unmarshal` into a config struct requires.
pub fn read_config_object(path: &Path) -> Result<ConfigObject, ConfigFileError> {
    let text = std::fs::read(path).map_err(|source| ConfigFileError::Read { path: path.to_path_buf(), source })?;
    parse_config_object(path, text)
}

/// Checks that `text`, the bytes of the config file `path` (named in errors), is one JSON object: the part of
/// [`read_config_object`] after the read, for callers that have the bytes (tests, the fuzz targets).
pub fn parse_config_object(path: &Path, text: Vec<u8>) -> Result<ConfigObject, ConfigFileError> {
    let value: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| ConfigFileError::Parse { path: path.to_path_buf(), reason: e.to_string() })?;
    match value {
        serde_json::Value::Object(object) => Ok(ConfigObject { bytes: text, object }),
        other => Err(ConfigFileError::Parse {
            path: path.to_path_buf(),
            reason: format!("json: cannot unmarshal {} into Go value of type g.GlobalConfig", json_kind(&other)),
        }),
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// How every binary refuses to start: `<binary>: <why>` on stderr and exit status 1.
pub fn fail(binary: &str, why: impl std::fmt::Display) -> ExitCode {
    eprintln!("{binary}: {why}");
    ExitCode::from(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("falcon-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.json");
        assert!(read_config_object(&missing).unwrap_err().to_string().contains("missing.json"));
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "{\"a\":").unwrap();
        assert!(read_config_object(&bad)
            .unwrap_err()
            .to_string()
            .starts_with(&format!("config file {}", bad.display())));
        let arr = dir.join("arr.json");
        std::fs::write(&arr, "[1]").unwrap();
        assert!(read_config_object(&arr).unwrap_err().to_string().contains("cannot unmarshal array"));
        let ok = dir.join("ok.json");
        std::fs::write(&ok, "{\"debug\":true}").unwrap();
        assert_eq!(read_config_object(&ok).unwrap().object.len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
