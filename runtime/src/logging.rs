//! Log output to stderr: `debug` or `info` (or `RUST_LOG`), with colours only when stderr is a terminal. A
//! daemon's stderr is a log file (`./control` sends it to `var/log/<module>.log`), where ANSI escapes are noise
//! that every reader has to strip.

use std::io::IsTerminal;

/// The filter directive for a config's `debug` flag.
pub fn level(debug: bool) -> &'static str {
    if debug {
        "debug"
    } else {
        "info"
    }
}

/// Installs the subscriber; `RUST_LOG` overrides the level.
pub fn init(debug: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level(debug).into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(level(true), "debug");
        assert_eq!(level(false), "info");
    }
}
