//! Log output: to stderr (the journal under systemd) or to a size-rotated file (`--log-file`, as `./control`
//! runs the daemons), as text or as one JSON object per line (`--log-format json`), at `debug` or `info` from
//! the config (or `RUST_LOG`). Colours only when stderr is a terminal: in a file or the journal, ANSI escapes are
//! noise that every reader has to strip.

use crate::logfile::LogFile;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// How log lines are written.
#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// `2026-11-27T18:00:00.000000Z  INFO target: message key=value`.
    #[default]
    Text,
    /// `{"timestamp":"...","level":"INFO","fields":{"message":"...",...},"target":"..."}`, one per line.
    Json,
}

/// The log options every binary takes on its command line.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct LogArgs {
    /// Log line format.
    #[arg(long = "log-format", value_enum, default_value_t = LogFormat::Text)]
    pub format: LogFormat,
    /// Write the log (and everything else on stderr) to this file instead, rotated by size and reopened on
    /// SIGHUP.
    #[arg(long = "log-file", value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Rotate the log file once it passes this many bytes (0: never).
    #[arg(long = "log-max-bytes", value_name = "BYTES", default_value_t = default_max_bytes())]
    pub max_bytes: u64,
    /// Rotated files kept: <file>.1 (newest) to <file>.N.
    #[arg(long = "log-keep", value_name = "N", default_value_t = default_keep())]
    pub keep: u32,
}

fn default_max_bytes() -> u64 {
    64 << 20
}

fn default_keep() -> u32 {
    3
}

/// What is logged: `RUST_LOG` when it parses (`info`, `warn,falcon_transfer=debug`: a level and target=level
/// directives), else the config's `debug` flag. An unparsable `RUST_LOG` is said on stderr, not ignored silently.
pub fn filter(debug: bool, rust_log: Option<&str>) -> tracing_subscriber::filter::Targets {
    let fallback = || level(debug).parse().unwrap_or_default();
    match rust_log.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => v.parse().unwrap_or_else(|e| {
            eprintln!("RUST_LOG={v:?} not understood ({e}); logging at {}", level(debug));
            fallback()
        }),
        None => fallback(),
    }
}

/// The filter directive for a config's `debug` flag.
pub fn level(debug: bool) -> &'static str {
    if debug {
        "debug"
    } else {
        "info"
    }
}

static FILE: OnceLock<Arc<LogFile>> = OnceLock::new();

/// The log file in use, if `--log-file` was given.
pub fn file() -> Option<&'static Arc<LogFile>> {
    FILE.get()
}

/// Reopens the log file (after SIGHUP: an outside rotation moved it); nothing without `--log-file`.
pub fn reopen() {
    if let Some(f) = FILE.get() {
        if let Err(e) = f.reopen() {
            tracing::error!(path = %f.path().display(), error = %e, "log file not reopened; writing on to the old one");
        }
    }
}

/// Installs the subscriber; `RUST_LOG` overrides the level. An unusable `--log-file` is an error (the caller
/// reports it and exits: a daemon that cannot log where it was told should not run silently).
pub fn init(debug: bool, args: &LogArgs) -> std::io::Result<()> {
    if let Some(path) = &args.file {
        let f = LogFile::open(path, args.max_bytes, args.keep)
            .map_err(|e| std::io::Error::new(e.kind(), format!("log file {}: {e}", path.display())))?;
        let _ = FILE.set(Arc::new(f));
    }
    let filter = filter(debug, std::env::var("RUST_LOG").ok().as_deref());
    let ansi = FILE.get().is_none() && std::io::stderr().is_terminal();
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let builder = tracing_subscriber::fmt().with_writer(Sink).with_ansi(ansi);
    // A second init (tests calling main paths twice) keeps the first subscriber.
    let _ = match args.format {
        LogFormat::Text => builder.finish().with(filter).try_init(),
        LogFormat::Json => builder.json().finish().with(filter).try_init(),
    };
    Ok(())
}

/// Writes to stderr and tells the log file how much, so it can rotate.
struct Sink;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Sink {
    type Writer = SinkWriter;
    fn make_writer(&'a self) -> SinkWriter {
        SinkWriter
    }
}

struct SinkWriter;

impl std::io::Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = std::io::stderr().write(buf)?;
        if let Some(f) = FILE.get() {
            f.wrote(n);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn rust_log_or_the_config_level() {
        use tracing::Level;
        let f = filter(false, None);
        assert!(f.would_enable("falcon_agent::cycle", &Level::INFO) && !f.would_enable("x", &Level::DEBUG));
        let f = filter(true, Some(" "));
        assert!(f.would_enable("x", &Level::DEBUG));
        let f = filter(false, Some("warn,falcon_transfer=debug"));
        assert!(f.would_enable("falcon_transfer::lane", &Level::DEBUG) && !f.would_enable("hyper", &Level::INFO));
        let f = filter(false, Some("=[bad"));
        assert!(f.would_enable("x", &Level::INFO) && !f.would_enable("x", &Level::DEBUG), "bad RUST_LOG: the config");
    }

    #[test]
    fn levels() {
        assert_eq!(level(true), "debug");
        assert_eq!(level(false), "info");
    }

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        log: LogArgs,
    }

    #[test]
    fn command_line() {
        let c = Cli::parse_from(["x"]);
        assert_eq!((c.log.format, c.log.file, c.log.max_bytes, c.log.keep), (LogFormat::Text, None, 64 << 20, 3));
        let c = Cli::parse_from(["x", "--log-format", "json", "--log-file", "a.log", "--log-max-bytes", "10"]);
        assert_eq!(c.log.format, LogFormat::Json);
        assert_eq!(c.log.file.as_deref(), Some(std::path::Path::new("a.log")));
        assert_eq!(c.log.max_bytes, 10);
        assert!(Cli::try_parse_from(["x", "--log-format", "xml"]).is_err());
    }
}
