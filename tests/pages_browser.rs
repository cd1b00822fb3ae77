//! The binaries' own pages in a real browser: headless Chromium loads each page from the running stack
//! (`falcon_tests::stack`), its scripts fetch the JSON routes and render; the page must finish its first render
//! (`data-ready="1"` on its body), show no script or fetch error, and show the stack's hosts, lanes and agent.
//! Skipped with a message where Chromium is not installed (`scripts/install-test-deps.sh` installs it).
//!
//! `FALCON_SCREENSHOTS=<dir>` also writes a PNG of each page there (how the README's screenshots were made).

use falcon_tests::browser;
use falcon_tests::http;
use falcon_tests::stack::{Stack, TempDir};
use std::time::{Duration, Instant};

/// The text of the element with id `err` (empty when the page had no error).
fn error_text(dom: &str) -> String {
    let Some(i) = dom.find(r#"id="err""#) else { return "no #err element".into() };
    let rest = &dom[i..];
    let start = rest.find('>').map(|j| j + 1).unwrap_or(0);
    let end = rest[start..].find('<').map(|j| start + j).unwrap_or(start);
    rest[start..end].trim().to_string()
}

#[test]
fn every_page_renders_in_chromium_with_its_data() {
    if browser::chromium().is_none() {
        eprintln!("pages_browser: SKIPPED: chromium is not installed (scripts/install-test-deps.sh installs it)");
        return;
    }
    let started = Instant::now();
    // The daemons inherit it: their page histories sample every half second, so plots have points quickly.
    std::env::set_var("FALCON_PAGE_STEP_MS", "500");
    let dir = std::env::temp_dir().join(format!("falcon-pages-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _cleanup = TempDir(dir.clone());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let stack = Stack::start(&dir, &rt);
    let agent = stack.agent.addr("http").to_string();
    falcon_tests::util::wait_for("the agent's first send and history samples", Duration::from_secs(30), || {
        let page = http::get(&agent, "/page/agent").body;
        let history: serde_json::Value =
            serde_json::from_str(&http::get(&agent, "/page/history").body).unwrap_or_default();
        page.contains(r#""lastSent":{"#) && history["data"]["times"].as_array().is_some_and(|t| t.len() >= 3)
    });

    let transfer = stack.transfer.addr("http").to_string();
    falcon_tests::util::wait_for("the transfer's traffic samples", Duration::from_secs(30), || {
        let v: serde_json::Value =
            serde_json::from_str(&http::get(&transfer, "/page/traffic").body).unwrap_or_default();
        v["data"]["times"].as_array().is_some_and(|t| t.len() >= 2)
    });
    let hbs = stack.hbs.addr("http").to_string();
    falcon_tests::util::wait_for("the HBS's call samples and the agent's heartbeat", Duration::from_secs(30), || {
        let v: serde_json::Value = serde_json::from_str(&http::get(&hbs, "/page/calls").body).unwrap_or_default();
        let fleet = http::get(&hbs, "/page/fleet").body;
        v["data"]["times"].as_array().is_some_and(|t| t.len() >= 2) && fleet.contains(r#""never":false"#)
    });
    let pages = [
        ("hbs", hbs.clone(), vec!["falcon-hbs fleet", "grafana-agent", "grafana", "0.1.0", "<svg"]),
        ("agent", agent.clone(), vec!["grafana-agent", "last send", "grafana.check", "<svg"]),
        ("transfer", transfer.clone(), vec!["judge-00", "graph-01", "backing off", "<svg"]),
    ];
    let shots = std::env::var_os("FALCON_SCREENSHOTS").map(std::path::PathBuf::from);
    if shots.is_some() {
        // Screenshots: a minute of samples, so the plots have a shape.
        std::thread::sleep(Duration::from_secs(60));
    }
    for (name, addr, expect) in &pages {
        let url = format!("http://{addr}/");
        let dom = browser::dump_dom(&url, Duration::from_secs(4), &dir.join(format!("chrome-{name}")))
            .unwrap_or_else(|e| panic!("{name} page: {e}"));
        assert!(dom.contains(r#"data-ready="1""#), "{name} page never finished its first render:\n{dom}");
        assert_eq!(error_text(&dom), "", "{name} page shows an error");
        for e in expect {
            assert!(dom.contains(e), "{name} page lacks {e:?}:\n{dom}");
        }
        if let Some(out) = &shots {
            let png = out.join(format!("page-{name}.png"));
            browser::screenshot(&url, &png, 1280, 1400, Duration::from_secs(4), &dir.join(format!("shot-{name}")))
                .unwrap_or_else(|e| panic!("{name} screenshot: {e}"));
            eprintln!("pages_browser: wrote {}", png.display());
        }
    }
    drop(stack);
    eprintln!("pages_browser: {} pages rendered in {:.1}s", pages.len(), started.elapsed().as_secs_f64());
}
