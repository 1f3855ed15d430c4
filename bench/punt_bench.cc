// The exception path's policing (dataplane/punt_policer.h), per frame on its
// way to the kernel: the key read from the frame, then the buckets. No EAL;
// time is a counter advanced as a 2.5 GHz TSC would be at the offered rate.
//
//   BM_PuntOneSource/PPS      one source offering PPS packets a second against
//                             the default limits (2,000/s, burst 400): at 1,000
//                             all pass, at 1,000,000 nearly all are dropped
//   BM_PuntManySources/N      N sources in a fixed random order, 40,000 packets a
//                             second together (under the global cap): at 4,096
//                             the table is full, past it nearly every packet
//                             takes a bucket over (an eviction)
//
// The frame is rewritten in place for each packet, so that it is in the cache
// as a frame just received is: what misses is the policer's table.
#include <benchmark/benchmark.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "dataplane/punt_policer.h"

namespace tandem::bench {
namespace {

constexpr uint64_t kHz = 2500000000;

constexpr unsigned kSourceOffset = 14 + 12;

// A SIP datagram's headers: Ethernet, IPv4 (UDP); the source is written per packet.
std::vector<uint8_t> sip_frame() {
  std::vector<uint8_t> f(14 + 20 + 8, 0);
  f[12] = 0x08;
  f[14] = 0x45;
  f[14 + 9] = 17;
  return f;
}

// Sources in network order, offered in `order`, `step` cycles apart.
void run(benchmark::State& state, const std::vector<uint32_t>& sources, const std::vector<uint32_t>& order,
         uint64_t step) {
  dp::PuntPolicer policer(dp::PuntLimits{}, kHz, 1, 0x9e3779b97f4a7c15ull);
  std::vector<uint8_t> f = sip_frame();
  uint64_t now = kHz, passed = 0;
  size_t i = 0;
  for (auto _ : state) {
    std::memcpy(&f[kSourceOffset], &sources[order[i]], 4);
    const dp::PuntKey key = dp::punt_key(f.data(), static_cast<uint32_t>(f.size()), 14);
    passed += !policer.admit(key, now);
    now += step;
    if (++i == order.size()) i = 0;
  }
  state.counters["passed_pct"] = 100.0 * static_cast<double>(passed) / static_cast<double>(state.iterations());
  state.counters["evictions"] = static_cast<double>(policer.evictions());
}

void BM_PuntOneSource(benchmark::State& state) {
  run(state, {htonl(0xc6120103)}, {0}, kHz / static_cast<uint64_t>(state.range(0)));
}
BENCHMARK(BM_PuntOneSource)->Arg(1000)->Arg(50000)->Arg(1000000);

void BM_PuntManySources(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  std::vector<uint32_t> sources(n);
  for (uint32_t s = 0; s < n; ++s) sources[s] = htonl(0x0a000000u + s);
  std::vector<uint32_t> order(n * 4);
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i % n);
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  run(state, sources, order, kHz / 40000);
}
BENCHMARK(BM_PuntManySources)->Arg(16)->Arg(2048)->Arg(4096)->Arg(100000);

}  // namespace
}  // namespace tandem::bench

BENCHMARK_MAIN();
