//! Go's `RecvMetricValues` checks, as a pure function: which items of a `Transfer.Update` or `/api/push`
//! are accepted, and how the reply counts them.

use crate::point::{canonical_tags, Point};
use crate::wire::Incoming;
use falcon_proto::model::GoValue;

/// The outcome of validating one request.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Accepted items, in request order.
    pub points: Vec<Point>,
    /// Every element of the request, nil and invalid ones included (Go's `Total`).
    pub total: usize,
    /// Rejected elements (Go's `Invalid`).
    pub invalid: usize,
}

/// Validates `items` as Go does, in Go's order of checks: nil; `kernel.hostname`; empty metric or endpoint;
/// counter type not exactly GAUGE/COUNTER/DERIVE; value `""`; step <= 0; metric + raw tags longer than 510
/// bytes; then the timestamp is normalised (<= 0 or > 2*now becomes now) and the value converted (a string
/// through Go's `ParseFloat`, which takes "NaN", "Inf" and hex floats; bool, object, array and null are invalid).
pub fn validate(items: Vec<Option<Incoming>>, now: i64) -> Verdict {
    let total = items.len();
    let mut points = Vec::with_capacity(total);
    for item in items.into_iter().flatten() {
        if let Some(p) = accept(item, now) {
            points.push(p);
        }
    }
    Verdict { invalid: total - points.len(), points, total }
}

fn accept(v: Incoming, now: i64) -> Option<Point> {
    if v.metric == "kernel.hostname" || v.metric.is_empty() || v.endpoint.0.is_empty() {
        return None;
    }
    let counter_type = v.counter_type.0?;
    if matches!(&v.value, GoValue::String(s) if s.is_empty()) || v.step <= 0 {
        return None;
    }
    if v.metric.len() + v.tags.len() > 510 {
        return None;
    }
    let value = v.value.as_f64()?;
    let timestamp = if v.timestamp <= 0 || v.timestamp > now.saturating_mul(2) { now } else { v.timestamp };
    Some(Point {
        endpoint: v.endpoint.0,
        metric: v.metric,
        tags: canonical_tags(v.tags),
        value,
        timestamp,
        step: v.step,
        counter_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use falcon_proto::gojson;

    use crate::point::CounterType;

    fn items(json: &str) -> Vec<Option<Incoming>> {
        gojson::from_slice(json.as_bytes()).unwrap()
    }

    #[test]
    fn crafted_update_counts_like_go() {
        // captures/crafted/transfer_jsonrpc_edge_cases.txt, third exchange: Total 6, Invalid 4.
        let v = validate(
            items(
                r#"[{"endpoint":"vm","metric":"peer.rpc.str","value":"12.5","step":10,"counterType":"GAUGE","tags":"a=b","timestamp":1795261656},{"endpoint":"vm","metric":"peer.rpc.bad","value":"abc","step":10,"counterType":"GAUGE","tags":"","timestamp":1795261656},{"endpoint":"vm","metric":"kernel.hostname","value":1,"step":10,"counterType":"GAUGE","tags":"","timestamp":1795261656},{"endpoint":"vm","metric":"peer.rpc.nostep","value":1,"step":0,"counterType":"GAUGE","tags":"","timestamp":1795261656},{"endpoint":"vm","metric":"peer.rpc.derive","value":5,"step":10,"counterType":"DERIVE","tags":"","timestamp":0},null]"#,
            ),
            1_795_261_656,
        );
        assert_eq!((v.total, v.invalid), (6, 4));
        assert_eq!(v.points[0].value, 12.5);
        assert_eq!(v.points[0].tags, "a=b");
        assert_eq!(v.points[1].timestamp, 1_795_261_656, "timestamp 0 becomes now");
        assert_eq!(v.points[1].counter_type, CounterType::Derive);
    }

    #[test]
    fn each_rule() {
        let now = 1_000_000;
        let base =
            r#"{"endpoint":"h","metric":"m","value":1,"step":60,"counterType":"GAUGE","tags":"","timestamp":999000}"#;
        let with = |k: &str, v: &str| {
            let mut m: serde_json::Map<String, serde_json::Value> = serde_json::from_str(base).unwrap();
            m.insert(k.into(), serde_json::from_str(v).unwrap());
            serde_json::to_string(&m).unwrap()
        };
        let ok = |json: String| validate(items(&format!("[{json}]")), now).invalid == 0;
        assert!(ok(base.to_string()));
        assert!(!ok(with("endpoint", "\"\"")));
        assert!(!ok(with("metric", "\"\"")));
        assert!(!ok(with("metric", "\"kernel.hostname\"")));
        assert!(!ok(with("counterType", "\"gauge\"")));
        assert!(!ok(with("counterType", "\"\"")));
        assert!(!ok(with("value", "\"\"")));
        assert!(!ok(with("value", "\" 1\"")), "ParseFloat rejects spaces");
        assert!(!ok(with("value", "true")));
        assert!(!ok(with("value", "null")));
        assert!(!ok(with("value", "[1]")));
        assert!(!ok(with("step", "0")));
        assert!(!ok(with("step", "-60")));
        assert!(ok(with("value", "\"NaN\"")));
        assert!(ok(with("value", "\"0x1p3\"")));
        assert!(ok(with("value", "\"-Inf\"")));
        // 510 bytes of metric + tags is fine, 511 is not.
        let m = "m".repeat(500);
        assert!(ok(with("metric", &format!("\"{m}\"")).replace("\"tags\":\"\"", "\"tags\":\"a=12345678\"")));
        assert!(!ok(with("metric", &format!("\"{m}\"")).replace("\"tags\":\"\"", "\"tags\":\"a=123456789\"")));
        // Timestamps: kept when in (0, 2*now], otherwise now.
        let ts = |t: &str| validate(items(&format!("[{}]", with("timestamp", t))), now).points[0].timestamp;
        assert_eq!(ts("1"), 1);
        assert_eq!(ts("2000000"), 2_000_000);
        assert_eq!(ts("2000001"), now);
        assert_eq!(ts("-5"), now);
    }
}
