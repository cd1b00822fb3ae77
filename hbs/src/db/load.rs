//! Reading every table HBS caches, in one read transaction.

use super::{query_all, sql, Db, DbError};
use crate::cache::{ExpressionRow, HostRow, Snapshot, StrategyRow};
use falcon_proto::model::Template;
use std::collections::HashMap;

impl Db {
    /// Everything the caches hold.
    pub fn load(&self) -> Result<Snapshot, DbError> {
        let mut c = self.conn();
        let tx = c.transaction().map_err(sql("begin read"))?;
        let mut s = Snapshot::default();
        let hosts = query_all(
            &tx,
            "read host",
            "SELECT id, hostname, maintain_begin, maintain_end FROM host ORDER BY id",
            [],
            |r| Ok(HostRow { id: r.get(0)?, hostname: r.get(1)?, maintain_begin: r.get(2)?, maintain_end: r.get(3)? }),
        )?;
        for h in hosts {
            s.host_ids.insert(h.hostname.clone(), h.id);
            s.hosts.insert(h.id, h);
        }
        s.host_groups =
            grouped(query_all(&tx, "read grp_host", "SELECT host_id, grp_id FROM grp_host ORDER BY rowid", [], pair)?);
        s.group_templates =
            grouped(query_all(&tx, "read grp_tpl", "SELECT grp_id, tpl_id FROM grp_tpl ORDER BY rowid", [], pair)?);
        s.group_plugins =
            grouped(query_all(&tx, "read plugin_dir", "SELECT grp_id, dir FROM plugin_dir ORDER BY id", [], pair)?);
        let templates = query_all(
            &tx,
            "read tpl",
            "SELECT id, tpl_name, parent_id, action_id, create_user FROM tpl ORDER BY id",
            [],
            |r| {
                Ok(Template {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    parent_id: r.get(2)?,
                    action_id: r.get(3)?,
                    creator: r.get(4)?,
                })
            },
        )?;
        s.templates = templates.into_iter().map(|t| (t.id, t)).collect();
        s.strategies = query_all(
            &tx,
            "read strategy",
            "SELECT id, metric, tags, max_step, priority, func, op, right_value, note, run_begin, run_end, tpl_id
             FROM strategy ORDER BY id",
            [],
            |r| {
                Ok(StrategyRow {
                    id: r.get(0)?,
                    metric: r.get(1)?,
                    tags: r.get(2)?,
                    max_step: r.get(3)?,
                    priority: r.get(4)?,
                    func: r.get(5)?,
                    op: r.get(6)?,
                    right_value: r.get(7)?,
                    note: r.get(8)?,
                    run_begin: r.get(9)?,
                    run_end: r.get(10)?,
                    tpl_id: r.get(11)?,
                })
            },
        )?;
        s.expression_rows = query_all(
            &tx,
            "read expression",
            "SELECT id, expression, func, op, right_value, max_step, priority, note, action_id
             FROM expression WHERE action_id > 0 AND pause = 0 ORDER BY id",
            [],
            |r| {
                Ok(ExpressionRow {
                    id: r.get(0)?,
                    expression: r.get(1)?,
                    func: r.get(2)?,
                    op: r.get(3)?,
                    right_value: r.get(4)?,
                    max_step: r.get(5)?,
                    priority: r.get(6)?,
                    note: r.get(7)?,
                    action_id: r.get(8)?,
                })
            },
        )?;
        tx.commit().map_err(sql("end read"))?;
        s.derive();
        Ok(s)
    }
}

fn pair<V: rusqlite::types::FromSql>(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, V)> {
    Ok((r.get(0)?, r.get(1)?))
}

/// key -> values, in row order.
fn grouped<V>(rows: Vec<(i64, V)>) -> HashMap<i64, Vec<V>> {
    let mut out: HashMap<i64, Vec<V>> = HashMap::new();
    for (k, v) in rows {
        out.entry(k).or_default().push(v);
    }
    out
}
