//! The whole stack on loopback for tests that look at it from outside (the Grafana dashboard, the pages):
//! falcon-hbs on a seeded SQLite database, falcon-transfer with judge and graph lanes (one graph node down),
//! falcon-agent heartbeating and sending every second with a plugin and a shell check, falcon-updater managing a
//! fake agent whose tarball server is down. Every daemon listens on 127.0.0.1 ports chosen by the system.

use crate::daemon::{workspace_bin, Daemon};
use crate::gobsink::GobSink;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// Removes the test's directory when the test ends, pass or fail.
pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    write(path, text);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// A loopback port nothing listens on (bound, then released).
fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

pub fn json_str(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// The four daemons, started in `dir`; kept running while the value lives.
pub struct Stack {
    /// falcon-hbs.
    pub hbs: Daemon,
    /// falcon-transfer.
    pub transfer: Daemon,
    /// falcon-agent, as host `grafana-agent`.
    pub agent: Daemon,
    /// falcon-updater.
    pub updater: Daemon,
    _sink: GobSink,
}

impl Stack {
    /// `(job, http address)` of each daemon, with the job names of docs/grafana/README.md.
    pub fn jobs(&self) -> Vec<(String, String)> {
        [
            ("falcon-agent", &self.agent),
            ("falcon-transfer", &self.transfer),
            ("falcon-hbs", &self.hbs),
            ("falcon-updater", &self.updater),
        ]
        .iter()
        .map(|(job, d)| (job.to_string(), d.addr("http").to_string()))
        .collect()
    }
}

impl Stack {
    /// Starts the four daemons with their files in `dir` (the binaries must be built: `cargo build --bins`).
    pub fn start(dir: &Path, rt: &tokio::runtime::Runtime) -> Stack {
        let p = |name: &str| json_str(&dir.join(name).display().to_string());

        // HBS: the agent's host in a group with one plugin directory, and an updater-managed agent whose tarball
        // server is down, so every heartbeat ends in a failed operation.
        let hbs_cfg = dir.join("hbs.json");
        write(
            &hbs_cfg,
            &format!(
                r#"{{"debug":false,"database":{db},"listen":"127.0.0.1:0","trustable":["127.0.0.1"],
                "http":{{"enabled":true,"listen":"127.0.0.1:0"}},"tarballDir":{tar},"rolloutFile":{rollout},
                "agents":[{{"default":{{"name":"fake-agent","version":"2.0.0",
                    "tarball":"http://127.0.0.1:{port}/tarball","md5":"","cmd":"start"}}}}]}}"#,
                db = p("hbs.db"),
                tar = p("tarball"),
                rollout = p("rollout.json"),
                port = dead_port(),
            ),
        );
        let doc = dir.join("portal.json");
        write(
            &doc,
            r#"{"hosts":[{"hostname":"grafana-agent"}],
            "groups":[{"name":"grafana","hosts":["grafana-agent"],"plugins":["sys/demo"]}]}"#,
        );
        let out = Command::new(workspace_bin("falcon-hbs"))
            .arg("admin")
            .arg("-c")
            .arg(&hbs_cfg)
            .arg("import")
            .arg(&doc)
            .output()
            .expect("run falcon-hbs admin (build the binaries first: cargo build --bins)");
        assert!(out.status.success(), "falcon-hbs admin import: {}", String::from_utf8_lossy(&out.stderr));
        let hbs = Daemon::start(&workspace_bin("falcon-hbs"), &["-c", &hbs_cfg.display().to_string()])
            .unwrap_or_else(|e| panic!("{e}"));

        // Transfer: judge and graph with spools; graph-01 is down, so its lane backs off and requeues.
        let sink =
            rt.block_on(GobSink::start("127.0.0.1:0", Arc::new(AtomicU64::new(0)))).expect("gob sink on 127.0.0.1");
        let s = json_str(&sink.addr);
        let dead = json_str(&format!("127.0.0.1:{}", dead_port()));
        let lane = |cluster: &str, spool: &str| {
            format!(
                r#"{{"enabled":true,"batch":200,"connTimeout":300,"callTimeout":300,"maxConns":4,"maxIdle":4,
                 "replicas":500,"cluster":{{{cluster}}},"spool":{{"dir":{spool},"maxBytes":16777216}}}}"#
            )
        };
        let transfer_cfg = dir.join("transfer.json");
        write(
            &transfer_cfg,
            &format!(
                r#"{{"debug":false,"minStep":30,
                "http":{{"enabled":true,"listen":"127.0.0.1:0"}},
                "rpc":{{"enabled":true,"listen":"127.0.0.1:0"}},
                "socket":{{"enabled":true,"listen":"127.0.0.1:0","timeout":3600}},
                "judge":{judge},"graph":{graph},"tsdb":{{"enabled":false}}}}"#,
                judge = lane(&format!(r#""judge-00":{s}"#), &p("spool/judge")),
                graph = lane(&format!(r#""graph-00":{s},"graph-01":{dead}"#), &p("spool/graph")),
            ),
        );
        let transfer = Daemon::start(&workspace_bin("falcon-transfer"), &["-c", &transfer_cfg.display().to_string()])
            .unwrap_or_else(|e| panic!("{e}"));

        // Agent: every second, to the HBS and the transfer, with the plugin HBS hands out and one shell check.
        executable(&dir.join("plugin/sys/demo/1_demo.sh"), "#!/bin/sh\necho '[]'\n");
        let agent_cfg = dir.join("agent.json");
        write(
            &agent_cfg,
            &format!(
                r#"{{"debug":false,"hostname":"grafana-agent","ip":"",
                "plugin":{{"enabled":true,"dir":{plugin},"git":{git},"logs":{logs}}},
                "heartbeat":{{"enabled":true,"addr":{hbs},"interval":1,"timeout":1000}},
                "transfer":{{"enabled":true,"addrs":[{transfer}],"interval":1,"timeout":1000}},
                "http":{{"enabled":true,"listen":"127.0.0.1:0","backdoor":false}},
                "checks":[{{"metric":"grafana.check","command":["/bin/echo","1"],"interval":1}}]}}"#,
                plugin = p("plugin"),
                git = p("no-plugin-repo"),
                logs = p("plugin-logs"),
                hbs = json_str(hbs.addr("rpc")),
                transfer = json_str(transfer.addr("rpc")),
            ),
        );
        let agent = Daemon::start(&workspace_bin("falcon-agent"), &["-c", &agent_cfg.display().to_string()])
            .unwrap_or_else(|e| panic!("{e}"));

        // Updater: one managed agent at 1.0.0 whose control script says started; the HBS wants 2.0.0.
        let managed = dir.join("updater/fake-agent");
        write(&managed.join(".version"), "1.0.0");
        executable(&managed.join("1.0.0/control"), "#!/bin/sh\necho started\n");
        let updater_cfg = dir.join("updater.json");
        write(
            &updater_cfg,
            &format!(
                r#"{{"debug":false,"hostname":"grafana-agent","server":{server},"interval":1,"dir":{dir},
                "http":{{"enabled":true,"listen":"127.0.0.1:0"}}}}"#,
                server = json_str(hbs.addr("http")),
                dir = p("updater"),
            ),
        );
        let updater =
            Daemon::start(&workspace_bin("falcon-updater"), &["-c", &updater_cfg.display().to_string(), "--now"])
                .unwrap_or_else(|e| panic!("{e}"));
        Stack { hbs, transfer, agent, updater, _sink: sink }
    }
}
