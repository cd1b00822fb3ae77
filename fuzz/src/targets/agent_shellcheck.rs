//! A shell check's stdout (`shellchecks::parse_output`, each line through `parse_line`) as the check loop
//! reads it (lossy UTF-8), with configured tags that the lines' own override, and the items forwarded.
//! Checked: at most `MAX_ITEMS` items, each with the check's metric and a finite value.

use crate::feedback::{note_err, note_n};
use crate::support::agent_out;
use falcon_agent::config::ShellCheckConfig;
use falcon_agent::shellchecks::{parse_line, parse_output, MAX_ITEMS};
use std::collections::BTreeMap;

pub fn run(data: &[u8]) {
    let stdout = String::from_utf8_lossy(data);
    let check = ShellCheckConfig {
        metric: "app.queue.depth".into(),
        command: vec!["/bin/true".into()],
        interval: 60,
        timeout: 1000,
        tags: BTreeMap::from([("env".to_string(), "prod".to_string())]),
    };
    let (items, bad) = parse_output(&stdout, &check, "host", 1_795_261_457);
    note_n("items", items.len());
    note_n("bad", bad.len());
    assert!(items.len() <= MAX_ITEMS);
    assert!(items.iter().all(|m| m.metric == check.metric && m.value.as_f64().is_some_and(f64::is_finite)));
    if let Some(first) = stdout.lines().next() {
        if let Err(e) = parse_line(first) {
            note_err("line", &e);
        }
    }
    agent_out::forward(items);
}
