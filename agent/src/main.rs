//! falcon-agent: `-c cfg.json` (the Go config, unchanged), `-v`, `-check`.

use clap::Parser;
use falcon_agent::app::Agent;
use falcon_agent::config::Config;
use falcon_runtime::cli::fail;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Command line, with the Go binary's single-dash flags.
#[derive(Parser, Debug)]
#[command(name = "falcon-agent", disable_version_flag = true)]
struct Args {
    /// Configuration file (the Go agent's, unchanged).
    #[arg(short = 'c', default_value = "cfg.json")]
    config: PathBuf,
    /// Print the version and exit.
    #[arg(short = 'v')]
    version: bool,
    #[command(flatten)]
    log: falcon_runtime::logging::LogArgs,
    /// Run every collector once and print `name ... ok|fail`.
    #[arg(long = "check", alias = "c-heck")]
    check: bool,
}

fn args() -> Args {
    // Go's flag package takes `-check` with one dash; clap wants two for a long flag.
    let argv = std::env::args().map(|a| if a == "-check" { "--check".to_string() } else { a });
    Args::parse_from(argv)
}

fn main() -> ExitCode {
    falcon_runtime::alloc::return_freed_memory();
    let args = args();
    if args.version {
        println!("{}", falcon_agent::identity::VERSION);
        return ExitCode::SUCCESS;
    }
    let cfg = if args.check && !args.config.exists() {
        Config::default()
    } else {
        match Config::load(&args.config) {
            Ok(c) => c,
            Err(e) => return fail("falcon-agent", e),
        }
    };
    if let Err(e) = falcon_runtime::logging::init(cfg.debug, &args.log) {
        return fail("falcon-agent", e);
    }
    // One thread does the work; collectors that may block (statfs, /proc scans) go to a few blocking threads.
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().max_blocking_threads(4).build() {
        Ok(rt) => rt,
        Err(e) => return fail("falcon-agent", format_args!("cannot start the runtime: {e}")),
    };
    rt.block_on(run(cfg, args))
}

async fn run(cfg: Config, args: Args) -> ExitCode {
    let (trigger, shutdown) = falcon_runtime::shutdown::channel();
    let agent = match Agent::new(cfg, Some(args.config.clone()), trigger) {
        Ok(a) => a,
        Err(e) => return fail("falcon-agent", format_args!("transfer.spool: {e}")),
    };
    if args.check {
        return if falcon_agent::check::run(&agent).await { ExitCode::SUCCESS } else { ExitCode::from(1) };
    }
    let reloading = agent.clone();
    falcon_runtime::hangup::on_hangup(move || {
        if let Err(e) = reloading.reload() {
            tracing::error!(error = %e, "config reload failed; the running config stays");
        }
        std::future::ready(())
    });
    let running = match falcon_agent::start(agent.clone(), shutdown.clone()).await {
        Ok(r) => r,
        Err(e) => return fail("falcon-agent", e),
    };
    // Stable lines tests and scripts read to find the port.
    if let Some(a) = running.http {
        eprintln!("falcon-agent: listening http {a}");
    }
    eprintln!("falcon-agent: ready");
    tracing::info!(version = falcon_agent::identity::VERSION, endpoint = ?agent.endpoint(), "falcon-agent started");
    let mut stop = shutdown.clone();
    tokio::select! {
        _ = falcon_runtime::shutdown::signal() => {}
        _ = stop.wait() => {}
    }
    tracing::info!("stopping");
    agent.exit.trigger();
    agent.plugins.clear();
    running.finish(Duration::from_secs(5)).await;
    ExitCode::SUCCESS
}
