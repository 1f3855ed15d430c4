#include "cdr/spool.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <barrier>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "cdr/sequence.h"

namespace tandem::cdr {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tandem-cdr-spool-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string payload(int i) { return "record-" + std::to_string(i) + std::string(i % 50, 'x'); }

SpoolConfig config(const std::string& dir) {
  SpoolConfig c;
  c.dir = dir + "/spool";
  c.segment_bytes = 64 * 1024;
  c.limit_bytes = 1 << 20;
  return c;
}

void append_n(Spool& s, int from, int to) {
  std::vector<std::string> batch;
  for (int i = from; i < to; ++i) batch.push_back(payload(i));
  std::string e;
  ASSERT_TRUE(s.append(batch, e)) << e;
  ASSERT_TRUE(s.sync(e)) << e;
}

std::vector<std::string> read_all(Spool& s, SpoolPosition& pos) {
  std::vector<std::string> out;
  std::string e;
  EXPECT_TRUE(s.read(pos, 1'000'000, out, e)) << e;
  return out;
}

std::vector<fs::path> segments(const std::string& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".spool") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The newest segment that holds entries: the newest file may be the next
// segment, created ahead by sync() and empty.
fs::path last_data_segment(const std::string& dir) {
  auto all = segments(dir);
  while (!all.empty() && fs::file_size(all.back()) == 0) all.pop_back();
  return all.empty() ? fs::path() : all.back();
}

uint64_t segment_number(const fs::path& p) {
  return std::stoull(p.filename().string().substr(std::string("segment-").size()));
}

TEST(CdrSpool, Crc32KnownValue) {
  EXPECT_EQ(crc32_of("123456789"), 0xcbf43926u);
}

TEST(CdrSpool, AppendSyncRead) {
  TempDir t;
  Spool s;
  std::string e;
  ASSERT_TRUE(s.open(config(t.path()), e)) << e;
  SpoolPosition pos = s.checkpoint();
  std::vector<std::string> batch{payload(1), payload(2)};
  ASSERT_TRUE(s.append(batch, e)) << e;
  EXPECT_TRUE(read_all(s, pos).empty()) << "not durable yet, not visible";
  EXPECT_EQ(s.unsynced(), 2u);
  ASSERT_TRUE(s.sync(e));
  EXPECT_EQ(read_all(s, pos), batch);
  EXPECT_EQ(pos, s.durable_end());
  EXPECT_EQ(s.counters().appended.load(), 2u);
  EXPECT_EQ(s.counters().synced.load(), 2u);
}

TEST(CdrSpool, ReplayFromCheckpointAfterRestart) {
  TempDir t;
  SpoolPosition middle;
  {
    Spool s;
    std::string e;
    ASSERT_TRUE(s.open(config(t.path()), e)) << e;
    SpoolPosition pos = s.checkpoint();
    append_n(s, 0, 10);
    ASSERT_EQ(read_all(s, pos).size(), 10u);
    middle = pos;
    ASSERT_TRUE(s.commit_checkpoint(middle, e)) << e;
    append_n(s, 10, 25);
  }
  Spool s;
  std::string e;
  std::vector<std::string> warnings;
  ASSERT_TRUE(s.open(config(t.path()), e, &warnings)) << e;
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(s.checkpoint(), middle);
  SpoolPosition pos = s.checkpoint();
  auto got = read_all(s, pos);
  ASSERT_EQ(got.size(), 15u);
  EXPECT_EQ(got.front(), payload(10));
  EXPECT_EQ(got.back(), payload(24));
  // New appends go to a new segment and follow the replayed ones.
  append_n(s, 25, 27);
  got = read_all(s, pos);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], payload(25));
}

