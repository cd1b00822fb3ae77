//! `-check`: runs every collector once (two samples one second apart for cpu and iostat) and prints
//! `<name> ... ok|fail`, then our additions: `process.*`, the NTP servers, the disk tools and each shell check
//! (`off` or `not installed` where there is nothing to check, which is not a failure).

use crate::app::Agent;
use crate::collector;
use std::process::Stdio;
use std::time::Duration;

/// One line per collector; returns whether all passed.
pub async fn run(agent: &Agent) -> bool {
    agent.sampler.sample();
    tokio::time::sleep(Duration::from_secs(1)).await;
    agent.sampler.sample();
    let env = agent.env();
    let mut all = true;
    for c in collector::registry() {
        let ok = match c.name {
            // These report only for checks HBS hands out; check that their source works.
            "net.port.listen" => collector::ports::listening_ports(&env).is_ok_and(|p| !p.is_empty()),
            "proc.num" => collector::procs::all_procs(&env.proc).is_ok_and(|p| !p.is_empty()),
            // The tools run in the background; checked below.
            "disk.health" => continue,
            _ => (c.run)(&env).is_ok_and(|s| !s.is_empty()),
        };
        all &= ok;
        println!("{:<16} ... {}", c.name, if ok { "ok" } else { "fail" });
    }
    for (name, bin, arg) in [("du.bs", "du", "--help"), ("url.check.health", "curl", "--version")] {
        let ok = tokio::process::Command::new(bin)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .is_ok_and(|s| s.success());
        all &= ok;
        println!("{:<16} ... {}", name, if ok { "ok" } else { "fail" });
    }
    all &= extras(agent).await;
    all
}

fn line(name: &str, state: &str) {
    println!("{name:<16} ... {state}");
}

/// Our collectors beyond Go's; returns whether all that are configured work.
async fn extras(agent: &Agent) -> bool {
    let cfg = agent.config();
    let mut all = true;
    let own = collector::procstat::read_usage(&agent.env().proc, std::process::id()).is_some();
    all &= own;
    line("process.*", if own { "ok" } else { "fail" });
    if cfg.ntp.enabled {
        let (servers, timeout) = (cfg.ntp.servers.clone(), Duration::from_millis(cfg.ntp.timeout as u64));
        let out = tokio::task::spawn_blocking(move || collector::ntp::collect(&servers, timeout)).await;
        let ok = out.is_ok_and(|o| o.server.is_some());
        all &= ok;
        line("sys.ntp", if ok { "ok" } else { "fail" });
    } else {
        line("sys.ntp", "off");
    }
    for (name, found) in
        [("sys.disk.smart", collector::smart::available()), ("sys.disk.lsiraid", collector::lsiraid::available())]
    {
        line(
            name,
            if !cfg.collector.disk_health {
                "off"
            } else if found {
                "ok"
            } else {
                "not installed"
            },
        );
    }
    for (i, c) in cfg.checks.iter().enumerate() {
        crate::shellchecks::run_once(agent, i, c).await;
        let st = agent.shell_checks.snapshot();
        let ok = st.get(i).is_some_and(|s| s.failures == 0 && s.last_items > 0);
        all &= ok;
        line(&format!("check {}", c.metric), if ok { "ok" } else { "fail" });
    }
    all
}
