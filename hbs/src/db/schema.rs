//! The falcon_portal tables HBS uses, with MySQL's column names and meanings, as SQLite DDL. Each entry of
//! [`MIGRATIONS`] moves the database one `user_version` forward; a database is migrated at open.

/// Migrations in order; `user_version` = the number applied.
pub const MIGRATIONS: &[&str] = &[
    // 1: the tables of `2_portal-db-schema.sql` that HBS reads or writes.
    "CREATE TABLE host (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        hostname TEXT NOT NULL UNIQUE,
        ip TEXT NOT NULL DEFAULT '',
        agent_version TEXT NOT NULL DEFAULT '',
        plugin_version TEXT NOT NULL DEFAULT '',
        maintain_begin INTEGER NOT NULL DEFAULT 0,
        maintain_end INTEGER NOT NULL DEFAULT 0,
        update_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
    );
    CREATE TABLE grp (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        grp_name TEXT NOT NULL UNIQUE,
        create_user TEXT NOT NULL DEFAULT '',
        create_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
        come_from INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE grp_host (
        grp_id INTEGER NOT NULL REFERENCES grp(id) ON DELETE CASCADE,
        host_id INTEGER NOT NULL REFERENCES host(id) ON DELETE CASCADE,
        PRIMARY KEY (grp_id, host_id)
    );
    CREATE INDEX idx_grp_host_host ON grp_host(host_id);
    CREATE TABLE action (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        uic TEXT NOT NULL DEFAULT '',
        url TEXT NOT NULL DEFAULT '',
        callback INTEGER NOT NULL DEFAULT 0,
        before_callback_sms INTEGER NOT NULL DEFAULT 0,
        before_callback_mail INTEGER NOT NULL DEFAULT 0,
        after_callback_sms INTEGER NOT NULL DEFAULT 0,
        after_callback_mail INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE tpl (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tpl_name TEXT NOT NULL UNIQUE,
        parent_id INTEGER NOT NULL DEFAULT 0,
        action_id INTEGER NOT NULL DEFAULT 0,
        create_user TEXT NOT NULL DEFAULT '',
        create_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
    );
    CREATE TABLE grp_tpl (
        grp_id INTEGER NOT NULL REFERENCES grp(id) ON DELETE CASCADE,
        tpl_id INTEGER NOT NULL REFERENCES tpl(id) ON DELETE CASCADE,
        bind_user TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (grp_id, tpl_id)
    );
    CREATE TABLE strategy (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        metric TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '',
        max_step INTEGER NOT NULL DEFAULT 1,
        priority INTEGER NOT NULL DEFAULT 0,
        func TEXT NOT NULL DEFAULT 'all(#1)',
        op TEXT NOT NULL DEFAULT '',
        right_value TEXT NOT NULL DEFAULT '',
        note TEXT NOT NULL DEFAULT '',
        run_begin TEXT NOT NULL DEFAULT '',
        run_end TEXT NOT NULL DEFAULT '',
        tpl_id INTEGER NOT NULL DEFAULT 0 REFERENCES tpl(id) ON DELETE CASCADE
    );
    CREATE INDEX idx_strategy_tpl ON strategy(tpl_id);
    CREATE TABLE expression (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        expression TEXT NOT NULL,
        func TEXT NOT NULL DEFAULT 'all(#1)',
        op TEXT NOT NULL DEFAULT '',
        right_value TEXT NOT NULL DEFAULT '',
        max_step INTEGER NOT NULL DEFAULT 1,
        priority INTEGER NOT NULL DEFAULT 0,
        note TEXT NOT NULL DEFAULT '',
        action_id INTEGER NOT NULL DEFAULT 0,
        create_user TEXT NOT NULL DEFAULT '',
        pause INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE plugin_dir (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        grp_id INTEGER NOT NULL REFERENCES grp(id) ON DELETE CASCADE,
        dir TEXT NOT NULL,
        create_user TEXT NOT NULL DEFAULT '',
        create_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
    );
    CREATE INDEX idx_plugin_dir_grp ON plugin_dir(grp_id);",
];