TEST(CdrSpool, SegmentsRotateAndAreDeletedPastTheCheckpoint) {
  TempDir t;
  Spool s;
  std::string e;
  ASSERT_TRUE(s.open(config(t.path()), e)) << e;
  SpoolPosition pos = s.checkpoint();
  for (int i = 0; i < 3000; i += 100) append_n(s, i, i + 100);
  EXPECT_GT(segments(t.path() + "/spool").size(), 2u);
  auto got = read_all(s, pos);
  ASSERT_EQ(got.size(), 3000u);
  for (int i = 0; i < 3000; ++i) ASSERT_EQ(got[static_cast<size_t>(i)], payload(i));
  const uint64_t before = s.counters().bytes.load();
  ASSERT_TRUE(s.commit_checkpoint(pos, e)) << e;
  // Left: the segment appended to now, and perhaps the next one, empty.
  const auto left = segments(t.path() + "/spool");
  EXPECT_LE(left.size(), 2u);
  for (const auto& seg : left) {
    EXPECT_TRUE(segment_number(seg) >= pos.segment || fs::file_size(seg) == 0) << seg;
  }
  EXPECT_LT(s.counters().bytes.load(), before);
}

TEST(CdrSpool, TornLastEntryIsReportedAndSkipped) {
  TempDir t;
  {
    Spool s;
    std::string e;
    ASSERT_TRUE(s.open(config(t.path()), e)) << e;
    append_n(s, 0, 5);
  }
  // A crash in the middle of a write: half an entry at the end.
  const auto seg = last_data_segment(t.path() + "/spool");
  const auto size = fs::file_size(seg);
  {
    std::ofstream f(seg, std::ios::binary | std::ios::app);
    std::string torn = "TCR1";
    torn += std::string("\x40\x00\x00\x00", 4) + "crc!" + "only part of the payload";
    f << torn;
  }
  Spool s;
  std::string e;
  std::vector<std::string> warnings;
  ASSERT_TRUE(s.open(config(t.path()), e, &warnings)) << e;
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("torn last entry at offset " + std::to_string(size)),
            std::string::npos) << warnings[0];
  EXPECT_EQ(s.counters().torn_entries.load(), 1u);
  EXPECT_EQ(fs::file_size(seg), size);
  SpoolPosition pos = s.checkpoint();
  auto got = read_all(s, pos);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[4], payload(4));
}

TEST(CdrSpool, BadChecksumInTheMiddleIsSkippedAndCounted) {
  TempDir t;
  {
    Spool s;
    std::string e;
    ASSERT_TRUE(s.open(config(t.path()), e)) << e;
    append_n(s, 0, 5);
  }
  const auto seg = last_data_segment(t.path() + "/spool");
  {
    // Flip one payload byte of the second entry.
    std::fstream f(seg, std::ios::binary | std::ios::in | std::ios::out);
    const auto second = kSpoolHeader + payload(0).size();
    f.seekp(static_cast<std::streamoff>(second + kSpoolHeader + 2));
    f.put('#');
  }
  Spool s;
  std::string e;
  std::vector<std::string> warnings;
  ASSERT_TRUE(s.open(config(t.path()), e, &warnings)) << e;
  EXPECT_TRUE(warnings.empty()) << "not the last entry: not torn";
  SpoolPosition pos = s.checkpoint();
  auto got = read_all(s, pos);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], payload(0));
  EXPECT_EQ(got[1], payload(2));
  EXPECT_EQ(s.counters().corrupt_entries.load(), 1u);
}

TEST(CdrSpool, UnwritableDirIsAClearError) {
  TempDir t;
  // Root ignores permission bits: a path through a regular file fails for everyone.
  const std::string file = t.path() + "/a-file";
  std::ofstream(file) << "x";
  Spool s;
  std::string e;
  SpoolConfig c = config(t.path());
  c.dir = file + "/spool";
  EXPECT_FALSE(s.open(c, e));
  EXPECT_EQ(e, "spool dir " + c.dir + ": Not a directory");
  if (::geteuid() != 0) {
    const std::string ro = t.path() + "/ro";
    ::mkdir(ro.c_str(), 0500);
    Spool s2;
    c.dir = ro;
    EXPECT_FALSE(s2.open(c, e));
    EXPECT_NE(e.find("is not writable"), std::string::npos) << e;
  }
}

TEST(CdrSpool, OneWriterPerDir) {
  TempDir t;
  Spool a;
  std::string e;
  ASSERT_TRUE(a.open(config(t.path()), e)) << e;
  Spool b;
  EXPECT_FALSE(b.open(config(t.path()), e));
  EXPECT_EQ(e, "spool dir " + t.path() + "/spool is in use by another writer");
}

