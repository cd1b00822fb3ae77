//! The HBS admin API (`POST /admin/apply` and the admin command line): operations decoded from JSON
//! (several may follow each other in one input), applied to a fresh in-memory SQLite database, then the cache
//! load and every query the RPC methods answer from it (builtin checks and plugins per host, inherited
//! strategies, expressions), and the export. The operations reach states a portal database can be in
//! (template parent loops, odd tags, windows, right values), so this also covers the cache's rules on them.

use crate::feedback::{note, note_err, note_n};
use falcon_hbs::admin::Op;
use falcon_hbs::config::Config;
use falcon_hbs::db::Db;
use falcon_hbs::state::Hbs;
use falcon_hbs::store::Store;
use falcon_proto::model::AgentHeartbeatRequest;
use std::sync::Arc;

/// Operations applied per input at most.
const MAX_OPS: usize = 32;

pub fn run(data: &[u8]) {
    let db = match Db::memory() {
        Ok(d) => Arc::new(d),
        Err(e) => panic!("no in-memory database: {e}"),
    };
    let mut applied = 0;
    for op in serde_json::Deserializer::from_slice(data).into_iter::<Op>().take(MAX_OPS) {
        match op {
            Ok(op) => match db.apply(&op) {
                Ok(_) => applied += 1,
                Err(e) => note_err("apply", &e),
            },
            Err(e) => {
                note_err("op", &e);
                break;
            }
        }
    }
    note_n("applied", applied);
    let hbs = match Hbs::new(Config::default(), None, db.clone()) {
        Ok(h) => h,
        Err(e) => panic!("the cache does not load what the admin API wrote: {e}"),
    };
    let snap = hbs.cache();
    let mut hosts: Vec<&String> = snap.host_ids.keys().collect();
    hosts.sort();
    for h in hosts {
        let req = AgentHeartbeatRequest { hostname: h.clone(), checksum: "nil".into() };
        let reply = falcon_hbs::rpc::builtin_metrics(&hbs, &req, 1_795_261_457);
        note_n("checks", reply.metrics.map_or(0, |m| m.len()));
        note_n("plugins", snap.plugins(h).len());
    }
    for hhmm in ["00:00", "12:00", "23:59"] {
        note_n("host-strategies", snap.host_strategies(hhmm, 1_795_261_457).len());
    }
    note_n("expressions", snap.expressions.len());
    match db.export() {
        Ok(doc) => {
            if let Err(e) = falcon_runtime::render::data_json(&doc) {
                panic!("the export does not render: {e}");
            }
            note("exported");
        }
        Err(e) => note_err("export", &e),
    }
}
