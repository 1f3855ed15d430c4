#include "rules/reloader.h"

#include <unistd.h>

#include <filesystem>

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include <fmt/chrono.h>

#include "disk/replace_file.h"
#include "rules/saved_rules.h"
#include "rules/store.h"

namespace tandem::rules {

bool StoreSource::version(uint64_t& version, std::string& error) {
  return store_.config_version(version, error);
}

bool StoreSource::load(RulesData& out, std::string& error) { return store_.load(out, error); }

void add_reloader_flags(CLI::App& app, uint32_t& poll_ms, std::string& saved_path) {
  app.add_option("--rules-poll", poll_ms, "ms between checks of the Rules DB's config_version")
      ->check(CLI::Range(50u, 3600000u))->capture_default_str();
  app.add_option("--rules-saved", saved_path,
                 "file of the last rules loaded, routed from when the Rules DB cannot be reached at start "
                 "(empty: none)")
      ->capture_default_str();
}

std::string_view name(RulesOrigin o) {
  switch (o) {
    case RulesOrigin::db: return "db";
    case RulesOrigin::saved: return "saved";
    case RulesOrigin::none: break;
  }
  return "none";
}

Reloader::Reloader(Source& source, NumberPlan plan, std::chrono::milliseconds interval, std::string saved_path)
    : source_(source), plan_(std::move(plan)), interval_(interval), saved_path_(std::move(saved_path)) {
  stats_.saved_path = saved_path_;
}

Reloader::~Reloader() { stop(); }

bool Reloader::reload(bool force, std::string& error) {
  std::lock_guard load_lock(load_mutex_);
  const auto old = current();
  const bool from_saved = stats().origin == RulesOrigin::saved;
  const std::string keeping = old ? ", keeping version " + std::to_string(old->version()) : "";
  // Logged when the failure differs from the last one: an outage is one line, not one per poll.
  auto fail = [&](const std::string& what, const std::string& why, bool poll) {
    error = why;
    {
      std::lock_guard l(stats_mutex_);
      ++(poll ? stats_.failed_polls : stats_.failed_loads);
      if (why != stats_.last_error) spdlog::error("rules: {}{}: {}", what, keeping, why);
      stats_.last_error = why;
    }
    if (!old) fall_back_to_saved(why);
    return false;
  };
  // Routing from the saved rules, only a load from the source ends it: no version shortcut.
  if (!force && old && !from_saved) {
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
  const bool staged = stage_save(data);
  std::vector<std::string> errors;
  auto snap = Snapshot::build(std::move(data), plan_, errors);
  if (!snap) {
    if (staged) ::unlink((saved_path_ + ".tmp").c_str());
    std::string all;
    for (const auto& x : errors) all += (all.empty() ? "" : "; ") + x;
    return fail("new rules rejected", "version " + std::to_string(version) + " does not validate: " + all,
                false);
  }
  current_.store(std::move(snap), std::memory_order_release);
  if (staged) commit_save(version);
  std::lock_guard l(stats_mutex_);
  if (!stats_.last_error.empty()) spdlog::info("rules: loading works again");
  if (from_saved) spdlog::info("rules: version {} loaded: no longer routing from the saved rules", version);
  else spdlog::info("rules: version {} loaded", version);
  ++stats_.loads;
  stats_.origin = RulesOrigin::db;
  stats_.version = version;
  stats_.saved_unix_s = 0;
  stats_.last_error.clear();
  return true;
}

bool Reloader::stage_save(const RulesData& data) {
  if (saved_path_.empty()) return false;
  std::string e;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(saved_path_).parent_path(), ec);
  if (write_saved_rules(data, saved_path_ + ".tmp", e)) return true;
  ::unlink((saved_path_ + ".tmp").c_str());
  std::lock_guard l(stats_mutex_);
  note_save_failure(e);
  return false;
}

void Reloader::note_save_failure(const std::string& why) {
  ++stats_.failed_saves;
  if (why != stats_.last_save_error)
    spdlog::error("rules: cannot save the rules (a restart without the DB would have none): {}", why);
  stats_.last_save_error = why;
}

void Reloader::commit_save(uint64_t version) {
  std::string e;
  const bool ok = disk::replace_file(saved_path_ + ".tmp", saved_path_, e);
  std::lock_guard l(stats_mutex_);
  if (!ok) return note_save_failure(e);
  if (!stats_.last_save_error.empty()) spdlog::info("rules: saving works again");
  spdlog::debug("rules: version {} saved to {}", version, saved_path_);
  ++stats_.saves;
  stats_.last_save_error.clear();
}

void Reloader::fall_back_to_saved(const std::string& why) {
  if (saved_path_.empty()) return;
  RulesData data;
  SavedInfo info;
  std::string e;
  std::vector<std::string> errors;
  std::shared_ptr<const Snapshot> snap;
  if (read_saved_rules(saved_path_, data, info, e)) {
    snap = Snapshot::build(std::move(data), plan_, errors);
    if (!snap) {
      e = saved_path_ + ": version " + std::to_string(info.version) + " does not validate";
      for (const auto& x : errors) e += "; " + x;
    }
  }
  std::lock_guard l(stats_mutex_);
  if (!snap) {
    if (e != saved_error_) spdlog::error("rules: nothing to route from: the source failed and the saved rules cannot be used: {}", e);
    saved_error_ = e;
    return;
  }
  current_.store(std::move(snap), std::memory_order_release);
  const auto saved = std::chrono::sys_seconds(std::chrono::seconds(info.saved_unix_s));
  spdlog::warn("rules: routing from the rules saved in {} at {:%Y-%m-%d %H:%M:%S} UTC, version {}, until a load "
               "succeeds ({})", saved_path_, saved, info.version, why);
  stats_.origin = RulesOrigin::saved;
  stats_.version = info.version;
  stats_.saved_unix_s = info.saved_unix_s;
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