TEST(CdrSpool, LimitReachedRefusesAndCounts) {
  TempDir t;
  Spool s;
  std::string e;
  SpoolConfig c = config(t.path());
  c.limit_bytes = 64 * 1024;
  ASSERT_TRUE(s.open(c, e)) << e;
  int i = 0;
  for (; i < 10000; ++i) {
    if (!s.append({payload(i)}, e)) break;
  }
  EXPECT_LT(i, 10000);
  EXPECT_NE(e.find("spool is full"), std::string::npos) << e;
  EXPECT_EQ(s.counters().full.load(), 1u);
  EXPECT_LE(s.counters().bytes.load(), c.limit_bytes);
  ASSERT_TRUE(s.sync(e));
  SpoolPosition pos = s.checkpoint();
  EXPECT_EQ(read_all(s, pos).size(), static_cast<size_t>(i));
}

// Disk full, as the kernel reports it to a writer: the write fails part way.
// RLIMIT_FSIZE gives the same partial write then EFBIG without filling a disk.
TEST(CdrSpool, WriteFailureLeavesNoTornEntryAndRecovers) {
  TempDir t;
  Spool s;
  std::string e;
  ASSERT_TRUE(s.open(config(t.path()), e)) << e;
  append_n(s, 0, 10);
  const auto seg = last_data_segment(t.path() + "/spool");
  const auto good_size = fs::file_size(seg);

  struct sigaction ign {}, old {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGXFSZ, &ign, &old);
  rlimit saved{};
  ::getrlimit(RLIMIT_FSIZE, &saved);
  rlimit lim = saved;
  lim.rlim_cur = good_size + 100;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);
  std::vector<std::string> big;
  for (int i = 10; i < 30; ++i) big.push_back(payload(i));
  const bool ok = s.append(big, e);
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::sigaction(SIGXFSZ, &old, nullptr);

  EXPECT_FALSE(ok);
  EXPECT_NE(e.find("File too large"), std::string::npos) << e;
  EXPECT_EQ(s.counters().append_errors.load(), 1u);
  EXPECT_EQ(fs::file_size(seg), good_size) << "the partial write is cut back";
  append_n(s, 10, 30);   // and the spool works again
  SpoolPosition pos = s.checkpoint();
  auto got = read_all(s, pos);
  ASSERT_EQ(got.size(), 30u);
  EXPECT_EQ(s.counters().corrupt_entries.load(), 0u);
}

TEST(CdrSpool, TornEntryFoundBehindAnEmptyNextSegment) {
  TempDir t;
  {
    Spool s;
    std::string e;
    ASSERT_TRUE(s.open(config(t.path()), e)) << e;
    append_n(s, 0, 5);   // its sync() creates the next segment, empty
  }
  const auto all = segments(t.path() + "/spool");
  ASSERT_GE(all.size(), 2u);
  ASSERT_EQ(fs::file_size(all.back()), 0u) << "the next segment, created ahead";
  const auto seg = last_data_segment(t.path() + "/spool");
  ASSERT_NE(seg, all.back());
  const auto size = fs::file_size(seg);
  {
    std::ofstream f(seg, std::ios::binary | std::ios::app);
    f << std::string("TCR1\x40\x00\x00\x00", 8) << "crc!half";
  }
  Spool s;
  std::string e;
  std::vector<std::string> warnings;
  ASSERT_TRUE(s.open(config(t.path()), e, &warnings)) << e;
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(seg.string() + ": torn last entry at offset " + std::to_string(size)),
            std::string::npos) << warnings[0];
  EXPECT_EQ(fs::file_size(seg), size);
  SpoolPosition pos = s.checkpoint();
  auto got = read_all(s, pos);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(s.counters().corrupt_entries.load(), 0u);
}

