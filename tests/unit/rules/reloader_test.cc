// The reloader against a scripted source: reload on a version change only,
// failed loads and invalid data keep the old snapshot and are counted (the
// last error cleared once the snapshot is current again), calls
// keep the snapshot they took, readers never see a gap while it swaps.
#include "rules/reloader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "rules/saved_rules.h"

#include "tests/unit/rules/sample_rules.h"

namespace tandem::rules {
namespace {

using namespace testing;
using namespace std::chrono_literals;

class FakeSource : public Source {
 public:
  bool version(uint64_t& v, std::string& error) override {
    std::lock_guard l(m);
    ++version_reads;
    if (down) {
      error = "connection refused";
      return false;
    }
    v = data.version;
    return true;
  }
  bool load(RulesData& out, std::string& error) override {
    std::lock_guard l(m);
    ++loads;
    if (down) {
      error = "connection refused";
      return false;
    }
    out = data;
    return true;
  }
  void set(RulesData d) {
    std::lock_guard l(m);
    data = std::move(d);
  }
  std::mutex m;
  RulesData data = base();
  bool down = false;
  int version_reads = 0;
  int loads = 0;
};

// Version v: the DID rejects with code 400 + v.
RulesData versioned(uint64_t v) {
  RulesData d = base();
  d.version = v;
  d.customers[0].default_action = reject(static_cast<uint16_t>(400 + v));
  return d;
}

uint16_t code(const Snapshot& s) {
  return s.route_inbound(kDid, "", utc(2026, 1, 1)).action->sip_code;
}

TEST(RulesReloader, LoadsOnlyWhenTheVersionChanges) {
  FakeSource src;
  src.set(versioned(1));
  Reloader r(src, {}, 1h);
  EXPECT_EQ(r.current(), nullptr);
  std::string error;
  ASSERT_TRUE(r.reload(false, error)) << error;
  ASSERT_NE(r.current(), nullptr);
  EXPECT_EQ(code(*r.current()), 401);
  EXPECT_EQ(src.loads, 1);
  ASSERT_TRUE(r.reload(false, error));
  EXPECT_EQ(src.loads, 1);  // same version: not loaded again
  ASSERT_TRUE(r.reload(true, error));
  EXPECT_EQ(src.loads, 2);  // forced
  src.set(versioned(2));
  ASSERT_TRUE(r.reload(false, error));
  EXPECT_EQ(code(*r.current()), 402);
  EXPECT_EQ(r.stats().loads, 3u);
  EXPECT_EQ(r.stats().version, 2u);
}

TEST(RulesReloader, CallsKeepTheSnapshotTheyStartedWith) {
  FakeSource src;
  src.set(versioned(1));
  Reloader r(src, {}, 1h);
  std::string error;
  ASSERT_TRUE(r.reload(false, error));
  const auto call = r.current();
  src.set(versioned(2));
  ASSERT_TRUE(r.reload(false, error));
  EXPECT_EQ(code(*call), 401);
  EXPECT_EQ(code(*r.current()), 402);
}

TEST(RulesReloader, FailuresKeepTheOldSnapshotAndAreCounted) {
  FakeSource src;
  src.set(versioned(1));
  Reloader r(src, {}, 1h);
  std::string error;
  ASSERT_TRUE(r.reload(false, error));

  RulesData bad = versioned(2);
  bad.customers[0].time_zone = "Mars/Olympus";
  src.set(bad);
  EXPECT_FALSE(r.reload(false, error));
  EXPECT_NE(error.find("version 2 does not validate"), std::string::npos) << error;
  EXPECT_NE(error.find("Mars/Olympus"), std::string::npos) << error;
  EXPECT_EQ(code(*r.current()), 401);
  EXPECT_EQ(r.stats().failed_loads, 1u);

  src.down = true;
  EXPECT_FALSE(r.reload(false, error));
  EXPECT_EQ(error, "connection refused");
  EXPECT_FALSE(r.reload(true, error));
  EXPECT_EQ(code(*r.current()), 401);
  const ReloaderStats st = r.stats();
  EXPECT_EQ(st.failed_polls, 1u);
  EXPECT_EQ(st.failed_loads, 2u);
  EXPECT_EQ(st.last_error, "connection refused");
  EXPECT_EQ(st.version, 1u);

  src.down = false;
  src.set(versioned(3));
  ASSERT_TRUE(r.reload(false, error)) << error;
  EXPECT_EQ(code(*r.current()), 403);
  EXPECT_TRUE(r.stats().last_error.empty());
}

// A failed poll (the DB restarting), then a poll that reads the same version:
// the snapshot is up to date, so the failure is over and no status shows it.
TEST(RulesReloader, APollThatFindsTheSnapshotCurrentClearsTheLastError) {
  FakeSource src;
  src.set(versioned(1));
  Reloader r(src, {}, 1h);
  std::string error;
  ASSERT_TRUE(r.reload(false, error)) << error;
  src.down = true;
  EXPECT_FALSE(r.reload(false, error));
  EXPECT_EQ(r.stats().last_error, "connection refused");
  src.down = false;
  ASSERT_TRUE(r.reload(false, error)) << error;
  EXPECT_EQ(src.loads, 1);  // the same version: nothing loaded
  EXPECT_TRUE(r.stats().last_error.empty()) << r.stats().last_error;
  EXPECT_EQ(r.stats().failed_polls, 1u);  // the count stays

  // Invalid data: rejected; then the edit is undone (version back to 1): current again.
  RulesData bad = versioned(2);
  bad.customers[0].time_zone = "Mars/Olympus";
  src.set(bad);
  EXPECT_FALSE(r.reload(false, error));
  EXPECT_FALSE(r.stats().last_error.empty());
  src.set(versioned(1));
  ASSERT_TRUE(r.reload(false, error)) << error;
  EXPECT_TRUE(r.stats().last_error.empty()) << r.stats().last_error;
  EXPECT_EQ(code(*r.current()), 401);
}

TEST(RulesReloader, NothingAtStartThenThePollerRetries) {
  FakeSource src;
  src.down = true;
  src.set(versioned(1));
  Reloader r(src, {}, 5ms);
  std::string error;
  EXPECT_FALSE(r.reload(false, error));
  EXPECT_EQ(r.current(), nullptr);
  r.start();
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(r.current(), nullptr);
  {
    std::lock_guard l(src.m);
    src.down = false;
  }
  for (int i = 0; i < 400 && !r.current(); ++i) std::this_thread::sleep_for(5ms);
  ASSERT_NE(r.current(), nullptr);
  EXPECT_EQ(code(*r.current()), 401);
  r.stop();
}

TEST(RulesReloader, ReadersNeverSeeAGapWhileThePollerSwaps) {
  FakeSource src;
  src.set(versioned(1));
  Reloader r(src, {}, 1ms);
  std::string error;
  ASSERT_TRUE(r.reload(false, error));
  r.start();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> lookups{0}, failures{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const auto s = r.current();
        const uint16_t c = s ? code(*s) : 0;
        if (c < 401 || c > 499) failures.fetch_add(1);
        lookups.fetch_add(1);
      }
    });
  }
  for (uint64_t v = 2; v <= 40; ++v) {
    src.set(versioned(v));
    std::this_thread::sleep_for(3ms);
  }
  for (int i = 0; i < 400 && r.stats().version != 40; ++i) std::this_thread::sleep_for(5ms);
  stop = true;
  for (auto& t : readers) t.join();
  r.stop();
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_GT(lookups.load(), 100u);
  EXPECT_EQ(r.stats().version, 40u);
  EXPECT_EQ(code(*r.current()), 440);
}


