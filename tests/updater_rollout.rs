//! Agent rollouts end to end on loopback: our HBS serves an `agents` section (ops-meta's format) and tarballs made
//! by `./control pack agent`; falcon-updater manages falcon-agent. It installs 1.0.0, moves to 2.0.0 when the
//! server says so, tries a 3.0.0 whose agent never becomes healthy and rolls back to 2.0.0, reporting it; a
//! tarball with a wrong checksum and one with an escaping path are refused and nothing changes; a version set for
//! an HBS group reaches only that group's hosts.

use falcon_tests::daemon::{workspace_bin, Daemon};
use falcon_tests::http;
use falcon_tests::util::wait_for;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?}: {text}");
    text
}

/// `./control pack agent` as `version`, into `dir`.
fn pack(dir: &Path, version: &str) -> PathBuf {
    let bins = workspace_bin("falcon-agent").parent().unwrap().to_path_buf();
    run(Command::new(repo_root().join("control"))
        .args(["pack", "agent"])
        .env("FALCON_BIN_DIR", bins)
        .env("FALCON_PACK_VERSION", version)
        .env("FALCON_PACK_OUT", dir));
    dir.join(format!("falcon-agent-{version}.tar.gz"))
}

/// Unpacks `from`, lets `change` alter the tree, packs it again as `to` (entries as `tar` args).
fn repack(from: &Path, to: &Path, change: impl FnOnce(&Path), entries: &[&str], extra: &[&str]) {
    let stage = to.with_extension("stage");
    let _ = std::fs::remove_dir_all(&stage);
    std::fs::create_dir_all(&stage).unwrap();
    run(Command::new("tar").arg("-xzf").arg(from).arg("-C").arg(&stage));
    change(&stage);
    run(Command::new("tar").args(extra).arg("-C").arg(&stage).arg("-czf").arg(to).args(entries));
    std::fs::remove_dir_all(&stage).unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn json(addr: &str, path: &str) -> Value {
    serde_json::from_str(&http::get(addr, path).body).unwrap_or(Value::Null)
}

/// Stops whatever agent version runs under the updater's directory when the test ends, pass or fail.
struct StopAgents(PathBuf);

impl Drop for StopAgents {
    fn drop(&mut self) {
        for e in std::fs::read_dir(&self.0).into_iter().flatten().flatten() {
            if e.path().join("control").is_file() {
                let _ = Command::new("./control").arg("stop").current_dir(e.path()).output();
            }
        }
    }
}

fn hbs_config(dir: &Path, agents: &str) -> String {
    format!(
        r#"{{"debug":false,"database":"{db}","listen":"127.0.0.1:0","trustable":["127.0.0.1"],
            "http":{{"enabled":true,"listen":"127.0.0.1:0"}},
            "tarballDir":"{tar}","rolloutFile":"{rollout}","agents":{agents}}}"#,
        db = dir.join("hbs.db").display(),
        tar = dir.join("tarball").display(),
        rollout = dir.join("rollout.json").display(),
    )
}

