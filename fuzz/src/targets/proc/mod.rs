//! The agent's collectors: every pure parser over what the kernel or a tool printed, and the samples the
//! collector builds from its result, sent out the way builtin items are. The first input byte picks the
//! parser (its value modulo the number of parsers); the rest is the text or packet.
//!
//! The readers around these parsers only open files and run programs; they are not driven here. Checked:
//! every sample that survives the NaN guard encodes as Go's JSON.

mod binary;
mod text;
mod tools;

use crate::feedback::note_n;
use falcon_agent::collector::Sample;
use falcon_agent::outgoing::builtin;
use std::collections::BTreeMap;

/// A parser entry: its name (for seeds and reports) and what feeds it.
pub struct Parser {
    /// Short name; the seed files of this parser are named after it.
    pub name: &'static str,
    /// Runs the parser and its collector's sample building on the bytes.
    pub run: fn(&[u8]),
}

/// Every parser, in selector order (the seeds' first bytes depend on it: append, do not reorder).
pub static PARSERS: &[Parser] = &[
    Parser { name: "cpu_stat", run: text::cpu },
    Parser { name: "meminfo", run: text::mem },
    Parser { name: "loadavg", run: text::load },
    Parser { name: "diskstats", run: text::diskstats },
    Parser { name: "net_dev", run: text::net_dev },
    Parser { name: "netstat", run: text::netstat },
    Parser { name: "snmp", run: text::snmp },
    Parser { name: "sockstat", run: text::sockstat },
    Parser { name: "kernel", run: text::kernel },
    Parser { name: "mounts", run: text::mounts },
    Parser { name: "net_tcp", run: text::sockets },
    Parser { name: "pid_stat", run: text::pid_files },
    Parser { name: "cmdline", run: text::cmdline },
    Parser { name: "uptime", run: text::uptime },
    Parser { name: "smart_scan", run: tools::smart_scan },
    Parser { name: "smart_device", run: tools::smart_device },
    Parser { name: "storcli", run: tools::storcli },
    Parser { name: "megacli", run: tools::megacli },
    Parser { name: "du", run: tools::du },
    Parser { name: "url", run: tools::url },
    Parser { name: "ntp", run: binary::ntp },
    Parser { name: "sockdiag", run: binary::sockdiag },
];

pub fn run(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else { return };
    let p = &PARSERS[usize::from(sel) % PARSERS.len()];
    crate::feedback::note(p.name);
    (p.run)(rest);
}

/// Sends samples out as a collection cycle does: ignore list, NaN guard, endpoint, step, timestamp.
fn emit(samples: Vec<Sample>) {
    note_n("samples", samples.len());
    let (items, non_finite) = builtin(samples, "host", 60, 1_795_261_457, &|m| m == "cpu.busy", &BTreeMap::new());
    note_n("non-finite", non_finite);
    for m in &items {
        if let Err(e) = falcon_proto::gojson::to_vec(m) {
            panic!("a collected item does not encode: {e}: {m:?}");
        }
    }
}
