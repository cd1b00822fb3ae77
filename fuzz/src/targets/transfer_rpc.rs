//! The transfer's JSON-RPC listener as agents and relays reach it: the real server loop with the real methods
//! (`receiver::rpc::registry`: `Transfer.Update`, `Transfer.Ping`) on a transfer whose outputs are all off,
//! the input being the client's side of the connection. Accepted items go through `App::receive` (Go's
//! validation and counters); their output forms are `transfer_push`'s, which decodes the same items.
//!
//! Checked as in `hbs_rpc`: the connection ends, no task panics, every reply is well formed.

use crate::support::rpc_conn;
use falcon_proto::jsonrpc::Server;
use falcon_transfer::app::App;
use falcon_transfer::config::Config;
use std::sync::Arc;

thread_local! {
    static SERVER: Option<Arc<Server>> = {
        let mut cfg = Config::default();
        cfg.judge.enabled = false;
        cfg.graph.enabled = false;
        cfg.tsdb.enabled = false;
        App::new(cfg, None)
            .ok()
            .and_then(|app| falcon_transfer::receiver::rpc::registry(app).ok())
            .map(|reg| Server::new(reg, rpc_conn::server_config()))
    };
}

pub fn run(data: &[u8]) {
    let Some(server) = SERVER.with(Clone::clone) else { return };
    if let Some(replies) = rpc_conn::converse(server, data) {
        rpc_conn::check_replies(&replies);
    }
}
