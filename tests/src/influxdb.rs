//! A private InfluxDB 1.x server for the tests of the line-protocol writer: Debian's `influxdb` (1.6), run as a
//! child process on a fresh directory under the temp dir, never the system service. It listens on two free ports on
//! 127.0.0.1: HTTP (API and `/write`) and the backup/restore RPC service, whose default 8088 could clash.
//! `scripts/install-test-deps.sh` installs the package.
//!
//! Authentication is off unless started with [`InfluxDb::start_with_auth`], which turns it on and creates an admin
//! user; the harness's own calls then log in as that user.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::http::{percent_encode, query_string};
use crate::server::{self, Process};

/// How long a start may take until `/ping` answers 204 (about 0.1 s on an idle machine).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a clean shutdown may take before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running InfluxDB on 127.0.0.1; stopped, and its directory removed, when dropped.
pub struct InfluxDb {
    /// Temp dir holding `influxdb.conf`, `meta/`, `data/`, `wal/` and `influxd.log`.
    dir: PathBuf,
    exe: PathBuf,
    port: u16,
    rpc_port: u16,
    /// The admin user and password when authentication is on.
    admin: Option<(String, String)>,
    process: Option<Process>,
}

impl InfluxDb {
    /// Starts an InfluxDB without authentication and waits until `/ping` answers. Fails with the reason and the
    /// server's log if it does not; when InfluxDB is not installed, says to run `scripts/install-test-deps.sh`.
    pub fn start() -> Result<InfluxDb, String> {
        InfluxDb::start_inner(None)
    }

    /// [`InfluxDb::start`] with `[http] auth-enabled = true` and an admin user `user` (all privileges) identified by
    /// `password`: requests without valid credentials then get 401.
    pub fn start_with_auth(user: &str, password: &str) -> Result<InfluxDb, String> {
        InfluxDb::start_inner(Some((user.to_string(), password.to_string())))
    }

    fn start_inner(admin: Option<(String, String)>) -> Result<InfluxDb, String> {
        let exe =
            server::find_exe(&["influxd"]).ok_or_else(|| server::not_installed("InfluxDB", "influxd", "influxdb"))?;
        let dir = server::fresh_dir("influxdb")?;
        // From here on Drop removes the directory, whatever fails.
        let mut db = InfluxDb { dir, exe, port: 0, rpc_port: 0, admin, process: None };
        let mut tries = 0;
        loop {
            tries += 1;
            db.port = server::free_port().map_err(|e| format!("influxdb: {e}"))?;
            db.rpc_port = server::free_port().map_err(|e| format!("influxdb: {e}"))?;
            if db.rpc_port == db.port {
                continue;
            }
            std::fs::write(db.config_path(), db.config())
                .map_err(|e| format!("influxdb: write {}: {e}", db.config_path().display()))?;
            match db.launch() {
                Ok(()) => break,
                Err(e) if tries < server::PORT_TRIES && server::port_taken(&e) => db.stop(),
                Err(e) => return Err(e),
            }
        }
        if let Some((user, password)) = db.admin.clone() {
            // With authentication on, InfluxDB 1.x lets exactly this statement through unauthenticated while no
            // admin exists; the request carries no credentials.
            let q = format!("CREATE USER {} WITH PASSWORD {} WITH ALL PRIVILEGES", ident(&user), string_lit(&password));
            db.query_with(None, "", &q).map_err(|e| format!("influxdb: create admin user: {e}"))?;
        }
        Ok(db)
    }

    /// The HTTP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`, as [`crate::http`] takes it.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The line-protocol endpoint for database `db`, `http://127.0.0.1:<port>/write?db=<db>` (nanosecond
    /// timestamps unless a `&precision=` is added; credentials, when needed, go in Basic auth or `&u=..&p=..`).
    pub fn write_url(&self, db: &str) -> String {
        format!("{}/write?db={}", self.url(), percent_encode(db))
    }

    /// The admin user and password, when started with [`InfluxDb::start_with_auth`].
    pub fn admin(&self) -> Option<(&str, &str)> {
        self.admin.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// The temp dir holding the configuration, the data and the log; removed on drop.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's log so far, HTTP access lines included (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("influxd.log")).unwrap_or_default()
    }

    /// `CREATE DATABASE <name>` (as the admin when authentication is on); succeeds if it exists already.
    pub fn create_db(&self, name: &str) -> Result<(), String> {
        self.query("", &format!("CREATE DATABASE {}", ident(name))).map(|_| ())
    }

    /// Runs InfluxQL `q` against database `db` ("" for none), as the admin when authentication is on, with
    /// timestamps as Unix seconds (`epoch=s`); returns the whole answer, `{"results":[{"statement_id":0,
    /// "series":[{"name":..,"columns":[..],"values":[[..]]}]}]}`. An error if the request or any statement failed.
    pub fn query(&self, db: &str, q: &str) -> Result<serde_json::Value, String> {
        let creds = self.admin.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
        self.query_with(creds, db, q)
    }

    /// [`InfluxDb::query`] as `user` with `password` (to test authentication).
    pub fn query_as(&self, user: &str, password: &str, db: &str, q: &str) -> Result<serde_json::Value, String> {
        self.query_with(Some((user, password)), db, q)
    }

    /// POSTs line protocol `lines` (nanosecond timestamps) to database `db`, as the admin when authentication is
    /// on; an error unless the server answers 204.
    pub fn write(&self, db: &str, lines: &str) -> Result<(), String> {
        let mut params = vec![("db", db)];
        if let Some((u, p)) = &self.admin {
            params.extend([("u", u.as_str()), ("p", p.as_str())]);
        }
        let path = format!("/write?{}", query_string(&params));
        let r = server::post(&self.addr(), &path, lines.as_bytes(), "text/plain; charset=utf-8")
            .map_err(|e| format!("influxdb: {e}"))?;
        if r.status != 204 {
            return Err(format!("influxdb: write to {db}: HTTP {}: {}", r.status, r.body.trim()));
        }
        Ok(())
    }

