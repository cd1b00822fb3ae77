//! The one interface HBS has to its database ([`Store`]) and everything written once above the back ends:
//! the cache load ([`load`]), the heartbeat host write ([`hosts`]) and the admin operations
//! ([`crate::admin`]), all over [`sql::Sql`]. A back end ([`SqlBackend`]) only opens transactions and runs
//! statements: the embedded SQLite file ([`crate::db`]) and, for an estate's existing `falcon_portal`, MySQL
//! ([`mysql`]; [`dsn`] parses Go's `database` value).

pub mod dsn;
pub mod hosts;
pub mod load;
pub mod mysql;
pub mod sql;

use crate::admin::{Document, Op};
use crate::cache::Snapshot;
pub use crate::db::DbError;
use falcon_proto::model::AgentReportRequest;
use sql::Sql;
use std::sync::Arc;
use std::time::Duration;

/// What a database does for HBS. Calls block: make them from blocking threads (`spawn_blocking`) or the CLI.
pub trait Store: Send + Sync {
    /// The back end's name, for logs (`sqlite`, `mysql`).
    fn kind(&self) -> &'static str;

    /// Every table the caches hold, read in one transaction.
    fn load(&self) -> Result<Snapshot, DbError>;

    /// Go's heartbeat write for a batch of agents, in one transaction: insert or update the host rows
    /// (`update_only`: config `hosts` set, existing rows only). Returns how many rows were new.
    fn write_hosts(&self, reports: &[AgentReportRequest], update_only: bool) -> Result<usize, DbError>;

    /// One administrative operation, in one transaction; nothing changes on error.
    fn apply(&self, op: &Op) -> Result<String, DbError>;

    /// The whole configuration as a document.
    fn export(&self) -> Result<Document, DbError>;

    /// A value that changes when another process commits, read cheaply (polled every
    /// [`Store::change_poll`] to reload soon after an admin change made elsewhere).
    fn change_token(&self) -> Result<i64, DbError>;

    /// How often [`Store::change_token`] is read.
    fn change_poll(&self) -> Duration;
}

/// Opens the store `database` names: Go's MySQL DSN, or a SQLite file (created and migrated). A MySQL server
/// that cannot be reached or refuses the login is an error here.
pub fn open(database: &str, max_conns: i64) -> Result<Arc<dyn Store>, DbError> {
    if dsn::is_dsn(database) {
        let d = dsn::parse(database).map_err(|e| DbError::Invalid(format!("database: MySQL DSN: {e}")))?;
        Ok(Arc::new(mysql::MysqlStore::open(&d, max_conns)?))
    } else {
        Ok(Arc::new(crate::db::Db::open(std::path::Path::new(database))?))
    }
}

/// What a back end provides: transactions over [`Sql`] and its change token.
pub trait SqlBackend: Send + Sync {
    /// The back end's name.
    fn kind(&self) -> &'static str;

    /// Runs `f` in one transaction, committed when it returns Ok and rolled back otherwise.
    fn tx(&self, f: &mut dyn FnMut(&mut dyn Sql) -> Result<(), DbError>) -> Result<(), DbError>;

    /// See [`Store::change_token`].
    fn change_token(&self) -> Result<i64, DbError>;

    /// See [`Store::change_poll`].
    fn change_poll(&self) -> Duration {
        Duration::from_secs(1)
    }
}

/// Runs `f` in a transaction of `b` and returns its value.
pub fn in_tx<T>(b: &dyn SqlBackend, f: impl FnOnce(&mut dyn Sql) -> Result<T, DbError>) -> Result<T, DbError> {
    let mut f = Some(f);
    let mut out = None;
    b.tx(&mut |s| {
        let f = f.take().ok_or_else(|| DbError::Invalid("transaction body run twice".into()))?;
        out = Some(f(s)?);
        Ok(())
    })?;
    out.ok_or_else(|| DbError::Invalid("transaction ended without a result".into()))
}

impl<B: SqlBackend> Store for B {
    fn kind(&self) -> &'static str {
        SqlBackend::kind(self)
    }

    fn load(&self) -> Result<Snapshot, DbError> {
        in_tx(self, load::load)
    }

    fn write_hosts(&self, reports: &[AgentReportRequest], update_only: bool) -> Result<usize, DbError> {
        in_tx(self, |s| hosts::write_hosts(s, reports, update_only))
    }

    fn apply(&self, op: &Op) -> Result<String, DbError> {
        in_tx(self, |s| crate::admin::apply_in(s, op))
    }

    fn export(&self) -> Result<Document, DbError> {
        in_tx(self, crate::admin::export)
    }

    fn change_token(&self) -> Result<i64, DbError> {
        SqlBackend::change_token(self)
    }

    fn change_poll(&self) -> Duration {
        SqlBackend::change_poll(self)
    }
}
