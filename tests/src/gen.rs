//! Deterministic test items, generated identically by `tests/go/interop/main.go`: item `i` is the same
//! on both sides, so each side can check every field of what the other sent without shipping expectations.
//! Keep the two in step: the order of `next()` calls matters.

use falcon_proto::model::{GoValue, GraphItem, JudgeItem, MetricValue};
use std::collections::BTreeMap;

/// First timestamp; item `i` carries `BASE_TS + i`, which is how receivers find its index.
pub const BASE_TS: i64 = 1_700_000_000;

/// xorshift64* seeded per item.
pub struct Rng(u64);

impl Rng {
    /// The generator for item `i`.
    pub fn for_item(i: usize) -> Self {
        Rng((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next_u64() % from.len() as u64) as usize]
    }
}

const SPECIALS: &[&str] =
    &["", "<b>", "a&b", "é", "\u{2028}", "x=y", " sp ", "\"q\"", "back\\slash", "\t", "日本", "1e-7"];
const COUNTER_TYPES: &[&str] = &["GAUGE", "COUNTER", "DERIVE", "gauge", ""];
const JUDGE_TYPES: &[&str] = &["GAUGE", "COUNTER", "DERIVE"];
const MINS: &[&str] = &["U", "0", ""];

fn gen_str(r: &mut Rng, prefix: &str) -> String {
    format!("{prefix}{}", r.pick(SPECIALS))
}

/// A float of one of four shapes: random bits, decimals, integers, or powers of two across the exponent range.
pub fn gen_float(r: &mut Rng, i: usize, allow_non_finite: bool) -> f64 {
    match i % 4 {
        0 => loop {
            let f = f64::from_bits(r.next_u64());
            if allow_non_finite || f.is_finite() {
                return f;
            }
        },
        1 => (r.next_u64() % 2_000_000) as f64 / 1000.0 - 1000.0,
        2 => (r.next_u64() % 100_000) as f64,
        _ => {
            let m = (r.next_u64() % 1000 + 1) as f64;
            let e = (r.next_u64() % 140) as i64 - 70;
            m * f64::from_bits(((1023 + e) as u64) << 52)
        }
    }
}

/// MetricValue `i`.
pub fn metric(i: usize) -> MetricValue {
    let mut r = Rng::for_item(i);
    let endpoint = gen_str(&mut r, &format!("host-{}", i % 37));
    let metric = gen_str(&mut r, &format!("m.{}", i % 11));
    let value = if i.is_multiple_of(5) {
        GoValue::String(format!("{i}.5"))
    } else {
        GoValue::Number(gen_float(&mut r, i, false))
    };
    let step = (r.next_u64() % 120) as i64;
    let counter_type = r.pick(COUNTER_TYPES).to_string();
    let n = r.next_u64() % 4;
    let mut tags = String::new();
    for k in 0..n {
        if k > 0 {
            tags.push(',');
        }
        tags.push_str(&format!("k{k}={}", gen_str(&mut r, "v")));
    }
    MetricValue { endpoint, metric, value, step, counter_type, tags, timestamp: BASE_TS + i as i64 }
}

fn gen_tags(r: &mut Rng) -> BTreeMap<String, String> {
    let n = r.next_u64() % 4;
    (0..n).map(|k| (format!("k{k}"), gen_str(r, "v"))).collect()
}

/// JudgeItem `i`.
pub fn judge(i: usize) -> JudgeItem {
    let mut r = Rng::for_item(i);
    let endpoint = gen_str(&mut r, &format!("host-{}", i % 37));
    let metric = gen_str(&mut r, "j.");
    let value = gen_float(&mut r, i, true);
    let judge_type = r.pick(JUDGE_TYPES).to_string();
    let tags = gen_tags(&mut r);
    JudgeItem { endpoint, metric, value, timestamp: BASE_TS + i as i64, judge_type, tags }
}

/// GraphItem `i`.
pub fn graph(i: usize) -> GraphItem {
    let mut r = Rng::for_item(i);
    let endpoint = gen_str(&mut r, &format!("host-{}", i % 37));
    let metric = gen_str(&mut r, "g.");
    let tags = gen_tags(&mut r);
    let value = gen_float(&mut r, i, true);
    let ds_type = JUDGE_TYPES[(r.next_u64() % 2) as usize].to_string();
    let step = (r.next_u64() % 5) as i64 * 30;
    let min = r.pick(MINS).to_string();
    GraphItem {
        endpoint,
        metric,
        tags,
        value,
        timestamp: BASE_TS + i as i64,
        ds_type,
        step,
        heartbeat: step * 2,
        min,
        max: "U".into(),
    }
}

/// Floats equal bit for bit, except that gob carries -0 as 0 (Go omits zero fields).
pub fn same_float(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a == 0.0 && b == 0.0)
}

/// Field-by-field equality of judge items with [`same_float`].
pub fn judge_eq(a: &JudgeItem, b: &JudgeItem) -> bool {
    a.endpoint == b.endpoint
        && a.metric == b.metric
        && same_float(a.value, b.value)
        && a.timestamp == b.timestamp
        && a.judge_type == b.judge_type
        && a.tags == b.tags
}

/// Field-by-field equality of graph items with [`same_float`].
pub fn graph_eq(a: &GraphItem, b: &GraphItem) -> bool {
    a.endpoint == b.endpoint
        && a.metric == b.metric
        && a.tags == b.tags
        && same_float(a.value, b.value)
        && a.timestamp == b.timestamp
        && a.ds_type == b.ds_type
        && a.step == b.step
        && a.heartbeat == b.heartbeat
        && a.min == b.min
        && a.max == b.max
}
