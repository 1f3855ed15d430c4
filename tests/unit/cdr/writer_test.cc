// The writer's logic against an in-memory sink: batching, retries, replay
// after a restart, queue overflow into the spool, rejected records.
#include "cdr/writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "tests/unit/cdr/sample_records.h"

namespace tandem::cdr {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Rows by id, like the table; counts writes of an id already present.
struct FakeDb {
  std::mutex mu;
  std::map<uint64_t, Record> rows;
  uint64_t duplicates = 0;
  uint64_t batches = 0;
  size_t largest_batch = 0;
  bool down = false;
  std::string refuse_reason = "(none)";   // a record with this hangup_reason is refused
};

class FakeSink : public Sink {
 public:
  explicit FakeSink(FakeDb& db) : db_(db) {}
  WriteStatus write(const std::vector<Record>& batch, std::string& error) override {
    std::lock_guard lock(db_.mu);
    if (db_.down) {
      error = "fake DB is down";
      return WriteStatus::failed;
    }
    for (const auto& r : batch) {
      if (r.hangup_reason == db_.refuse_reason) {
        error = "fake DB refuses hangup_reason " + r.hangup_reason;
        return WriteStatus::refused;
      }
    }
    for (const auto& r : batch) {
      if (!db_.rows.emplace(r.id, r).second) ++db_.duplicates;
    }
    ++db_.batches;
    db_.largest_batch = std::max(db_.largest_batch, batch.size());
    return WriteStatus::ok;
  }
  bool reachable(std::string& error) override {
    std::lock_guard lock(db_.mu);
    if (db_.down) error = "fake DB is down";
    return !db_.down;
  }

 private:
  FakeDb& db_;
};

class CdrWriter : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tandem-cdr-writer-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    config_.spool.dir = dir_ + "/spool";
    config_.batch_size = 50;
    config_.max_delay_ms = 20;
    config_.sync_ms = 2;
    config_.backoff_min_ms = 5;
    config_.backoff_max_ms = 20;
    config_.dc_id = 1;
    config_.node_id = 7;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Writer> make() {
    auto w = std::make_unique<Writer>(config_, std::make_unique<FakeSink>(db_));
    std::string e;
    EXPECT_TRUE(w->start(e)) << e;
    return w;
  }

  // Submits `n` sample records numbered from `first`; returns them by id.
  std::map<uint64_t, Record> submit(Writer& w, uint64_t first, uint64_t n) {
    std::map<uint64_t, Record> sent;
    for (uint64_t i = first; i < first + n; ++i) {
      std::string e;
      const uint64_t id = w.new_id(e);
      EXPECT_NE(id, 0u) << e;
      Record r = testing::sample_record(i, id);
      const auto res = w.submit(r, &e);
      EXPECT_TRUE(res == SubmitResult::queued || res == SubmitResult::spooled) << e;
      sent.emplace(id, std::move(r));
    }
    return sent;
  }

  void expect_exactly(const std::map<uint64_t, Record>& sent) {
    std::lock_guard lock(db_.mu);
    EXPECT_EQ(db_.rows.size(), sent.size());
    EXPECT_EQ(db_.duplicates, 0u);
    for (const auto& [id, r] : sent) {
      auto it = db_.rows.find(id);
      ASSERT_NE(it, db_.rows.end()) << RecordId::format(id);
      EXPECT_EQ(it->second, r);
    }
  }

  std::string dir_;
  WriterConfig config_;
  FakeDb db_;
};

TEST_F(CdrWriter, BatchesEverythingOnce) {
  auto w = make();
  const auto sent = submit(*w, 1, 1000);
  ASSERT_TRUE(w->flush(5s));
  expect_exactly(sent);
  const auto s = w->stats();
  EXPECT_EQ(s.queued, 1000u);
  EXPECT_EQ(s.spooled, 1000u);
  EXPECT_EQ(s.written, 1000u);
  EXPECT_EQ(s.rejected, 0u);
  EXPECT_TRUE(s.alarm.empty()) << s.alarm;
  EXPECT_LE(db_.largest_batch, 50u);
  EXPECT_GE(db_.batches, 20u);
  EXPECT_LT(db_.batches, 200u) << "records go in batches, not one by one";
}

TEST_F(CdrWriter, RejectsBadRecordsWithAReason) {
  auto w = make();
  std::string e;
  Record r = testing::sample_record(1, w->new_id(e));
  r.end_ms = r.start_ms - 5;
  EXPECT_EQ(w->submit(r, &e), SubmitResult::rejected);
  EXPECT_NE(e.find("end time is before start time"), std::string::npos) << e;
  EXPECT_EQ(w->stats().rejected, 1u);
  ASSERT_TRUE(w->flush(2s));
  EXPECT_TRUE(db_.rows.empty());
}

