#include "tools/tandemctl/db_status.h"

#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "db/replication_status.h"

namespace tandem::ctl {

nlohmann::json server_json(const db::ServerStatus& s) {
  nlohmann::json j = {{"address", s.address}, {"reachable", s.reachable}};
  if (!s.reachable) {
    j["error"] = s.error;
    return j;
  }
  j.update({{"role", s.read_only ? "replica" : "writer"}, {"server_id", s.server_id},
            {"gtid_domain_id", s.gtid_domain_id}, {"gtid_binlog_pos", s.gtid_binlog_pos},
            {"semi_sync_master", s.semi_sync_master}, {"replicates_from", nlohmann::json::array()}});
  for (const db::ReplicationLink& l : s.links)
    j["replicates_from"].push_back({{"connection", l.name}, {"master", l.master}, {"io_running", l.io_running},
                                    {"sql_running", l.sql_running},
                                    {"lag_s", l.lag_s ? nlohmann::json(*l.lag_s) : nlohmann::json()},
                                    {"received", l.received}, {"last_error", l.last_error}});
  return j;
}

void print_server(const db::ServerStatus& s, const std::string& indent) {
  if (!s.reachable) {
    std::cout << indent << s.address << "  unreachable: " << s.error << "\n";
    return;
  }
  std::cout << indent << s.address << "  " << (s.read_only ? "replica" : "writer") << "  server " << s.server_id
            << "  domain " << s.gtid_domain_id << "  binlog " << (s.gtid_binlog_pos.empty() ? "-" : s.gtid_binlog_pos)
            << (s.semi_sync_master ? "  semi-sync on" : "") << "\n";
  for (const db::ReplicationLink& l : s.links) {
    std::cout << indent << "    from " << l.master << (l.name.empty() ? "" : " ('" + l.name + "')")
              << "  io " << (l.io_running ? "yes" : "NO") << "  sql " << (l.sql_running ? "yes" : "NO")
              << "  lag " << (l.lag_s ? std::to_string(*l.lag_s) + " s" : "-") << "  received "
              << (l.received.empty() ? "-" : l.received) << "\n";
    if (!l.last_error.empty()) std::cout << indent << "    last error: " << l.last_error << "\n";
  }
}

void add_db_status_command(CLI::App* db, GlobalOptions& g, int& exit_code) {
  static std::vector<std::string> hosts;
  static std::string user = "tandem";
  auto* cmd = db->add_subcommand(
      "status", "each DB host's role (writer or read-only replica), binlog position, semi-sync, and the "
                "replication it runs with lag and last error (the user needs REPLICATION CLIENT or SLAVE "
                "MONITOR; password from $TANDEM_DB_PASSWORD)");
  cmd->add_option("--host", hosts, "a DB host: HOST[:PORT] or unix:/PATH (repeatable: every host of the DCs)")
      ->required();
  cmd->add_option("--user", user, "DB user")->capture_default_str();
  cmd->callback([&g, &exit_code] {
    const char* pw = std::getenv("TANDEM_DB_PASSWORD");
    std::vector<db::ServerStatus> all;
    for (const std::string& h : hosts) all.push_back(db::read_server_status(h, user, pw ? pw : ""));
    bool writer_seen = false;
    for (const auto& s : all) {
      if (!s.reachable) exit_code = kRefused;  // a host down is news for a script
      writer_seen = writer_seen || (s.reachable && !s.read_only);
    }
    if (g.json) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& s : all) j.push_back(server_json(s));
      std::cout << j.dump(2) << "\n";
    } else {
      for (const auto& s : all) print_server(s, "");
      if (!writer_seen) std::cout << "no writer among these hosts\n";
    }
  });
}

}  // namespace tandem::ctl
