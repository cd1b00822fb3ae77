//! CI for the fuzz targets: every target runs for a bounded number of executions and a bounded time with a
//! fixed seed, and every input saved under `regressions/` is replayed; any finding fails with the target's
//! name and the input as hex.

use falcon_fuzz::alloc::CountingAlloc;
use falcon_fuzz::corpus;
use falcon_fuzz::engine::{fuzz, replay, Config, Finding, Quiet};
use falcon_fuzz::exec::Limits;
use falcon_fuzz::report;
use falcon_fuzz::targets::{find, TARGETS};
use std::time::Duration;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Fixed, so a CI failure reproduces with `cargo run -p falcon-fuzz -- <target> --seed 1096040453`.
const SEED: u64 = 1_096_040_453;
const MAX_EXECS: u64 = 20_000;
const MAX_TIME: Duration = Duration::from_secs(3);

fn smoke(name: &str) {
    let t = find(name).unwrap_or_else(|| panic!("no target {name}"));
    let cfg = Config { seed: SEED, max_execs: MAX_EXECS, max_time: MAX_TIME, limits: Limits::default() };
    let r = fuzz(t, &cfg, &mut Quiet);
    if let Some(f) = r.findings.first() {
        panic!("{}", report::finding(f, &cfg.limits));
    }
    assert!(r.execs > r.seeds as u64, "{name}: only {} executions in {:?}", r.execs, r.elapsed);
    println!("{}", report::row(&r));
}

macro_rules! smoke_tests {
    ($($name:ident),* $(,)?) => {
        $( #[test] fn $name() { smoke(stringify!($name)); } )*
        const SMOKED: &[&str] = &[$(stringify!($name)),*];
    };
}

smoke_tests!(
    jsonrpc_frame,
    jsonrpc_envelope,
    gojson,
    gojson_scanner,
    gob,
    gob_server,
    transfer_rpc,
    transfer_socket,
    transfer_push,
    transfer_remote_write,
    transfer_spool,
    transfer_config,
    agent_config,
    hbs_config,
    agent_push,
    agent_plugin,
    agent_hbs_reply,
    agent_shellcheck,
    proc,
    hbs_rpc,
    hbs_dsn,
    hbs_admin,
    http,
    updater_tarball,
    updater_protocol,
);

#[test]
fn every_target_is_smoke_tested_and_has_seeds() {
    for t in TARGETS {
        assert!(SMOKED.contains(&t.name), "target {} has no smoke test", t.name);
        assert!(!corpus::load_dir(&corpus::corpus_dir(t.name)).is_empty(), "target {} has no seeds", t.name);
    }
}

#[test]
fn saved_regressions_stay_fixed() {
    let limits = Limits::default();
    let mut failures = Vec::new();
    for t in TARGETS {
        for (path, input) in corpus::load_dir(&corpus::regressions_dir(t.name)) {
            if let Some(problem) = replay(t, &input, &limits) {
                let f = Finding { target: t.name, input, problem, exec: 0 };
                failures.push(format!("{}\n{}", path.display(), report::finding(&f, &limits)));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
