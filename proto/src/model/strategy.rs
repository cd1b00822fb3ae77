//! What HBS hands to judge: strategies (per host, via templates) and expressions.

use crate::ser_f64;
use std::collections::BTreeMap;

crate::go_struct! {
    /// A template (`tpl` row).
    pub struct Template => "model.Template" {
        /// Row id.
        pub id: i64 = "id" as "int",
        /// Template name.
        pub name: String = "name",
        /// Parent template id, 0 for none.
        pub parent_id: i64 = "parentId" as "int",
        /// Action id, 0 for none.
        pub action_id: i64 = "actionId" as "int",
        /// Creator user name.
        pub creator: String = "creator",
    }
}

crate::go_struct! {
    /// An alarm strategy (`strategy` row) with the template it alarms through.
    pub struct Strategy => "model.Strategy" {
        /// Row id.
        pub id: i64 = "id" as "int",
        /// Metric name.
        pub metric: String = "metric",
        /// Tags the series must carry.
        pub tags: BTreeMap<String, String> = "tags",
        /// Judge function, e.g. `all(#3)`.
        pub func: String = "func",
        /// Comparison operator.
        pub operator: String = "operator",
        /// Threshold.
        #[serde(serialize_with = "ser_f64")]
        pub right_value: f64 = "rightValue",
        /// Maximum number of alarms.
        pub max_step: i64 = "maxStep" as "int",
        /// Priority.
        pub priority: i64 = "priority" as "int",
        /// Free text.
        pub note: String = "note",
        /// The template the alarm goes through (the leaf of its chain).
        pub tpl: Option<Template> = "tpl",
    }
}

crate::go_struct! {
    /// Strategies of one host.
    pub struct HostStrategy => "model.HostStrategy" {
        /// Host name.
        pub hostname: String = "hostname",
        /// Its strategies.
        pub strategies: Option<Vec<Strategy>> = "strategies",
    }
}

crate::go_struct! {
    /// `Hbs.GetStrategies` reply.
    pub struct StrategiesResponse => "model.StrategiesResponse" {
        /// One entry per monitored host with strategies.
        pub host_strategies: Option<Vec<HostStrategy>> = "hostStrategies" as "[]*model.HostStrategy",
    }
}

crate::go_struct! {
    /// An expression (`expression` row), e.g. `each(metric=qps project=falcon)`.
    pub struct Expression => "model.Expression" {
        /// Row id.
        pub id: i64 = "id" as "int",
        /// The `metric=` part.
        pub metric: String = "metric",
        /// The other `k=v` parts.
        pub tags: BTreeMap<String, String> = "tags",
        /// Judge function.
        pub func: String = "func",
        /// Comparison operator.
        pub operator: String = "operator",
        /// Threshold.
        #[serde(serialize_with = "ser_f64")]
        pub right_value: f64 = "rightValue",
        /// Maximum number of alarms.
        pub max_step: i64 = "maxStep" as "int",
        /// Priority.
        pub priority: i64 = "priority" as "int",
        /// Free text.
        pub note: String = "note",
        /// Action id.
        pub action_id: i64 = "actionId" as "int",
    }
}

crate::go_struct! {
    /// `Hbs.GetExpressions` reply; `null` when HBS has none cached.
    pub struct ExpressionResponse => "model.ExpressionResponse" {
        /// The expressions.
        pub expressions: Option<Vec<Expression>> = "expressions" as "[]*model.Expression",
    }
}
