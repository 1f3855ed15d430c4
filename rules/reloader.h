// Hot reload of the rules: holds the current snapshot, which every call takes
// once (current()) and keeps to its end; a poller thread reads the source's
// config_version every interval and, when it changed (or on reload(force)),
// loads and builds a new snapshot off the call path and swaps it in. A load
// or build that fails keeps the old snapshot, is logged and counted, and is
// the last error until a load, or a poll that finds the snapshot up to date,
// succeeds. A Rules DB connection lost meanwhile is the Store's to replace.
//
// With a saved-rules file (rules/saved_rules.h), every load that validates is
// also written there, and when there is no snapshot yet and the source fails
// (the DB unreachable at start, or its rules invalid), the saved rules are
// the snapshot until the source loads: calls are routed, not refused.
//
// The swap is std::atomic<std::shared_ptr<const Snapshot>> (in libstdc++
// since GCC 12): a reader's load() is a short critical section on a spin bit
// inside the atomic, no mutex, and the old snapshot is freed by the last call
// that still holds it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "rules/model.h"
#include "rules/number.h"
#include "rules/snapshot.h"

namespace CLI {
class App;
}  // namespace CLI

namespace tandem::rules {

class Store;

// --rules-poll MS and --rules-saved PATH, for every process that keeps a Reloader.
void add_reloader_flags(CLI::App& app, uint32_t& poll_ms, std::string& saved_path);

// Where the rules come from: the DB (StoreSource) or a test's data.
class Source {
 public:
  virtual ~Source() = default;
  virtual bool version(uint64_t& version, std::string& error) = 0;
  virtual bool load(RulesData& out, std::string& error) = 0;
};

class StoreSource : public Source {
 public:
  explicit StoreSource(Store& store) : store_(store) {}
  bool version(uint64_t& version, std::string& error) override;
  bool load(RulesData& out, std::string& error) override;

 private:
  Store& store_;
};

// Where the current snapshot came from.
enum class RulesOrigin : uint8_t { none, db, saved };
std::string_view name(RulesOrigin o);

struct ReloaderStats {
  RulesOrigin origin = RulesOrigin::none;
  uint64_t loads = 0;          // snapshots swapped in
  uint64_t failed_loads = 0;   // loads or builds that failed: the old snapshot stayed
  uint64_t failed_polls = 0;   // version reads that failed
  uint64_t version = 0;        // of the current snapshot
  std::string last_error;      // of the last failure; empty once a later reload or poll
                               // finds the current snapshot up to date (or loads a new one)
  std::string saved_path;      // the saved-rules file, empty without one
  uint64_t saves = 0;          // loads written to it
  uint64_t failed_saves = 0;
  std::string last_save_error; // of the last failed save; empty once one succeeds
  int64_t saved_unix_s = 0;    // origin saved: when the file was written
};

class Reloader {
 public:
  // `saved_path`: the saved-rules file, or empty for none.
  Reloader(Source& source, NumberPlan plan, std::chrono::milliseconds interval, std::string saved_path = {});
  ~Reloader();  // stops the poller
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  // Loads now: if the version changed since the current snapshot (or there is
  // none), or always with force, or while routing from the saved rules. True
  // if the current snapshot is the source's and up to date afterwards; false
  // with why (and the old snapshot kept) otherwise. Without a snapshot, a
  // failure falls back to the saved rules (still false: the source failed).
  bool reload(bool force, std::string& error);
  // The poller: reload(false) every interval until stop(). It also retries
  // when there is no snapshot yet (the DB was down at start).
  void start();
  void stop();

  // The snapshot a call uses from its start to its end; nullptr before the first load.
  std::shared_ptr<const Snapshot> current() const { return current_.load(std::memory_order_acquire); }
  ReloaderStats stats() const;

 private:
  void run();
  // The source's rules written beside the saved file; commit_save() puts them in its place.
  bool stage_save(const RulesData& data);
  void commit_save(uint64_t version);
  // Counted, logged once per distinct reason; stats_mutex_ held.
  void note_save_failure(const std::string& why);
  // No snapshot yet and the source failed (`why`): the saved rules, if they read and build.
  void fall_back_to_saved(const std::string& why);

  Source& source_;
  const NumberPlan plan_;
  const std::chrono::milliseconds interval_;
  const std::string saved_path_;
  std::atomic<std::shared_ptr<const Snapshot>> current_;

  std::mutex load_mutex_;      // one load at a time
  mutable std::mutex stats_mutex_;
  ReloaderStats stats_;
  std::string saved_error_;    // why the saved rules could not be used, last time

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread poller_;
};

}  // namespace tandem::rules
