//! Plugins, both inputs the agent does not control. An even first byte: the rest is a plugin's stdout
//! (`runner::decode_stdout`), its metrics forwarded as the scheduler's sink does. An odd one: the rest is the
//! entry list of an `Agent.MinePlugins` reply, one per line, each split into path and arguments
//! (`desired::split_entry`), its cycle read from the file name (`desired::cycle_of`), the deadline
//! (`runner::timeout_of`), the argv (`args::parse_args`) and the stderr log path (`runner::stderr_log`).

use crate::feedback::{note, note_err, note_n};
use crate::support::agent_out;
use falcon_agent::plugins::args::parse_args;
use falcon_agent::plugins::desired::{cycle_of, split_entry};
use falcon_agent::plugins::runner::{decode_stdout, stderr_log, timeout_of};
use falcon_agent::plugins::Plugin;
use std::path::Path;

pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 {
        match decode_stdout(rest) {
            Ok(items) => {
                note_n("items", items.len());
                agent_out::forward(items);
            }
            Err(e) => note_err("stdout", &e),
        }
        return;
    }
    let text = String::from_utf8_lossy(rest);
    entries(text.lines());
}

/// What the agent derives from each entry of an `Agent.MinePlugins` reply.
pub fn entries<'a>(list: impl Iterator<Item = &'a str>) {
    for entry in list {
        let (path, args) = split_entry(entry);
        assert!(entry.starts_with(path), "split_entry path is not a prefix of {entry:?}");
        let name = Path::new(path).file_name().and_then(|n| n.to_str()).unwrap_or("");
        let Some(cycle) = cycle_of(name) else {
            note("no-cycle");
            continue;
        };
        assert!(cycle > 0);
        let deadline = timeout_of(cycle);
        assert!(deadline.as_millis() >= 100, "deadline {deadline:?} below the floor");
        let argv = parse_args(args);
        note_n("args", argv.len());
        let p = Plugin { file_path: path.to_string(), mtime: 0, cycle, args: args.to_string() };
        let _ = stderr_log(Path::new("/var/log/falcon-plugin"), &p);
    }
}
