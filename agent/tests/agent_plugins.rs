//! Plugins end to end: a local git repository cloned by `/plugin/update`, scheduled from HBS's list, its
//! output forwarded; a hanging plugin killed on time.

mod common;

use common::*;
use falcon_tests::http;
use falcon_tests::util::git;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ")
}

#[test]
fn plugin_update_schedule_output_and_kill() {
    let rt = runtime();
    let calls: Calls = Default::default();
    let transfer = fake_transfer(&rt, "127.0.0.1:0", calls.clone());
    let dir = temp_dir("plugins");
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    script(
        &repo.join("sys/demo/1_demo.sh"),
        "#!/bin/sh\necho 'to stderr' >&2\nnow=$(date +%s)\necho \"[{\\\"endpoint\\\":\\\"agent-it\\\",\\\"metric\\\":\\\"plugin.demo.value\\\",\\\"value\\\":42,\\\"step\\\":1,\\\"counterType\\\":\\\"GAUGE\\\",\\\"tags\\\":\\\"src=plugin\\\",\\\"timestamp\\\":$now}]\"\n",
    );
    let pidfile = dir.join("hang.pid");
    script(&repo.join("sys/hang/1_hang.sh"), &format!("#!/bin/sh\necho $$ > {}\nsleep 60\n", pidfile.display()));
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "plugins"]);
    let state = Arc::new(Mutex::new(HbsState {
        plugins: vec!["sys/demo".into(), "sys/hang/1_hang.sh(a,b\\,c)".into()],
        ..Default::default()
    }));
    let (hbs, _s) = fake_hbs(&rt, state.clone());
    let plugin_dir = dir.join("run/plugin");
    let plugin = format!(
        r#"{{"enabled":true,"dir":"{}","git":"{}","logs":"{}"}}"#,
        plugin_dir.display(),
        repo.display(),
        dir.join("logs").display()
    );
    let agent = start_agent(&dir, &config(&hbs, &[&transfer.addr], &plugin, ""));
    let h = agent.addr("http").to_string();
    assert_eq!(http::get(&h, "/plugins").body, r#"{"msg":"success","data":{}}"#);
    let r = http::get(&h, "/plugin/update");
    assert_eq!(r.body, "success", "{}", agent.log());
    assert!(plugin_dir.join("sys/demo/1_demo.sh").exists());
    wait_for("the plugin metric", 20, || {
        transfer.items().iter().any(|m| m.metric == "plugin.demo.value" && m.tags == "src=plugin")
    });
    let listed = http::get(&h, "/plugins").body;
    assert!(listed.contains(r#""sys/demo/1_demo.sh":{"FilePath":"sys/demo/1_demo.sh","MTime":"#), "{listed}");
    assert!(listed.contains(r#""sys/hang/1_hang.sh(a,b\\,c)":{"FilePath":"sys/hang/1_hang.sh","#), "{listed}");
    assert_eq!(std::fs::read_to_string(dir.join("logs/sys/demo/1_demo.sh().stderr.log")).unwrap(), "to stderr\n");
    // The hanging plugin: started, then killed 500 ms into its 1 s cycle.
    wait_for("the hanging plugin to start", 10, || pidfile.exists());
    let t = Instant::now();
    let pid: i32 = loop {
        if let Ok(Ok(p)) = std::fs::read_to_string(&pidfile).map(|s| s.trim().parse()) {
            break p;
        }
        assert!(t.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(20));
    };
    wait_for("the hanging plugin to be killed", 3, || !alive(pid));
    // PluginVersion is the checkout's HEAD once it exists.
    let head =
        String::from_utf8(Command::new("git").args(["rev-parse", "HEAD"]).current_dir(&repo).output().unwrap().stdout)
            .unwrap();
    wait_for("ReportStatus with the plugin version", 10, || {
        state.lock().unwrap().reports.iter().any(|r| r.plugin_version == head.trim())
    });
    // A second update pulls; reset works; HBS dropping every plugin stops them.
    assert_eq!(http::get(&h, "/plugin/update").body, "success");
    assert_eq!(http::get(&h, "/plugin/reset").body, "success");
    state.lock().unwrap().plugins.clear();
    wait_for("plugins cleared", 10, || http::get(&h, "/plugins").body == r#"{"msg":"success","data":{}}"#);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn plugin_update_failures_are_clear_replies() {
    let rt = runtime();
    let transfer = fake_transfer(&rt, "127.0.0.1:0", Default::default());
    let dir = temp_dir("plugin-fail");
    let state = Arc::new(Mutex::new(HbsState::default()));
    let (hbs, _s) = fake_hbs(&rt, state);
    let plugin = format!(
        r#"{{"enabled":true,"dir":"{}","git":"{}","logs":"{}"}}"#,
        dir.join("run/plugin").display(),
        dir.join("no-such-repo").display(),
        dir.join("logs").display()
    );
    let agent = start_agent(&dir, &config(&hbs, &[&transfer.addr], &plugin, ""));
    let r = http::get(agent.addr("http"), "/plugin/update");
    assert!(r.body.starts_with(&format!("git clone in dir:{} fail. error: ", dir.join("run").display())), "{}", r.body);
    assert_eq!(http::get(agent.addr("http"), "/plugin/reset").body, "success", "no checkout: nothing to reset");
    std::fs::remove_dir_all(&dir).ok();
}
