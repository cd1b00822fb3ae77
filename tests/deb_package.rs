//! The Debian packages of `scripts/deb.sh`, made from the workspace's debug binaries: their control fields and
//! files, lintian (no errors), `systemd-analyze verify` of every unit with the hardening each must have, the
//! packaged configs (`config/<module>.json` with only the listen addresses changed), the maintainer scripts run
//! against stub commands, and each packaged binary started from the unpacked tree with its packaged config (the
//! listen addresses moved to free loopback ports) in its state directory: it must become ready and answer
//! `/health`. lintian and systemd-analyze are skipped with a message where they are not installed.
//!
//! The binaries must be built: `cargo test --workspace` builds every binary of the workspace, as the other
//! tests that run them rely on; alone, run `cargo build --bins` first.

use falcon_tests::daemon::{workspace_bin, Daemon};
use falcon_tests::http;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const MODULES: [&str; 4] = ["agent", "transfer", "hbs", "updater"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// A temporary directory, removed when the test ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Runs `cmd`, panics with its output unless it succeeds, returns stdout.
fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "{cmd:?} failed ({}):\n{}", out.status, text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A program on PATH or in the sbin/bin directories a non-root PATH may lack.
fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port").local_addr().expect("local addr").port()
}

/// Every string value under a key named `listen`, replaced by `with(old)`.
fn map_listens(v: &mut Value, with: &mut dyn FnMut(&str) -> String) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match x {
                    Value::String(s) if k == "listen" => *s = with(s),
                    _ => map_listens(x, with),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| map_listens(x, with)),
        _ => {}
    }
}

/// Every `ip:port` of a config that is not a listen address (where the binary connects to), with its key.
fn peer_addrs(v: &Value, key: &str, out: &mut Vec<(String, SocketAddr)>) {
    match v {
        Value::Object(m) => m.iter().filter(|(k, _)| *k != "listen").for_each(|(k, x)| peer_addrs(x, k, out)),
        Value::Array(a) => a.iter().for_each(|x| peer_addrs(x, key, out)),
        Value::String(s) => {
            if let Ok(addr) = s.parse::<SocketAddr>() {
                out.push((key.to_string(), addr));
            }
        }
        _ => {}
    }
}

fn read_json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// A unit file's `[Service]` (and other sections') keys: key -> values in order.
fn unit_keys(path: &Path) -> BTreeMap<String, Vec<String>> {
    let body = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in body.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with('[') {
            continue;
        }
        let (k, v) = line.split_once('=').unwrap_or_else(|| panic!("{}: bad line {line:?}", path.display()));
        keys.entry(k.to_string()).or_default().push(v.to_string());
    }
    keys
}

