//! falcon-hbs on a MariaDB `falcon_portal` as an estate runs it: two instances on one database, host writes
//! coalesced (counted with the server's own `Com_insert`), a database outage while serving, and DSNs that
//! cannot work.

mod common;

use common::*;
use falcon_tests::http;
use std::process::Command;
use std::time::{Duration, Instant};

const BUILTIN_VM: &str = r#"{"method":"Agent.BuiltinMetrics","params":[{"Hostname":"vm","Checksum":"nil"}],"id":1}"#;

fn report(host: &str) -> String {
    format!(
        r#"{{"method":"Agent.ReportStatus","params":[{{"Hostname":"{host}","IP":"10.0.0.1","AgentVersion":"v","PluginVersion":"p"}}],"id":7}}"#
    )
}

fn wait_until(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn hosts_named(t: &TestDb, prefix: &str) -> i64 {
    let m = t.maria.as_ref().unwrap();
    m.query_one_i64(&format!("SELECT COUNT(*) FROM falcon_portal.host WHERE hostname LIKE '{prefix}%'")).unwrap()
}

fn com_insert(t: &TestDb) -> i64 {
    let rows = t.maria.as_ref().unwrap().query_rows("SHOW GLOBAL STATUS LIKE 'Com_insert'").unwrap();
    rows[0][1].as_deref().unwrap_or("0").parse().unwrap()
}

#[test]
fn two_instances_share_one_database() {
    let t = TestDb::new(Backend::Mysql, "two");
    t.seed();
    let a = start(&t.config(""));
    let b = start(&t.config(""));
    let (ra, rb) = (a.addr("rpc").to_string(), b.addr("rpc").to_string());
    assert_eq!(mask_ts(&call(&ra, BUILTIN_VM)), mask_ts(&call(&rb, BUILTIN_VM)), "both answer the same");

    // A change through A's admin API reaches B's agents within its change poll (5 s on MySQL).
    let r = http::post_json(
        a.addr("http"),
        "/admin/apply",
        r#"{"op":"add-strategy","template":"falcon-ref.child","metric":"net.port.listen","tags":"port=9090","operator":"!=","right_value":"1"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(call(&ra, BUILTIN_VM).contains("port=9090"), "A at once");
    let exported = http::get(a.addr("http"), "/admin/export").body;
    assert!(exported.contains(r#""op":"!=""#), "the strategy's operator was taken: {exported}");
    wait_until("B to see A's change", 15, || call(&rb, BUILTIN_VM).contains("port=9090"));

    // 200 new agents reporting to B at once: a handful of multi-row writes, not 200 statements.
    let before = com_insert(&t);
    for i in 0..200 {
        assert!(call(&rb, &report(&format!("burst-{i}"))).contains(r#""code":0"#));
    }
    wait_until("the 200 host rows", 10, || hosts_named(&t, "burst-") == 200);
    let inserts = com_insert(&t) - before;
    assert!(inserts <= 5, "{inserts} INSERT statements for 200 new hosts");
}

#[test]
fn an_outage_is_not_felt_and_queued_hosts_land() {
    let mut t = TestDb::new(Backend::Mysql, "outage");
    t.seed();
    // Short timeouts so that admin calls fail fast while the server is away.
    let dsn = format!("{}&timeout=2s&readTimeout=2s", t.database());
    let cfg = config_with(&t.dir, &dsn, "");
    let hbs = start(&cfg);
    let rpc = hbs.addr("rpc").to_string();
    let strategies = r#"{"method":"Hbs.GetStrategies","params":[{}],"id":2}"#;
    let before = (mask_ts(&call(&rpc, BUILTIN_VM)), mask_ts(&call(&rpc, strategies)));

    t.maria.as_mut().unwrap().stop();
    // Heartbeats and judge calls are answered from the caches, at once.
    for i in 0..5 {
        let started = Instant::now();
        assert_eq!((mask_ts(&call(&rpc, BUILTIN_VM)), mask_ts(&call(&rpc, strategies))), before);
        assert!(call(&rpc, &report(&format!("outage-{i}"))).contains(r#""code":0"#));
        assert!(started.elapsed() < Duration::from_secs(1), "no request waits on the database");
    }
    // An admin change fails within its timeout, with the reason.
    let started = Instant::now();
    let r = http::post_json(hbs.addr("http"), "/admin/apply", r#"{"op":"add-group","name":"during-outage"}"#);
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(started.elapsed() < Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(2));

    t.maria.as_mut().unwrap().restart().unwrap();
    wait_until("the queued host rows to land", 20, || hosts_named(&t, "outage-") == 5);
    assert_eq!(mask_ts(&call(&rpc, BUILTIN_VM)), before.0);
    assert!(hbs.log().contains("host write failed"), "the failure was logged:\n{}", hbs.log());
    assert!(!hbs.log().contains('\x1b'), "no ANSI escapes in a log that is not a terminal");
}

#[test]
fn dsns_that_cannot_work_stop_the_start_with_the_reason() {
    let t = TestDb::new(Backend::Mysql, "bad-dsn");
    let m = t.maria.as_ref().unwrap();
    let cases = [
        (m.dsn(falcon_tests::mariadb::USER, "wrong", "falcon_portal"), "Access denied"),
        (m.dsn(falcon_tests::mariadb::USER, falcon_tests::mariadb::PASSWORD, "no_such_db"), "no_such_db"),
        ("u:p@tcp(127.0.0.1:1)/falcon_portal?timeout=2s".to_string(), "127.0.0.1:1"),
        ("u:p@tcp(127.0.0.1:notaport)/falcon_portal".to_string(), "port"),
    ];
    for (dsn, want) in cases {
        let cfg = config_with(&t.dir, &dsn, "");
        let out = Command::new(env!("CARGO_BIN_EXE_falcon-hbs")).args(["-c", cfg.to_str().unwrap()]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{dsn}: {err}");
        assert!(err.contains("config key database") && err.contains(want), "{dsn}: {err}");
    }
}

#[test]
fn later_portal_columns_and_tables_change_nothing() {
    let t = TestDb::new(Backend::Mysql, "later");
    t.seed();
    let plain = start(&t.config(""));
    let want = (mask_ts(&call(plain.addr("rpc"), BUILTIN_VM)), http::get(plain.addr("http"), "/strategies").body);
    drop(plain);
    // What later falcon-plus versions add: columns HBS does not read, and tables of their own.
    t.maria
        .as_ref()
        .unwrap()
        .exec(
            "USE falcon_portal;
             ALTER TABLE host ADD COLUMN later_note VARCHAR(64) NOT NULL DEFAULT 'x' FIRST;
             ALTER TABLE strategy ADD COLUMN later_flag TINYINT NOT NULL DEFAULT 1;
             ALTER TABLE tpl ADD COLUMN later_json TEXT NULL;
             CREATE TABLE later_table (id INT PRIMARY KEY, v TEXT);",
        )
        .unwrap();
    let later = start(&t.config(""));
    assert_eq!(mask_ts(&call(later.addr("rpc"), BUILTIN_VM)), want.0);
    assert_eq!(http::get(later.addr("http"), "/strategies").body, want.1);
    assert!(call(later.addr("rpc"), &report("later-host")).contains(r#""code":0"#));
    wait_until("the new host row", 10, || hosts_named(&t, "later-host") == 1);
}