TEST_F(CdrWriter, DbDownThenUpLosesNothing) {
  db_.down = true;
  auto w = make();
  auto sent = submit(*w, 1, 300);
  // Until the DB thread has tried (a deadline, not a measurement: on a
  // loaded machine 100 ms was not always enough).
  auto s = w->stats();
  for (int i = 0; i < 1000 && (s.retried == 0 || s.spooled < 300 ||
                               s.alarm.find("fake DB is down") == std::string::npos); ++i) {
    std::this_thread::sleep_for(10ms);
    s = w->stats();
  }
  EXPECT_GT(s.retried, 0u);
  EXPECT_EQ(s.spooled, 300u);
  EXPECT_FALSE(s.db_up);
  EXPECT_NE(s.alarm.find("fake DB is down"), std::string::npos) << s.alarm;
  {
    std::lock_guard lock(db_.mu);
    db_.down = false;
  }
  auto more = submit(*w, 301, 200);
  sent.merge(more);
  ASSERT_TRUE(w->flush(5s));
  expect_exactly(sent);
  EXPECT_TRUE(w->stats().alarm.empty());
}

TEST_F(CdrWriter, RestartReplaysWhatTheDbDidNotHave) {
  db_.down = true;
  std::map<uint64_t, Record> sent;
  {
    auto w = make();
    sent = submit(*w, 1, 400);
    w->stop();   // spools and syncs the queue, writes nothing
    EXPECT_EQ(w->stats().spooled, 400u);
  }
  EXPECT_TRUE(db_.rows.empty());
  db_.down = false;
  auto w = make();
  auto more = submit(*w, 401, 10);   // ids continue after the restart
  sent.merge(more);
  EXPECT_EQ(sent.size(), 410u);
  ASSERT_TRUE(w->flush(5s));
  expect_exactly(sent);
}

TEST_F(CdrWriter, TornSpoolTailIsReportedAndTheRestReplayed) {
  db_.down = true;
  std::map<uint64_t, Record> sent;
  {
    auto w = make();
    sent = submit(*w, 1, 100);
    w->stop();
  }
  // The process died in the middle of its last write.
  fs::path newest;
  for (const auto& e : fs::directory_iterator(config_.spool.dir)) {
    if (e.path().extension() == ".spool" && fs::file_size(e.path()) > 0) newest = std::max(newest, e.path());
  }
  ASSERT_FALSE(newest.empty());
  std::ofstream(newest, std::ios::binary | std::ios::app) << std::string("TCR1\x10\x01\x00\x00half", 12);
  db_.down = false;
  Writer w(config_, std::make_unique<FakeSink>(db_));
  std::string e;
  std::vector<std::string> warnings;
  ASSERT_TRUE(w.start(e, &warnings)) << e;
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("torn last entry"), std::string::npos) << warnings[0];
  EXPECT_EQ(w.stats().torn_entries, 1u);
  ASSERT_TRUE(w.flush(5s)) << "written " << w.stats().written << " corrupt "
                           << w.stats().corrupt_entries << " alarm " << w.stats().alarm;
  expect_exactly(sent);
}

// A record the DB will not store does not block the others and is not lost:
// the batch is written record by record and the refused one kept aside.
TEST_F(CdrWriter, RefusedRecordIsKeptAsideAndTheRestWritten) {
  db_.refuse_reason = "poison";
  auto w = make();
  std::map<uint64_t, Record> sent;
  std::string e;
  uint64_t poison_id = 0;
  for (uint64_t i = 1; i <= 120; ++i) {
    Record r = testing::sample_record(i, w->new_id(e));
    if (i == 77) {
      r.hangup_reason = "poison";
      poison_id = r.id;
    }
    ASSERT_EQ(w->submit(r, &e), SubmitResult::queued) << e;
    if (i != 77) sent.emplace(r.id, r);
  }
  ASSERT_TRUE(w->flush(5s)) << w->stats().alarm;
  expect_exactly(sent);
  const auto s = w->stats();
  EXPECT_EQ(s.refused, 1u);
  EXPECT_EQ(s.written, 119u);
  w.reset();   // closes the spools (and their locks)
  // The refused record is in SPOOL_DIR/refused, whole.
  Spool dead;
  SpoolConfig c = config_.spool;
  c.dir += "/refused";
  ASSERT_TRUE(dead.open(c, e)) << e;
  SpoolPosition pos = dead.checkpoint();
  std::vector<std::string> payloads;
  ASSERT_TRUE(dead.read(pos, 10, payloads, e)) << e;
  ASSERT_EQ(payloads.size(), 1u);
  Record back;
  ASSERT_TRUE(decode(payloads[0], back, e)) << e;
  EXPECT_EQ(back.id, poison_id);
}

