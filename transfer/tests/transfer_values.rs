//! Every output takes every value the receivers accept: NaN, the infinities, the largest and the smallest
//! doubles, negative values, no tags and odd tags, pushed once into a transfer with every output on, and
//! checked where each output lands: Go gob sinks (judge, graph, p8s relay), an OpenTSDB line reader, a second
//! transfer (the relay) and its archive, the local archive, a remote-write receiver and an InfluxDB-shaped
//! HTTP receiver. Per output, what it does with a value its peer cannot take is written in docs/compat.md.

mod common;

use common::{counter, http_capture, local, temp_config, transfer, wait_for};
use falcon_tests::go::GoProcess;
use falcon_tests::http;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::sync::{Arc, Mutex};

const TS: i64 = 1_700_000_040;

/// (metric, JSON value as pushed, tags as pushed, the value as Go reads it).
fn cases() -> Vec<(&'static str, &'static str, &'static str, f64)> {
    vec![
        ("v.nan", r#""NaN""#, "case=nan", f64::NAN),
        ("v.pinf", r#""+Inf""#, "case=pinf", f64::INFINITY),
        ("v.ninf", r#""-Inf""#, "case=ninf", f64::NEG_INFINITY),
        ("v.huge", "1.7976931348623157e308", "case=huge", f64::MAX),
        ("v.tiny", "-5e-324", "case=tiny", -5e-324),
        ("v.neg", "-42.125", "case=neg", -42.125),
        ("v.notags", "7", "", 7.0),
        ("v.oddtags", "8", " a = 1 ,b=,=c,k=v=w,日本=値,x,dash-key=\\\"q\\\"", 8.0),
    ]
}

/// The canonical tags of the odd case, as Go's transfer parses them: spaces gone, pieces without `=` dropped,
/// split at the first `=`, sorted by key.
const ODD_CANONICAL: &str = "=c,a=1,b=,dash-key=\"q\",k=v=w,日本=値";

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// A JSON value a Go peer wrote: a number, or Go's text for NaN and the infinities.
fn go_number(v: &Value) -> f64 {
    match v {
        Value::String(s) => falcon_proto::gojson::parse_go_float(s).unwrap(),
        other => other.as_f64().unwrap_or_else(|| panic!("not a number: {other}")),
    }
}

#[test]
fn every_output_takes_every_value() {
    // Judge, graph and p8s relay: one Go gob sink serving all three.
    let mut gob = GoProcess::start(&["gob-sink"]);
    let gob_addr = gob.listen_addr();
    // OpenTSDB: a line reader.
    let tsdb_l = local();
    let tsdb_addr = tsdb_l.local_addr().unwrap().to_string();
    let tsdb_lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = tsdb_lines.clone();
    std::thread::spawn(move || {
        for s in tsdb_l.incoming().flatten() {
            let sink = sink.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(s).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            });
        }
    });
    // The relay's target: another transfer that archives what it gets.
    let dir = std::env::temp_dir().join(format!("falcon-values-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let b_archive = dir.join("b");
    let b = transfer(&temp_config(
        "values-b",
        &common::outputs_only(&format!(r#","archive":{{"enabled":true,"dir":"{}","batch":1}}"#, b_archive.display())),
    ));
    let (rw_addr, rw) = http_capture(0, 204);
    let (influx_addr, influx) = http_capture(0, 204);
    let a_archive = dir.join("a");
    let outputs = format!(
        r#","judge":{{"enabled":true,"cluster":{{"j":"{gob_addr}"}}}},
        "graph":{{"enabled":true,"cluster":{{"g":"{gob_addr}"}}}},
        "p8s_relay":{{"enabled":true,"notSyncMetrics":[],"cluster":{{"p":"{gob_addr}"}}}},
        "tsdb":{{"enabled":true,"batch":1,"address":"{tsdb_addr}"}},
        "transfer":{{"enabled":true,"cluster":{{"b":"{}"}}}},
        "archive":{{"enabled":true,"dir":"{}","batch":1}},
        "remoteWrite":{{"enabled":true,"endpoints":[{{"url":"http://{rw_addr}/api/v1/write"}}]}},
        "influxdb":{{"enabled":true,"address":"http://{influx_addr}","db":"falcon"}}"#,
        b.addr("rpc"),
        a_archive.display()
    );
    // outputs_only turns judge and graph off; the keys given here come later and win, as in Go's decoder.
    let t = transfer(&temp_config("values-a", &common::outputs_only(&outputs)));
    let h = t.addr("http").to_string();
    let cases = cases();
    let items: Vec<String> = cases
        .iter()
        .map(|(m, v, tags, _)| {
            format!(r#"{{"endpoint":"host-1","metric":"{m}","value":{v},"step":60,"counterType":"GAUGE","tags":"{tags}","timestamp":{TS}}}"#)
        })
        .collect();
    let r = http::post_json(&h, "/api/push", &format!("[{}]", items.join(",")));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(r#""Total":8,"Invalid":0"#), "every value is accepted, as by Go: {}", r.body);
    let n = cases.len() as i64;
    let want: BTreeMap<&str, f64> = cases.iter().map(|(m, _, _, v)| (*m, *v)).collect();
    let want_tags = |m: &str| match m {
        "v.notags" => String::new(),
        "v.oddtags" => ODD_CANONICAL.to_string(),
        other => format!("case={}", other.trim_start_matches("v.")),
    };

    let names = [
        "SendToJudgeCnt",
        "SendToGraphCnt",
        "SendToP8sRelayCnt",
        "SendToTsdbCnt",
        "SendToTransferCnt",
        "SendToArchiveCnt",
        "SendToRemoteWriteCnt",
    ];
    let delivered = || {
        let mut v: Vec<(&str, i64)> = names.iter().map(|&c| (c, counter(&h, c))).collect();
        v.push(("influxdb written+failed", counter(&h, "SendToInfluxdbCnt") + counter(&h, "SendToInfluxdbFailCnt")));
        v
    };
    let all: Vec<(&str, i64)> = delivered().into_iter().map(|(c, _)| (c, n)).collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while delivered() != all && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(delivered(), all, "{}", t.log());

    // Judge, graph, p8s: Go decoded every value bit for bit (p8s after HEAD's %.3f, so -5e-324 is 0).
    let mut recorded = gob.sink_all();
    for service in ["Judge", "Graph", "P8sRelay"] {
        let records = recorded.remove(service).unwrap_or_default();
        assert_eq!(records.len(), cases.len(), "{service}");
        for r in &records {
            let v: Value = serde_json::from_str(r).unwrap_or_else(|e| panic!("{service}: {e}: {r}"));
            let m = v["metric"].as_str().unwrap();
            let mut want = want[m];
            if service == "P8sRelay" {
                want = format!("{want:.3}").parse().unwrap_or(want);
                // -0 after rounding: gob, in Go as here, leaves out a float field equal to 0, sign and all.
                if want == 0.0 {
                    want = 0.0;
                }
            }
            assert!(same(go_number(&v["value"]), want), "{service} {m}: {r}");
            let tags: BTreeMap<String, String> = serde_json::from_value(v["tags"].clone()).unwrap();
            assert_eq!(falcon_proto::tags::sorted_tags(&tags), want_tags(m), "{service} {m}");
        }
    }

    // OpenTSDB: Go's `put` line with `%.3f` (NaN and the infinities spelled as Go prints them).
    let lines = tsdb_lines.lock().unwrap().clone();
    assert_eq!(lines.len(), cases.len());
    let tsdb_of = |m: &str| lines.iter().find(|l| l.starts_with(&format!("put {m} "))).unwrap().clone();
    assert_eq!(tsdb_of("v.nan"), format!("put v.nan {TS} NaN case=nan endpoint=host-1 "));
    assert_eq!(tsdb_of("v.pinf"), format!("put v.pinf {TS} +Inf case=pinf endpoint=host-1 "));
    assert_eq!(tsdb_of("v.tiny"), format!("put v.tiny {TS} -0.000 case=tiny endpoint=host-1 "));
    assert!(tsdb_of("v.huge").starts_with(&format!("put v.huge {TS} 1797693134862315708145274237317043567980")));
    assert_eq!(tsdb_of("v.notags"), format!("put v.notags {TS} 7.000 endpoint=host-1 "));
    assert!(tsdb_of("v.oddtags").contains("日本=値"), "{}", tsdb_of("v.oddtags"));

    // Archives, ours and the relay target's: one valid JSON line per item, non-finite values as Go's text.
    for (name, path) in [("archive", a_archive.join("archive.jsonl")), ("relay", b_archive.join("archive.jsonl"))] {
        wait_for(name, || std::fs::read_to_string(&path).is_ok_and(|t| t.lines().count() == cases.len()));
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}: {e}: {line}"));
            let m = v["metric"].as_str().unwrap();
            assert!(same(go_number(&v["value"]), want[m]), "{name} {m}: {line}");
            assert_eq!(v["tags"].as_str().unwrap(), want_tags(m), "{name} {m}");
        }
    }

    // Remote write: every value is a valid sample, NaN and the infinities included; odd tag keys mapped.
    let reqs = common::remote_write_requests(&rw.lock().unwrap());
    let series: Vec<_> = reqs.iter().flat_map(|r| r.timeseries.iter()).collect();
    assert_eq!(series.len(), cases.len());
    for s in &series {
        let name = s.labels.iter().find(|l| l.name == "__name__").unwrap().value.clone();
        let m = name.replace('_', ".");
        assert!(same(s.samples[0].value, want[m.as_str()]), "remote write {name}");
        assert_eq!(s.samples[0].timestamp, TS * 1000);
        for l in &s.labels {
            assert!(
                !l.name.is_empty() && l.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "label name {:?} of {name}",
                l.name
            );
            assert!(!l.value.is_empty(), "Prometheus drops empty labels; {name} sends none: {:?}", l.name);
        }
        assert!(s.labels.windows(2).all(|w| w[0].name < w[1].name), "labels sorted and unique: {name}");
    }

    // InfluxDB: line protocol has no NaN or infinity; those three are counted as failed, the rest written.
    let bodies: Vec<String> =
        influx.lock().unwrap().iter().map(|c| String::from_utf8(c.body.clone()).unwrap()).collect();
    let influx_lines: Vec<&str> = bodies.iter().flat_map(|b| b.lines()).collect();
    assert_eq!(counter(&h, "SendToInfluxdbFailCnt"), 3);
    assert_eq!(influx_lines.len(), cases.len() - 3, "{influx_lines:?}");
    for l in &influx_lines {
        // measurement[,tags] value=<float> <ts>: every tag has a key and a value.
        let (series, rest) = l.split_once(' ').unwrap();
        for tag in series.split(',').skip(1) {
            let (k, v) = tag.split_once('=').unwrap_or_else(|| panic!("tag {tag:?} in {l}"));
            assert!(!k.is_empty() && !v.is_empty(), "empty tag key or value in {l}");
        }
        let (field, ts) = rest.split_once(' ').unwrap();
        assert_eq!(ts, TS.to_string());
        let value: f64 = field.strip_prefix("value=").unwrap().parse().unwrap();
        let m = series.split(',').next().unwrap();
        assert!(same(value, want[m]), "influx {l}");
    }
    assert!(influx_lines.iter().any(|l| l.starts_with("v.oddtags,") && l.contains("日本=値")));
    std::fs::remove_dir_all(&dir).ok();
}