#[test]
fn the_updater_installs_upgrades_rolls_back_refuses_bad_tarballs_and_follows_its_group() {
    let tmp = std::env::temp_dir().join(format!("falcon-rollout-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let tarballs = tmp.join("tarball");
    std::fs::create_dir_all(&tarballs).unwrap();

    // 1.0.0 and 2.0.0: the same binaries packed twice. 3.0.0: an agent that says ready and never answers.
    let v1 = pack(&tarballs, "1.0.0");
    pack(&tarballs, "2.0.0");
    let entries = ["control", "MODULE", "VERSION", "bin", "config"];
    repack(
        &v1,
        &tarballs.join("falcon-agent-3.0.0.tar.gz"),
        |stage| {
            let bin = stage.join("bin/falcon-agent");
            // One process named falcon-agent (so `./control stop` finds and stops it) that never listens.
            std::fs::write(&bin, "#!/bin/bash\necho 'falcon-agent: ready' >&2\nexec -a falcon-agent sleep 600\n")
                .unwrap();
        },
        &entries,
        &[],
    );
    // 4.0.0: a good tarball under a wrong published checksum.
    std::fs::copy(&v1, tarballs.join("falcon-agent-4.0.0.tar.gz")).unwrap();
    std::fs::write(
        tarballs.join("falcon-agent-4.0.0.tar.gz.md5"),
        "0123456789abcdef0123456789abcdef  falcon-agent-4.0.0.tar.gz\n",
    )
    .unwrap();
    // 5.0.0: a tarball with an entry climbing out of its directory.
    repack(
        &v1,
        &tarballs.join("falcon-agent-5.0.0.tar.gz"),
        |stage| std::fs::write(stage.join("escape"), "x").unwrap(),
        &["control", "MODULE", "VERSION", "bin", "config", "escape"],
        &["-P", "--transform", "s,^escape$,../../escape,"],
    );

    // The HBS, then its agents section once its HTTP port (the tarball URL) is known.
    let hbs_cfg = tmp.join("hbs.json");
    std::fs::write(&hbs_cfg, hbs_config(&tmp, "[]")).unwrap();
    let admin = |args: &[&str]| {
        run(Command::new(workspace_bin("falcon-hbs")).args(["admin", "-c", hbs_cfg.to_str().unwrap()]).args(args))
    };
    admin(&["host", "add", "up-1"]);
    admin(&["host", "add", "web-9"]);
    admin(&["group", "add", "canary"]);
    admin(&["group", "add-host", "canary", "up-1"]);
    let hbs = Daemon::start(&workspace_bin("falcon-hbs"), &["-c", hbs_cfg.to_str().unwrap()]).unwrap();
    let h = hbs.addr("http").to_string();
    let set_version = |v: &str| {
        let agents = format!(
            r#"[{{"default":{{"name":"falcon-agent","version":"{v}","tarball":"http://{h}/tarball","md5":"","cmd":"start"}}}}]"#
        );
        std::fs::write(&hbs_cfg, hbs_config(&tmp, &agents)).unwrap();
        let r = http::get(&h, "/config/reload");
        assert!(r.body.contains("success"), "{}", r.body);
    };
    set_version("1.0.0");

    // The agent's config, in the var/ its versions share, and the updater.
    let up = tmp.join("up");
    let _stop = StopAgents(up.join("falcon-agent"));
    let agent_port = free_port();
    std::fs::create_dir_all(up.join("falcon-agent/var/conf")).unwrap();
    std::fs::write(
        up.join("falcon-agent/var/conf/agent.json"),
        format!(
            r#"{{"debug":false,"hostname":"up-1","heartbeat":{{"enabled":true,"addr":"{}","interval":1,"timeout":1000}},
                "transfer":{{"enabled":false,"addrs":[],"interval":60,"timeout":1000}},"plugin":{{"enabled":false}},
                "http":{{"enabled":true,"listen":"127.0.0.1:{agent_port}"}}}}"#,
            hbs.addr("rpc")
        ),
    )
    .unwrap();
    let up_cfg = tmp.join("updater.json");
    std::fs::write(
        &up_cfg,
        format!(
            // No `health`: falcon-agent's /health is found from the config its versions share.
            r#"{{"debug":true,"hostname":"up-1","server":"{h}","interval":1,"dir":"{}","healthTimeout":6,
                "http":{{"enabled":true,"listen":"127.0.0.1:0"}}}}"#,
            up.display()
        ),
    )
    .unwrap();
    let updater = Daemon::start(&workspace_bin("falcon-updater"), &["-c", up_cfg.to_str().unwrap(), "--now"]).unwrap();
    let u = updater.addr("http").to_string();
    assert_eq!(http::get(&u, "/health").body, "ok");
    assert_eq!(http::get(&u, "/version").body, env!("CARGO_PKG_VERSION"));
    let version = || std::fs::read_to_string(up.join("falcon-agent/.version")).unwrap_or_default();
    let healthy =
        || http::request(&format!("127.0.0.1:{agent_port}"), "GET", "/health", None, "").is_ok_and(|r| r.status == 200);
    let outcome = || json(&u, "/status")["data"]["outcomes"]["falcon-agent"].as_str().unwrap_or("").to_string();
    let long = Duration::from_secs(90);

    // Installed and running, and the HBS knows.
    wait_for("1.0.0 installed and healthy", long, || version() == "1.0.0" && healthy());
    wait_for("the HBS sees 1.0.0 started", long, || {
        json(&h, "/rollout")["data"]["agents"]["falcon-agent"]["1.0.0"]["up-1"].as_str() == Some("started")
    });

    // Upgrade.
    set_version("2.0.0");
    wait_for("2.0.0 running", long, || version() == "2.0.0" && healthy() && outcome() == "running 2.0.0");
    assert!(up.join("falcon-agent/1.0.0/control").is_file(), "the previous version is kept");

    // A version that never becomes healthy is rolled back, reported, and not tried again.
    set_version("3.0.0");
    wait_for("3.0.0 rolled back", long, || outcome().starts_with("rolled back from 3.0.0 to 2.0.0"));
    assert_eq!(version(), "2.0.0");
    wait_for("2.0.0 healthy again", long, healthy);
    wait_for("the rollback reported to the HBS", long, || {
        json(&h, "/rollout")["data"]["failures"]["up-1/falcon-agent"]
            .as_str()
            .is_some_and(|s| s.contains("rollback: 3.0.0 failed"))
    });
    wait_for("3.0.0 not retried", long, || outcome().starts_with("skipped: 3.0.0 failed before"));

    // A wrong checksum and an escaping entry: refused, nothing changes.
    set_version("4.0.0");
    wait_for("4.0.0 refused", long, || outcome().contains("md5 mismatch"));
    set_version("5.0.0");
    wait_for("5.0.0 refused", long, || outcome().contains("refused entry"));
    wait_for("the refusal reported to the HBS", long, || {
        json(&h, "/rollout")["data"]["failures"]["up-1/falcon-agent"]
            .as_str()
            .is_some_and(|s| s.contains("5.0.0 not installed"))
    });
    assert_eq!(version(), "2.0.0");
    assert!(healthy());
    for v in ["4.0.0", "5.0.0"] {
        assert!(!up.join("falcon-agent").join(v).exists(), "{v} left a directory");
    }
    assert!(!tmp.join("escape").exists() && !up.join("escape").exists());

    // A version for the canary group reaches its host only.
    set_version("2.0.0");
    admin(&["rollout", "set", "falcon-agent", "1.0.0", "--group", "canary"]);
    let desired = |host: &str| {
        let body = format!(r#"{{"hostname":"{host}","realAgents":[]}}"#);
        let r = http::post_json(&h, "/heartbeat", &body);
        let v: Value = serde_json::from_str(&r.body).unwrap();
        v["desiredAgents"][0]["version"].as_str().unwrap_or("").to_string()
    };
    wait_for("the canary group's version served", long, || desired("up-1") == "1.0.0");
    assert_eq!(desired("web-9"), "2.0.0");
    wait_for("the canary host moved to 1.0.0", long, || version() == "1.0.0" && healthy());
    // The admin command line shows it (the server hears of the switch at the next heartbeat).
    wait_for("the rollout status shows the canary host on 1.0.0", long, || {
        let status: Value = serde_json::from_str(&admin(&["rollout", "status", "--server", &h])).unwrap();
        status["agents"]["falcon-agent"]["1.0.0"]["up-1"] == "started" && status["groups"][0]["group"] == "canary"
    });
    // The admin API clears it again: the group follows the agents section.
    let r = http::post_json(&h, "/admin/rollout", r#"{"agent":"falcon-agent","group":"canary","version":""}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for("the canary group back on the default", long, || desired("up-1") == "2.0.0");

    // Its /metrics says what happened: the rollback and the refusals, answered heartbeats, the running version.
    let text = falcon_tests::promtool::scrape(&u);
    let sample = |series: &str| -> f64 {
        falcon_tests::promtool::sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"))
    };
    assert_eq!(sample(r#"falcon_updater_operations_total{agent="falcon-agent",outcome="rolled_back"}"#), 1.0);
    assert!(sample(r#"falcon_updater_operations_total{agent="falcon-agent",outcome="failed"}"#) >= 2.0);
    assert!(sample(r#"falcon_updater_operations_total{agent="falcon-agent",outcome="running"}"#) >= 3.0);
    assert!(sample(r#"falcon_updater_heartbeats_total{outcome="ok"}"#) >= 5.0);
    assert!(sample("falcon_updater_last_heartbeat_timestamp_seconds") > 1.7e9);
    assert!(text.contains(r#"falcon_updater_agent_running{agent="falcon-agent",version="#), "{text}");
    drop(updater);
    drop(_stop);
    let _ = std::fs::remove_dir_all(&tmp);
}
