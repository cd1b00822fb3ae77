//! The Go HBS's `database` value: a go-sql-driver DSN, `[user[:password]@][net[(addr)]]/dbname[?params]`, for
//! example `root:pass@tcp(127.0.0.1:3306)/falcon_portal?loc=Local&parseTime=true`. Anything that is not a DSN
//! names a SQLite file.

use std::time::Duration;

/// Where the MySQL server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `tcp(host:port)`.
    Tcp {
        /// Host name or address.
        host: String,
        /// Port (3306 when not given).
        port: u16,
    },
    /// `unix(/path/to.sock)`.
    Unix(String),
}

/// A parsed DSN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dsn {
    /// User (may be empty).
    pub user: String,
    /// Password (may be empty).
    pub password: String,
    /// Server.
    pub endpoint: Endpoint,
    /// Database name.
    pub database: String,
    /// `timeout`: connect timeout (go-sql-driver's name), 10 s when absent.
    pub connect_timeout: Duration,
    /// `readTimeout`/`writeTimeout`: how long one statement may take, 10 s when absent.
    pub io_timeout: Duration,
    /// Parameters that do not apply here (`loc`, `parseTime`, `charset`...), for one log line.
    pub ignored: Vec<String>,
}

/// Whether `database` is a DSN rather than a file path: an `@` or a `net(` before the first `/`.
pub fn is_dsn(database: &str) -> bool {
    let head = database.split('/').next().unwrap_or("");
    database.contains('/') && (head.contains('@') || head.ends_with(')'))
}

/// `database` as the HTTP API shows it: a DSN's password as `******` (Go's `/config/reload` shows it whole); a
/// file path as it is.
pub fn redacted(database: &str) -> String {
    if !is_dsn(database) {
        return database.to_string();
    }
    let Some(slash) = database.rfind('/') else { return database.to_string() };
    let head = &database[..slash];
    // The same split as `parse`: the credentials end at the last '@', the user at the first ':'.
    match head.rfind('@').and_then(|at| head[..at].find(':').map(|colon| (colon, at))) {
        Some((colon, at)) => format!("{}:{}{}", &database[..colon], falcon_runtime::redact::MASK, &database[at..]),
        None => database.to_string(),
    }
}

/// `serialize_with` for `database`: [`redacted`].
pub fn serialize_redacted<S: serde::Serializer>(database: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redacted(database))
}

/// A Go duration (`5s`, `500ms`, `1m30s`, `2h`); None if malformed.
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (num, tail) = rest.split_at(digits);
        let unit_len = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let n: f64 = num.parse().ok()?;
        let secs = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        // Each term fits a Duration, but their sum may not (two of 10^19 s): malformed, not a panic.
        total = total.checked_add(Duration::try_from_secs_f64(n * secs).ok()?)?;
        rest = next;
    }
    Some(total)
}

/// Parses a DSN, naming what is wrong.
pub fn parse(dsn: &str) -> Result<Dsn, String> {
    let slash = dsn.rfind('/').ok_or("no '/dbname'")?;
    let (head, tail) = (&dsn[..slash], &dsn[slash + 1..]);
    // The password may hold '@' and ':': the user part ends at the last '@', the user at the first ':'.
    let (cred, net) = match head.rfind('@') {
        Some(at) => (&head[..at], &head[at + 1..]),
        None => ("", head),
    };
    let (user, password) = cred.split_once(':').unwrap_or((cred, ""));
    let endpoint = parse_net(net)?;
    let (database, query) = tail.split_once('?').unwrap_or((tail, ""));
    if database.is_empty() {
        return Err("no database name after '/'".into());
    }
    let mut d = Dsn {
        user: user.to_string(),
        password: password.to_string(),
        endpoint,
        database: database.to_string(),
        connect_timeout: Duration::from_secs(10),
        io_timeout: Duration::from_secs(10),
        ignored: Vec::new(),
    };
    for kv in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let dur = || parse_go_duration(v).filter(|d| !d.is_zero()).ok_or(format!("{k}={v} is not a duration"));
        match k {
            "timeout" => d.connect_timeout = dur()?,
            "readTimeout" | "writeTimeout" => d.io_timeout = d.io_timeout.min(dur()?),
            _ => d.ignored.push(kv.to_string()),
        }
    }
    Ok(d)
}

