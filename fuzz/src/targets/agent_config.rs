//! The agent's config file: `Config::from_bytes` (Go-semantics decoding into the defaults, the ignore-map
//! rule, validation), the derived views, and `to_go_json` (what `/config/reload` shows): the rendering of a
//! valid config must load again as the same config.

use crate::feedback::{note, note_err, note_n};
use falcon_agent::config::Config;

pub fn run(data: &[u8]) {
    let cfg = match Config::from_bytes(data, "fuzz.json") {
        Ok(c) => c,
        Err(e) => {
            note_err("config", &e);
            return;
        }
    };
    note("valid");
    note_n("addrs", cfg.heartbeat.all_addrs().len());
    let _ = cfg.ignored("cpu.busy");
    let rendered = cfg.to_go_json();
    assert!(!rendered.is_empty(), "a valid config does not render");
    let again = Config::from_bytes(&rendered, "rendered.json")
        .unwrap_or_else(|e| panic!("the rendering of a valid config does not load: {e}"));
    assert_eq!(again.to_go_json(), rendered, "rendering is not a fixed point");
}