/// The hardening every unit must have, and what differs between the agent and the three others.
fn check_unit(m: &str, path: &Path) {
    let keys = unit_keys(path);
    let one = |k: &str| -> &str {
        let v = keys.get(k).unwrap_or_else(|| panic!("falcon-{m}.service has no {k}="));
        assert_eq!(v.len(), 1, "falcon-{m}.service sets {k}= more than once: {v:?}");
        &v[0]
    };
    assert_eq!(one("Type"), "simple");
    assert_eq!(one("ExecStart"), format!("/usr/bin/falcon-{m} -c /etc/falcon/{m}.json"));
    assert_eq!(one("ExecReload"), "/bin/kill -HUP $MAINPID");
    assert_eq!(one("Restart"), "on-failure");
    let state_dirs: Vec<&str> = one("StateDirectory").split_whitespace().collect();
    assert_eq!(state_dirs.first().copied(), Some(format!("falcon/{m}").as_str()), "falcon-{m}: StateDirectory");
    assert_eq!(one("WorkingDirectory"), format!("/var/lib/falcon/{m}"));
    assert_eq!(one("User"), "falcon");
    assert_eq!(one("Group"), "falcon");
    assert_eq!(one("WantedBy"), "multi-user.target");
    for k in [
        "NoNewPrivileges",
        "PrivateTmp",
        "PrivateDevices",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectKernelLogs",
        "ProtectControlGroups",
        "RestrictNamespaces",
        "LockPersonality",
        "MemoryDenyWriteExecute",
        "RestrictRealtime",
        "RestrictSUIDSGID",
        "ProtectClock",
    ] {
        assert_eq!(one(k), "yes", "falcon-{m}.service: {k}");
    }
    assert_eq!(one("SystemCallArchitectures"), "native");
    let families: Vec<&str> = one("RestrictAddressFamilies").split_whitespace().collect();
    if m == "agent" {
        // Unprivileged but for one capability, which its plugins inherit; sees the host's mounts as they are.
        assert_eq!(one("AmbientCapabilities"), "CAP_DAC_READ_SEARCH");
        assert_eq!(one("CapabilityBoundingSet"), "CAP_DAC_READ_SEARCH");
        for k in ["ProtectSystem", "ProtectHome", "ReadWritePaths"] {
            assert!(!keys.contains_key(k), "falcon-agent.service must not set {k}= (packaging/README.md)");
        }
    } else {
        assert_eq!(one("CapabilityBoundingSet"), "", "falcon-{m}.service keeps capabilities");
        assert!(!keys.contains_key("AmbientCapabilities"), "falcon-{m}.service: AmbientCapabilities");
        assert_eq!(one("ProtectSystem"), "strict");
        assert_eq!(one("ProtectHome"), "yes");
        assert_eq!(one("ReadWritePaths"), format!("/var/lib/falcon/{m}"));
    }
    match m {
        // One connection per agent.
        "transfer" | "hbs" => assert_eq!(one("LimitNOFILE"), "65536"),
        // The agents it started outlive a restart of the updater.
        "updater" => assert_eq!(one("KillMode"), "process"),
        _ => {}
    }
    // The agent asks sock_diag netlink for listening ports; so do the agents the updater starts.
    let mut want = vec!["AF_INET", "AF_INET6", "AF_UNIX"];
    if m == "agent" || m == "updater" {
        want.push("AF_NETLINK");
    }
    assert_eq!(families, want, "falcon-{m}.service: RestrictAddressFamilies");
}

/// `dpkg-deb -f` fields of a package.
fn fields(deb: &Path) -> BTreeMap<String, String> {
    let out = ok(Command::new("dpkg-deb").arg("-f").arg(deb));
    let mut map = BTreeMap::new();
    let mut last = String::new();
    for line in out.lines() {
        if let Some(cont) = line.strip_prefix(' ') {
            map.entry(last.clone()).and_modify(|v: &mut String| {
                v.push('\n');
                v.push_str(cont)
            });
        } else if let Some((k, v)) = line.split_once(": ") {
            last = k.to_string();
            map.insert(last.clone(), v.to_string());
        }
    }
    map
}