// After a power cut the full segment's unsynced tail may be lost while the
// next one's writes survived: that tail is found too.
TEST(CdrSpool, TornTailOfTheSegmentBeforeTheNewestIsFound) {
  TempDir t;
  SpoolConfig c = config(t.path());
  c.segment_bytes = 4096;
  {
    Spool s;
    std::string e;
    ASSERT_TRUE(s.open(c, e)) << e;
    for (int i = 0; i < 800; i += 100) append_n(s, i, i + 100);   // > 4 KiB each: switches
    ASSERT_GE(s.counters().rotations.load(), 1u);
  }
  std::vector<fs::path> data;
  for (const auto& seg : segments(t.path() + "/spool")) {
    if (fs::file_size(seg) > 0) data.push_back(seg);
  }
  ASSERT_GE(data.size(), 2u);
  const auto older = data[data.size() - 2];
  const auto size = fs::file_size(older);
  {
    std::ofstream f(older, std::ios::binary | std::ios::app);
    f << std::string("TCR1\x40\x00\x00", 7);
  }
  Spool s;
  std::string e;
  std::vector<std::string> warnings;
  ASSERT_TRUE(s.open(c, e, &warnings)) << e;
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(older.string() + ": torn last entry at offset " + std::to_string(size)),
            std::string::npos) << warnings[0];
  SpoolPosition pos = s.checkpoint();
  auto got = read_all(s, pos);
  ASSERT_EQ(got.size(), 800u);
  for (int i = 0; i < 800; ++i) ASSERT_EQ(got[static_cast<size_t>(i)], payload(i));
  EXPECT_EQ(s.counters().corrupt_entries.load(), 0u);
}

// Finding C1 (bench/RESULTS.md): a segment switch must not make append()
// sync, nor wait for a sync in progress. The sync hook runs on the thread
// that syncs: it counts the syncs made from inside an append() (appending()
// is set around them), and can hold a sync until the test lets it go.
thread_local bool in_append = false;

bool append(Spool& s, const std::vector<std::string>& batch, std::string& error) {
  in_append = true;
  const bool ok = s.append(batch, error);
  in_append = false;
  return ok;
}

class SyncGate {
 public:
  void hook(Spool::SyncPoint what) {
    std::unique_lock lock(mu_);
    if (in_append) ++from_appends_;
    if (!armed_ || what != point_) return;
    armed_ = false;
    held_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
    held_ = false;
  }
  void arm(Spool::SyncPoint point) {
    std::lock_guard lock(mu_);
    point_ = point;
    armed_ = true;
    released_ = false;
  }
  // False if no sync reached the gate within a minute (a hung test, not a measurement).
  bool wait_held() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::minutes(1), [&] { return held_; });
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  uint64_t syncs_from_appends() {
    std::lock_guard lock(mu_);
    return from_appends_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t from_appends_ = 0;
  Spool::SyncPoint point_ = Spool::SyncPoint::segment;
  bool armed_ = false, held_ = false, released_ = false;
};

void appends_go_on_while_a_sync_is_held(Spool::SyncPoint point) {
  TempDir t;
  SyncGate gate;
  Spool s;
  s.set_sync_hook([&](Spool::SyncPoint what) { gate.hook(what); });
  SpoolConfig c = config(t.path());
  c.segment_bytes = 4096;
  std::string e;
  ASSERT_TRUE(s.open(c, e)) << e;
  ASSERT_TRUE(s.sync(e)) << e;   // creates the next segment
  SpoolPosition pos = s.checkpoint();
  auto padded = [](int i) { return payload(i) + std::string(300, 'p'); };
  int next = 0;
  // `n` appends on a thread of their own.
  auto append_some = [&](int n) {
    return std::async(std::launch::async, [&, n] {
      for (int i = 0; i < n; ++i, ++next) {
        std::string err;
        if (!append(s, {padded(next)}, err)) return err;
      }
      return std::string();
    });
  };
  // Past a segment's end: the switch to the next segment.
  ASSERT_EQ(append_some(15).get(), "");
  ASSERT_EQ(s.counters().rotations.load(), 1u);
  // A sync held in the full segment's fdatasync (segment), or in creating
  // the next one (dir): appends go on meanwhile, past segment_bytes.
  gate.arm(point);
  std::string sync_error;
  bool sync_ok = false;
  std::thread syncer([&] { sync_ok = s.sync(sync_error); });
  ASSERT_TRUE(gate.wait_held());
  auto appends = append_some(40);
  // Within a minute: a guard against a hung test, not a measurement.
  const bool returned = appends.wait_for(std::chrono::minutes(1)) == std::future_status::ready;
  gate.release();
  syncer.join();
  EXPECT_EQ(appends.get(), "");
  ASSERT_TRUE(returned) << "append() waited for a sync in progress";
  EXPECT_TRUE(sync_ok) << sync_error;
  // That sync made the next segment: the next append switches to it.
  ASSERT_EQ(append_some(1).get(), "");
  EXPECT_EQ(s.counters().rotations.load(), 2u);
  EXPECT_EQ(gate.syncs_from_appends(), 0u) << "an append synced";
  ASSERT_TRUE(s.sync(e)) << e;
  auto got = read_all(s, pos);
  ASSERT_EQ(got.size(), 56u);
  for (int i = 0; i < 56; ++i) EXPECT_EQ(got[static_cast<size_t>(i)], padded(i));
}

