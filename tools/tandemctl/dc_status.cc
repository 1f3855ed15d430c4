#include "tools/tandemctl/dc_status.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "db/replication_status.h"
#include "metrics/scrape.h"
#include "tools/tandemctl/db_status.h"

namespace tandem::ctl {

namespace {

// A call server as its SBC sees it: the per-server series of tandem_sbc_server_*.
nlohmann::json servers_of(const std::vector<metrics::Sample>& samples) {
  std::map<std::string, nlohmann::json> by_name;
  static const std::map<std::string, std::string> kFields = {
      {"tandem_sbc_server_load", "load"}, {"tandem_sbc_server_capacity", "capacity"},
      {"tandem_sbc_server_in_flight", "in_flight"}, {"tandem_sbc_server_probe_rtt_seconds", "rtt_s"},
      {"tandem_sbc_server_calls_sent_total", "calls_sent"}, {"tandem_sbc_server_failovers_total", "failovers"}};
  for (const auto& s : samples) {
    const auto server = s.labels.find("server");
    if (server == s.labels.end()) continue;
    nlohmann::json& j = by_name[server->second];
    j["name"] = server->second;
    if (const auto dc = s.labels.find("dc"); dc != s.labels.end()) j["dc"] = dc->second;
    if (s.name == "tandem_sbc_server_state" && s.value == 1) j["state"] = s.labels.at("state");
    if (const auto f = kFields.find(s.name); f != kFields.end()) j[f->second] = s.value;
  }
  nlohmann::json out = nlohmann::json::array();
  for (auto& [_, j] : by_name) out.push_back(std::move(j));
  return out;
}

struct DcView {
  nlohmann::json json;
  std::vector<db::ServerStatus> hosts;  // as given with db=
  bool healthy = true;
};

DcView read_dc(const DcSpec& spec, const std::string& user, const std::string& password, int timeout_ms) {
  DcView v;
  nlohmann::json& j = v.json;
  j["dc"] = spec.name;
  nlohmann::json errors = nlohmann::json::array();
  if (!spec.sbc.empty()) {
    std::vector<metrics::Sample> samples;
    std::string error;
    j["sbc"] = {{"metrics", spec.sbc}};
    if (metrics::scrape(spec.sbc, timeout_ms, samples, error)) {
      j["sbc"]["reachable"] = true;
      j["sbc"]["servers"] = servers_of(samples);
    } else {
      j["sbc"]["reachable"] = false;
      errors.push_back("SBC: " + error);
      v.healthy = false;
    }
  }
  std::vector<db::ServerStatus>& hosts = v.hosts;
  j["db"] = nlohmann::json::array();
  for (const auto& h : spec.db) {
    hosts.push_back(db::read_server_status(h, user, password));
    j["db"].push_back(server_json(hosts.back()));
    if (!hosts.back().reachable) {
      errors.push_back("DB " + h + ": " + hosts.back().error);
      v.healthy = false;
    }
    for (const auto& l : hosts.back().links)
      if (!l.last_error.empty()) errors.push_back("DB " + h + " replication from " + l.master + ": " + l.last_error);
  }
  const db::ServerStatus via_vip = db::read_server_status(spec.vip, user, password);
  j["vip"] = {{"address", spec.vip}, {"reachable", via_vip.reachable}, {"holder", nullptr}};
  if (!via_vip.reachable) {
    errors.push_back("virtual IP " + spec.vip + ": " + via_vip.error);
    v.healthy = false;
  }
  for (const auto& h : hosts) {
    if (!via_vip.reachable || !h.reachable || h.server_id != via_vip.server_id) continue;
    j["vip"]["holder"] = h.address;
    // The writer's named connections bring the other DC's writes: that direction's lag.
    for (const auto& l : h.links) {
      if (l.name.empty()) continue;
      j["from_other_dc"] = {{"connection", l.name}, {"master", l.master}, {"io_running", l.io_running},
                            {"sql_running", l.sql_running},
                            {"lag_s", l.lag_s ? nlohmann::json(*l.lag_s) : nlohmann::json()}};
      v.healthy = v.healthy && l.io_running && l.sql_running;
    }
  }
  j["errors"] = errors;
  return v;
}

void print_dc(const DcView& v) {
  const nlohmann::json& j = v.json;
  std::cout << j["dc"].get<std::string>() << "\n";
  if (j.contains("sbc")) {
    const auto& sbc = j["sbc"];
    std::cout << "  SBC " << sbc["metrics"].get<std::string>() << (sbc["reachable"].get<bool>() ? "" : "  UNREACHABLE")
              << "\n";
    if (sbc.contains("servers")) {
      for (const auto& s : sbc["servers"]) {
        char rtt[32];
        std::snprintf(rtt, sizeof rtt, "%.1f", s.value("rtt_s", 0.0) * 1000);
        std::cout << "    " << s.value("name", "") << "  " << s.value("dc", "") << "  " << s.value("state", "?")
                  << "  load " << s.value("load", 0.0) << "/" << s.value("capacity", 0.0) << "  rtt "
                  << rtt << " ms  sent " << s.value("calls_sent", 0.0) << "  failovers "
                  << s.value("failovers", 0.0) << "\n";
      }
    }
  }
  const auto& vip = j["vip"];
  std::cout << "  DB virtual IP " << vip["address"].get<std::string>() << " -> "
            << (vip["holder"].is_null() ? std::string("NOBODY") : vip["holder"].get<std::string>()) << "\n";
  if (j.contains("from_other_dc")) {
    const auto& r = j["from_other_dc"];
    std::cout << "  from the other DC (" << r["master"].get<std::string>() << "): "
              << (r["io_running"].get<bool>() && r["sql_running"].get<bool>() ? "replicating" : "STOPPED")
              << ", lag " << (r["lag_s"].is_null() ? std::string("-") : std::to_string(r["lag_s"].get<int64_t>()) + " s")
              << "\n";
  }
  if (!v.hosts.empty()) std::cout << "  DB hosts\n";
  for (const auto& h : v.hosts) print_server(h, "    ");
  for (const auto& e : j["errors"]) std::cout << "  error: " << e.get<std::string>() << "\n";
}

}  // namespace

bool parse_dc_spec(const std::string& text, DcSpec& out, std::string& error) {
  DcSpec d;
  size_t pos = 0;
  bool first = true;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string part = text.substr(pos, comma - pos);
    pos = comma + 1;
    if (first) {
      d.name = part;
      first = false;
      continue;
    }
    const size_t eq = part.find('=');
    const std::string key = part.substr(0, eq), value = eq == std::string::npos ? "" : part.substr(eq + 1);
    if (value.empty()) {
      error = "'" + part + "' is not KEY=VALUE";
      return false;
    }
    if (key == "sbc") {
      d.sbc = value;
    } else if (key == "vip") {
      d.vip = value;
    } else if (key == "db") {
      for (size_t p = 0; p <= value.size();) {
        const size_t plus = std::min(value.find('+', p), value.size());
        if (plus == p) {
          error = "an empty DB host in '" + value + "'";
          return false;
        }
        d.db.push_back(value.substr(p, plus - p));
        p = plus + 1;
      }
    } else {
      error = "unknown key '" + key + "' (sbc, vip, db)";
      return false;
    }
  }
  if (d.name.empty() || d.vip.empty() || d.db.empty()) {
    error = "needs a name, vip= and db=: NAME,sbc=IPV4:PORT,vip=HOST[:PORT],db=HOST[:PORT]+HOST[:PORT]";
    return false;
  }
  out = std::move(d);
  return true;
}

