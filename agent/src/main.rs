//! falcon-agent: for now the command line only (`-c cfg.json`, `-v`); the service itself is issue 4.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Command line, with the Go binary's single-dash flags.
#[derive(Parser, Debug)]
#[command(name = "falcon-agent", disable_version_flag = true)]
struct Args {
    /// Configuration file (the Go config, unchanged).
    #[arg(short = 'c', default_value = "cfg.json")]
    config: PathBuf,
    /// Print the version and exit.
    #[arg(short = 'v')]
    version: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.version {
        println!("{}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    match falcon_proto::cli::read_config_object(&args.config) {
        Ok(cfg) => {
            eprintln!(
                "falcon-agent: {} read ({} keys); the agent service is not in this build yet (issue 4)",
                args.config.display(),
                cfg.object.len()
            );
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("falcon-agent: {e}");
            ExitCode::from(1)
        }
    }
}