TEST(CdrSpool, AppendsGoOnWhileAFullSegmentIsSynced) {
  appends_go_on_while_a_sync_is_held(Spool::SyncPoint::segment);
}

TEST(CdrSpool, AppendsGoOnWhileTheNextSegmentIsCreated) {
  appends_go_on_while_a_sync_is_held(Spool::SyncPoint::dir);
}

// Appenders on several threads (thread 0 also syncs after each of its
// appends, as the writer's spool thread does; the others only append, as
// submit() does when the queue is full), and a reader that commits
// checkpoints, with segments switching every few entries; then a restart.
// Every entry is read exactly once (before the checkpoint, or replayed after
// it), each thread's entries in the order it appended them, and no append
// ever synced. The threads meet at a barrier after each append, so that
// switches happen all along, whatever the scheduling.
TEST(CdrSpool, ConcurrentAppendsAcrossSwitchesLoseNothingAndKeepOrder) {
  TempDir t;
  constexpr int kThreads = 4, kPerThread = 1500;
  SyncGate gate;   // never armed: only counts who syncs
  SpoolConfig c = config(t.path());
  c.segment_bytes = 4096;
  c.limit_bytes = 64 << 20;
  auto entry = [](int thread, int i) {
    return "t" + std::to_string(thread) + "-" + std::to_string(i) + std::string(static_cast<size_t>(i % 97), '.');
  };
  std::vector<std::string> consumed;   // read and covered by a committed checkpoint
  {
    Spool s;
    s.set_sync_hook([&](Spool::SyncPoint what) { gate.hook(what); });
    std::string e;
    ASSERT_TRUE(s.open(c, e)) << e;
    std::atomic<int> running{kThreads};
    std::barrier round(kThreads);
    std::vector<std::thread> appenders;
    std::vector<std::string> errors(kThreads);
    for (int k = 0; k < kThreads; ++k) {
      appenders.emplace_back([&, k] {
        bool failed = false;
        for (int i = 0; i < kPerThread; i += 1 + i % 3) {
          if (!failed) {
            std::vector<std::string> batch;
            for (int j = i; j < std::min(kPerThread, i + 1 + i % 3); ++j) batch.push_back(entry(k, j));
            std::string err;
            if (!append(s, batch, err)) {
              errors[static_cast<size_t>(k)] = "append: " + err;
              failed = true;
            }
          }
          round.arrive_and_wait();
          std::string err;
          if (k == 0 && !failed && !s.sync(err)) {
            errors[0] = "sync: " + err;
            failed = true;
          }
        }
        --running;
      });
    }
    // The reader, as the writer's DB thread: read, then commit a checkpoint
    // for some of what it read (not for the rest: a crash before the commit).
    SpoolPosition pos = s.checkpoint();
    std::vector<std::string> pending;
    for (int rounds = 1;; ++rounds) {
      const bool last = running == 0;
      std::vector<std::string> got;
      ASSERT_TRUE(s.read(pos, 200, got, e)) << e;
      pending.insert(pending.end(), got.begin(), got.end());
      if (rounds % 2 == 0 && !pending.empty() && (!last || pending.size() > 50)) {
        ASSERT_TRUE(s.commit_checkpoint(pos, e)) << e;
        consumed.insert(consumed.end(), pending.begin(), pending.end());
        pending.clear();
      }
      if (last && got.empty()) break;
      std::this_thread::yield();
    }
    for (auto& a : appenders) a.join();
    for (const auto& err : errors) ASSERT_EQ(err, "");
    // Thread 0's last entries, read and never committed: replayed after the restart.
    std::vector<std::string> tail;
    for (int i = kPerThread; i < kPerThread + 10; ++i) tail.push_back(entry(0, i));
    ASSERT_TRUE(s.append(tail, e)) << e;
    ASSERT_TRUE(s.sync(e)) << e;
    std::vector<std::string> got;
    ASSERT_TRUE(s.read(pos, 1000, got, e)) << e;
    ASSERT_FALSE(got.empty());
    // About 90 segments' worth, a switch at the first append past each end.
    EXPECT_GT(s.counters().rotations.load(), 40u);
    EXPECT_EQ(gate.syncs_from_appends(), 0u) << "an append synced";
    EXPECT_EQ(s.counters().corrupt_entries.load(), 0u);
  }
  Spool s;
  std::string e;
  std::vector<std::string> warnings;
  ASSERT_TRUE(s.open(c, e, &warnings)) << e;
  EXPECT_TRUE(warnings.empty()) << warnings[0];
  SpoolPosition pos = s.checkpoint();
  std::vector<std::string> all = consumed;
  for (;;) {
    std::vector<std::string> got;
    ASSERT_TRUE(s.read(pos, 1000, got, e)) << e;
    if (got.empty()) break;
    all.insert(all.end(), got.begin(), got.end());
  }
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread + 10));
  std::vector<int> next(kThreads, 0);
  for (const auto& p : all) {
    const int k = p[1] - '0';
    ASSERT_TRUE(k >= 0 && k < kThreads) << p;
    ASSERT_EQ(p, entry(k, next[static_cast<size_t>(k)])) << "out of order, lost or doubled";
    ++next[static_cast<size_t>(k)];
  }
  EXPECT_EQ(s.counters().corrupt_entries.load(), 0u);
}