void add_dc_commands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  static std::vector<std::string> specs;
  static std::string user = "tandem";
  static int timeout_ms = 2000;
  CLI::App* dc = app.add_subcommand("dc", "the data centers together");
  dc->require_subcommand(1);
  auto* cmd = dc->add_subcommand(
      "status", "per DC: its SBC's view of the call servers (from its metrics), who holds the DB's virtual IP, "
                "each DB host's role and replication, the lag from the other DC, the errors; exit 1 when any "
                "part is unreachable or a replication stopped (DB password from $TANDEM_DB_PASSWORD)");
  cmd->add_option("--dc", specs,
                  "NAME,sbc=IPV4:PORT,vip=HOST[:PORT],db=HOST[:PORT]+HOST[:PORT]: a DC (repeatable); sbc is its "
                  "SBC's --metrics-listen, vip the DB's virtual IP, db its DB hosts")
      ->required();
  cmd->add_option("--user", user, "DB user (needs REPLICATION CLIENT or SLAVE MONITOR)")->capture_default_str();
  cmd->add_option("--timeout-ms", timeout_ms, "per SBC scrape")->check(CLI::Range(100, 60000))->capture_default_str();
  cmd->callback([&g, &exit_code] {
    std::vector<DcSpec> dcs;
    for (const auto& s : specs) {
      DcSpec d;
      std::string error;
      if (!parse_dc_spec(s, d, error)) return fail(g, exit_code, "--dc " + s + ": " + error, kUsage);
      dcs.push_back(std::move(d));
    }
    const char* pw = std::getenv("TANDEM_DB_PASSWORD");
    nlohmann::json all = nlohmann::json::array();
    for (const auto& d : dcs) {
      DcView v = read_dc(d, user, pw ? pw : "", timeout_ms);
      if (!v.healthy) exit_code = kRefused;
      if (!g.json) print_dc(v);
      all.push_back(std::move(v.json));
    }
    if (g.json) std::cout << all.dump(2) << "\n";
  });
}

}  // namespace tandem::ctl
