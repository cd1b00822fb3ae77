//! The storage harnesses themselves: private Prometheus, VictoriaMetrics and InfluxDB servers start, take data
//! through their own native APIs, give it back, stop and leave nothing behind. Needs Debian's prometheus,
//! victoria-metrics and influxdb (scripts/install-test-deps.sh); without them the tests fail saying so rather than
//! skipping, since CI always installs them.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use falcon_tests::http;
use falcon_tests::influxdb::InfluxDb;
use falcon_tests::prometheus::{Prometheus, PrometheusOptions};
use falcon_tests::victoria::VictoriaMetrics;
use serde_json::json;

/// Whether a process with this pid still exists (our children are reaped on stop, so a gone one is ESRCH).
fn alive(pid: u32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_ok()
}

/// Drops a server and checks that its process is gone and its temp dir removed.
fn drop_and_check<T>(server: T, pid: u32, dir: PathBuf) {
    assert!(dir.exists());
    drop(server);
    assert!(!alive(pid), "server process {pid} still running");
    assert!(!dir.exists(), "temp dir {} left behind", dir.display());
}

#[test]
fn prometheus_scrapes_itself() {
    let t0 = Instant::now();
    let mut prom = Prometheus::start().unwrap_or_else(|e| panic!("{e}"));
    eprintln!("prometheus: ready on port {} in {:?}", prom.port(), t0.elapsed());
    assert_eq!(prom.remote_write_url(), format!("http://127.0.0.1:{}/api/v1/write", prom.port()));

    // The first scrape waits for Prometheus's 5 s configuration tick.
    let up = prom.wait_query("up", Duration::from_secs(15)).unwrap();
    eprintln!("prometheus: first scrape visible after {:?}", t0.elapsed());
    assert_eq!(up.len(), 1, "{up:?}");
    assert_eq!(up[0]["metric"], json!({"__name__": "up", "job": "prometheus", "instance": prom.addr()}));
    assert_eq!(up[0]["value"][1], "1");

    let series = prom.series(r#"up{job="prometheus"}"#).unwrap();
    assert_eq!(series, json!([{"__name__": "up", "job": "prometheus", "instance": prom.addr()}]));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let range = prom.query_range("up", now - 30.0, now, 1.0).unwrap();
    assert!(range[0]["values"].as_array().is_some_and(|v| !v.is_empty()), "{range}");
    // A query error comes back with Prometheus's message.
    let err = prom.query("up{").unwrap_err();
    assert!(err.contains("bad_data") && err.contains("parse error"), "{err}");

    let pid = prom.pid().unwrap();
    prom.stop();
    assert!(!alive(pid));
    assert!(prom.query("up").is_err());
    let dir = prom.dir().to_path_buf();
    drop_and_check(prom, pid, dir);
}

#[test]
fn prometheus_remote_writes_to_prometheus_and_victoria() {
    let t0 = Instant::now();
    let vm = VictoriaMetrics::start().unwrap_or_else(|e| panic!("{e}"));
    let receiver = Prometheus::start_with(&PrometheusOptions { scrape_self: false, ..Default::default() })
        .unwrap_or_else(|e| panic!("{e}"));
    let sender = Prometheus::start_with(&PrometheusOptions {
        scrape_self: true,
        remote_write: vec![receiver.remote_write_url(), vm.remote_write_url()],
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("remote write: three servers ready in {:?}", t0.elapsed());

    let selector = format!(r#"up{{job="prometheus",instance="{}"}}"#, sender.addr());
    let got =
        receiver.wait_query(&selector, Duration::from_secs(15)).unwrap_or_else(|e| panic!("{e}\n{}", sender.log()));
    assert_eq!(got[0]["value"][1], "1");
    eprintln!("remote write: in the receiving Prometheus after {:?}", t0.elapsed());
    let exported = vm.wait_export(&selector, 1, Duration::from_secs(10)).unwrap();
    assert_eq!(exported[0]["metric"]["instance"], sender.addr());
    assert!(exported[0]["values"].as_array().unwrap().iter().all(|v| v == 1), "{exported:?}");
    eprintln!("remote write: in VictoriaMetrics after {:?}", t0.elapsed());
    // The receiver scrapes nothing itself.
    assert_eq!(receiver.query(r#"up{job="prometheus"}"#).unwrap().as_array().unwrap().len(), 1);
}

#[test]
fn victoria_metrics_imports_exports_and_keeps_data_over_a_restart() {
    let t0 = Instant::now();
    let mut vm = VictoriaMetrics::start().unwrap_or_else(|e| panic!("{e}"));
    eprintln!("victoria-metrics: healthy on port {} in {:?}", vm.port(), t0.elapsed());
    assert_eq!(vm.remote_write_url(), format!("http://127.0.0.1:{}/api/v1/write", vm.port()));

    // Fixed 2023 timestamps, as the generated test items carry, and one stamped by the server.
    let base_ms = falcon_tests::gen::BASE_TS * 1000;
    vm.import_prometheus(&format!(
        "falcon_test{{endpoint=\"host-a\",counter=\"cpu\"}} 1.5 {base_ms}\n\
         falcon_test{{endpoint=\"host-a\",counter=\"cpu\"}} -2e-3 {}\n\
         falcon_test{{endpoint=\"host-b\",counter=\"cpu\"}} 42 {base_ms}\n\
         falcon_now{{endpoint=\"host-a\"}} 7\n",
        base_ms + 60_000
    ))
    .unwrap();
    vm.flush().unwrap();

    let mut series = vm.export(r#"falcon_test{counter="cpu"}"#).unwrap();
    series.sort_by_key(|s| s["metric"]["endpoint"].as_str().unwrap_or("").to_string());
    assert_eq!(series.len(), 2, "{series:?}");
    assert_eq!(series[0]["metric"], json!({"__name__": "falcon_test", "endpoint": "host-a", "counter": "cpu"}));
    assert_eq!(series[0]["values"], json!([1.5, -0.002]));
    assert_eq!(series[0]["timestamps"], json!([base_ms, base_ms + 60_000]));
    assert_eq!(series[1]["values"], json!([42]));
    // The sample without a timestamp took the server's clock and is exported at once.
    let now = vm.export("falcon_now").unwrap();
    assert_eq!(now.len(), 1, "{now:?}");
    let now_ms = now[0]["timestamps"][0].as_i64().unwrap();
    let our_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!((our_ms - now_ms).abs() < 10_000, "{now_ms} vs {our_ms}");

    let at = vm.query_at(r#"falcon_test{endpoint="host-b"}"#, (base_ms / 1000) as f64).unwrap();
    assert_eq!(at[0]["value"][1], "42", "{at}");
    // Instant queries at "now" see the fresh sample from the next whole second on.
    falcon_tests::util::wait_for("falcon_now in an instant query", Duration::from_secs(5), || {
        vm.query("falcon_now").is_ok_and(|r| r[0]["value"][1] == "7")
    });
    let err = vm.query("falcon_now{").unwrap_err();
    assert!(err.contains("falcon_now{"), "{err}");
    assert_eq!(vm.series("falcon_test").unwrap().as_array().unwrap().len(), 2);

    let t1 = Instant::now();
    vm.restart().unwrap();
    eprintln!("victoria-metrics: restarted in {:?}", t1.elapsed());
    assert_eq!(vm.export(r#"falcon_test{endpoint="host-a"}"#).unwrap()[0]["values"], json!([1.5, -0.002]));

    let pid = vm.pid().unwrap();
    let dir = vm.dir().to_path_buf();
    drop_and_check(vm, pid, dir);
}

#[test]
fn influxdb_takes_line_protocol_and_answers_influxql() {
    let t0 = Instant::now();
    let db = InfluxDb::start().unwrap_or_else(|e| panic!("{e}"));
    eprintln!("influxdb: ready on port {} in {:?}", db.port(), t0.elapsed());
    assert_eq!(db.write_url("falcon"), format!("http://127.0.0.1:{}/write?db=falcon", db.port()));
    assert_eq!(db.admin(), None);

    db.create_db("falcon").unwrap();
    // Through the URL a writer is given, as a writer under test would use it.
    let body = "cpu.idle,endpoint=host-a,core=0 value=97.5 1700000000000000000\n\
                cpu.idle,endpoint=host-b,core=0 value=3 1700000001000000000\n";
    let path = db.write_url("falcon").trim_start_matches(&db.url()).to_string();
    let r = http::request(&db.addr(), "POST", &path, Some(body.as_bytes()), "text/plain").unwrap();
    assert_eq!(r.status, 204, "{}", r.body);
    db.write("falcon", "mem,endpoint=host-a free=12.25,used=\"no\",procs=7i 1700000002000000000").unwrap();

    let v = db.query("falcon", r#"SELECT * FROM "cpu.idle" ORDER BY time"#).unwrap();
    assert_eq!(
        v["results"][0]["series"],
        json!([{
            "name": "cpu.idle",
            "columns": ["time", "core", "endpoint", "value"],
            "values": [[1_700_000_000, "0", "host-a", 97.5], [1_700_000_001, "0", "host-b", 3]],
        }])
    );
    let v = db.query("falcon", "SELECT free, used, procs FROM mem").unwrap();
    assert_eq!(v["results"][0]["series"][0]["values"], json!([[1_700_000_002, 12.25, "no", 7]]));
    let v = db.query("", "SHOW DATABASES").unwrap();
    assert!(v["results"][0]["series"][0]["values"].as_array().unwrap().contains(&json!(["falcon"])), "{v}");
    // Errors carry InfluxDB's reason: a field type conflict, a missing database, a bad statement.
    let err = db.write("falcon", "cpu.idle,endpoint=host-c value=\"x\" 1700000003000000000").unwrap_err();
    assert!(err.contains("400") && err.contains("field type conflict"), "{err}");
    let err = db.write("nodb", "m v=1").unwrap_err();
    assert!(err.contains("404") && err.contains("database not found"), "{err}");
    let err = db.query("falcon", "SELEC 1").unwrap_err();
    assert!(err.contains("error parsing query"), "{err}");

    let pid = db.pid().unwrap();
    let dir = db.dir().to_path_buf();
    drop_and_check(db, pid, dir);
}

#[test]
fn influxdb_with_auth_checks_credentials_and_keeps_data_over_a_restart() {
    let mut db = InfluxDb::start_with_auth("admin", "s3cret 'pw'").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(db.admin(), Some(("admin", "s3cret 'pw'")));
    db.create_db("falcon").unwrap();
    db.write("falcon", "m,endpoint=e v=1 1700000000000000000").unwrap();

    let err = db.query_as("admin", "wrong", "falcon", "SELECT * FROM m").unwrap_err();
    assert!(err.contains("401") && err.contains("authorization failed"), "{err}");
    let r = http::request(&db.addr(), "POST", "/write?db=falcon", Some(b"m v=2"), "text/plain").unwrap();
    assert_eq!(r.status, 401, "{}", r.body);
    let v = db.query_as("admin", "s3cret 'pw'", "falcon", "SELECT v FROM m").unwrap();
    assert_eq!(v["results"][0]["series"][0]["values"], json!([[1_700_000_000, 1]]));

    let t1 = Instant::now();
    db.restart().unwrap();
    eprintln!("influxdb: restarted in {:?}", t1.elapsed());
    let v = db.query("falcon", "SELECT v FROM m").unwrap();
    assert_eq!(v["results"][0]["series"][0]["values"], json!([[1_700_000_000, 1]]));
}
