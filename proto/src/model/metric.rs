//! `MetricValue`, the agent -> transfer payload (also `/v1/push`, `/api/push` and plugin output), and
//! `TransferResponse`.

use crate::gojson::{self, next_raw_value, Ctx, GoDecode};
use serde::{Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// Go's `interface{}` value field: a JSON number decodes to float64, a string stays a string, and anything
/// else is kept (and later rejected by transfer).
#[derive(Debug, Clone, Default)]
pub enum GoValue {
    /// JSON `null` or absent (Go's nil).
    #[default]
    Null,
    /// A JSON number, as float64.
    Number(f64),
    /// An unsigned integer written exactly (Go's agent sends its uint64 counters as JSON integers, which a
    /// float64 would round above 2^53). Decoding never produces it: Go decodes every number as float64.
    Uint(u64),
    /// A JSON string; transfer parses it with Go's `ParseFloat`.
    String(String),
    /// A bool, object or array, kept as compact JSON text.
    Other(Box<RawValue>),
}

impl PartialEq for GoValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (GoValue::Null, GoValue::Null) => true,
            // Bitwise, so that NaN == NaN for tests and de-duplication.
            (GoValue::Number(a), GoValue::Number(b)) => a.to_bits() == b.to_bits(),
            (GoValue::Uint(a), GoValue::Uint(b)) => a == b,
            (GoValue::String(a), GoValue::String(b)) => a == b,
            (GoValue::Other(a), GoValue::Other(b)) => a.get() == b.get(),
            _ => false,
        }
    }
}

impl GoValue {
    /// The float transfer accepts: a number as is, a string through Go's `ParseFloat`; None for anything else.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            GoValue::Number(v) => Some(*v),
            GoValue::Uint(v) => Some(*v as f64),
            GoValue::String(s) => gojson::parse_go_float(s).ok(),
            _ => None,
        }
    }
}

impl From<f64> for GoValue {
    fn from(v: f64) -> Self {
        GoValue::Number(v)
    }
}

impl Serialize for GoValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            GoValue::Null => s.serialize_unit(),
            GoValue::Number(v) => gojson::ser_f64(v, s),
            GoValue::Uint(v) => s.serialize_u64(*v),
            GoValue::String(v) => s.serialize_str(v),
            GoValue::Other(raw) => raw.serialize(s),
        }
    }
}

impl GoDecode for GoValue {
    const GO_TYPE: &'static str = "interface {}";
    const GO_SLICE: &'static str = "[]interface {}";

    fn decode<'de, D: Deserializer<'de>>(slot: &mut Self, de: D, ctx: Ctx<'_>) -> Result<(), D::Error> {
        let raw = next_raw_value(de)?;
        *slot = match gojson::raw_kind(raw) {
            "null" => GoValue::Null,
            "number" => match raw.parse::<f64>() {
                Ok(v) if v.is_finite() => GoValue::Number(v),
                // Go's decoder fails the whole value on a number beyond float64.
                _ => return Err(ctx.with_type("float64").type_error(&format!("number {raw}"))),
            },
            "string" => GoValue::String(serde_json::from_str(raw).map_err(serde::de::Error::custom)?),
            _ => {
                let mut compact = Vec::with_capacity(raw.len());
                gojson::compact_into(&mut compact, raw.as_bytes());
                let text = String::from_utf8(compact).map_err(serde::de::Error::custom)?;
                GoValue::Other(RawValue::from_string(text).map_err(serde::de::Error::custom)?)
            }
        };
        Ok(())
    }
}

crate::go_struct! {
    /// One data point as agents and plugins send it. Key order is Go's:
    /// endpoint, metric, value, step, counterType, tags, timestamp.
    pub struct MetricValue => "model.MetricValue" {
        /// Host name.
        pub endpoint: String = "endpoint",
        /// Metric name.
        pub metric: String = "metric",
        /// A number, or a numeric string.
        pub value: GoValue = "value",
        /// Seconds between points; must be a JSON integer.
        pub step: i64 = "step",
        /// GAUGE, COUNTER or DERIVE (case-sensitive).
        pub counter_type: String = "counterType",
        /// `k1=v1,k2=v2`, or empty.
        pub tags: String = "tags",
        /// Unix seconds; must be a JSON integer.
        pub timestamp: i64 = "timestamp",
    }
}

