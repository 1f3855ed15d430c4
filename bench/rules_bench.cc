// Rules lookup latency and snapshot build at scale (issue 3's targets):
// 1,000,000 DIDs with 3 rules each, 500,000 rate prefixes over 20 providers;
// p50/p99/p99.9 of route_inbound and route_outbound on one core, the build
// time of the snapshot from loaded data (not the DB read), and memory per DID.
// Percentiles need each call timed, so this is a plain program, not Google
// Benchmark; the clock read (~20 ns) is included in every figure.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "rules/snapshot.h"

namespace {

using namespace tandem::rules;

long rss_kb() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

Rule make_rule(Id id, Id number, int32_t priority) {
  Rule r;
  r.id = id;
  r.number_id = number;
  r.priority = priority;
  return r;
}

RulesData generate(size_t dids, size_t rates, size_t providers, std::mt19937_64& rng) {
  RulesData d;
  const char* zones[] = {"Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"};
  for (Id c = 1; c <= 10000; ++c) {
    d.customers.push_back(Customer{c, "customer" + std::to_string(c), zones[c % 4], "sip:pbx@vm.example.net", {}});
  }
  Id rid = 1;
  for (size_t i = 0; i < dids; ++i) {
    const Id n = i + 1;
    d.numbers.push_back(Number{n, "+4930" + std::to_string(10000000 + i), 1 + i % 10000});
    Rule anon = make_rule(rid++, n, 1);
    anon.caller_match = CallerMatch::anonymous;
    anon.action.kind = ActionKind::reject;
    anon.action.sip_code = 433;
    Rule office = make_rule(rid++, n, 2);
    office.days = 0x1f;
    office.window = TimeWindow{8 * 3600, 18 * 3600};
    office.action.kind = ActionKind::forward;
    office.action.number = "+491701234567";
    Rule holidays = make_rule(rid++, n, 3);
    holidays.dates = {DateRange{{2026, 12, 24}, {2026, 12, 26}}};
    d.rules.push_back(std::move(anon));
    d.rules.push_back(std::move(office));
    d.rules.push_back(std::move(holidays));
  }
  for (Id p = 1; p <= providers; ++p) {
    d.providers.push_back(Provider{p, "provider" + std::to_string(p), "sip:gw.example.net", 0, true, static_cast<int32_t>(p)});
  }
  // Distinct (provider, prefix) pairs, 2-8 digits.
  std::vector<std::pair<Id, std::string>> keys;
  keys.reserve(rates * 2);
  while (keys.size() < rates * 2) {
    std::string prefix = std::to_string(1 + rng() % 9);
    const size_t len = 2 + rng() % 7;
    while (prefix.size() < len) prefix += static_cast<char>('0' + rng() % 10);
    keys.emplace_back(1 + rng() % providers, std::move(prefix));
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  keys.resize(std::min(keys.size(), rates));
  Id id = 1;
  for (auto& [p, prefix] : keys) {
    Rate r;
    r.id = id++;
    r.provider_id = p;
    r.prefix = std::move(prefix);
    r.cost_micros = static_cast<int64_t>(rng() % 200000);
    d.rates.push_back(std::move(r));
  }
  return d;
}

void report(const char* what, std::vector<double>& ns, double target_p99_us) {
  std::sort(ns.begin(), ns.end());
  const size_t n = ns.size();
  const double p99 = ns[n * 99 / 100] / 1000;
  std::printf("%-15s p50 %6.2f us  p99 %6.2f us  p99.9 %6.2f us  (target p99 <= %.0f us: %s)\n", what,
              ns[n / 2] / 1000, p99, ns[n * 999 / 1000] / 1000, target_p99_us,
              p99 <= target_p99_us ? "met" : "NOT met");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Rules lookup latency and snapshot build at scale", "tandem-bench-rules"};
  size_t dids = 1000000, rates = 500000, providers = 20, calls = 1000000;
  app.add_option("--dids", dids, "DIDs (3 rules each)")->capture_default_str();
  app.add_option("--rates", rates, "rate prefixes")->capture_default_str();
  app.add_option("--providers", providers, "providers")->capture_default_str()->check(CLI::Range(1, 1000));
  app.add_option("--calls", calls, "lookups timed per function")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::mt19937_64 rng(42);
  const long rss0 = rss_kb();
  RulesData data = generate(dids, rates, providers, rng);
  const size_t rate_count = data.rates.size();
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> errors;
  auto snap = Snapshot::build(std::move(data), {}, errors);
  const auto t1 = std::chrono::steady_clock::now();
  if (!snap) {
    std::fprintf(stderr, "build failed: %s\n", errors.empty() ? "?" : errors[0].c_str());
    return 1;
  }
  const long rss1 = rss_kb();
  std::printf("%zu DIDs, %zu rules, %zu rates over %zu providers\n", dids, dids * 3, rate_count, providers);
  std::printf("snapshot build   %.2f s (target <= 10 s with the DB read: %s); snapshot memory %.0f MB, "
              "%.0f bytes per DID (everything in it divided by the DIDs)\n",
              std::chrono::duration<double>(t1 - t0).count(),
              std::chrono::duration<double>(t1 - t0).count() <= 10 ? "build part met" : "NOT met",
              static_cast<double>(rss1 - rss0) / 1024,
              static_cast<double>(rss1 - rss0) * 1024 / static_cast<double>(dids));

  std::vector<std::string> called(calls), callers(calls), dialled(calls);
  for (size_t i = 0; i < calls; ++i) {
    called[i] = "+4930" + std::to_string(10000000 + rng() % dids);
    callers[i] = i % 10 == 0 ? "anonymous" : "+4940" + std::to_string(1000000 + rng() % 9000000);
    dialled[i] = "+" + std::to_string(1 + rng() % 9) + std::to_string(100000000 + rng() % 900000000);
  }
  std::vector<double> ns(calls);
  const auto at = std::chrono::sys_days{std::chrono::year{2026} / 1 / 13} + std::chrono::hours{12};
  size_t sink = 0;
  for (size_t i = 0; i < calls; ++i) {
    const auto a = std::chrono::steady_clock::now();
    const InboundDecision d = snap->route_inbound(called[i], callers[i], at);
    const auto b = std::chrono::steady_clock::now();
    sink += d.skipped.size();
    ns[i] = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
  }
  report("route_inbound", ns, 1);
  for (size_t i = 0; i < calls; ++i) {
    const auto a = std::chrono::steady_clock::now();
    const OutboundDecision d = snap->route_outbound(dialled[i], at);
    const auto b = std::chrono::steady_clock::now();
    sink += d.providers.size();
    ns[i] = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
  }
  report("route_outbound", ns, 2);
  return sink == 1 ? 2 : 0;  // keeps the results used
}