TEST(CdrSpool, DamagedCheckpointReplaysEverything) {
  TempDir t;
  {
    Spool s;
    std::string e;
    ASSERT_TRUE(s.open(config(t.path()), e)) << e;
    SpoolPosition pos = s.checkpoint();
    append_n(s, 0, 4);
    read_all(s, pos);
    ASSERT_TRUE(s.commit_checkpoint(pos, e));
  }
  std::ofstream(t.path() + "/spool/checkpoint") << "tandem-cdr-checkpoint 1 1 99 00000000\n";
  Spool s;
  std::string e;
  std::vector<std::string> warnings;
  ASSERT_TRUE(s.open(config(t.path()), e, &warnings)) << e;
  ASSERT_EQ(warnings.size(), 1u);
  SpoolPosition pos = s.checkpoint();
  EXPECT_EQ(read_all(s, pos).size(), 4u) << "replayed: harmless for the DB";
}

TEST(CdrSequence, NeverRepeatsAcrossRestarts) {
  TempDir t;
  const std::string path = t.path() + "/sequence";
  std::string e;
  uint64_t last = 0;
  for (int run = 0; run < 3; ++run) {
    Sequence s;
    ASSERT_TRUE(s.open(path, e, 10)) << e;
    for (int i = 0; i < 25; ++i) {
      const uint64_t v = s.next(e);
      ASSERT_GT(v, last) << "run " << run;
      last = v;
    }
  }
}

TEST(CdrSequence, DamagedFileIsRefused) {
  TempDir t;
  const std::string path = t.path() + "/sequence";
  std::ofstream(path) << "tandem-cdr-sequence 1 500 deadbeef\n";
  Sequence s;
  std::string e;
  EXPECT_FALSE(s.open(path, e));
  EXPECT_NE(e.find("is damaged"), std::string::npos) << e;
}

}  // namespace
}  // namespace tandem::cdr
