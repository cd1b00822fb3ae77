//! Several transfers with one cluster config shard every series to the same judge and graph node as each
//! other and as the Go transfer (the ring is checked against Go's own assignments in proto's tests).

mod common;

use common::{config, counter, local, start_sink, temp_config, transfer, wait_for};
use falcon_proto::jsonrpc::{Client, ClientConfig};
use falcon_proto::model::{GoValue, MetricValue, TransferResponse};
use falcon_proto::ring::HashRing;
use falcon_proto::tags;
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn two_transfers_agree_on_every_shard() {
    let judges: Vec<_> = (0..3).map(|_| start_sink(local())).collect();
    let graphs: Vec<_> = (0..4).map(|_| start_sink(local())).collect();
    let judge_names = ["judge-00", "judge-01", "judge-02"];
    let graph_names = ["graph-00", "graph-01", "graph-02", "graph-03"];
    let judge_cluster: Vec<String> =
        judge_names.iter().zip(&judges).map(|(n, s)| format!("\"{n}\":\"{}\"", s.addr)).collect();
    let graph_cluster: Vec<String> =
        graph_names.iter().zip(&graphs).map(|(n, s)| format!("\"{n}\":\"{}\"", s.addr)).collect();
    let cfg = temp_config("cluster", &config(&judge_cluster.join(","), &graph_cluster.join(","), "", ""));
    let a = transfer(&cfg);
    let b = transfer(&cfg);

    // 300 series with tags in varying order, 6 points each; the client alternates transfers per call, so every
    // series goes through both.
    let series: Vec<(String, String, String)> = (0..300)
        .map(|i| {
            (
                format!("web-{:03}.example", i % 40),
                format!("net.if.in.bytes.{}", i % 7),
                format!("iface=eth{},dc=bj{}", i % 3, i % 5),
            )
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let clients =
        [Client::new(a.addr("rpc"), ClientConfig::default()), Client::new(b.addr("rpc"), ClientConfig::default())];
    rt.block_on(async {
        for round in 0..6 {
            for (k, chunk) in series.chunks(50).enumerate() {
                let items: Vec<MetricValue> = chunk
                    .iter()
                    .map(|(e, m, t)| MetricValue {
                        endpoint: e.clone(),
                        metric: m.clone(),
                        value: GoValue::Number(round as f64),
                        step: 60,
                        counter_type: "COUNTER".into(),
                        tags: t.clone(),
                        timestamp: 1_795_261_500 + 60 * round,
                    })
                    .collect();
                let client = &clients[(round as usize + k) % 2];
                let r: TransferResponse = client.call("Transfer.Update", &items).await.unwrap();
                assert_eq!((r.total, r.invalid), (50, 0));
            }
        }
    });
    let total = series.len() * 6;
    wait_for("all delivered", || {
        judges.iter().map(|s| s.judge_count()).sum::<usize>() == total
            && graphs.iter().map(|s| s.graph_pks().len()).sum::<usize>() == total
    });
    assert!(
        counter(a.addr("http"), "RecvCnt") > 0 && counter(b.addr("http"), "RecvCnt") > 0,
        "both transfers took traffic"
    );

    let judge_ring = HashRing::new(judge_names, 500).unwrap();
    let graph_ring = HashRing::new(graph_names, 500).unwrap();
    for (kind, sinks, names, ring, pks) in [
        ("judge", &judges, &judge_names[..], &judge_ring, judges.iter().map(|s| s.judge_pks()).collect::<Vec<_>>()),
        ("graph", &graphs, &graph_names[..], &graph_ring, graphs.iter().map(|s| s.graph_pks()).collect::<Vec<_>>()),
    ] {
        let _ = sinks;
        let mut node_of: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
        for (name, list) in names.iter().zip(&pks) {
            assert!(!list.is_empty(), "{kind} {name} got a share");
            for pk in list {
                node_of.entry(pk.clone()).or_default().insert(name);
            }
        }
        assert_eq!(node_of.len(), series.len(), "{kind}: every series arrived");
        for (e, m, t) in &series {
            let pk = tags::pk(e, m, &tags::parse_tags(t));
            let nodes = &node_of[&pk];
            assert_eq!(nodes.len(), 1, "{kind}: {pk} landed on one node from both transfers");
            assert_eq!(*nodes.iter().next().unwrap(), ring.get(&pk), "{kind}: {pk} on Go's node");
        }
        for list in &pks {
            let per_series: BTreeMap<&String, usize> = list.iter().fold(BTreeMap::new(), |mut m, pk| {
                *m.entry(pk).or_default() += 1;
                m
            });
            assert!(per_series.values().all(|&n| n == 6), "{kind}: all 6 points of each series on its node");
        }
    }
}
