#include "cdr/writer.h"

#include <spdlog/spdlog.h>

namespace tandem::cdr {

namespace {

// What start() finds on disk that an operator should know of: logged, and handed to the caller.
void warn(std::string text, std::vector<std::string>* warnings) {
  spdlog::warn("CDR {}", text);
  if (warnings) warnings->push_back(std::move(text));
}

using Clock = std::chrono::steady_clock;

// The spool thread appends what it takes from the queue in pieces of about
// this size: a submit() that finds the queue full appends to the spool
// directly and waits for the piece being written, not for the whole queue
// (64k records, over 10 MB, which the kernel may throttle for tens of ms).
// Measured with one big and one single-record appender: 256 KiB pieces
// made the single appends wait 0.6 to 1.1 ms at p99, 64 KiB 0.11 to 0.14
// ms; 16 KiB did no better.
constexpr size_t kAppendPieceBytes = 64 * 1024;
// How often an idle writer asks whether the DB answers (Sink::reachable).
constexpr auto kIdleCheck = std::chrono::seconds(5);

uint64_t load(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }

}  // namespace

bool validate(const WriterConfig& c, std::string& error) {
  if (c.spool.dir.empty()) {
    error = "spool dir is not set";
  } else if (c.batch_size == 0 || c.batch_size > 10000) {
    error = "batch size must be 1..10000";
  } else if (c.max_delay_ms == 0 || c.max_delay_ms > 60000) {
    error = "max delay must be 1..60000 ms";
  } else if (c.queue_size == 0) {
    error = "queue size must be at least 1";
  } else if (c.sync_records == 0 || c.sync_ms == 0 || c.sync_ms > 10000) {
    error = "spool sync needs 1+ records and 1..10000 ms";
  } else if (c.backoff_min_ms == 0 || c.backoff_max_ms < c.backoff_min_ms) {
    error = "DB backoff needs 0 < min <= max";
  } else {
    return true;
  }
  return false;
}

Writer::Writer(WriterConfig config, std::unique_ptr<Sink> sink)
    : config_(std::move(config)), sink_(std::move(sink)) {}

Writer::~Writer() { stop(); }

bool Writer::start(std::string& error, std::vector<std::string>* warnings) {
  if (!validate(config_, error)) return false;
  std::vector<std::string> found;
  if (!spool_.open(config_.spool, error, &found)) return false;
  for (auto& w : found) warn(std::move(w), warnings);
  SpoolConfig dead = config_.spool;
  dead.dir = config_.spool.dir + "/refused";
  dead.segment_bytes = std::min<uint64_t>(dead.segment_bytes, dead.limit_bytes);
  if (!refused_spool_.open(dead, error)) return false;
  if (!sequence_.open(config_.spool.dir + "/sequence", error)) return false;
  if (!open_calls_.open(config_.spool.dir + "/open", error)) return false;
  recover_open_calls(warnings);
  const SpoolPosition cp = spool_.checkpoint();
  db_position_segment_ = cp.segment;
  db_position_offset_ = cp.offset;
  queue_.reserve(config_.queue_size);
  stopping_ = false;
  stop_db_ = false;
  spool_thread_ = std::thread([this] { spool_loop(); });
  db_thread_ = std::thread([this] { db_loop(); });
  started_ = true;
  return true;
}

void Writer::stop() {
  if (!started_) return;
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  spool_thread_.join();   // it spools and syncs what is queued before it returns
  stop_db_ = true;
  db_cv_.notify_all();
  db_thread_.join();
  started_ = false;
}

uint64_t Writer::new_id(std::string& error) {
  const uint64_t seq = sequence_.next(error);
  return seq == 0 ? 0 : RecordId::make(config_.dc_id, config_.node_id, seq);
}

bool Writer::open_call(const Record& answered, const Tariff& tariff, std::string& error) {
  if (!open_calls_.add(answered, tariff, error)) return false;
  std::lock_guard lock(queue_mu_);
  open_ids_.insert(answered.id);
  return true;
}

void Writer::close_open_calls(uint64_t appended) {
  std::vector<uint64_t> ids;
  {
    std::lock_guard lock(queue_mu_);
    auto done = std::partition(closing_.begin(), closing_.end(), [&](const auto& c) { return c.first > appended; });
    for (auto it = done; it != closing_.end(); ++it) ids.push_back(it->second);
    closing_.erase(done, closing_.end());
  }
  for (uint64_t id : ids) open_calls_.remove(id);
}

void Writer::recover_open_calls(std::vector<std::string>* warnings) {
  std::vector<std::string> found;
  std::vector<Record> left = open_calls_.left_over(found);
  for (auto& w : found) warn(std::move(w), warnings);
  if (left.empty()) return;
  // A final record in the spool and its open file not yet removed (the process died between
  // the two): the final record is the call's.
  std::unordered_set<uint64_t> spooled;
  SpoolPosition pos = spool_.checkpoint();
  std::vector<std::string> payloads;
  std::string error;
  do {
    payloads.clear();
    if (!spool_.read(pos, 4096, payloads, error)) break;
    for (const auto& p : payloads) {
      Record r;
      if (decode(p, r, error)) spooled.insert(r.id);
    }
  } while (!payloads.empty());
  size_t billed = 0;
  for (Record& r : left) {
    if (spooled.contains(r.id)) {
      open_calls_.remove(r.id);
      continue;
    }
    if (!validate(r, error)) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("CDR {} of a call left up rejected: {}", RecordId::format(r.id), error);
      open_calls_.remove(r.id);
      continue;
    }
    closing_.emplace_back(++tickets_, r.id);
    queue_.push_back(std::move(r));
    ++billed;
  }
  recovered_.store(billed);
  if (billed == 0) return;
  warn(std::to_string(billed) + " calls were up when the previous process stopped (last alive " +
           format_utc_ms(open_calls_.last_alive_ms()) + " UTC): billed until then",
       warnings);
}