    /// Stops the server: SIGTERM (it closes its shards cleanly), then SIGKILL if it has not exited within 30 s.
    /// Does nothing if it is not running.
    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.stop(STOP_TIMEOUT);
        }
    }

    /// Starts the server again on the same data, configuration and ports (stopping it first if it runs) and waits
    /// until it answers `/ping`.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.launch()
    }

    /// The pid of the running server.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().and_then(|p| p.pid())
    }

    /// A POST to `/query` (POST, since CREATE and the like refuse GET) with the statement in a form body.
    fn query_with(&self, creds: Option<(&str, &str)>, db: &str, q: &str) -> Result<serde_json::Value, String> {
        let mut form = vec![("q", q), ("epoch", "s")];
        if !db.is_empty() {
            form.push(("db", db));
        }
        // InfluxDB reads u and p from the URL only, the rest from URL or form alike. Reads go as GET with no body:
        // InfluxDB answers a refused POST before reading its body and closes, which can reset the connection
        // under the reply; statements that change things must be POSTed.
        let read_only = ["SELECT", "SHOW"].iter().any(|w| q.trim_start().to_ascii_uppercase().starts_with(w));
        let r = if read_only {
            let mut all = form.clone();
            if let Some((u, p)) = creds {
                all.extend([("u", u), ("p", p)]);
            }
            crate::http::request(&self.addr(), "GET", &format!("/query?{}", query_string(&all)), None, "")
                .map_err(|e| format!("influxdb: GET /query: {e}"))?
        } else {
            let path = match creds {
                Some((u, p)) => format!("/query?{}", query_string(&[("u", u), ("p", p)])),
                None => "/query".to_string(),
            };
            let body = query_string(&form);
            server::post(&self.addr(), &path, body.as_bytes(), "application/x-www-form-urlencoded")
                .map_err(|e| format!("influxdb: {e}"))?
        };
        let what = format!("influxdb: {q}");
        // Errors of the request as a whole come as {"error": ...} with 400, 401 or 500.
        let v = server::json_body(&what, &r, &[200])?;
        if let Some(e) = v.get("error") {
            return Err(format!("{what}: {e}"));
        }
        let results = v["results"].as_array().ok_or_else(|| format!("{what}: no results in {}", r.body.trim()))?;
        if let Some(e) = results.iter().find_map(|s| s.get("error")) {
            return Err(format!("{what}: {e}"));
        }
        Ok(v)
    }

    fn config_path(&self) -> PathBuf {
        self.dir.join("influxdb.conf")
    }

    /// The TOML configuration. Paths are written as JSON strings, whose escapes TOML's basic strings share.
    fn config(&self) -> String {
        let path = |p: &str| serde_json::Value::String(self.dir.join(p).display().to_string()).to_string();
        format!(
            "# Written by falcon-tests (tests/src/influxdb.rs) for one test server.\n\
             # Debian's build renamed upstream's reporting-disabled to reporting-enabled; unknown keys are\n\
             # ignored, so both are set: no usage reports either way.\n\
             reporting-enabled = false\n\
             reporting-disabled = true\n\
             # The backup/restore RPC service; its default :8088 would clash with any other server.\n\
             bind-address = \"127.0.0.1:{rpc}\"\n\
             \n[meta]\n  dir = {meta}\n\
             \n[data]\n  dir = {data}\n  wal-dir = {wal}\n\
             \n[monitor]\n  # No _internal database written every 10 s.\n  store-enabled = false\n\
             \n[http]\n  enabled = true\n  bind-address = \"127.0.0.1:{port}\"\n  auth-enabled = {auth}\n  \
             unix-socket-enabled = false\n\
             \n[logging]\n  suppress-logo = true\n\
             \n[ifql]\n  enabled = false\n\
             \n[[graphite]]\n  enabled = false\n\
             \n[[collectd]]\n  enabled = false\n\
             \n[[opentsdb]]\n  enabled = false\n\
             \n[[udp]]\n  enabled = false\n",
            rpc = self.rpc_port,
            meta = path("meta"),
            data = path("data"),
            wal = path("wal"),
            port = self.port,
            auth = self.admin.is_some(),
        )
    }

    /// Spawns `influxd run -config ...` and waits until `/ping` answers 204.
    fn launch(&mut self) -> Result<(), String> {
        let args = vec![
            "run".to_string(),
            "-config".to_string(),
            self.config_path().display().to_string(),
            "-pidfile".to_string(),
            self.dir.join("influxd.pid").display().to_string(),
        ];
        let log = self.dir.join("influxd.log");
        // INFLUXDB_* variables override the configuration file (INFLUXDB_HTTP_BIND_ADDRESS and so on).
        let mut process = Process::spawn("influxdb", &self.exe, args, &self.dir, log, Some("INFLUXDB_"))?;
        let addr = self.addr();
        process.wait_ready(START_TIMEOUT, || {
            let r = server::get(&addr, "/ping")?;
            if r.status == 204 {
                Ok(())
            } else {
                Err(format!("/ping: HTTP {}: {}", r.status, r.body.trim()))
            }
        })?;
        self.process = Some(process);
        Ok(())
    }
}

impl Drop for InfluxDb {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An InfluxQL identifier in double quotes.
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// An InfluxQL string literal in single quotes.
fn string_lit(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}
