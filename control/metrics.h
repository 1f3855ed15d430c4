// tandem-control's and tandem-sbc's Prometheus metrics (metrics/exposition.h)
// on --metrics-listen: their state belongs to the SIP thread (read there
// without locks), so the text is built there, once a second, and served by
// metrics::TextServer.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <sofia-sip/nta.h>
#include <sofia-sip/su_wait.h>

#include "control/counter_table.h"
#include "metrics/exposition.h"
#include "rules/reloader.h"

namespace tandem::control {

using metrics::Exposition;

// Every counter of a counter table as `PREFIX_NAME_total`, its meaning the help.
template <size_t N, class Get>
void add_counters(Exposition& e, std::string_view prefix, const std::array<CounterInfo, N>& info, Get get) {
  for (size_t i = 0; i < N; ++i)
    e.counter(std::string(prefix) + "_" + std::string(info[i].name) + "_total", info[i].help,
              static_cast<double>(get(i)));
}
// The rules' version, where they came from, the reloader's failures and saves.
void add_rules(Exposition& e, const rules::ReloaderStats& s);
// sofia-sip's own counts (control/sip/settings.h: stack_stats) as tandem_sip_*_total.
// Every DB connection this process opened or failed to, per database (db::connect_counts()).
void add_db_connects(Exposition& e);
void add_sip_stack(Exposition& e, nta_agent_t* agent);

class MetricsServer {
 public:
  // `render` runs on the root's thread, once a second and at start().
  MetricsServer(su_root_t* root, std::function<std::string()> render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // ADDR:PORT (metrics::parse_listen); false and why when it cannot listen there.
  bool start(const std::string& listen, std::string& error);

 private:
  static void on_tick(su_root_magic_t*, su_timer_t*, su_timer_arg_t*);

  su_root_t* root_;
  std::function<std::string()> render_;
  su_timer_t* timer_ = nullptr;
  metrics::TextServer server_;
};

}  // namespace tandem::control
