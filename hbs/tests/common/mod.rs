//! Helpers: the captured falcon_portal rows (`../shared/captures/db/falcon_portal_after_run.tsv`) loaded
//! into a database, and the real binary started on it.
#![allow(dead_code)]

use falcon_hbs::db::Db;
use falcon_tests::daemon::Daemon;
use std::path::{Path, PathBuf};

/// The captured rows.
pub const SEED_TSV: &str = include_str!("../../../../shared/captures/db/falcon_portal_after_run.tsv");

/// Inserts every row of the capture, ids included, into `db`.
pub fn seed(db: &Db) {
    let c = db.conn();
    let mut lines = SEED_TSV.lines().peekable();
    while let Some(header) = lines.next() {
        let cols: Vec<&str> = header.split('\t').collect();
        let table = match (cols[0], cols.get(1).copied().unwrap_or("")) {
            ("id", "hostname") => "host",
            ("id", "grp_name") => "grp",
            ("grp_id", "host_id") => "grp_host",
            ("id", "tpl_name") => "tpl",
            ("grp_id", "tpl_id") => "grp_tpl",
            ("id", "metric") => "strategy",
            ("id", "expression") => "expression",
            ("id", "grp_id") => "plugin_dir",
            ("id", "uic") => "action",
            other => panic!("unknown section {other:?}"),
        };
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
        let q = format!("INSERT INTO {table} ({}) VALUES ({})", cols.join(","), marks.join(","));
        while let Some(row) = lines.peek() {
            let vals: Vec<&str> = row.split('\t').collect();
            if vals.len() != cols.len() || (vals[0].parse::<i64>().is_err()) {
                break;
            }
            c.execute(&q, rusqlite::params_from_iter(vals.iter())).unwrap_or_else(|e| panic!("{q}: {e}"));
            lines.next();
        }
    }
}

/// A fresh directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("falcon-hbs-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes a config (database in `dir`, free loopback ports, trustable 127.0.0.1) and returns its path.
pub fn config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("cfg.json");
    std::fs::write(
        &path,
        format!(
            r#"{{"debug":false,"hosts":"","database":"{}","maxConns":20,"maxIdle":15,"listen":"127.0.0.1:0","trustable":["127.0.0.1"],"http":{{"enabled":true,"listen":"127.0.0.1:0"}}{extra}}}"#,
            dir.join("hbs.db").display()
        ),
    )
    .unwrap();
    path
}

/// Seeds the database of `dir` with the capture.
pub fn seeded(dir: &Path) {
    let db = Db::open(&dir.join("hbs.db")).unwrap();
    seed(&db);
}

/// Starts falcon-hbs on `cfg`.
pub fn start(cfg: &Path) -> Daemon {
    Daemon::start(Path::new(env!("CARGO_BIN_EXE_falcon-hbs")), &["-c", cfg.to_str().unwrap()]).unwrap()
}

/// Replaces every `"Timestamp":<n>` with 0.
pub fn mask_ts(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\"Timestamp\":") {
        let start = i + "\"Timestamp\":".len();
        out.push_str(&rest[..start]);
        out.push('0');
        rest = rest[start..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}
