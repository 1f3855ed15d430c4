#include "control/server/operator_commands.h"

#include <chrono>

#include "control/rules_status.h"
#include "control/server/attendant_report.h"
#include "control/sip/settings.h"

namespace tandem::control {

nlohmann::json call_json(const Call& call, bool detail) {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  nlohmann::json j = {
      {"id", call.serial},
      {"call_id", call.call_id},
      {"state", name(call.state)},
      {"direction", cdr::name(call.plan.direction)},
      {"caller", call.plan.caller.empty() ? call.from_user : call.plan.caller},
      {"called", call.plan.called},
      {"customer", call.plan.customer},
      {"age_s", (now - call.start_ms) / 1000},
      {"answered_s", call.answer_ms ? (now - call.answer_ms) / 1000 : 0},
  };
  if (!call.plan.targets.empty()) {
    const Target& t = call.plan.targets[call.target];
    j["target"] = t.label;
    j["provider"] = t.provider;
  }
  if (call.menu && !call.menu->transferred && call.menu->menu)
    j["target"] = "attendant menu " + std::to_string(call.menu->menu->id) + " (" + call.menu->menu->name + ")";
  if (!detail) return j;
  if (call.menu) {
    const MenuCall& m = *call.menu;
    j["attendant"] = {{"menu", m.menu ? m.menu->id : 0}, {"path", m.path}, {"keys", m.keys},
                      {"retry", m.retry}, {"playing", m.playing}, {"transferred", m.transferred}};
  }
  j["call_id_callee"] = call.call_id_b;
  j["decision"] = call.plan.why;
  j["target_index"] = call.target;
  nlohmann::json targets = nlohmann::json::array();
  for (const Target& t : call.plan.targets)
    targets.push_back({{"uri", t.uri}, {"label", t.label}, {"provider", t.provider}, {"timeout_s", t.timeout_s}});
  j["targets"] = targets;
  j["media"] = {{"session", call.media.session},
                {"caller_side", {{"relay", call.media.local_ip[kA]}, {"port", call.media.local_port[kA]}}},
                {"callee_side", {{"relay", call.media.local_ip[kB]}, {"port", call.media.local_port[kB]}}}};
  j["requests_in_flight"] = call.relayed.size();
  return j;
}

void add_server_commands(OperatorSocket& socket, CallServer& server, rules::Reloader& rules, cdr::Writer& cdrs) {
  socket.on("calls", [&server](const nlohmann::json&) {
    nlohmann::json calls = nlohmann::json::array();
    for (const auto& [serial, call] : server.calls()) calls.push_back(call_json(*call, false));
    return nlohmann::json{{"calls", calls}};
  });
  socket.on("call", [&server](const nlohmann::json& request) {
    const std::string id = request.contains("id") && request["id"].is_string() ? request["id"].get<std::string>() : "";
    for (const auto& [serial, call] : server.calls())
      if (std::to_string(serial) == id || call->call_id == id) return call_json(*call, true);
    return nlohmann::json{{"error", "no live call " + id}};
  });
  for (const bool drain : {true, false})
    socket.on(drain ? "drain" : "undrain", [&server, drain](const nlohmann::json& request) {
      const bool exit = drain && request.value("exit", false);
      if (exit)
        server.exit_when_drained(request.contains("deadline_s") && request["deadline_s"].is_number_unsigned()
                                     ? request["deadline_s"].get<uint32_t>() : 600);
      else
        server.set_draining(drain);
      return nlohmann::json{{"draining", server.draining()}, {"exiting", server.exiting()},
                            {"active_calls", server.active_calls()}};
    });
  socket.on("cdr-stats", [&cdrs](const nlohmann::json&) {
    const cdr::WriterStats s = cdrs.stats();
    return nlohmann::json{{"queued", s.queued}, {"overflowed", s.overflowed}, {"spooled", s.spooled},
                          {"written", s.written}, {"batches", s.batches}, {"retried", s.retried},
                          {"rejected", s.rejected}, {"dropped", s.dropped}, {"refused", s.refused},
                          {"recovered", s.recovered}, {"open_calls", s.open_calls},
                          {"spool_errors", s.spool_errors}, {"spool_full", s.spool_full},
                          {"torn_entries", s.torn_entries}, {"corrupt_entries", s.corrupt_entries},
                          {"spool_bytes", s.spool_bytes}, {"queue_depth", s.queue_depth}, {"db_up", s.db_up},
                          {"alarm", s.alarm}};
  });
  socket.on("stats", [&server, &rules, &cdrs, &socket](const nlohmann::json&) {
    nlohmann::json counters;
    for (size_t i = 0; i < kCounterInfo.size(); ++i)
      counters[std::string(kCounterInfo[i].name)] = server.counters().get(static_cast<Counter>(i));
    for (const auto& [k, v] : stack_stats(server.agent())) counters[k] = v;
    counters["control_bad_requests"] = socket.bad_requests();
    const auto r = rules.stats();
    const cdr::WriterStats w = cdrs.stats();
    return nlohmann::json{
        {"active_calls", server.active_calls()},
        {"capacity", server.capacity()},
        {"draining", server.draining()},
        {"counters", counters},
        {"rules", rules_status(r)},
        {"attendant", attendant_json(server.attendant_stats(), server.prompts_cached())},
        {"cdr", {{"written", w.written}, {"queue_depth", w.queue_depth}, {"spool_bytes", w.spool_bytes},
                 {"db_up", w.db_up}, {"alarm", w.alarm}}}};
  });
  // Loading a large Rules DB takes seconds: not on the SIP thread.
  socket.on_slow("rules-reload", [&rules](const nlohmann::json&) {
    std::string error;
    const bool ok = rules.reload(true, error);
    const auto stats = rules.stats();
    nlohmann::json r = {{"ok", ok}, {"version", stats.version}, {"from", std::string(rules::name(stats.origin))},
                        {"loads", stats.loads}, {"failed_loads", stats.failed_loads}};
    if (!ok) r["error"] = error;
    return r;
  });
}

}  // namespace tandem::control
