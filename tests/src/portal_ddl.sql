-- falcon-rs's DDL for the falcon_portal tables that HBS reads or writes, for MariaDB/MySQL. Table names, column
-- names and column types follow falcon-plus v0.3's portal schema, so that HBS sees the same shapes as on an
-- existing portal database; the keys are the ones that schema has (unique where it is unique, plain indexes
-- elsewhere: a real portal database may hold duplicate grp_host/grp_tpl rows, and tests must be able to make some).
-- utf8mb4 with a *_unicode_ci collation: comparisons stay case-insensitive and ignore trailing spaces like the
-- original's utf8_unicode_ci, so hostname/grp_name/tpl_name uniqueness behaves the same; utf8mb4 only widens what
-- can be stored. Runs inside the target database (the harness issues USE first); no DROP, so it only runs on an
-- empty database.

-- Monitored machines. The agent's heartbeat creates or updates a row by hostname.
CREATE TABLE host (
  id             INT UNSIGNED NOT NULL AUTO_INCREMENT,
  hostname       VARCHAR(255) NOT NULL DEFAULT '',
  ip             VARCHAR(16)  NOT NULL DEFAULT '',
  agent_version  VARCHAR(16)  NOT NULL DEFAULT '',
  plugin_version VARCHAR(128) NOT NULL DEFAULT '',
  maintain_begin INT UNSIGNED NOT NULL DEFAULT 0,
  maintain_end   INT UNSIGNED NOT NULL DEFAULT 0,
  update_at      TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY idx_host_hostname (hostname)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Host groups; come_from tells where a group was made (0 synced, 1 created in the portal).
CREATE TABLE grp (
  id          INT UNSIGNED NOT NULL AUTO_INCREMENT,
  grp_name    VARCHAR(255) NOT NULL DEFAULT '',
  create_user VARCHAR(64)  NOT NULL DEFAULT '',
  create_at   TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
  come_from   TINYINT      NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  UNIQUE KEY idx_host_grp_grp_name (grp_name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Group membership (no primary key in the original either).
CREATE TABLE grp_host (
  grp_id  INT UNSIGNED NOT NULL,
  host_id INT UNSIGNED NOT NULL,
  KEY idx_grp_host_grp_id (grp_id),
  KEY idx_grp_host_host_id (host_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Strategy templates; a template inherits its parent's strategies.
CREATE TABLE tpl (
  id          INT UNSIGNED NOT NULL AUTO_INCREMENT,
  tpl_name    VARCHAR(255) NOT NULL DEFAULT '',
  parent_id   INT UNSIGNED NOT NULL DEFAULT 0,
  action_id   INT UNSIGNED NOT NULL DEFAULT 0,
  create_user VARCHAR(64)  NOT NULL DEFAULT '',
  create_at   TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY idx_tpl_name (tpl_name),
  KEY idx_tpl_create_user (create_user)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Templates bound to groups.
CREATE TABLE grp_tpl (
  grp_id    INT UNSIGNED NOT NULL,
  tpl_id    INT UNSIGNED NOT NULL,
  bind_user VARCHAR(64)  NOT NULL DEFAULT '',
  KEY idx_grp_tpl_grp_id (grp_id),
  KEY idx_grp_tpl_tpl_id (tpl_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Alarm rules of a template. right_value has no default in the original: an insert must name it.
CREATE TABLE strategy (
  id          INT UNSIGNED NOT NULL AUTO_INCREMENT,
  metric      VARCHAR(128) NOT NULL DEFAULT '',
  tags        VARCHAR(256) NOT NULL DEFAULT '',
  max_step    INT          NOT NULL DEFAULT 1,
  priority    TINYINT      NOT NULL DEFAULT 0,
  func        VARCHAR(16)  NOT NULL DEFAULT 'all(#1)',
  op          VARCHAR(8)   NOT NULL DEFAULT '',
  right_value VARCHAR(64)  NOT NULL,
  note        VARCHAR(128) NOT NULL DEFAULT '',
  run_begin   VARCHAR(16)  NOT NULL DEFAULT '',
  run_end     VARCHAR(16)  NOT NULL DEFAULT '',
  tpl_id      INT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  KEY idx_strategy_tpl_id (tpl_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Alarm rules over tag expressions. TINYINT(1) for pause as in the original: some clients read that as a bool.
CREATE TABLE expression (
  id          INT UNSIGNED  NOT NULL AUTO_INCREMENT,
  expression  VARCHAR(1024) NOT NULL,
  func        VARCHAR(16)   NOT NULL DEFAULT 'all(#1)',
  op          VARCHAR(8)    NOT NULL DEFAULT '',
  right_value VARCHAR(16)   NOT NULL DEFAULT '',
  max_step    INT           NOT NULL DEFAULT 1,
  priority    TINYINT       NOT NULL DEFAULT 0,
  note        VARCHAR(1024) NOT NULL DEFAULT '',
  action_id   INT UNSIGNED  NOT NULL DEFAULT 0,
  create_user VARCHAR(64)   NOT NULL DEFAULT '',
  pause       TINYINT(1)    NOT NULL DEFAULT 0,
  PRIMARY KEY (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Plugin directories a group's agents run.
CREATE TABLE plugin_dir (
  id          INT UNSIGNED NOT NULL AUTO_INCREMENT,
  grp_id      INT UNSIGNED NOT NULL,
  dir         VARCHAR(255) NOT NULL,
  create_user VARCHAR(64)  NOT NULL DEFAULT '',
  create_at   TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  KEY idx_plugin_dir_grp_id (grp_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- What to do when an alarm fires: notified teams, callback URL and its flags.
CREATE TABLE action (
  id                   INT UNSIGNED NOT NULL AUTO_INCREMENT,
  uic                  VARCHAR(255) NOT NULL DEFAULT '',
  url                  VARCHAR(255) NOT NULL DEFAULT '',
  callback             TINYINT      NOT NULL DEFAULT 0,
  before_callback_sms  TINYINT      NOT NULL DEFAULT 0,
  before_callback_mail TINYINT      NOT NULL DEFAULT 0,
  after_callback_sms   TINYINT      NOT NULL DEFAULT 0,
  after_callback_mail  TINYINT      NOT NULL DEFAULT 0,
  PRIMARY KEY (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
