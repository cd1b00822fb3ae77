//! Administration without Go's portal: operations on hosts, groups, templates, strategies, expressions and
//! plugin dirs, and the whole configuration as one JSON document (export / import). The command line
//! (`falcon-hbs admin ...`) and the HTTP API (`/admin/...`) both run these. Every operation is one transaction,
//! validated first: bad input gets a clear error and changes nothing.

use crate::store::sql::{int, text, Sql, Val};
use crate::store::DbError;
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
    /// Comparison operator. In `POST /admin/apply` with `"op":"add-strategy"` the key `op` names the operation,
    /// so the strategy's operator is given as `operator` there.
    #[serde(alias = "operator")]
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

fn id_of(tx: &mut dyn Sql, table: &str, col: &str, name: &str, what: &str) -> Result<i64, DbError> {
    let q = format!("SELECT id FROM {table} WHERE {col}=?");
    match tx.one(&format!("look up {what}"), &q, &[name.into()])? {
        Some(Val::Int(id)) => Ok(id),
        _ => Err(invalid(format!("unknown {what} {name:?}"))),
    }
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
fn check_parent(tx: &mut dyn Sql, tid: i64, parent: i64) -> Result<(), DbError> {
    let mut cur = parent;
    for _ in 0..1000 {
        if cur == 0 {
            return Ok(());
        }
        if cur == tid {
            return Err(invalid("that parent would make a template loop"));
        }
        cur = match tx.one("read tpl", "SELECT parent_id FROM tpl WHERE id=?", &[cur.into()])? {
            Some(Val::Int(p)) => p,
            _ => 0,
        };
    }
    Err(invalid("template chain too deep"))
}

/// A duplicate-key refusal as the operator's mistake.
fn unique(e: DbError, what: &str, name: &str) -> DbError {
    match e {
        DbError::Duplicate { .. } => invalid(format!("{what} {name:?} already exists")),
        e => e,
    }
}

fn insert_strategy(tx: &mut dyn Sql, tid: i64, s: &StrategyDoc) -> Result<i64, DbError> {
    check_strategy(s)?;
    let params = [
        Val::from(&s.metric),
        Val::from(&s.tags),
        s.max_step.into(),
        s.priority.into(),
        Val::from(&s.func),
        Val::from(&s.op),
        Val::from(&s.right_value),
        Val::from(&s.note),
        Val::from(&s.run_begin),
        Val::from(&s.run_end),
        tid.into(),
    ];
    let done = tx.exec(
        "add strategy",
        "INSERT INTO strategy(metric, tags, max_step, priority, func, op, right_value, note, run_begin, run_end, tpl_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &params,
    )?;
    Ok(done.last_id)
}

fn insert_expression(tx: &mut dyn Sql, e: &ExpressionDoc) -> Result<i64, DbError> {
    check_expression(e)?;
    let params = [
        Val::from(&e.expression),
        Val::from(&e.func),
        Val::from(&e.op),
        Val::from(&e.right_value),
        e.max_step.into(),
        e.priority.into(),
        Val::from(&e.note),
        e.action_id.into(),
        e.pause.into(),
    ];
    let done = tx.exec(
        "add expression",
        "INSERT INTO expression(expression, func, op, right_value, max_step, priority, note, action_id, pause)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &params,
    )?;
    Ok(done.last_id)
}

/// Applies one operation inside a transaction the caller opened (and rolls back on error).
pub fn apply_in(tx: &mut dyn Sql, op: &Op) -> Result<String, DbError> {
    let ignore = tx.dialect().insert_ignore();
    match op {
        Op::AddHost { hostname } => {
            check_name("host", hostname)?;
            tx.exec("add host", "INSERT INTO host(hostname) VALUES (?)", &[hostname.into()])
                .map_err(|e| unique(e, "host", hostname))?;
            Ok(format!("host {hostname} added"))
        }
        Op::Maintain { hostname, begin, end } => {
            let hid = id_of(tx, "host", "hostname", hostname, "host")?;
            if begin > end {
                return Err(invalid("maintenance begin is after its end"));
            }
            tx.exec(
                "set maintenance",
                "UPDATE host SET maintain_begin=?, maintain_end=? WHERE id=?",
                &[(*begin).into(), (*end).into(), hid.into()],
            )?;
            Ok(format!("host {hostname} maintenance {begin}..{end}"))
        }
        Op::AddGroup { name } => {
            check_name("group", name)?;
            tx.exec("add group", "INSERT INTO grp(grp_name) VALUES (?)", &[name.into()])
                .map_err(|e| unique(e, "group", name))?;
            Ok(format!("group {name} added"))
        }
        Op::GroupAddHost { group, hostname } => {
            let g = id_of(tx, "grp", "grp_name", group, "group")?;
            let h = id_of(tx, "host", "hostname", hostname, "host")?;
            // The portal's grp_host has no unique key: look before inserting.
            let q = "SELECT 1 FROM grp_host WHERE grp_id=? AND host_id=?";
            if tx.one("read group member", q, &[g.into(), h.into()])?.is_none() {
                tx.exec(
                    "add group member",
                    "INSERT INTO grp_host(grp_id, host_id) VALUES (?, ?)",
                    &[g.into(), h.into()],
                )?;
            }
            Ok(format!("host {hostname} in group {group}"))
        }
        Op::GroupRemoveHost { group, hostname } => {
            let g = id_of(tx, "grp", "grp_name", group, "group")?;
            let h = id_of(tx, "host", "hostname", hostname, "host")?;
            tx.exec("remove group member", "DELETE FROM grp_host WHERE grp_id=? AND host_id=?", &[g.into(), h.into()])?;
            Ok(format!("host {hostname} out of group {group}"))
        }
        Op::AddTemplate { name, parent, action_id } => {
            check_name("template", name)?;
            let p = if parent.is_empty() { 0 } else { id_of(tx, "tpl", "tpl_name", parent, "parent template")? };
            tx.exec(
                "add template",
                "INSERT INTO tpl(tpl_name, parent_id, action_id) VALUES (?, ?, ?)",
                &[name.into(), p.into(), (*action_id).into()],
            )
            .map_err(|e| unique(e, "template", name))?;
            Ok(format!("template {name} added"))
        }
        Op::SetParent { name, parent } => {
            let t = id_of(tx, "tpl", "tpl_name", name, "template")?;
            let p = if parent.is_empty() { 0 } else { id_of(tx, "tpl", "tpl_name", parent, "parent template")? };
            check_parent(tx, t, p)?;
            tx.exec("set parent", "UPDATE tpl SET parent_id=? WHERE id=?", &[p.into(), t.into()])?;
            Ok(format!("template {name} parent {parent:?}"))
        }
        Op::Bind { group, template } => {
            let g = id_of(tx, "grp", "grp_name", group, "group")?;
            let t = id_of(tx, "tpl", "tpl_name", template, "template")?;
            let q = format!("{ignore} INTO grp_tpl(grp_id, tpl_id) VALUES (?, ?)");
            tx.exec("bind template", &q, &[g.into(), t.into()])?;
            Ok(format!("template {template} bound to group {group}"))
        }
        Op::AddStrategy { template, strategy } => {
            let t = id_of(tx, "tpl", "tpl_name", template, "template")?;
            let id = insert_strategy(tx, t, strategy)?;
            Ok(format!("strategy {id} added to template {template}"))
        }
        Op::DeleteStrategy { id } => {
            let done = tx.exec("delete strategy", "DELETE FROM strategy WHERE id=?", &[(*id).into()])?;
            if done.affected == 0 {
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
            tx.exec("add plugin dir", "INSERT INTO plugin_dir(grp_id, dir) VALUES (?, ?)", &[g.into(), dir.into()])?;
            Ok(format!("plugin {dir} added to group {group}"))
        }
        Op::Import { document } => import(tx, document),
    }
}

fn import(tx: &mut dyn Sql, d: &Document) -> Result<String, DbError> {
    for table in ["grp_host", "grp_tpl", "plugin_dir", "strategy", "expression", "tpl", "grp"] {
        tx.exec("clear configuration", &format!("DELETE FROM {table}"), &[])?;
    }
    let upsert = format!(
        "INSERT INTO host(hostname, ip, maintain_begin, maintain_end) VALUES (?, ?, ?, ?) {}",
        tx.dialect().on_host_conflict(&["maintain_begin", "maintain_end"])
    );
    for h in &d.hosts {
        check_name("host", &h.hostname)?;
        let params = [Val::from(&h.hostname), Val::from(&h.ip), h.maintain_begin.into(), h.maintain_end.into()];
        tx.exec("import host", &upsert, &params)?;
    }
    for t in &d.templates {
        check_name("template", &t.name)?;
        tx.exec(
            "import template",
            "INSERT INTO tpl(tpl_name, action_id, create_user) VALUES (?, ?, ?)",
            &[Val::from(&t.name), t.action_id.into(), Val::from(&t.creator)],
        )
        .map_err(|e| unique(e, "template", &t.name))?;
    }
    for t in &d.templates {
        let tid = id_of(tx, "tpl", "tpl_name", &t.name, "template")?;
        if !t.parent.is_empty() {
            let p = id_of(tx, "tpl", "tpl_name", &t.parent, "parent template")?;
            check_parent(tx, tid, p)?;
            tx.exec("set parent", "UPDATE tpl SET parent_id=? WHERE id=?", &[p.into(), tid.into()])?;
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

/// The whole configuration, read inside a transaction the caller opened.
pub fn export(tx: &mut dyn Sql) -> Result<Document, DbError> {
    let hosts =
        tx.rows("export hosts", "SELECT hostname, ip, maintain_begin, maintain_end FROM host ORDER BY hostname", &[])?;
    let mut d = Document {
        hosts: hosts
            .iter()
            .map(|r| {
                Ok(HostDoc {
                    hostname: text(r, 0)?,
                    ip: text(r, 1)?,
                    maintain_begin: int(r, 2)?,
                    maintain_end: int(r, 3)?,
                })
            })
            .collect::<Result<_, DbError>>()?,
        ..Default::default()
    };
    let tpls = tx.rows(
        "export templates",
        "SELECT t.id, t.tpl_name, COALESCE(p.tpl_name, ''), t.action_id, t.create_user
         FROM tpl t LEFT JOIN tpl p ON p.id = t.parent_id ORDER BY t.id",
        &[],
    )?;
    for r in tpls {
        let strategies = tx.rows(
            "export strategies",
            "SELECT metric, tags, func, op, right_value, max_step, priority, note, run_begin, run_end
             FROM strategy WHERE tpl_id=? ORDER BY id",
            &[int(&r, 0)?.into()],
        )?;
        d.templates.push(TemplateDoc {
            name: text(&r, 1)?,
            parent: text(&r, 2)?,
            action_id: int(&r, 3)?,
            creator: text(&r, 4)?,
            strategies: strategies
                .iter()
                .map(|s| {
                    Ok(StrategyDoc {
                        metric: text(s, 0)?,
                        tags: text(s, 1)?,
                        func: text(s, 2)?,
                        op: text(s, 3)?,
                        right_value: text(s, 4)?,
                        max_step: int(s, 5)?,
                        priority: int(s, 6)?,
                        note: text(s, 7)?,
                        run_begin: text(s, 8)?,
                        run_end: text(s, 9)?,
                    })
                })
                .collect::<Result<_, DbError>>()?,
        });
    }
    for g in tx.rows("export groups", "SELECT id, grp_name FROM grp ORDER BY id", &[])? {
        let gid = [Val::Int(int(&g, 0)?)];
        let mut list = |q: &str| -> Result<Vec<String>, DbError> {
            tx.rows("export group", q, &gid)?.iter().map(|r| text(r, 0)).collect()
        };
        d.groups.push(GroupDoc {
            name: text(&g, 1)?,
            hosts: list("SELECT h.hostname FROM grp_host gh JOIN host h ON h.id = gh.host_id WHERE gh.grp_id=? ORDER BY h.hostname")?,
            templates: list("SELECT t.tpl_name FROM grp_tpl gt JOIN tpl t ON t.id = gt.tpl_id WHERE gt.grp_id=? ORDER BY t.id")?,
            plugins: list("SELECT dir FROM plugin_dir WHERE grp_id=? ORDER BY id")?,
        });
    }
    let exprs = tx.rows(
        "export expressions",
        "SELECT expression, func, op, right_value, max_step, priority, note, action_id, pause FROM expression ORDER BY id",
        &[],
    )?;
    d.expressions = exprs
        .iter()
        .map(|r| {
            Ok(ExpressionDoc {
                expression: text(r, 0)?,
                func: text(r, 1)?,
                op: text(r, 2)?,
                right_value: text(r, 3)?,
                max_step: int(r, 4)?,
                priority: int(r, 5)?,
                note: text(r, 6)?,
                action_id: int(r, 7)?,
                pause: int(r, 8)? != 0,
            })
        })
        .collect::<Result<_, DbError>>()?;
    Ok(d)
}
