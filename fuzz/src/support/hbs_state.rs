//! An HBS over an in-memory SQLite database holding what a small estate has, for the targets that drive its
//! RPC and HTTP services.

use falcon_hbs::admin::{ExpressionDoc, Op, StrategyDoc};
use falcon_hbs::config::Config;
use falcon_hbs::db::Db;
use falcon_hbs::state::Hbs;
use falcon_hbs::store::Store;
use std::sync::Arc;

/// The database a small estate has: host `vm` in group `g`, bound to a template with a parent, each with
/// builtin checks and a judge strategy, a plugin dir, an expression.
pub fn estate() -> Option<Arc<Hbs>> {
    let db = Arc::new(Db::memory().ok()?);
    let strategy = |metric: &str, tags: &str| StrategyDoc {
        metric: metric.into(),
        tags: tags.into(),
        func: "all(#3)".into(),
        op: ">".into(),
        right_value: "90".into(),
        max_step: 3,
        priority: 2,
        ..StrategyDoc::default()
    };
    let ops = vec![
        Op::AddHost { hostname: "vm".into() },
        Op::AddGroup { name: "g".into() },
        Op::GroupAddHost { group: "g".into(), hostname: "vm".into() },
        Op::AddTemplate { name: "base".into(), parent: String::new(), action_id: 1 },
        Op::AddTemplate { name: "web".into(), parent: "base".into(), action_id: 1 },
        Op::Bind { group: "g".into(), template: "web".into() },
        Op::AddStrategy { template: "base".into(), strategy: strategy("net.port.listen", "port=22") },
        Op::AddStrategy { template: "web".into(), strategy: strategy("proc.num", "name=nginx") },
        Op::AddStrategy { template: "web".into(), strategy: strategy("cpu.idle", "") },
        Op::AddPlugin { group: "g".into(), dir: "sys/ntp".into() },
        Op::AddExpression {
            expression: ExpressionDoc {
                expression: "each(metric=agent.alive endpoint=vm)".into(),
                func: "all(#1)".into(),
                op: "==".into(),
                right_value: "1".into(),
                action_id: 1,
                ..ExpressionDoc::default()
            },
        },
    ];
    for op in &ops {
        db.apply(op).ok()?;
    }
    Hbs::new(Config::default(), None, db).ok()
}
