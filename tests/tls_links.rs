//! TLS between our components, beside Go's plaintext ports: our agent reports to our HBS and sends to our
//! transfer over mutual TLS with a CA made in the test, while Go standard-library clients use the plaintext
//! ports of the same servers; a wrong CA, an expired server certificate and a missing client certificate are
//! each refused, and said in the log of the side that refused.

use falcon_tests::daemon::{workspace_bin, Daemon};
use falcon_tests::go::GoProcess;
use falcon_tests::http;
use falcon_tests::pki::Pki;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn wait_for(what: &str, secs: u64, ok: impl FnMut() -> bool) {
    falcon_tests::util::wait_for(what, Duration::from_secs(secs), ok)
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("falcon-tls-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(path: &Path, text: &str) -> String {
    std::fs::write(path, text).unwrap();
    path.display().to_string()
}

/// A transfer with a TLS listener (mutual TLS) using `cert`, archiving what it receives under `dir`.
fn transfer(d: &Path, pki: &Pki, cert: &str) -> Daemon {
    let cfg = write(
        &d.join(format!("transfer-{cert}.json")),
        &format!(
            r#"{{"debug":false,"minStep":30,
            "http":{{"enabled":true,"listen":"127.0.0.1:0"}},
            "rpc":{{"enabled":true,"listen":"127.0.0.1:0","tlsListen":"127.0.0.1:0","cert":"{}","key":"{}","clientCA":"{}"}},
            "socket":{{"enabled":false}},"judge":{{"enabled":false}},"graph":{{"enabled":false}},
            "archive":{{"enabled":true,"dir":"{}","batch":1}}}}"#,
            pki.path(&format!("{cert}.pem")),
            pki.path(&format!("{cert}.key")),
            pki.path("ca.pem"),
            d.join(format!("archive-{cert}")).display()
        ),
    );
    Daemon::start(&workspace_bin("falcon-transfer"), &["-c", &cfg]).unwrap()
}

/// The TLS section of an agent: `ca`, and the client certificate unless `with_cert` is false.
fn tls(pki: &Pki, ca: &str, with_cert: bool) -> String {
    let (cert, key) =
        if with_cert { (pki.path("client.pem"), pki.path("client.key")) } else { (String::new(), String::new()) };
    format!(r#"{{"ca":"{}","cert":"{cert}","key":"{key}"}}"#, pki.path(ca))
}

/// An agent named `host` reporting to `hbs` and sending to `transfer`, both over TLS sections given.
fn agent(d: &Path, host: &str, hbs: &str, hbs_tls: &str, transfer: &str, transfer_tls: &str) -> Daemon {
    let cfg = write(
        &d.join(format!("agent-{host}.json")),
        &format!(
            r#"{{"debug":false,"hostname":"{host}",
            "heartbeat":{{"enabled":{},"addr":"{hbs}","interval":1,"timeout":2000,"tls":{hbs_tls}}},
            "transfer":{{"enabled":true,"addrs":["{transfer}"],"interval":1,"timeout":2000,"tls":{transfer_tls}}},
            "http":{{"enabled":false}}}}"#,
            !hbs.is_empty()
        ),
    );
    Daemon::start(&workspace_bin("falcon-agent"), &["-c", &cfg]).unwrap()
}

