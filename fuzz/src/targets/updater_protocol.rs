//! The rollout protocol's inputs: an updater reading a server's heartbeat answer and checksum lines and URLs;
//! the HBS reading an updater's heartbeat and computing desired agents from rules decoded from the same bytes.

use crate::feedback::{note, note_err};
use falcon_proto::gojson;
use falcon_proto::model::{HeartbeatRequest, HeartbeatResponse};

pub fn run(data: &[u8]) {
    match gojson::from_slice::<HeartbeatResponse>(data) {
        Ok(r) => {
            note("response");
            for d in r.desired_agents.iter().flatten() {
                // URLs are built from server text; names must be checked before they become directories.
                let _ = (d.tarball_url(), d.md5_url(), d.sha256_url());
                if d.safe_names().is_ok() {
                    assert!(!d.name.contains('/') && !d.version.contains('/') && d.name != ".." && d.version != "..");
                }
                let _ = falcon_updater::fetch::parse_url(&d.tarball_url());
            }
        }
        Err(e) => note_err("response", &e.0),
    }
    match gojson::from_first_value::<HeartbeatRequest>(data) {
        Ok(r) => {
            note("request");
            let reports = falcon_hbs::rollout::Reports::default();
            reports.record(&r);
            let _ = reports.view();
        }
        Err(e) => note_err("request", &e.0),
    }
    if let Ok(rules) = gojson::from_slice::<Vec<falcon_hbs::rollout::AgentRule>>(data) {
        note("rules");
        let _ = falcon_hbs::rollout::desired_agents(&rules, "host-1");
    }
    let text = String::from_utf8_lossy(data);
    let _ = falcon_updater::verify::check_md5(data, &text, "a-1.tar.gz");
    let _ = falcon_updater::verify::check_sha256(data, &text, "a-1.tar.gz");
    let _ = falcon_updater::fetch::parse_url(&text);
    let _ = falcon_updater::config::Config::from_bytes(data, "fuzz");
}
