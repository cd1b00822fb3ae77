//! Administration without Go's portal: operations on hosts, groups, templates, strategies, expressions and
//! plugin dirs, and the whole configuration as one JSON document (export / import). The command line
//! (`falcon-hbs admin ...`) and the HTTP API (`/admin/...`) both run these. Every operation is one transaction,
//! validated first: bad input gets a clear error and changes nothing.

use crate::db::{query_all, sql, Db, DbError};
use rusqlite::{params, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

/// A host in the document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HostDoc {
    /// Endpoint name.
    pub hostname: String,
    /// Last reported IP.
    pub ip: String,
    /// Maintenance start (unix s, 0 = none).
    pub maintain_begin: i64,
    /// Maintenance end (unix s).
    pub maintain_end: i64,
}

/// A group: its hosts, bound templates and plugin dirs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GroupDoc {
    /// Unique name.
    pub name: String,
    /// Member hostnames.
    pub hosts: Vec<String>,
    /// Bound template names.
    pub templates: Vec<String>,
    /// Plugin dirs or files (`sys/ntp`, `sys/x/60_x.sh(a,b)`).
    pub plugins: Vec<String>,
}

/// A strategy of a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StrategyDoc {
    /// Metric.
    pub metric: String,
    /// `k=v,k=v`.
    pub tags: String,
    /// `all(#1)`.
    pub func: String,
    /// Comparison operator.
    pub op: String,
    /// Threshold (text, as in the database).
    pub right_value: String,
    /// Alarms before it stops.
    pub max_step: i64,
    /// Priority.
    pub priority: i64,
    /// Note.
    pub note: String,
    /// `HH:MM` or empty.
    pub run_begin: String,
    /// `HH:MM` or empty.
    pub run_end: String,
}

impl Default for StrategyDoc {
    fn default() -> Self {
        StrategyDoc {
            metric: String::new(),
            tags: String::new(),
            func: "all(#1)".into(),
            op: "==".into(),
            right_value: "0".into(),
            max_step: 1,
            priority: 0,
            note: String::new(),
            run_begin: String::new(),
            run_end: String::new(),
        }
    }
}

/// A template with its parent and strategies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplateDoc {
    /// Unique name.
    pub name: String,
    /// Parent template name, or empty.
    pub parent: String,
    /// Alarm action id (0 = none).
    pub action_id: i64,
    /// Creator.
    pub creator: String,
    /// Strategies.
    pub strategies: Vec<StrategyDoc>,
}

/// An expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExpressionDoc {
    /// `each(metric=x k=v)`.
    pub expression: String,
    /// `all(#1)`.
    pub func: String,
    /// Operator.
    pub op: String,
    /// Threshold.
    pub right_value: String,
    /// Max alarms.
    pub max_step: i64,
    /// Priority.
    pub priority: i64,
    /// Note.
    pub note: String,
    /// Action id (judge only gets expressions with one).
    pub action_id: i64,
    /// Paused.
    pub pause: bool,
}

