#include "rules/schema.h"

namespace tandem::rules {

namespace {

constexpr const char* kActionEnum = "ENUM('voicemail','forward','ring','menu','reject')";
constexpr const char* kTableOptions = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

// The tables whose changes bump config_version.
constexpr const char* kVersionedTables[] = {"customers", "numbers",  "rules",     "rule_dates",
                                            "menus",     "menu_options", "providers", "rates"};

std::string table(const std::string& name, const std::string& body) {
  return "CREATE TABLE " + name + " (\n" + body + "\n) " + kTableOptions;
}

std::vector<std::string> migration_1() {
  const std::string action = kActionEnum;
  std::vector<std::string> s = {
      table("customers", R"sql(  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  name VARCHAR(128) NOT NULL,
  time_zone VARCHAR(64) NOT NULL COMMENT 'IANA name: Europe/Berlin',
  vm_sip VARCHAR(255) NOT NULL COMMENT 'the PBX VM: sip:pbx@vm1.example.net',
  default_action )sql" + action + R"sql( NOT NULL DEFAULT 'voicemail' COMMENT 'when no rule matches',
  default_target VARCHAR(1024) NOT NULL DEFAULT '' COMMENT 'see rules.target',
  PRIMARY KEY (id),
  UNIQUE KEY name (name))sql"),
      table("numbers", R"sql(  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  e164 VARCHAR(16) NOT NULL COMMENT '+4930123456',
  customer_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY e164 (e164),
  CONSTRAINT numbers_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE)sql"),
      table("menus", R"sql(  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  customer_id BIGINT UNSIGNED NOT NULL,
  name VARCHAR(128) NOT NULL,
  prompt VARCHAR(255) NOT NULL COMMENT 'announcement file or URI',
  timeout_s SMALLINT UNSIGNED NOT NULL DEFAULT 10,
  timeout_action )sql" + action + R"sql( NOT NULL DEFAULT 'voicemail',
  timeout_target VARCHAR(1024) NOT NULL DEFAULT '',
  invalid_action )sql" + action + R"sql( NOT NULL DEFAULT 'voicemail',
  invalid_target VARCHAR(1024) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  CONSTRAINT menus_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE)sql"),
      table("menu_options", R"sql(  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  menu_id BIGINT UNSIGNED NOT NULL,
  digit CHAR(1) NOT NULL COMMENT '0-9, *, #',
  action )sql" + action + R"sql( NOT NULL,
  target VARCHAR(1024) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  UNIQUE KEY menu_digit (menu_id, digit),
  CONSTRAINT menu_options_menu FOREIGN KEY (menu_id) REFERENCES menus (id) ON DELETE CASCADE)sql"),
      table("rules", R"sql(  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  number_id BIGINT UNSIGNED NOT NULL,
  priority INT NOT NULL DEFAULT 100 COMMENT 'lower first; equal: lower id first',
  caller_match ENUM('any','exact','prefix','anonymous') NOT NULL DEFAULT 'any',
  caller_pattern VARCHAR(32) NOT NULL DEFAULT '' COMMENT 'exact: number; prefix: leading digits',
  days SET('mon','tue','wed','thu','fri','sat','sun') NOT NULL DEFAULT 'mon,tue,wed,thu,fri,sat,sun',
  time_from TIME NULL COMMENT 'customer local time; NULL with time_to: all day',
  time_to TIME NULL COMMENT 'exclusive, up to 24:00:00; before time_from: wraps midnight',
  action )sql" + action + R"sql( NOT NULL,
  target VARCHAR(1024) NOT NULL DEFAULT '' COMMENT 'forward: number; ring: T/SECS,...; menu: id; reject: SIP code',
  description VARCHAR(255) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  KEY number_priority (number_id, priority),
  CONSTRAINT rules_number FOREIGN KEY (number_id) REFERENCES numbers (id) ON DELETE CASCADE,
  CONSTRAINT rules_window CHECK ((time_from IS NULL) = (time_to IS NULL)))sql"),
      table("rule_dates", R"sql(  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  rule_id BIGINT UNSIGNED NOT NULL,
  date_from DATE NOT NULL COMMENT 'customer local date, inclusive',
  date_to DATE NOT NULL COMMENT 'inclusive',
  PRIMARY KEY (id),
  CONSTRAINT rule_dates_rule FOREIGN KEY (rule_id) REFERENCES rules (id) ON DELETE CASCADE)sql"),
      table("providers", R"sql(  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  name VARCHAR(64) NOT NULL,
  sip_address VARCHAR(255) NOT NULL,
  max_calls INT UNSIGNED NOT NULL DEFAULT 0 COMMENT '0: no limit',
  enabled BOOLEAN NOT NULL DEFAULT TRUE,
  preference INT NOT NULL DEFAULT 0 COMMENT 'lower first among equal costs',
  PRIMARY KEY (id),
  UNIQUE KEY name (name))sql"),
      table("rates", R"sql(  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  provider_id BIGINT UNSIGNED NOT NULL,
  prefix VARCHAR(15) NOT NULL COMMENT 'digits without +',
  cost_per_min DECIMAL(12,6) NOT NULL,
  billing_increment_s INT UNSIGNED NOT NULL DEFAULT 60,
  valid_from DATETIME NULL COMMENT 'UTC, inclusive; NULL: always',
  valid_to DATETIME NULL COMMENT 'UTC, exclusive; NULL: forever',
  PRIMARY KEY (id),
  KEY prefix (prefix),
  CONSTRAINT rates_provider FOREIGN KEY (provider_id) REFERENCES providers (id) ON DELETE CASCADE)sql"),
      table("config_version", R"sql(  server_id INT UNSIGNED NOT NULL COMMENT '@@server_id of the server where the change was made',
  version BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (server_id))sql"),
  };
  for (const char* t : kVersionedTables) {
    for (auto [ev, EV] : {std::pair{"insert", "INSERT"}, {"update", "UPDATE"}, {"delete", "DELETE"}}) {
      s.push_back(std::string("CREATE TRIGGER ") + t + "_" + ev + " AFTER " + EV + " ON " + t +
                  " FOR EACH ROW\n  INSERT INTO config_version (server_id, version) VALUES "
                  "(@@server_id, 1)\n  ON DUPLICATE KEY UPDATE version = version + 1");
    }
  }
  return s;
}

// The portal's accounts (portal/accounts.h). Only tandemctl writes them; the
// portal reads them with a user that may do nothing else. A customer is named,
// not referenced: importing the rules replaces customers, never accounts.
std::vector<std::string> migration_2() {
  return {table("portal_users", R"sql(  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  login VARCHAR(64) NOT NULL,
  customer VARCHAR(128) NULL COMMENT 'the customer (CDR customer name) whose calls it sees; NULL: an operator',
  password_hash VARCHAR(255) NOT NULL COMMENT 'Argon2id, libsodium crypto_pwhash_str',
  disabled BOOLEAN NOT NULL DEFAULT FALSE,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP COMMENT 'UTC',
  password_changed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'UTC; ends older sessions',
  PRIMARY KEY (id),
  UNIQUE KEY login (login))sql")};
}

// Issue 15's menus: prompts as WAV paths, multi-digit entries, inter-digit
// timeout, retries, and the menus' own actions. Every action column takes the
// new kinds, so that one in the wrong place is refused by the validation,
// which says why, not by the column; appending to an ENUM changes no row
// (MariaDB does it in place, even on the rules table).
std::vector<std::string> migration_3() {
  const std::string action =
      "ENUM('voicemail','forward','ring','menu','reject','extension','repeat','hangup')";
  return {
      "ALTER TABLE menus\n"
      "  MODIFY prompt VARCHAR(255) NOT NULL COMMENT 'absolute path of a WAV file on every call server: 8 kHz mono, "
      "16-bit PCM or G.711',\n"
      "  MODIFY timeout_s SMALLINT UNSIGNED NOT NULL DEFAULT 10 COMMENT 'for the first digit, from the end of the "
      "prompt',\n"
      "  MODIFY timeout_action " + action + " NOT NULL DEFAULT 'voicemail',\n"
      "  MODIFY invalid_action " + action + " NOT NULL DEFAULT 'voicemail',\n"
      "  ADD COLUMN inter_digit_timeout_s SMALLINT UNSIGNED NOT NULL DEFAULT 3 COMMENT 'between the digits of an "
      "entry',\n"
      "  ADD COLUMN retries TINYINT UNSIGNED NOT NULL DEFAULT 2 COMMENT 'the prompt again after a timeout or an "
      "invalid entry, then the timeout or invalid action'",
      "ALTER TABLE menu_options\n"
      "  CHANGE digit digits VARCHAR(16) NOT NULL COMMENT '# alone, or 1-16 of 0-9 and *; # ends a longer entry',\n"
      "  MODIFY action " + action + " NOT NULL",
      "ALTER TABLE customers\n"
      "  MODIFY default_action " + action + " NOT NULL DEFAULT 'voicemail' COMMENT 'when no rule matches'",
      "ALTER TABLE rules\n  MODIFY action " + action + " NOT NULL",
  };
}

}  // namespace

// Append only: a released migration never changes.
const db::Schema& schema() {
  static const db::Schema s{
      .what = "the Rules DB",
      .lock = "tandem_rules_migrate",
      .migrations = {{1, "customers, numbers, rules, menus, providers, rates, config_version", migration_1()},
                     {2, "portal_users", migration_2()},
                     {3, "attendant menus: WAV prompts, multi-digit entries, inter-digit timeout, retries, menu actions",
                      migration_3()}},
  };
  return s;
}

}  // namespace tandem::rules
