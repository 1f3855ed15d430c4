// Prometheus metrics of tandem-control and tandem-sbc, on --metrics-listen.
//
// A process's state belongs to its SIP thread (read there without locks), so
// the exposition text is built there, once a second, and the HTTP server
// (cpp-httplib, on a thread of its own) serves the last text built: a scrape
// never waits for the SIP thread, and sees figures at most a second old.
// Text format 0.0.4: `# HELP`, `# TYPE`, then the samples of each family.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <sofia-sip/nta.h>
#include <sofia-sip/su_wait.h>

#include "control/counter_table.h"
#include "rules/reloader.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace tandem::control {

using Labels = std::vector<std::pair<std::string_view, std::string>>;

// One exposition: families in the order they are begun.
class Exposition {
 public:
  // type: "counter" (name ends in _total) or "gauge".
  void family(std::string_view name, std::string_view type, std::string_view help);
  // A sample of the family begun last.
  void sample(double value, const Labels& labels = {});
  // A family of one sample without labels.
  void counter(std::string_view name, std::string_view help, double value) { one(name, "counter", help, value); }
  void gauge(std::string_view name, std::string_view help, double value) { one(name, "gauge", help, value); }
  const std::string& text() const { return text_; }

 private:
  void one(std::string_view name, std::string_view type, std::string_view help, double value) {
    family(name, type, help);
    sample(value);
  }

  std::string text_;
  std::string name_;
};

// Every counter of a counter table as `PREFIX_NAME_total`, its meaning the help.
template <size_t N, class Get>
void add_counters(Exposition& e, std::string_view prefix, const std::array<CounterInfo, N>& info, Get get) {
  for (size_t i = 0; i < N; ++i) {
    e.family(std::string(prefix) + "_" + std::string(info[i].name) + "_total", "counter", info[i].help);
    e.sample(static_cast<double>(get(i)));
  }
}
// The rules' version, where they came from, the reloader's failures and saves.
void add_rules(Exposition& e, const rules::ReloaderStats& s);
// sofia-sip's own counts (control/sip/settings.h: stack_stats) as tandem_sip_*_total.
void add_sip_stack(Exposition& e, nta_agent_t* agent);

class MetricsServer {
 public:
  // `render` runs on the root's thread, once a second and at start().
  MetricsServer(su_root_t* root, std::function<std::string()> render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // ADDR:PORT (parse_listen); false and why when it cannot listen there.
  bool start(const std::string& listen, std::string& error);

 private:
  static void on_tick(su_root_magic_t*, su_timer_t*, su_timer_arg_t*);
  void refresh();

  su_root_t* root_;
  std::function<std::string()> render_;
  su_timer_t* timer_ = nullptr;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::mutex mutex_;
  std::string text_;
};

// "ADDR:PORT" (IPv4 address, port 1-65535) split; false when it is not that.
bool parse_listen(const std::string& listen, std::string& address, uint16_t& port);

}  // namespace tandem::control
