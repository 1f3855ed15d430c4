#include "control/sbc/metrics.h"

#include "control/metrics.h"

namespace tandem::control::sbc {

std::string sbc_metrics(Sbc& sbc) {
  Exposition e;
  add_counters(e, "tandem_sbc", kCounterInfo, [&sbc](size_t i) { return sbc.counters().get(static_cast<Counter>(i)); });
  add_sip_stack(e, sbc.agent());
  e.gauge("tandem_sbc_invites_in_progress", "INVITEs forwarded that have no final answer yet",
          static_cast<double>(sbc.invites_in_progress()));

  const auto& servers = sbc.dispatcher().servers();
  const uint32_t misses = sbc.dispatcher().misses_down();
  // Every state of every server, 1 for the one it is in: a bounded set (servers x 4).
  e.family("tandem_sbc_server_state", "gauge", "1 for the state the server is in (up, suspect, down, draining)");
  for (const ServerStatus& s : servers)
    for (State st : {State::up, State::suspect, State::down, State::draining})
      e.sample(s.state(misses) == st ? 1 : 0, {{"server", s.spec.name}, {"state", std::string(name(st))}});
  auto per_server = [&](const char* metric, const char* type, const char* help, auto value) {
    e.family(metric, type, help);
    for (const ServerStatus& s : servers)
      e.sample(static_cast<double>(value(s)), {{"server", s.spec.name}, {"dc", std::string(name(s.spec.dc))}});
  };
  per_server("tandem_sbc_server_load", "gauge", "calls the server has by its last probe, plus those sent since",
             [](const ServerStatus& s) { return s.load(); });
  per_server("tandem_sbc_server_capacity", "gauge", "the server's capacity (configured, or from its probes)",
             [](const ServerStatus& s) { return s.capacity(); });
  per_server("tandem_sbc_server_in_flight", "gauge", "INVITEs sent to the server without a final answer yet",
             [](const ServerStatus& s) { return s.in_flight; });
  per_server("tandem_sbc_server_probe_rtt_seconds", "gauge", "round trip of the server's OPTIONS probes (EWMA)",
             [](const ServerStatus& s) { return s.rtt_ms / 1000; });
  per_server("tandem_sbc_server_probes_missed", "gauge", "probes the server missed or failed in a row",
             [](const ServerStatus& s) { return s.missed; });
  per_server("tandem_sbc_server_calls_sent_total", "counter", "INVITEs sent to the server",
             [](const ServerStatus& s) { return s.sent_total; });
  per_server("tandem_sbc_server_calls_answered_total", "counter", "calls the server answered (2xx)",
             [](const ServerStatus& s) { return s.answered; });
  per_server("tandem_sbc_server_failovers_total", "counter", "calls the server failed that went on to another",
             [](const ServerStatus& s) { return s.failovers; });
  if (sbc.rules()) add_rules(e, sbc.rules()->stats());
  add_db_connects(e);
  return e.text();
}

}  // namespace tandem::control::sbc
