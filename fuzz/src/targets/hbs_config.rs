//! The HBS config file: `Config::from_bytes` (Go-semantics decoding into the defaults, the DSN check for a
//! MySQL `database`), the trustable list as `Agent.TrustableIps` answers it, and the JSON rendering
//! (`/config/reload`), which must load again as the same config but for the DSN's password, shown masked.

use crate::feedback::{note, note_err};
use falcon_hbs::config::Config;

pub fn run(data: &[u8]) {
    let cfg = match Config::from_bytes(data, "fuzz.json") {
        Ok(c) => c,
        Err(e) => {
            note_err("config", &e);
            return;
        }
    };
    note(if falcon_hbs::store::dsn::is_dsn(&cfg.database) { "mysql" } else { "sqlite" });
    let _ = cfg.trustable_joined();
    let rendered = falcon_proto::gojson::to_vec(&cfg).unwrap_or_else(|e| panic!("a valid config does not render: {e}"));
    let again = Config::from_bytes(&rendered, "rendered.json")
        .unwrap_or_else(|e| panic!("the rendering of a valid config does not load: {e}"));
    let shown = Config { database: falcon_hbs::store::dsn::redacted(&cfg.database), ..cfg.clone() };
    assert_eq!(again, shown, "config changed through its rendering (but for the masked password)");
}
