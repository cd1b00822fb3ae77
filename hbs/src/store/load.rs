//! Reading every table HBS caches, in one transaction: the columns Go's HBS reads, nothing else, so that a
//! portal database with more tables or columns (later falcon-plus versions) works as it is.

use super::sql::{int, text, Row, Sql};
use super::DbError;
use crate::cache::{ExpressionRow, HostRow, Snapshot, StrategyRow};
use falcon_proto::model::Template;
use std::collections::HashMap;

/// Everything the caches hold.
pub fn load(s: &mut dyn Sql) -> Result<Snapshot, DbError> {
    let order = s.dialect().insertion_order();
    let mut snap = Snapshot::default();
    for r in s.rows("read host", "SELECT id, hostname, maintain_begin, maintain_end FROM host ORDER BY id", &[])? {
        let h =
            HostRow { id: int(&r, 0)?, hostname: text(&r, 1)?, maintain_begin: int(&r, 2)?, maintain_end: int(&r, 3)? };
        snap.host_ids.insert(h.hostname.clone(), h.id);
        snap.hosts.insert(h.id, h);
    }
    let pairs = |rows: Vec<Row>| -> Result<Vec<(i64, i64)>, DbError> {
        rows.iter().map(|r| Ok((int(r, 0)?, int(r, 1)?))).collect()
    };
    snap.host_groups =
        grouped(pairs(s.rows("read grp_host", &format!("SELECT host_id, grp_id FROM grp_host {order}"), &[])?)?);
    for r in s.rows("read grp", "SELECT id, grp_name FROM grp ORDER BY id", &[])? {
        snap.group_names.insert(int(&r, 0)?, text(&r, 1)?);
    }
    snap.group_templates =
        grouped(pairs(s.rows("read grp_tpl", &format!("SELECT grp_id, tpl_id FROM grp_tpl {order}"), &[])?)?);
    let dirs = s.rows("read plugin_dir", "SELECT grp_id, dir FROM plugin_dir ORDER BY id", &[])?;
    snap.group_plugins = grouped(dirs.iter().map(|r| Ok((int(r, 0)?, text(r, 1)?))).collect::<Result<_, DbError>>()?);
    let tpls =
        s.rows("read tpl", "SELECT id, tpl_name, parent_id, action_id, create_user FROM tpl ORDER BY id", &[])?;
    for r in tpls {
        let t = Template {
            id: int(&r, 0)?,
            name: text(&r, 1)?,
            parent_id: int(&r, 2)?,
            action_id: int(&r, 3)?,
            creator: text(&r, 4)?,
        };
        snap.templates.insert(t.id, t);
    }
    let strategies = s.rows(
        "read strategy",
        "SELECT id, metric, tags, max_step, priority, func, op, right_value, note, run_begin, run_end, tpl_id
         FROM strategy ORDER BY id",
        &[],
    )?;
    snap.strategies = strategies
        .iter()
        .map(|r| {
            Ok(StrategyRow {
                id: int(r, 0)?,
                metric: text(r, 1)?,
                tags: text(r, 2)?,
                max_step: int(r, 3)?,
                priority: int(r, 4)?,
                func: text(r, 5)?,
                op: text(r, 6)?,
                right_value: text(r, 7)?,
                note: text(r, 8)?,
                run_begin: text(r, 9)?,
                run_end: text(r, 10)?,
                tpl_id: int(r, 11)?,
            })
        })
        .collect::<Result<_, DbError>>()?;
    let expressions = s.rows(
        "read expression",
        "SELECT id, expression, func, op, right_value, max_step, priority, note, action_id
         FROM expression WHERE action_id > 0 AND pause = 0 ORDER BY id",
        &[],
    )?;
    snap.expression_rows = expressions
        .iter()
        .map(|r| {
            Ok(ExpressionRow {
                id: int(r, 0)?,
                expression: text(r, 1)?,
                func: text(r, 2)?,
                op: text(r, 3)?,
                right_value: text(r, 4)?,
                max_step: int(r, 5)?,
                priority: int(r, 6)?,
                note: text(r, 7)?,
                action_id: int(r, 8)?,
            })
        })
        .collect::<Result<_, DbError>>()?;
    snap.derive();
    Ok(snap)
}

/// key -> values, in row order.
fn grouped<V>(rows: Vec<(i64, V)>) -> HashMap<i64, Vec<V>> {
    let mut out: HashMap<i64, Vec<V>> = HashMap::new();
    for (k, v) in rows {
        out.entry(k).or_default().push(v);
    }
    out
}
