//! The transfer against the storage engines estates run today, real servers from Debian's packages on loopback:
//! remote write out to VictoriaMetrics and Prometheus (every item read back with its name, labels, value and
//! timestamp), and a Prometheus remote-writing what it scrapes into the transfer, on to Go gob graph nodes.

mod common;

use common::{counter, temp_config, transfer, wait_for};
use falcon_proto::ring::HashRing;
use falcon_proto::tags;
use falcon_tests::go::GoProcess;
use falcon_tests::http;
use falcon_tests::prometheus::{Prometheus, PrometheusOptions};
use falcon_tests::victoria::VictoriaMetrics;
use std::collections::BTreeMap;
use std::time::Duration;

fn now() -> i64 {
    falcon_runtime::timefmt::now_unix()
}

#[test]
fn remote_write_out_reaches_victoria_metrics_and_prometheus() {
    let vm = VictoriaMetrics::start().unwrap_or_else(|e| panic!("{e}"));
    // No self-scrape: the only samples are ours.
    let prom = Prometheus::start_with(&PrometheusOptions { scrape_self: false, ..Default::default() })
        .unwrap_or_else(|e| panic!("{e}"));
    let rw = format!(
        r#","remoteWrite":{{"enabled":true,"batch":500,"timeout":5000,
           "endpoints":[{{"url":"{}"}},{{"url":"{}"}}]}}"#,
        vm.remote_write_url(),
        prom.remote_write_url()
    );
    let t = transfer(&temp_config("rw-storage", &common::outputs_only(&rw)));
    let h = t.addr("http").to_string();
    // Five minutes of two series, oldest last in the body: the transfer sends each series in time order.
    let t0 = now() - 300;
    let mut items = Vec::new();
    for k in (0..5).rev() {
        let ts = t0 + 60 * k;
        items.push(format!(
            r#"{{"endpoint":"web-01","metric":"cpu.idle","value":{},"step":60,"counterType":"GAUGE","tags":"","timestamp":{ts}}}"#,
            90 + k
        ));
        items.push(format!(
            r#"{{"endpoint":"web-01","metric":"5xx.count","value":{}.5,"step":60,"counterType":"COUNTER","tags":"code=500,url.path=/a","timestamp":{ts}}}"#,
            k
        ));
    }
    let r = http::post_json(&h, "/api/push", &format!("[{}]", items.join(",")));
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for("both endpoints to take the 10 items", || counter(&h, "SendToRemoteWriteCnt") == 20);
    assert_eq!(counter(&h, "SendToRemoteWriteFailCnt"), 0);

    // VictoriaMetrics: every raw sample, exact.
    let series = vm
        .wait_export(r#"{__name__=~"cpu_idle|F_5xx_count"}"#, 10, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(series.len(), 2, "{series:?}");
    for s in &series {
        let m = &s["metric"];
        let ts: Vec<i64> = s["timestamps"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
        assert_eq!(ts, (0..5).map(|k| (t0 + 60 * k) * 1000).collect::<Vec<_>>());
        let vals: Vec<f64> = s["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        match m["__name__"].as_str() {
            Some("cpu_idle") => {
                assert_eq!(m, &serde_json::json!({"__name__": "cpu_idle", "hostname": "web-01"}));
                assert_eq!(vals, [90.0, 91.0, 92.0, 93.0, 94.0]);
            }
            Some("F_5xx_count") => {
                let want = serde_json::json!({"__name__": "F_5xx_count", "hostname": "web-01", "code": "500", "url_path": "/a"});
                assert_eq!(m, &want);
                assert_eq!(vals, [0.5, 1.5, 2.5, 3.5, 4.5]);
            }
            other => panic!("unexpected series {other:?}"),
        }
    }

    // Prometheus: the same five samples of each series.
    let got = prom
        .wait_query(r#"count_over_time(cpu_idle{hostname="web-01"}[10m])"#, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got[0]["value"][1], "5", "{got:?}");
    let at = prom.query_at(r#"F_5xx_count{code="500",url_path="/a",hostname="web-01"}"#, (t0 + 120) as f64).unwrap();
    assert_eq!(at[0]["value"][1], "2.5", "{at:?}");
}

#[test]
fn prometheus_remote_writes_into_the_transfer() {
    let dir = std::env::temp_dir().join(format!("falcon-rw-prom-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Two Go graph nodes (standard-library gob sinks): each series must land on the node the ring picks.
    let mut nodes: Vec<(&str, GoProcess, String)> = ["graph-00", "graph-01"]
        .into_iter()
        .map(|n| {
            let mut p = GoProcess::start(&["gob-sink"]);
            let a = p.listen_addr();
            (n, p, a)
        })
        .collect();
    let cluster: Vec<String> = nodes.iter().map(|(n, _, a)| format!(r#""{n}":"{a}""#)).collect();
    let outputs = format!(
        r#","archive":{{"enabled":true,"dir":"{}","batch":100}},"graph":{{"enabled":true,"cluster":{{{}}}}}"#,
        dir.display(),
        cluster.join(",")
    );
    let t = transfer(&temp_config("rw-prom-in", &common::outputs_only(&outputs)));
    let h = t.addr("http").to_string();
    let prom =
        Prometheus::start_with_remote_write(&format!("http://{h}/api/v1/write")).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("archive.jsonl");
    let instance = prom.addr();
    // Prometheus's first scrape waits for its 5 s configuration tick, then remote-writes within a second.
    let mut up = None;
    wait_for("Prometheus's own `up` through the transfer", || {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        up = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["metric"] == "up" && v["endpoint"] == instance.as_str());
        up.is_some()
    });
    let up = up.unwrap();
    assert_eq!(up["tags"], "job=prometheus");
    assert_eq!(up["value"], 1.0);
    assert_eq!(up["step"], 60);
    assert!((up["timestamp"].as_i64().unwrap() - now()).abs() < 60);
    assert!(counter(&h, "HttpRecvCnt") > 10, "every scraped series came in");
    wait_for("graph deliveries", || counter(&h, "SendToGraphCnt") > 10);
    let ring = HashRing::new(["graph-00", "graph-01"], 500).unwrap();
    let up_pk = tags::pk(instance.as_str(), "up", &tags::parse_tags("job=prometheus"));
    let mut per_node = Vec::new();
    for (node, p, _) in nodes.iter_mut() {
        let items = p.sink_items("Graph");
        // The sink writes NaN values (Prometheus has some) as text, so read the fields, not a GraphItem.
        let pks: Vec<String> = items
            .iter()
            .map(|it| {
                let g: serde_json::Value = serde_json::from_str(it).unwrap();
                let t: BTreeMap<String, String> = serde_json::from_value(g["tags"].clone()).unwrap();
                let pk = tags::pk(g["endpoint"].as_str().unwrap(), g["metric"].as_str().unwrap(), &t);
                assert_eq!(ring.get(&pk), *node, "{pk} on the node the ring picks");
                assert_eq!((g["step"].as_i64(), g["dstype"].as_str()), (Some(60), Some("GAUGE")), "{pk}");
                pk
            })
            .collect();
        let has_up = pks.contains(&up_pk);
        assert_eq!(has_up, ring.get(&up_pk) == *node, "`up` is on {} only", ring.get(&up_pk));
        per_node.push(items.len());
    }
    assert!(per_node.iter().all(|&n| n > 0), "the ring spreads Prometheus's series over both nodes: {per_node:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn influxdb_gets_head_line_protocol_with_auth() {
    let influx =
        falcon_tests::influxdb::InfluxDb::start_with_auth("falcon", "secret").unwrap_or_else(|e| panic!("{e}"));
    influx.create_db("falcon").unwrap_or_else(|e| panic!("{e}"));
    let cfg = format!(
        r#","influxdb":{{"enabled":true,"batch":100,"retry":3,"maxConns":2,"timeout":5000,"address":"{}",
           "db":"falcon","username":"falcon","password":"secret","precision":"s"}}"#,
        influx.url()
    );
    let t = transfer(&temp_config("influx", &common::outputs_only(&cfg)));
    let h = t.addr("http").to_string();
    let ts = now() - 120;
    let r = http::post_json(
        &h,
        "/api/push",
        &format!(
            r#"[{{"endpoint":"web 01","metric":"df.bytes.free","value":12.5,"step":60,"counterType":"GAUGE","tags":"mount=/data,fstype=ext4","timestamp":{ts}}},
                {{"endpoint":"web 01","metric":"cpu.idle","value":"NaN","step":60,"counterType":"GAUGE","tags":"","timestamp":{ts}}},
                {{"endpoint":"web-02","metric":"cpu.idle","value":-3,"step":60,"counterType":"GAUGE","tags":"","timestamp":{ts}}}]"#
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for("two points written, the NaN counted", || {
        counter(&h, "SendToInfluxdbCnt") == 2 && counter(&h, "SendToInfluxdbFailCnt") == 1
    });
    let df = influx.query("falcon", r#"SELECT * FROM "df.bytes.free""#).unwrap_or_else(|e| panic!("{e}"));
    let s = &df["results"][0]["series"][0];
    let cols: Vec<&str> = s["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    let row = &s["values"][0];
    let col = |n: &str| &row[cols.iter().position(|c| *c == n).unwrap()];
    assert_eq!(col("time"), &serde_json::json!(ts));
    assert_eq!(
        (col("endpoint"), col("mount"), col("fstype")),
        (&serde_json::json!("web 01"), &serde_json::json!("/data"), &serde_json::json!("ext4"))
    );
    assert_eq!(col("value"), &serde_json::json!(12.5));
    let cpu = influx.query("falcon", r#"SELECT value, endpoint FROM "cpu.idle""#).unwrap();
    let rows = cpu["results"][0]["series"][0]["values"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1, "the NaN point is left out: {rows:?}");
    assert_eq!((rows[0][0].as_i64(), rows[0][1].as_f64(), rows[0][2].as_str()), (Some(ts), Some(-3.0), Some("web-02")));
    // A whole number still goes out as a float field (no `i` suffix), so later fractions fit the same field.
    let keys = influx.query("falcon", r#"SHOW FIELD KEYS FROM "cpu.idle""#).unwrap();
    assert_eq!(keys["results"][0]["series"][0]["values"][0], serde_json::json!(["value", "float"]));
}
