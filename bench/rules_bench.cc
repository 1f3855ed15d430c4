// Rules lookup latency and snapshot build at scale (issue 3's targets):
// 1,000,000 DIDs with 3 rules each, 500,000 rate prefixes over 20 providers
// (tests/integration/rules/scale_data.h); p50/p99/p99.9 of route_inbound and
// route_outbound on one core, the build time of the snapshot from loaded data
// (not the DB read: tandem-bench-rules-db measures that), memory per DID, and
// the time to write and read back the saved rules (--rules-saved) of that data.
// Percentiles need each call timed, so this is a plain program, not Google
// Benchmark; the clock read (~20 ns) is included in every figure.
//
//   taskset -c 1 build/bench/tandem-bench-rules     (or --cpu 1)
#include <CLI/CLI.hpp>

#include <malloc.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "rules/saved_rules.h"
#include "rules/snapshot.h"
#include "tests/integration/rules/scale_data.h"

namespace {

using namespace tandem::rules;

long rss_kb() {
  ::malloc_trim(0);
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

void report(const char* what, std::vector<double>& ns, double target_p99_us) {
  std::sort(ns.begin(), ns.end());
  const size_t n = ns.size();
  double sum = 0;
  for (double x : ns) sum += x;
  const double p99 = ns[n * 99 / 100] / 1000;
  std::printf("%-15s p50 %5.2f us  p90 %5.2f us  p99 %5.2f us  p99.9 %6.2f us  max %7.1f us  mean %5.2f us"
              "  (target p99 <= %.0f us: %s)\n",
              what, ns[n / 2] / 1000, ns[n * 9 / 10] / 1000, p99, ns[n * 999 / 1000] / 1000,
              ns[n - 1] / 1000, sum / static_cast<double>(n) / 1000, target_p99_us,
              p99 <= target_p99_us ? "met" : "NOT met");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Rules lookup latency and snapshot build at scale", "tandem-bench-rules"};
  tandem::rules::testing::ScaleSpec spec;
  size_t calls = 1000000;
  int cpu = -1;
  std::string saved_file = "/tmp/tandem-bench-rules.saved";
  app.add_option("--dids", spec.dids, "DIDs (3 rules each)")->capture_default_str();
  app.add_option("--rates", spec.rates, "rate prefixes")->capture_default_str();
  app.add_option("--providers", spec.providers, "providers")->capture_default_str()->check(CLI::Range(1, 1000));
  app.add_option("--calls", calls, "lookups timed per function")->capture_default_str();
  app.add_option("--cpu", cpu, "pin to this CPU (default: as started, e.g. by taskset)");
  app.add_option("--saved-file", saved_file, "where the saved rules are written and read back (removed after)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
      std::perror("sched_setaffinity");
      return 1;
    }
  }

  const long rss0 = rss_kb();
  RulesData data = tandem::rules::testing::scale_data(spec);
  const size_t rate_count = data.rates.size();
  const long rss1 = rss_kb();
  std::string error;
  const auto s0 = std::chrono::steady_clock::now();
  if (!write_saved_rules(data, saved_file, error)) {
    std::fprintf(stderr, "saving the rules: %s\n", error.c_str());
    return 1;
  }
  const auto s1 = std::chrono::steady_clock::now();
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> errors;
  auto snap = Snapshot::build(std::move(data), {}, errors);
  const auto t1 = std::chrono::steady_clock::now();
  if (!snap) {
    std::fprintf(stderr, "build failed: %s\n", errors.empty() ? "?" : errors[0].c_str());
    return 1;
  }
  const long rss2 = rss_kb();
  const double build_s = std::chrono::duration<double>(t1 - t0).count();
  {
    RulesData back;
    SavedInfo info;
    const auto r0 = std::chrono::steady_clock::now();
    if (!read_saved_rules(saved_file, back, info, error)) {
      std::fprintf(stderr, "reading the saved rules: %s\n", error.c_str());
      return 1;
    }
    const auto r1 = std::chrono::steady_clock::now();
    std::printf("saved rules      written in %.2f s, read back in %.2f s, %.0f MB\n",
                std::chrono::duration<double>(s1 - s0).count(), std::chrono::duration<double>(r1 - r0).count(),
                static_cast<double>(info.bytes) / 1e6);
    ::unlink(saved_file.c_str());
  }
  const double per_did = static_cast<double>(spec.dids);
  std::printf("%zu DIDs, %zu rules, %zu rates over %zu providers\n", spec.dids, spec.dids * 3, rate_count,
              spec.providers);
  std::printf("snapshot build   %.2f s from loaded data (the DB read comes on top: tandem-bench-rules-db)\n",
              build_s);
  std::printf("memory           %.0f MB in all, %.0f bytes per DID: the loaded rows %.0f B/DID, "
              "the compiled index %.0f B/DID\n",
              static_cast<double>(rss2 - rss0) / 1024, static_cast<double>(rss2 - rss0) * 1024 / per_did,
              static_cast<double>(rss1 - rss0) * 1024 / per_did,
              static_cast<double>(rss2 - rss1) * 1024 / per_did);

  std::mt19937_64 rng(7);
  std::vector<std::string> called(calls), callers(calls), dialled(calls);
  for (size_t i = 0; i < calls; ++i) {
    called[i] = tandem::rules::testing::scale_did(rng() % spec.dids);
    callers[i] = i % 10 == 0 ? "anonymous" : "+4940" + std::to_string(1000000 + rng() % 9000000);
    dialled[i] = "+" + std::to_string(1 + rng() % 9) + std::to_string(100000000 + rng() % 900000000);
  }
  std::vector<double> ns(calls);
  // A Tuesday, 13:00 in Berlin (office hours), 07:00 in New York (not yet).
  const auto at = std::chrono::sys_days{std::chrono::year{2026} / 1 / 13} + std::chrono::hours{12};
  size_t sink = 0;
  for (size_t i = 0; i < calls; ++i) {
    const auto a = std::chrono::steady_clock::now();
    const InboundDecision d = snap->route_inbound(called[i], callers[i], at);
    const auto b = std::chrono::steady_clock::now();
    sink += d.skipped.size() + (d.action ? 1 : 0);
    ns[i] = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
  }
  report("route_inbound", ns, 1);
  size_t providers = 0;
  for (size_t i = 0; i < calls; ++i) {
    const auto a = std::chrono::steady_clock::now();
    const OutboundDecision d = snap->route_outbound(dialled[i], at);
    const auto b = std::chrono::steady_clock::now();
    providers += d.providers.size();
    ns[i] = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
  }
  report("route_outbound", ns, 2);
  std::printf("(route_outbound found %.1f providers per number on average)\n",
              static_cast<double>(providers) / static_cast<double>(calls));
  return sink + providers == 1 ? 2 : 0;  // keeps the results used
}
