//! The item as transfer decodes it from `Transfer.Update` and `/api/push`: Go's `MetricValue`, with the same
//! JSON rules and error texts, but shaped for the receive path: the endpoint is interned per thread
//! (consecutive items of one agent share one allocation) and the counter type is decoded straight into its
//! enum, so an accepted item costs no allocation for either.

use crate::point::CounterType;
use falcon_proto::go_struct;
use falcon_proto::gojson::{decode_str_with, Ctx, GoDecode};
use falcon_proto::model::GoValue;
use serde::Deserializer;
use serde::{Serialize, Serializer};
use std::cell::RefCell;
use std::sync::Arc;

thread_local! {
    static LAST_ENDPOINT: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

/// An endpoint name shared by the items that carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(pub Arc<str>);

impl Default for Endpoint {
    fn default() -> Self {
        Endpoint(Arc::from(""))
    }
}

impl Endpoint {
    /// The thread's previous endpoint if it is the same text, else a new one that becomes the previous.
    pub fn intern(v: &str) -> Self {
        LAST_ENDPOINT.with(|last| {
            let mut last = last.borrow_mut();
            if let Some(a) = last.as_ref().filter(|a| &***a == v) {
                return Endpoint(a.clone());
            }
            let a: Arc<str> = Arc::from(v);
            *last = Some(a.clone());
            Endpoint(a)
        })
    }
}

impl Serialize for Endpoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl GoDecode for Endpoint {
    const GO_TYPE: &'static str = "string";
    const GO_SLICE: &'static str = "[]string";
    fn decode<'de, D: Deserializer<'de>>(slot: &mut Self, de: D, ctx: Ctx<'_>) -> Result<(), D::Error> {
        decode_str_with(de, ctx, |v| *slot = Endpoint::intern(v))
    }
}

/// `counterType`: one of Go's three exact strings, or None for anything else (which makes the item invalid).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterTypeField(pub Option<CounterType>);

impl Serialize for CounterTypeField {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.map(CounterType::as_str).unwrap_or(""))
    }
}

impl GoDecode for CounterTypeField {
    const GO_TYPE: &'static str = "string";
    const GO_SLICE: &'static str = "[]string";
    fn decode<'de, D: Deserializer<'de>>(slot: &mut Self, de: D, ctx: Ctx<'_>) -> Result<(), D::Error> {
        decode_str_with(de, ctx, |v| *slot = CounterTypeField(CounterType::parse(v)))
    }
}

go_struct! {
    /// Go's `MetricValue` as transfer receives it (same keys, same Go type name in error texts).
    pub struct Incoming => "model.MetricValue" {
        /// Host.
        pub endpoint: Endpoint = "endpoint",
        /// Metric name.
        pub metric: String = "metric",
        /// A number, or a numeric string.
        pub value: GoValue = "value",
        /// Seconds between points; must be a JSON integer.
        pub step: i64 = "step",
        /// GAUGE, COUNTER or DERIVE.
        pub counter_type: CounterTypeField = "counterType",
        /// `k1=v1,k2=v2`, or empty.
        pub tags: String = "tags",
        /// Unix seconds; must be a JSON integer.
        pub timestamp: i64 = "timestamp",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use falcon_proto::gojson;

    #[test]
    fn decodes_like_metric_value_and_shares_endpoints() {
        let v: Vec<Option<Incoming>> = gojson::from_slice(
            br#"[{"endpoint":"vm","metric":"a","counterType":"GAUGE"},{"ENDPOINT":"vm","metric":"b","counterType":"gauge"},null]"#,
        )
        .unwrap();
        let (a, b) = (v[0].as_ref().unwrap(), v[1].as_ref().unwrap());
        assert!(Arc::ptr_eq(&a.endpoint.0, &b.endpoint.0), "one allocation for both");
        assert_eq!(a.counter_type, CounterTypeField(Some(CounterType::Gauge)));
        assert_eq!(b.counter_type, CounterTypeField(None), "case-sensitive");
        assert!(v[2].is_none());
        let e = gojson::from_slice::<Vec<Option<Incoming>>>(br#"{"not":"a list"}"#).unwrap_err();
        assert_eq!(e.0, "json: cannot unmarshal object into Go value of type []*model.MetricValue");
        let e = gojson::from_slice::<Vec<Option<Incoming>>>(br#"[{"endpoint":5}]"#).unwrap_err();
        assert_eq!(e.0, "json: cannot unmarshal number into Go struct field MetricValue.endpoint of type string");
        let e = gojson::from_slice::<Vec<Option<Incoming>>>(br#"[{"counterType":[]}]"#).unwrap_err();
        assert_eq!(e.0, "json: cannot unmarshal array into Go struct field MetricValue.counterType of type string");
    }
}
