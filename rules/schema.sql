-- The Rules DB schema, as the migrations in rules/schema.cc produce it (the code is the
-- source; tests/unit/rules/model_test.cc checks that this file matches it).
-- Apply with `tandemctl db migrate` or Store::migrate, not by hand.
--
-- Ids: AUTO_INCREMENT, with auto_increment_increment = 2 and auto_increment_offset =
-- 1 or 2 set per DC in the server configuration, so both DCs insert without
-- collisions. config_version: one counter per server, bumped by the triggers.

CREATE TABLE IF NOT EXISTS schema_version (
  version INT UNSIGNED NOT NULL,
  description VARCHAR(255) NOT NULL,
  applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- migration 1: customers, numbers, rules, menus, providers, rates, config_version

CREATE TABLE customers (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  name VARCHAR(128) NOT NULL,
  time_zone VARCHAR(64) NOT NULL COMMENT 'IANA name: Europe/Berlin',
  vm_sip VARCHAR(255) NOT NULL COMMENT 'the PBX VM: sip:pbx@vm1.example.net',
  default_action ENUM('voicemail','forward','ring','menu','reject') NOT NULL DEFAULT 'voicemail' COMMENT 'when no rule matches',
  default_target VARCHAR(1024) NOT NULL DEFAULT '' COMMENT 'see rules.target',
  PRIMARY KEY (id),
  UNIQUE KEY name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE numbers (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  e164 VARCHAR(16) NOT NULL COMMENT '+4930123456',
  customer_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY e164 (e164),
  CONSTRAINT numbers_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE menus (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  customer_id BIGINT UNSIGNED NOT NULL,
  name VARCHAR(128) NOT NULL,
  prompt VARCHAR(255) NOT NULL COMMENT 'announcement file or URI',
  timeout_s SMALLINT UNSIGNED NOT NULL DEFAULT 10,
  timeout_action ENUM('voicemail','forward','ring','menu','reject') NOT NULL DEFAULT 'voicemail',
  timeout_target VARCHAR(1024) NOT NULL DEFAULT '',
  invalid_action ENUM('voicemail','forward','ring','menu','reject') NOT NULL DEFAULT 'voicemail',
  invalid_target VARCHAR(1024) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  CONSTRAINT menus_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE menu_options (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  menu_id BIGINT UNSIGNED NOT NULL,
  digit CHAR(1) NOT NULL COMMENT '0-9, *, #',
  action ENUM('voicemail','forward','ring','menu','reject') NOT NULL,
  target VARCHAR(1024) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  UNIQUE KEY menu_digit (menu_id, digit),
  CONSTRAINT menu_options_menu FOREIGN KEY (menu_id) REFERENCES menus (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE rules (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  number_id BIGINT UNSIGNED NOT NULL,
  priority INT NOT NULL DEFAULT 100 COMMENT 'lower first; equal: lower id first',
  caller_match ENUM('any','exact','prefix','anonymous') NOT NULL DEFAULT 'any',
  caller_pattern VARCHAR(32) NOT NULL DEFAULT '' COMMENT 'exact: number; prefix: leading digits',
  days SET('mon','tue','wed','thu','fri','sat','sun') NOT NULL DEFAULT 'mon,tue,wed,thu,fri,sat,sun',
  time_from TIME NULL COMMENT 'customer local time; NULL with time_to: all day',
  time_to TIME NULL COMMENT 'exclusive, up to 24:00:00; before time_from: wraps midnight',
  action ENUM('voicemail','forward','ring','menu','reject') NOT NULL,
  target VARCHAR(1024) NOT NULL DEFAULT '' COMMENT 'forward: number; ring: T/SECS,...; menu: id; reject: SIP code',
  description VARCHAR(255) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  KEY number_priority (number_id, priority),
  CONSTRAINT rules_number FOREIGN KEY (number_id) REFERENCES numbers (id) ON DELETE CASCADE,
  CONSTRAINT rules_window CHECK ((time_from IS NULL) = (time_to IS NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE rule_dates (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  rule_id BIGINT UNSIGNED NOT NULL,
  date_from DATE NOT NULL COMMENT 'customer local date, inclusive',
  date_to DATE NOT NULL COMMENT 'inclusive',
  PRIMARY KEY (id),
  CONSTRAINT rule_dates_rule FOREIGN KEY (rule_id) REFERENCES rules (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE providers (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  name VARCHAR(64) NOT NULL,
  sip_address VARCHAR(255) NOT NULL,
  max_calls INT UNSIGNED NOT NULL DEFAULT 0 COMMENT '0: no limit',
  enabled BOOLEAN NOT NULL DEFAULT TRUE,
  preference INT NOT NULL DEFAULT 0 COMMENT 'lower first among equal costs',
  PRIMARY KEY (id),
  UNIQUE KEY name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE rates (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  provider_id BIGINT UNSIGNED NOT NULL,
  prefix VARCHAR(15) NOT NULL COMMENT 'digits without +',
  cost_per_min DECIMAL(12,6) NOT NULL,
  billing_increment_s INT UNSIGNED NOT NULL DEFAULT 60,
  valid_from DATETIME NULL COMMENT 'UTC, inclusive; NULL: always',
  valid_to DATETIME NULL COMMENT 'UTC, exclusive; NULL: forever',
  PRIMARY KEY (id),
  KEY prefix (prefix),
  CONSTRAINT rates_provider FOREIGN KEY (provider_id) REFERENCES providers (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE config_version (
  server_id INT UNSIGNED NOT NULL COMMENT '@@server_id of the server where the change was made',
  version BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (server_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TRIGGER customers_insert AFTER INSERT ON customers FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER customers_update AFTER UPDATE ON customers FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER customers_delete AFTER DELETE ON customers FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER numbers_insert AFTER INSERT ON numbers FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER numbers_update AFTER UPDATE ON numbers FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER numbers_delete AFTER DELETE ON numbers FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER rules_insert AFTER INSERT ON rules FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER rules_update AFTER UPDATE ON rules FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER rules_delete AFTER DELETE ON rules FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER rule_dates_insert AFTER INSERT ON rule_dates FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER rule_dates_update AFTER UPDATE ON rule_dates FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER rule_dates_delete AFTER DELETE ON rule_dates FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER menus_insert AFTER INSERT ON menus FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER menus_update AFTER UPDATE ON menus FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER menus_delete AFTER DELETE ON menus FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER menu_options_insert AFTER INSERT ON menu_options FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER menu_options_update AFTER UPDATE ON menu_options FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER menu_options_delete AFTER DELETE ON menu_options FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER providers_insert AFTER INSERT ON providers FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER providers_update AFTER UPDATE ON providers FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER providers_delete AFTER DELETE ON providers FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER rates_insert AFTER INSERT ON rates FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER rates_update AFTER UPDATE ON rates FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER rates_delete AFTER DELETE ON rates FOR EACH ROW
  INSERT INTO config_version (server_id, version) VALUES (@@server_id, 1)
  ON DUPLICATE KEY UPDATE version = version + 1;

-- migration 2: portal_users

CREATE TABLE portal_users (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  login VARCHAR(64) NOT NULL,
  customer VARCHAR(128) NULL COMMENT 'the customer (CDR customer name) whose calls it sees; NULL: an operator',
  password_hash VARCHAR(255) NOT NULL COMMENT 'Argon2id, libsodium crypto_pwhash_str',
  disabled BOOLEAN NOT NULL DEFAULT FALSE,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP COMMENT 'UTC',
  password_changed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'UTC; ends older sessions',
  PRIMARY KEY (id),
  UNIQUE KEY login (login)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- migration 3: attendant menus: WAV prompts, multi-digit entries, inter-digit timeout, retries, menu actions

ALTER TABLE menus
  MODIFY prompt VARCHAR(255) NOT NULL COMMENT 'absolute path of a WAV file on every call server: 8 kHz mono, 16-bit PCM or G.711',
  MODIFY timeout_s SMALLINT UNSIGNED NOT NULL DEFAULT 10 COMMENT 'for the first digit, from the end of the prompt',
  MODIFY timeout_action ENUM('voicemail','forward','ring','menu','reject','extension','repeat','hangup') NOT NULL DEFAULT 'voicemail',
  MODIFY invalid_action ENUM('voicemail','forward','ring','menu','reject','extension','repeat','hangup') NOT NULL DEFAULT 'voicemail',
  ADD COLUMN inter_digit_timeout_s SMALLINT UNSIGNED NOT NULL DEFAULT 3 COMMENT 'between the digits of an entry',
  ADD COLUMN retries TINYINT UNSIGNED NOT NULL DEFAULT 2 COMMENT 'the prompt again after a timeout or an invalid entry, then the timeout or invalid action';

ALTER TABLE menu_options
  CHANGE digit digits VARCHAR(16) NOT NULL COMMENT '# alone, or 1-16 of 0-9 and *; # ends a longer entry',
  MODIFY action ENUM('voicemail','forward','ring','menu','reject','extension','repeat','hangup') NOT NULL;

ALTER TABLE customers
  MODIFY default_action ENUM('voicemail','forward','ring','menu','reject','extension','repeat','hangup') NOT NULL DEFAULT 'voicemail' COMMENT 'when no rule matches';

ALTER TABLE rules
  MODIFY action ENUM('voicemail','forward','ring','menu','reject','extension','repeat','hangup') NOT NULL;
