//! What our agent adds over Go's, end to end on loopback with 1 s intervals: `process.*` for processes the test
//! starts, the SNTP check against a loopback server (with a dead one first), shell checks (including one that
//! hangs), `sys.disk.rw`, SMART and RAID through stand-in tools on PATH that print the fixtures, and the heartbeat failing over from a dead first HBS address.

mod common;

use common::*;
use falcon_proto::model::{BuiltinMetric, MetricValue};
use falcon_tests::http;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

fn find<'a>(items: &'a [MetricValue], metric: &str, tags: &str) -> Option<&'a MetricValue> {
    items.iter().rev().find(|m| m.metric == metric && m.tags == tags)
}

fn value(items: &[MetricValue], metric: &str, tags: &str) -> f64 {
    find(items, metric, tags).and_then(|m| m.value.as_f64()).unwrap_or_else(|| panic!("no {metric} {tags}"))
}

/// A dead address: a port that was just free.
fn dead_addr() -> String {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string()
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn process_metrics_ntp_shell_checks_disk_rw_and_hbs_failover() {
    let rt = runtime();
    let transfer = fake_transfer(&rt, "127.0.0.1:0", Default::default());
    let state = Arc::new(Mutex::new(HbsState::default()));
    let (hbs, _hbs_stop) = fake_hbs(&rt, state.clone());
    let dir = temp_dir("extras");
    // Two processes for the selectors: `sleep` with an argument no other process has.
    let marker = format!("{}", 3000 + std::process::id() % 1000);
    let sleepers: Vec<Killed> =
        (0..2).map(|_| Killed(Command::new("sleep").arg(&marker).stdout(Stdio::null()).spawn().unwrap())).collect();
    state.lock().unwrap().checks = vec![
        BuiltinMetric { metric: "proc.num".into(), tags: format!("cmdline=sleep{marker}") },
        BuiltinMetric { metric: "proc.num".into(), tags: "name=no-such-process-xyz".into() },
    ];
    let sntp = falcon_tests::sntp::start(3600.0);
    let lines = script(&dir, "lines.sh", "#!/bin/sh\necho 3\necho \"7 file=b.log,level=warn\"\necho oops\n");
    let hang = script(&dir, "hang.sh", "#!/bin/sh\nsleep 60 &\nsleep 60\n");
    let extra = format!(
        r#","ntp":{{"enabled":true,"servers":["{dead}","{sntp}"],"timeout":300}},
        "checks":[{{"metric":"app.log.errors","command":["{lines}"],"tags":{{"file":"a.log"}},"interval":1,"timeout":2000}},
                  {{"metric":"app.hang","command":["{hang}"],"interval":1,"timeout":300}}]"#,
        dead = "127.0.0.1:9",
    );
    let cfg = config(&hbs, &[&transfer.addr], r#"{"enabled":false}"#, &extra)
        .replace(&format!(r#""addr":"{hbs}""#), &format!(r#""addr":"","addrs":["{}","{hbs}"]"#, dead_addr()));
    // SMART and RAID tools on PATH that print the fixtures (the agent finds tools in PATH first).
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fx = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let fx = |f: &str| fx.join(f).display().to_string();
    script(
        &bin,
        "smartctl",
        &format!(
            "#!/bin/sh\ncase \"$*\" in *--scan-open*) cat {};; *) cat {};; esac\n",
            fx("smart/scan_open.json"),
            fx("smart/ata.json")
        ),
    );
    script(
        &bin,
        "storcli64",
        &format!(
            "#!/bin/sh\ncase \"$1\" in /call/vall) cat {};; *) cat {};; esac\n",
            fx("lsiraid/storcli_vd.json"),
            fx("lsiraid/storcli_pd.json")
        ),
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    std::env::set_var("PATH", path);
    let agent = start_agent(&dir, &cfg);
    let http_addr = agent.addr("http").to_string();
    let sel = format!("cmdline=sleep{marker}");

    wait_for("process.cpu.percent, NTP and shell check items", 30, || {
        let items = transfer.items();
        find(&items, "process.cpu.percent", &sel).is_some()
            && find(&items, "sys.ntp.offset", &format!("server={sntp}")).is_some()
            && find(&items, "app.log.errors", "file=b.log,level=warn").is_some()
            && find(&items, "sys.disk.rw", "mount=/").is_some()
            && find(&items, "sys.disk.smart.health", "device=/dev/sda").is_some()
            && items.iter().any(|m| m.metric == "sys.disk.lsiraid.vd.state")
    });
    let items = transfer.items();

    // process.*: two sleepers, tagged like proc.num, the non-matching rule all zeros.
    assert_eq!(value(&items, "proc.num", &sel), 2.0);
    assert!(value(&items, "process.mem", &sel) > 0.0);
    assert_eq!(value(&items, "process.threads", &sel), 2.0);
    let fds: usize =
        sleepers.iter().map(|k| std::fs::read_dir(format!("/proc/{}/fd", k.0.id())).unwrap().count()).sum();
    assert_eq!(value(&items, "process.fd", &sel), fds as f64);
    assert!(value(&items, "process.cpu.percent", &sel) < 5.0, "sleep uses no CPU");
    assert_eq!(find(&items, "process.cpu.all", &sel).unwrap().counter_type, "COUNTER");
    assert!(find(&items, "process.io.read_bytes", &sel).is_some());
    assert_eq!(value(&items, "process.mem", "name=no-such-process-xyz"), 0.0);

    // NTP: the dead server first, then the loopback one an hour ahead: about +3,600,000 ms, and the two
    // items stamped with the server's clock.
    let off = find(&items, "sys.ntp.offset", &format!("server={sntp}")).unwrap();
    assert!((off.value.as_f64().unwrap() - 3_600_000.0).abs() < 2_000.0, "{off:?}");
    let now = falcon_runtime::timefmt::now_unix();
    assert!((off.timestamp - (now + 3600)).abs() < 30, "stamped with the server's clock: {off:?}");
    let fail = find(&items, "sys.ntp.fail", "").unwrap();
    assert_eq!((fail.value.as_f64(), fail.timestamp), (Some(0.0), off.timestamp));

    // Shell checks: configured tags under the line's; the bad line counted; the hanging one killed.
    assert_eq!(value(&items, "app.log.errors", "file=a.log"), 3.0);
    let item = find(&items, "app.log.errors", "file=b.log,level=warn").unwrap();
    assert_eq!((item.step, item.counter_type.as_str(), item.endpoint.as_str()), (1, "GAUGE", "agent-it"));
    wait_for("the hanging check to be killed at least twice", 10, || {
        let body = http::get(&http_addr, "/checks").body;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["data"][1]["failures"].as_u64().unwrap_or(0) >= 2
    });
    let v: serde_json::Value = serde_json::from_str(&http::get(&http_addr, "/checks").body).unwrap();
    let checks = v["data"].as_array().unwrap();
    assert_eq!(checks[0]["metric"], "app.log.errors");
    assert!(checks[0]["bad_lines"].as_u64().unwrap() >= 1);
    assert_eq!(checks[0]["last_items"], 2);
    assert!(checks[1]["last_error"].as_str().unwrap().contains("timed out"), "{}", checks[1]);

    // sys.disk.rw: the root file system is writable.
    assert_eq!(value(&items, "sys.disk.rw", "mount=/"), 0.0);

    // SMART and RAID from the tools on PATH.
    assert_eq!(value(&items, "sys.disk.smart.health", "device=/dev/sda"), 0.0);
    assert!(items.iter().any(|m| m.metric == "sys.disk.smart.Reallocated_Sector_Ct" && m.tags == "device=/dev/sda"));
    assert!(items.iter().any(|m| m.metric.starts_with("sys.disk.lsiraid.pd.") && m.tags.starts_with("PD=")));

    // stderr is a pipe here, as it is a log file under ./control: no colour escapes.
    assert!(!agent.log().contains('\x1b'), "ANSI escapes in the log");

    // The heartbeat failed over from the dead first address to the fake HBS.
    assert!(!state.lock().unwrap().reports.is_empty(), "ReportStatus reached the second HBS");
    drop(sleepers);
    drop(agent);
    std::fs::remove_dir_all(&dir).ok();
}
