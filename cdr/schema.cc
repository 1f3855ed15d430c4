#include "cdr/schema.h"

#include <cppconn/connection.h>

#include "db/connection.h"

namespace tandem::cdr {

// Append only: a released migration never changes. schema.sql shows the result.
const db::Schema& schema() {
  static const db::Schema s{
      .what = "the CDR DB",
      .lock = "tandem_cdr_migrate",
      .migrations = {
          {1, "cdr table", {R"sql(
CREATE TABLE cdr (
  id BIGINT UNSIGNED NOT NULL COMMENT 'DC (8 bits) | node (16) | per-node sequence (40)',
  call_id VARCHAR(255) NOT NULL,
  direction ENUM('inbound','outbound') NOT NULL,
  caller VARCHAR(64) NOT NULL,
  called VARCHAR(64) NOT NULL,
  customer VARCHAR(64) NOT NULL,
  target VARCHAR(255) NOT NULL,
  provider VARCHAR(64) NOT NULL,
  cost DECIMAL(18,6) NOT NULL,
  dc VARCHAR(64) NOT NULL,
  server VARCHAR(64) NOT NULL,
  start_time DATETIME(3) NOT NULL COMMENT 'UTC',
  answer_time DATETIME(3) NULL COMMENT 'UTC, NULL if never answered',
  end_time DATETIME(3) NOT NULL COMMENT 'UTC',
  duration_ms BIGINT UNSIGNED NOT NULL,
  billable_s INT UNSIGNED NOT NULL,
  disposition ENUM('answered','busy','no_answer','failed','cancelled','rejected') NOT NULL,
  sip_code SMALLINT UNSIGNED NOT NULL,
  hangup_side ENUM('caller','callee','system') NOT NULL,
  hangup_reason VARCHAR(64) NOT NULL,
  a_packets BIGINT UNSIGNED NOT NULL,
  a_bytes BIGINT UNSIGNED NOT NULL,
  a_lost BIGINT NOT NULL,
  a_jitter_max_us INT UNSIGNED NOT NULL,
  a_jitter_mean_us INT UNSIGNED NOT NULL,
  b_packets BIGINT UNSIGNED NOT NULL,
  b_bytes BIGINT UNSIGNED NOT NULL,
  b_lost BIGINT NOT NULL,
  b_jitter_max_us INT UNSIGNED NOT NULL,
  b_jitter_mean_us INT UNSIGNED NOT NULL,
  PRIMARY KEY (id),
  KEY start_time (start_time),
  KEY customer_start (customer, start_time),
  KEY caller_start (caller, start_time),
  KEY called_start (called, start_time),
  KEY call_id (call_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin)sql"}},
          {2, "the attendant's menu path",
           {"ALTER TABLE cdr ADD COLUMN menu_path VARCHAR(255) NOT NULL DEFAULT '' "
            "COMMENT 'menus and entries: MENU:ENTRY ...' AFTER target"}},
      },
  };
  return s;
}

bool migrate(const DbConfig& config, db::MigrateResult& result, std::string& error) {
  auto c = db::connect(config, false, error);
  return c && db::migrate(*c, config.database, schema(), result, error);
}

}  // namespace tandem::cdr
