//! The transfer's config file as `Config::load` reads it after the file read: the top-level object check
//! (`cli::parse_config_object`), Go-semantics decoding into the defaults, validation; then what a start builds
//! from it (`App::new`: rings, lanes, pools, HTTP clients), with the sections that write to disk (spools, the
//! archive) switched off, and the `/config` rendering.

use crate::feedback::{note, note_err};
use crate::support::runtime::block_on;
use falcon_runtime::cli::parse_config_object;
use falcon_transfer::app::App;
use falcon_transfer::config::Config;
use std::path::Path;

pub fn run(data: &[u8]) {
    let obj = match parse_config_object(Path::new("fuzz.json"), data.to_vec()) {
        Ok(o) => o,
        Err(e) => {
            note_err("object", &e);
            return;
        }
    };
    let mut cfg = match Config::from_json(&obj.bytes, &obj.object) {
        Ok(c) => c,
        Err(e) => {
            note_err("config", &e);
            return;
        }
    };
    note("valid");
    let _ = (cfg.effective_min_step(), cfg.effective_workers(), cfg.spools().len());
    if let Some(r) = cfg.remote_write() {
        for e in &r.endpoints {
            let _ = e.all_headers();
        }
    }
    let rendered = falcon_proto::gojson::to_vec(&cfg).unwrap_or_else(|e| panic!("a valid config does not render: {e}"));
    // Keys of ours are left out of the rendering, so it is not the input; but it must load, as the same config.
    let again = parse_config_object(Path::new("rendered.json"), rendered.clone())
        .map_err(|e| e.to_string())
        .and_then(|o| Config::from_json(&o.bytes, &o.object).map_err(|e| e.to_string()))
        .unwrap_or_else(|e| panic!("the rendering of a valid config does not load: {e}"));
    assert_eq!(falcon_proto::gojson::to_vec(&again).ok(), Some(rendered), "rendering is not a fixed point");
    without_disk(&mut cfg);
    match block_on(async move { App::new(cfg, None).map(|_| ()) }) {
        Some(Ok(())) => note("started"),
        Some(Err(e)) => note_err("app", &e),
        None => {}
    }
}

/// Spool directories and the archive off: a fuzz run must not create directories from random paths.
fn without_disk(cfg: &mut Config) {
    for s in [&mut cfg.judge.spool, &mut cfg.graph.spool, &mut cfg.tsdb.spool] {
        s.dir.clear();
    }
    if let Some(t) = cfg.transfer.as_mut() {
        t.spool.dir.clear();
    }
    if let Some(i) = cfg.influxdb.as_mut() {
        i.spool.dir.clear();
    }
    if let Some(p) = cfg.p8s_relay.as_mut() {
        p.spool.dir.clear();
    }
    if let Some(r) = cfg.remote_write.as_mut() {
        r.spool.dir.clear();
    }
    cfg.archive = None;
}