/// The maintainer scripts of `control_dir` run with stub commands that record their arguments, nothing else on
/// PATH (a missing stub is a command the scripts were not expected to run). The helpers' branch and the plain
/// systemctl branch both. Purge is not run: it removes /var/lib/falcon/<module> of the real machine.
fn check_maintainer_scripts(m: &str, control_dir: &Path, scratch: &Path) {
    let unit = format!("falcon-{m}.service");
    for helpers in [true, false] {
        let stubs = scratch.join(format!("stubs-{m}-{helpers}"));
        std::fs::create_dir_all(&stubs).expect("stub dir");
        let log = stubs.join("calls.log");
        let mut names = vec!["getent", "addgroup", "adduser", "dpkg-statoverride", "systemctl"];
        if helpers {
            names.extend(["deb-systemd-helper", "deb-systemd-invoke"]);
        }
        for name in names {
            // getent finds the falcon user only when STUB_USER is set; dpkg-statoverride --list finds nothing.
            let answer = match name {
                "getent" => "[ -n \"${STUB_USER:-}\" ] || exit 2\n",
                "dpkg-statoverride" => "[ \"$1\" != --list ] || exit 1\n",
                _ => "",
            };
            let path = stubs.join(name);
            std::fs::write(&path, format!("#!/bin/sh\necho \"{name} $*\" >> '{}'\n{answer}exit 0\n", log.display()))
                .expect("write stub");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod stub");
        }
        let script = |name: &str, args: &[&str], user_exists: bool| -> Vec<String> {
            let _ = std::fs::remove_file(&log);
            let mut cmd = Command::new("/bin/sh");
            cmd.arg(control_dir.join(name)).args(args).env_clear().env("PATH", &stubs);
            if user_exists {
                cmd.env("STUB_USER", "1");
            }
            let out = run(&mut cmd);
            assert!(out.status.success(), "{name} {args:?} of falcon-{m} (helpers: {helpers}): {}", text(&out));
            std::fs::read_to_string(&log).unwrap_or_default().lines().map(String::from).collect()
        };
        let calls = script("postinst", &["configure", ""], false);
        let expect_in = |calls: &[String], want: &str, what: &str| {
            assert!(
                calls.iter().any(|c| c == want),
                "falcon-{m} {what} (helpers: {helpers}): no `{want}` in {calls:#?}"
            );
        };
        expect_in(&calls, "addgroup --system --quiet falcon", "postinst");
        expect_in(
            &calls,
            "adduser --system --quiet --ingroup falcon --home /var/lib/falcon --no-create-home falcon",
            "postinst",
        );
        expect_in(
            &calls,
            &format!("dpkg-statoverride --update --add root falcon 0640 /etc/falcon/{m}.json"),
            "postinst",
        );
        if helpers {
            expect_in(&calls, &format!("deb-systemd-helper enable {unit}"), "postinst");
        } else {
            expect_in(&calls, &format!("systemctl enable {unit}"), "postinst");
        }
        // Started only where systemd runs; this machine's answer decides which.
        let systemd_runs = Path::new("/run/systemd/system").is_dir();
        let starts = calls.iter().any(|c| c.ends_with(&format!("start {unit}")));
        assert_eq!(starts, systemd_runs, "falcon-{m} postinst start (systemd runs: {systemd_runs}): {calls:#?}");

        // An upgrade: the user is there, nothing is created, the unit keeps its state.
        let upgrade = script("postinst", &["configure", "0.0.1"], true);
        assert!(!upgrade.iter().any(|c| c.starts_with("adduser") || c.starts_with("addgroup")), "{upgrade:#?}");

        let calls = script("prerm", &["remove"], true);
        if helpers {
            assert_eq!(
                calls.iter().any(|c| *c == format!("deb-systemd-invoke stop {unit}")),
                systemd_runs,
                "{calls:#?}"
            );
        } else {
            expect_in(&calls, &format!("systemctl disable {unit}"), "prerm remove");
        }
        assert!(
            script("prerm", &["upgrade", "0.0.2"], true).is_empty(),
            "prerm upgrade must leave the service running"
        );
        let calls = script("postrm", &["remove"], true);
        if helpers {
            expect_in(&calls, &format!("deb-systemd-helper mask {unit}"), "postrm remove");
        }
    }
}