impl Default for ExpressionDoc {
    fn default() -> Self {
        ExpressionDoc {
            expression: String::new(),
            func: "all(#1)".into(),
            op: "==".into(),
            right_value: "0".into(),
            max_step: 1,
            priority: 0,
            note: String::new(),
            action_id: 0,
            pause: false,
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Document {
    /// Hosts.
    pub hosts: Vec<HostDoc>,
    /// Templates (parents may come in any order).
    pub templates: Vec<TemplateDoc>,
    /// Groups.
    pub groups: Vec<GroupDoc>,
    /// Expressions.
    pub expressions: Vec<ExpressionDoc>,
}

/// One administrative change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Op {
    /// Adds a host.
    AddHost {
        /// Name.
        hostname: String,
    },
    /// Sets a host's maintenance window (0, 0 clears it).
    Maintain {
        /// Host.
        hostname: String,
        /// Start (unix s).
        begin: i64,
        /// End (unix s).
        end: i64,
    },
    /// Adds a group.
    AddGroup {
        /// Name.
        name: String,
    },
    /// Puts a host in a group.
    GroupAddHost {
        /// Group.
        group: String,
        /// Host.
        hostname: String,
    },
    /// Takes a host out of a group.
    GroupRemoveHost {
        /// Group.
        group: String,
        /// Host.
        hostname: String,
    },
    /// Adds a template.
    AddTemplate {
        /// Name.
        name: String,
        /// Parent name or empty.
        #[serde(default)]
        parent: String,
        /// Action id.
        #[serde(default)]
        action_id: i64,
    },
    /// Sets (or clears, with "") a template's parent.
    SetParent {
        /// Template.
        name: String,
        /// New parent or empty.
        parent: String,
    },
    /// Binds a template to a group.
    Bind {
        /// Group.
        group: String,
        /// Template.
        template: String,
    },
    /// Adds a strategy to a template.
    AddStrategy {
        /// Template.
        template: String,
        /// The strategy.
        #[serde(flatten)]
        strategy: StrategyDoc,
    },
    /// Deletes a strategy by id.
    DeleteStrategy {
        /// Id.
        id: i64,
    },
    /// Adds an expression.
    AddExpression {
        /// The expression.
        #[serde(flatten)]
        expression: ExpressionDoc,
    },
    /// Adds a plugin dir to a group.
    AddPlugin {
        /// Group.
        group: String,
        /// Dir or file.
        dir: String,
    },
    /// Replaces the whole configuration (hosts are kept and updated, never deleted: agents created them).
    Import {
        /// The document.
        document: Document,
    },
}

fn invalid(msg: impl Into<String>) -> DbError {
    DbError::Invalid(msg.into())
}

fn id_of(tx: &Transaction<'_>, table: &str, col: &str, name: &str, what: &str) -> Result<i64, DbError> {
    let q = format!("SELECT id FROM {table} WHERE {col}=?1");
    tx.query_row(&q, params![name], |r| r.get(0))
        .optional()
        .map_err(sql(format!("look up {what}")))?
        .ok_or_else(|| invalid(format!("unknown {what} {name:?}")))
}

/// Checks a strategy or default tag string: empty, or `k=v` pieces with non-empty keys.
pub fn check_tags(tags: &str) -> Result<(), DbError> {
    if tags.is_empty() {
        return Ok(());
    }
    falcon_proto::tags::parse_tags_strict(tags)
        .map(|_| ())
        .map_err(|e| invalid(format!("malformed tags {tags:?}: {e}")))
}

fn check_name(what: &str, name: &str) -> Result<(), DbError> {
    if name.trim().is_empty() || name.len() > 255 {
        return Err(invalid(format!("{what} name must be 1 to 255 characters")));
    }
    Ok(())
}

fn check_window(v: &str) -> Result<(), DbError> {
    let ok = v.is_empty()
        || (v.len() == 5
            && v.as_bytes()[2] == b':'
            && v[..2].parse::<u8>().is_ok_and(|h| h < 24)
            && v[3..].parse::<u8>().is_ok_and(|m| m < 60));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!("run window {v:?} is not HH:MM")))
    }
}

fn check_strategy(s: &StrategyDoc) -> Result<(), DbError> {
    if s.metric.is_empty() {
        return Err(invalid("strategy metric is empty"));
    }
    check_tags(&s.tags)?;
    if falcon_proto::gojson::parse_go_float(s.right_value.trim()).is_err() {
        return Err(invalid(format!("right_value {:?} is not a number", s.right_value)));
    }
    if !["==", "!=", "<", "<=", ">", ">="].contains(&s.op.as_str()) {
        return Err(invalid(format!("op {:?} is not one of == != < <= > >=", s.op)));
    }
    check_window(&s.run_begin)?;
    check_window(&s.run_end)?;
    if s.run_begin.is_empty() != s.run_end.is_empty() {
        return Err(invalid("run_begin and run_end go together"));
    }
    Ok(())
}

fn check_expression(e: &ExpressionDoc) -> Result<(), DbError> {
    if crate::cache::parse_expression(&e.expression).is_none() {
        return Err(invalid(format!(
            "expression {:?} must look like each(metric=<name> <tag>=<value> ...)",
            e.expression
        )));
    }
    if falcon_proto::gojson::parse_go_float(e.right_value.trim()).is_err() {
        return Err(invalid(format!("right_value {:?} is not a number", e.right_value)));
    }
    Ok(())
}

