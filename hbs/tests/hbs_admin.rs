//! Administration: operations validate and change nothing on error; the rules on small databases
//! (inheritance with overrides, maintenance, windows, checksums); the CLI against a running server.

mod common;

use common::*;
use falcon_hbs::admin::{Document, ExpressionDoc, GroupDoc, HostDoc, Op, StrategyDoc, TemplateDoc};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn strategy(metric: &str, tags: &str, right: &str) -> StrategyDoc {
    StrategyDoc { metric: metric.into(), tags: tags.into(), right_value: right.into(), ..Default::default() }
}

fn doc() -> Document {
    Document {
        hosts: vec![
            HostDoc { hostname: "h1".into(), ..Default::default() },
            HostDoc { hostname: "h2".into(), ..Default::default() },
        ],
        templates: vec![
            TemplateDoc {
                name: "child".into(),
                parent: "base".into(),
                action_id: 2,
                strategies: vec![strategy("cpu.idle", "", "5"), strategy("net.port.listen", "port=80", "0")],
                ..Default::default()
            },
            TemplateDoc {
                name: "base".into(),
                action_id: 1,
                strategies: vec![
                    strategy("cpu.idle", "", "10"),
                    strategy("load.1min", "", "4"),
                    strategy("du.bs", "path=/data", "1"),
                ],
                ..Default::default()
            },
        ],
        groups: vec![GroupDoc {
            name: "web".into(),
            hosts: vec!["h1".into()],
            templates: vec!["child".into()],
            plugins: vec!["sys/ntp".into(), "sys/a/60_a.sh(x)".into(), "sys/ntp".into()],
        }],
        expressions: vec![ExpressionDoc {
            expression: "each(metric=qps project=x)".into(),
            action_id: 1,
            ..Default::default()
        }],
    }
}

both!(import_export_and_the_rules, rules);

fn rules(backend: Backend) {
    let t = TestDb::new(backend, "rules");
    let db = t.store();
    db.apply(&Op::Import { document: doc() }).unwrap();
    let back = db.export().unwrap();
    assert_eq!(back.templates.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["child", "base"]);
    assert_eq!(back.templates[0].parent, "base");
    assert_eq!(back.groups[0].plugins.len(), 3);
    db.apply(&Op::Import { document: back.clone() }).unwrap();
    assert_eq!(db.export().unwrap(), back, "export -> import -> export is stable");

    let snap = db.load().unwrap();
    // Builtin checks come from the host's templates and their ancestors.
    let b = snap.builtin_metrics("h1");
    let keys: Vec<String> = b.iter().map(|m| m.key()).collect();
    assert_eq!(keys, ["net.port.listen/port=80", "du.bs/path=/data"]);
    assert!(snap.builtin_metrics("h2").is_empty());
    assert_eq!(snap.plugins("h1"), ["sys/a/60_a.sh(x)", "sys/ntp"]);
    // Inheritance: the child's cpu.idle replaces the parent's; the parent's others carry the leaf template.
    let hs = snap.host_strategies("12:00", 1_000);
    assert_eq!(hs.len(), 1);
    let ss = hs[0].strategies.as_ref().unwrap();
    let cpu: Vec<f64> = ss.iter().filter(|s| s.metric == "cpu.idle").map(|s| s.right_value).collect();
    assert_eq!(cpu, [5.0]);
    assert!(ss.iter().all(|s| s.tpl.as_ref().unwrap().name == "child"));
    assert_eq!(ss.len(), 4);
    assert_eq!(snap.expressions.len(), 1);
    // Maintenance hides the host from judge.
    db.apply(&Op::Maintain { hostname: "h1".into(), begin: 500, end: 2_000 }).unwrap();
    assert!(db.load().unwrap().host_strategies("12:00", 1_000).is_empty());
    assert_eq!(db.load().unwrap().host_strategies("12:00", 3_000).len(), 1);
}

both!(bad_input_is_refused_and_changes_nothing, bad_input);

