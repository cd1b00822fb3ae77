//! The MySQL back end: an estate's existing `falcon_portal` (MySQL 5.6+ or MariaDB), as the Go HBS's DSN names
//! it. The tables belong to the portal: nothing here creates, alters or migrates them, and the queries read only
//! the columns Go's HBS reads ([`super::load`]).
//!
//! The client is `mysql_async` on a runtime of its own (one worker thread), so the pool keeps its connections
//! alive between calls and the [`super::Store`] calls stay blocking, like SQLite's: each statement is one
//! `block_on` from the caller's blocking thread, bounded by the DSN's read/write timeout, and getting a
//! connection by its connect timeout. A database that goes away makes calls fail fast; the pool reconnects
//! by itself when it returns.

use super::dsn::{Dsn, Endpoint};
use super::sql::{Dialect, Exec, Row, Sql, Val};
use super::{DbError, SqlBackend};
use mysql_async::prelude::Queryable;
use mysql_async::{OptsBuilder, Params, Pool, PoolConstraints, PoolOpts, TxOpts, Value};
use std::future::Future;
use std::time::Duration;

/// MySQL's duplicate-key error (ER_DUP_ENTRY).
const ER_DUP_ENTRY: u16 = 1062;
/// The configuration tables whose checksums make the change token (small: hosts are counted, not summed).
const CONFIG_TABLES: &str = "grp, grp_host, tpl, grp_tpl, strategy, expression, plugin_dir";

/// A pool on a `falcon_portal` database.
pub struct MysqlStore {
    /// Always Some until dropped (see the Drop impl).
    rt: Option<tokio::runtime::Runtime>,
    pool: Pool,
    connect_timeout: Duration,
    io_timeout: Duration,
    /// `host:port` or the socket, for messages.
    server: String,
}

fn backend(what: &str, e: impl std::fmt::Display) -> DbError {
    DbError::Backend { what: what.to_string(), message: e.to_string() }
}

fn to_value(v: &Val) -> Value {
    match v {
        Val::Int(i) => Value::Int(*i),
        Val::Text(t) => Value::Bytes(t.as_bytes().to_vec()),
        Val::Null => Value::NULL,
    }
}