SubmitResult Writer::submit(Record record, std::string* error) {
  std::string why;
  if (!validate(record, why)) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    if (error) *error = "CDR " + RecordId::format(record.id) + " rejected: " + why;
    return SubmitResult::rejected;
  }
  {
    std::unique_lock lock(queue_mu_);
    if (queue_.size() < config_.queue_size) {
      ++tickets_;
      if (open_ids_.erase(record.id)) closing_.emplace_back(tickets_, record.id);
      queue_.push_back(std::move(record));
      const bool wake = queue_.size() == config_.sync_records;
      lock.unlock();
      queued_.fetch_add(1, std::memory_order_relaxed);
      if (wake) queue_cv_.notify_one();
      return SubmitResult::queued;
    }
  }
  std::vector<std::string> payload(1);
  encode(record, payload[0]);
  if (spool_.append(payload, why)) {
    overflowed_.fetch_add(1, std::memory_order_relaxed);
    bool was_open;
    {
      std::lock_guard lock(queue_mu_);
      was_open = open_ids_.erase(record.id) > 0;
    }
    if (was_open) open_calls_.remove(record.id);
    return SubmitResult::spooled;
  }
  dropped_.fetch_add(1, std::memory_order_relaxed);
  set_alarm(0, "CDR spool: " + why);
  if (error) *error = "CDR " + RecordId::format(record.id) + " dropped (queue full): " + why;
  return SubmitResult::dropped;
}

void Writer::set_alarm(int source, std::string text) {
  std::lock_guard lock(alarm_mu_);
  auto& slot = alarms_[source];
  if (slot == text) return;
  if (text.empty()) {
    spdlog::info("{} recovered", source == 0 ? "CDR spool" : "CDR DB");
  } else {
    spdlog::error("{}", text);
  }
  slot = std::move(text);
}

