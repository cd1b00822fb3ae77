//! falcon-hbs: `-c cfg.json` (the Go config, with `database` a SQLite file), `-v`, and `admin ...`.

use clap::{Parser, Subcommand};
use falcon_hbs::admin::{Document, ExpressionDoc, Op, StrategyDoc};
use falcon_hbs::config::Config;
use falcon_hbs::state::Hbs;
use falcon_hbs::store::Store;
use falcon_runtime::cli::fail;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Command line, with the Go binary's single-dash flags.
#[derive(Parser, Debug)]
#[command(name = "falcon-hbs", disable_version_flag = true)]
struct Args {
    /// Configuration file (the Go HBS's, with `database` naming a SQLite file).
    #[arg(short = 'c', default_value = "cfg.json", global = true)]
    config: PathBuf,
    /// Print the version and exit.
    #[arg(short = 'v')]
    version: bool,
    #[command(flatten)]
    log: falcon_runtime::logging::LogArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Change or show the configuration in the database (works while the server runs; it reloads within 1 s).
    Admin {
        #[command(subcommand)]
        what: Admin,
    },
}

#[derive(Subcommand, Debug)]
enum Admin {
    /// Print the whole configuration as JSON.
    Export,
    /// Replace the configuration with a JSON document (hosts are kept).
    Import { file: PathBuf },
    /// Hosts.
    Host {
        #[command(subcommand)]
        what: HostCmd,
    },
    /// Groups.
    Group {
        #[command(subcommand)]
        what: GroupCmd,
    },
    /// Templates.
    Template {
        #[command(subcommand)]
        what: TemplateCmd,
    },
    /// Strategies.
    Strategy {
        #[command(subcommand)]
        what: StrategyCmd,
    },
    /// Add an expression (`each(metric=<m> <k>=<v>)`).
    Expression {
        expression: String,
        #[arg(long, default_value = "all(#1)")]
        func: String,
        #[arg(long, default_value = "==")]
        op: String,
        #[arg(long, default_value = "0")]
        right: String,
        #[arg(long, default_value_t = 1)]
        max_step: i64,
        #[arg(long, default_value_t = 0)]
        priority: i64,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long, default_value_t = 0)]
        action: i64,
    },
    /// Add a plugin dir or file to a group.
    Plugin { group: String, dir: String },
    /// Agent versions per group, for updaters (kept in the config's `rolloutFile`).
    Rollout {
        #[command(subcommand)]
        what: RolloutCmd,
    },
}

#[derive(Subcommand, Debug)]
enum RolloutCmd {
    /// The hosts of GROUP run VERSION of AGENT (the latest set wins for a host in several groups).
    Set {
        agent: String,
        version: String,
        #[arg(long)]
        group: String,
    },
    /// GROUP follows the `agents` section again.
    Clear {
        agent: String,
        #[arg(long)]
        group: String,
    },
    /// Print the group versions.
    Show,
    /// Ask the running server what its updaters report: hosts per agent version with their status, failures.
    Status {
        /// The server's HTTP address (default: the config's `http.listen`, a wildcard asked on loopback).
        #[arg(long)]
        server: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum HostCmd {
    /// Add a host.
    Add { hostname: String },
    /// List hosts.
    List,
    /// Set a maintenance window (unix seconds; 0 0 clears it).
    Maintain { hostname: String, begin: i64, end: i64 },
}

#[derive(Subcommand, Debug)]
enum GroupCmd {
    /// Add a group.
    Add { name: String },
    /// List groups with their hosts, templates and plugins.
    List,
    /// Put a host in a group.
    AddHost { group: String, hostname: String },
    /// Take a host out of a group.
    RemoveHost { group: String, hostname: String },
    /// Bind a template to a group.
    Bind { group: String, template: String },
}

#[derive(Subcommand, Debug)]
enum TemplateCmd {
    /// Add a template.
    Add {
        name: String,
        #[arg(long, default_value = "")]
        parent: String,
        #[arg(long, default_value_t = 0)]
        action: i64,
    },
    /// Set (or clear with "") a template's parent.
    Parent { name: String, parent: String },
    /// List templates with their strategies.
    List,
}

// Parsed once per run: the size of a variant does not matter here.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum StrategyCmd {
    /// Add a strategy to a template.
    Add {
        template: String,
        metric: String,
        #[arg(long, default_value = "")]
        tags: String,
        #[arg(long, default_value = "all(#1)")]
        func: String,
        #[arg(long, default_value = "==")]
        op: String,
        #[arg(long, default_value = "0")]
        right: String,
        #[arg(long, default_value_t = 1)]
        max_step: i64,
        #[arg(long, default_value_t = 0)]
        priority: i64,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long, default_value = "")]
        run_begin: String,
        #[arg(long, default_value = "")]
        run_end: String,
    },
    /// Delete a strategy by id.
    Delete { id: i64 },
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
        Err(e) => return fail("falcon-hbs", e),
    };
    let db = match falcon_hbs::store::open(&cfg.database, cfg.max_conns) {
        Ok(d) => d,
        Err(e) => return fail("falcon-hbs", format_args!("config key database: {e}")),
    };
    if let Some(Command::Admin { what }) = args.command {
        return admin(&cfg, db.as_ref(), what);
    }
    if let Err(e) = falcon_runtime::logging::init(cfg.debug, &args.log) {
        return fail("falcon-hbs", e);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail("falcon-hbs", format_args!("cannot start the runtime: {e}")),
    };
    rt.block_on(serve(cfg, args.config, db))
}

