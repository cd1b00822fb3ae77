//! A private MariaDB server for the tests that need a real `falcon_portal` database: Debian's `mariadbd`, run as a
//! child process on a fresh data directory under the temp dir and a free port on 127.0.0.1, never the system
//! service. `scripts/install-test-deps.sh` installs the package.
//!
//! Accounts: `mariadb-install-db --auth-root-authentication-method=normal` leaves `root@localhost` without a
//! password. The harness uses it only through the server's Unix socket, which lives in the private (0700) temp
//! directory, so no name resolution or TCP grant is involved; the password-less TCP root accounts install-db also
//! makes are dropped. For TCP clients (the HBS under test) it creates
//! [`USER`]`@127.0.0.1` identified by [`PASSWORD`], with all privileges on each database made by
//! [`MariaDb::create_portal`] and nothing else, as a portal's HBS account would have. The server runs with
//! `--skip-name-resolve`, so that account matches by address.
//!
//! The API is synchronous: SQL runs on a small current-thread tokio runtime owned by the harness, over a new
//! connection each call (nothing pooled survives a [`MariaDb::restart`]).

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::server::{self, find_exe, free_port, not_installed, tail_from};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Row, Value};

/// The account TCP clients use ([`MariaDb::dsn`]).
pub const USER: &str = "falcon";
/// [`USER`]'s password.
pub const PASSWORD: &str = "falcon";

/// Our DDL of the portal tables HBS uses (names and types as falcon-plus v0.3's `2_portal-db-schema.sql`).
pub const PORTAL_DDL: &str = include_str!("portal_ddl.sql");

/// How long a start (or restart) may take until the server accepts a login.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the data directory initialisation may take.
const INIT_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a clean shutdown may take before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on each SQL call, connection included.
const SQL_TIMEOUT: Duration = Duration::from_secs(30);

/// A running MariaDB server on 127.0.0.1; stopped, and its directory removed, when dropped.
pub struct MariaDb {
    /// Temp dir holding `data/`, the socket, the pid file, the logs and `tmp/`.
    dir: PathBuf,
    server: PathBuf,
    port: u16,
    child: Option<Child>,
    rt: tokio::runtime::Runtime,
}

