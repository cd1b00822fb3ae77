//! Our agent against our HBS: checks added with `falcon-hbs admin` reach the agent within a heartbeat and
//! show up as `net.port.listen` items at the transfer.

use falcon_tests::daemon::{workspace_bin, Daemon};
use falcon_tests::fake::{Calls, FakeTransfer};
use falcon_tests::http;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn wait_for(what: &str, secs: u64, ok: impl FnMut() -> bool) {
    falcon_tests::util::wait_for(what, Duration::from_secs(secs), ok)
}

fn admin(cfg: &Path, args: &[&str]) -> String {
    let out = Command::new(workspace_bin("falcon-hbs"))
        .args(["admin", "-c", cfg.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "admin {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn admin_checks_reach_the_agent() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let transfer = FakeTransfer::start(&rt, "127.0.0.1:0", Calls::default());

    let dir = std::env::temp_dir().join(format!("falcon-e2e-agent-hbs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let hbs_cfg = dir.join("hbs.json");
    std::fs::write(
        &hbs_cfg,
        format!(
            r#"{{"debug":false,"database":"{}","listen":"127.0.0.1:0","trustable":["127.0.0.1"],"http":{{"enabled":true,"listen":"127.0.0.1:0"}}}}"#,
            dir.join("hbs.db").display()
        ),
    )
    .unwrap();
    let hbs = Daemon::start(&workspace_bin("falcon-hbs"), &["-c", hbs_cfg.to_str().unwrap()]).unwrap();
    let agent_cfg = dir.join("agent.json");
    std::fs::write(
        &agent_cfg,
        format!(
            r#"{{"debug":false,"hostname":"e2e-host",
            "heartbeat":{{"enabled":true,"addr":"{}","interval":1,"timeout":1000}},
            "transfer":{{"enabled":true,"addrs":["{}"],"interval":1,"timeout":1000}},
            "http":{{"enabled":true,"listen":"127.0.0.1:0"}}}}"#,
            hbs.addr("rpc"),
            transfer.addr
        ),
    )
    .unwrap();
    let _agent = Daemon::start(&workspace_bin("falcon-agent"), &["-c", agent_cfg.to_str().unwrap()]).unwrap();
    wait_for("the agent's first heartbeat", 10, || http::get(hbs.addr("http"), "/agents").body.contains("e2e-host"));
    // Host rows are written by HBS's once-a-second flush.
    wait_for("the host row", 10, || admin(&hbs_cfg, &["host", "list"]).contains("e2e-host"));

    let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listening.local_addr().unwrap().port();
    admin(&hbs_cfg, &["group", "add", "web"]);
    admin(&hbs_cfg, &["group", "add-host", "web", "e2e-host"]);
    admin(&hbs_cfg, &["template", "add", "base"]);
    admin(&hbs_cfg, &["group", "bind", "web", "base"]);
    admin(&hbs_cfg, &["strategy", "add", "base", "net.port.listen", "--tags", &format!("port={port}")]);
    let tags = format!("port={port}");
    let seen = |tags: &str, v: f64| {
        transfer.items().iter().any(|m| m.metric == "net.port.listen" && m.tags == tags && m.value.as_f64() == Some(v))
    };
    wait_for("net.port.listen from the admin check", 15, || seen(&tags, 1.0));
    // A second check changes the checksum; the agent picks up the new set.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    admin(&hbs_cfg, &["strategy", "add", "base", "net.port.listen", "--tags", &format!("port={free}")]);
    wait_for("the second check", 15, || seen(&format!("port={free}"), 0.0));
    assert!(transfer.items().iter().all(|m| m.endpoint == "e2e-host"));
    drop(listening);
    std::fs::remove_dir_all(&dir).ok();
}
