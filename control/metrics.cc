#include "control/metrics.h"

#include <arpa/inet.h>

#include <httplib.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "control/sip/settings.h"

namespace tandem::control {

namespace {

std::string escaped(std::string_view s, bool quotes) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quotes) out += "\\\"";
    else out += c;
  }
  return out;
}

}  // namespace

void Exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  name_ = name;
  text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escaped(help, false), name, type);
}

void Exposition::sample(double value, const Labels& labels) {
  text_ += name_;
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i)
      text_ += fmt::format("{}{}=\"{}\"", i ? "," : "", labels[i].first, escaped(labels[i].second, true));
    text_ += '}';
  }
  text_ += fmt::format(" {}\n", value);
}

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

void add_sip_stack(Exposition& e, nta_agent_t* agent) {
  for (const auto& [name, value] : stack_stats(agent)) {
    std::string what = name.substr(4);  // "sip_bad_messages" -> "bad messages"
    std::replace(what.begin(), what.end(), '_', ' ');
    e.counter("tandem_" + name + "_total", "sofia-sip's count of SIP " + what, static_cast<double>(value));
  }
}

bool parse_listen(const std::string& listen, std::string& address, uint16_t& port) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  address = listen.substr(0, colon);
  in_addr a{};
  unsigned p = 0;
  const char* end = listen.data() + listen.size();
  const auto [ptr, ec] = std::from_chars(listen.data() + colon + 1, end, p);
  if (inet_pton(AF_INET, address.c_str(), &a) != 1 || ec != std::errc() || ptr != end || p == 0 || p > 65535)
    return false;
  port = static_cast<uint16_t>(p);
  return true;
}

MetricsServer::MetricsServer(su_root_t* root, std::function<std::string()> render)
    : root_(root), render_(std::move(render)) {}

MetricsServer::~MetricsServer() {
  if (timer_) su_timer_destroy(timer_);
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

bool MetricsServer::start(const std::string& listen, std::string& error) {
  std::string address;
  uint16_t port = 0;
  if (!parse_listen(listen, address, port)) {
    error = "--metrics-listen " + listen + ": not IPV4:PORT";
    return false;
  }
  http_ = std::make_unique<httplib::Server>();
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard l(mutex_);
    res.set_content(text_, "text/plain; version=0.0.4; charset=utf-8");
  });
  if (!http_->bind_to_port(address.c_str(), port)) {
    error = "--metrics-listen " + listen + ": cannot listen there: " + std::strerror(errno);
    return false;
  }
  refresh();
  timer_ = su_timer_create(su_root_task(root_), 1000);
  su_timer_set_for_ever(timer_, on_tick, reinterpret_cast<su_timer_arg_t*>(this));
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  return true;
}

void MetricsServer::on_tick(su_root_magic_t*, su_timer_t*, su_timer_arg_t* self) {
  reinterpret_cast<MetricsServer*>(self)->refresh();
}

void MetricsServer::refresh() {
  std::string text = render_();
  std::lock_guard l(mutex_);
  text_.swap(text);
}

}  // namespace tandem::control