void Writer::spool_loop() {
  std::vector<Record> taken;
  size_t appended = 0;                 // of taken, already in the spool
  uint64_t taken_up_to = 0;            // the ticket of taken's last record
  std::vector<std::string> payloads, piece;
  auto last_sync = Clock::now();
  const auto sync_every = std::chrono::milliseconds(config_.sync_ms);
  for (;;) {
    bool stopping;
    {
      std::unique_lock lock(queue_mu_);
      if (taken.empty()) {
        queue_cv_.wait_for(lock, sync_every, [&] {
          return stopping_ || queue_.size() >= config_.sync_records;
        });
        taken.swap(queue_);
        taken_up_to = tickets_;
        queue_.reserve(config_.queue_size);
        if (!taken.empty()) busy_spooling_ = true;
      } else {
        // The last append failed: retry those first, a little later.
        queue_cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping_; });
      }
      stopping = stopping_;
    }
    open_calls_.heartbeat(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count());
    if (!taken.empty()) {
      if (appended == 0) {
        payloads.resize(taken.size());
        for (size_t i = 0; i < taken.size(); ++i) encode(taken[i], payloads[i]);
      }
      std::string error;
      bool ok = true;
      while (ok && appended < taken.size()) {
        piece.clear();
        size_t bytes = 0;
        for (size_t i = appended; i < taken.size() && (piece.empty() || bytes < kAppendPieceBytes); ++i) {
          bytes += payloads[i].size() + kSpoolHeader;
          piece.push_back(std::move(payloads[i]));
        }
        ok = spool_.append(piece, error);
        if (ok) {
          appended += piece.size();
        } else {
          // Put the piece back: retried as it was.
          for (size_t i = 0; i < piece.size(); ++i) payloads[appended + i] = std::move(piece[i]);
        }
      }
      if (ok) {
        taken.clear();
        appended = 0;
        set_alarm(0, "");
        close_open_calls(taken_up_to);
      } else {
        set_alarm(0, "CDR spool: " + error);
        if (stopping) {
          const size_t lost = taken.size() - appended;
          dropped_.fetch_add(lost, std::memory_order_relaxed);
          spdlog::error("CDR writer stopping: {} records could not be spooled", lost);
          taken.clear();
          appended = 0;
        }
      }
    }
    const uint64_t unsynced = spool_.unsynced();
    if (unsynced > 0 &&
        (stopping || unsynced >= config_.sync_records || Clock::now() - last_sync >= sync_every)) {
      std::string error;
      if (spool_.sync(error)) {
        db_cv_.notify_one();
      } else {
        set_alarm(0, "CDR spool: " + error);
      }
      last_sync = Clock::now();
    }
    if (taken.empty()) busy_spooling_ = false;
    if (stopping && taken.empty()) return;
  }
}

void Writer::db_loop() {
  SpoolPosition pos = spool_.checkpoint();
  SpoolPosition committed = pos;
  std::vector<Record> batch;
  std::vector<std::string> payloads;
  Clock::time_point first_at{};
  Clock::time_point next_idle_check{};  // at once: db_up from the start
  uint32_t backoff = config_.backoff_min_ms;
  while (!stop_db_.load()) {
    if (batch.size() < config_.batch_size) {
      payloads.clear();
      std::string error;
      if (!spool_.read(pos, config_.batch_size - batch.size(), payloads, error)) {
        set_alarm(0, "CDR spool: " + error);
      }
      for (const auto& p : payloads) {
        Record r;
        if (decode(p, r, error)) {
          if (batch.empty()) first_at = Clock::now();
          batch.push_back(std::move(r));
        } else {
          spdlog::error("CDR spool: undecodable entry skipped: {}", error);
        }
      }
    }
    if (batch.empty() && pos != committed) {
      // Nothing pending and the read moved on (past the end of a segment):
      // the DB has everything before `pos`.
      std::string error;
      if (spool_.commit_checkpoint(pos, error)) {
        committed = pos;
      } else {
        set_alarm(0, "CDR spool: " + error);
      }
      db_position_segment_ = pos.segment;
      db_position_offset_ = pos.offset;
    }
    if (batch.empty() && Clock::now() >= next_idle_check) {
      std::string error;
      const bool up = sink_->reachable(error);
      db_up_ = up;
      set_alarm(1, up ? "" : error + " (nothing to write now)");
      next_idle_check = Clock::now() + kIdleCheck;
    }
    const auto due = first_at + std::chrono::milliseconds(config_.max_delay_ms);
    if (batch.empty() || (batch.size() < config_.batch_size && Clock::now() < due)) {
      std::unique_lock lock(db_mu_);
      const auto until = batch.empty() ? Clock::now() + std::chrono::milliseconds(50) : due;
      db_cv_.wait_until(lock, until, [&] { return stop_db_.load(); });
      continue;
    }
    std::string error;
    const auto attempt_at = Clock::now();
    WriteStatus status = sink_->write(batch, error);
    if (status == WriteStatus::refused) status = write_one_by_one(batch, error);
    if (status == WriteStatus::ok) {
      written_.fetch_add(batch.size(), std::memory_order_relaxed);
      batches_.fetch_add(1, std::memory_order_relaxed);
      batch.clear();
      db_up_ = true;
      next_idle_check = Clock::now() + kIdleCheck;
      backoff = config_.backoff_min_ms;
      set_alarm(1, "");
      if (spool_.commit_checkpoint(pos, error)) {
        committed = pos;
      } else {
        set_alarm(0, "CDR spool: " + error);
      }
      db_position_segment_ = pos.segment;
      db_position_offset_ = pos.offset;
    } else {
      retried_.fetch_add(1, std::memory_order_relaxed);
      db_up_ = false;
      set_alarm(1, error + " (spooling; retrying every " + std::to_string(backoff) + " ms at most)");
      // The backoff spaces the attempts, it does not follow them: an attempt that took its
      // connect timeout (a virtual IP that moves) is followed by the next at once.
      std::unique_lock lock(db_mu_);
      db_cv_.wait_until(lock, attempt_at + std::chrono::milliseconds(backoff), [&] { return stop_db_.load(); });
      backoff = std::min(backoff * 2, config_.backoff_max_ms);
    }
  }
}

