//! What transfer sends to graph (`Graph.Send`, gob). The JSON keys matter only for HTTP debug output.

use crate::ser_f64;
use std::collections::BTreeMap;

crate::go_struct! {
    /// One point for graph. Gob field order: Endpoint, Metric, Tags, Value, Timestamp, DsType, Step,
    /// Heartbeat, Min, Max.
    pub struct GraphItem => "model.GraphItem" {
        /// Host.
        pub endpoint: String = "endpoint",
        /// Metric name.
        pub metric: String = "metric",
        /// Parsed tags (never nil in transfer's output).
        pub tags: BTreeMap<String, String> = "tags",
        /// The value as sent.
        #[serde(serialize_with = "ser_f64")]
        pub value: f64 = "value",
        /// Aligned to `step`.
        pub timestamp: i64 = "timestamp",
        /// GAUGE, or DERIVE for COUNTER and DERIVE input.
        pub ds_type: String = "dstype",
        /// The item's step raised to minStep.
        pub step: i64 = "step" as "int",
        /// 2 * step.
        pub heartbeat: i64 = "heartbeat" as "int",
        /// "U" for GAUGE, "0" for DERIVE.
        pub min: String = "min",
        /// Always "U" from transfer.
        pub max: String = "max",
    }
}
