// tandem-bench-attendant: the attendant's media engine with N callers at once
// on loopback (plain UDP receivers, tests/support/rtp_receivers.h), for each N
// of --callers: how late frames left against their absolute deadline (the
// engine's own histogram), how evenly they arrived (inter-arrival error at the
// receivers, which adds the receiving thread's scheduling), whether every
// frame arrived, and the media thread's CPU per caller-second.
// Figures and the command: bench/RESULTS.md, "Issue 15: the attendant's media engine".

#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "attendant/prompt_engine.h"
#include "tests/support/rtp_receivers.h"
#include "tests/support/wav_file.h"

namespace {

using tandem::attendant::CallerMedia;
using tandem::attendant::PromptEngine;

// A prompt longer than the run: every caller plays the whole time.
std::string write_prompt(uint32_t seconds) {
  tandem::testing::Wav w;
  for (uint32_t i = 0; i < seconds * 8000; ++i) tandem::testing::Wav::put16(w.data, i * 331 % 65536);
  const std::string path = (std::filesystem::temp_directory_path() / "tandem-bench-attendant.wav").string();
  std::ofstream(path, std::ios::binary) << w.bytes();
  return path;
}

// Resident memory, from /proc/self/statm.
uint64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

struct Options {
  std::vector<size_t> callers{100, 200, 500};
  uint32_t seconds = 10;
  int realtime_priority = 0;
};

void run(size_t n, const Options& o, const std::shared_ptr<const tandem::attendant::Prompt>& prompt) {
  PromptEngine engine({o.realtime_priority});
  tandem::testing::RtpReceivers receivers(n, false);
  std::vector<uint64_t> ids;
  const uint64_t rss_before = rss_bytes();
  for (size_t i = 0; i < n; ++i) {
    CallerMedia m;
    m.local = {"127.0.0.1", 0};
    m.remote = {"127.0.0.1", receivers.port(i)};
    const auto r = engine.open(m);
    if (r.id == 0) {
      std::fprintf(stderr, "open: %s\n", r.error.c_str());
      return;
    }
    ids.push_back(r.id);
  }
  // The sessions and the engine's state per caller (the kernel's socket buffers are not in it).
  const double bytes_per_caller = static_cast<double>(rss_bytes() - rss_before) / static_cast<double>(n);
  const uint64_t cpu_before = engine.stats().thread_cpu_ns;
  for (uint64_t id : ids) engine.play(id, prompt);
  std::this_thread::sleep_for(std::chrono::seconds(o.seconds));
  for (uint64_t id : ids) engine.close(id);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the last frames arrive
  const auto s = engine.stats();
  std::vector<std::vector<tandem::testing::ReceivedRtp>> streams;
  size_t received = 0, gaps_in_sequence = 0;
  for (size_t i = 0; i < n; ++i) {
    streams.push_back(receivers.packets(i));
    received += streams.back().size();
    for (size_t k = 1; k < streams.back().size(); ++k) {
      gaps_in_sequence += static_cast<uint16_t>(streams.back()[k].sequence - streams.back()[k - 1].sequence) != 1;
    }
  }
  const auto pacing = tandem::testing::inter_arrival(streams, 20'000'000);
  const double caller_seconds = static_cast<double>(n) * o.seconds;
  std::printf("%5zu callers%s: sent %llu received %zu (RTCP %zu, sequence gaps %zu, send errors %llu, ticks skipped %llu); "
              "send lateness p50 %llu us p99 %llu us max %llu us; inter-arrival error p50 %.3f ms p99 %.3f ms "
              "max %.3f ms; media thread CPU %.1f us per caller-second (%.1f %% of a core); %.0f bytes per caller\n",
              n, s.realtime ? " (SCHED_FIFO)" : "", static_cast<unsigned long long>(s.frames_sent), received,
              receivers.rtcp(), gaps_in_sequence, static_cast<unsigned long long>(s.send_errors),
              static_cast<unsigned long long>(s.ticks_skipped), static_cast<unsigned long long>(s.pacing_p50_us),
              static_cast<unsigned long long>(s.pacing_p99_us), static_cast<unsigned long long>(s.pacing_max_us),
              pacing.p50_ms, pacing.p99_ms, pacing.max_ms,
              static_cast<double>(s.thread_cpu_ns - cpu_before) / 1e3 / caller_seconds,
              static_cast<double>(s.thread_cpu_ns - cpu_before) / 1e7 / o.seconds, bytes_per_caller);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"tandem-bench-attendant: the attendant's prompt engine with N callers on loopback: pacing and CPU",
               "tandem-bench-attendant"};
  app.add_option("--callers", o.callers, "caller counts, one run each")->delimiter(',')->capture_default_str();
  app.add_option("--seconds", o.seconds, "how long each run plays")->capture_default_str()->check(CLI::Range(1u, 600u));
  app.add_option("--realtime", o.realtime_priority, "SCHED_FIFO priority of the media thread (0: normal)")
      ->capture_default_str()
      ->check(CLI::Range(0, 99));
  CLI11_PARSE(app, argc, argv);
  // Each caller takes 3 descriptors (RTP, RTCP, the receiver's socket).
  rlimit fds{};
  getrlimit(RLIMIT_NOFILE, &fds);
  fds.rlim_cur = fds.rlim_max;
  setrlimit(RLIMIT_NOFILE, &fds);

  tandem::attendant::PromptCache cache;
  const std::string path = write_prompt(o.seconds + 2);
  const auto prompt = cache.get(path);
  std::filesystem::remove(path);
  if (!prompt.prompt) {
    std::fprintf(stderr, "%s\n", prompt.error.c_str());
    return 1;
  }
  for (size_t n : o.callers) run(n, o, prompt.prompt);
  return 0;
}
