//! The transfer's line protocol: the real connection loop (`receiver::socket::serve_conn`) over the input
//! read in small chunks, with every output off so nothing is queued; and `parse_line` on each line the loop
//! would hand it, its points run through every output form.

use crate::feedback::{note, note_n};
use crate::support::chunked::Chunked;
use crate::support::points;
use crate::support::runtime::block_on;
use falcon_runtime::shutdown::Shutdown;
use falcon_transfer::app::App;
use falcon_transfer::config::Config;
use falcon_transfer::receiver::socket::{parse_line, serve_conn, MAX_LINE};
use std::sync::Arc;
use std::time::Duration;

thread_local! {
    static APP: Option<Arc<App>> = {
        let mut cfg = Config::default();
        cfg.judge.enabled = false;
        cfg.graph.enabled = false;
        cfg.tsdb.enabled = false;
        App::new(cfg, None).ok()
    };
}

pub fn run(data: &[u8]) {
    if let Some(app) = APP.with(Clone::clone) {
        let mode = data.first().copied().unwrap_or(0);
        let stream = Chunked::new(data, u64::from(mode), 1 + usize::from(mode % 32));
        block_on(serve_conn(stream, app, Duration::from_secs(5), Shutdown::never()));
    }
    let mut accepted = Vec::new();
    let mut lines = data.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        if lines.peek().is_none() {
            // The loop only handles a line once its newline arrives; a trailing fragment is dropped at EOF.
            break;
        }
        if line.len() > MAX_LINE {
            note("oversized");
            continue;
        }
        let text = String::from_utf8_lossy(line);
        if text == "quit" {
            note("quit");
            break;
        }
        if text.is_empty() {
            continue;
        }
        match parse_line(&text) {
            Some(p) => {
                note(p.counter_type.as_str());
                accepted.push(p);
            }
            None => note("bad-line"),
        }
    }
    note_n("lines", accepted.len());
    points::exercise(accepted);
}