/// Refuses a parent link that would make a loop.
fn check_parent(tx: &Transaction<'_>, tid: i64, parent: i64) -> Result<(), DbError> {
    let mut cur = parent;
    for _ in 0..1000 {
        if cur == 0 {
            return Ok(());
        }
        if cur == tid {
            return Err(invalid("that parent would make a template loop"));
        }
        cur = tx
            .query_row("SELECT parent_id FROM tpl WHERE id=?1", params![cur], |r| r.get(0))
            .optional()
            .map_err(sql("read tpl"))?
            .unwrap_or(0);
    }
    Err(invalid("template chain too deep"))
}

fn unique(e: rusqlite::Error, what: &str, name: &str) -> DbError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if f.code == rusqlite::ErrorCode::ConstraintViolation {
            return invalid(format!("{what} {name:?} already exists"));
        }
    }
    DbError::Sql { what: format!("add {what}"), source: e }
}

fn insert_strategy(tx: &Transaction<'_>, tid: i64, s: &StrategyDoc) -> Result<i64, DbError> {
    check_strategy(s)?;
    tx.execute(
        "INSERT INTO strategy(metric, tags, max_step, priority, func, op, right_value, note, run_begin, run_end, tpl_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![s.metric, s.tags, s.max_step, s.priority, s.func, s.op, s.right_value, s.note, s.run_begin, s.run_end, tid],
    )
    .map_err(sql("add strategy"))?;
    Ok(tx.last_insert_rowid())
}

fn insert_expression(tx: &Transaction<'_>, e: &ExpressionDoc) -> Result<i64, DbError> {
    check_expression(e)?;
    tx.execute(
        "INSERT INTO expression(expression, func, op, right_value, max_step, priority, note, action_id, pause)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![e.expression, e.func, e.op, e.right_value, e.max_step, e.priority, e.note, e.action_id, e.pause as i64],
    )
    .map_err(sql("add expression"))?;
    Ok(tx.last_insert_rowid())
}

fn apply_in(tx: &Transaction<'_>, op: &Op) -> Result<String, DbError> {
    match op {
        Op::AddHost { hostname } => {
            check_name("host", hostname)?;
            tx.execute("INSERT INTO host(hostname) VALUES (?1)", params![hostname])
                .map_err(|e| unique(e, "host", hostname))?;
            Ok(format!("host {hostname} added"))
        }
        Op::Maintain { hostname, begin, end } => {
            let hid = id_of(tx, "host", "hostname", hostname, "host")?;
            if begin > end {
                return Err(invalid("maintenance begin is after its end"));
            }
            tx.execute("UPDATE host SET maintain_begin=?1, maintain_end=?2 WHERE id=?3", params![begin, end, hid])
                .map_err(sql("set maintenance"))?;
            Ok(format!("host {hostname} maintenance {begin}..{end}"))
        }
        Op::AddGroup { name } => {
            check_name("group", name)?;
            tx.execute("INSERT INTO grp(grp_name) VALUES (?1)", params![name]).map_err(|e| unique(e, "group", name))?;
            Ok(format!("group {name} added"))
        }
        Op::GroupAddHost { group, hostname } => {
            let g = id_of(tx, "grp", "grp_name", group, "group")?;
            let h = id_of(tx, "host", "hostname", hostname, "host")?;
            tx.execute("INSERT OR IGNORE INTO grp_host(grp_id, host_id) VALUES (?1, ?2)", params![g, h])
                .map_err(sql("add group member"))?;
            Ok(format!("host {hostname} in group {group}"))
        }
        Op::GroupRemoveHost { group, hostname } => {
            let g = id_of(tx, "grp", "grp_name", group, "group")?;
            let h = id_of(tx, "host", "hostname", hostname, "host")?;
            tx.execute("DELETE FROM grp_host WHERE grp_id=?1 AND host_id=?2", params![g, h])
                .map_err(sql("remove group member"))?;
            Ok(format!("host {hostname} out of group {group}"))
        }
        Op::AddTemplate { name, parent, action_id } => {
            check_name("template", name)?;
            let p = if parent.is_empty() { 0 } else { id_of(tx, "tpl", "tpl_name", parent, "parent template")? };
            tx.execute(
                "INSERT INTO tpl(tpl_name, parent_id, action_id) VALUES (?1, ?2, ?3)",
                params![name, p, action_id],
            )
            .map_err(|e| unique(e, "template", name))?;
            Ok(format!("template {name} added"))
        }
        Op::SetParent { name, parent } => {
            let t = id_of(tx, "tpl", "tpl_name", name, "template")?;
            let p = if parent.is_empty() { 0 } else { id_of(tx, "tpl", "tpl_name", parent, "parent template")? };
            check_parent(tx, t, p)?;
            tx.execute("UPDATE tpl SET parent_id=?1 WHERE id=?2", params![p, t]).map_err(sql("set parent"))?;
            Ok(format!("template {name} parent {parent:?}"))
        }
        Op::Bind { group, template } => {
            let g = id_of(tx, "grp", "grp_name", group, "group")?;
            let t = id_of(tx, "tpl", "tpl_name", template, "template")?;
            tx.execute("INSERT OR IGNORE INTO grp_tpl(grp_id, tpl_id) VALUES (?1, ?2)", params![g, t])
                .map_err(sql("bind template"))?;
            Ok(format!("template {template} bound to group {group}"))
        }
        Op::AddStrategy { template, strategy } => {
            let t = id_of(tx, "tpl", "tpl_name", template, "template")?;
            let id = insert_strategy(tx, t, strategy)?;
            Ok(format!("strategy {id} added to template {template}"))
        }
        Op::DeleteStrategy { id } => {
            let n = tx.execute("DELETE FROM strategy WHERE id=?1", params![id]).map_err(sql("delete strategy"))?;
            if n == 0 {
                return Err(invalid(format!("unknown strategy {id}")));
            }
            Ok(format!("strategy {id} deleted"))
        }
        Op::AddExpression { expression } => {
            let id = insert_expression(tx, expression)?;
            Ok(format!("expression {id} added"))
        }
        Op::AddPlugin { group, dir } => {
            let g = id_of(tx, "grp", "grp_name", group, "group")?;
            if dir.trim().is_empty() {
                return Err(invalid("plugin dir is empty"));
            }
            tx.execute("INSERT INTO plugin_dir(grp_id, dir) VALUES (?1, ?2)", params![g, dir])
                .map_err(sql("add plugin dir"))?;
            Ok(format!("plugin {dir} added to group {group}"))
        }
        Op::Import { document } => import(tx, document),
    }
}

