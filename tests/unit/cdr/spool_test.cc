#include "cdr/spool.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>

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
  EXPECT_EQ(segments(t.path() + "/spool").size(), 1u);
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
  const auto seg = segments(t.path() + "/spool").back();
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
  const auto seg = segments(t.path() + "/spool").back();
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
  const auto seg = segments(t.path() + "/spool").back();
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
