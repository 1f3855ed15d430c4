// What one MariaDB server says of its place in replication: writer or
// read-only replica, its binlog position, semi-sync, and every replication
// connection it runs (the default one from its DC peer, a named one from the
// other DC), with their lag and last error. tandemctl db status shows it; a
// data center's roles (docs/DB_FAILOVER.md) read off it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/connection.h"

namespace tandem::db {

struct ReplicationLink {
  std::string name;              // the connection's name; empty for the default one
  std::string master;            // HOST:PORT it replicates from
  bool io_running = false;       // receiving
  bool sql_running = false;      // applying
  std::optional<int64_t> lag_s;  // Seconds_Behind_Master; none while not running
  std::string received;          // Gtid_IO_Pos
  std::string last_error;        // the IO thread's, else the SQL thread's; empty when none
};

struct ServerStatus {
  std::string address;
  bool reachable = false;
  std::string error;             // why not, when unreachable
  uint64_t server_id = 0;
  uint64_t gtid_domain_id = 0;
  bool read_only = true;
  bool semi_sync_master = false; // waits for a replica's acknowledgement (Rpl_semi_sync_master_status)
  std::string gtid_binlog_pos;
  std::vector<ReplicationLink> links;
};

// One server at `address` (an address as Config takes it), as `user`.
ServerStatus read_server_status(const std::string& address, const std::string& user, const std::string& password);

}  // namespace tandem::db
