//! The other outputs: OpenTSDB `put` lines, and the relay to another transfer (HEAD's `transfer` section).

mod common;

use common::{counter, local, start_sink, temp_config, transfer, wait_for};
use falcon_tests::http;
use std::io::{BufRead, BufReader};
use std::sync::{Arc, Mutex};

#[test]
fn tsdb_gets_put_lines_with_raw_timestamps() {
    let l = local();
    let addr = l.local_addr().unwrap().to_string();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let sink = sink.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(s).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            });
        }
    });
    let cfg = temp_config(
        "tsdb",
        &common::outputs_only(&format!(r#","tsdb":{{"enabled":true,"batch":2,"retry":3,"address":"{addr}"}}"#)),
    );
    let t = transfer(&cfg);
    let h = t.addr("http").to_string();
    let r = http::post_json(
        &h,
        "/api/push",
        r#"[{"endpoint":"h1","metric":"cpu.idle","value":97.5,"step":60,"counterType":"GAUGE","tags":"","timestamp":1700000003},
            {"endpoint":"h1","metric":"df.bytes.free","value":"1e3","step":60,"counterType":"GAUGE","tags":"Mount=/ data,fstype=ext4,endpoint=x","timestamp":1700000003},
            {"endpoint":"h2","metric":"net.if.in.bytes","value":12,"step":60,"counterType":"COUNTER","tags":"iface=eth0","timestamp":1700000061}]"#,
    );
    assert_eq!(r.status, 200);
    wait_for("three lines", || lines.lock().unwrap().len() == 3);
    let mut got = lines.lock().unwrap().clone();
    got.sort();
    assert_eq!(
        got,
        vec![
            "put cpu.idle 1700000003 97.500 endpoint=h1 ",
            "put df.bytes.free 1700000003 1000.000 endpoint=h1 fstype=ext4 mount=/data ",
            "put net.if.in.bytes 1700000061 12.000 endpoint=h2 iface=eth0 ",
        ]
    );
    assert_eq!(counter(&h, "SendToTsdbCnt"), 3);
}