crate::go_struct! {
    /// `Transfer.Update` reply (no JSON tags in Go, so capitalised keys).
    pub struct TransferResponse => "model.TransferResponse" {
        /// Always "ok" from transfer.
        pub message: String = "Message",
        /// Every element of the request, nil and invalid ones included.
        pub total: i64 = "Total" as "int",
        /// Elements rejected by validation.
        pub invalid: i64 = "Invalid" as "int",
        /// Handling time in whole milliseconds.
        pub latency: i64 = "Latency",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_an_agent_cycle_byte_for_byte() {
        // One object per line, exactly as the Go agent wrote them (captures/agent_metrics_cycle.json).
        let text = include_str!("../../../../shared/captures/agent_metrics_cycle.json");
        let mut n = 0;
        for line in text.lines() {
            let line = line.trim().trim_end_matches(',');
            if !line.starts_with('{') {
                continue;
            }
            let mv: MetricValue = gojson::from_slice(line.as_bytes()).unwrap();
            assert_eq!(gojson::to_string(&mv).unwrap(), line);
            n += 1;
        }
        assert_eq!(n, 95);
    }

    #[test]
    fn value_kinds() {
        let v: Vec<Option<MetricValue>> = gojson::from_slice(
            br#"[{"value":"12.5"},{"value":1e3},{"value":true},{"value":{"b": [1, 2]}},{"value":null},null]"#,
        )
        .unwrap();
        let vals: Vec<_> = v.iter().map(|m| m.as_ref().map(|m| m.value.clone())).collect();
        assert_eq!(vals[0], Some(GoValue::String("12.5".into())));
        assert_eq!(vals[1], Some(GoValue::Number(1000.0)));
        assert_eq!(vals[0].as_ref().unwrap().as_f64(), Some(12.5));
        assert!(matches!(&vals[2], Some(GoValue::Other(r)) if r.get() == "true"));
        assert!(matches!(&vals[3], Some(GoValue::Other(r)) if r.get() == r#"{"b":[1,2]}"#));
        assert_eq!(vals[4], Some(GoValue::Null));
        assert_eq!(vals[5], None);
        let e = gojson::from_slice::<Vec<Option<MetricValue>>>(br#"[{"value":1e400}]"#).unwrap_err();
        assert_eq!(e.0, "json: cannot unmarshal number 1e400 into Go struct field MetricValue.value of type float64");
        let e = gojson::from_slice::<Vec<Option<MetricValue>>>(br#"[{"step":60.0}]"#).unwrap_err();
        assert_eq!(e.0, "json: cannot unmarshal number 60.0 into Go struct field MetricValue.step of type int64");
    }

    #[test]
    fn encodes_values_like_go() {
        let mv = MetricValue {
            endpoint: "h<1>".into(),
            metric: "m".into(),
            value: GoValue::Number(1e21),
            step: 60,
            counter_type: "GAUGE".into(),
            tags: "url=http://x/?a=1&b=2".into(),
            timestamp: 1,
        };
        assert_eq!(
            gojson::to_string(&mv).unwrap(),
            r#"{"endpoint":"h\u003c1\u003e","metric":"m","value":1e+21,"step":60,"counterType":"GAUGE","tags":"url=http://x/?a=1\u0026b=2","timestamp":1}"#
        );
        let nan = MetricValue { value: GoValue::Number(f64::NAN), ..mv };
        assert!(gojson::to_vec(&nan).is_err(), "Go refuses to encode NaN");
        let r = TransferResponse { message: "ok".into(), total: 6, invalid: 4, latency: 0 };
        assert_eq!(gojson::to_string(&r).unwrap(), r#"{"Message":"ok","Total":6,"Invalid":4,"Latency":0}"#);
    }
}
