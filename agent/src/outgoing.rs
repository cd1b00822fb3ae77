//! What every outgoing item goes through: endpoint, step and timestamp for builtin samples, the `ignore`
//! list, default tags, and the NaN/Inf guard (Go sends them, the JSON encoder fails, and the whole batch is lost).

use crate::collector::{Num, Sample};
use falcon_proto::model::{GoValue, MetricValue};
use std::collections::BTreeMap;

/// `tags` with the default tags applied: a metric's own tag of the same key is replaced (Go appends the
/// defaults and transfer keeps the last occurrence, so the default wins there too), and the defaults come in
/// key order (Go's map order is random).
pub fn with_default_tags(tags: &str, defaults: &BTreeMap<String, String>) -> String {
    if defaults.is_empty() {
        return tags.to_string();
    }
    let mut out = String::with_capacity(tags.len() + 16 * defaults.len());
    for piece in tags.split(',').filter(|p| !p.is_empty()) {
        let key = piece.split_once('=').map_or(piece, |(k, _)| k).trim();
        if defaults.contains_key(key) {
            continue;
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(piece);
    }
    for (k, v) in defaults {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Builtin samples of one cycle as MetricValues: ignored names and non-finite values dropped (the second
/// returned count), one endpoint, step and timestamp for all.
pub fn builtin(
    samples: Vec<Sample>,
    endpoint: &str,
    step: i64,
    timestamp: i64,
    ignore: &dyn Fn(&str) -> bool,
    defaults: &BTreeMap<String, String>,
) -> (Vec<MetricValue>, usize) {
    let mut non_finite = 0;
    let out = samples
        .into_iter()
        .filter(|s| !ignore(&s.metric))
        .filter(|s| {
            let ok = s.value.is_finite();
            if !ok {
                non_finite += 1;
                tracing::warn!(metric = %s.metric, tags = %s.tags, "non-finite value not sent");
            }
            ok
        })
        .map(|s| MetricValue {
            endpoint: endpoint.to_string(),
            metric: s.metric,
            value: match s.value {
                Num::Float(v) => GoValue::Number(v),
                Num::Uint(v) => GoValue::Uint(v),
            },
            step,
            counter_type: s.kind.as_str().to_string(),
            tags: with_default_tags(&s.tags, defaults),
            timestamp,
        })
        .collect();
    (out, non_finite)
}

/// Plugin output and pushed items: forwarded as given, with default tags; a value that cannot be encoded
/// (a non-finite number cannot come from JSON, so nothing is dropped here) stays as is.
pub fn forwarded(mut items: Vec<MetricValue>, defaults: &BTreeMap<String, String>) -> Vec<MetricValue> {
    if !defaults.is_empty() {
        for m in &mut items {
            m.tags = with_default_tags(&m.tags, defaults);
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::{counter, gauge};

    fn defaults(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn default_tags_override_and_come_sorted() {
        let d = defaults(&[("idc", "bj"), ("app", "x")]);
        assert_eq!(with_default_tags("", &d), "app=x,idc=bj");
        assert_eq!(with_default_tags("iface=eth0", &d), "iface=eth0,app=x,idc=bj");
        assert_eq!(with_default_tags("idc=sh,iface=eth0", &d), "iface=eth0,app=x,idc=bj");
        assert_eq!(with_default_tags("a=b", &BTreeMap::new()), "a=b");
    }

    #[test]
    fn builtin_fills_the_envelope_ignores_and_drops_nan() {
        let s = vec![gauge("cpu.idle", 50.0, ""), gauge("cpu.busy", 50.0, ""), counter("x", f64::NAN, "a=b")];
        let ignore = |m: &str| m == "cpu.busy";
        let (out, bad) = builtin(s, "vm", 60, 1795261617, &ignore, &BTreeMap::new());
        assert_eq!(bad, 1);
        assert_eq!(out.len(), 1);
        let text = String::from_utf8(falcon_proto::gojson::to_vec(&out[0]).unwrap()).unwrap();
        assert_eq!(
            text,
            r#"{"endpoint":"vm","metric":"cpu.idle","value":50,"step":60,"counterType":"GAUGE","tags":"","timestamp":1795261617}"#
        );
    }

    #[test]
    fn counters_above_2_pow_53_go_out_exactly() {
        let big = (1u64 << 53) + 1;
        let s = vec![counter("net.if.in.bytes", big, "iface=eth0"), counter("x", u64::MAX, "")];
        let (out, _) = builtin(s, "vm", 60, 1, &|_| false, &BTreeMap::new());
        let text = String::from_utf8(falcon_proto::gojson::to_vec(&out).unwrap()).unwrap();
        assert!(text.contains(r#""value":9007199254740993,"#), "{text}");
        assert!(text.contains(r#""value":18446744073709551615,"#), "{text}");
    }
}
