//! The heartbeat loop: report the agents, get what the server wants, carry it out, one operation at a time.

use crate::agents;
use crate::config::Config;
use crate::fetch::Fetcher;
use crate::install::{Manager, Outcome};
use crate::model::{HeartbeatRequest, HeartbeatResponse, RealAgent};
use falcon_runtime::shutdown::Shutdown;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What `/status` shows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    /// The host's name in heartbeats.
    pub hostname: String,
    /// Where heartbeats go.
    pub server: String,
    /// Unix seconds of the last heartbeat answered.
    #[serde(rename = "lastHeartbeat")]
    pub last_heartbeat: i64,
    /// The last heartbeat's error, if it failed.
    #[serde(rename = "lastError")]
    pub last_error: Option<String>,
    /// The agents as last reported.
    pub agents: Vec<RealAgent>,
    /// The last outcome per agent (`running 5.1.0`, a rollback, a refused tarball).
    pub outcomes: std::collections::BTreeMap<String, String>,
}

/// The updater: its config, the manager of its agents, its status.
pub struct Updater {
    /// The config.
    pub cfg: Config,
    /// Carries out desired agents.
    pub manager: Manager,
    /// Heartbeat client.
    pub client: Fetcher,
    /// For `/status`.
    pub status: Mutex<Status>,
    /// Serialises operations (a heartbeat and its actions).
    busy: tokio::sync::Mutex<()>,
    /// Heartbeats by outcome (`ok`, `error`) and operations by agent and outcome, for `/metrics`.
    pub counts: Counts,
    /// `/metrics`, built at the first scrape.
    pub metrics: std::sync::OnceLock<falcon_runtime::metrics::Metrics>,
}

/// What `/metrics` counts.
#[derive(Debug, Default)]
pub struct Counts {
    /// Subject `heartbeat`, outcome `ok` or `error`.
    pub heartbeats: falcon_runtime::outcomes::Outcomes,
    /// Subject the agent's name, outcome `running`, `rolled_back`, `stopped`, `skipped` or `failed`.
    pub operations: falcon_runtime::outcomes::Outcomes,
}

fn now() -> i64 {
    falcon_runtime::timefmt::now_unix()
}

/// The host's name: the configured one, else the system's.
pub fn hostname(cfg: &Config) -> String {
    if !cfg.hostname.is_empty() {
        return cfg.hostname.clone();
    }
    nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default()
}

impl Updater {
    /// An updater for `cfg` (its manager and clients built by the caller).
    pub fn new(cfg: Config, manager: Manager, client: Fetcher) -> Arc<Self> {
        let status = Status { hostname: hostname(&cfg), server: cfg.heartbeat_url(), ..Status::default() };
        Arc::new(Updater {
            cfg,
            manager,
            client,
            status: Mutex::new(status),
            busy: tokio::sync::Mutex::new(()),
            counts: Counts::default(),
            metrics: std::sync::OnceLock::new(),
        })
    }

    /// The request for this heartbeat: every agent, with the last rollback or failure appended to its status.
    pub async fn request(&self) -> HeartbeatRequest {
        let mut agents = agents::scan(&self.manager.root, self.manager.control_timeout, now()).await;
        for a in &mut agents {
            if let Some(note) = self.manager.note(&a.name) {
                a.status = format!("{}; {note}", a.status);
            }
        }
        HeartbeatRequest { hostname: hostname(&self.cfg), real_agents: Some(agents) }
    }

    /// One heartbeat and what it asks for.
    pub async fn beat(&self) -> Result<(), String> {
        let _one_at_a_time = self.busy.lock().await;
        let req = self.request().await;
        if let Ok(mut s) = self.status.lock() {
            s.agents = req.real_agents.clone().unwrap_or_default();
        }
        let body = falcon_proto::gojson::to_vec(&req).map_err(|e| e.to_string())?;
        let url = self.cfg.heartbeat_url();
        let answer = self.client.post_json(&url, body).await.map_err(|e| e.to_string())?;
        let resp: HeartbeatResponse =
            falcon_proto::gojson::from_slice(&answer).map_err(|e| format!("decode heartbeat response: {}", e.0))?;
        if let Ok(mut s) = self.status.lock() {
            s.last_heartbeat = now();
        }
        if !resp.error_message.is_empty() {
            return Err(format!("server: {}", resp.error_message));
        }
        for d in resp.desired_agents.unwrap_or_default() {
            if !self.cfg.desired_agent.is_empty() && self.cfg.desired_agent != d.name {
                continue;
            }
            let outcome = self.manager.apply(&d).await;
            let counted = match &outcome {
                Outcome::Unchanged => None,
                Outcome::Running { .. } => Some("running"),
                Outcome::RolledBack { .. } => Some("rolled_back"),
                Outcome::Stopped => Some("stopped"),
                Outcome::Skipped(_) => Some("skipped"),
                Outcome::Failed(_) => Some("failed"),
            };
            if let Some(c) = counted {
                self.counts.operations.add(&d.name, c);
            }
            let text = match &outcome {
                Outcome::Unchanged => None,
                Outcome::Running { version } => Some(format!("running {version}")),
                Outcome::RolledBack { failed, running, reason } => {
                    Some(format!("rolled back from {failed} to {}: {reason}", running.as_deref().unwrap_or("nothing")))
                }
                Outcome::Stopped => Some("stopped".to_string()),
                Outcome::Skipped(why) => Some(format!("skipped: {why}")),
                Outcome::Failed(why) => Some(format!("failed: {why}")),
            };
            if let Some(t) = text {
                tracing::info!(agent = %d.name, version = %d.version, cmd = %d.cmd, "{t}");
                if let Ok(mut s) = self.status.lock() {
                    s.outcomes.insert(d.name.clone(), t);
                }
            }
        }
        Ok(())
    }

    /// Heartbeats every interval until `shutdown`, the first after a random delay within one interval (so
    /// thousands of updaters started together do not arrive together), or at once with `immediate`.
    pub async fn run(self: Arc<Self>, immediate: bool, mut shutdown: Shutdown) {
        let interval = self.cfg.interval();
        let first = if immediate { Duration::ZERO } else { random_within(interval) };
        tokio::select! {
            _ = tokio::time::sleep(first) => {}
            _ = shutdown.wait() => return,
        }
        loop {
            let r = tokio::select! {
                r = self.beat() => r,
                _ = shutdown.wait() => return,
            };
            if let Err(e) = &r {
                tracing::warn!(error = %e, "heartbeat failed");
            }
            self.counts.heartbeats.add("heartbeat", if r.is_ok() { "ok" } else { "error" });
            if let Ok(mut s) = self.status.lock() {
                s.last_error = r.err();
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.wait() => return,
            }
        }
    }
}

/// A delay in `[0, d)` from the clock's nanoseconds and the process id.
fn random_within(d: Duration) -> Duration {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|t| t.subsec_nanos()).unwrap_or(0);
    let seed = u64::from(nanos) ^ (u64::from(std::process::id()) << 20);
    let ms = d.as_millis().max(1) as u64;
    Duration::from_millis(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) % ms)
}
