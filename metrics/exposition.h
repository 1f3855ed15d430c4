// Prometheus text exposition (format 0.0.4) and where it is served: the
// processes' /metrics (tandem-dataplane, tandem-control, tandem-sbc). Each
// builds its text on the thread that owns its state; TextServer serves the
// last text built from a thread of its own (cpp-httplib), so a scrape never
// waits for that thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "metrics/histogram.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace tandem::metrics {

using Labels = std::vector<std::pair<std::string_view, std::string>>;

// One exposition: families in the order they are begun.
class Exposition {
 public:
  // type: "counter" (name ends in _total), "gauge" or "histogram".
  void family(std::string_view name, std::string_view type, std::string_view help);
  // A sample of the family begun last.
  void sample(double value, const Labels& labels = {});
  // A family of one sample without labels.
  void counter(std::string_view name, std::string_view help, double value) { one(name, "counter", help, value); }
  void gauge(std::string_view name, std::string_view help, double value) { one(name, "gauge", help, value); }
  // NAME_bucket{le=...} (cumulative), NAME_sum, NAME_count; after family(name, "histogram", help).
  void histogram(const Histogram& h, const Labels& labels = {});
  const std::string& text() const { return text_; }

 private:
  void one(std::string_view name, std::string_view type, std::string_view help, double value) {
    family(name, type, help);
    sample(value);
  }

  std::string text_;
  std::string name_;
};

// "ADDR:PORT" (IPv4 address, port 1-65535) split; false when it is not that.
bool parse_listen(const std::string& listen, std::string& address, uint16_t& port);
// The flag's validator (CLI11's check()): empty when `listen` parses, else why not.
std::string listen_problem(const std::string& listen);

// GET /metrics: the text last published; 404 for anything else.
class TextServer {
 public:
  TextServer();
  ~TextServer();
  TextServer(const TextServer&) = delete;
  TextServer& operator=(const TextServer&) = delete;

  // Binds ADDR:PORT (parse_listen) and serves from a thread; false and why when it cannot.
  bool start(const std::string& listen, std::string& error);
  void publish(std::string text);

 private:
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::mutex mutex_;
  std::string text_;
};

}  // namespace tandem::metrics
