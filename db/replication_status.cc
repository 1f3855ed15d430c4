#include "db/replication_status.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/resultset.h>

namespace tandem::db {

ServerStatus read_server_status(const std::string& address, const std::string& user, const std::string& password) {
  ServerStatus s;
  s.address = address;
  Config config;
  config.addresses = {address};
  config.user = user;
  config.password = password;
  config.connect_timeout_s = 1;
  config.io_timeout_s = 2;
  auto c = connect(config, false, s.error);
  if (!c) return s;
  try {
    auto rs = query(*c, "SELECT @@server_id, @@gtid_domain_id, @@read_only, @@gtid_binlog_pos");
    if (rs->next()) {
      s.server_id = rs->getUInt64(1);
      s.gtid_domain_id = rs->getUInt64(2);
      s.read_only = rs->getInt(3) != 0;
      s.gtid_binlog_pos = rs->getString(4);
    }
    rs = query(*c, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_status'");
    s.semi_sync_master = rs->next() && std::string(rs->getString(2)) == "ON";
    rs = query(*c, "SHOW ALL SLAVES STATUS");
    while (rs->next()) {
      ReplicationLink l;
      l.name = rs->getString("Connection_name");
      l.master = std::string(rs->getString("Master_Host")) + ":" + std::string(rs->getString("Master_Port"));
      l.io_running = std::string(rs->getString("Slave_IO_Running")) == "Yes";
      l.sql_running = std::string(rs->getString("Slave_SQL_Running")) == "Yes";
      if (!rs->isNull("Seconds_Behind_Master")) l.lag_s = rs->getInt64("Seconds_Behind_Master");
      l.received = rs->getString("Gtid_IO_Pos");
      l.last_error = rs->getString("Last_IO_Error");
      if (l.last_error.empty()) l.last_error = rs->getString("Last_SQL_Error");
      s.links.push_back(std::move(l));
    }
    s.reachable = true;
  } catch (const sql::SQLException& e) {
    s.error = error_text(e);
  }
  return s;
}

}  // namespace tandem::db