fn bad_input(backend: Backend) {
    let t = TestDb::new(backend, "bad-input");
    let db = t.store();
    db.apply(&Op::Import { document: doc() }).unwrap();
    let before = db.export().unwrap();
    let cases = [
        (Op::GroupAddHost { group: "nope".into(), hostname: "h1".into() }, "unknown group"),
        (Op::AddGroup { name: "web".into() }, "already exists"),
        (Op::AddTemplate { name: "base".into(), parent: String::new(), action_id: 0 }, "already exists"),
        (Op::SetParent { name: "base".into(), parent: "child".into() }, "loop"),
        (Op::SetParent { name: "base".into(), parent: "base".into() }, "loop"),
        (Op::AddStrategy { template: "base".into(), strategy: strategy("m", "a=b,broken", "1") }, "malformed tags"),
        (Op::AddStrategy { template: "base".into(), strategy: strategy("m", "", "x") }, "not a number"),
        (
            Op::AddStrategy {
                template: "base".into(),
                strategy: StrategyDoc { run_begin: "25:00".into(), run_end: "01:00".into(), ..strategy("m", "", "1") },
            },
            "HH:MM",
        ),
        (
            Op::AddExpression {
                expression: ExpressionDoc { expression: "each(metric=qps project=x".into(), ..Default::default() },
            },
            "each(metric=",
        ),
        (Op::DeleteStrategy { id: 999 }, "unknown strategy"),
    ];
    for (op, want) in cases {
        let e = db.apply(&op).unwrap_err().to_string();
        assert!(e.contains(want), "{op:?}: {e}");
    }
    // An import with a loop or an unknown name fails whole: the old configuration stays.
    let mut bad = doc();
    bad.templates[1].parent = "child".into();
    assert!(db.apply(&Op::Import { document: bad }).unwrap_err().to_string().contains("loop"));
    let mut bad = doc();
    bad.groups[0].hosts.push("ghost".into());
    assert!(db.apply(&Op::Import { document: bad }).is_err());
    assert_eq!(db.export().unwrap(), before);
}

fn admin(cfg: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_falcon-hbs"))
        .args(["admin", "-c", cfg.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

both!(admin_command_reaches_the_running_server, admin_cli_and_http);

fn admin_cli_and_http(backend: Backend) {
    let t = TestDb::new(backend, "admin-cli");
    t.seed();
    let cfg = t.config("");
    let hbs = start(&cfg);
    let rpc = hbs.addr("rpc").to_string();
    let req = r#"{"method":"Agent.BuiltinMetrics","params":[{"Hostname":"vm","Checksum":"52fa70c8a25a08cef8388dd5f602450c"}],"id":1}"#;
    assert!(call(&rpc, req).contains(r#""Metrics":[],"Checksum":"52fa70c8a25a08cef8388dd5f602450c""#));
    let (ok, out) = admin(
        &cfg,
        &[
            "strategy",
            "add",
            "falcon-ref.child",
            "net.port.listen",
            "--tags",
            "port=8080",
            "--op",
            "==",
            "--right",
            "0",
        ],
    );
    assert!(ok, "{out}");
    let (ok, out) = admin(&cfg, &["group", "add-host", "no-such-group", "vm"]);
    assert!(!ok && out.contains("unknown group"), "{out}");
    // Another process's commit shows within 1 s on SQLite, 5 s on MySQL.
    let deadline = Instant::now() + Duration::from_secs(12);
    loop {
        let r = call(&rpc, req);
        if r.contains("port=8080") {
            assert!(!r.contains("52fa70c8a25a08cef8388dd5f602450c"), "checksum changed: {r}");
            break;
        }
        assert!(Instant::now() < deadline, "the new check never showed: {r}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (ok, out) = admin(&cfg, &["export"]);
    assert!(ok && out.contains("port=8080"), "{out}");
    // The same over HTTP, from loopback.
    let h = hbs.addr("http");
    let r = falcon_tests::http::post_json(
        h,
        "/admin/apply",
        r#"{"op":"add-plugin","group":"falcon-ref-grp","dir":"sys/new"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(falcon_tests::http::get(h, "/plugins/vm").body.contains("sys/new"));
    let r = falcon_tests::http::post_json(h, "/admin/apply", r#"{"op":"add-group","name":"falcon-ref-grp"}"#);
    assert_eq!(r.status, 400);
    assert!(r.body.contains("already exists"));
}

#[test]
fn admin_routes_take_a_bearer_token_and_can_require_it() {
    let t = TestDb::new(Backend::Sqlite, "token");
    let hbs = start(&t.config(r#","http":{"token":"hbs-t0k3n-zz","tokenRequired":true}"#));
    let h = hbs.addr("http");
    let with = |token: &str, path: &str| {
        let auth = format!("Bearer {token}");
        falcon_tests::http::request_with(h, "GET", path, None, "text/plain", &[("Authorization", auth.as_str())])
            .unwrap()
    };
    // Loopback alone is not enough once the token is required.
    assert_eq!(falcon_tests::http::get(h, "/config/reload").body, "no privilege");
    assert_eq!(falcon_tests::http::get(h, "/admin/export").status, 403);
    assert_eq!(with("wrong", "/admin/export").status, 403);
    let r = with("hbs-t0k3n-zz", "/config/reload");
    assert!(r.body.starts_with(r#"{"msg":"success","data":{"debug":false"#), "{}", r.body);
    assert!(!r.body.contains("hbs-t0k3n-zz"), "the token is never shown: {}", r.body);
    assert_eq!(with("hbs-t0k3n-zz", "/admin/export").status, 200);
    assert!(!hbs.log().contains("hbs-t0k3n-zz"), "the token is never logged");
    // Required with no token is a config error naming the key.
    let bad = t.config(r#","http":{"tokenRequired":true}"#);
    let out = Command::new(env!("CARGO_BIN_EXE_falcon-hbs")).args(["-c", bad.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("http.tokenRequired"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