fn import(tx: &Transaction<'_>, d: &Document) -> Result<String, DbError> {
    tx.execute_batch("DELETE FROM grp_host; DELETE FROM grp_tpl; DELETE FROM plugin_dir; DELETE FROM strategy; DELETE FROM expression; DELETE FROM tpl; DELETE FROM grp;")
        .map_err(sql("clear configuration"))?;
    for h in &d.hosts {
        check_name("host", &h.hostname)?;
        tx.execute(
            "INSERT INTO host(hostname, ip, maintain_begin, maintain_end) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(hostname) DO UPDATE SET maintain_begin=excluded.maintain_begin, maintain_end=excluded.maintain_end",
            params![h.hostname, h.ip, h.maintain_begin, h.maintain_end],
        )
        .map_err(sql("import host"))?;
    }
    for t in &d.templates {
        check_name("template", &t.name)?;
        tx.execute(
            "INSERT INTO tpl(tpl_name, action_id, create_user) VALUES (?1, ?2, ?3)",
            params![t.name, t.action_id, t.creator],
        )
        .map_err(|e| unique(e, "template", &t.name))?;
    }
    for t in &d.templates {
        let tid = id_of(tx, "tpl", "tpl_name", &t.name, "template")?;
        if !t.parent.is_empty() {
            let p = id_of(tx, "tpl", "tpl_name", &t.parent, "parent template")?;
            check_parent(tx, tid, p)?;
            tx.execute("UPDATE tpl SET parent_id=?1 WHERE id=?2", params![p, tid]).map_err(sql("set parent"))?;
        }
        for s in &t.strategies {
            insert_strategy(tx, tid, s)?;
        }
    }
    for g in &d.groups {
        apply_in(tx, &Op::AddGroup { name: g.name.clone() })?;
        for h in &g.hosts {
            apply_in(tx, &Op::GroupAddHost { group: g.name.clone(), hostname: h.clone() })?;
        }
        for t in &g.templates {
            apply_in(tx, &Op::Bind { group: g.name.clone(), template: t.clone() })?;
        }
        for p in &g.plugins {
            apply_in(tx, &Op::AddPlugin { group: g.name.clone(), dir: p.clone() })?;
        }
    }
    for e in &d.expressions {
        insert_expression(tx, e)?;
    }
    Ok(format!(
        "imported {} hosts, {} templates, {} groups, {} expressions",
        d.hosts.len(),
        d.templates.len(),
        d.groups.len(),
        d.expressions.len()
    ))
}

