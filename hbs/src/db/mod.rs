//! The embedded back end of [`crate::store::Store`]: SQLite in WAL mode with full syncs (a crash never loses a committed row), migrated
//! forward at open, every statement parameterised.

pub mod schema;

use crate::store::sql::{Dialect, Exec, Row, Sql, Val};
use crate::store::SqlBackend;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

/// Database errors, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite said no.
    #[error("database {what}: {source}")]
    Sql {
        /// What was being done.
        what: String,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The request itself is wrong (unknown group, duplicate name, parent loop...).
    #[error("{0}")]
    Invalid(String),
    /// A unique key refused the row.
    #[error("database {what}: duplicate key")]
    Duplicate {
        /// What was being done.
        what: String,
    },
    /// A server back end (MySQL) said no, or could not be reached.
    #[error("database {what}: {message}")]
    Backend {
        /// What was being done.
        what: String,
        /// The server's or the client's message.
        message: String,
    },
}

/// Wraps a rusqlite error with context.
pub fn sql(what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> DbError {
    let what = what.into();
    move |source| DbError::Sql { what, source }
}

/// The database handle (one connection: HBS writes little, and reads come from the caches).
pub struct Db {
    conn: Mutex<Connection>,
}

impl Db {
    /// Opens (creating) `path` and migrates it.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbError::Invalid(format!("database directory {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path).map_err(sql(format!("open {}", path.display())))?;
        Self::init(conn)
    }

    /// An in-memory database (tests, benchmarks).
    pub fn memory() -> Result<Db, DbError> {
        Self::init(Connection::open_in_memory().map_err(sql("open :memory:"))?)
    }

    fn init(conn: Connection) -> Result<Db, DbError> {
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;",
        )
        .map_err(sql("set pragmas"))?;
        let db = Db { conn: Mutex::new(conn) };
        db.migrate()?;
        Ok(db)
    }

    /// The connection.
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        match self.conn.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        }
    }

    /// Applies the migrations this database lacks, each in a transaction.
    pub fn migrate(&self) -> Result<usize, DbError> {
        let mut c = self.conn();
        let have: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(sql("read user_version"))?;
        let mut applied = 0;
        for (i, m) in schema::MIGRATIONS.iter().enumerate().skip(have.max(0) as usize) {
            let tx = c.transaction().map_err(sql("begin migration"))?;
            tx.execute_batch(m).map_err(sql(format!("migration {}", i + 1)))?;
            tx.execute_batch(&format!("PRAGMA user_version={}", i + 1)).map_err(sql("set user_version"))?;
            tx.commit().map_err(sql("commit migration"))?;
            applied += 1;
        }
        Ok(applied)
    }
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Val::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Val::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

fn from_ref(v: rusqlite::types::ValueRef<'_>) -> Val {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Val::Null,
        ValueRef::Integer(i) => Val::Int(i),
        ValueRef::Real(f) => Val::Text(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
    }
}

/// [`Sql`] over one open SQLite transaction.
struct SqliteTx<'a> {
    tx: &'a rusqlite::Transaction<'a>,
}

impl Sql for SqliteTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn rows(&mut self, what: &str, q: &str, params: &[Val]) -> Result<Vec<Row>, DbError> {
        let mut stmt = self.tx.prepare_cached(q).map_err(sql(what))?;
        let n = stmt.column_count();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                (0..n).map(|i| r.get_ref(i).map(from_ref)).collect::<rusqlite::Result<Row>>()
            })
            .map_err(sql(what))?;
        rows.collect::<Result<_, _>>().map_err(sql(what))
    }

    fn exec(&mut self, what: &str, q: &str, params: &[Val]) -> Result<Exec, DbError> {
        match self.tx.execute(q, rusqlite::params_from_iter(params.iter())) {
            Ok(n) => Ok(Exec { affected: n as u64, last_id: self.tx.last_insert_rowid() }),
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                Err(DbError::Duplicate { what: what.to_string() })
            }
            Err(e) => Err(DbError::Sql { what: what.to_string(), source: e }),
        }
    }
}

impl SqlBackend for Db {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn tx(&self, f: &mut dyn FnMut(&mut dyn Sql) -> Result<(), DbError>) -> Result<(), DbError> {
        let mut c = self.conn();
        let tx = c.transaction().map_err(sql("begin"))?;
        f(&mut SqliteTx { tx: &tx })?;
        tx.commit().map_err(sql("commit"))
    }

    /// SQLite's `data_version`: it changes when another connection commits.
    fn change_token(&self) -> Result<i64, DbError> {
        self.conn().query_row("PRAGMA data_version", [], |r| r.get(0)).map_err(sql("read data_version"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_reopens() {
        let dir = std::env::temp_dir().join(format!("falcon-hbs-db-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("hbs.db");
        let db = Db::open(&path).unwrap();
        assert_eq!(db.migrate().unwrap(), 0);
        let v: i64 = db.conn().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v as usize, schema::MIGRATIONS.len());
        let mode: String = db.conn().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        drop(db);
        assert_eq!(Db::open(&path).unwrap().migrate().unwrap(), 0);
        std::fs::remove_dir_all(&dir).ok();
    }
}
