//! The HBS's JSON-RPC service as agents and judges reach it: the real server loop (`jsonrpc::Server`) with the
//! real methods (`falcon_hbs::rpc::registry`) over an in-memory SQLite database holding one host with a
//! template, checks and plugins; the input is the client's side of the connection, read in small chunks.
//!
//! Checked: the connection ends once the input does, no task panics, and every reply is one JSON object with
//! Go's three keys, which Go's client accepts (`parse_response`) whenever the request's id was one it sends.

use crate::support::{hbs_state, rpc_conn};
use falcon_hbs::state::Hbs;
use falcon_proto::jsonrpc::Server;
use std::cell::RefCell;
use std::sync::Arc;

/// Host reports queued before the state is rebuilt (the queue is only drained by a database write).
const MAX_QUEUED: usize = 1000;

thread_local! {
    static STATE: RefCell<Option<(Arc<Hbs>, Arc<Server>)>> = const { RefCell::new(None) };
}

fn state() -> Option<(Arc<Hbs>, Arc<Server>)> {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if s.as_ref().is_none_or(|(h, _)| h.host_writes.len() > MAX_QUEUED) {
            *s = hbs_state::estate().map(|h| {
                let server = Server::new(falcon_hbs::rpc::registry(h.clone()), rpc_conn::server_config());
                (h, server)
            });
        }
        s.clone()
    })
}

pub fn run(data: &[u8]) {
    let Some((hbs, server)) = state() else { return };
    let replies = rpc_conn::converse(server, data);
    // Forget who reported: the next input starts from the same agents map.
    if let Ok(mut a) = hbs.agents.lock() {
        a.clear();
    }
    if let Some(r) = replies {
        rpc_conn::check_replies(&r);
    }
}