async fn serve(cfg: Config, path: PathBuf, db: Arc<dyn Store>) -> ExitCode {
    // The first load blocks on the database (a MySQL store runs its own client runtime).
    let hbs = match tokio::task::spawn_blocking(move || Hbs::new(cfg, Some(path), db)).await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return fail("falcon-hbs", e),
        Err(e) => return fail("falcon-hbs", e),
    };
    // SIGHUP: the config file (and TLS certificates), then the portal database's snapshot.
    let reloading = hbs.clone();
    falcon_runtime::hangup::on_hangup(move || {
        let h = reloading.clone();
        async move {
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(e) = h.reload_config() {
                    tracing::error!(error = %e, "config reload failed; the running config stays");
                }
                let _ = h.reload(); // logs its own failure; the last good snapshot stays
            })
            .await;
        }
    });
    let (trigger, shutdown) = falcon_runtime::shutdown::channel();
    let running = match falcon_hbs::start(hbs.clone(), shutdown).await {
        Ok(r) => r,
        Err(e) => return fail("falcon-hbs", e),
    };
    eprintln!("falcon-hbs: listening rpc {}", running.rpc);
    if let Some(h) = running.http {
        eprintln!("falcon-hbs: listening http {h}");
    }
    if let Some(t) = running.rpc_tls {
        eprintln!("falcon-hbs: listening rpc-tls {t}");
    }
    eprintln!("falcon-hbs: ready");
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "falcon-hbs started");
    falcon_runtime::shutdown::signal().await;
    trigger.trigger();
    // Host rows still queued are written before exit, within a bound (the database may be the reason they wait).
    let h = hbs.clone();
    let drain = move || -> Result<(), falcon_hbs::store::DbError> {
        while !h.host_writes.is_empty() {
            h.flush_hosts()?;
        }
        Ok(())
    };
    let flushed = tokio::time::timeout(Duration::from_secs(5), tokio::task::spawn_blocking(drain)).await;
    if !matches!(flushed, Ok(Ok(Ok(_)))) || !hbs.host_writes.is_empty() {
        tracing::warn!(left = hbs.host_writes.len(), "host rows not written at shutdown");
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

fn print_json<T: serde::Serialize>(v: &T) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("falcon-hbs: {e}"),
    }
}

/// Prints what an admin command did, or why it failed (exit status 1).
fn outcome<E: std::fmt::Display>(r: Result<String, E>) -> ExitCode {
    match r {
        Ok(msg) => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => fail("falcon-hbs", e),
    }
}