impl MariaDb {
    /// Initialises a fresh data directory, starts the server on a free loopback port, waits until it accepts a
    /// login and creates the [`USER`] account. Fails with the reason (and the server's log) if any step does;
    /// when MariaDB is not installed, says to run `scripts/install-test-deps.sh`.
    pub fn start() -> Result<MariaDb, String> {
        let missing = |exe: &str| not_installed("MariaDB", exe, "mariadb-server");
        let server = find_exe(&["mariadbd", "mysqld"]).ok_or_else(|| missing("mariadbd (or mysqld)"))?;
        let install_db = find_exe(&["mariadb-install-db", "mysql_install_db"])
            .ok_or_else(|| missing("mariadb-install-db (or mysql_install_db)"))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("mariadb: tokio runtime: {e}"))?;
        let dir = fresh_dir()?;
        // From here on Drop removes the directory, whatever fails.
        let mut db = MariaDb { dir, server, port: 0, child: None, rt };
        db.init_datadir(&install_db)?;
        // The free port is found by binding and releasing it, so another process can take it before mariadbd
        // binds; a bind failure is retried with a new port.
        let mut tries = 0;
        loop {
            tries += 1;
            db.port = free_port()?;
            match db.launch() {
                Ok(()) => break,
                Err(e) if tries < 3 && server::port_taken(&e) => db.stop(),
                Err(e) => return Err(e),
            }
        }
        // install-db also leaves password-less root@127.0.0.1 and root@::1: dropped, so that over TCP only the
        // password-checked account exists and root stays on the private socket.
        db.exec(&format!(
            "DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1'; \
             CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'"
        ))?;
        Ok(db)
    }

    /// The server's TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The path of the server's Unix socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("mysqld.sock")
    }

    /// A go-sql-driver DSN for `user`/`password` and database `db`, in the form of falcon-plus's HBS config:
    /// `user:password@tcp(127.0.0.1:PORT)/db?loc=Local&parseTime=true`.
    pub fn dsn(&self, user: &str, password: &str, db: &str) -> String {
        format!("{user}:{password}@tcp(127.0.0.1:{})/{db}?loc=Local&parseTime=true", self.port)
    }

    /// Runs `sql` as root (one or several statements separated by `;`), discarding any result.
    pub fn exec(&self, sql: &str) -> Result<(), String> {
        let sql = sql.to_string();
        self.with_root(move |mut conn| async move {
            let r = conn.query_drop(sql).await;
            let _ = conn.disconnect().await;
            r
        })
    }

    /// Runs `sql` as root and returns the first column of its first row as an integer; an error if there is
    /// no row, the value is NULL or is not an integer.
    pub fn query_one_i64(&self, sql: &str) -> Result<i64, String> {
        let rows = self.query_rows(sql)?;
        let cell = rows.first().and_then(|r| r.first()).ok_or_else(|| format!("mariadb: no row from: {sql}"))?;
        let text = cell.as_deref().ok_or_else(|| format!("mariadb: NULL from: {sql}"))?;
        text.parse().map_err(|_| format!("mariadb: {text:?} is not an integer (from: {sql})"))
    }

    /// Runs `sql` as root and returns every row, each value as text (`None` for NULL), as the text protocol
    /// sends them.
    pub fn query_rows(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
        let sql = sql.to_string();
        let rows: Vec<Row> = self.with_root(move |mut conn| async move {
            let r = conn.query(sql).await;
            let _ = conn.disconnect().await;
            r
        })?;
        Ok(rows.iter().map(|row| (0..row.len()).map(|i| row.as_ref(i).and_then(value_text)).collect()).collect())
    }

    /// Logs in over TCP on 127.0.0.1 as `user` with `password` (into `db` unless empty) and runs `SELECT 1`,
    /// as a client of the server under test would. The error carries the server's message, such as
    /// `Access denied for user ...`.
    pub fn login(&self, user: &str, password: &str, db: &str) -> Result<(), String> {
        let opts = OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.port)
            .user(Some(user))
            .pass(Some(password))
            .db_name((!db.is_empty()).then_some(db))
            // Otherwise mysql_async moves a loopback connection to the server's Unix socket, where the account
            // would be user@localhost instead of the user@127.0.0.1 under test.
            .prefer_socket(false);
        self.run(Opts::from(opts), |mut conn| async move {
            let r = conn.query_drop("SELECT 1").await;
            let _ = conn.disconnect().await;
            r
        })
    }

    /// Creates database `name` with the portal tables ([`PORTAL_DDL`]) and grants [`USER`] all privileges on
    /// it. `name` is limited to letters, digits and `_` so it needs no quoting anywhere.
    pub fn create_portal(&self, name: &str) -> Result<(), String> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("mariadb: database name {name:?} must be letters, digits and _"));
        }
        // An empty statement (";;") is a syntax error, so the file's last ';' goes.
        let ddl = PORTAL_DDL.trim_end().trim_end_matches(';');
        self.exec(&format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; USE `{name}`; {ddl}; \
             GRANT ALL PRIVILEGES ON `{name}`.* TO '{USER}'@'127.0.0.1'"
        ))
        .map_err(|e| format!("create portal database {name}: {e}"))
    }

    /// Stops the server: SIGTERM (a clean InnoDB shutdown), then SIGKILL if it has not exited within 30 s.
    /// Does nothing if it is not running.
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            server::stop_child(child, STOP_TIMEOUT);
        }
    }

    /// Starts the server again on the same data directory and port (after [`MariaDb::stop`], or stopping it
    /// first if it runs) and waits until it accepts a login.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.launch()
    }

    /// The server's error log so far (for failure messages).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    /// The mariadbd arguments; the same for every (re)start.
    fn server_args(&self) -> Vec<String> {
        let d = &self.dir;
        let mut args = vec![
            // First, as the server requires: ignore /etc/mysql and ~/.my.cnf entirely.
            "--no-defaults".to_string(),
            format!("--datadir={}", d.join("data").display()),
            format!("--socket={}", d.join("mysqld.sock").display()),
            format!("--pid-file={}", d.join("mysqld.pid").display()),
            format!("--log-error={}", d.join("error.log").display()),
            format!("--tmpdir={}", d.join("tmp").display()),
            format!("--port={}", self.port),
            "--bind-address=127.0.0.1".to_string(),
            // Accounts match by address; no reverse DNS on a machine that may have none.
            "--skip-name-resolve".to_string(),
            "--skip-log-bin".to_string(),
            "--performance-schema=OFF".to_string(),
            // A few tens of MB per server instead of hundreds: several tests may each run one.
            "--innodb-buffer-pool-size=16M".to_string(),
            "--key-buffer-size=1M".to_string(),
            "--max-connections=50".to_string(),
        ];
        args.extend(innodb_args());
        if is_root() {
            // mariadbd refuses to run as root unless told to explicitly.
            args.push("--user=root".to_string());
        }
        args
    }

    /// `mariadb-install-db` on `<dir>/data`, bounded in time; its output is kept in `<dir>/install-db.log`.
    fn init_datadir(&self, install_db: &Path) -> Result<(), String> {
        let mut args = vec![
            "--no-defaults".to_string(),
            format!("--datadir={}", self.dir.join("data").display()),
            "--auth-root-authentication-method=normal".to_string(),
            "--skip-test-db".to_string(),
            // Skips the check that the machine's hostname resolves, which only matters for host-named accounts.
            "--force".to_string(),
            // The bootstrap server's own temp dir: with the default /tmp, bootstraps of parallel tests remove
            // each other's `#sql-temptable-*` files at start-up and fail ("Unknown table 'mysql.tmp_user_sys'").
            format!("--tmpdir={}", self.dir.join("tmp").display()),
        ];
        // Passed through to the bootstrap mariadbd, so the redo log is created at the size the server uses.
        args.extend(innodb_args());
        if is_root() {
            args.push("--user=root".to_string());
        }
        let log_path = self.dir.join("install-db.log");
        let log = File::create(&log_path).map_err(|e| format!("mariadb: create {}: {e}", log_path.display()))?;
        let log2 = log.try_clone().map_err(|e| format!("mariadb: {e}"))?;
        let mut child = Command::new(install_db)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| format!("mariadb: run {}: {e}", install_db.display()))?;
        let deadline = Instant::now() + INIT_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "mariadb: {} did not finish in {INIT_TIMEOUT:?}:\n{}",
                        install_db.display(),
                        tail(&log_path, 40)
                    ));
                }
                Err(e) => return Err(format!("mariadb: wait for {}: {e}", install_db.display())),
            }
        };
        if !status.success() {
            return Err(format!(
                "mariadb: {} {} failed ({status}):\n{}",
                install_db.display(),
                args.join(" "),
                tail(&log_path, 40)
            ));
        }
        Ok(())
    }

    /// Spawns mariadbd and waits until the TCP port accepts connections and root can log in on the socket.
    fn launch(&mut self) -> Result<(), String> {
        let log_path = self.dir.join("error.log");
        // Where this start's messages begin in the (appended) error log.
        let log_from = std::fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
        // Anything the server prints before it opens its error log (bad option, missing library) goes here.
        let out_path = self.dir.join("mariadbd.out");
        let out = File::create(&out_path).map_err(|e| format!("mariadb: create {}: {e}", out_path.display()))?;
        let out2 = out.try_clone().map_err(|e| format!("mariadb: {e}"))?;
        let args = self.server_args();
        let child = Command::new(&self.server)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(out2)
            .spawn()
            .map_err(|e| format!("mariadb: run {}: {e}", self.server.display()))?;
        self.child = Some(child);
        let failure = |why: String| {
            let mut log = tail_from(&log_path, log_from, 40);
            let out = tail(&out_path, 20);
            if !out.trim().is_empty() {
                log = format!("{log}\n{out}");
            }
            format!("mariadb: {why}\ncommand: {} {}\nlog:\n{log}", self.server.display(), args.join(" "))
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut last = String::from("port not open yet");
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(failure(format!("mariadbd exited during start-up ({status})")));
                }
            }
            // The port opens slightly before the server takes logins (and could, in a race, belong to someone
            // else): a real login is the proof, tried once the port answers.
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                match self.exec("SELECT 1") {
                    Ok(()) => return Ok(()),
                    Err(e) => last = e,
                }
            }
            if Instant::now() >= deadline {
                let e = failure(format!("mariadbd not ready on {addr} within {START_TIMEOUT:?}: {last}"));
                self.stop();
                return Err(e);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `f` on a new root connection over the Unix socket.
    fn with_root<T, F, Fut>(&self, f: F) -> Result<T, String>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: std::future::Future<Output = mysql_async::Result<T>>,
    {
        let opts = OptsBuilder::default()
            .user(Some("root"))
            .socket(Some(self.socket().display().to_string()))
            // One connection per call: its statement cache would only be thrown away.
            .stmt_cache_size(0);
        self.run(Opts::from(opts), f)
    }

    /// Connects with `opts` and runs `f`, all within [`SQL_TIMEOUT`].
    fn run<T, F, Fut>(&self, opts: Opts, f: F) -> Result<T, String>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: std::future::Future<Output = mysql_async::Result<T>>,
    {
        self.rt.block_on(async move {
            let work = async move {
                let conn = Conn::new(opts).await?;
                f(conn).await
            };
            match tokio::time::timeout(SQL_TIMEOUT, work).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err(format!("mariadb: no answer within {SQL_TIMEOUT:?}")),
            }
        })
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// InnoDB settings shared by the bootstrap and the server.
fn innodb_args() -> Vec<String> {
    vec![
        // 10.11's default is 96 MB per server; 8 MB is plenty for test data and quick to create.
        "--innodb-log-file-size=8M".to_string(),
        // Synchronous I/O: native AIO (io_uring or libaio) can be unavailable in containers or run out of
        // system-wide AIO contexts with several servers; tests do not need its throughput.
        "--innodb-use-native-aio=0".to_string(),
        // Write the log at each commit but fsync it once a second: a mariadbd crash loses nothing, only a machine
        // crash would, and tests save an fsync per statement.
        "--innodb-flush-log-at-trx-commit=2".to_string(),
    ]
}

/// Whether we run as root (then mariadbd needs `--user=root`).
fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A new, empty, owner-only directory for one server, with the `tmp/` the server and its bootstrap use.
fn fresh_dir() -> Result<PathBuf, String> {
    let dir = server::fresh_dir("mariadb")?;
    // The socket path must fit sun_path (108 bytes); a long TMPDIR would break the server's start obscurely.
    if dir.join("mysqld.sock").as_os_str().len() > 100 {
        return Err(format!("mariadb: temp dir {} is too long for a Unix socket path; set TMPDIR", dir.display()));
    }
    std::fs::create_dir_all(dir.join("tmp")).map_err(|e| format!("mariadb: create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// The last `lines` lines of a file ("" if unreadable).
fn tail(path: &Path, lines: usize) -> String {
    tail_from(path, 0, lines)
}

/// A value of a text-protocol row as text; binary-protocol values (not produced here) in their SQL form.
fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}
