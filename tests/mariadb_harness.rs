//! The MariaDB harness itself: a private server starts, takes our portal DDL, authenticates for real, keeps its
//! data over a restart and stops. Needs Debian's mariadb-server (scripts/install-test-deps.sh); without it the
//! test fails saying so rather than skipping, since CI always installs it.

use std::time::Instant;

use falcon_tests::mariadb::{MariaDb, PASSWORD, USER};

/// Every column of the portal tables as `table.column type`, in the server's own spelling of the types that
/// falcon-plus v0.3's schema gives them.
const EXPECTED_COLUMNS: &str = "\
action.id int(10) unsigned
action.uic varchar(255)
action.url varchar(255)
action.callback tinyint(4)
action.before_callback_sms tinyint(4)
action.before_callback_mail tinyint(4)
action.after_callback_sms tinyint(4)
action.after_callback_mail tinyint(4)
expression.id int(10) unsigned
expression.expression varchar(1024)
expression.func varchar(16)
expression.op varchar(8)
expression.right_value varchar(16)
expression.max_step int(11)
expression.priority tinyint(4)
expression.note varchar(1024)
expression.action_id int(10) unsigned
expression.create_user varchar(64)
expression.pause tinyint(1)
grp.id int(10) unsigned
grp.grp_name varchar(255)
grp.create_user varchar(64)
grp.create_at timestamp
grp.come_from tinyint(4)
grp_host.grp_id int(10) unsigned
grp_host.host_id int(10) unsigned
grp_tpl.grp_id int(10) unsigned
grp_tpl.tpl_id int(10) unsigned
grp_tpl.bind_user varchar(64)
host.id int(10) unsigned
host.hostname varchar(255)
host.ip varchar(16)
host.agent_version varchar(16)
host.plugin_version varchar(128)
host.maintain_begin int(10) unsigned
host.maintain_end int(10) unsigned
host.update_at timestamp
plugin_dir.id int(10) unsigned
plugin_dir.grp_id int(10) unsigned
plugin_dir.dir varchar(255)
plugin_dir.create_user varchar(64)
plugin_dir.create_at timestamp
strategy.id int(10) unsigned
strategy.metric varchar(128)
strategy.tags varchar(256)
strategy.max_step int(11)
strategy.priority tinyint(4)
strategy.func varchar(16)
strategy.op varchar(8)
strategy.right_value varchar(64)
strategy.note varchar(128)
strategy.run_begin varchar(16)
strategy.run_end varchar(16)
strategy.tpl_id int(10) unsigned
tpl.id int(10) unsigned
tpl.tpl_name varchar(255)
tpl.parent_id int(10) unsigned
tpl.action_id int(10) unsigned
tpl.create_user varchar(64)
tpl.create_at timestamp
";

#[test]
fn mariadb_serves_the_portal_schema_and_survives_a_restart() {
    let t0 = Instant::now();
    let mut db = MariaDb::start().unwrap_or_else(|e| panic!("{e}"));
    eprintln!("mariadb: started on port {} in {:?}", db.port(), t0.elapsed());
    let port = db.port();
    assert_eq!(
        db.dsn(USER, PASSWORD, "falcon_portal"),
        format!("falcon:falcon@tcp(127.0.0.1:{port})/falcon_portal?loc=Local&parseTime=true")
    );

    db.create_portal("falcon_portal").unwrap();
    let columns: Vec<String> = db
        .query_rows(
            "SELECT CONCAT(table_name, '.', column_name, ' ', column_type) FROM information_schema.columns \
             WHERE table_schema = 'falcon_portal' ORDER BY table_name, ordinal_position",
        )
        .unwrap()
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    assert_eq!(columns, EXPECTED_COLUMNS.lines().collect::<Vec<_>>());
    let unique = db
        .query_rows(
            "SELECT CONCAT(table_name, '.', column_name) FROM information_schema.statistics \
             WHERE table_schema = 'falcon_portal' AND non_unique = 0 AND index_name <> 'PRIMARY' ORDER BY 1",
        )
        .unwrap();
    assert_eq!(unique, [["grp.grp_name"], ["host.hostname"], ["tpl.tpl_name"]].map(|r| r.map(|c| Some(c.to_string()))));

    db.exec(
        "INSERT INTO falcon_portal.host (hostname, ip, agent_version, plugin_version) \
         VALUES ('web-01', '10.0.0.1', '5.1.2', 'abc'); \
         INSERT INTO falcon_portal.grp (grp_name) VALUES ('web'); \
         INSERT INTO falcon_portal.grp_host (grp_id, host_id) VALUES (1, 1)",
    )
    .unwrap();
    let read = |db: &MariaDb| {
        db.query_rows("SELECT id, hostname, ip, agent_version, plugin_version, maintain_end FROM falcon_portal.host")
            .unwrap()
    };
    let expected_row = vec![vec!["1", "web-01", "10.0.0.1", "5.1.2", "abc", "0"]
        .into_iter()
        .map(|s| Some(s.to_string()))
        .collect::<Vec<_>>()];
    assert_eq!(read(&db), expected_row);
    assert_eq!(db.query_one_i64("SELECT COUNT(*) FROM falcon_portal.grp_host").unwrap(), 1);
    // The unique key HBS's upsert relies on, case-insensitive like the original collation.
    let dup = db.exec("INSERT INTO falcon_portal.host (hostname) VALUES ('WEB-01')").unwrap_err();
    assert!(dup.contains("Duplicate entry"), "{dup}");

    // Real authentication over TCP for the HBS account.
    db.login(USER, PASSWORD, "falcon_portal").unwrap();
    let denied = db.login(USER, "wrong", "falcon_portal").unwrap_err();
    assert!(denied.contains("Access denied for user 'falcon'@'127.0.0.1' (using password: YES)"), "{denied}");
    let root_tcp = db.login("root", "", "").unwrap_err();
    assert!(root_tcp.contains("Access denied for user 'root'@'127.0.0.1'"), "{root_tcp}");
    let other_db = db.login(USER, PASSWORD, "mysql").unwrap_err();
    assert!(other_db.contains("Access denied for user 'falcon'@'127.0.0.1' to database 'mysql'"), "{other_db}");

    // An outage: down, refused, back on the same port with the same data.
    db.stop();
    assert!(db.login(USER, PASSWORD, "falcon_portal").is_err());
    let t1 = Instant::now();
    db.restart().unwrap();
    eprintln!("mariadb: restarted in {:?}", t1.elapsed());
    assert_eq!(db.port(), port);
    assert_eq!(read(&db), expected_row);
    db.login(USER, PASSWORD, "falcon_portal").unwrap();

    let dir_socket = db.socket();
    db.stop();
    assert!(db.login(USER, PASSWORD, "falcon_portal").is_err());
    drop(db);
    assert!(!dir_socket.parent().unwrap().exists(), "temp dir left behind");
}
