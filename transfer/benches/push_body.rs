//! `/api/push` bodies in the three forms the transfer accepts: plain JSON (Go's), gzip JSON and MessagePack.
//! Prints the bytes per item of each form, then measures the receive-side CPU per 200-item body: undoing the
//! form (inflate, transcode) and decoding with Go's semantics into the items transfer validates. Items are the
//! 95 recorded from a real agent cycle, repeated to 200.
//!
//! Run: `cargo bench -p falcon-transfer --bench push_body`

use axum::http::HeaderMap;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use falcon_proto::gojson;
use falcon_proto::model::MetricValue;
use falcon_transfer::http::body::json_of;
use falcon_transfer::wire::Incoming;
use std::hint::black_box;
use std::io::Write;

const CYCLE: &str = include_str!("../../../shared/captures/agent_metrics_cycle.json");
const N: usize = 200;

fn items() -> Vec<MetricValue> {
    let recorded: Vec<MetricValue> = CYCLE
        .lines()
        .map(|l| l.trim().trim_end_matches(','))
        .filter(|l| l.starts_with('{'))
        .map(|l| gojson::from_slice(l.as_bytes()).expect("captured item decodes"))
        .collect();
    recorded.iter().cycle().take(N).cloned().collect()
}

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, v.parse().expect("static header"));
    }
    h
}

fn bench(c: &mut Criterion) {
    let json = gojson::to_vec(&items()).expect("encodes");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&json).expect("gzip");
    let gzip = gz.finish().expect("gzip");
    let value: serde_json::Value = serde_json::from_slice(&json).expect("json");
    let msgpack = rmp_serde::to_vec_named(&value).expect("msgpack");
    let forms = [
        ("json", json, headers(&[])),
        ("gzip_json", gzip, headers(&[("content-encoding", "gzip")])),
        ("msgpack", msgpack, headers(&[("content-type", "application/msgpack")])),
    ];
    for (name, body, _) in &forms {
        println!(
            "push_body {name}: {} bytes for {N} items, {:.1} bytes/item",
            body.len(),
            body.len() as f64 / N as f64
        );
    }
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let budget = falcon_runtime::budget::Budget::unlimited();
    let mut g = c.benchmark_group("push_body");
    g.throughput(Throughput::Elements(N as u64));
    for (name, body, h) in &forms {
        g.bench_function(format!("decode_{name}_200_items"), |b| {
            b.iter(|| {
                let mut lease = budget.lease();
                let text = rt.block_on(json_of(h, body, 64 << 20, &mut lease)).expect("valid body");
                let items: Vec<Option<Incoming>> = gojson::from_first_value(&text).expect("valid items");
                black_box(items)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