/// The rollout file is not in the database: the command edits it, the server re-reads it when it changes.
fn rollout(cfg: &Config, what: RolloutCmd) -> ExitCode {
    let path = std::path::Path::new(&cfg.rollout_file);
    let r = match what {
        RolloutCmd::Set { agent, version, group } => {
            falcon_hbs::rollout::set_group_version(path, &agent, &group, &version)
        }
        RolloutCmd::Clear { agent, group } => falcon_hbs::rollout::set_group_version(path, &agent, &group, ""),
        RolloutCmd::Show => falcon_hbs::rollout::RolloutFile::read(path)
            .map(|f| serde_json::to_string_pretty(&f.groups).unwrap_or_default()),
        RolloutCmd::Status { server } => rollout_status(server.as_deref().unwrap_or(&cfg.http.listen)),
    };
    outcome(r)
}

/// `GET /rollout` from the server listening on `listen` (a wildcard address is asked on loopback).
fn rollout_status(listen: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let addr = falcon_runtime::listen::listen_addr(listen);
    let addr = match addr.rsplit_once(':') {
        Some(("" | "0.0.0.0" | "[::]", port)) => format!("127.0.0.1:{port}"),
        _ => addr,
    };
    let mut s = std::net::TcpStream::connect(&addr).map_err(|e| format!("{addr}: {e} (is the server running?)"))?;
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    s.write_all(b"GET /rollout HTTP/1.0\r\nHost: hbs\r\n\r\n").map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.take(64 << 20).read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("{addr}: not a /rollout answer: {e}"))?;
    serde_json::to_string_pretty(&v["data"]).map_err(|e| e.to_string())
}

fn admin(cfg: &Config, db: &dyn Store, what: Admin) -> ExitCode {
    let op = match what {
        Admin::Rollout { what } => return rollout(cfg, what),
        Admin::Export => return export(db, print_json),
        Admin::Host { what: HostCmd::List } => return export(db, |d| print_json(&d.hosts)),
        Admin::Group { what: GroupCmd::List } => return export(db, |d| print_json(&d.groups)),
        Admin::Template { what: TemplateCmd::List } => return export(db, |d| print_json(&d.templates)),
        Admin::Import { file } => {
            let text = match std::fs::read(&file) {
                Ok(t) => t,
                Err(e) => return fail("falcon-hbs", format_args!("{}: {e}", file.display())),
            };
            match serde_json::from_slice::<Document>(&text) {
                Ok(document) => Op::Import { document },
                Err(e) => return fail("falcon-hbs", format_args!("{}: {e}", file.display())),
            }
        }
        Admin::Host { what: HostCmd::Add { hostname } } => Op::AddHost { hostname },
        Admin::Host { what: HostCmd::Maintain { hostname, begin, end } } => Op::Maintain { hostname, begin, end },
        Admin::Group { what: GroupCmd::Add { name } } => Op::AddGroup { name },
        Admin::Group { what: GroupCmd::AddHost { group, hostname } } => Op::GroupAddHost { group, hostname },
        Admin::Group { what: GroupCmd::RemoveHost { group, hostname } } => Op::GroupRemoveHost { group, hostname },
        Admin::Group { what: GroupCmd::Bind { group, template } } => Op::Bind { group, template },
        Admin::Template { what: TemplateCmd::Add { name, parent, action } } => {
            Op::AddTemplate { name, parent, action_id: action }
        }
        Admin::Template { what: TemplateCmd::Parent { name, parent } } => Op::SetParent { name, parent },
        Admin::Strategy {
            what:
                StrategyCmd::Add { template, metric, tags, func, op, right, max_step, priority, note, run_begin, run_end },
        } => Op::AddStrategy {
            template,
            strategy: StrategyDoc {
                metric,
                tags,
                func,
                op,
                right_value: right,
                max_step,
                priority,
                note,
                run_begin,
                run_end,
            },
        },
        Admin::Strategy { what: StrategyCmd::Delete { id } } => Op::DeleteStrategy { id },
        Admin::Expression { expression, func, op, right, max_step, priority, note, action } => Op::AddExpression {
            expression: ExpressionDoc {
                expression,
                func,
                op,
                right_value: right,
                max_step,
                priority,
                note,
                action_id: action,
                pause: false,
            },
        },
        Admin::Plugin { group, dir } => Op::AddPlugin { group, dir },
    };
    outcome(db.apply(&op))
}

fn export(db: &dyn Store, show: impl FnOnce(&Document)) -> ExitCode {
    match db.export() {
        Ok(d) => {
            show(&d);
            ExitCode::SUCCESS
        }
        Err(e) => fail("falcon-hbs", e),
    }
}