WriteStatus Writer::write_one_by_one(std::vector<Record>& batch, std::string& error) {
  std::vector<Record> one(1);
  size_t i = 0;
  for (; i < batch.size(); ++i) {
    one[0] = batch[i];
    std::string why;
    const WriteStatus st = sink_->write(one, why);
    if (st == WriteStatus::ok) {
      written_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (st == WriteStatus::failed) {
      error = why;
      break;
    }
    std::vector<std::string> payload(1);
    encode(batch[i], payload[0]);
    std::string spool_error;
    if (!refused_spool_.append(payload, spool_error) || !refused_spool_.sync(spool_error)) {
      error = why + "; and it cannot be kept: " + spool_error;
      break;
    }
    refused_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("CDR {} (call {}) refused by the DB, kept in {}/refused: {}",
                  RecordId::format(batch[i].id), batch[i].call_id, config_.spool.dir, why);
  }
  if (i == batch.size()) {
    // Everything is written (counted above) or kept: the caller advances
    // the checkpoint, and counts nothing more.
    batch.clear();
    return WriteStatus::ok;
  }
  batch.erase(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(i));
  return WriteStatus::failed;
}

bool Writer::flush(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    bool idle;
    {
      std::lock_guard lock(queue_mu_);
      idle = queue_.empty() && !busy_spooling_;
    }
    if (idle && spool_.unsynced() == 0) {
      const SpoolPosition done{db_position_segment_.load(), db_position_offset_.load()};
      if (spool_.durable_end() <= done) return true;
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

WriterStats Writer::stats() const {
  WriterStats s;
  const auto& sc = spool_.counters();
  s.queued = load(queued_);
  s.overflowed = load(overflowed_);
  s.spooled = load(sc.synced);
  s.written = load(written_);
  s.batches = load(batches_);
  s.retried = load(retried_);
  s.rejected = load(rejected_);
  s.dropped = load(dropped_);
  s.refused = load(refused_);
  s.recovered = load(recovered_);
  s.spool_errors = load(sc.append_errors) + load(sc.sync_errors) + load(sc.checkpoint_errors);
  s.spool_full = load(sc.full);
  s.torn_entries = load(sc.torn_entries);
  s.corrupt_entries = load(sc.corrupt_entries);
  s.spool_bytes = load(sc.bytes);
  {
    std::lock_guard lock(queue_mu_);
    s.queue_depth = queue_.size();
    s.open_calls = open_ids_.size();
  }
  s.db_up = db_up_.load();
  std::lock_guard lock(alarm_mu_);
  for (const auto& a : alarms_) {
    if (a.empty()) continue;
    if (!s.alarm.empty()) s.alarm += "; ";
    s.alarm += a;
  }
  return s;
}

}  // namespace tandem::cdr
