#include "control/metrics.h"

#include <algorithm>

#include "control/sip/settings.h"
#include "db/connection.h"

namespace tandem::control {

void add_rules(Exposition& e, const rules::ReloaderStats& s) {
  using rules::RulesOrigin;
  e.gauge("tandem_rules_loaded", "1 when there are rules to route by (from the DB or the saved file)",
          s.origin == RulesOrigin::none ? 0 : 1);
  e.gauge("tandem_rules_from_saved",
          "1 while routing from the rules saved on disk (the Rules DB could not be loaded since the start)",
          s.origin == RulesOrigin::saved ? 1 : 0);
  e.gauge("tandem_rules_version", "config_version of the rules in use", static_cast<double>(s.version));
  e.counter("tandem_rules_loads_total", "rules loaded from the DB and swapped in", static_cast<double>(s.loads));
  e.counter("tandem_rules_failed_loads_total", "loads or builds that failed (the old rules stayed)",
            static_cast<double>(s.failed_loads));
  e.counter("tandem_rules_failed_polls_total", "reads of the DB's config_version that failed",
            static_cast<double>(s.failed_polls));
  e.counter("tandem_rules_saves_total", "loads written to the saved-rules file", static_cast<double>(s.saves));
  e.counter("tandem_rules_failed_saves_total", "loads that could not be written to the saved-rules file",
            static_cast<double>(s.failed_saves));
}

void add_db_connects(Exposition& e) {
  const auto counts = db::connect_counts();
  e.family("tandem_db_connects_total", "counter",
           "DB connections opened, per database (climbing while the DB is up: reconnects)");
  for (const auto& c : counts) e.sample(static_cast<double>(c.connects), {{"database", c.database}});
  e.family("tandem_db_connect_failures_total", "counter", "DB connection attempts that no address answered, per database");
  for (const auto& c : counts) e.sample(static_cast<double>(c.failures), {{"database", c.database}});
}

void add_sip_stack(Exposition& e, nta_agent_t* agent) {
  for (const auto& [name, value] : stack_stats(agent)) {
    std::string what = name.substr(4);  // "sip_bad_messages" -> "bad messages"
    std::replace(what.begin(), what.end(), '_', ' ');
    e.counter("tandem_" + name + "_total", "sofia-sip's count of SIP " + what, static_cast<double>(value));
  }
}

MetricsServer::MetricsServer(su_root_t* root, std::function<std::string()> render)
    : root_(root), render_(std::move(render)) {}

MetricsServer::~MetricsServer() {
  if (timer_) su_timer_destroy(timer_);
}

bool MetricsServer::start(const std::string& listen, std::string& error) {
  if (!server_.start(listen, error)) return false;
  server_.publish(render_());
  timer_ = su_timer_create(su_root_task(root_), 1000);
  su_timer_set_for_ever(timer_, on_tick, reinterpret_cast<su_timer_arg_t*>(this));
  return true;
}

void MetricsServer::on_tick(su_root_magic_t*, su_timer_t*, su_timer_arg_t* self) {
  auto& m = *reinterpret_cast<MetricsServer*>(self);
  m.server_.publish(m.render_());
}

}  // namespace tandem::control