#[test]
fn relay_forwards_to_another_transfer() {
    let sink = start_sink(local());
    // B: an ordinary transfer feeding the judge sink.
    let cfg_b = temp_config(
        "relay-b",
        &common::outputs_only("").replace(
            r#""judge":{"enabled":false}"#,
            &format!(r#""judge":{{"enabled":true,"cluster":{{"judge-00":"{}"}}}}"#, sink.addr),
        ),
    );
    let b = transfer(&cfg_b);
    // A: relays everything to B (and, first in the list, to a transfer that is not there).
    let dead = local().local_addr().unwrap().to_string();
    let cfg_a = temp_config(
        "relay-a",
        &common::outputs_only(&format!(
            r#","transfer":{{"enabled":true,"batch":100,"retry":3,"connTimeout":300,"callTimeout":2000,"cluster":{{"t0-dead":"{dead}","t1":"{}"}}}},"influxdb":{{"enabled":false}}"#,
            b.addr("rpc")
        )),
    );
    let a = transfer(&cfg_a);
    let ha = a.addr("http").to_string();
    let items: Vec<String> = (0..250)
        .map(|i| format!(r#"{{"endpoint":"h{i}","metric":"m","value":{i},"step":10,"counterType":"DERIVE","tags":"b=2,a=1","timestamp":1795261507}}"#))
        .collect();
    let r = http::post_json(&ha, "/api/push", &format!("[{}]", items.join(",")));
    assert_eq!(r.status, 200);
    wait_for("relayed and forwarded", || sink.judge_count() == 250);
    assert_eq!(counter(&ha, "SendToTransferCnt"), 250);
    assert_eq!(counter(b.addr("http"), "RpcRecvCnt"), 250, "B received them over Transfer.Update");
    assert!(sink.judge_pks().contains(&"h7/m/a=1,b=2".to_string()));
    // A's config has HEAD's sections, so /counter/all lists HEAD's 35 counters.
    let c: serde_json::Value = serde_json::from_str(&http::get(&ha, "/counter/all").body).unwrap();
    assert_eq!(c["data"].as_array().unwrap().len(), 35);
}

#[test]
fn api_push_takes_gzip_and_msgpack_and_the_archive_takes_every_value() {
    let dir = std::env::temp_dir().join(format!("falcon-push-forms-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let archive = format!(r#","archive":{{"enabled":true,"dir":"{}","batch":1}}"#, dir.display());
    let t = transfer(&temp_config("push-forms", &common::outputs_only(&archive)));
    let h = t.addr("http").to_string();
    let items = |tag: &str| {
        format!(
            r#"[{{"endpoint":"h","metric":"m","value":1.5,"step":60,"counterType":"GAUGE","tags":"form={tag}","timestamp":1700000000}},
               {{"endpoint":"h","metric":"m","value":"NaN","step":60,"counterType":"GAUGE","tags":"form={tag},v=nan","timestamp":1700000000}},
               {{"endpoint":"h","metric":"m","value":"-Inf","step":60,"counterType":"GAUGE","tags":"form={tag},v=-inf","timestamp":1700000000}},
               {{"endpoint":"h","metric":"m","value":-1e300,"step":60,"counterType":"GAUGE","tags":"","timestamp":1700000000}}]"#
        )
    };
    let gz = |b: &[u8]| {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    };
    let json_ct = "application/json";
    let plain = items("json");
    let r = http::request_with(&h, "POST", "/api/push", Some(plain.as_bytes()), json_ct, &[]).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let zipped = gz(items("gzip").as_bytes());
    let r =
        http::request_with(&h, "POST", "/api/push", Some(&zipped), json_ct, &[("Content-Encoding", "gzip")]).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&items("msgpack")).unwrap();
    let packed = rmp_serde::to_vec_named(&v).unwrap();
    let r = http::request_with(&h, "POST", "/api/push", Some(&packed), "application/msgpack", &[]).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    // Refusals say why.
    let r = http::request_with(&h, "POST", "/api/push", Some(b"xx"), json_ct, &[("Content-Encoding", "br")]).unwrap();
    assert_eq!(r.status, 415, "{}", r.body);
    let r = http::request_with(&h, "POST", "/api/push", Some(b"xx"), json_ct, &[("Content-Encoding", "gzip")]).unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
    let r = http::request_with(&h, "POST", "/api/push", Some(&[0xc1]), "application/msgpack", &[]).unwrap();
    assert_eq!(r.status, 400, "{}", r.body);

    wait_for("12 archived items", || counter(&h, "HttpRecvCnt") == 12);
    let path = dir.join("archive.jsonl");
    wait_for("12 archive lines", || std::fs::read_to_string(&path).map(|t| t.lines().count()).unwrap_or(0) == 12);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for form in ["json", "gzip", "msgpack"] {
        let of =
            |tags: &str| lines.iter().find(|l| l["tags"] == tags).unwrap_or_else(|| panic!("{tags}"))["value"].clone();
        assert_eq!(of(&format!("form={form}")), serde_json::json!(1.5));
        assert_eq!(of(&format!("form={form},v=nan")), serde_json::json!("NaN"));
        assert_eq!(of(&format!("form={form},v=-inf")), serde_json::json!("-Inf"));
    }
    assert_eq!(lines.iter().filter(|l| l["value"] == serde_json::json!(-1e300)).count(), 3);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn remote_write_reaches_every_endpoint_retries_5xx_and_counts_4xx() {
    let (ok_addr, got) = common::http_capture(3, 204);
    let (bad_addr, _) = common::http_capture(0, 400);
    let rw = format!(
        r#","remoteWrite":{{"enabled":true,"batch":100,"timeout":2000,"maxConns":2,"endpointLabel":"ident",
           "endpoints":[{{"url":"http://{ok_addr}/api/v1/write","headers":{{"X-Scope-OrgID":"a"}},"basicAuth":{{"username":"u","password":"p"}}}},
                        {{"url":"http://{bad_addr}/api/v1/write"}}]}}"#
    );
    let t = transfer(&temp_config("remote-write", &common::outputs_only(&rw)));
    let h = t.addr("http").to_string();
    let r = http::post_json(
        &h,
        "/api/push",
        r#"[{"endpoint":"web-01","metric":"df.bytes.free.percent","value":12.5,"step":60,"counterType":"GAUGE","tags":"mount=/,fstype=ext4","timestamp":1700000060},
            {"endpoint":"web-01","metric":"df.bytes.free.percent","value":12.0,"step":60,"counterType":"GAUGE","tags":"mount=/,fstype=ext4","timestamp":1700000000},
            {"endpoint":"web-02","metric":"5xx.count","value":"NaN","step":60,"counterType":"COUNTER","tags":"","timestamp":1700000000}]"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for("delivery after three 503s", || counter(&h, "SendToRemoteWriteCnt") >= 3);
    wait_for("the 400 counted as bad data", || counter(&h, "SendToRemoteWriteFailCnt") == 3);
    let reqs = common::remote_write_requests(&got.lock().unwrap());
    let series: Vec<_> = reqs.iter().flat_map(|r| r.timeseries.iter()).collect();
    assert_eq!(series.len(), 2);
    let label = |t: &falcon_transfer::sender::remote_write::pb::TimeSeries, n: &str| {
        t.labels.iter().find(|l| l.name == n).map(|l| l.value.clone())
    };
    let df = series.iter().find(|t| label(t, "__name__").as_deref() == Some("df_bytes_free_percent")).unwrap();
    assert_eq!((label(df, "ident").as_deref(), label(df, "mount").as_deref()), (Some("web-01"), Some("/")));
    let samples: Vec<(i64, f64)> = df.samples.iter().map(|s| (s.timestamp, s.value)).collect();
    assert_eq!(samples, [(1_700_000_000_000, 12.0), (1_700_000_060_000, 12.5)], "time order");
    let c = series.iter().find(|t| label(t, "__name__").as_deref() == Some("F_5xx_count")).unwrap();
    assert!(c.samples[0].value.is_nan(), "NaN is a valid sample");
    assert!(
        counter(&h, "SendToRemoteWriteRequeueCnt") >= 1,
        "three 503s (every attempt of a delivery) put the batch back"
    );
}

#[test]
fn remote_write_in_feeds_the_pipeline() {
    use falcon_transfer::sender::remote_write::pb;
    let dir = std::env::temp_dir().join(format!("falcon-rw-in-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let archive = format!(r#","archive":{{"enabled":true,"dir":"{}","batch":1}}"#, dir.display());
    let t = transfer(&temp_config("rw-in", &common::outputs_only(&archive)));
    let h = t.addr("http").to_string();
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let label = |n: &str, v: &str| pb::Label { name: n.into(), value: v.into() };
    let req = pb::WriteRequest {
        timeseries: vec![pb::TimeSeries {
            labels: vec![label("__name__", "node_load1"), label("instance", "web-01:9100"), label("job", "node")],
            samples: vec![pb::Sample { value: 0.25, timestamp: now_ms }],
        }],
    };
    let body = snap::raw::Encoder::new().compress_vec(&prost::Message::encode_to_vec(&req)).unwrap();
    let ct = "application/x-protobuf";
    let r =
        http::request_with(&h, "POST", "/api/v1/write", Some(&body), ct, &[("Content-Encoding", "snappy")]).unwrap();
    assert_eq!(r.status, 204, "{}", r.body);
    let r = http::request_with(&h, "POST", "/api/v1/write", Some(b"garbage"), ct, &[]).unwrap();
    assert_eq!(r.status, 400);
    assert!(r.body.contains("snappy"), "{}", r.body);
    let path = dir.join("archive.jsonl");
    wait_for("the archived item", || std::fs::read_to_string(&path).is_ok_and(|t| t.lines().count() == 1));
    let line: serde_json::Value = serde_json::from_str(std::fs::read_to_string(&path).unwrap().trim()).unwrap();
    assert_eq!(line["endpoint"], "web-01:9100");
    assert_eq!(line["metric"], "node_load1");
    assert_eq!(line["tags"], "job=node");
    assert_eq!(line["value"], 0.25);
    assert_eq!(line["timestamp"], now_ms / 1000);
    assert_eq!(counter(&h, "HttpRecvCnt"), 1);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn output_credentials_stay_out_of_the_api_the_logs_and_spool_names() {
    // Nothing listens on `down`: deliveries fail, lanes back off with an error and spool what they hold.
    let down = common::local().local_addr().unwrap().to_string();
    let dir = std::env::temp_dir().join(format!("falcon-secrets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let spool = format!(r#""spool":{{"dir":"{}"}}"#, dir.join("spool").display());
    let url = format!("http://rw-user:url-secret@{down}/api/v1/write?token=query-secret");
    let cfg = format!(
        r#","remoteWrite":{{"enabled":true,"batch":10,"timeout":500,"maxConns":1,"queueSize":1,{spool},
           "endpoints":[{{"url":"{url}","headers":{{"X-Scope-OrgID":"tenant-a","X-Api-Key":"header-secret"}},
                          "basicAuth":{{"username":"rw-user","password":"basic-secret"}}}},
                        {{"url":"http://{down}/api/v1/write","bearerToken":"bearer-secret"}}]}},
           "influxdb":{{"enabled":true,"batch":10,"retry":1,"maxConns":1,"timeout":500,"queueSize":1,{spool},
                        "address":"http://influx-user:influx-url-secret@{down}","db":"falcon",
                        "username":"falcon","password":"influx-secret"}}"#
    );
    let t = transfer(&temp_config("secrets", &common::outputs_only(&cfg)));
    let h = t.addr("http").to_string();
    let items: Vec<String> = (0..20)
        .map(|i| format!(r#"{{"endpoint":"web-01","metric":"m{i}","value":1,"step":60,"counterType":"GAUGE","tags":"","timestamp":1700000000}}"#))
        .collect();
    let r = http::post_json(&h, "/api/push", &format!("[{}]", items.join(",")));
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for("items spooled by every lane", || {
        let v: serde_json::Value = serde_json::from_str(&http::get(&h, "/spool").body).unwrap();
        let lanes = v["data"].as_array().unwrap().clone();
        lanes.len() == 3 && lanes.iter().all(|l| l["items"].as_u64().unwrap_or(0) > 0)
    });
    wait_for("every lane's last error", || {
        let v: serde_json::Value = serde_json::from_str(&http::get(&h, "/page/lanes").body).unwrap();
        v["data"]["lanes"].as_array().is_some_and(|l| l.len() == 3 && l.iter().all(|l| l["lastError"].is_string()))
    });
    let secrets = ["url-secret", "query-secret", "header-secret", "basic-secret", "bearer-secret", "influx-secret"];
    let config = http::get(&h, "/config").body;
    for path in ["/config", "/spool", "/page/lanes", "/metrics", "/counter/all", "/counter/extra"] {
        let body = http::get(&h, path).body;
        for s in secrets {
            assert!(!body.contains(s), "{path} shows {s}: {body}");
        }
    }
    // /config keeps its shape: who and where are shown, the secrets masked, the tenant header as it is.
    let c: serde_json::Value = serde_json::from_str(&config).unwrap();
    let rw = &c["data"]["remoteWrite"]["endpoints"];
    assert_eq!(rw[0]["url"], format!("http://rw-user:******@{down}/api/v1/write?token=******"));
    assert_eq!(rw[0]["headers"], serde_json::json!({"X-Scope-OrgID":"tenant-a","X-Api-Key":"******"}));
    assert_eq!(rw[0]["basicAuth"], serde_json::json!({"username":"rw-user","password":"******"}));
    assert_eq!((rw[1]["bearerToken"].as_str(), rw[1]["basicAuth"]["password"].as_str()), (Some("******"), Some("")));
    assert_eq!(c["data"]["influxdb"]["password"], "******");
    assert_eq!(c["data"]["influxdb"]["address"], format!("http://influx-user:******@{down}"));
    // The two endpoints of one public address keep two spools, and no directory name carries a secret.
    let names: Vec<String> = std::fs::read_dir(dir.join("spool"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.iter().all(|n| secrets.iter().all(|s| !n.contains(s))), "{names:?}");
    t.terminate();
    let log = t.log();
    for s in secrets {
        assert!(!log.contains(s), "the log shows {s}: {log}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