fn from_value(v: Value) -> Val {
    match v {
        Value::NULL => Val::Null,
        Value::Int(i) => Val::Int(i),
        Value::UInt(u) => Val::Int(i64::try_from(u).unwrap_or(i64::MAX)),
        Value::Bytes(b) => Val::Text(String::from_utf8_lossy(&b).into_owned()),
        Value::Float(f) => Val::Text(f.to_string()),
        Value::Double(f) => Val::Text(f.to_string()),
        Value::Date(y, mo, d, h, mi, s, _) => Val::Text(format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")),
        Value::Time(neg, d, h, mi, s, _) => {
            Val::Text(format!("{}{:02}:{mi:02}:{s:02}", if neg { "-" } else { "" }, u32::from(h) + d * 24))
        }
    }
}

fn params(p: &[Val]) -> Params {
    if p.is_empty() {
        Params::Empty
    } else {
        Params::Positional(p.iter().map(to_value).collect())
    }
}

fn sql_error(what: &str, e: mysql_async::Error) -> DbError {
    match e {
        mysql_async::Error::Server(s) if s.code == ER_DUP_ENTRY => DbError::Duplicate { what: what.to_string() },
        e => backend(what, e),
    }
}

impl MysqlStore {
    /// A pool of at most `max_conns` connections for `dsn`; one connection is made now, so that a wrong
    /// password, an unknown database or an unreachable server is an error at start.
    pub fn open(dsn: &Dsn, max_conns: i64) -> Result<MysqlStore, DbError> {
        for p in &dsn.ignored {
            tracing::info!(parameter = %p, "DSN parameter does not apply here; ignored");
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("mysql")
            .enable_all()
            .build()
            .map_err(|e| backend("start the MySQL client", e))?;
        let max = usize::try_from(max_conns).unwrap_or(1).max(1);
        let constraints =
            PoolConstraints::new(0, max).ok_or_else(|| DbError::Invalid("maxConns must be at least 1".into()))?;
        let mut opts = OptsBuilder::default()
            .user(Some(dsn.user.clone()).filter(|u| !u.is_empty()))
            .pass(Some(dsn.password.clone()).filter(|p| !p.is_empty()))
            .db_name(Some(dsn.database.clone()))
            .prefer_socket(false)
            .pool_opts(PoolOpts::default().with_constraints(constraints));
        let server = match &dsn.endpoint {
            Endpoint::Tcp { host, port } => {
                opts = opts.ip_or_hostname(host.clone()).tcp_port(*port);
                format!("{host}:{port}")
            }
            Endpoint::Unix(path) => {
                opts = opts.socket(Some(path.clone()));
                path.clone()
            }
        };
        let pool = {
            // The pool spawns its housekeeping on the runtime it is made in.
            let _guard = rt.enter();
            Pool::new(opts)
        };
        let store =
            MysqlStore { rt: Some(rt), pool, connect_timeout: dsn.connect_timeout, io_timeout: dsn.io_timeout, server };
        store.ping()?;
        Ok(store)
    }

    /// One round trip on a pooled connection.
    pub fn ping(&self) -> Result<(), DbError> {
        let what = format!("connect to {}", self.server);
        self.run(&what, self.connect_timeout + self.io_timeout, async {
            let mut c = self.pool.get_conn().await?;
            c.ping().await
        })
    }

    /// Runs `fut` on the client's runtime, bounded by `limit`.
    fn run<T>(
        &self,
        what: &str,
        limit: Duration,
        fut: impl Future<Output = mysql_async::Result<T>>,
    ) -> Result<T, DbError> {
        let Some(rt) = &self.rt else { return Err(backend(what, "the MySQL client is shut down")) };
        // The timer must be made inside the runtime: build the timeout in the future it drives.
        match rt.block_on(async move { tokio::time::timeout(limit, fut).await }) {
            Ok(r) => r.map_err(|e| sql_error(what, e)),
            Err(_) => Err(backend(what, format!("no answer from {} in {limit:?}", self.server))),
        }
    }
}

impl Drop for MysqlStore {
    /// The store may be dropped inside another runtime (at the end of `main`'s async body), where dropping a
    /// runtime would block and panic: shut the client's runtime down without waiting.
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// [`Sql`] over one MySQL transaction.
struct MysqlTx<'a> {
    store: &'a MysqlStore,
    tx: mysql_async::Transaction<'static>,
}

impl Sql for MysqlTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn rows(&mut self, what: &str, q: &str, p: &[Val]) -> Result<Vec<Row>, DbError> {
        let tx = &mut self.tx;
        let rows: Vec<mysql_async::Row> = self.store.run(what, self.store.io_timeout, tx.exec(q, params(p)))?;
        Ok(rows.into_iter().map(|r| r.unwrap().into_iter().map(from_value).collect()).collect())
    }

    fn exec(&mut self, what: &str, q: &str, p: &[Val]) -> Result<Exec, DbError> {
        let tx = &mut self.tx;
        self.store.run(what, self.store.io_timeout, tx.exec_drop(q, params(p)))?;
        let last_id = self.tx.last_insert_id().and_then(|i| i64::try_from(i).ok()).unwrap_or(0);
        Ok(Exec { affected: self.tx.affected_rows(), last_id })
    }
}

impl SqlBackend for MysqlStore {
    fn kind(&self) -> &'static str {
        "mysql"
    }

    fn tx(&self, f: &mut dyn FnMut(&mut dyn Sql) -> Result<(), DbError>) -> Result<(), DbError> {
        let begin = format!("begin a transaction on {}", self.server);
        let tx =
            self.run(&begin, self.connect_timeout + self.io_timeout, self.pool.start_transaction(TxOpts::default()))?;
        let mut t = MysqlTx { store: self, tx };
        f(&mut t)?;
        // On error the transaction is dropped: mysql_async rolls it back before the connection is reused.
        self.run("commit", self.io_timeout, t.tx.commit())
    }

    /// Checksumming tables costs more than SQLite's counter read: every 5 s.
    fn change_poll(&self) -> Duration {
        Duration::from_secs(5)
    }

    /// MySQL has no `data_version`: the checksums of the (small) configuration tables and, for `host`, the
    /// row count, the highest id and the sum of the maintenance columns, so that heartbeats (ip, versions) do
    /// not count as changes but an added host or a maintenance window does.
    fn change_token(&self) -> Result<i64, DbError> {
        let q = format!("CHECKSUM TABLE {CONFIG_TABLES}");
        let host = "SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(SUM(maintain_begin), 0) + COALESCE(SUM(maintain_end), 0) FROM host";
        let (sums, counts): (Vec<mysql_async::Row>, Vec<mysql_async::Row>) =
            self.run("read change token", self.connect_timeout + self.io_timeout, async {
                let mut c = self.pool.get_conn().await?;
                let sums = c.query(q).await?;
                let counts = c.query(host).await?;
                Ok((sums, counts))
            })?;
        let mut h = crc32fast::Hasher::new();
        for r in sums.into_iter().chain(counts) {
            for v in r.unwrap() {
                h.update(format!("{:?};", from_value(v)).as_bytes());
            }
        }
        Ok(i64::from(h.finalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_both_ways() {
        assert_eq!(from_value(Value::UInt(5)), Val::Int(5));
        assert_eq!(from_value(Value::Bytes(b"x".to_vec())), Val::Text("x".into()));
        assert_eq!(from_value(Value::NULL), Val::Null);
        assert_eq!(from_value(Value::Date(2026, 11, 27, 1, 2, 3, 0)), Val::Text("2026-11-27 01:02:03".into()));
        assert_eq!(to_value(&Val::Text("a".into())), Value::Bytes(b"a".to_vec()));
        assert!(matches!(params(&[]), Params::Empty));
    }

    #[test]
    fn an_unreachable_server_is_a_clear_error_at_open() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dsn = super::super::dsn::parse(&format!("u:p@tcp(127.0.0.1:{port})/falcon_portal?timeout=2s")).unwrap();
        let t = std::time::Instant::now();
        let e = MysqlStore::open(&dsn, 4).err().unwrap().to_string();
        assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
        assert!(t.elapsed() < Duration::from_secs(10));
    }
}
