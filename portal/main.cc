// tandem-portal: flags (portal/config.h), then the HTTP server until SIGINT
// or SIGTERM. Nothing is kept but the login sessions in memory: a restart
// asks everyone to log in again.
#include <signal.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "metrics/exposition.h"
#include "portal/config.h"
#include "portal/server.h"

namespace {

// Publishes the portal's counters for /metrics every second until stopped.
class MetricsPublisher {
 public:
  MetricsPublisher(tandem::portal::Portal& portal, tandem::metrics::TextServer& server)
      : thread_([this, &portal, &server] {
          std::unique_lock lock(mutex_);
          do {
            server.publish(portal.metrics_text());
          } while (!wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; }));
        }) {}
  ~MetricsPublisher() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace tandem;
  portal::PortalConfig config;
  if (int rc = portal::parse_portal_flags(argc, argv, config); rc >= 0) return rc;
  if (config.check_config) return portal::check_portal_config(config);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  if (sodium_init() < 0) {
    spdlog::critical("libsodium cannot start (no entropy source?)");
    return 1;
  }
  // Every thread started from here on inherits the mask: the signals wait for sigwait below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  portal::Portal server(config);
  std::string error;
  if (!server.start(error)) {
    spdlog::critical("{}", error);
    return 1;
  }
  metrics::TextServer metrics_server;
  std::unique_ptr<MetricsPublisher> publisher;
  if (!config.metrics_listen.empty()) {
    if (!metrics_server.start(config.metrics_listen, error)) {
      spdlog::critical("{}", error);
      return 1;
    }
    publisher = std::make_unique<MetricsPublisher>(server, metrics_server);
  }
  std::thread stopper([&server, &signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("signal {}: stopping", sig);
    server.stop();
  });
  spdlog::info("tandem-portal ready on {}://{}", config.tls() ? "https" : "http", config.listen);
  server.run();
  // run() also returns when the server fails; the stopper must not wait for a signal then.
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  return 0;
}