fn archived(d: &Path, cert: &str, host: &str) -> bool {
    std::fs::read_to_string(d.join(format!("archive-{cert}/archive.jsonl")))
        .is_ok_and(|t| t.lines().any(|l| l.contains(&format!(r#""endpoint":"{host}""#))))
}

#[test]
fn our_components_over_mutual_tls_and_go_clients_on_plaintext_at_once() {
    let pki = Pki::new("links");
    let d = dir("links");
    let hbs_cfg = write(
        &d.join("hbs.json"),
        &format!(
            r#"{{"debug":false,"database":"{}","listen":"127.0.0.1:0","trustable":["127.0.0.1"],
            "http":{{"enabled":true,"listen":"127.0.0.1:0"}},
            "tlsListen":"127.0.0.1:0","cert":"{}","key":"{}","clientCA":"{}"}}"#,
            d.join("hbs.db").display(),
            pki.path("server.pem"),
            pki.path("server.key"),
            pki.path("ca.pem")
        ),
    );
    let hbs = Daemon::start(&workspace_bin("falcon-hbs"), &["-c", &hbs_cfg]).unwrap();
    let t = transfer(&d, &pki, "server");
    let good = tls(&pki, "ca.pem", true);
    let _a = agent(&d, "tls-host", hbs.addr("rpc-tls"), &good, t.addr("rpc-tls"), &good);
    wait_for("the heartbeat over TLS", 15, || http::get(hbs.addr("http"), "/agents").body.contains("tls-host"));
    wait_for("metrics over TLS", 15, || archived(&d, "server", "tls-host"));

    // Go clients on the plaintext ports of the same servers, at the same time.
    let mut push =
        GoProcess::start(&["transfer-push", "-addr", t.addr("rpc"), "-from", "0", "-to", "50", "-batch", "50"]);
    assert!(push.line().starts_with("REPLY ok 50"));
    let mut go_hbs = GoProcess::start(&["hbs-client", "-addr", hbs.addr("rpc")]);
    assert_eq!(go_hbs.line(), r#"{"code":0}"#, "Agent.ReportStatus from a Go client on the plaintext port");

    // The relay of another transfer into this one, over TLS.
    let relay_cfg = write(
        &d.join("relay.json"),
        &format!(
            r#"{{"debug":false,"http":{{"enabled":true,"listen":"127.0.0.1:0"}},"rpc":{{"enabled":false}},
            "socket":{{"enabled":false}},"judge":{{"enabled":false}},"graph":{{"enabled":false}},
            "transfer":{{"enabled":true,"batch":10,"cluster":{{"t1":"{}"}},"tls":{good}}}}}"#,
            t.addr("rpc-tls")
        ),
    );
    let relay = Daemon::start(&workspace_bin("falcon-transfer"), &["-c", &relay_cfg]).unwrap();
    let r = http::post_json(
        relay.addr("http"),
        "/api/push",
        r#"[{"endpoint":"relayed-host","metric":"m","value":1,"step":60,"counterType":"GAUGE","tags":"","timestamp":1795261500}]"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for("relayed over TLS", 15, || archived(&d, "server", "relayed-host"));
    // Certificates reload on /config/reload; connections keep working.
    let lines = |d: &Path| {
        std::fs::read_to_string(d.join("archive-server/archive.jsonl"))
            .map(|t| t.lines().filter(|l| l.contains("tls-host")).count())
            .unwrap_or(0)
    };
    let before = lines(&d);
    assert_eq!(http::get(t.addr("http"), "/config/reload").body, r#"{"msg":"success","data":"ok"}"#);
    wait_for("the reload in the log", 10, || t.log().contains("TLS certificates reloaded"));
    wait_for("the agent still delivering after the reload", 15, || lines(&d) > before);

    // No client certificate: the transfer refuses the handshake and says so.
    let _b = agent(&d, "no-cert-host", "", "{}", t.addr("rpc-tls"), &tls(&pki, "ca.pem", false));
    wait_for("the refusal in the transfer's log", 15, || t.log().contains("TLS handshake refused"));
    // A CA that did not sign the server: the agent refuses the transfer and says so.
    let c = agent(&d, "wrong-ca-host", "", "{}", t.addr("rpc-tls"), &tls(&pki, "other-ca.pem", true));
    wait_for("the refusal in the agent's log", 15, || c.log().contains("TLS: server refused"));
    assert!(c.log().contains("UnknownIssuer"), "{}", c.log());
    // An expired server certificate: refused by the agent.
    let expired = transfer(&d, &pki, "expired");
    let e = agent(&d, "expired-host", "", "{}", expired.addr("rpc-tls"), &good);
    wait_for("the expired certificate refused", 15, || e.log().contains("certificate expired"));
    std::thread::sleep(Duration::from_secs(2));
    for (cert, host) in [("server", "no-cert-host"), ("server", "wrong-ca-host"), ("expired", "expired-host")] {
        assert!(!archived(&d, cert, host), "{host}: nothing went through");
    }
    assert!(!t.log().contains("client.key") && !t.log().contains("BEGIN"), "no key material in logs");
    std::fs::remove_dir_all(&d).ok();
}
