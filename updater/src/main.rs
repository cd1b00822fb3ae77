//! falcon-updater: `-c cfg.json` (ops-updater's keys, and ours) and `-v`.

use clap::Parser;
use falcon_runtime::cli::fail;
use falcon_updater::config::Config;
use falcon_updater::fetch::Fetcher;
use falcon_updater::heartbeat::Updater;
use falcon_updater::install::Manager;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The CA bundle of Debian and its derivatives, used for `https` when `tls.ca` is not set.
const SYSTEM_CA: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Command line, with the Go binary's single-dash flags.
#[derive(Parser, Debug)]
#[command(name = "falcon-updater", disable_version_flag = true)]
struct Args {
    /// Configuration file (ops-updater's, unchanged).
    #[arg(short = 'c', default_value = "cfg.json")]
    config: PathBuf,
    /// Print the version and exit.
    #[arg(short = 'v')]
    version: bool,
    #[command(flatten)]
    log: falcon_runtime::logging::LogArgs,
    /// Send the first heartbeat at once instead of after a random delay.
    #[arg(long = "now")]
    now: bool,
}

fn main() -> ExitCode {
    falcon_runtime::alloc::return_freed_memory();
    let args = Args::parse();
    if args.version {
        println!("{}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let cfg = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => return fail("falcon-updater", e),
    };
    if let Err(e) = falcon_runtime::logging::init(cfg.debug, &args.log) {
        return fail("falcon-updater", e);
    }
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail("falcon-updater", format_args!("cannot start the runtime: {e}")),
    };
    rt.block_on(run(cfg, args.config, args.now))
}

async fn run(cfg: Config, path: PathBuf, now: bool) -> ExitCode {
    let mut tls_cfg = cfg.tls.clone();
    if tls_cfg.ca.is_empty() && std::path::Path::new(SYSTEM_CA).is_file() {
        tls_cfg.ca = SYSTEM_CA.into();
    }
    let tls = if tls_cfg.enabled() {
        match falcon_runtime::tls::ClientTls::new(&tls_cfg) {
            Ok(t) => Some(t as Arc<dyn falcon_proto::connect::Connector>),
            Err(e) => return fail("falcon-updater", format_args!("tls: {e}")),
        }
    } else {
        None
    };
    let timeout = Duration::from_secs(cfg.download_timeout as u64);
    let downloads = Fetcher { tls: tls.clone(), max_bytes: cfg.max_download_bytes as usize, timeout };
    let heartbeats = Fetcher { tls, max_bytes: 16 << 20, timeout: timeout.min(Duration::from_secs(60)) };
    let root = cfg.agents_dir();
    let manager = Manager::new(
        root.clone(),
        downloads,
        Duration::from_secs(cfg.health_timeout as u64),
        cfg.health.clone(),
        Duration::from_secs(cfg.control_timeout as u64),
    );
    // A switch the last run died in is finished before anything else.
    manager.recover().await;
    let updater = Updater::new(cfg.clone(), manager, heartbeats);
    let (trigger, shutdown) = falcon_runtime::shutdown::channel();
    if cfg.http.enabled && !cfg.http.listen.is_empty() {
        let addr = falcon_runtime::listen::listen_addr(&cfg.http.listen);
        let listener = match tokio::net::TcpListener::bind(&addr).await {
            Ok(l) => l,
            Err(e) => return fail("falcon-updater", format_args!("http.listen {addr}: {e}")),
        };
        if let Ok(a) = listener.local_addr() {
            eprintln!("falcon-updater: listening http {a}");
        }
        let (router, sd) = (falcon_updater::http::router(updater.clone()), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = falcon_runtime::http_serve::serve(listener, router, sd).await {
                tracing::error!(error = %e, "http server failed");
            }
        });
    }
    tracing::info!(dir = %root.display(), server = %cfg.heartbeat_url(), "falcon-updater started");
    eprintln!("falcon-updater: ready");
    // The heartbeat loop, downloads and listener are built from the config at start; a reload checks the file
    // and says when a change waits for the next restart, as the transfer does.
    let running = cfg.clone();
    falcon_runtime::hangup::on_hangup(move || {
        match Config::load(&path) {
            Ok(new) if new == running => {}
            Ok(_) => {
                tracing::warn!("config reload: {} changed; the changes take effect at the next restart", path.display())
            }
            Err(e) => {
                tracing::error!(error = %e, "config reload: {} refused; the running config stays", path.display())
            }
        }
        std::future::ready(())
    });
    let beats = tokio::spawn(updater.clone().run(now, shutdown));
    falcon_runtime::shutdown::signal().await;
    tracing::info!("stopping");
    trigger.trigger();
    let _ = beats.await;
    ExitCode::SUCCESS
}
