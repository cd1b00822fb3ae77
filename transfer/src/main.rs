//! falcon-transfer: `-c cfg.json` (the Go config, unchanged) and `-v`.

use clap::Parser;

// Items are allocated on one worker thread and freed on another once delivered; glibc's malloc is slow at
// exactly that (see docs/benchmarks.md for the measurement behind this choice).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use falcon_runtime::cli::fail;
use falcon_transfer::app::App;
use falcon_transfer::config::Config;
use falcon_transfer::shards::Shards;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Command line, with the Go binary's single-dash flags.
#[derive(Parser, Debug)]
#[command(name = "falcon-transfer", disable_version_flag = true)]
struct Args {
    /// Configuration file (the Go transfer's, unchanged).
    #[arg(short = 'c', default_value = "cfg.json")]
    config: PathBuf,
    /// Print the version and exit.
    #[arg(short = 'v')]
    version: bool,
    #[command(flatten)]
    log: falcon_runtime::logging::LogArgs,
}

fn main() -> ExitCode {
    falcon_transfer::alloc::configure();
    let args = Args::parse();
    if args.version {
        println!("{}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let cfg = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => return fail("falcon-transfer", e),
    };
    if let Err(e) = falcon_runtime::logging::init(cfg.debug, &args.log) {
        return fail("falcon-transfer", e);
    }
    let workers = cfg.effective_workers();
    // Accepting, HTTP and signals run here; connections and send loops on the shards.
    let control = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let shards = Shards::start(workers);
    let (control, shards) = match (control, shards) {
        (Ok(c), Ok(s)) => (c, Arc::new(s)),
        (Err(e), _) | (_, Err(e)) => return fail("falcon-transfer", format_args!("cannot start the runtime: {e}")),
    };
    // Connections are read on the shards and HTTP bodies here: each thread hands its freed pages back.
    for i in 0..shards.len() {
        shards.get(i).spawn(falcon_transfer::alloc::collect_loop());
    }
    control.spawn(falcon_transfer::alloc::collect_loop());
    let code = control.block_on(run(cfg, args.config, shards.clone()));
    if let Ok(s) = Arc::try_unwrap(shards) {
        s.stop();
    }
    code
}

async fn run(cfg: Config, path: PathBuf, shards: Arc<Shards>) -> ExitCode {
    let app = match App::new(cfg, Some(path)) {
        Ok(a) => a,
        Err(e) => return fail("falcon-transfer", e),
    };
    let reloading = app.clone();
    falcon_runtime::hangup::on_hangup(move || {
        let _ = reloading.reload_config();
        std::future::ready(())
    });
    let running = match falcon_transfer::start(app, shards).await {
        Ok(r) => r,
        Err(e) => return fail("falcon-transfer", e),
    };
    // Stable lines tests and scripts read to find the ports.
    for (what, addr) in
        [("rpc", running.rpc), ("rpc-tls", running.rpc_tls), ("http", running.http), ("socket", running.socket)]
    {
        if let Some(a) = addr {
            eprintln!("falcon-transfer: listening {what} {a}");
        }
    }
    eprintln!("falcon-transfer: ready");
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "falcon-transfer started");
    falcon_runtime::shutdown::signal().await;
    tracing::info!("stopping: no longer accepting, draining queues");
    let left = running.shutdown().await;
    tracing::info!(undelivered = left, "stopped");
    ExitCode::SUCCESS
}
