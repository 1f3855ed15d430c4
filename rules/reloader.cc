#include "rules/reloader.h"

#include <spdlog/spdlog.h>

#include "rules/store.h"

namespace tandem::rules {

bool StoreSource::version(uint64_t& version, std::string& error) {
  return store_.config_version(version, error);
}

bool StoreSource::load(RulesData& out, std::string& error) { return store_.load(out, error); }

Reloader::Reloader(Source& source, NumberPlan plan, std::chrono::milliseconds interval)
    : source_(source), plan_(std::move(plan)), interval_(interval) {}

Reloader::~Reloader() { stop(); }

bool Reloader::reload(bool force, std::string& error) {
  std::lock_guard load_lock(load_mutex_);
  const auto old = current();
  const std::string keeping = old ? ", keeping version " + std::to_string(old->version()) : "";
  // Logged when the failure differs from the last one: an outage is one line, not one per poll.
  auto fail = [&](const std::string& what, const std::string& why, bool poll) {
    error = why;
    std::lock_guard l(stats_mutex_);
    ++(poll ? stats_.failed_polls : stats_.failed_loads);
    if (why != stats_.last_error) spdlog::error("rules: {}{}: {}", what, keeping, why);
    stats_.last_error = why;
    return false;
  };
  if (!force && old) {
    uint64_t v = 0;
    std::string e;
    if (!source_.version(v, e)) return fail("cannot read config_version", e, true);
    if (v == old->version()) {
      // Up to date: whatever failed before (the DB down, a restart) is over.
      std::lock_guard l(stats_mutex_);
      if (!stats_.last_error.empty()) spdlog::info("rules: version {} is current, the failure is over", v);
      stats_.last_error.clear();
      return true;
    }
  }
  RulesData data;
  std::string e;
  if (!source_.load(data, e)) return fail("load failed", e, false);
  const uint64_t version = data.version;
  std::vector<std::string> errors;
  auto snap = Snapshot::build(std::move(data), plan_, errors);
  if (!snap) {
    std::string all;
    for (const auto& x : errors) all += (all.empty() ? "" : "; ") + x;
    return fail("new rules rejected", "version " + std::to_string(version) + " does not validate: " + all,
                false);
  }
  current_.store(std::move(snap), std::memory_order_release);
  std::lock_guard l(stats_mutex_);
  if (!stats_.last_error.empty()) spdlog::info("rules: loading works again");
  spdlog::info("rules: version {} loaded", version);
  ++stats_.loads;
  stats_.version = version;
  stats_.last_error.clear();
  return true;
}

void Reloader::start() {
  if (poller_.joinable()) return;
  {
    std::lock_guard l(stop_mutex_);
    stopping_ = false;
  }
  poller_ = std::thread([this] { run(); });
}

void Reloader::stop() {
  {
    std::lock_guard l(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (poller_.joinable()) poller_.join();
}

void Reloader::run() {
  std::unique_lock l(stop_mutex_);
  while (!stop_cv_.wait_for(l, interval_, [this] { return stopping_; })) {
    l.unlock();
    std::string error;
    reload(false, error);
    l.lock();
  }
}

ReloaderStats Reloader::stats() const {
  std::lock_guard l(stats_mutex_);
  return stats_;
}

}  // namespace tandem::rules