// The saved rules: written at every load that validates, routed from when the
// source cannot give a first snapshot, replaced by the source's once it loads.
class SavedRulesReloader : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tandem-reloader-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/state/rules.saved";  // its directory made on the first save
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  uint64_t saved_version() const {
    RulesData d;
    SavedInfo info;
    std::string error;
    EXPECT_TRUE(read_saved_rules(path_, d, info, error)) << error;
    return info.version;
  }
  std::string dir_, path_;
};

TEST_F(SavedRulesReloader, ARestartWithTheSourceDownRoutesFromTheSavedRules) {
  FakeSource src;
  src.set(versioned(1));
  std::string error;
  {
    Reloader first(src, {}, 1h, path_);
    ASSERT_TRUE(first.reload(true, error)) << error;
    EXPECT_EQ(first.stats().saves, 1u);
    EXPECT_EQ(name(first.stats().origin), "db");
  }
  EXPECT_EQ(saved_version(), 1u);
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));

  src.down = true;
  Reloader r(src, {}, 1h, path_);
  EXPECT_FALSE(r.reload(true, error));  // the source failed, and says so
  EXPECT_EQ(error, "connection refused");
  ASSERT_NE(r.current(), nullptr);
  EXPECT_EQ(code(*r.current()), 401);
  ReloaderStats st = r.stats();
  EXPECT_EQ(st.origin, RulesOrigin::saved);
  EXPECT_EQ(st.version, 1u);
  EXPECT_GT(st.saved_unix_s, 0);
  EXPECT_EQ(st.last_error, "connection refused");
  EXPECT_EQ(st.loads, 0u);

  // Still down: the saved rules stay; the poll is a load (no version shortcut while saved).
  EXPECT_FALSE(r.reload(false, error));
  EXPECT_EQ(code(*r.current()), 401);
  // Back, with the same version: loaded all the same, and from now on the DB's.
  src.down = false;
  const int loads = src.loads;
  ASSERT_TRUE(r.reload(false, error)) << error;
  EXPECT_EQ(src.loads, loads + 1);
  st = r.stats();
  EXPECT_EQ(st.origin, RulesOrigin::db);
  EXPECT_TRUE(st.last_error.empty());
  EXPECT_EQ(st.saved_unix_s, 0);
  ASSERT_TRUE(r.reload(false, error)) << error;
  EXPECT_EQ(src.loads, loads + 1);  // the DB's now: only the version is read
}