TEST_F(CdrWriter, QueueOverflowGoesToTheSpool) {
  config_.queue_size = 4;
  config_.sync_ms = 50;
  auto w = make();
  const auto sent = submit(*w, 1, 500);
  auto s = w->stats();
  EXPECT_GT(s.overflowed, 0u);
  EXPECT_EQ(s.queued + s.overflowed, 500u);
  EXPECT_EQ(s.dropped, 0u);
  ASSERT_TRUE(w->flush(5s));
  expect_exactly(sent);
}

// The spool's size limit (or a full disk) with the DB down: submit reports
// `dropped` with the reason, the alarm says so, nothing crashes; once the DB is
// back the space is reclaimed and every record that was accepted gets written.
TEST_F(CdrWriter, SpoolFullDropsWithAnAlarmThenRecovers) {
  config_.queue_size = 8;
  config_.spool.segment_bytes = 16 * 1024;
  config_.spool.limit_bytes = 64 * 1024;
  db_.down = true;
  auto w = make();
  std::map<uint64_t, Record> accepted;
  uint64_t dropped = 0;
  std::string last_error;
  for (uint64_t i = 1; i <= 600; ++i) {
    std::string e;
    const uint64_t id = w->new_id(e);
    Record r = testing::sample_record(i, id);
    const auto res = w->submit(r, &e);
    if (res == SubmitResult::dropped) {
      ++dropped;
      last_error = e;
    } else {
      ASSERT_NE(res, SubmitResult::rejected) << e;
      accepted.emplace(id, std::move(r));
    }
    if (i % 50 == 0) std::this_thread::sleep_for(5ms);
  }
  auto s = w->stats();
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(s.dropped, dropped);
  EXPECT_GT(s.spool_full, 0u);
  EXPECT_NE(last_error.find("spool is full"), std::string::npos) << last_error;
  EXPECT_NE(s.alarm.find("spool is full"), std::string::npos) << s.alarm;
  EXPECT_LE(s.spool_bytes, config_.spool.limit_bytes);
  {
    std::lock_guard lock(db_.mu);
    db_.down = false;
  }
  ASSERT_TRUE(w->flush(10s)) << w->stats().alarm;
  expect_exactly(accepted);
  s = w->stats();
  EXPECT_TRUE(s.alarm.empty()) << s.alarm;
  EXPECT_LT(s.spool_bytes, config_.spool.limit_bytes / 2) << "space reclaimed";
  // And new records are accepted again.
  auto more = submit(*w, 1000, 100);
  accepted.merge(more);
  ASSERT_TRUE(w->flush(5s));
  expect_exactly(accepted);
}

TEST_F(CdrWriter, BadConfigIsRefused) {
  config_.batch_size = 0;
  Writer w(config_, std::make_unique<FakeSink>(db_));
  std::string e;
  EXPECT_FALSE(w.start(e));
  EXPECT_EQ(e, "batch size must be 1..10000");
}

TEST_F(CdrWriter, UnwritableSpoolDirFailsStart) {
  const std::string file = dir_ + "/file";
  std::ofstream(file) << "x";
  config_.spool.dir = file + "/spool";
  Writer w(config_, std::make_unique<FakeSink>(db_));
  std::string e;
  EXPECT_FALSE(w.start(e));
  EXPECT_EQ(e, "spool dir " + config_.spool.dir + ": Not a directory");
}

// -- open calls (open_calls.h): answered calls billed even if the process dies ------------

// An answered outbound call as the call server journals it at the answer.
Record answered_call(Writer& w, int64_t answer_ms) {
  std::string e;
  Record r = testing::sample_record(1, w.new_id(e));   // i = 1: outbound
  r.disposition = Disposition::answered;
  r.target = "+33600000001";
  r.answer_ms = answer_ms;
  r.start_ms = answer_ms - 2000;
  r.end_ms = r.start_ms;
  r.sip_code = 200;
  compute_durations(r);
  return r;
}

int64_t mtime_ms_of(const std::string& path) {
  const auto t = fs::last_write_time(path);
  const auto sys = std::chrono::file_clock::to_sys(t);
  return std::chrono::duration_cast<std::chrono::milliseconds>(sys.time_since_epoch()).count();
}

