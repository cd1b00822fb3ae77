//! The heartbeat's host write for a batch: which hostnames exist (one read), then one multi-row upsert
//! (chunked for SQLite, which takes at most 32,766 parameters per statement). Parameterised: Go's HBS builds
//! this SQL from agent input.

use super::sql::{marks, text, Dialect, Sql, Val};
use super::DbError;
use falcon_proto::model::AgentReportRequest;
use std::collections::HashSet;

/// Rows per statement: MySQL takes 65,535 parameters, SQLite 32,766; four per row.
fn chunk_rows(d: Dialect) -> usize {
    match d {
        Dialect::Sqlite => 8_000,
        Dialect::Mysql => 10_000,
    }
}

/// Writes the batch; `update_only` touches existing rows only. Returns how many rows were new.
pub fn write_hosts(s: &mut dyn Sql, reports: &[AgentReportRequest], update_only: bool) -> Result<usize, DbError> {
    if reports.is_empty() {
        return Ok(0);
    }
    let mut existing = HashSet::new();
    for chunk in reports.chunks(chunk_rows(s.dialect()) * 4) {
        let names: Vec<Val> = chunk.iter().map(|r| Val::from(&r.hostname)).collect();
        let q = format!("SELECT hostname FROM host WHERE hostname IN ({})", marks(names.len()));
        for row in s.rows("read host", &q, &names)? {
            existing.insert(text(&row, 0)?);
        }
    }
    let rows: Vec<&AgentReportRequest> =
        reports.iter().filter(|r| !update_only || existing.contains(&r.hostname)).collect();
    let new = rows.iter().filter(|r| !existing.contains(&r.hostname)).count();
    let tail = s.dialect().on_host_conflict(&["ip", "agent_version", "plugin_version", "update_at"]);
    for chunk in rows.chunks(chunk_rows(s.dialect())) {
        let values = vec!["(?, ?, ?, ?, CURRENT_TIMESTAMP)"; chunk.len()].join(", ");
        let q =
            format!("INSERT INTO host(hostname, ip, agent_version, plugin_version, update_at) VALUES {values} {tail}");
        let params: Vec<Val> = chunk
            .iter()
            .flat_map(|r| [&r.hostname, &r.ip, &r.agent_version, &r.plugin_version].map(Val::from))
            .collect();
        s.exec("write host", &q, &params)?;
    }
    Ok(new)
}

#[cfg(test)]
mod tests {
    use crate::db::Db;
    use crate::store::Store;
    use falcon_proto::model::AgentReportRequest;

    #[test]
    fn upsert_counts_new_rows_and_injection_is_just_data() {
        let db = Db::memory().unwrap();
        let mut r = AgentReportRequest {
            hostname: "h1'; DROP TABLE host; --".into(),
            ip: "1.2.3.4".into(),
            agent_version: "v".into(),
            plugin_version: "p".into(),
        };
        assert_eq!(db.write_hosts(std::slice::from_ref(&r), false).unwrap(), 1);
        r.ip = "5.6.7.8".into();
        let other = AgentReportRequest { hostname: "h2".into(), ..r.clone() };
        assert_eq!(db.write_hosts(&[r.clone(), other], false).unwrap(), 1);
        let ip: String =
            db.conn().query_row("SELECT ip FROM host WHERE hostname=?1", [&r.hostname], |x| x.get(0)).unwrap();
        assert_eq!(ip, "5.6.7.8");
        let unknown = AgentReportRequest { hostname: "unknown".into(), ..r.clone() };
        assert_eq!(db.write_hosts(&[unknown, r], true).unwrap(), 0);
        let n: i64 = db.conn().query_row("SELECT count(*) FROM host", [], |x| x.get(0)).unwrap();
        assert_eq!(n, 2, "update-only never inserts");
    }

    #[test]
    fn a_batch_larger_than_one_statement() {
        let db = Db::memory().unwrap();
        let many: Vec<AgentReportRequest> = (0..20_000)
            .map(|i| AgentReportRequest { hostname: format!("h{i}"), ip: "1".into(), ..Default::default() })
            .collect();
        assert_eq!(db.write_hosts(&many, false).unwrap(), 20_000);
        assert_eq!(db.write_hosts(&many, false).unwrap(), 0);
    }
}