TEST_F(SavedRulesReloader, RulesThatDoNotValidateAreNeverSaved) {
  FakeSource src;
  src.set(versioned(1));
  Reloader r(src, {}, 1h, path_);
  std::string error;
  ASSERT_TRUE(r.reload(true, error)) << error;
  RulesData bad = versioned(2);
  bad.customers[0].time_zone = "Mars/Olympus";
  src.set(bad);
  EXPECT_FALSE(r.reload(false, error));
  EXPECT_EQ(saved_version(), 1u);
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
  src.set(versioned(3));
  ASSERT_TRUE(r.reload(false, error)) << error;
  EXPECT_EQ(saved_version(), 3u);
  EXPECT_EQ(r.stats().saves, 2u);
}

TEST_F(SavedRulesReloader, TheSavedRulesAlsoStandInForInvalidRulesAtStart) {
  FakeSource src;
  src.set(versioned(1));
  std::string error;
  {
    Reloader first(src, {}, 1h, path_);
    ASSERT_TRUE(first.reload(true, error)) << error;
  }
  RulesData bad = versioned(2);
  bad.customers[0].time_zone = "Mars/Olympus";
  src.set(bad);
  Reloader r(src, {}, 1h, path_);
  EXPECT_FALSE(r.reload(true, error));
  ASSERT_NE(r.current(), nullptr);
  EXPECT_EQ(code(*r.current()), 401);
  EXPECT_EQ(r.stats().origin, RulesOrigin::saved);
}

TEST_F(SavedRulesReloader, NoSavedRulesNoSnapshot) {
  FakeSource src;
  src.down = true;
  Reloader r(src, {}, 1h, path_);
  std::string error;
  EXPECT_FALSE(r.reload(true, error));
  EXPECT_EQ(r.current(), nullptr);
  EXPECT_EQ(r.stats().origin, RulesOrigin::none);
  // A damaged file is no better than none.
  std::filesystem::create_directories(dir_ + "/state");
  std::ofstream(path_) << "tandem-rules-saved 2 but not really\n";
  EXPECT_FALSE(r.reload(true, error));
  EXPECT_EQ(r.current(), nullptr);
}

TEST_F(SavedRulesReloader, AFailedSaveIsCountedAndTheRulesStillLoad) {
  FakeSource src;
  src.set(versioned(1));
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ + "/state") << "a file where the directory should be";
  Reloader r(src, {}, 1h, path_);
  std::string error;
  ASSERT_TRUE(r.reload(true, error)) << error;
  EXPECT_EQ(code(*r.current()), 401);
  const ReloaderStats st = r.stats();
  EXPECT_EQ(st.failed_saves, 1u);
  EXPECT_EQ(st.saves, 0u);
  EXPECT_NE(st.last_save_error.find("rules.saved.tmp"), std::string::npos) << st.last_save_error;
}

}  // namespace
}  // namespace tandem::rules
