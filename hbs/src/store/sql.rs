//! The little a back end provides so that every query HBS runs is written once: rows and statements with
//! positional `?` parameters inside a transaction ([`Sql`]), the few places where SQLite and MySQL spell a
//! statement differently ([`Dialect`]), and plain values ([`Val`]).

use super::DbError;

/// A column value or a parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// Any integer column (ids, counts, flags, unix times).
    Int(i64),
    /// Any text column.
    Text(String),
    /// SQL NULL.
    Null,
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}

impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Val::Int(i64::from(v))
    }
}

impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_string())
    }
}

impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Val::Text(v.clone())
    }
}

/// One result row.
pub type Row = Vec<Val>;

/// Column `i` as an integer (NULL is 0, as Go's scan into an int of a NULL-free portal column never sees one).
pub fn int(row: &Row, i: usize) -> Result<i64, DbError> {
    match row.get(i) {
        Some(Val::Int(v)) => Ok(*v),
        Some(Val::Null) => Ok(0),
        Some(Val::Text(t)) => {
            t.trim().parse().map_err(|_| DbError::Invalid(format!("column {i}: {t:?} is not an integer")))
        }
        None => Err(DbError::Invalid(format!("row has no column {i}"))),
    }
}

/// Column `i` as text (NULL is empty; integers are printed).
pub fn text(row: &Row, i: usize) -> Result<String, DbError> {
    match row.get(i) {
        Some(Val::Text(t)) => Ok(t.clone()),
        Some(Val::Int(v)) => Ok(v.to_string()),
        Some(Val::Null) => Ok(String::new()),
        None => Err(DbError::Invalid(format!("row has no column {i}"))),
    }
}

/// What a statement did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exec {
    /// Rows changed (MySQL: 1 per insert, 2 per updated upsert row).
    pub affected: u64,
    /// The id of the last inserted row.
    pub last_id: i64,
}

/// Which SQL the back end speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3.35+.
    Sqlite,
    /// MySQL 5.6+ and MariaDB.
    Mysql,
}

impl Dialect {
    /// `INSERT` that skips a row whose key exists.
    pub fn insert_ignore(self) -> &'static str {
        match self {
            Dialect::Sqlite => "INSERT OR IGNORE",
            Dialect::Mysql => "INSERT IGNORE",
        }
    }

    /// The tail of an `INSERT INTO host(...)` that updates the named columns of an existing hostname instead.
    pub fn on_host_conflict(self, cols: &[&str]) -> String {
        match self {
            Dialect::Sqlite => {
                let set: Vec<String> = cols.iter().map(|c| format!("{c}=excluded.{c}")).collect();
                format!("ON CONFLICT(hostname) DO UPDATE SET {}", set.join(", "))
            }
            Dialect::Mysql => {
                let set: Vec<String> = cols.iter().map(|c| format!("{c}=VALUES({c})")).collect();
                format!("ON DUPLICATE KEY UPDATE {}", set.join(", "))
            }
        }
    }

    /// `ORDER BY` for the link tables, which have no id: insertion order, as Go's MySQL scan returns them.
    pub fn insertion_order(self) -> &'static str {
        match self {
            Dialect::Sqlite => "ORDER BY rowid",
            // InnoDB returns a table without a primary key in its hidden row-id order.
            Dialect::Mysql => "",
        }
    }
}

/// One transaction's worth of SQL.
pub trait Sql {
    /// The dialect.
    fn dialect(&self) -> Dialect;

    /// Every row of a query; `what` names it in errors.
    fn rows(&mut self, what: &str, q: &str, params: &[Val]) -> Result<Vec<Row>, DbError>;

    /// A statement. A unique-key violation is [`DbError::Duplicate`].
    fn exec(&mut self, what: &str, q: &str, params: &[Val]) -> Result<Exec, DbError>;

    /// The first column of the first row, if any.
    fn one(&mut self, what: &str, q: &str, params: &[Val]) -> Result<Option<Val>, DbError> {
        Ok(self.rows(what, q, params)?.into_iter().next().and_then(|r| r.into_iter().next()))
    }
}

/// `?, ?, ?` for `n` parameters.
pub fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_dialects() {
        let row = vec![Val::Int(3), Val::Text("x".into()), Val::Null, Val::Text(" 7 ".into())];
        assert_eq!((int(&row, 0).unwrap(), text(&row, 1).unwrap()), (3, "x".to_string()));
        assert_eq!((int(&row, 2).unwrap(), text(&row, 2).unwrap(), int(&row, 3).unwrap()), (0, String::new(), 7));
        assert!(int(&row, 1).is_err() && int(&row, 9).is_err());
        assert_eq!(
            Dialect::Mysql.on_host_conflict(&["ip", "agent_version"]),
            "ON DUPLICATE KEY UPDATE ip=VALUES(ip), agent_version=VALUES(agent_version)"
        );
        assert_eq!(Dialect::Sqlite.on_host_conflict(&["ip"]), "ON CONFLICT(hostname) DO UPDATE SET ip=excluded.ip");
        assert_eq!(marks(3), "?, ?, ?");
    }
}
