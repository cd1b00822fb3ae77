//! The `database` value of the HBS config as a go-sql-driver DSN: `is_dsn`, `parse` (with its timeouts read
//! by `parse_go_duration`), and the duration parser on the whole text and on each query value.

use crate::feedback::{note, note_err, note_n};
use falcon_hbs::store::dsn::{is_dsn, parse, parse_go_duration, Endpoint};

pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    note(if is_dsn(&text) { "dsn" } else { "file" });
    match parse(&text) {
        Ok(d) => {
            note(match d.endpoint {
                Endpoint::Tcp { .. } => "tcp",
                Endpoint::Unix(_) => "unix",
            });
            note_n("ignored", d.ignored.len());
            assert!(!d.database.is_empty());
        }
        Err(e) => note_err("dsn", &e),
    }
    if parse_go_duration(&text).is_some() {
        note("duration");
    }
    for kv in text.split(['?', '&']) {
        if let Some((_, v)) = kv.split_once('=') {
            let _ = parse_go_duration(v);
        }
    }
}