impl Db {
    /// Applies one operation in a transaction; nothing changes on error.
    pub fn apply(&self, op: &Op) -> Result<String, DbError> {
        let mut c = self.conn();
        let tx = c.transaction().map_err(sql("begin"))?;
        let msg = apply_in(&tx, op)?;
        tx.commit().map_err(sql("commit"))?;
        Ok(msg)
    }

    /// The whole configuration.
    pub fn export(&self) -> Result<Document, DbError> {
        let c = self.conn();
        let c: &rusqlite::Connection = &c;
        let mut d = Document {
            hosts: query_all(
                c,
                "export hosts",
                "SELECT hostname, ip, maintain_begin, maintain_end FROM host ORDER BY hostname",
                [],
                |r| {
                    Ok(HostDoc {
                        hostname: r.get(0)?,
                        ip: r.get(1)?,
                        maintain_begin: r.get(2)?,
                        maintain_end: r.get(3)?,
                    })
                },
            )?,
            ..Default::default()
        };
        let tpls = query_all(
            c,
            "export templates",
            "SELECT t.id, t.tpl_name, COALESCE(p.tpl_name, ''), t.action_id, t.create_user FROM tpl t LEFT JOIN tpl p ON p.id = t.parent_id ORDER BY t.id",
            [],
            |r| {
                let t = TemplateDoc { name: r.get(1)?, parent: r.get(2)?, action_id: r.get(3)?, creator: r.get(4)?, strategies: vec![] };
                Ok((r.get::<_, i64>(0)?, t))
            },
        )?;
        for (id, mut t) in tpls {
            t.strategies = query_all(
                c,
                "export strategies",
                "SELECT metric, tags, func, op, right_value, max_step, priority, note, run_begin, run_end FROM strategy WHERE tpl_id=?1 ORDER BY id",
                params![id],
                |r| {
                    Ok(StrategyDoc {
                        metric: r.get(0)?,
                        tags: r.get(1)?,
                        func: r.get(2)?,
                        op: r.get(3)?,
                        right_value: r.get(4)?,
                        max_step: r.get(5)?,
                        priority: r.get(6)?,
                        note: r.get(7)?,
                        run_begin: r.get(8)?,
                        run_end: r.get(9)?,
                    })
                },
            )?;
            d.templates.push(t);
        }
        let groups = query_all(c, "export groups", "SELECT id, grp_name FROM grp ORDER BY id", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        for (gid, name) in groups {
            let list = |q: &str| query_all(c, "export group", q, params![gid], |r| r.get(0));
            d.groups.push(GroupDoc {
                name,
                hosts: list("SELECT h.hostname FROM grp_host gh JOIN host h ON h.id = gh.host_id WHERE gh.grp_id=?1 ORDER BY h.hostname")?,
                templates: list("SELECT t.tpl_name FROM grp_tpl gt JOIN tpl t ON t.id = gt.tpl_id WHERE gt.grp_id=?1 ORDER BY t.id")?,
                plugins: list("SELECT dir FROM plugin_dir WHERE grp_id=?1 ORDER BY id")?,
            });
        }
        d.expressions = query_all(
            c,
            "export expressions",
            "SELECT expression, func, op, right_value, max_step, priority, note, action_id, pause FROM expression ORDER BY id",
            [],
            |r| {
                Ok(ExpressionDoc {
                    expression: r.get(0)?,
                    func: r.get(1)?,
                    op: r.get(2)?,
                    right_value: r.get(3)?,
                    max_step: r.get(4)?,
                    priority: r.get(5)?,
                    note: r.get(6)?,
                    action_id: r.get(7)?,
                    pause: r.get::<_, i64>(8)? != 0,
                })
            },
        )?;
        Ok(d)
    }
}