#[test]
fn debian_packages() {
    let started = Instant::now();
    let root = repo_root();
    let bins = workspace_bin("falcon-agent").parent().expect("binary dir").to_path_buf();
    for m in MODULES {
        assert!(
            bins.join(format!("falcon-{m}")).is_file(),
            "no falcon-{m} in {}: build the workspace binaries first (cargo build --bins; cargo test --workspace does)",
            bins.display()
        );
    }
    if tool("dpkg-deb").is_none() || tool("dpkg-shlibdeps").is_none() {
        panic!("dpkg-deb and dpkg-shlibdeps are needed (packages dpkg and dpkg-dev)");
    }
    let scratch = Scratch(std::env::temp_dir().join(format!("falcon-deb-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&scratch.0);
    let dist = scratch.0.join("dist");
    let sysroot = scratch.0.join("root");
    std::fs::create_dir_all(&sysroot).expect("scratch root");

    let t = Instant::now();
    // xz's fastest level: the test checks what is in the packages, not their size (the default level takes a
    // few seconds per debug binary).
    ok(Command::new(root.join("scripts/deb.sh"))
        .arg("--bin-dir")
        .arg(&bins)
        .arg("--out")
        .arg(&dist)
        .env("DPKG_DEB_COMPRESSOR_LEVEL", "1"));
    eprintln!("deb_package: deb.sh made the 4 packages in {:.1}s", t.elapsed().as_secs_f64());

    let arch = ok(Command::new("dpkg").arg("--print-architecture")).trim().to_string();
    let version = env!("CARGO_PKG_VERSION");
    let debs: Vec<PathBuf> = MODULES.iter().map(|m| dist.join(format!("falcon-{m}_{version}_{arch}.deb"))).collect();
    let mut listed: Vec<String> = std::fs::read_dir(&dist)
        .expect("read dist")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    listed.sort();
    let mut want: Vec<String> =
        debs.iter().map(|d| d.file_name().expect("name").to_string_lossy().into_owned()).collect();
    want.sort();
    assert_eq!(listed, want, "deb.sh's output");

    // Control fields, files, conffiles, md5sums, maintainer scripts; every package unpacked into one root.
    for (m, deb) in MODULES.iter().zip(&debs) {
        let f = fields(deb);
        let pkg = format!("falcon-{m}");
        assert_eq!(f.get("Package"), Some(&pkg));
        assert_eq!(f.get("Version").map(String::as_str), Some(version));
        assert_eq!(f.get("Architecture"), Some(&arch));
        assert_eq!(f.get("Section").map(String::as_str), Some("net"));
        assert_eq!(f.get("Priority").map(String::as_str), Some("optional"));
        for k in ["Maintainer", "Homepage", "Installed-Size"] {
            assert!(f.get(k).is_some_and(|v| !v.is_empty()), "{pkg}: no {k}");
        }
        let depends = f.get("Depends").cloned().unwrap_or_default();
        assert!(depends.starts_with("adduser, ") && depends.contains("libc6"), "{pkg} Depends: {depends}");
        let description = f.get("Description").cloned().unwrap_or_default();
        assert!(description.lines().count() > 3, "{pkg}: a long description is wanted: {description}");

        let control = scratch.0.join(format!("control-{m}"));
        ok(Command::new("dpkg-deb").arg("-e").arg(deb).arg(&control));
        ok(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&sysroot));
        let conffiles = std::fs::read_to_string(control.join("conffiles")).expect("conffiles");
        assert_eq!(conffiles, format!("/etc/falcon/{m}.json\n"));
        // md5sums lists every file, and they match.
        let sums = std::fs::read_to_string(control.join("md5sums")).expect("md5sums");
        for file in [
            format!("usr/bin/{pkg}"),
            format!("etc/falcon/{m}.json"),
            format!("lib/systemd/system/{pkg}.service"),
            format!("usr/share/doc/{pkg}/copyright"),
            // A version without a Debian revision makes a native package, whose changelog has this name.
            format!("usr/share/doc/{pkg}/changelog.gz"),
            format!("usr/share/man/man8/{pkg}.8.gz"),
        ] {
            assert!(sysroot.join(&file).is_file(), "{pkg} lacks /{file}");
            assert!(sums.lines().any(|l| l.ends_with(&format!("  {file}"))), "{pkg} md5sums lacks {file}");
        }
        ok(Command::new("md5sum").arg("--check").arg("--quiet").arg(control.join("md5sums")).current_dir(&sysroot));
        for script in ["postinst", "prerm", "postrm"] {
            let body = std::fs::read_to_string(control.join(script)).expect("maintainer script");
            assert!(body.starts_with("#!/bin/sh\n") && body.contains("\nset -e\n"), "{pkg} {script}: sh, set -e");
            assert!(!body.contains('@'), "{pkg} {script}: a placeholder left: {body}");
            ok(Command::new("/bin/sh").arg("-n").arg(control.join(script)));
        }
        check_maintainer_scripts(m, &control, &scratch.0);
        check_unit(m, &sysroot.join(format!("lib/systemd/system/{pkg}.service")));
    }

    // The packaged configs: config/<module>.json with only the listen addresses changed, and nothing they would
    // connect to off this machine (the daemons below start with them).
    for m in MODULES {
        let mut packaged = read_json(&sysroot.join(format!("etc/falcon/{m}.json")));
        let mut peers = Vec::new();
        peer_addrs(&packaged, "", &mut peers);
        for (key, addr) in &peers {
            assert!(addr.ip().is_loopback(), "packaged {m}.json connects off the machine: {key} {addr}");
        }
        let dev = root.join(format!("config/{m}.json"));
        if dev.is_file() {
            let mut dev = read_json(&dev);
            map_listens(&mut packaged, &mut |_| "LISTEN".into());
            map_listens(&mut dev, &mut |_| "LISTEN".into());
            assert_eq!(packaged, dev, "packaging/{m}/{m}.json and config/{m}.json differ beyond listen addresses");
        }
    }

    lint(&debs);
    verify_units(&sysroot);

    // Each packaged binary from the unpacked tree, with its packaged config (listen addresses on free loopback
    // ports), in its state directory as the unit runs it.
    for m in MODULES {
        let t = Instant::now();
        let mut cfg = read_json(&sysroot.join(format!("etc/falcon/{m}.json")));
        map_listens(&mut cfg, &mut |_| format!("127.0.0.1:{}", free_port()));
        let cfg_path = scratch.0.join(format!("{m}.test.json"));
        std::fs::write(&cfg_path, serde_json::to_vec_pretty(&cfg).expect("json")).expect("write config");
        // The state directories systemd would make.
        let unit = unit_keys(&sysroot.join(format!("lib/systemd/system/falcon-{m}.service")));
        for dir in unit["StateDirectory"].iter().flat_map(|v| v.split_whitespace()) {
            std::fs::create_dir_all(sysroot.join("var/lib").join(dir)).expect("state dir");
        }
        let state = sysroot.join(format!("var/lib/falcon/{m}"));
        let bin = sysroot.join(format!("usr/bin/falcon-{m}"));
        let cfg_arg = cfg_path.to_str().expect("utf-8 path");
        let mut d = Daemon::start_in(&bin, &["-c", cfg_arg], Some(&state))
            .unwrap_or_else(|e| panic!("packaged falcon-{m} did not start: {e}"));
        let addr = d.addr("http").to_string();
        let health = http::get(&addr, "/health");
        assert_eq!((health.status, health.body.trim()), (200, "ok"), "falcon-{m} /health");
        // The relative paths land in the state directory: the database at start, the archive with the first item.
        if m == "transfer" {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
            let item = format!(
                r#"[{{"endpoint":"deb-test","metric":"deb.test","value":1,"step":60,"counterType":"GAUGE","tags":"","timestamp":{now}}}]"#
            );
            let r = http::post_json(&addr, "/api/push", &item);
            assert_eq!(r.status, 200, "falcon-transfer /api/push: {}", r.body);
        }
        let expect = match m {
            "hbs" => Some("hbs.db"),
            "transfer" => Some("archive"),
            _ => None,
        };
        if let Some(e) = expect {
            falcon_tests::util::wait_for(
                &format!("{m}'s ./{e} in its state directory"),
                Duration::from_secs(10),
                || state.join(e).exists(),
            );
        }
        // `systemctl reload` (the unit's ExecReload): SIGHUP re-reads the config, the daemon runs on.
        let pid = nix::unistd::Pid::from_raw(d.pid() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).expect("SIGHUP");
        falcon_tests::util::wait_for(&format!("falcon-{m} reloading on SIGHUP"), Duration::from_secs(10), || {
            d.log().contains("SIGHUP: log file reopened, reloading the config")
        });
        assert_eq!(http::get(&addr, "/health").status, 200, "falcon-{m} after SIGHUP");
        let metrics = http::get(&addr, "/metrics").body;
        falcon_tests::promtool::check_metrics(&metrics).unwrap_or_else(|e| panic!("falcon-{m} /metrics: {e}"));
        assert!(metrics.contains(&format!("falcon_{m}_build_info{{")), "falcon-{m} /metrics:\n{metrics}");
        d.terminate();
        let status = d.wait(Duration::from_secs(10));
        assert!(status.is_some_and(|s| s.success()), "falcon-{m} on SIGTERM: {status:?}\n{}", d.log());
        eprintln!(
            "deb_package: packaged falcon-{m} became ready, answered /health and /metrics, reloaded on SIGHUP, stopped ({:.1}s)",
            t.elapsed().as_secs_f64()
        );
    }
    eprintln!("deb_package: done in {:.1}s", started.elapsed().as_secs_f64());
}

/// lintian over the four packages in one run: no error (E:) lines. Skipped when lintian is not installed.
fn lint(debs: &[PathBuf]) {
    let Some(lintian) = tool("lintian") else {
        eprintln!("deb_package: SKIPPED lintian: not installed (scripts/install-test-deps.sh installs it)");
        return;
    };
    let t = Instant::now();
    // --allow-root: CI runs as root. Warnings and errors only (info and pedantic tags are advice).
    let out = run(Command::new(lintian).arg("--allow-root").args(["--tag-display-limit", "0"]).args(debs));
    let report = text(&out);
    let shown = if report.trim().is_empty() { "no warnings or errors" } else { report.trim_end() };
    eprintln!("deb_package: lintian took {:.1}s: {shown}", t.elapsed().as_secs_f64());
    let errors: Vec<&str> = report.lines().filter(|l| l.starts_with("E: ")).collect();
    assert!(errors.is_empty(), "lintian errors:\n{}", errors.join("\n"));
    // lintian exits non-zero on errors (checked above) and on failures of its own.
    assert!(out.status.success(), "lintian failed ({}):\n{report}", out.status);
}

/// `systemd-analyze verify` of every unit, in the unpacked root: `--root` resolves ExecStart, ExecReload and the
/// targets the units name there, so the root gets /bin/kill and the host's targets and slices. Any message
/// fails (it exits 0 on unknown keys and bad values, only printing them). The Documentation= man pages are
/// looked up in the packages' own man directory. Skipped when systemd-analyze is not installed.
fn verify_units(sysroot: &Path) {
    let Some(analyze) = tool("systemd-analyze") else {
        eprintln!("deb_package: SKIPPED systemd-analyze verify: not installed (package systemd)");
        return;
    };
    let t = Instant::now();
    let units_dir = sysroot.join("usr/lib/systemd/system");
    std::fs::create_dir_all(&units_dir).expect("units dir");
    for entry in std::fs::read_dir("/lib/systemd/system").expect("the host's units") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        if (name.ends_with(".target") || name.ends_with(".slice")) && path.is_file() {
            std::fs::copy(&path, units_dir.join(&name)).expect("copy a unit");
        }
    }
    std::fs::create_dir_all(sysroot.join("bin")).expect("bin");
    let kill = tool("kill").expect("kill (procps)");
    std::fs::copy(kill, sysroot.join("bin/kill")).expect("copy kill");
    let manpath = sysroot.join("usr/share/man");
    let man = tool("man").is_some();
    if !man {
        eprintln!("deb_package: no man command: systemd-analyze verify --man=no (Documentation= not checked)");
    }
    for m in MODULES {
        let unit = format!("/lib/systemd/system/falcon-{m}.service");
        let mut verify = Command::new(&analyze);
        verify.arg("verify").arg(format!("--root={}", sysroot.display()));
        if !man {
            verify.arg("--man=no");
        }
        let out = run(verify.arg(&unit).env("MANPATH", &manpath).env("SYSTEMD_LOG_COLOR", "0"));
        assert!(out.status.success() && text(&out).trim().is_empty(), "systemd-analyze verify {unit}:\n{}", text(&out));
        // The exposure score, for the record (its weights change between systemd versions: not asserted).
        let sec = run(Command::new(&analyze)
            .args(["security", "--offline=true", "--no-pager"])
            .arg(format!("--root={}", sysroot.display()))
            .arg(&unit));
        let score = text(&sec).lines().find(|l| l.contains("Overall exposure level")).unwrap_or("").trim().to_string();
        eprintln!("deb_package: systemd-analyze verify falcon-{m}.service: clean; {score}");
    }
    eprintln!("deb_package: systemd-analyze took {:.1}s", t.elapsed().as_secs_f64());
}
