//! What transfer sends to judge (`Judge.Send`, gob). The JSON keys matter only for HTTP debug output.

use crate::ser_f64;
use std::collections::BTreeMap;

crate::go_struct! {
    /// One point for judge. Gob field order: Endpoint, Metric, Value, Timestamp, JudgeType, Tags.
    pub struct JudgeItem => "model.JudgeItem" {
        /// Host.
        pub endpoint: String = "endpoint",
        /// Metric name.
        pub metric: String = "metric",
        /// The value as sent.
        #[serde(serialize_with = "ser_f64")]
        pub value: f64 = "value",
        /// Aligned to the (minStep-raised) step.
        pub timestamp: i64 = "timestamp",
        /// The counter type as received: GAUGE, COUNTER or DERIVE.
        pub judge_type: String = "judgeType",
        /// Parsed tags (never nil in transfer's output).
        pub tags: BTreeMap<String, String> = "tags",
    }
}

impl JudgeItem {
    /// Judge's storage key: md5 of the PK.
    pub fn primary_key(&self) -> String {
        crate::tags::checksum(&self.endpoint, &self.metric, &self.tags)
    }
}
