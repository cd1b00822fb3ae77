//! Helpers: the captured falcon_portal rows (`../shared/captures/db/falcon_portal_after_run.tsv`) loaded
//! into a database, and the real binary started on it.
#![allow(dead_code)]

use falcon_hbs::db::Db;
use falcon_tests::daemon::Daemon;
use std::path::{Path, PathBuf};

/// The captured rows.
pub const SEED_TSV: &str = include_str!("../../../../shared/captures/db/falcon_portal_after_run.tsv");

/// The capture as INSERT statements (ids included), values quoted for `mysql` or SQLite.
pub fn seed_statements(mysql: bool) -> Vec<String> {
    let quote = |v: &str| {
        let v = v.replace('\'', "''");
        let v = if mysql { v.replace('\\', "\\\\") } else { v };
        format!("'{v}'")
    };
    let mut out = Vec::new();
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
        while let Some(row) = lines.peek() {
            let vals: Vec<&str> = row.split('\t').collect();
            if vals.len() != cols.len() || (vals[0].parse::<i64>().is_err()) {
                break;
            }
            let vals: Vec<String> = vals.iter().map(|v| quote(v)).collect();
            out.push(format!("INSERT INTO {table} ({}) VALUES ({})", cols.join(","), vals.join(",")));
            lines.next();
        }
    }
    out
}

/// Inserts every row of the capture, ids included, into `db`.
pub fn seed(db: &Db) {
    let c = db.conn();
    for q in seed_statements(false) {
        c.execute_batch(&q).unwrap_or_else(|e| panic!("{q}: {e}"));
    }
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in the test's directory.
    Sqlite,
    /// A `falcon_portal` database on a private MariaDB server, made from our DDL of the portal schema.
    Mysql,
}

/// A test's directory and database.
pub struct TestDb {
    /// The directory (config, SQLite file).
    pub dir: PathBuf,
    /// The MariaDB server, for MySQL.
    pub maria: Option<falcon_tests::mariadb::MariaDb>,
}

impl TestDb {
    /// An empty database of `backend` for the test `name`.
    pub fn new(backend: Backend, name: &str) -> TestDb {
        let dir = temp_dir(&format!("{name}-{backend:?}"));
        let maria = (backend == Backend::Mysql).then(|| {
            let m = falcon_tests::mariadb::MariaDb::start().unwrap_or_else(|e| panic!("{e}"));
            m.create_portal("falcon_portal").unwrap_or_else(|e| panic!("{e}"));
            m
        });
        TestDb { dir, maria }
    }

    /// The config's `database`: the SQLite file or Go's DSN.
    pub fn database(&self) -> String {
        match &self.maria {
            Some(m) => m.dsn(falcon_tests::mariadb::USER, falcon_tests::mariadb::PASSWORD, "falcon_portal"),
            None => self.dir.join("hbs.db").display().to_string(),
        }
    }

    /// Loads the captured rows.
    pub fn seed(&self) {
        match &self.maria {
            Some(m) => {
                let all = seed_statements(true).join("; ");
                m.exec(&format!("USE falcon_portal; {all}")).unwrap_or_else(|e| panic!("seed: {e}"));
            }
            None => seed(&Db::open(&self.dir.join("hbs.db")).unwrap()),
        }
    }

    /// The store itself, as the server opens it.
    pub fn store(&self) -> std::sync::Arc<dyn falcon_hbs::store::Store> {
        falcon_hbs::store::open(&self.database(), 4).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Writes an HBS config on this database (free loopback ports, trustable 127.0.0.1).
    pub fn config(&self, extra: &str) -> PathBuf {
        config_with(&self.dir, &self.database(), extra)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// One test body run on both back ends: `both!(name, body_fn)` makes `name_sqlite` and `name_mysql`.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$body(super::Backend::Sqlite)
            }
            #[test]
            fn mysql() {
                super::$body(super::Backend::Mysql)
            }
        }
    };
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
    config_with(dir, &dir.join("hbs.db").display().to_string(), extra)
}

/// Writes a config on `database` into `dir`.
pub fn config_with(dir: &Path, database: &str, extra: &str) -> PathBuf {
    let path = dir.join("cfg.json");
    std::fs::write(
        &path,
        format!(
            r#"{{"debug":false,"hosts":"","database":"{database}","maxConns":20,"maxIdle":15,"listen":"127.0.0.1:0","trustable":["127.0.0.1"],"http":{{"enabled":true,"listen":"127.0.0.1:0"}}{extra}}}"#
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

/// One JSON-RPC request on a new connection; its reply line.
pub fn call(addr: &str, req: &str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    line
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