size_t open_files(const std::string& spool_dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(spool_dir + "/open"))
    n += e.path().extension() == ".call";
  return n;
}

TEST_F(CdrWriter, ACallLeftUpByADeadProcessIsBilledUntilItWasLastAlive) {
  const Tariff tariff{.cost_micros_per_min = 600000, .increment_s = 60};
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  Record open;
  {
    auto w = make();
    open = answered_call(*w, now - 90'000);
    std::string e;
    ASSERT_TRUE(w->open_call(open, tariff, e)) << e;
    EXPECT_EQ(w->stats().open_calls, 1u);
    std::this_thread::sleep_for(20ms);   // the spool thread's first heartbeat
    w->stop();   // as a process that dies: the call's final record never came
  }
  EXPECT_EQ(open_files(config_.spool.dir), 1u);
  const int64_t alive = mtime_ms_of(config_.spool.dir + "/open/alive");
  auto w = make();
  EXPECT_EQ(w->stats().recovered, 1u);
  ASSERT_TRUE(w->flush(5s));
  std::lock_guard lock(db_.mu);
  ASSERT_EQ(db_.rows.count(open.id), 1u);
  const Record& got = db_.rows[open.id];
  EXPECT_EQ(got.disposition, Disposition::answered);
  EXPECT_EQ(got.end_ms, alive);
  EXPECT_EQ(got.billable_s, static_cast<uint32_t>((alive - open.answer_ms + 999) / 1000));
  EXPECT_EQ(got.cost_micros, 600000 * 2) << "91 s billed by the minute: 2 minutes";
  EXPECT_EQ((got.hangup_side), HangupSide::system);
  EXPECT_EQ(got.hangup_reason, kLeftOverReason);
  EXPECT_EQ((got.call_id), open.call_id);
  EXPECT_EQ(open_files(config_.spool.dir), 0u) << "its file goes once its record is spooled";
}

TEST_F(CdrWriter, AnOpenCallsFinalRecordReplacesItAndItsFileGoes) {
  auto w = make();
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  Record r = answered_call(*w, now - 5000);
  std::string e;
  ASSERT_TRUE(w->open_call(r, {}, e)) << e;
  r.end_ms = now;
  compute_durations(r);
  r.cost_micros = 1;
  ASSERT_EQ(w->submit(r, &e), SubmitResult::queued) << e;
  ASSERT_TRUE(w->flush(5s));
  for (int i = 0; i < 500 && open_files(config_.spool.dir) > 0; ++i) std::this_thread::sleep_for(2ms);
  EXPECT_EQ(open_files(config_.spool.dir), 0u);
  EXPECT_EQ(w->stats().open_calls, 0u);
  w.reset();
  auto again = make();
  EXPECT_EQ(again->stats().recovered, 0u);
  ASSERT_TRUE(again->flush(5s));
  expect_exactly({{r.id, r}});
}

TEST_F(CdrWriter, AnOpenFileWhoseFinalRecordIsInTheSpoolIsNotBilledTwice) {
  // The process died after spooling the final record and before removing the open file.
  db_.down = true;
  Record final_record;
  {
    auto w = make();
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    final_record = answered_call(*w, now - 5000);
    final_record.end_ms = now;
    compute_durations(final_record);
    std::string e;
    ASSERT_EQ(w->submit(final_record, &e), SubmitResult::queued) << e;
    w->stop();
    OpenCalls again;
    ASSERT_TRUE(again.open(config_.spool.dir + "/open", e)) << e;
    ASSERT_TRUE(again.add(final_record, {}, e)) << e;
  }
  db_.down = false;
  auto w = make();
  EXPECT_EQ(w->stats().recovered, 0u);
  ASSERT_TRUE(w->flush(5s));
  expect_exactly({{final_record.id, final_record}});
  EXPECT_EQ(open_files(config_.spool.dir), 0u);
}

TEST_F(CdrWriter, ADamagedOpenFileIsNamedAndSkipped) {
  fs::create_directories(config_.spool.dir + "/open");
  std::ofstream(config_.spool.dir + "/open/0000000000000001.call") << "torn";
  auto w = std::make_unique<Writer>(config_, std::make_unique<FakeSink>(db_));
  std::string e;
  std::vector<std::string> warnings;
  ASSERT_TRUE(w->start(e, &warnings)) << e;
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("0000000000000001.call unreadable (torn or damaged)"), std::string::npos) << warnings[0];
  EXPECT_EQ(w->stats().recovered, 0u);
  EXPECT_EQ(open_files(config_.spool.dir), 0u);
}

}  // namespace
}  // namespace tandem::cdr
