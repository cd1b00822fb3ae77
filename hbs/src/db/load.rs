//! Reading every table HBS caches, in one read transaction.

use super::{sql, Db, DbError};
use crate::cache::{HostRow, Snapshot, StrategyRow};
use falcon_proto::model::Template;
use std::collections::BTreeMap;

impl Db {
    /// Everything the caches hold.
    pub fn load(&self) -> Result<Snapshot, DbError> {
        let mut c = self.conn();
        let tx = c.transaction().map_err(sql("begin read"))?;
        let mut s = Snapshot::default();
        {
            let mut q = tx
                .prepare("SELECT id, hostname, maintain_begin, maintain_end FROM host ORDER BY id")
                .map_err(sql("read host"))?;
            let rows = q
                .query_map([], |r| {
                    Ok(HostRow {
                        id: r.get(0)?,
                        hostname: r.get(1)?,
                        maintain_begin: r.get(2)?,
                        maintain_end: r.get(3)?,
                    })
                })
                .map_err(sql("read host"))?;
            for h in rows {
                let h = h.map_err(sql("read host"))?;
                s.host_ids.insert(h.hostname.clone(), h.id);
                s.hosts.insert(h.id, h);
            }
        }
        s.host_groups = pairs(&tx, "SELECT host_id, grp_id FROM grp_host ORDER BY rowid")?;
        s.group_templates = pairs(&tx, "SELECT grp_id, tpl_id FROM grp_tpl ORDER BY rowid")?;
        {
            let mut q = tx.prepare("SELECT grp_id, dir FROM plugin_dir ORDER BY id").map_err(sql("read plugin_dir"))?;
            let rows = q
                .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                .map_err(sql("read plugin_dir"))?;
            for row in rows {
                let (g, d) = row.map_err(sql("read plugin_dir"))?;
                s.group_plugins.entry(g).or_default().push(d);
            }
        }
        {
            let mut q = tx
                .prepare("SELECT id, tpl_name, parent_id, action_id, create_user FROM tpl ORDER BY id")
                .map_err(sql("read tpl"))?;
            let rows = q
                .query_map([], |r| {
                    Ok(Template {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        parent_id: r.get(2)?,
                        action_id: r.get(3)?,
                        creator: r.get(4)?,
                    })
                })
                .map_err(sql("read tpl"))?;
            let mut t = BTreeMap::new();
            for row in rows {
                let row = row.map_err(sql("read tpl"))?;
                t.insert(row.id, row);
            }
            s.templates = t;
        }
        {
            let mut q = tx
                .prepare(
                    "SELECT id, metric, tags, max_step, priority, func, op, right_value, note, run_begin, run_end, tpl_id
                     FROM strategy ORDER BY id",
                )
                .map_err(sql("read strategy"))?;
            let rows = q
                .query_map([], |r| {
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
                })
                .map_err(sql("read strategy"))?;
            for row in rows {
                s.strategies.push(row.map_err(sql("read strategy"))?);
            }
        }
        {
            let mut q = tx
                .prepare(
                    "SELECT id, expression, func, op, right_value, max_step, priority, note, action_id
                     FROM expression WHERE action_id > 0 AND pause = 0 ORDER BY id",
                )
                .map_err(sql("read expression"))?;
            let rows = q
                .query_map([], |r| {
                    Ok(crate::cache::ExpressionRow {
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
                })
                .map_err(sql("read expression"))?;
            for row in rows {
                s.expression_rows.push(row.map_err(sql("read expression"))?);
            }
        }
        tx.commit().map_err(sql("end read"))?;
        s.derive();
        Ok(s)
    }
}

fn pairs(tx: &rusqlite::Transaction<'_>, q: &str) -> Result<std::collections::HashMap<i64, Vec<i64>>, DbError> {
    let mut out: std::collections::HashMap<i64, Vec<i64>> = Default::default();
    let mut stmt = tx.prepare(q).map_err(sql(q.to_string()))?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))).map_err(sql(q.to_string()))?;
    for row in rows {
        let (k, v) = row.map_err(sql(q.to_string()))?;
        out.entry(k).or_default().push(v);
    }
    Ok(out)
}
