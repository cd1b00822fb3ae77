//! The whole stack through `./control` on free loopback ports with a 1 s interval, feeding standard-library Go
//! gob sinks as one judge and two graph nodes: builtin metrics on the right shards, a port check added with the
//! HBS admin command, a plugin installed with `/plugin/update`, and `./control status|stop` telling the truth.

use falcon_proto::ring::HashRing;
use falcon_proto::tags::{parse_tags, pk};
use falcon_tests::daemon::workspace_bin;
use falcon_tests::go::GoProcess;
use falcon_tests::http;
use falcon_tests::util::git;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

struct Stack {
    root: PathBuf,
    var: PathBuf,
}

impl Stack {
    fn control(&self, args: &[&str]) -> Output {
        let bins = workspace_bin("falcon-agent").parent().unwrap().to_path_buf();
        Command::new(self.root.join("control"))
            .args(args)
            .env("FALCON_VAR", &self.var)
            .env("FALCON_BIN_DIR", bins)
            .current_dir("/")
            .output()
            .unwrap()
    }

    fn text(&self, args: &[&str]) -> (bool, String) {
        let o = self.control(args);
        (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
    }

    fn admin(&self, args: &[&str]) {
        let out = Command::new(workspace_bin("falcon-hbs"))
            .args(["admin", "-c", self.var.join("conf/hbs.json").to_str().unwrap()])
            .args(args)
            .current_dir(&self.var)
            .output()
            .unwrap();
        assert!(out.status.success(), "admin {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn archive(&self) -> Vec<Value> {
        std::fs::read_to_string(self.var.join("archive/archive.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn pids(&self) -> Vec<i32> {
        ["hbs", "transfer", "agent"]
            .iter()
            .filter_map(|m| std::fs::read_to_string(self.var.join(format!("run/{m}.pid"))).ok())
            .filter_map(|p| p.trim().parse().ok())
            .collect()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for(what: &str, secs: u64, ok: impl FnMut() -> bool) {
    falcon_tests::util::wait_for(what, Duration::from_secs(secs), ok)
}

fn sink() -> (GoProcess, String) {
    let mut p = GoProcess::start(&["gob-sink"]);
    let a = p.listen_addr();
    (p, a)
}

fn drain(mut p: GoProcess, service: &str) -> Vec<Value> {
    p.sink_items(service).iter().map(|j| serde_json::from_str(j).unwrap()).collect()
}

fn alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ")
}

fn item_pk(v: &Value) -> String {
    let tags: Vec<String> = v["tags"]
        .as_object()
        .map(|m| m.iter().map(|(k, x)| format!("{k}={}", x.as_str().unwrap())).collect())
        .unwrap_or_default();
    pk(v["endpoint"].as_str().unwrap(), v["metric"].as_str().unwrap(), &parse_tags(&tags.join(",")))
}

#[test]
fn whole_stack_through_control() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let var = std::env::temp_dir().join(format!("falcon-e2e-control-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&var);
    std::fs::create_dir_all(var.join("conf")).unwrap();
    let s = Stack { root, var: var.clone() };

    let (judge, judge_addr) = sink();
    let (g0, g0_addr) = sink();
    let (g1, g1_addr) = sink();
    let (hbs_rpc, hbs_http, tr_rpc, tr_http, tr_sock, agent_http) =
        (free_port(), free_port(), free_port(), free_port(), free_port(), free_port());
    // A local plugin repository.
    let repo = var.join("plugin-src");
    let script = repo.join("sys/e2e/1_e2e.sh");
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    std::fs::write(&script, "#!/bin/sh\nh=$(cat /proc/sys/kernel/hostname)\nnow=$(date +%s)\necho \"[{\\\"endpoint\\\":\\\"$h\\\",\\\"metric\\\":\\\"e2e.plugin.value\\\",\\\"value\\\":7,\\\"step\\\":60,\\\"counterType\\\":\\\"GAUGE\\\",\\\"tags\\\":\\\"\\\",\\\"timestamp\\\":$now}]\"\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "e2e"]);

    let conf = |name: &str, text: String| std::fs::write(var.join("conf").join(name), text).unwrap();
    conf(
        "hbs.json",
        format!(
            r#"{{"debug":false,"database":"./hbs.db","listen":"127.0.0.1:{hbs_rpc}","trustable":["127.0.0.1"],"http":{{"enabled":true,"listen":"127.0.0.1:{hbs_http}"}}}}"#
        ),
    );
    conf(
        "transfer.json",
        format!(
            r#"{{"debug":false,"minStep":1,"http":{{"enabled":true,"listen":"127.0.0.1:{tr_http}"}},"rpc":{{"enabled":true,"listen":"127.0.0.1:{tr_rpc}"}},
        "socket":{{"enabled":true,"listen":"127.0.0.1:{tr_sock}","timeout":3600}},
        "judge":{{"enabled":true,"batch":200,"connTimeout":1000,"callTimeout":5000,"maxConns":4,"maxIdle":4,"replicas":500,"cluster":{{"judge-00":"{judge_addr}"}}}},
        "graph":{{"enabled":true,"batch":200,"connTimeout":1000,"callTimeout":5000,"maxConns":4,"maxIdle":4,"replicas":500,"cluster":{{"graph-00":"{g0_addr}","graph-01":"{g1_addr}"}}}},
        "tsdb":{{"enabled":false}},"archive":{{"enabled":true,"dir":"./archive","maxBytes":67108864,"maxFiles":2}}}}"#
        ),
    );
    conf(
        "agent.json",
        format!(
            r#"{{"debug":false,"hostname":"","plugin":{{"enabled":true,"dir":"./plugin","git":"{}","logs":"./log/plugin"}},
        "heartbeat":{{"enabled":true,"addr":"127.0.0.1:{hbs_rpc}","interval":1,"timeout":1000}},
        "transfer":{{"enabled":true,"addrs":["127.0.0.1:{tr_rpc}"],"interval":1,"timeout":1000,"spool":"./spool"}},
        "http":{{"enabled":true,"listen":"127.0.0.1:{agent_http}"}}}}"#,
            repo.display()
        ),
    );

    let (_, st) = s.text(&["status"]);
    assert_eq!(st.matches(" stopped").count(), 3, "{st}");
    let (ok, out) = s.text(&["start"]);
    assert!(ok, "{out}");
    let (_, st) = s.text(&["status"]);
    assert_eq!(st.matches(" running ").count(), 3, "{st}");
    assert!(st.contains(&format!("127.0.0.1:{hbs_rpc}")) && st.contains(&format!("127.0.0.1:{tr_rpc}")), "{st}");
    assert!(st.contains(&format!("127.0.0.1:{agent_http}")), "{st}");
    let (ok, out) = s.text(&["start", "agent"]);
    assert!(!ok && out.contains("already running"), "{out}");

    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    wait_for("builtin metrics in the archive", 20, || {
        s.archive().iter().any(|v| v["metric"] == "agent.alive" && v["endpoint"] == host.as_str())
    });

    // A port check through the HBS admin command (the host was seeded into group "default").
    let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listening.local_addr().unwrap().port();
    s.admin(&["template", "add", "e2e"]);
    s.admin(&["group", "bind", "default", "e2e"]);
    s.admin(&["strategy", "add", "e2e", "net.port.listen", "--tags", &format!("port={port}")]);
    let tags = format!("port={port}");
    wait_for("net.port.listen from the admin check", 20, || {
        s.archive().iter().any(|v| v["metric"] == "net.port.listen" && v["tags"] == tags.as_str() && v["value"] == 1.0)
    });

    // A plugin from the local repository, installed with /plugin/update.
    s.admin(&["plugin", "default", "sys/e2e"]);
    let r = http::get(&format!("127.0.0.1:{agent_http}"), "/plugin/update");
    assert_eq!(r.body, "success");
    wait_for("the plugin's metric", 20, || s.archive().iter().any(|v| v["metric"] == "e2e.plugin.value"));

    // Stop: every process gone, status says so.
    let pids = s.pids();
    assert_eq!(pids.len(), 3);
    let (ok, out) = s.text(&["stop"]);
    assert!(ok, "{out}");
    for p in &pids {
        assert!(!alive(*p), "pid {p} still running after stop");
    }
    let (_, st) = s.text(&["status"]);
    assert_eq!(st.matches(" stopped").count(), 3, "{st}");

    // The sinks: judge got the checks and the builtin metrics; each graph item sits on its ring node.
    let judge_items = drain(judge, "Judge");
    assert!(judge_items.iter().any(|v| v["metric"] == "net.port.listen" && v["value"] == 1.0));
    assert!(judge_items.iter().any(|v| v["metric"] == "e2e.plugin.value"));
    let ring = HashRing::new(["graph-00".to_string(), "graph-01".to_string()], 500).unwrap();
    let mut total = 0;
    for (node, p) in [("graph-00", g0), ("graph-01", g1)] {
        let items = drain(p, "Graph");
        total += items.len();
        for v in &items {
            assert_eq!(ring.get(&item_pk(v)), node, "{v}");
        }
    }
    assert!(total > 50, "graph items: {total}");

    // A module that dies at once is reported with its log.
    std::fs::write(var.join("conf/transfer.json"), r#"{"rpc":{"enabled":true,"listen":""}}"#).unwrap();
    let (ok, out) = s.text(&["start", "transfer"]);
    assert!(!ok && out.contains("failed to start") && out.contains("rpc.listen"), "{out}");
    let (_, st) = s.text(&["status", "transfer"]);
    assert!(st.contains("stopped"), "{st}");
    drop(listening);
    std::fs::remove_dir_all(&var).ok();
}

#[test]
fn stop_escalates_to_sigkill_and_status_follows() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let var = std::env::temp_dir().join(format!("falcon-e2e-control-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&var);
    std::fs::create_dir_all(var.join("run")).unwrap();
    // A process named falcon-agent that ignores SIGTERM.
    let mut child = Command::new("bash").args(["-c", "trap '' TERM; exec -a falcon-agent sleep 60"]).spawn().unwrap();
    let pid = child.id() as i32;
    std::fs::write(var.join("run/agent.pid"), pid.to_string()).unwrap();
    let s = Stack { root, var: var.clone() };
    wait_for("the stand-in to exec", 5, || {
        std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default().starts_with("falcon-agent")
    });
    let (_, st) = s.text(&["status", "agent"]);
    assert!(st.contains("running") && st.contains(&pid.to_string()), "{st}");
    let o = Command::new(s.root.join("control"))
        .args(["stop", "agent"])
        .env("FALCON_VAR", &var)
        .env("FALCON_STOP_TIMEOUT", "1")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("sending SIGKILL") && out.contains("agent: stopped"), "{out}");
    let _ = child.wait();
    assert!(!var.join("run/agent.pid").exists());
    let (_, st) = s.text(&["status", "agent"]);
    assert!(st.contains("stopped"), "{st}");
    // A stale pid file (a pid that is not ours) reads as stopped and is cleaned up.
    std::fs::write(var.join("run/hbs.pid"), std::process::id().to_string()).unwrap();
    let (_, st) = s.text(&["status", "hbs"]);
    assert!(st.contains("stopped"), "{st}");
    assert!(!var.join("run/hbs.pid").exists());
    std::fs::remove_dir_all(&var).ok();
}
