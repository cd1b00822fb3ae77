//! Throughput of the hot wire paths: decoding a 200-item `Transfer.Update` request (as transfer receives it),
//! encoding a 200-item `Graph.Send` batch (as transfer sends it), JSON-encoding 200 MetricValues (as the agent
//! sends them) and ring lookups. Items are the 95 recorded from a real agent cycle, repeated.
//!
//! Run: `cargo bench -p falcon-proto --bench proto`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use falcon_proto::gob::Encoder;
use falcon_proto::gojson;
use falcon_proto::jsonrpc::envelope::{decode_params, parse_request, write_request};
use falcon_proto::model::{GraphItem, MetricValue};
use falcon_proto::ring::HashRing;
use falcon_proto::tags;
use std::hint::black_box;
use std::time::Duration;

const CYCLE: &str = include_str!("../../../shared/captures/agent_metrics_cycle.json");

fn agent_items(n: usize) -> Vec<MetricValue> {
    let recorded: Vec<MetricValue> = CYCLE
        .lines()
        .map(|l| l.trim().trim_end_matches(','))
        .filter(|l| l.starts_with('{'))
        .map(|l| gojson::from_slice(l.as_bytes()).expect("captured item decodes"))
        .collect();
    recorded.iter().cycle().take(n).cloned().collect()
}

fn graph_items(items: &[MetricValue]) -> Vec<GraphItem> {
    items
        .iter()
        .map(|m| GraphItem {
            endpoint: m.endpoint.clone(),
            metric: m.metric.clone(),
            tags: tags::parse_tags(&m.tags),
            value: m.value.as_f64().unwrap_or(0.0),
            timestamp: m.timestamp - m.timestamp % 60,
            ds_type: if m.counter_type == "GAUGE" { "GAUGE".into() } else { "DERIVE".into() },
            step: 60,
            heartbeat: 120,
            min: if m.counter_type == "GAUGE" { "U".into() } else { "0".into() },
            max: "U".into(),
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let items = agent_items(200);
    let args = gojson::to_vec(&items).expect("encode");
    let mut frame = Vec::new();
    write_request(&mut frame, "Transfer.Update", &args, 7);

    let mut g = c.benchmark_group("transfer_update");
    g.throughput(Throughput::Elements(200));
    g.bench_function("decode_200_items", |b| {
        b.iter(|| {
            let req = parse_request(black_box(&frame)).expect("request");
            let v: Vec<Option<MetricValue>> = decode_params(req.params.expect("params")).expect("params decode");
            black_box(v)
        })
    });
    g.bench_function("json_encode_200_items", |b| {
        let mut out = Vec::with_capacity(32 << 10);
        b.iter(|| {
            out.clear();
            gojson::to_writer(&mut out, black_box(&items)).expect("encode");
            black_box(out.len())
        })
    });
    g.finish();

    let mut g = c.benchmark_group("jsonrpc_frame");
    g.throughput(Throughput::Elements(200 * 16));
    g.bench_function("16_frames_of_200_items", |b| {
        // The JSON-RPC framer alone (Go's grammar checked byte by byte), over 64 KiB reads as from a socket.
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let stream: Vec<u8> = frame.iter().copied().chain(*b"\n").cycle().take((frame.len() + 1) * 16).collect();
        b.iter(|| {
            rt.block_on(async {
                let mut r = falcon_proto::jsonrpc::frame::FrameReader::new(black_box(&stream[..]), 64 << 20);
                let mut n = 0;
                while let Ok(Some(f)) = r.next_frame().await {
                    n += f.len();
                }
                black_box(n)
            })
        })
    });
    g.finish();

    let graph = graph_items(&items);
    let mut g = c.benchmark_group("graph_send");
    g.throughput(Throughput::Elements(200));
    g.bench_function("gob_encode_200_items", |b| {
        let mut enc = Encoder::new();
        let mut out = Vec::with_capacity(64 << 10);
        enc.encode(&graph, &mut out); // definitions go out once per connection
        b.iter(|| {
            out.clear();
            enc.encode(black_box(&graph), &mut out);
            black_box(out.len())
        })
    });
    g.bench_function("gob_decode_200_items", |b| {
        let mut enc = Encoder::new();
        let mut stream = Vec::new();
        enc.encode(&graph, &mut stream);
        let msgs = falcon_proto::gob::stream::split_messages(&stream).expect("split");
        b.iter_batched(
            falcon_proto::gob::Decoder::new,
            |mut dec| {
                let mut last = None;
                for m in &msgs {
                    last = Some(dec.decode_message(m).expect("decode"));
                }
                black_box(last)
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let ring = HashRing::new(["graph-00", "graph-01", "graph-02", "graph-03"], 500).expect("ring");
    let keys: Vec<String> =
        items.iter().map(|m| tags::pk(&m.endpoint, &m.metric, &tags::parse_tags(&m.tags))).collect();
    let mut g = c.benchmark_group("ring");
    g.throughput(Throughput::Elements(keys.len() as u64));
    g.bench_function("lookup_200_pks", |b| {
        b.iter(|| {
            let mut acc = 0usize;
            for k in &keys {
                acc += ring.get_index(black_box(k));
            }
            black_box(acc)
        })
    });
    g.bench_function("pk_and_lookup_200_items", |b| {
        let mut pk = String::with_capacity(128);
        b.iter(|| {
            let mut acc = 0usize;
            for m in &items {
                let t = tags::parse_tags(&m.tags);
                tags::write_pk(&mut pk, &m.endpoint, &m.metric, &t);
                acc += ring.get_index(&pk);
            }
            black_box(acc)
        })
    });
    g.finish();
}

criterion_group! {
    name = proto;
    config = Criterion::default().sample_size(30).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(proto);