fn parse_net(net: &str) -> Result<Endpoint, String> {
    if net.is_empty() {
        return Ok(Endpoint::Tcp { host: "127.0.0.1".into(), port: 3306 });
    }
    let (proto, addr) = match net.split_once('(') {
        Some((p, rest)) => (p, rest.strip_suffix(')').ok_or(format!("{net}: missing ')'"))?),
        None => (net, ""),
    };
    match proto {
        "tcp" | "tcp4" | "tcp6" => {
            let addr = if addr.is_empty() { "127.0.0.1:3306" } else { addr };
            let (host, port) = match addr.rsplit_once(':') {
                Some((h, p)) if !h.is_empty() && (!h.contains(':') || h.ends_with(']')) => {
                    (h, p.parse::<u16>().map_err(|_| format!("{addr}: bad port"))?)
                }
                _ => (addr, 3306),
            };
            Ok(Endpoint::Tcp { host: host.trim_start_matches('[').trim_end_matches(']').to_string(), port })
        }
        "unix" => Ok(Endpoint::Unix(if addr.is_empty() { "/tmp/mysql.sock".into() } else { addr.into() })),
        other => Err(format!("network {other:?} is not tcp or unix")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_defaults_and_forms() {
        let d = parse("root:password@tcp(127.0.0.1:3306)/falcon_portal?loc=Local&parseTime=true").unwrap();
        assert_eq!((d.user.as_str(), d.password.as_str(), d.database.as_str()), ("root", "password", "falcon_portal"));
        assert_eq!(d.endpoint, Endpoint::Tcp { host: "127.0.0.1".into(), port: 3306 });
        assert_eq!(d.ignored, ["loc=Local", "parseTime=true"]);
        let d = parse("u:p@ss:w@rd@unix(/run/mysqld/mysqld.sock)/db").unwrap();
        assert_eq!((d.user.as_str(), d.password.as_str()), ("u", "p@ss:w@rd"));
        assert_eq!(d.endpoint, Endpoint::Unix("/run/mysqld/mysqld.sock".into()));
        let d = parse("u@tcp(db.example:13306)/x?timeout=3s&readTimeout=500ms").unwrap();
        assert_eq!(
            (d.password.as_str(), d.connect_timeout, d.io_timeout),
            ("", Duration::from_secs(3), Duration::from_millis(500))
        );
        assert_eq!(d.endpoint, Endpoint::Tcp { host: "db.example".into(), port: 13306 });
        assert_eq!(parse("u@tcp([::1]:3307)/x").unwrap().endpoint, Endpoint::Tcp { host: "::1".into(), port: 3307 });
        assert_eq!(parse("/x").unwrap().endpoint, Endpoint::Tcp { host: "127.0.0.1".into(), port: 3306 });
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(parse("u@tcp(h:3306)/").unwrap_err().contains("database"));
        assert!(parse("u@tcp(h:x)/d").unwrap_err().contains("port"));
        assert!(parse("u@udp(h)/d").unwrap_err().contains("udp"));
        assert!(parse("u@tcp(h/d").is_err());
        assert!(parse("u@tcp(h)/d?timeout=soon").unwrap_err().contains("timeout"));
    }

    #[test]
    fn passwords_are_masked_when_shown() {
        assert_eq!(
            redacted("root:p@ss:w/rd@tcp(127.0.0.1:3306)/falcon_portal?loc=Local"),
            "root:******@tcp(127.0.0.1:3306)/falcon_portal?loc=Local"
        );
        assert_eq!(redacted("root@tcp(db:3306)/falcon_portal"), "root@tcp(db:3306)/falcon_portal");
        assert_eq!(redacted("./falcon_portal.db"), "./falcon_portal.db");
        assert_eq!(redacted("/var/lib/falcon/portal.db"), "/var/lib/falcon/portal.db");
    }

    #[test]
    fn dsn_or_file() {
        assert!(is_dsn("root:pw@tcp(127.0.0.1:3306)/falcon_portal?loc=Local"));
        assert!(is_dsn("tcp(localhost)/falcon_portal"));
        assert!(is_dsn("u@/db"));
        assert!(!is_dsn("./falcon_portal.db"));
        assert!(!is_dsn("/var/lib/falcon/hbs.db"));
        assert!(!is_dsn("hbs.db"));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("10"), None);
    }

    #[test]
    fn fuzz_regression_durations_whose_sum_overflows_are_malformed() {
        // Found by the `hbs_dsn` fuzz target: each term fits a Duration, their sum panicked.
        let huge = "10000000000000000000s10000000000000000000s";
        assert_eq!(parse_go_duration(huge), None);
        assert!(parse(&format!("u@tcp(h)/d?timeout={huge}")).unwrap_err().contains("timeout"));
    }
}
