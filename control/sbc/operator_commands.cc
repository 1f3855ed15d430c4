#include "control/sbc/operator_commands.h"

#include <cmath>

#include "control/rules_status.h"
#include "control/sip/settings.h"

namespace tandem::control::sbc {

namespace {

nlohmann::json server_json(const ServerStatus& s, uint32_t misses_down) {
  return {{"name", s.spec.name},
          {"address", s.spec.host + ":" + std::to_string(s.spec.port)},
          {"dc", std::string(name(s.spec.dc))},
          {"state", std::string(name(s.state(misses_down)))},
          {"load", s.load()},
          {"capacity", s.capacity()},
          {"in_flight", s.in_flight},
          {"probes_missed", s.missed},
          {"rtt_ms", std::round(s.rtt_ms * 100) / 100},
          {"probed", s.probe_answered},
          {"calls_sent", s.sent_total},
          {"answered", s.answered},
          {"failovers", s.failovers},
          {"draining", s.admin_draining ? "operator" : (s.self_draining ? "server" : "")}};
}

}  // namespace

void add_sbc_commands(OperatorSocket& socket, Sbc& sbc) {
  socket.on("servers", [&sbc](const nlohmann::json&) {
    nlohmann::json list = nlohmann::json::array();
    for (const ServerStatus& s : sbc.dispatcher().servers())
      list.push_back(server_json(s, sbc.dispatcher().misses_down()));
    return nlohmann::json{{"servers", list}};
  });
  for (const bool drain : {true, false})
    socket.on(drain ? "drain" : "undrain", [&sbc, drain](const nlohmann::json& request) {
      const std::string name = request.contains("server") && request["server"].is_string()
                                   ? request["server"].get<std::string>() : "";
      if (!sbc.dispatcher().set_draining(name, drain)) return nlohmann::json{{"error", "no server '" + name + "'"}};
      for (const ServerStatus& s : sbc.dispatcher().servers())
        if (s.spec.name == name) return server_json(s, sbc.dispatcher().misses_down());
      return nlohmann::json{};
    });
  socket.on("stats", [&sbc, &socket](const nlohmann::json&) {
    nlohmann::json counters;
    for (size_t i = 0; i < kCounterInfo.size(); ++i)
      counters[std::string(kCounterInfo[i].name)] = sbc.counters().get(static_cast<Counter>(i));
    for (const auto& [k, v] : stack_stats(sbc.agent())) counters[k] = v;
    counters["control_bad_requests"] = socket.bad_requests();
    size_t up = 0;
    for (const ServerStatus& s : sbc.dispatcher().servers()) up += s.state(sbc.dispatcher().misses_down()) == State::up;
    nlohmann::json stats = {{"role", "sbc"},
                            {"servers", sbc.dispatcher().servers().size()},
                            {"servers_up", up},
                            {"invites_in_progress", sbc.invites_in_progress()},
                            {"counters", counters}};
    if (sbc.rules()) stats["rules"] = rules_status(sbc.rules()->stats());
    return stats;
  });
}

}  // namespace tandem::control::sbc
