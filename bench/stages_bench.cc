// The fast path's pure stages on plain memory, no EAL: parse -> relay (latch
// check, counters, RTP statistics) -> rewrite, per 214-byte RTP frame, with the
// session found by index instead of the hash lookup. Set against
// per_packet_bench (the same on mbufs, through the worker, with the lookup and
// TX), it shows what the lookup and the mbuf handling add.
//
//   BM_Stages/N          write a frame from the template, then the three stages
//   BM_StagesPrefetch/N  the same, prefetching the two lines of session state
//                        each packet touches, 8 packets ahead
//   BM_WriteFrame/N      writing the frames alone: subtract it from the others
//
// N sessions, each packet for a session drawn in a fixed random order, so that
// at 100k and 1M sessions the session state misses the cache as it would.
#include <benchmark/benchmark.h>

#include <memory>

#include "bench/flow_plan.h"
#include "dataplane/checksum.h"
#include "dataplane/packet_parse.h"
#include "dataplane/relay.h"
#include "dataplane/rewrite.h"

namespace tandem::bench {
namespace {

using dp::Session;

constexpr unsigned kBurst = 32;

void init_leg(Session& session, unsigned side, uint32_t s) {
  dp::LegPath& leg = session.paths[side];
  const dp::Remote r{remote_ip(side, s), htons(remote_port_host(s)),
                     htons(static_cast<uint16_t>(remote_port_host(s) + 1))};
  leg.remote.store(r.pack(), std::memory_order_relaxed);
  leg.local_ip = relay_ip(side, s / kLegsPerAddress);
  leg.local_port = htons(local_port_host(s));
  leg.flags.store(dp::kLegDefaultMode, std::memory_order_relaxed);
  leg.port = static_cast<uint8_t>(side);
  session.counters[side].rtp.clock_khz = 8;
}

struct Traffic {
  explicit Traffic(uint32_t n) : order{FlowOrder(n, kSeed), FlowOrder(n, kSeed + 1)} {
    for (unsigned side = 0; side < 2; ++side) {
      uint8_t relay_mac[6] = {0x02, 0, 0, 0, 0, static_cast<uint8_t>(side)};
      uint8_t peer[6];
      remote_mac(side, 0, peer);
      templates[side] = std::make_unique<FrameTemplate>(relay_mac, peer);
    }
  }
  FlowOrder order[2];
  std::unique_ptr<FrameTemplate> templates[2];
  alignas(64) uint8_t frames[kBurst][256];
};

// Sessions and traffic for one size, kept across the runs Google Benchmark
// makes of a benchmark (building 1M sessions takes a while).
struct Fixture {
  explicit Fixture(uint32_t n) : sessions(new Session[n]()), traffic(std::make_unique<Traffic>(n)), size(n) {
    for (uint32_t s = 0; s < n; ++s) {
      for (unsigned side = 0; side < 2; ++side) init_leg(sessions[s], side, s);
    }
  }
  std::unique_ptr<Session[]> sessions;
  std::unique_ptr<Traffic> traffic;
  uint32_t size;
  uint64_t now_us = 1000000;  // the simulated arrival clock, 20 us per burst
  bool warm = false;
};

Fixture& fixture(uint32_t n) {
  static std::unique_ptr<Fixture> f;
  if (!f || f->size != n) {
    f.reset();
    f = std::make_unique<Fixture>(n);
  }
  return *f;
}

// Two rounds through every leg before timing: the first packet of a leg
// latches its remote and the RTP statistics keep a new source on probation for
// two packets; what is timed is the steady state of an established call.
void warm_up(Fixture& f) {
  if (f.warm) return;
  const dp::RelayClock clock{static_cast<uint32_t>(f.now_us / 1000), f.now_us};
  for (unsigned round = 0; round < 2; ++round) {
    for (unsigned side = 0; side < 2; ++side) {
      for (uint32_t i = 0; i < f.size; ++i) {
        uint8_t* frame = f.traffic->frames[0];
        const uint32_t r = f.traffic->order[side].round();
        const uint32_t s = f.traffic->order[side].next();
        f.traffic->templates[side]->write(frame, packet_of(side, s, r));
        dp::ParsedPacket p;
        dp::parse_frame(frame, kFrameBytes, p);
        dp::relay_packet(f.sessions[s], side, p, frame + p.l4_offset + 8, clock);
      }
    }
  }
  f.warm = true;
}

enum class Mode {
  write_only,  // the frames alone
  stages,      // the three stages, one packet after the other (as the worker does)
  prefetch,    // the same, prefetching the session kPrefetchAhead packets ahead
};

// Far enough ahead to cover a miss to memory (about 200 ns here) with ~40 ns of
// work per packet, near enough that 2 lines per packet stay within the core's
// outstanding-miss slots.
constexpr unsigned kPrefetchAhead = 8;

void prefetch_session(const Session& s, unsigned side) {
  __builtin_prefetch(&s.paths, 1);
  __builtin_prefetch(&s.counters[side], 1);
}

void run_stages(benchmark::State& state, Mode mode) {
  Fixture& fx = fixture(static_cast<uint32_t>(state.range(0)));
  Session* sessions = fx.sessions.get();
  Traffic* t = fx.traffic.get();
  dp::Egress egress[2] = {};
  for (unsigned side = 0; side < 2; ++side) {
    egress[side].src_mac[5] = static_cast<uint8_t>(side);
    egress[side].dst_mac[0] = 0x02;
  }
  uint64_t& now_us = fx.now_us;
  warm_up(fx);
  uint64_t relayed = 0, dropped = 0;
  uint32_t flows[kBurst];

  for (auto _ : state) {
    for (unsigned side = 0; side < 2; ++side) {
      const dp::RelayClock clock{static_cast<uint32_t>(now_us / 1000), now_us};
      for (unsigned i = 0; i < kBurst; ++i) {
        const uint32_t round = t->order[side].round();
        flows[i] = t->order[side].next();
        t->templates[side]->write(t->frames[i], packet_of(side, flows[i], round));
      }
      if (mode == Mode::write_only) {
        benchmark::DoNotOptimize(t->frames);
        continue;
      }
      if (mode == Mode::prefetch) {
        for (unsigned i = 0; i < kPrefetchAhead; ++i) prefetch_session(sessions[flows[i]], side);
      }
      for (unsigned i = 0; i < kBurst; ++i) {
        if (mode == Mode::prefetch && i + kPrefetchAhead < kBurst) {
          prefetch_session(sessions[flows[i + kPrefetchAhead]], side);
        }
        uint8_t* f = t->frames[i];
        dp::ParsedPacket p;
        if (dp::parse_frame(f, kFrameBytes, p).verdict != dp::Verdict::udp) {
          ++dropped;
          continue;
        }
        Session& s = sessions[flows[i]];
        const dp::RelayResult r = dp::relay_packet(s, side, p, f + p.l4_offset + 8, clock);
        if (!r.forward) {
          ++dropped;
          continue;
        }
        dp::Egress& e = egress[side ^ 1];
        e.to = r.out;
        benchmark::DoNotOptimize(dp::rewrite_frame(f, p, e));
        ++relayed;
      }
      now_us += 20;
    }
    benchmark::ClobberMemory();
  }
  const double packets = static_cast<double>(state.iterations()) * 2 * kBurst;
  state.SetItemsProcessed(static_cast<int64_t>(packets));
  state.counters["ns_per_packet"] =
      benchmark::Counter(2 * kBurst, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  if (dropped != 0) state.SkipWithError("packets dropped: the traffic does not match the sessions");
  benchmark::DoNotOptimize(relayed);
}

// What verifying a received frame's IPv4 header and UDP checksums costs (the
// worker does it for every media packet the port gave no verdict on), on a
// 214-byte G.711 frame in cache.
void BM_ChecksumVerify(benchmark::State& state) {
  uint8_t relay_mac[6] = {0x02, 0, 0, 0, 0, 0};
  uint8_t peer[6];
  remote_mac(0, 0, peer);
  const FrameTemplate t(relay_mac, peer);
  FlowOrder order(1000, kSeed);
  alignas(64) uint8_t frames[kBurst][256];
  for (unsigned i = 0; i < kBurst; ++i) t.write(frames[i], packet_of(0, order.next(), 1));
  uint64_t good = 0;
  for (auto _ : state) {
    for (auto& f : frames) {
      const uint8_t* ip = f + 14;
      good += dp::ipv4_header_checksum_ok(ip, 20) && dp::udp_checksum_ok(ip, ip + 20, kFrameBytes - 34);
    }
    benchmark::ClobberMemory();
  }
  if (good != static_cast<uint64_t>(state.iterations()) * kBurst) state.SkipWithError("a checksum did not verify");
  state.counters["ns_per_packet"] =
      benchmark::Counter(kBurst, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ChecksumVerify);

void BM_Stages(benchmark::State& state) { run_stages(state, Mode::stages); }
void BM_StagesPrefetch(benchmark::State& state) { run_stages(state, Mode::prefetch); }
void BM_WriteFrame(benchmark::State& state) { run_stages(state, Mode::write_only); }

// Sizes in order so that each set of sessions is built once.
BENCHMARK(BM_Stages)->Arg(1000);
BENCHMARK(BM_StagesPrefetch)->Arg(1000);
BENCHMARK(BM_WriteFrame)->Arg(1000);
BENCHMARK(BM_Stages)->Arg(100000);
BENCHMARK(BM_StagesPrefetch)->Arg(100000);
BENCHMARK(BM_WriteFrame)->Arg(100000);
BENCHMARK(BM_Stages)->Arg(1000000);
BENCHMARK(BM_StagesPrefetch)->Arg(1000000);
BENCHMARK(BM_WriteFrame)->Arg(1000000);

}  // namespace
}  // namespace tandem::bench

BENCHMARK_MAIN();
