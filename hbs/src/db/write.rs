//! Writes: the heartbeat's host upsert, a batch per transaction (parameterised: the Go HBS builds this SQL from
//! agent input).

use super::{sql, Db, DbError};
use falcon_proto::model::AgentReportRequest;
use rusqlite::params;

impl Db {
    /// Go's heartbeat write for a batch, in one transaction. Returns how many rows were inserted.
    pub fn report_hosts(&self, reports: &[AgentReportRequest], update_only: bool) -> Result<usize, DbError> {
        let mut c = self.conn();
        let tx = c.transaction().map_err(sql("begin host write"))?;
        let mut inserted = 0;
        for r in reports {
            inserted += usize::from(report_host(&tx, r, update_only)?);
        }
        tx.commit().map_err(sql("commit host write"))?;
        Ok(inserted)
    }

    /// Go's heartbeat write for one agent. `update_only` (config `hosts` non-empty) never inserts. Returns
    /// whether a row was inserted.
    pub fn report_host(&self, r: &AgentReportRequest, update_only: bool) -> Result<bool, DbError> {
        Ok(self.report_hosts(std::slice::from_ref(r), update_only)? == 1)
    }
}

fn report_host(c: &rusqlite::Connection, r: &AgentReportRequest, update_only: bool) -> Result<bool, DbError> {
    if update_only {
        c.execute(
            "UPDATE host SET ip=?1, agent_version=?2, plugin_version=?3, update_at=CURRENT_TIMESTAMP WHERE hostname=?4",
            params![r.ip, r.agent_version, r.plugin_version, r.hostname],
        )
        .map_err(sql("update host"))?;
        return Ok(false);
    }
    let existed: bool = c
        .query_row("SELECT EXISTS(SELECT 1 FROM host WHERE hostname=?1)", params![r.hostname], |row| row.get(0))
        .map_err(sql("read host"))?;
    c.execute(
        "INSERT INTO host(hostname, ip, agent_version, plugin_version) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(hostname) DO UPDATE SET ip=excluded.ip, agent_version=excluded.agent_version,
         plugin_version=excluded.plugin_version, update_at=CURRENT_TIMESTAMP",
        params![r.hostname, r.ip, r.agent_version, r.plugin_version],
    )
    .map_err(sql("upsert host"))?;
    Ok(!existed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsert_and_injection_is_just_data() {
        let db = Db::memory().unwrap();
        let mut r = AgentReportRequest {
            hostname: "h1'; DROP TABLE host; --".into(),
            ip: "1.2.3.4".into(),
            agent_version: "v".into(),
            plugin_version: "p".into(),
        };
        assert!(db.report_host(&r, false).unwrap());
        r.ip = "5.6.7.8".into();
        assert!(!db.report_host(&r, false).unwrap());
        let ip: String =
            db.conn().query_row("SELECT ip FROM host WHERE hostname=?1", [&r.hostname], |x| x.get(0)).unwrap();
        assert_eq!(ip, "5.6.7.8");
        r.hostname = "unknown".into();
        assert!(!db.report_host(&r, true).unwrap());
        let n: i64 = db.conn().query_row("SELECT count(*) FROM host", [], |x| x.get(0)).unwrap();
        assert_eq!(n, 1);
    }
}
