//! ops-meta's `POST /heartbeat` on the HBS's HTTP port, as ops-meta answers it (http/heartbeat.go): its error
//! texts, the nil `desiredAgents` when no agent applies, and the tarball route's name checks and checksum lines.

mod common;

use common::*;
use falcon_tests::http;

#[test]
fn heartbeat_answers_as_ops_meta_and_tarballs_are_named_strictly() {
    let dir = temp_dir("rollout");
    seeded(&dir);
    std::fs::create_dir_all(dir.join("tarball")).unwrap();
    std::fs::write(dir.join("tarball/a-1.tar.gz"), "abc").unwrap();
    let extra = format!(
        r#","tarballDir":"{}","rolloutFile":"{}","agents":[{{"default":{{"name":"a","version":"1","tarball":"http://t","md5":"","cmd":"start"}},"others":[{{"prefix":"lg-","cmd":"stop"}}]}}]"#,
        dir.join("tarball").display(),
        dir.join("rollout.json").display()
    );
    let hbs = start(&config(&dir, &extra));
    let h = hbs.addr("http").to_string();

    let post = |body: &[u8]| http::request(&h, "POST", "/heartbeat", Some(body), "application/json").unwrap();
    let r = post(b"");
    assert_eq!((r.status, r.body.as_str()), (400, "body is blank\n"));
    let r = post(b"{x");
    assert_eq!((r.status, r.body.as_str()), (400, "body format error\n"));
    let r = post(br#"{"hostname":"","realAgents":[]}"#);
    assert_eq!((r.status, r.body.as_str()), (400, "hostname is blank\n"));
    let r = post(br#"{"hostname":"web-1","realAgents":[]}"#);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json; charset=UTF-8"));
    assert_eq!(
        r.body,
        r#"{"errorMessage":"","desiredAgents":[{"name":"a","version":"1","tarball":"http://t","md5":"","cmd":"start"}]}"#
    );
    assert!(post(br#"{"hostname":"lg-7"}"#).body.contains(r#""cmd":"stop""#), "a prefix override");

    // No agents section: Go's nil slice.
    let cfg = config(&dir, &format!(r#","tarballDir":"{}""#, dir.join("tarball").display()));
    let bare = start(&cfg);
    let r = http::request(bare.addr("http"), "POST", "/heartbeat", Some(br#"{"hostname":"h"}"#), "application/json")
        .unwrap();
    assert_eq!(r.body, r#"{"errorMessage":"","desiredAgents":null}"#);

    // Tarballs: by exact name only, with md5sum/sha256sum lines.
    assert_eq!(http::get(&h, "/tarball/a-1.tar.gz").body, "abc");
    assert_eq!(http::get(&h, "/tarball/a-1.tar.gz.md5").body, "900150983cd24fb0d6963f7d28e17f72  a-1.tar.gz\n");
    assert!(http::get(&h, "/tarball/a-1.tar.gz.sha256").body.starts_with("ba7816bf8f01cfea414140de5dae2223"));
    for bad in ["/tarball/..%2Fhbs.db", "/tarball/hbs.db", "/tarball/missing-1.tar.gz", "/tarball/.a-1.tar.gz"] {
        assert_eq!(http::get(&h, bad).status, 404, "{bad}");
    }

    // /metrics counts what the updaters asked: two heartbeats answered, three malformed; one tarball of 3 bytes,
    // two checksum lines, four names refused.
    let text = falcon_tests::promtool::scrape(&h);
    falcon_tests::promtool::check_metrics(&text).unwrap_or_else(|e| panic!("{e}"));
    let get = |series: &str| falcon_tests::promtool::sample(&text, series);
    assert_eq!(get(r#"falcon_hbs_updater_heartbeats_total{outcome="ok"}"#), Some(2.0));
    assert_eq!(get(r#"falcon_hbs_updater_heartbeats_total{outcome="bad_request"}"#), Some(3.0));
    assert_eq!(get(r#"falcon_hbs_updater_heartbeats_total{outcome="refused"}"#), Some(0.0));
    assert_eq!(get(r#"falcon_hbs_tarball_requests_total{kind="tarball",outcome="ok"}"#), Some(1.0));
    assert_eq!(get(r#"falcon_hbs_tarball_requests_total{kind="tarball",outcome="not_found"}"#), Some(4.0));
    assert_eq!(get(r#"falcon_hbs_tarball_requests_total{kind="checksum",outcome="ok"}"#), Some(2.0));
    assert_eq!(get(r#"falcon_hbs_tarball_requests_total{kind="checksum",outcome="not_found"}"#), Some(0.0));
    assert_eq!(get("falcon_hbs_tarball_bytes_total"), Some(3.0));
}
