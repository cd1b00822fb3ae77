//! What the agent does with HBS's replies (the `result` of each call; the envelope is `jsonrpc_envelope`'s).
//! The first byte picks the call:
//! - `Agent.BuiltinMetrics`: the reply accepted or not (`BuiltinState::accept`), the checks parsed with Go's
//!   rules (`checks::parse_checks`), and each kind used as the collectors use it: ports against a listening
//!   set, process rules against a process list (counts and resources), URLs split for the HEAD request;
//!   the samples then go out as builtin items do (`outgoing::builtin`).
//! - `Agent.MinePlugins`: every entry as `agent_plugin` handles it.
//! - `Agent.TrustableIps`: the comma list, then `auth::is_trusted` for a few callers.

use super::agent_plugin;
use crate::feedback::{note, note_err, note_n};
use falcon_agent::checks::parse_checks;
use falcon_agent::collector::procs::{self, parse_proc, Proc};
use falcon_agent::collector::procstat::{History, Stat, Usage};
use falcon_agent::collector::{ports, url};
use falcon_agent::heartbeat::BuiltinState;
use falcon_agent::outgoing::builtin;
use falcon_proto::gojson;
use falcon_proto::model::{AgentPluginsResponse, BuiltinMetricResponse};
use falcon_runtime::auth::is_trusted;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 3 {
        0 => builtin_metrics(rest),
        1 => match gojson::from_slice::<AgentPluginsResponse>(rest) {
            Ok(r) => {
                let list = r.plugins.unwrap_or_default();
                note_n("plugins", list.len());
                agent_plugin::entries(list.iter().map(String::as_str));
            }
            Err(e) => note_err("plugins", &e),
        },
        _ => match gojson::from_slice::<String>(rest) {
            Ok(list) => {
                let ips: Vec<String> = list.split(',').map(str::to_string).collect();
                for caller in ["10.1.1.1", "::ffff:10.1.1.1", "2001:db8::1", "127.0.0.9"] {
                    if let Ok(ip) = caller.parse::<IpAddr>() {
                        if is_trusted(ip, ips.iter()) {
                            note(caller);
                        }
                    }
                }
            }
            Err(e) => note_err("trustable", &e),
        },
    }
}

fn builtin_metrics(rest: &[u8]) {
    let reply = match gojson::from_slice::<BuiltinMetricResponse>(rest) {
        Ok(r) => r,
        Err(e) => {
            note_err("builtin", &e);
            return;
        }
    };
    if !BuiltinState::default().accept(&reply) {
        note("not-accepted");
    }
    let checks = parse_checks(reply.metrics.as_deref().unwrap_or_default());
    note_n("ports", checks.ports.len());
    note_n("procs", checks.procs.len());
    note_n("urls", checks.urls.len());
    let listening = BTreeSet::from([22u16, 80, 443]);
    let mut samples = ports::samples(&checks.ports, &listening);
    let list: Vec<Proc> = [(1, "sshd", &b"/usr/sbin/sshd\0-D\0"[..]), (42, "java", b"java\0-jar\0x.jar\0")]
        .iter()
        .filter_map(|(pid, name, cmd)| parse_proc(*pid, name, cmd))
        .collect();
    samples.extend(procs::samples(&checks.procs, &list));
    let read = |pid: u32| {
        let stat = Stat { utime: u64::from(pid) * 7, stime: 3, starttime: 99 };
        Some((stat, Usage { utime: stat.utime, stime: stat.stime, rss: 4096, threads: 2, ..Usage::default() }))
    };
    let mut history = History::default();
    samples.extend(procs::resource_samples(&checks.procs, &list, &mut history, &read));
    for (u, _) in &checks.urls {
        if url::parse_http_url(u).is_some() {
            note("url:http");
        }
    }
    let (items, dropped) = builtin(samples, "host", 60, 1_795_261_457, &|_| false, &BTreeMap::new());
    note_n("dropped", dropped);
    for m in &items {
        if let Err(e) = gojson::to_vec(m) {
            panic!("a builtin item from HBS checks does not encode: {e}");
        }
    }
}
