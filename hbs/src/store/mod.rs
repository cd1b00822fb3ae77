//! The one interface HBS has to its database ([`Store`]), and the back ends behind it: the embedded SQLite
//! file ([`crate::db`]) and, for an estate's existing `falcon_portal`, MySQL (coming; [`dsn`] parses Go's
//! `database` value). Everything above this trait (caches, RPC, admin, the host-write queue) is written once.

pub mod dsn;

use crate::admin::{Document, Op};
use crate::cache::Snapshot;
pub use crate::db::DbError;
use falcon_proto::model::AgentReportRequest;

/// What a database does for HBS. Calls block: make them from blocking threads (`spawn_blocking`) or the CLI.
pub trait Store: Send + Sync {
    /// The back end's name, for logs (`sqlite`, `mysql`).
    fn kind(&self) -> &'static str;

    /// Every table the caches hold, read consistently.
    fn load(&self) -> Result<Snapshot, DbError>;

    /// Go's heartbeat write for a batch of agents, in one statement or transaction: insert or update the host
    /// rows (`update_only`: config `hosts` set, existing rows only). Returns how many rows were new.
    fn write_hosts(&self, reports: &[AgentReportRequest], update_only: bool) -> Result<usize, DbError>;

    /// One administrative operation, in one transaction; nothing changes on error.
    fn apply(&self, op: &Op) -> Result<String, DbError>;

    /// The whole configuration as a document.
    fn export(&self) -> Result<Document, DbError>;

    /// A value that changes when another process commits, read cheaply (polled every second to reload soon
    /// after an admin change made elsewhere).
    fn change_token(&self) -> Result<i64, DbError>;
}
